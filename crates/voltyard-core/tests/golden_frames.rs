//! The golden frames of tests/fixtures/frames, shared with pytest: every valid example (one per
//! OCPP 1.6 schema) decodes and validates; every invalid frame maps to its CALLERROR code and
//! message id.
//!
//! The schemas are the `ocpp` package's, found through `VOLTYARD_OCPP_SCHEMAS`. Without it these
//! tests say so and pass, unless `VOLTYARD_REQUIRE_SCHEMAS=1` (as in CI), where they fail.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use voltyard_core::ocppj::{Frame, SchemaSet, decode};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/frames")
}

fn schemas() -> Option<SchemaSet> {
    if let Some(dir) = std::env::var_os("VOLTYARD_OCPP_SCHEMAS") {
        return Some(SchemaSet::load_dir(Path::new(&dir)).expect("VOLTYARD_OCPP_SCHEMAS loads"));
    }
    assert!(
        std::env::var_os("VOLTYARD_REQUIRE_SCHEMAS").is_none(),
        "VOLTYARD_OCPP_SCHEMAS must name the ocpp package's v16/schemas directory"
    );
    eprintln!("skipped: VOLTYARD_OCPP_SCHEMAS is not set");
    None
}

#[test]
fn every_valid_example_decodes_and_validates() {
    let Some(schemas) = schemas() else { return };
    let mut names = Vec::new();
    for entry in fs::read_dir(fixtures().join("valid")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let text = fs::read(&path).unwrap();
        let answers = name.strip_suffix("Response");
        let frame = decode(&text, &schemas, answers).unwrap_or_else(|e| panic!("{name}: {e}"));
        match (&frame, answers) {
            (Frame::Call { action, .. }, None) => assert_eq!(action.as_ref(), name),
            (Frame::CallResult { .. }, Some(_)) => {}
            _ => panic!("{name}: unexpected frame {frame:?}"),
        }
        names.push(name);
    }
    let mut expected: Vec<String> =
        schemas.actions().into_iter().flat_map(|a| [a.to_owned(), format!("{a}Response")]).collect();
    expected.sort();
    names.sort();
    assert_eq!(names.len(), 78);
    assert_eq!(names, expected);
}

#[test]
fn every_invalid_frame_maps_to_its_error() {
    let Some(schemas) = schemas() else { return };
    let table: Vec<Value> = serde_json::from_slice(&fs::read(fixtures().join("invalid.json")).unwrap()).unwrap();
    assert!(table.len() >= 40);
    for case in &table {
        let name = case["name"].as_str().unwrap();
        let text = match (&case["frame"], &case["frame_hex"]) {
            (Value::String(text), _) => text.clone().into_bytes(),
            (_, Value::String(hex)) => from_hex(hex),
            _ => panic!("{name}: no frame"),
        };
        let error = decode(&text, &schemas, case["answers"].as_str()).expect_err(name);
        assert_eq!(error.code.as_str(), case["code"].as_str().unwrap(), "{name}: {error}");
        assert_eq!(error.message_id.as_deref(), case["message_id"].as_str(), "{name}: {error}");
        assert_eq!(error.action.as_deref(), case["action"].as_str(), "{name}: {error}");
        assert!(!error.description.is_empty() && error.description.len() < 400, "{name}: {error}");
    }
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn one_decimal_limits_pass_multiple_of_one_tenth() {
    // Binary floats make 0.3 / 0.1 inexact; the spec's one-decimal limits must still pass.
    let Some(schemas) = schemas() else { return };
    for limit in ["0.3", "0.7", "2.3", "21.4", "7.7", "16", "3680.1", "1e2"] {
        let frame = format!(
            r#"[2,"p","SetChargingProfile",{{"connectorId":1,"csChargingProfiles":{{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Absolute","chargingSchedule":{{"chargingRateUnit":"A","chargingSchedulePeriod":[{{"startPeriod":0,"limit":{limit}}}]}}}}}}]"#
        );
        decode(frame.as_bytes(), &schemas, None).unwrap_or_else(|e| panic!("limit {limit}: {e}"));
    }
}
