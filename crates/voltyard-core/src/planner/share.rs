//! How much power each gun gets: its demand from the EV's targets, linear temperature derating of
//! connectors and modules, and max-min fair (water-filling) sharing of the cabinet's share.

use super::model::{Derating, Gun, Limit, Module, Settings};

/// Relative tolerance for comparing sums of kW computed in different orders.
const TOLERANCE: f64 = 1e-9;

/// Whether `a <= b`, forgiving rounding.
pub fn at_most(a: f64, b: f64) -> bool {
    a <= b + TOLERANCE * b.abs().max(1.0)
}

/// Fraction of full power left at temperature `t`: 1 up to `start_c`, 0 from `trip_c`, linear between.
pub fn derate(d: Derating, t: f64) -> f64 {
    if t <= d.start_c {
        1.0
    } else if t >= d.trip_c {
        0.0
    } else {
        (d.trip_c - t) / (d.trip_c - d.start_c)
    }
}

/// What the gun asks for: the EV's target voltage and current, each capped by the gun's own
/// limit, and their product capped by the gun's max power. Nothing without an active session.
pub fn demand_kw(gun: &Gun) -> f64 {
    if !gun.session.is_active() {
        return 0.0;
    }
    let volts = gun.target_voltage_v.min(gun.max_voltage_v);
    let amps = gun.target_current_a.min(gun.max_current_a);
    (volts * amps / 1000.0).min(gun.max_power_kw)
}

/// Whether the module may be switched on at all (its temperature aside).
pub fn usable(module: &Module) -> bool {
    module.healthy && !module.tripped
}

/// What one module can deliver now: its rating, derated by its temperature; 0 when unusable.
pub fn module_kw(settings: &Settings, module: &Module) -> f64 {
    if usable(module) {
        settings.module_rating_kw * derate(settings.module_derating, module.temperature_c)
    } else {
        0.0
    }
}

/// The water level `L` for which `sum(min(cap, L)) == total`; infinite when every cap fits.
/// Giving each claimant `min(cap, L)` is the max-min fair division of `total`.
pub fn water_level(caps: impl Iterator<Item = f64>, total: f64, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend(caps);
    scratch.sort_unstable_by(f64::total_cmp);
    let mut left = total;
    let mut claimants = scratch.len();
    for &cap in scratch.iter() {
        #[allow(clippy::cast_precision_loss)] // a count of guns
        let level = left / claimants as f64;
        if cap > level {
            return level;
        }
        left -= cap;
        claimants -= 1;
    }
    f64::INFINITY
}

/// One gun's constraints, each an upper bound on its budget.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bounds {
    /// May the gun be fed at all (active session, safety and communication good)?
    pub eligible: bool,
    pub safe: bool,
    pub demand_kw: f64,
    /// The demand after connector-temperature derating.
    pub want_kw: f64,
    /// Usable module power of the gun's island, after module-temperature derating.
    pub capacity_kw: f64,
    /// The same island's power if no module were derated.
    pub rated_capacity_kw: f64,
}

impl Bounds {
    fn cap(&self) -> f64 {
        if self.eligible { self.want_kw.min(self.capacity_kw) } else { 0.0 }
    }
}

/// Each gun's budget and what limits it, sharing `share_kw` max-min fair.
pub fn allot(bounds: &[Bounds], share_kw: f64, scratch: &mut Vec<f64>) -> Vec<(f64, Limit)> {
    let level = water_level(bounds.iter().map(Bounds::cap), share_kw, scratch);
    bounds
        .iter()
        .map(|b| {
            let budget = b.cap().min(level);
            (budget, limit(b, budget, level))
        })
        .collect()
}

/// The binding constraint; ties go to the first in the order demand, thermal, modules, grid.
fn limit(b: &Bounds, budget: f64, level: f64) -> Limit {
    if !b.safe {
        Limit::Safety
    } else if !b.eligible || at_most(b.demand_kw, budget) {
        Limit::Demand
    } else if at_most(b.want_kw, b.capacity_kw) && at_most(b.want_kw, level) {
        Limit::Thermal // connector derating cut the demand, and nothing tighter binds
    } else if at_most(b.capacity_kw, level) {
        // Module derating is what binds when the island, undereated, would have given more.
        if at_most(b.want_kw.min(b.rated_capacity_kw), budget) { Limit::Modules } else { Limit::Thermal }
    } else {
        Limit::Grid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derating_is_linear_between_start_and_trip() {
        let d = Derating { start_c: 60.0, trip_c: 80.0 };
        assert!((derate(d, 20.0) - 1.0).abs() < 1e-12);
        assert!((derate(d, 60.0) - 1.0).abs() < 1e-12);
        assert!((derate(d, 65.0) - 0.75).abs() < 1e-12);
        assert!(derate(d, 80.0).abs() < 1e-12);
        assert!(derate(d, 200.0).abs() < 1e-12);
    }

    #[test]
    fn water_level_fills_the_small_caps_first() {
        let mut scratch = Vec::new();
        // 100 over caps 10, 50, 80: 10 is filled, 90 left for two -> 45 each.
        let level = water_level([80.0, 10.0, 50.0].into_iter(), 100.0, &mut scratch);
        assert!((level - 45.0).abs() < 1e-12);
        assert!(water_level([1.0, 2.0].into_iter(), 3.0, &mut scratch).is_infinite());
        assert!(water_level(std::iter::empty(), 3.0, &mut scratch).is_infinite());
    }
}
