//! Any arbitration ID and payload through the PLC frame decoder. Nothing may panic; a decoded frame
//! re-encodes to the same ID and decodes again to the same frame; a refusal names the frame's ID.
//! The first four input bytes are the ID, folded into the contract's 10-bit range most of the time
//! so that the layouts are reached; the rest is the payload, whose CRC is fixed up when the byte
//! after the ID says so (otherwise nearly every payload would stop at the CRC check).
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltyard_core::crc8::crc8;
use voltyard_core::plc::{PlcError, decode, encode};

fuzz_target!(|data: &[u8]| {
    let Some((id_bytes, rest)) = data.split_first_chunk::<4>() else { return };
    let raw_id = u32::from_le_bytes(*id_bytes);
    let id = if raw_id & 0x8000_0000 == 0 { raw_id & 0x3FF } else { raw_id & 0x1FFF_FFFF };
    let Some((&mode, payload)) = rest.split_first() else { return };
    let mut payload = payload.to_vec();
    if mode & 1 == 1 && payload.len() == 8 {
        payload[7] = crc8(&payload[..7]);
    }
    match decode(id, &payload) {
        Ok((plc_id, frame)) => {
            assert_eq!(plc_id, (id & 0xF) as u8);
            let (id2, data2) = encode(plc_id, &frame).expect("a decoded frame encodes");
            assert_eq!(id2, id);
            assert_eq!(decode(id2, &data2), Ok((plc_id, frame)));
        }
        Err(error) => {
            assert_eq!(error.id(), Some(id));
            assert!(!error.to_string().is_empty());
            if let PlcError::BadCrc { expected, found, .. } = error {
                assert_ne!(expected, found);
            }
        }
    }
});
