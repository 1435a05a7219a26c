//! The planner's input (`Snapshot`) and output (`Plan`): plain data.
//!
//! The cabinet is a ring of slots. Slot `i`'s clockwise (CW) neighbour is `(i + 1) % S`. Inside a
//! slot, each power module feeds the slot bus through its MN contactor; GC joins the slot bus to the
//! slot's home gun; MC joins the slot bus to the slot's ring node. Slot `i`'s CW contactor and slot
//! `i + 1`'s CCW contactor together make the bridge between their ring nodes: it conducts only when
//! both are closed (wiring one physical contactor to both names is fine). An island is a run of slots
//! whose ring nodes are joined; it feeds the one gun whose home slot it contains.
//!
//! The snapshot derives `Deserialize` so that the golden scenarios of `tests/fixtures/planner` read
//! straight into it; its field names are also the attribute names the Python binding reads.

use serde::Deserialize;

/// What the gun's session is doing, as far as power is concerned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Session {
    /// No EV, or an EV that has no session.
    #[default]
    Idle,
    /// Cable check and pre-charge: the gun needs its island, at little power.
    Preparing,
    /// Energy is being delivered.
    Charging,
    /// The EV paused; the island is kept so that it can resume at once.
    Suspended,
    /// The session is ending: nothing more is delivered and the island is given up.
    Finishing,
}

impl Session {
    /// Whether the session holds its gun's island (and its home slot).
    pub fn is_active(self) -> bool {
        matches!(self, Self::Preparing | Self::Charging | Self::Suspended)
    }
}

/// One power module and the state of its MN contactor.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    #[serde(default = "yes")]
    pub healthy: bool,
    /// Tripped by its own protection (over-temperature, over-current); unusable until reset.
    #[serde(default)]
    pub tripped: bool,
    #[serde(default = "room_temperature")]
    pub temperature_c: f64,
    /// The MN contactor as its feedback reports it.
    #[serde(default)]
    pub mn_closed: bool,
}

/// One slot of the ring: its home gun, its modules and the feedback state of its contactors.
#[allow(clippy::struct_excessive_bools)] // one per contactor: each is a physical open/closed
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// Index into `Snapshot::guns`; a slot without a gun only lends its modules.
    #[serde(default)]
    pub home_gun: Option<usize>,
    pub modules: Vec<Module>,
    #[serde(default)]
    pub gc_closed: bool,
    #[serde(default)]
    pub mc_closed: bool,
    #[serde(default)]
    pub cw_closed: bool,
    #[serde(default)]
    pub ccw_closed: bool,
}

/// One gun: its session, what its EV asks for, its own limits and its health.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gun {
    #[serde(default)]
    pub session: Session,
    /// The EV's target voltage and current (ISO 15118 / DIN `EVTarget*`).
    #[serde(default)]
    pub target_voltage_v: f64,
    #[serde(default)]
    pub target_current_a: f64,
    pub max_power_kw: f64,
    pub max_voltage_v: f64,
    pub max_current_a: f64,
    #[serde(default = "yes")]
    pub safety_ok: bool,
    #[serde(default = "yes")]
    pub comm_ok: bool,
    #[serde(default = "room_temperature")]
    pub connector_temperature_c: f64,
}

impl Gun {
    /// Safety chain and PLC communication both good: the only state in which a gun may be fed.
    pub fn is_safe(&self) -> bool {
        self.safety_ok && self.comm_ok
    }
}

/// Linear derating: full power up to `start_c`, none from `trip_c` on.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derating {
    pub start_c: f64,
    pub trip_c: f64,
}

/// The planner's configuration, fixed for a site.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Output of one healthy, cool module.
    pub module_rating_kw: f64,
    pub connector_derating: Derating,
    pub module_derating: Derating,
    /// Hysteresis: an island change, which interrupts the guns it touches, is made only when it
    /// brings a gun at least this much more power.
    pub min_gain_kw: f64,
}

