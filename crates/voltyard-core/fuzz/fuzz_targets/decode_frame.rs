//! Any bytes through the OCPP-J decoder, with the real OCPP 1.6 schemas (`VOLTYARD_OCPP_SCHEMAS`),
//! both as a CALL and as a CALLRESULT answering an action: never a panic, and every error keeps
//! the decoder's promises. A MeterValues CALL that passed its schema is readable as meter readings
//! unless its connectorId is past i64; normalising any payload as sampled values never panics; the
//! compact JSON writer writes what serde_json writes.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use voltyard_core::ocppj::{
    Frame, Kind, SchemaSet, decode, encode_call, encode_call_result, is_valid_message_id, meter,
};

static SCHEMAS: LazyLock<SchemaSet> = LazyLock::new(|| {
    let dir = std::env::var_os("VOLTYARD_OCPP_SCHEMAS").expect("set VOLTYARD_OCPP_SCHEMAS to ocpp/v16/schemas");
    SchemaSet::load_dir(std::path::Path::new(&dir)).expect("schemas load")
});

fuzz_target!(|data: &[u8]| {
    for answers in [None, Some("MeterValues"), Some("GetConfiguration")] {
        match decode(data, &SCHEMAS, answers) {
            Ok(frame) => {
                assert!(is_valid_message_id(frame.message_id()));
                if let Frame::Call { action, payload, .. } = &frame {
                    let mut written = Vec::new();
                    payload.node().write_json(&mut written);
                    assert_eq!(written, serde_json::to_vec(&payload.node()).expect("serialises"));
                    let _ = meter::normalise(payload.node());
                    if action == "MeterValues" && meter::meter_values(payload.node()).is_none() {
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
                    Frame::CallResult { message_id, payload } if payload.node().is_object() => {
                        encode_call_result(message_id, payload.node())
                    }
                    _ => continue,
                }
                .expect("a decoded frame encodes");
                assert_eq!(decode(&again, &SCHEMAS, answers).expect("re-decodes"), frame);
            }
            Err(error) => {
                assert!(!error.description.is_empty());
                if let Some(id) = &error.message_id {
                    assert!(is_valid_message_id(id));
                }
            }
        }
    }
});
