//! Meter values in OCPP 1.6 terms: what a `MeterValues` request (or a stop's `transactionData`)
//! states, with the energy and power of each meterValue normalised to Wh and W.
//!
//! `MeterValues` is the commonest message of a fleet. Reading it here, from the frame's tree, spares
//! the server building the payload's Python objects only to walk them again.

use super::tree::{JsonNode, Kind};

/// The measurand of energy, and of a sampledValue that names none.
pub const ENERGY: &str = "Energy.Active.Import.Register";
/// The measurand of power.
pub const POWER: &str = "Power.Active.Import";

/// One meterValue.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterReading<'a> {
    /// Its timestamp as sent.
    pub timestamp: &'a str,
    /// Its sampledValue array as compact JSON.
    pub sampled_value: Vec<u8>,
    /// Energy.Active.Import.Register in Wh and Power.Active.Import in W, when present.
    pub energy_wh: Option<f64>,
    pub power_w: Option<f64>,
}

/// What a `MeterValues` request says.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterValues<'a> {
    pub connector_id: i64,
    pub transaction_id: Option<i64>,
    pub readings: Vec<MeterReading<'a>>,
}

/// Reads a `MeterValues` request payload; None when it is not shaped like one. A payload that passed
/// the `MeterValues` schema always is, but for a `connectorId` past `i64` (the schema bounds none).
pub fn meter_values(payload: JsonNode<'_>) -> Option<MeterValues<'_>> {
    let Kind::Object(members) = payload.kind() else { return None };
    let (mut connector_id, mut transaction_id, mut readings) = (None, None, None);
    for (key, value) in members {
        match key {
            "connectorId" => connector_id = integer(value),
            "transactionId" => transaction_id = integer(value),
            "meterValue" => readings = meter_readings(value),
            _ => {}
        }
    }
    Some(MeterValues { connector_id: connector_id?, transaction_id, readings: readings? })
}

/// Reads a meterValue array; None when an element is not a meterValue (timestamp and sampledValue).
pub fn meter_readings(meter_value: JsonNode<'_>) -> Option<Vec<MeterReading<'_>>> {
    let Kind::Array(items) = meter_value.kind() else { return None };
    items
        .map(|item| {
            let Kind::Object(members) = item.kind() else { return None };
            let (mut timestamp, mut sampled) = (None, None);
            for (key, value) in members {
                match key {
                    "timestamp" => timestamp = value.as_str(),
                    "sampledValue" => sampled = Some(value),
                    _ => {}
                }
            }
            let sampled = sampled?;
            let (energy_wh, power_w) = normalise(sampled);
            let mut sampled_value = Vec::with_capacity(256);
            sampled.write_json(&mut sampled_value);
            Some(MeterReading { timestamp: timestamp?, sampled_value, energy_wh, power_w })
        })
        .collect()
}

/// The energy (Wh) and power (W) of a sampledValue array, converted from their unit; None where
/// absent. Only phase-less (total) values count, so that a per-phase sample is never taken for the
/// total; a value that is not a finite number counts as absent. The last of several wins.
pub fn normalise(sampled: JsonNode<'_>) -> (Option<f64>, Option<f64>) {
    let (mut energy, mut power) = (None, None);
    let Kind::Array(values) = sampled.kind() else { return (None, None) };
    for value in values {
        let Some(sample) = Sample::of(value) else { continue };
        if sample.phased {
            continue;
        }
        let (total, scale) = match sample.measurand.unwrap_or(ENERGY) {
            ENERGY => (&mut energy, energy_scale(sample.unit.unwrap_or("Wh"))),
            POWER => (&mut power, power_scale(sample.unit.unwrap_or("W"))),
            _ => continue,
        };
        if let (Some(scale), Some(number)) = (scale, sample.value.and_then(number)) {
            *total = Some(number * scale);
        }
    }
    (energy, power)
}

/// The fields of a sampledValue that normalisation reads.
struct Sample<'a> {
    value: Option<&'a str>,
    measurand: Option<&'a str>,
    unit: Option<&'a str>,
    phased: bool,
}

impl<'a> Sample<'a> {
    fn of(node: JsonNode<'a>) -> Option<Self> {
        let Kind::Object(members) = node.kind() else { return None };
        let mut sample = Self { value: None, measurand: None, unit: None, phased: false };
        for (key, item) in members {
            match key {
                "value" => sample.value = item.as_str(),
                "measurand" => sample.measurand = item.as_str(),
                "unit" => sample.unit = item.as_str(),
                "phase" => sample.phased = true,
                _ => {}
            }
        }
        Some(sample)
    }
}

fn energy_scale(unit: &str) -> Option<f64> {
    match unit {
        "Wh" => Some(1.0),
        "kWh" => Some(1000.0),
        _ => None,
    }
}

fn power_scale(unit: &str) -> Option<f64> {
    match unit {
        "W" => Some(1.0),
        "kW" => Some(1000.0),
        _ => None,
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

fn integer(node: JsonNode<'_>) -> Option<i64> {
    match node.kind() {
        Kind::Int(n) => Some(n),
        Kind::UInt(n) => i64::try_from(n).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocppj::parse_strict;

    fn normalised(json: &str) -> (Option<f64>, Option<f64>) {
        normalise(parse_strict(json.as_bytes()).unwrap().root())
    }

    #[test]
    fn energy_and_power_are_normalised_from_their_unit() {
        let sampled = r#"[{"value": "12.5", "unit": "kWh"},
            {"value": "7.2", "unit": "kW", "measurand": "Power.Active.Import"},
            {"value": "2400", "unit": "W", "measurand": "Power.Active.Import", "phase": "L1"},
            {"value": "230", "unit": "V", "measurand": "Voltage"}]"#;
        assert_eq!(normalised(sampled), (Some(12_500.0), Some(7_200.0)));
        assert_eq!(normalised(r#"[{"value": " 15 "}]"#), (Some(15.0), None));
    }

    #[test]
    fn unusable_values_count_as_absent() {
        assert_eq!(normalised(r#"[{"value": "lots"}, {"value": "NaN"}, {"value": "inf"}]"#), (None, None));
        assert_eq!(normalised(r#"[{"value": "5", "unit": "Celsius"}]"#), (None, None));
        assert_eq!(normalised(r#"[{"value": "5", "measurand": "Power.Active.Import", "unit": "Wh"}]"#), (None, None));
        assert_eq!(normalised(r#"[{"value": 5}, 3, "x"]"#), (None, None));
        assert_eq!(normalised("{}"), (None, None));
    }

    #[test]
    fn a_meter_values_request_is_read_whole() {
        let payload = r#"{"connectorId": 2, "transactionId": 77, "meterValue": [
            {"timestamp": "2026-11-25T10:00:00Z", "sampledValue": [{"value": "1000"}, {"value": "1.5", "unit": "kW", "measurand": "Power.Active.Import"}]},
            {"timestamp": "2026-11-25T10:01:00Z", "sampledValue": [{"value": "1010"}]}]}"#;
        let tree = parse_strict(payload.as_bytes()).unwrap();
        let read = meter_values(tree.root()).unwrap();
        assert_eq!((read.connector_id, read.transaction_id, read.readings.len()), (2, Some(77), 2));
        let first = &read.readings[0];
        assert_eq!(
            (first.timestamp, first.energy_wh, first.power_w),
            ("2026-11-25T10:00:00Z", Some(1000.0), Some(1500.0))
        );
        assert_eq!(
            first.sampled_value,
            br#"[{"value":"1000"},{"value":"1.5","unit":"kW","measurand":"Power.Active.Import"}]"#
        );
        assert_eq!(read.readings[1].energy_wh, Some(1010.0));
        let no_transaction = parse_strict(br#"{"connectorId": 0, "meterValue": []}"#).unwrap();
        assert_eq!(meter_values(no_transaction.root()).unwrap().transaction_id, None);
        let wrong =
            parse_strict(br#"{"connectorId": 1, "meterValue": [{"timestamp": 5, "sampledValue": []}]}"#).unwrap();
        assert_eq!(meter_values(wrong.root()), None);
    }
}
