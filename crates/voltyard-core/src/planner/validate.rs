//! What a snapshot must satisfy before the planner trusts it, and the error that names the field
//! that does not. Validation also yields each gun's home slot, which every later stage needs.

use std::fmt;

use super::model::{Derating, Plan, Snapshot};

/// Why a snapshot (or the previous plan given with it) was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlannerError {
    /// A field is out of its domain; `field` is its path in the snapshot, as `guns[3].max_power_kw`.
    InvalidField { field: String, reason: String },
    /// The previous plan was made for a ring with another number of slots or guns.
    PreviousMismatch { field: &'static str, previous: usize, snapshot: usize },
}

impl PlannerError {
    /// The path of the offending field (`previous.guns` or `previous.slots` for a mismatch).
    pub fn field(&self) -> String {
        match self {
            Self::InvalidField { field, .. } => field.clone(),
            Self::PreviousMismatch { field, .. } => format!("previous.{field}"),
        }
    }
}

impl fmt::Display for PlannerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidField { field, reason } => write!(f, "{field}: {reason}"),
            Self::PreviousMismatch { field, previous, snapshot } => {
                write!(f, "previous.{field}: the previous plan has {previous}, the snapshot {snapshot}")
            }
        }
    }
}

impl std::error::Error for PlannerError {}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> PlannerError {
    PlannerError::InvalidField { field: field.into(), reason: reason.into() }
}

fn non_negative(field: impl FnOnce() -> String, value: f64) -> Result<(), PlannerError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(field(), format!("must be a finite number >= 0, got {value}")))
    }
}

fn finite(field: impl FnOnce() -> String, value: f64) -> Result<(), PlannerError> {
    if value.is_finite() { Ok(()) } else { Err(invalid(field(), format!("must be a finite number, got {value}"))) }
}

fn derating(field: &str, d: Derating) -> Result<(), PlannerError> {
    finite(|| format!("{field}.start_c"), d.start_c)?;
    finite(|| format!("{field}.trip_c"), d.trip_c)?;
    if d.start_c < d.trip_c {
        Ok(())
    } else {
        Err(invalid(field, format!("start_c ({}) must be below trip_c ({})", d.start_c, d.trip_c)))
    }
}

/// Checks the snapshot and the previous plan's shape; returns each gun's home slot.
pub fn check(snapshot: &Snapshot, previous: Option<&Plan>) -> Result<Vec<usize>, PlannerError> {
    let settings = &snapshot.settings;
    non_negative(|| "cabinet_share_kw".into(), snapshot.cabinet_share_kw)?;
    non_negative(|| "settings.module_rating_kw".into(), settings.module_rating_kw)?;
    non_negative(|| "settings.min_gain_kw".into(), settings.min_gain_kw)?;
    derating("settings.connector_derating", settings.connector_derating)?;
    derating("settings.module_derating", settings.module_derating)?;
    if snapshot.slots.is_empty() {
        return Err(invalid("slots", "the ring needs at least one slot"));
    }

    let guns = snapshot.guns.len();
    let mut home = vec![usize::MAX; guns];
    for (s, slot) in snapshot.slots.iter().enumerate() {
        if let Some(g) = slot.home_gun {
            if g >= guns {
                return Err(invalid(format!("slots[{s}].home_gun"), format!("{g} is not a gun index ({guns} guns)")));
            }
            if home[g] != usize::MAX {
                return Err(invalid(
                    format!("slots[{s}].home_gun"),
                    format!("gun {g} already has slot {} as its home slot", home[g]),
                ));
            }
            home[g] = s;
        }
        for (m, module) in slot.modules.iter().enumerate() {
            finite(|| format!("slots[{s}].modules[{m}].temperature_c"), module.temperature_c)?;
        }
    }
    for (g, gun) in snapshot.guns.iter().enumerate() {
        if home[g] == usize::MAX {
            return Err(invalid(format!("guns[{g}]"), "no slot has this gun as its home gun"));
        }
        let fields = [
            ("target_voltage_v", gun.target_voltage_v),
            ("target_current_a", gun.target_current_a),
            ("max_power_kw", gun.max_power_kw),
            ("max_voltage_v", gun.max_voltage_v),
            ("max_current_a", gun.max_current_a),
        ];
        for (name, value) in fields {
            non_negative(|| format!("guns[{g}].{name}"), value)?;
        }
        finite(|| format!("guns[{g}].connector_temperature_c"), gun.connector_temperature_c)?;
    }

    if let Some(previous) = previous {
        if previous.guns.len() != guns {
            return Err(PlannerError::PreviousMismatch {
                field: "guns",
                previous: previous.guns.len(),
                snapshot: guns,
            });
        }
        let slots = snapshot.slots.len();
        if previous.slots.len() != slots {
            return Err(PlannerError::PreviousMismatch {
                field: "slots",
                previous: previous.slots.len(),
                snapshot: slots,
            });
        }
    }
    Ok(home)
}
