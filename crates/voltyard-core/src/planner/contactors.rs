//! What to switch: the modules each budget needs, every contactor's target state, and the
//! sequence that gets there from the contactors' feedback state without switching under load.
//!
//! Islands decide GC, MC and the bridges; budgets decide only the MN contactors. A gun's island
//! contactors therefore stay put while its budget moves, and a module is added or removed at its
//! own zero power without interrupting the gun. GC, MC and bridge contactors switch only after every
//! gun connected to them, before or after the switch, has been ramped down to zero. All openings
//! come before all closings: the intermediate state is a subset of the target, so it never joins
//! two islands, whatever the feedback state was.

use super::model::{Contactor, ContactorKind, Island, ModuleRef, Ramp, SlotTargets, Snapshot, Step};
use super::share::{at_most, module_kw};

/// The fewest modules of `island` whose power covers `budget_kw`, preferring modules that are
/// already on among equally few; in ring order from the island's start.
pub fn select_modules(snapshot: &Snapshot, island: Island, budget_kw: f64) -> Vec<ModuleRef> {
    if budget_kw <= 0.0 {
        return Vec::new();
    }
    let ring = snapshot.slots.len();
    let mut candidates: Vec<(ModuleRef, f64, bool)> = Vec::new();
    for slot in island.slots(ring) {
        for (index, module) in snapshot.slots[slot].modules.iter().enumerate() {
            let kw = module_kw(&snapshot.settings, module);
            if kw > 0.0 {
                candidates.push((ModuleRef { slot, index }, kw, module.mn_closed));
            }
        }
    }
    // Largest first gives the fewest; stable sorts keep ring order among equals.
    let mut largest = candidates.clone();
    largest.sort_by(|a, b| b.1.total_cmp(&a.1));
    let count = covering_count(&largest, budget_kw);
    let mut on_first = candidates.clone();
    on_first.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.total_cmp(&a.1)));
    let chosen = if at_most(budget_kw, on_first.iter().take(count).map(|c| c.1).sum()) { on_first } else { largest };
    let mut picked: Vec<ModuleRef> = chosen.iter().take(count).map(|c| c.0).collect();
    let position = |m: &ModuleRef| ((m.slot + ring - island.start) % ring, m.index);
    picked.sort_by_key(position);
    picked
}

fn covering_count(largest_first: &[(ModuleRef, f64, bool)], budget_kw: f64) -> usize {
    let mut sum = 0.0;
    for (k, c) in largest_first.iter().enumerate() {
        sum += c.1;
        if at_most(budget_kw, sum) {
            return k + 1;
        }
    }
    largest_first.len()
}

/// The contactor targets of a set of islands (one per gun, with its home slot) and modules on.
pub fn targets(
    snapshot: &Snapshot,
    guns: impl Iterator<Item = (usize, Island)>,
    modules_on: &[ModuleRef],
) -> Vec<SlotTargets> {
    let ring = snapshot.slots.len();
    let mut slots: Vec<SlotTargets> = snapshot
        .slots
        .iter()
        .map(|s| SlotTargets { gc: false, mc: false, cw: false, ccw: false, mn: vec![false; s.modules.len()] })
        .collect();
    for (home, island) in guns {
        slots[home].gc = true;
        if island.len >= 2 {
            // MC and the inner bridges close on the whole island, used or not, so that module
            // changes never switch them.
            for k in 0..island.len {
                let slot = (island.start + k) % ring;
                slots[slot].mc = true;
                if k + 1 < island.len {
                    slots[slot].cw = true;
                    slots[(slot + 1) % ring].ccw = true;
                }
            }
        }
    }
    for m in modules_on {
        slots[m.slot].mn[m.index] = true;
    }
    slots
}

/// Node numbers of the electrical graph: each slot's bus and ring node.
fn bus(slot: usize) -> usize {
    2 * slot
}

fn ring_node(slot: usize) -> usize {
    2 * slot + 1
}

