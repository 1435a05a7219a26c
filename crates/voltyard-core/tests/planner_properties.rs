//! Property tests of the planner: every rule of ARCHITECTURE §7, checked on random snapshots
//! against oracles written here from the rules (the electrical graph is walked breadth-first here,
//! where the planner uses union-find).
//!
//! A case is a random ring (1-14 slots, 0-3 modules each, most slots with a gun, gun indices
//! shuffled), a random "before" state planned first to give the previous plan, and a "now" state
//! made from it by a few mutations (sessions, faults, demand, module trips, temperatures, the
//! share); its contactor feedback is either the previous plan's targets (settled) or random.

// Unsafe and unfed guns get exactly nothing, not nearly nothing.
#![allow(clippy::float_cmp)]

use std::collections::VecDeque;

use proptest::prelude::*;
use proptest::sample::Index;
use voltyard_core::planner::{
    ContactorKind, Derating, Gun, Island, Limit, Module, ModuleRef, Plan, Ramp, Session, Settings, Slot, SlotTargets,
    Snapshot, Step, derate, plan,
};

/// Snapshots per property per run; the issue asks for at least 10 000.
const CASES: u32 = 10_000;
const TOL: f64 = 1e-6;

fn config() -> ProptestConfig {
    ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() }
}

// ---- generators ---------------------------------------------------------------------------

fn session() -> impl Strategy<Value = Session> {
    prop_oneof![
        2 => Just(Session::Idle),
        1 => Just(Session::Preparing),
        5 => Just(Session::Charging),
        1 => Just(Session::Suspended),
        1 => Just(Session::Finishing),
    ]
}

fn module() -> impl Strategy<Value = Module> {
    (prop::bool::weighted(0.9), prop::bool::weighted(0.05), 20.0..100.0f64, any::<bool>())
        .prop_map(|(healthy, tripped, temperature_c, mn_closed)| Module { healthy, tripped, temperature_c, mn_closed })
}

fn gun() -> impl Strategy<Value = Gun> {
    (
        session(),
        (0.0..1000.0f64, 0.0..500.0f64),
        (0.0..400.0f64, 100.0..1000.0f64, 0.0..600.0f64),
        (prop::bool::weighted(0.9), prop::bool::weighted(0.95)),
        20.0..110.0f64,
    )
        .prop_map(|(session, (tv, ti), (mp, mv, mi), (safety_ok, comm_ok), connector_temperature_c)| Gun {
            session,
            target_voltage_v: tv,
            target_current_a: ti,
            max_power_kw: mp,
            max_voltage_v: mv,
            max_current_a: mi,
            safety_ok,
            comm_ok,
            connector_temperature_c,
        })
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        prop_oneof![1 => Just(0.0), 19 => 1.0..60.0f64],
        (50.0..90.0f64, 1.0..30.0f64),
        (40.0..80.0f64, 1.0..30.0f64),
        prop_oneof![1 => Just(0.0), 2 => 0.0..40.0f64],
    )
        .prop_map(|(module_rating_kw, (cs, cw), (ms, mw), min_gain_kw)| Settings {
            module_rating_kw,
            connector_derating: Derating { start_c: cs, trip_c: cs + cw },
            module_derating: Derating { start_c: ms, trip_c: ms + mw },
            min_gain_kw,
        })
}

/// A ring: per slot whether it has a gun and how many modules; guns numbered in a shuffled order.
fn snapshot() -> impl Strategy<Value = Snapshot> {
    prop::collection::vec((prop::bool::weighted(0.85), 0usize..=3), 1..=14)
        .prop_flat_map(|layout| {
            let guns = layout.iter().filter(|(has_gun, _)| *has_gun).count();
            let slots: Vec<_> = layout
                .iter()
                .map(|&(_, modules)| {
                    (
                        prop::collection::vec(module(), modules),
                        [any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()],
                    )
                })
                .collect();
            let order: Vec<usize> = (0..guns).collect();
            #[allow(clippy::cast_precision_loss)]
            let most = layout.len() as f64 * 120.0;
            (Just(layout), slots, prop::collection::vec(gun(), guns), Just(order).prop_shuffle(), 0.0..most, settings())
        })
        .prop_map(|(layout, slots, guns, order, cabinet_share_kw, settings)| {
            let mut next = order.into_iter();
            let slots = layout
                .iter()
                .zip(slots)
                .map(|(&(has_gun, _), (modules, [gc, mc, cw, ccw]))| Slot {
                    home_gun: if has_gun { next.next() } else { None },
                    modules,
                    gc_closed: gc,
                    mc_closed: mc,
                    cw_closed: cw,
                    ccw_closed: ccw,
                })
                .collect();
            Snapshot { slots, guns, cabinet_share_kw, settings }
        })
}

