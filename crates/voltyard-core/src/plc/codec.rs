//! Typed frames to and from `(arbitration id, [u8; 8])`. Encoding packs the signals of bytes 0-6
//! and writes the CRC-8 into byte 7; decoding checks, in this order, that the ID is the contract's,
//! that the payload is 8 bytes, the CRC, and the multiplexer. Received frames are trusted for
//! nothing else: values are raw and every bit pattern of a signal is a value.

use super::error::PlcError;
use super::frames::PlcFrame;
use super::ids::{PLC_ID_MAX, arbitration_id, parse_id};
use crate::crc8::{CAN_PAYLOAD_LEN, CRC_INDEX, crc8};

/// The plcId and frame that `data`, received with arbitration ID `id`, carries.
#[inline]
pub fn decode(id: u32, data: &[u8]) -> Result<(u8, PlcFrame), PlcError> {
    let Some((message_type, plc_id)) = parse_id(id) else { return Err(PlcError::UnknownId { id }) };
    let payload: &[u8; CAN_PAYLOAD_LEN] = data.try_into().map_err(|_| PlcError::BadLength { id, len: data.len() })?;
    let expected = crc8(&payload[..CRC_INDEX]);
    if payload[CRC_INDEX] != expected {
        return Err(PlcError::BadCrc { id, expected, found: payload[CRC_INDEX] });
    }
    match PlcFrame::unpack(message_type, u64::from_le_bytes(*payload)) {
        Ok(Some(frame)) => Ok((plc_id, frame)),
        Ok(None) => Err(PlcError::UnknownId { id }),
        Err(mux) => Err(PlcError::BadMux { id, mux }),
    }
}

