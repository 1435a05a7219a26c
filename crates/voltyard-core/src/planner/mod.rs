//! The 100 ms module planner: from a snapshot of the cabinet (and the previous plan, for
//! hysteresis) to each gun's budget, island and modules, and the contactor switching that gets
//! there. A pure function: same inputs, same plan, no clock, no I/O.
//!
//! The stages, one module each: `validate` refuses snapshots out of their domain; `share` turns
//! EV targets and temperatures into what each gun could take and shares the cabinet's power
//! max-min fair; `islands` decides which slots feed which gun; `contactors` picks the modules and
//! the contactor targets and sequences the switching.

mod contactors;
mod islands;
mod model;
mod share;
mod validate;

pub use model::{
    Contactor, ContactorKind, Derating, Gun, GunPlan, Island, Limit, Module, ModuleRef, Plan, Ramp, Session, Settings,
    Slot, SlotTargets, Snapshot, Step,
};
pub use share::derate;
pub use validate::PlannerError;

use share::{Bounds, demand_kw, module_kw, usable};

/// Plans one tick. `previous` is the plan of the tick before, for the same ring; `None` at start-up
/// or after the topology changed.
pub fn plan(snapshot: &Snapshot, previous: Option<&Plan>) -> Result<Plan, PlannerError> {
    let home = validate::check(snapshot, previous)?;
    let settings = &snapshot.settings;
    let ring = snapshot.slots.len();

    let slot_kw: Vec<f64> =
        snapshot.slots.iter().map(|s| s.modules.iter().map(|m| module_kw(settings, m)).sum()).collect();
    #[allow(clippy::cast_precision_loss)] // a count of modules
    let slot_rated_kw: Vec<f64> = snapshot
        .slots
        .iter()
        .map(|s| s.modules.iter().filter(|m| usable(m)).count() as f64 * settings.module_rating_kw)
        .collect();
    let blocked: Vec<bool> =
        snapshot.slots.iter().map(|s| s.home_gun.is_some_and(|g| !snapshot.guns[g].is_safe())).collect();
    let mut bounds: Vec<Bounds> = snapshot
        .guns
        .iter()
        .map(|gun| {
            let demand = demand_kw(gun);
            Bounds {
                eligible: gun.session.is_active() && gun.is_safe(),
                safe: gun.is_safe(),
                demand_kw: demand,
                want_kw: demand * derate(settings.connector_derating, gun.connector_temperature_c),
                capacity_kw: 0.0,
                rated_capacity_kw: 0.0,
            }
        })
        .collect();

    let eligible: Vec<bool> = bounds.iter().map(|b| b.eligible).collect();
    let want_kw: Vec<f64> = bounds.iter().map(|b| b.want_kw).collect();
    let previous_islands: Option<Vec<Option<Island>>> = previous.map(|p| p.guns.iter().map(|g| g.island).collect());
    let islands = islands::form(&islands::Inputs {
        home: &home,
        eligible: &eligible,
        blocked: &blocked,
        slot_kw: &slot_kw,
        want_kw: &want_kw,
        share_kw: snapshot.cabinet_share_kw,
        min_gain_kw: settings.min_gain_kw,
        previous: previous_islands.as_deref(),
    });

    for (b, island) in bounds.iter_mut().zip(&islands) {
        if let Some(island) = island {
            b.capacity_kw = island.slots(ring).map(|s| slot_kw[s]).sum();
            b.rated_capacity_kw = island.slots(ring).map(|s| slot_rated_kw[s]).sum();
        }
    }
    let allotted = share::allot(&bounds, snapshot.cabinet_share_kw, &mut Vec::new());

    let guns: Vec<GunPlan> = bounds
        .iter()
        .zip(&islands)
        .zip(&allotted)
        .map(|((b, &island), &(budget_kw, limit))| GunPlan {
            demand_kw: b.demand_kw,
            budget_kw,
            island,
            modules_on: island.map(|i| contactors::select_modules(snapshot, i, budget_kw)).unwrap_or_default(),
            limit,
        })
        .collect();
    let modules_on: Vec<ModuleRef> = guns.iter().flat_map(|g| g.modules_on.iter().copied()).collect();
    let fed = guns.iter().zip(&home).filter_map(|(g, &h)| g.island.map(|i| (h, i)));
    let slots = contactors::targets(snapshot, fed, &modules_on);
    let budgets: Vec<f64> = guns.iter().map(|g| g.budget_kw).collect();
    let sequence = contactors::sequence(snapshot, &slots, &home, &budgets);
    Ok(Plan { guns, slots, sequence })
}