#[derive(Clone, Debug)]
enum Mutation {
    Session(Index, Session),
    Fault(Index),
    Demand(Index, f64),
    Trip(Index),
    ModuleTemperature(Index, f64),
    ConnectorTemperature(Index, f64),
    Share(f64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), session()).prop_map(|(i, s)| Mutation::Session(i, s)),
        any::<Index>().prop_map(Mutation::Fault),
        (any::<Index>(), 0.0..500.0f64).prop_map(|(i, a)| Mutation::Demand(i, a)),
        any::<Index>().prop_map(Mutation::Trip),
        (any::<Index>(), 20.0..100.0f64).prop_map(|(i, t)| Mutation::ModuleTemperature(i, t)),
        (any::<Index>(), 20.0..110.0f64).prop_map(|(i, t)| Mutation::ConnectorTemperature(i, t)),
        (0.1..2.0f64).prop_map(Mutation::Share),
    ]
}

fn mutate(snapshot: &mut Snapshot, m: &Mutation) {
    let modules: Vec<(usize, usize)> =
        snapshot.slots.iter().enumerate().flat_map(|(s, slot)| (0..slot.modules.len()).map(move |i| (s, i))).collect();
    let guns = snapshot.guns.len();
    match *m {
        Mutation::Session(i, s) if guns > 0 => snapshot.guns[i.index(guns)].session = s,
        Mutation::Fault(i) if guns > 0 => snapshot.guns[i.index(guns)].safety_ok = false,
        Mutation::Demand(i, a) if guns > 0 => snapshot.guns[i.index(guns)].target_current_a = a,
        Mutation::ConnectorTemperature(i, t) if guns > 0 => snapshot.guns[i.index(guns)].connector_temperature_c = t,
        Mutation::Trip(i) if !modules.is_empty() => {
            let (s, m) = modules[i.index(modules.len())];
            snapshot.slots[s].modules[m].tripped = true;
        }
        Mutation::ModuleTemperature(i, t) if !modules.is_empty() => {
            let (s, m) = modules[i.index(modules.len())];
            snapshot.slots[s].modules[m].temperature_c = t;
        }
        Mutation::Share(f) => snapshot.cabinet_share_kw *= f,
        _ => {}
    }
}

/// The feedback state a settled executor leaves: the plan's targets.
fn settle(snapshot: &mut Snapshot, plan: &Plan) {
    for (slot, t) in snapshot.slots.iter_mut().zip(&plan.slots) {
        (slot.gc_closed, slot.mc_closed, slot.cw_closed, slot.ccw_closed) = (t.gc, t.mc, t.cw, t.ccw);
        for (module, &on) in slot.modules.iter_mut().zip(&t.mn) {
            module.mn_closed = on;
        }
    }
}

/// A snapshot and, most of the time, the previous plan of a state a few mutations away.
#[derive(Clone, Debug)]
struct Case {
    snapshot: Snapshot,
    previous: Option<Plan>,
}

fn case() -> impl Strategy<Value = Case> {
    (snapshot(), prop::bool::weighted(0.8), prop::collection::vec(mutation(), 0..4), any::<bool>()).prop_map(
        |(before, with_previous, mutations, settled)| {
            if !with_previous {
                return Case { snapshot: before, previous: None };
            }
            let previous = plan(&before, None).expect("generated snapshots are valid");
            let mut snapshot = before;
            for m in &mutations {
                mutate(&mut snapshot, m);
            }
            if settled {
                settle(&mut snapshot, &previous);
            }
            Case { snapshot, previous: Some(previous) }
        },
    )
}

