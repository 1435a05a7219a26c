//! Any bytes through the OCPP-J decoder, with the real OCPP 1.6, 2.0.1 and 2.1 schemas
//! (`VOLTYARD_OCPP_SCHEMAS`; `VOLTYARD_OCPP_VERSION` keeps one version), as a CALL, SEND and as a
//! CALLRESULT answering an action: never a panic, and every error keeps the decoder's promises
//! (decode_checks.rs, shared with the mutation run of tests/decode_mutations.rs). A 1.6
//! MeterValues CALL that passed its schema is readable as meter readings unless its connectorId is
//! past i64; normalising any payload as sampled values never panics; the compact JSON writer
//! writes what serde_json writes.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

include!("../decode_checks.rs");

static SCHEMAS: LazyLock<Vec<SchemaSet>> = LazyLock::new(load_schema_sets);

fuzz_target!(|data: &[u8]| {
    for schemas in SCHEMAS.iter() {
        check_decode(data, schemas);
    }
});