/// Everything the planner knows at one tick.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub slots: Vec<Slot>,
    pub guns: Vec<Gun>,
    /// The cabinet's share of the site limit (the power manager's decision).
    pub cabinet_share_kw: f64,
    pub settings: Settings,
}

fn yes() -> bool {
    true
}

fn room_temperature() -> f64 {
    25.0
}

/// A module by its place: slot and index within the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleRef {
    pub slot: usize,
    pub index: usize,
}

/// A run of `len` slots starting at `start` and going clockwise, wrapping around the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Island {
    pub start: usize,
    pub len: usize,
}

impl Island {
    /// The island's slots in clockwise order, on a ring of `ring` slots.
    pub fn slots(self, ring: usize) -> impl Iterator<Item = usize> {
        (0..self.len).map(move |k| (self.start + k) % ring)
    }

    pub fn contains(self, slot: usize, ring: usize) -> bool {
        (slot + ring - self.start) % ring < self.len
    }
}

/// What keeps a gun's budget from being higher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The gun gets all it asks for (or asks for nothing).
    Demand,
    /// Its island has no more usable module power.
    Modules,
    /// Connector or module temperature derating.
    Thermal,
    /// The cabinet's share of the site limit, shared max-min fair.
    Grid,
    /// Safety chain or communication fault: the gun gets nothing and is opened.
    Safety,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Demand => "demand",
            Self::Modules => "modules",
            Self::Thermal => "thermal",
            Self::Grid => "grid",
            Self::Safety => "safety",
        }
    }
}

/// The plan for one gun.
#[derive(Clone, Debug, PartialEq)]
pub struct GunPlan {
    /// What the gun asks for: the EV's targets capped by the gun's limits; 0 without a session.
    pub demand_kw: f64,
    pub budget_kw: f64,
    /// None when the gun has no session or is unsafe.
    pub island: Option<Island>,
    /// The fewest modules of the island that cover the budget, in ring order from the island's start.
    pub modules_on: Vec<ModuleRef>,
    pub limit: Limit,
}

/// Target state of one slot's contactors (true = closed).
#[allow(clippy::struct_excessive_bools)] // one per contactor: each is a physical open/closed
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotTargets {
    pub gc: bool,
    pub mc: bool,
    pub cw: bool,
    pub ccw: bool,
    pub mn: Vec<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ContactorKind {
    Gc,
    Mc,
    Cw,
    Ccw,
    /// The MN contactor of the slot's module at this index.
    Mn(usize),
}

impl ContactorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gc => "gc",
            Self::Mc => "mc",
            Self::Cw => "cw",
            Self::Ccw => "ccw",
            Self::Mn(_) => "mn",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Contactor {
    pub slot: usize,
    pub kind: ContactorKind,
}

/// Guns and modules whose power is ramped (to zero, or back to their budget).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ramp {
    pub guns: Vec<usize>,
    pub modules: Vec<ModuleRef>,
}

impl Ramp {
    pub fn is_empty(&self) -> bool {
        self.guns.is_empty() && self.modules.is_empty()
    }
}

/// One phase of the switching sequence. The executor finishes each step (power measured at zero,
/// contactor feedback matching) before it starts the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Bring these guns and modules to zero power.
    RampDown(Ramp),
    Open(Vec<Contactor>),
    Close(Vec<Contactor>),
    /// Give these guns their budget and these modules their share again.
    RampUp(Ramp),
}

/// The planner's decision for one tick.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// One per gun of the snapshot, in the same order.
    pub guns: Vec<GunPlan>,
    /// One per slot of the snapshot, in the same order.
    pub slots: Vec<SlotTargets>,
    /// From the snapshot's contactor feedback to `slots`, in order; empty when they already match.
    /// Only non-empty steps appear, always in the order ramp down, open, close, ramp up.
    pub sequence: Vec<Step>,
}