fn planned(case: &Case) -> Plan {
    plan(&case.snapshot, case.previous.as_ref()).expect("generated snapshots are valid")
}

// ---- helpers: the rules restated ----------------------------------------------------------

fn home_of(snapshot: &Snapshot, gun: usize) -> usize {
    snapshot.slots.iter().position(|s| s.home_gun == Some(gun)).unwrap()
}

fn eligible(gun: &Gun) -> bool {
    gun.session.is_active() && gun.safety_ok && gun.comm_ok
}

fn module_kw(snapshot: &Snapshot, module: &Module) -> f64 {
    let s = &snapshot.settings;
    if module.healthy && !module.tripped {
        s.module_rating_kw * derate(s.module_derating, module.temperature_c)
    } else {
        0.0
    }
}

fn slot_kw(snapshot: &Snapshot, slot: usize) -> f64 {
    snapshot.slots[slot].modules.iter().map(|m| module_kw(snapshot, m)).sum()
}

fn island_kw(snapshot: &Snapshot, island: Island) -> f64 {
    island.slots(snapshot.slots.len()).map(|s| slot_kw(snapshot, s)).sum()
}

fn demand(gun: &Gun) -> f64 {
    if gun.session.is_active() {
        (gun.target_voltage_v.min(gun.max_voltage_v) * gun.target_current_a.min(gun.max_current_a) / 1000.0)
            .min(gun.max_power_kw)
    } else {
        0.0
    }
}

fn want(snapshot: &Snapshot, gun: &Gun) -> f64 {
    demand(gun) * derate(snapshot.settings.connector_derating, gun.connector_temperature_c)
}

fn slot_owner(snapshot: &Snapshot, plan: &Plan, slot: usize) -> Option<usize> {
    let n = snapshot.slots.len();
    plan.guns.iter().position(|g| g.island.is_some_and(|i| i.contains(slot, n)))
}

/// The level of the max-min fair share: what a grid-limited gun gets (infinite when none is).
fn grid_level(plan: &Plan) -> f64 {
    plan.guns.iter().filter(|g| g.limit == Limit::Grid).map(|g| g.budget_kw).fold(f64::INFINITY, f64::min)
}

/// Contactor states as one struct, for the feedback and the targets alike.
#[derive(Clone)]
struct State {
    slots: Vec<SlotTargets>,
}

impl State {
    fn actual(snapshot: &Snapshot) -> Self {
        let slots = snapshot
            .slots
            .iter()
            .map(|s| SlotTargets {
                gc: s.gc_closed,
                mc: s.mc_closed,
                cw: s.cw_closed,
                ccw: s.ccw_closed,
                mn: s.modules.iter().map(|m| m.mn_closed).collect(),
            })
            .collect();
        Self { slots }
    }

    fn set(&mut self, slot: usize, kind: ContactorKind, closed: bool) {
        let t = &mut self.slots[slot];
        match kind {
            ContactorKind::Gc => t.gc = closed,
            ContactorKind::Mc => t.mc = closed,
            ContactorKind::Cw => t.cw = closed,
            ContactorKind::Ccw => t.ccw = closed,
            ContactorKind::Mn(i) => t.mn[i] = closed,
        }
    }

    fn get(&self, slot: usize, kind: ContactorKind) -> bool {
        let t = &self.slots[slot];
        match kind {
            ContactorKind::Gc => t.gc,
            ContactorKind::Mc => t.mc,
            ContactorKind::Cw => t.cw,
            ContactorKind::Ccw => t.ccw,
            ContactorKind::Mn(i) => t.mn[i],
        }
    }

    /// Component label of each node (2s = slot bus, 2s+1 = ring node), breadth-first.
    fn components(&self) -> Vec<usize> {
        let n = self.slots.len();
        let mut edges = vec![Vec::new(); 2 * n];
        for s in 0..n {
            if self.slots[s].mc {
                edges[2 * s].push(2 * s + 1);
                edges[2 * s + 1].push(2 * s);
            }
            let next = (s + 1) % n;
            if self.slots[s].cw && self.slots[next].ccw {
                edges[2 * s + 1].push(2 * next + 1);
                edges[2 * next + 1].push(2 * s + 1);
            }
        }
        let mut label = vec![usize::MAX; 2 * n];
        for start in 0..2 * n {
            if label[start] != usize::MAX {
                continue;
            }
            label[start] = start;
            let mut queue = VecDeque::from([start]);
            while let Some(x) = queue.pop_front() {
                for &y in &edges[x] {
                    if label[y] == usize::MAX {
                        label[y] = start;
                        queue.push_back(y);
                    }
                }
            }
        }
        label
    }