/// The component (a representative node) of every node, given which MC and bridges conduct.
fn components(ring: usize, mc: impl Fn(usize) -> bool, bridge_cw: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..2 * ring).collect();
    for s in 0..ring {
        if mc(s) {
            union(&mut parent, bus(s), ring_node(s));
        }
        if bridge_cw(s) {
            union(&mut parent, ring_node(s), ring_node((s + 1) % ring));
        }
    }
    (0..2 * ring).map(|x| find(&mut parent, x)).collect()
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    parent[ra.max(rb)] = ra.min(rb);
}

/// The nodes a topology contactor joins.
fn touched(ring: usize, c: Contactor) -> [usize; 2] {
    let s = c.slot;
    match c.kind {
        ContactorKind::Gc => [bus(s), bus(s)],
        ContactorKind::Mc => [bus(s), ring_node(s)],
        ContactorKind::Cw => [ring_node(s), ring_node((s + 1) % ring)],
        ContactorKind::Ccw => [ring_node(s), ring_node((s + ring - 1) % ring)],
        ContactorKind::Mn(_) => unreachable!("MN contactors switch at their module's zero power"),
    }
}

/// The switching sequence from the snapshot's contactor feedback to `targets`. `home` is each
/// gun's home slot, `budget_kw` its budget (guns back at a budget above zero ramp up again).
pub fn sequence(snapshot: &Snapshot, targets: &[SlotTargets], home: &[usize], budget_kw: &[f64]) -> Vec<Step> {
    let ring = snapshot.slots.len();
    let (mut open, mut close) = (Vec::new(), Vec::new());
    for (s, (slot, target)) in snapshot.slots.iter().zip(targets).enumerate() {
        let pairs = [
            (ContactorKind::Gc, slot.gc_closed, target.gc),
            (ContactorKind::Mc, slot.mc_closed, target.mc),
            (ContactorKind::Cw, slot.cw_closed, target.cw),
            (ContactorKind::Ccw, slot.ccw_closed, target.ccw),
        ];
        let modules = slot.modules.iter().zip(&target.mn).enumerate();
        let mns = modules.map(|(m, (module, &on))| (ContactorKind::Mn(m), module.mn_closed, on));
        for (kind, now, wanted) in pairs.into_iter().chain(mns) {
            if now && !wanted {
                open.push(Contactor { slot: s, kind });
            } else if wanted && !now {
                close.push(Contactor { slot: s, kind });
            }
        }
    }
    if open.is_empty() && close.is_empty() {
        return Vec::new();
    }

    let slots = &snapshot.slots;
    let actual = components(ring, |s| slots[s].mc_closed, |s| slots[s].cw_closed && slots[(s + 1) % ring].ccw_closed);
    let target = components(ring, |s| targets[s].mc, |s| targets[s].cw && targets[(s + 1) % ring].ccw);
    let (mut hit_actual, mut hit_target) = (vec![false; 2 * ring], vec![false; 2 * ring]);
    for &c in open.iter().chain(&close).filter(|c| !matches!(c.kind, ContactorKind::Mn(_))) {
        for node in touched(ring, c) {
            hit_actual[actual[node]] = true;
            hit_target[target[node]] = true;
        }
    }
    let guns: Vec<usize> = (0..home.len())
        .filter(|&g| {
            let h = home[g];
            (slots[h].gc_closed && hit_actual[actual[bus(h)]]) || (targets[h].gc && hit_target[target[bus(h)]])
        })
        .collect();

    let module_of = |c: &Contactor| match c.kind {
        ContactorKind::Mn(index) => Some(ModuleRef { slot: c.slot, index }),
        _ => None,
    };
    let down = Ramp { guns: guns.clone(), modules: open.iter().filter_map(module_of).collect() };
    let up = Ramp {
        guns: guns.into_iter().filter(|&g| budget_kw[g] > 0.0).collect(),
        modules: close.iter().filter_map(module_of).collect(),
    };
    let mut steps = Vec::with_capacity(4);
    if !down.is_empty() {
        steps.push(Step::RampDown(down));
    }
    if !open.is_empty() {
        steps.push(Step::Open(open));
    }
    if !close.is_empty() {
        steps.push(Step::Close(close));
    }
    if !up.is_empty() {
        steps.push(Step::RampUp(up));
    }
    steps
}
