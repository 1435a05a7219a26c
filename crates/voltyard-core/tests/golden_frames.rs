//! The golden frames of tests/fixtures/frames, shared with pytest: every valid example (one per
//! schema of OCPP 1.6 in `valid/`, of 2.0.1 in `v201/valid/`, of 2.1 in `v21/valid/`) decodes
//! and validates; every invalid frame of each version's table maps to its CALLERROR code (in the
//! version's spelling) and message id.
//!
//! The schemas are the `ocpp` package's, found through `VOLTYARD_OCPP_SCHEMAS` (its `v16/schemas`;
//! the 2.x ones are its siblings `v201/schemas` and `v21/schemas`). Without it these tests say so
//! and pass, unless `VOLTYARD_REQUIRE_SCHEMAS=1` (as in CI), where they fail.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use voltyard_core::ocppj::{ErrorCode, Frame, SchemaSet, Version, decode};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/frames")
}

/// Where a version's fixtures are: 1.6 at the top (as before 2.x), the others in their folder.
fn fixtures_of(version: Version) -> PathBuf {
    match version {
        Version::V16 => fixtures(),
        Version::V201 => fixtures().join("v201"),
        Version::V21 => fixtures().join("v21"),
    }
}

fn schemas() -> Option<SchemaSet> {
    schemas_of(Version::V16)
}

fn schemas_of(version: Version) -> Option<SchemaSet> {
    if let Some(dir) = std::env::var_os("VOLTYARD_OCPP_SCHEMAS") {
        let v16 = PathBuf::from(dir);
        let dir = match version {
            Version::V16 => v16,
            Version::V201 => v16.join("../../v201/schemas"),
            Version::V21 => v16.join("../../v21/schemas"),
        };
        return Some(SchemaSet::load(&dir, version).unwrap_or_else(|e| panic!("{version} schemas load: {e}")));
    }
    assert!(
        std::env::var_os("VOLTYARD_REQUIRE_SCHEMAS").is_none(),
        "VOLTYARD_OCPP_SCHEMAS must name the ocpp package's v16/schemas directory"
    );
    eprintln!("skipped: VOLTYARD_OCPP_SCHEMAS is not set");
    None
}

/// Every valid example of `version` decodes, and the examples are one per schema file: the
/// request (1.6 `<Action>`, 2.x `<Action>Request`), the response, and 2.1's SEND-only messages.
fn valid_examples_decode(version: Version, schema_files: usize) {
    let Some(schemas) = schemas_of(version) else { return };
    let mut names = Vec::new();
    for entry in fs::read_dir(fixtures_of(version).join("valid")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let text = fs::read(&path).unwrap();
        let answers = name.strip_suffix("Response");
        let frame = decode(&text, &schemas, answers).unwrap_or_else(|e| panic!("{version} {name}: {e}"));
        let request = if version == Version::V16 { name.clone() } else { format!("{}Request", frame_action(&frame)) };
        match (&frame, answers) {
            (Frame::Call { .. }, None) => assert_eq!(request, name),
            (Frame::Send { action, .. }, None) => {
                assert!(schemas.is_send_only(action));
                assert_eq!(action.as_ref(), name);
            }
            (Frame::CallResult { .. }, Some(_)) => {}
            _ => panic!("{version} {name}: unexpected frame {frame:?}"),
        }
        names.push(name);
    }
    let request_suffix = if version == Version::V16 { "" } else { "Request" };
    let mut expected: Vec<String> = schemas
        .actions()
        .into_iter()
        .flat_map(|a| {
            if schemas.is_send_only(a) {
                vec![a.to_owned()]
            } else {
                vec![format!("{a}{request_suffix}"), format!("{a}Response")]
            }
        })
        .collect();
    expected.sort();
    names.sort();
    assert_eq!(names.len(), schema_files, "{version}");
    assert_eq!(names, expected, "{version}");
}

fn frame_action<'a>(frame: &'a Frame<'_>) -> &'a str {
    match frame {
        Frame::Call { action, .. } | Frame::Send { action, .. } => action,
        _ => "",
    }
}

#[test]
fn every_valid_example_decodes_and_validates() {
    valid_examples_decode(Version::V16, 78);
}

#[test]
fn every_valid_201_example_decodes_and_validates() {
    valid_examples_decode(Version::V201, 128);
}

#[test]
fn every_valid_21_example_decodes_and_validates() {
    valid_examples_decode(Version::V21, 181);
}

#[test]
fn every_invalid_frame_maps_to_its_error() {
    invalid_frames_map_to_their_errors(Version::V16);
}

#[test]
fn every_invalid_201_frame_maps_to_its_error() {
    invalid_frames_map_to_their_errors(Version::V201);
}

#[test]
fn every_invalid_21_frame_maps_to_its_error() {
    invalid_frames_map_to_their_errors(Version::V21);
}

fn invalid_frames_map_to_their_errors(version: Version) {
    let Some(schemas) = schemas_of(version) else { return };
    let path = fixtures_of(version).join("invalid.json");
    let table: Vec<Value> = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    assert!(table.len() >= 40);
    for case in &table {
        let name = &format!("{version} {}", case["name"].as_str().unwrap());
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
        assert!(ErrorCode::of(version).contains(&error.code), "{name}: {error} is not a code of {version}");
        if let Some(message_type) = case.get("message_type").and_then(Value::as_u64) {
            assert_eq!(error.message_type.map(|t| t as u64), Some(message_type), "{name}: {error}");
        }
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
