//! Any bytes as a stored message-log block: decompressing returns an error or at most
//! `MAX_BLOCK_BYTES`, never panics; any bytes packed as records and compressed come back whole;
//! and any bytes read as records (of the message log or of meter readings) give records or an
//! error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltyard_core::blocks::{MAX_BLOCK_BYTES, compress, decompress, unpack_exchanges, unpack_readings};

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = decompress(data) {
        assert!(raw.len() <= MAX_BLOCK_BYTES);
    }
    assert_eq!(decompress(&compress(data)).as_deref(), Ok(data));
    let _ = unpack_exchanges(data);
    let _ = unpack_readings(data);
});