    /// Guns whose GC is closed, with the component label of their slot bus.
    fn fed_guns(&self, snapshot: &Snapshot) -> Vec<(usize, usize)> {
        let label = self.components();
        (0..snapshot.guns.len())
            .map(|g| (g, home_of(snapshot, g)))
            .filter(|&(_, h)| self.slots[h].gc)
            .map(|(g, h)| (g, label[2 * h]))
            .collect()
    }
}

fn ramp(step: &Step) -> Option<&Ramp> {
    match step {
        Step::RampDown(r) | Step::RampUp(r) => Some(r),
        _ => None,
    }
}

fn phase(step: &Step) -> u8 {
    match step {
        Step::RampDown(_) => 0,
        Step::Open(_) => 1,
        Step::Close(_) => 2,
        Step::RampUp(_) => 3,
    }
}

// ---- the properties -----------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// Same inputs, same plan.
    #[test]
    fn deterministic(case in case()) {
        let first = planned(&case);
        let again = plan(&case.snapshot.clone(), case.previous.clone().as_ref()).unwrap();
        prop_assert_eq!(first, again);
    }

    /// Islands: one per fed gun, contiguous (a start and a length on the ring), disjoint, holding
    /// the gun's home slot; a slot whose gun is active belongs to that gun's island; guns that may
    /// not be fed have none, and the home slot of an unsafe gun is in no island.
    #[test]
    fn islands_are_contiguous_disjoint_and_hold_their_home(case in case()) {
        let p = planned(&case);
        let s = &case.snapshot;
        let n = s.slots.len();
        let mut owner = vec![None; n];
        for (g, gp) in p.guns.iter().enumerate() {
            let gun = &s.guns[g];
            prop_assert_eq!(gp.island.is_some(), eligible(gun), "gun {}", g);
            let Some(island) = gp.island else { continue };
            prop_assert!(island.len >= 1 && island.len <= n && island.start < n);
            prop_assert!(island.contains(home_of(s, g), n), "gun {} island {:?} misses its home", g, island);
            for slot in island.slots(n) {
                prop_assert!(owner[slot].is_none(), "slot {} in two islands", slot);
                owner[slot] = Some(g);
            }
        }
        for (slot, state) in s.slots.iter().enumerate() {
            if let Some(g) = state.home_gun {
                if eligible(&s.guns[g]) {
                    prop_assert_eq!(owner[slot], Some(g));
                }
                if !(s.guns[g].safety_ok && s.guns[g].comm_ok) {
                    prop_assert_eq!(owner[slot], None, "blocked slot {} used", slot);
                }
            }
        }
    }

    /// Budgets: never above demand, connector derating or the island's derated modules; the sum
    /// within the cabinet's share; unsafe and idle guns get nothing; shared max-min fair: no gun is
    /// held by the grid below another gun's budget, and the share is used up whenever a gun is
    /// held by the grid.
    #[test]
    fn budgets_are_bounded_and_max_min_fair(case in case()) {
        let p = planned(&case);
        let s = &case.snapshot;
        let total: f64 = p.guns.iter().map(|g| g.budget_kw).sum();
        prop_assert!(total <= s.cabinet_share_kw + TOL, "{} > {}", total, s.cabinet_share_kw);
        for (g, gp) in p.guns.iter().enumerate() {
            let gun = &s.guns[g];
            prop_assert!(gp.budget_kw >= 0.0);
            prop_assert!((gp.demand_kw - demand(gun)).abs() <= TOL);
            prop_assert!(gp.budget_kw <= want(s, gun) + TOL);
            if let Some(island) = gp.island {
                prop_assert!(gp.budget_kw <= island_kw(s, island) + TOL);
            } else {
                prop_assert_eq!(gp.budget_kw, 0.0);
            }
            if !(gun.safety_ok && gun.comm_ok) {
                prop_assert_eq!(gp.limit, Limit::Safety);
                prop_assert_eq!(gp.budget_kw, 0.0);
            }
        }
        let level = grid_level(&p);
        if level.is_finite() {
            prop_assert!((total - s.cabinet_share_kw).abs() <= TOL * s.cabinet_share_kw.max(1.0));
            for gp in &p.guns {
                prop_assert!(gp.budget_kw <= level + TOL, "{} above the grid level {}", gp.budget_kw, level);
            }
        }
    }

    /// The limiting reason names the bound the budget sits on.
    #[test]
    fn limits_name_the_binding_bound(case in case()) {
        let p = planned(&case);
        let s = &case.snapshot;
        for (g, gp) in p.guns.iter().enumerate() {
            let gun = &s.guns[g];
            let capacity = gp.island.map_or(0.0, |i| island_kw(s, i));
            let close = |a: f64, b: f64| (a - b).abs() <= TOL * b.abs().max(1.0);
            match gp.limit {
                Limit::Safety => prop_assert!(!(gun.safety_ok && gun.comm_ok)),
                Limit::Demand => prop_assert!(!eligible(gun) || close(gp.budget_kw, demand(gun))),
                Limit::Modules => prop_assert!(close(gp.budget_kw, capacity) && gp.budget_kw < demand(gun)),
                Limit::Thermal => prop_assert!(
                    gp.budget_kw < demand(gun) && (close(gp.budget_kw, want(s, gun)) || close(gp.budget_kw, capacity))
                ),
                Limit::Grid => prop_assert!(
                    gp.budget_kw <= want(s, gun).min(capacity) + TOL && close(gp.budget_kw, grid_level(&p))
                ),
            }
        }
    }

    /// Modules on: usable modules of the gun's own island, covering its budget, and the fewest that
    /// can; the MN targets are exactly the modules on.
    #[test]
    fn no_more_modules_than_the_budget_needs(case in case()) {
        let p = planned(&case);
        let s = &case.snapshot;
        let n = s.slots.len();
        let mut on = Vec::new();
        for gp in &p.guns {
            let Some(island) = gp.island else {
                prop_assert!(gp.modules_on.is_empty());
                continue;
            };
            let kw = |m: &ModuleRef| module_kw(s, &s.slots[m.slot].modules[m.index]);
            let sum: f64 = gp.modules_on.iter().map(kw).sum();
            prop_assert!(sum + TOL >= gp.budget_kw, "{} kW on for a {} kW budget", sum, gp.budget_kw);
            for m in &gp.modules_on {
                prop_assert!(island.contains(m.slot, n) && kw(m) > 0.0);
            }
            let mut all: Vec<f64> = island.slots(n).flat_map(|slot| s.slots[slot].modules.iter().map(|m| module_kw(s, m))).collect();
            all.sort_by(|a, b| b.total_cmp(a));
            let fewer: f64 = all.iter().take(gp.modules_on.len().saturating_sub(1)).sum();
            prop_assert!(gp.modules_on.is_empty() || fewer + TOL < gp.budget_kw, "one module fewer would do");
            on.extend(gp.modules_on.iter().copied());
        }
        on.sort();
        let mut targets: Vec<ModuleRef> = p.slots.iter().enumerate()
            .flat_map(|(slot, t)| t.mn.iter().enumerate().filter(|(_, on)| **on).map(move |(index, _)| ModuleRef { slot, index }))
            .collect();
        targets.sort();
        prop_assert_eq!(on, targets);
    }

    /// Contactor targets follow the islands: GC closed at the home slot of each fed gun only; MC on
    /// every slot of a multi-slot island only; bridges closed only between two slots of one island;
    /// a slot in no island (an unsafe gun's home among them) has everything open.
    #[test]
    fn contactor_targets_follow_the_islands(case in case()) {
        let p = planned(&case);
        let s = &case.snapshot;
        let n = s.slots.len();
        for (slot, t) in p.slots.iter().enumerate() {
            let owner = slot_owner(s, &p, slot);
            let fed_home = s.slots[slot].home_gun.filter(|&g| p.guns[g].island.is_some());
            prop_assert_eq!(t.gc, fed_home.is_some());
            let multi = owner.is_some_and(|g| p.guns[g].island.unwrap().len >= 2);
            prop_assert_eq!(t.mc, multi);
            let next = (slot + 1) % n;
            if t.cw && p.slots[next].ccw {
                prop_assert!(owner.is_some() && owner == slot_owner(s, &p, next) && n > 1);
            }
            if owner.is_none() {
                prop_assert!(!t.gc && !t.mc && !t.cw && !t.ccw && t.mn.iter().all(|on| !on));
            }
        }
        let state = State { slots: p.slots.clone() };
        let mut seen = Vec::new();
        for (g, label) in state.fed_guns(s) {
            prop_assert!(!seen.contains(&label), "gun {} shares its island's bus with another gun", g);
            seen.push(label);
        }
    }

    /// The sequence goes from the feedback to the targets: ramp down, open, close, ramp up, no empty
    /// step. Nothing switches under load: every gun connected to a switched GC, MC or bridge, before
    /// or after the switch, is ramped down first; a module is at zero power when its MN switches.
    /// No intermediate state joins two fed guns.
    #[test]
    fn switching_is_sequenced_and_never_under_load(case in case()) {
        let p = planned(&case);
        let s = &case.snapshot;
        let n = s.slots.len();
        let phases: Vec<u8> = p.sequence.iter().map(phase).collect();
        prop_assert!(phases.windows(2).all(|w| w[0] < w[1]), "{:?}", phases);
        let empty = Ramp::default();
        let down = p.sequence.iter().find(|st| phase(st) == 0).and_then(ramp).unwrap_or(&empty);
        let up = p.sequence.iter().find(|st| phase(st) == 3).and_then(ramp).unwrap_or(&empty);
        let (mut opened, mut closed) = (Vec::new(), Vec::new());
        for step in &p.sequence {
            match step {
                Step::Open(cs) => opened.clone_from(cs),
                Step::Close(cs) => closed.clone_from(cs),
                Step::RampDown(r) | Step::RampUp(r) => prop_assert!(!r.is_empty()),
            }
        }
        prop_assert!(p.sequence.iter().all(|st| !matches!(st, Step::Open(c) | Step::Close(c) if c.is_empty())));

        let actual = State::actual(s);
        let target = State { slots: p.slots.clone() };
        let mut middle = actual.clone();
        for c in &opened {
            prop_assert!(actual.get(c.slot, c.kind) && !target.get(c.slot, c.kind));
            middle.set(c.slot, c.kind, false);
        }
        let mut end = middle.clone();
        for c in &closed {
            prop_assert!(!actual.get(c.slot, c.kind) && target.get(c.slot, c.kind));
            end.set(c.slot, c.kind, true);
        }
        prop_assert!(end.slots == target.slots, "the sequence does not reach the targets");

        for state in [&middle, &end] {
            let mut seen = Vec::new();
            for (_, label) in state.fed_guns(s) {
                prop_assert!(!seen.contains(&label), "two fed guns joined");
                seen.push(label);
            }
        }

        for c in opened.iter().chain(&closed) {
            if let ContactorKind::Mn(index) = c.kind {
                let m = ModuleRef { slot: c.slot, index };
                let was_on = actual.get(c.slot, c.kind);
                let ramped = if was_on { down.modules.contains(&m) } else { up.modules.contains(&m) };
                prop_assert!(ramped, "module {:?} switched at power", m);
                continue;
            }
            let nodes = match c.kind {
                ContactorKind::Gc => vec![2 * c.slot],
                ContactorKind::Mc => vec![2 * c.slot, 2 * c.slot + 1],
                ContactorKind::Cw => vec![2 * c.slot + 1, 2 * ((c.slot + 1) % n) + 1],
                _ => vec![2 * c.slot + 1, 2 * ((c.slot + n - 1) % n) + 1],
            };
            for state in [&actual, &target] {
                let label = state.components();
                for (g, at) in state.fed_guns(s) {
                    if nodes.iter().any(|&x| label[x] == at) {
                        prop_assert!(down.guns.contains(&g), "gun {} under load while {:?} switches", g, c);
                    }
                }
            }
        }
        for &g in &up.guns {
            prop_assert!(down.guns.contains(&g) && p.guns[g].budget_kw > 0.0);
        }
    }

    /// Borrowing: a gun held back by its island's modules has no free neighbouring slot (in no
    /// island, not blocked) whose modules would bring it `min_gain_kw` or more; and without a
    /// previous plan, every borrowed slot brings power.
    #[test]
    fn guns_short_of_modules_borrow_free_neighbours(case in case()) {
        let p = planned(&case);
        let s = &case.snapshot;
        let n = s.slots.len();
        let level = grid_level(&p);
        for (g, gp) in p.guns.iter().enumerate() {
            let Some(island) = gp.island else { continue };
            if case.previous.is_none() {
                for slot in island.slots(n).filter(|&slot| slot != home_of(s, g)) {
                    prop_assert!(slot_kw(s, slot) > 0.0, "gun {} borrowed slot {} that has no power", g, slot);
                }
            }
            if gp.limit != Limit::Modules || island.len == n {
                continue;
            }
            let short = want(s, &s.guns[g]).min(level) - gp.budget_kw;
            for slot in [(island.start + island.len) % n, (island.start + n - 1) % n] {
                let blocked = s.slots[slot].home_gun.is_some_and(|h| !(s.guns[h].safety_ok && s.guns[h].comm_ok));
                if slot_owner(s, &p, slot).is_none() && !blocked {
                    let gain = short.min(slot_kw(s, slot));
                    prop_assert!(
                        gain <= 0.0 || gain < s.settings.min_gain_kw + TOL,
                        "gun {} could gain {} kW from slot {}", g, gain, slot
                    );
                }
            }
        }
    }

    /// Hysteresis: when no change is worth it (a huge `min_gain_kw`), each island is the previous
    /// one, cut back only where a slot became another active gun's home or blocked.
    #[test]
    fn hysteresis_keeps_islands_unless_forced(mut case in case()) {
        case.snapshot.settings.min_gain_kw = 1e12;
        let p = planned(&case);
        let s = &case.snapshot;
        let n = s.slots.len();
        let taken = |slot: usize, gun: usize| {
            s.slots[slot].home_gun.is_some_and(|h| h != gun && (eligible(&s.guns[h]) || !(s.guns[h].safety_ok && s.guns[h].comm_ok)))
        };
        for (g, gp) in p.guns.iter().enumerate() {
            let Some(island) = gp.island else { continue };
            let home = home_of(s, g);
            let before = case.previous.as_ref().and_then(|prev| prev.guns[g].island);
            let expected = match before {
                Some(prev) if prev.contains(home, n) => {
                    let offset = (home + n - prev.start) % n;
                    let cw = (offset + 1..prev.len).take_while(|k| !taken((prev.start + k) % n, g)).count();
                    let ccw = (0..offset).rev().take_while(|k| !taken((prev.start + k) % n, g)).count();
                    Island { start: (home + n - ccw) % n, len: 1 + cw + ccw }
                }
                _ => Island { start: home, len: 1 },
            };
            prop_assert_eq!(island, expected, "gun {}", g);
        }
    }

    /// Planning again with its own plan as the previous one changes no island.
    #[test]
    fn a_plan_is_its_own_fixed_point(case in case()) {
        let p = planned(&case);
        let again = plan(&case.snapshot, Some(&p)).unwrap();
        let islands = |plan: &Plan| plan.guns.iter().map(|g| g.island).collect::<Vec<_>>();
        prop_assert_eq!(islands(&p), islands(&again));
    }

    /// Derating is linear between start and trip, full below, nothing above.
    #[test]
    fn derating_is_linear(start in -40.0..150.0f64, width in 0.1..80.0f64, t in -60.0..260.0f64) {
        let d = Derating { start_c: start, trip_c: start + width };
        let f = derate(d, t);
        let expected = ((start + width - t) / width).clamp(0.0, 1.0);
        prop_assert!((f - expected).abs() < 1e-9, "{} vs {}", f, expected);
    }
}