/// The arbitration ID and payload (CRC in byte 7) of `frame` for PLC `plc_id`.
pub fn encode(plc_id: u8, frame: &PlcFrame) -> Result<(u32, [u8; CAN_PAYLOAD_LEN]), PlcError> {
    if plc_id > PLC_ID_MAX {
        return Err(PlcError::BadPlcId { plc_id });
    }
    let mut payload = frame.pack()?.to_le_bytes();
    payload[CRC_INDEX] = crc8(&payload[..CRC_INDEX]);
    Ok((arbitration_id(frame.message_type(), plc_id), payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crc8::can_crc_ok;
    use crate::plc::frames::*;
    use crate::plc::ids::{Direction, MessageType};
    use proptest::prelude::*;

    #[test]
    fn relay_control_bytes() {
        let frame =
            RelayControl { rly1_cmd: true, sys_enable: true, cmd_seq: 5, rly_enable_mask: 1, ..Default::default() };
        let (id, data) = encode(3, &frame.into()).unwrap();
        assert_eq!(id, 0x343);
        assert_eq!(data[..7], [0x03, 0x05, 0x01, 0, 0, 0, 0]);
        assert!(can_crc_ok(&data));
        assert_eq!(decode(id, &data), Ok((3, frame.into())));
    }

    #[test]
    fn meter_mux_selects_the_layout() {
        let totals = MeterTotals { meter_ok: true, import_energy_0p1kwh: 123_456, ..Default::default() };
        let (id, data) = encode(0, &totals.into()).unwrap();
        assert_eq!((id, data[0] & 0b11), (0x170, 1));
        assert_eq!(decode(id, &data).unwrap().1, PlcFrame::MeterTotals(totals));
        let instant = MeterInstant { current_0p01a: -65_536, voltage_0p1v: 8000, ..Default::default() };
        let (_, data) = encode(0, &instant.into()).unwrap();
        assert_eq!(data[0] & 0b11, 0);
        assert_eq!(decode(0x170, &data).unwrap().1, PlcFrame::MeterInstant(instant));
    }

    #[test]
    fn undefined_mux_is_refused() {
        let mut data = [0x02, 0, 0, 0, 0, 0, 0, 0];
        data[7] = crc8(&data[..7]);
        assert_eq!(decode(0x171, &data), Err(PlcError::BadMux { id: 0x171, mux: 2 }));
    }

    #[test]
    fn bad_crc_is_refused_with_both_values() {
        let (id, mut data) = encode(1, &RelayStatus::default().into()).unwrap();
        let expected = data[7];
        data[7] ^= 0xFF;
        assert_eq!(decode(id, &data), Err(PlcError::BadCrc { id, expected, found: expected ^ 0xFF }));
    }

    #[test]
    fn wrong_length_and_unknown_ids() {
        assert_eq!(decode(0x161, &[0; 7]), Err(PlcError::BadLength { id: 0x161, len: 7 }));
        let mut zeros = [0u8; 8];
        zeros[7] = crc8(&zeros[..7]);
        // 0x100 (type 0) and 0x350 (host type 5) are free nibbles; 0x561 is outside the layout.
        for id in [0x100, 0x350, 0x561] {
            assert_eq!(decode(id, &zeros), Err(PlcError::UnknownId { id }));
        }
    }

    #[test]
    fn out_of_range_names_message_and_signal() {
        let frame = ChargeInfo { cp_state: 16, ..Default::default() };
        let err = encode(0, &frame.into()).unwrap_err();
        assert_eq!(err, PlcError::OutOfRange { message: "ChargeInfo", signal: "cp_state", value: 16, min: 0, max: 15 });
        assert_eq!(err.to_string(), "ChargeInfo.cp_state: 16 is out of range [0, 15]");
        assert_eq!(encode(16, &ChargeInfo::default().into()), Err(PlcError::BadPlcId { plc_id: 16 }));
    }

    #[test]
    fn layouts_fit_bytes_0_to_6_without_overlap() {
        let mut ids = std::collections::HashSet::new();
        for (name, ty, mux, signals) in PlcFrame::LAYOUTS {
            assert!(ids.insert((*ty, *mux)), "{name}: duplicate type");
            let mut used: u64 = if mux.is_some() { 0b11 } else { 0 };
            for s in *signals {
                assert!(s.len >= 1 && s.start + s.len <= 56, "{name}.{}: outside bytes 0-6", s.name);
                let bits = ((1u64 << s.len) - 1) << s.start;
                assert_eq!(used & bits, 0, "{name}.{}: overlaps", s.name);
                used |= bits;
            }
        }
        assert_eq!(PlcFrame::LAYOUTS.len(), 15);
        let types: std::collections::HashSet<MessageType> = PlcFrame::LAYOUTS.iter().map(|l| l.1).collect();
        assert!(types.contains(&MessageType::new(Direction::ToPlc, 0x4)));
    }

    /// A random frame of every layout: each signal a random value of its range.
    fn any_frame() -> impl Strategy<Value = PlcFrame> {
        // Any 56-bit word decodes to a frame of each layout whose every signal is in range; the mux
        // bits are set by the layout itself.
        (0..PlcFrame::LAYOUTS.len(), any::<u64>()).prop_map(|(index, word)| {
            let (_, ty, mux, _) = PlcFrame::LAYOUTS[index];
            let word = (word & ((1u64 << 56) - 1) & !0b11) | u64::from(mux.unwrap_or(0));
            PlcFrame::unpack(ty, word).unwrap().unwrap()
        })
    }

    proptest! {
        #[test]
        fn every_message_round_trips(frame in any_frame(), plc_id in 0u8..=15) {
            let (id, data) = encode(plc_id, &frame)?;
            prop_assert!(can_crc_ok(&data));
            prop_assert_eq!(decode(id, &data)?, (plc_id, frame));
        }

        #[test]
        fn decode_never_panics_and_reencodes(
            id in 0u32..0x400, mut data in proptest::collection::vec(any::<u8>(), 0..10), fix_crc: bool,
        ) {
            // Half the 8-byte payloads get a good CRC, so that the layouts are reached.
            if fix_crc && data.len() == CAN_PAYLOAD_LEN {
                data[CRC_INDEX] = crc8(&data[..CRC_INDEX]);
            }
            if let Ok((plc_id, frame)) = decode(id, &data) {
                let (id2, data2) = encode(plc_id, &frame)?;
                prop_assert_eq!(id2, id);
                // Reserved bits are dropped on the way: the re-encoded frame decodes to the same.
                prop_assert_eq!(decode(id2, &data2)?, (plc_id, frame));
            }
        }
    }
}
