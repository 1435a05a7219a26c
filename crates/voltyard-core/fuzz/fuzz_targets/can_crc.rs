//! Any 8-byte payload through the CAN CRC check; filling then checking always agrees, and any
//! change to one byte of a filled payload is detected.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltyard_core::crc8::{can_crc_ok, crc8, fill_can_crc};

fuzz_target!(|data: &[u8]| {
    let _ = crc8(data);
    let Some((head, tail)) = data.split_first_chunk::<8>() else { return };
    let ok = can_crc_ok(head);
    let mut filled = *head;
    let crc = fill_can_crc(&mut filled);
    assert_eq!(ok, crc == head[7]);
    assert!(can_crc_ok(&filled));
    if let Some(&flip) = tail.first() {
        let index = usize::from(flip % 7);
        let mask = tail.get(1).copied().unwrap_or(1).max(1);
        filled[index] ^= mask;
        assert!(!can_crc_ok(&filled));
    }
});
