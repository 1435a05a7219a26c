// The promises the OCPP-J decoder keeps for any bytes, in every version. Included (`include!`) by
// the libFuzzer target fuzz_targets/decode_frame.rs and by the mutation run of
// tests/decode_mutations.rs, so that both check the same contract.

use voltyard_core::ocppj::{
    ErrorCode, Frame, Kind, SchemaSet, Version, decode, encode_call, encode_call_result, encode_send,
    is_valid_message_id, meter,
};

/// The actions a CALLRESULT is checked against (none, then two with rich responses) per version.
fn answered(version: Version) -> [Option<&'static str>; 3] {
    match version {
        Version::V16 => [None, Some("MeterValues"), Some("GetConfiguration")],
        Version::V201 | Version::V21 => [None, Some("TransactionEvent"), Some("GetVariables")],
    }
}

/// The schemas of the three versions: `VOLTYARD_OCPP_SCHEMAS` names the `ocpp` package's
/// `v16/schemas`, and 2.0.1's and 2.1's are its siblings. `VOLTYARD_OCPP_VERSION` (1.6, 2.0.1 or
/// 2.1) keeps one version only, for a run per version.
fn load_schema_sets() -> Vec<SchemaSet> {
    let v16 = std::path::PathBuf::from(
        std::env::var_os("VOLTYARD_OCPP_SCHEMAS").expect("set VOLTYARD_OCPP_SCHEMAS to ocpp/v16/schemas"),
    );
    let only = std::env::var("VOLTYARD_OCPP_VERSION").ok();
    Version::ALL
        .into_iter()
        .filter(|v| only.as_deref().is_none_or(|only| only == v.as_str()))
        .map(|version| {
            let dir = match version {
                Version::V16 => v16.clone(),
                Version::V201 => v16.join("../../v201/schemas"),
                Version::V21 => v16.join("../../v21/schemas"),
            };
            SchemaSet::load(&dir, version).unwrap_or_else(|e| panic!("OCPP {version} schemas load: {e}"))
        })
        .collect()
}

/// Decodes `data` with `schemas` as a CALL, SEND or CALLRESULT: never a panic; what decodes is of
/// the version, re-encodes and decodes to the same frame; a refusal names a code of the version.
fn check_decode(data: &[u8], schemas: &SchemaSet) {
    let version = schemas.version();
    for answers in answered(version) {
        match decode(data, schemas, answers) {
            Ok(frame) => {
                assert!(is_valid_message_id(frame.message_id()));
                assert!(version.supports(frame.message_type()), "{version}: {frame:?}");
                if let Frame::Call { action, payload, .. } | Frame::Send { action, payload, .. } = &frame {
                    let mut written = Vec::new();
                    payload.node().write_json(&mut written);
                    assert_eq!(written, serde_json::to_vec(&payload.node()).expect("serialises"));
                    let _ = meter::normalise(payload.node());
                    if version == Version::V16 && action == "MeterValues" && meter::meter_values(payload.node()).is_none()
                    {
                        // The one valid payload without a reading: a connectorId past i64 (the
                        // schema bounds none).
                        let Kind::Object(mut members) = payload.node().kind() else { panic!("not an object") };
                        let connector = members.find(|(key, _)| *key == "connectorId").map(|(_, v)| v.kind());
                        assert!(matches!(connector, Some(Kind::UInt(n)) if i64::try_from(n).is_err()));
                    }
                }
                // What decodes re-encodes and decodes to the same frame.
                let again = match &frame {
                    Frame::Call { message_id, action, payload } => encode_call(message_id, action, payload.node()),
                    Frame::Send { message_id, action, payload } => encode_send(message_id, action, payload.node()),
                    Frame::CallResult { message_id, payload } if payload.node().is_object() => {
                        encode_call_result(message_id, payload.node())
                    }
                    _ => continue,
                }
                .expect("a decoded frame encodes");
                assert_eq!(decode(&again, schemas, answers).expect("re-decodes"), frame);
            }
            Err(error) => {
                assert!(!error.description.is_empty());
                assert!(ErrorCode::of(version).contains(&error.code), "{version}: {error}");
                if let Some(id) = &error.message_id {
                    assert!(is_valid_message_id(id));
                }
                if let Some(message_type) = error.message_type {
                    assert!(version.supports(message_type), "{version}: {error}");
                }
            }
        }
    }
}
