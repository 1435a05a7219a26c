//! CRC-8 as the PLC CAN contract uses it: polynomial 0x07, init 0x00, no reflection, xorout 0x00
//! (CRC-8/SMBUS, check value 0xF4 over `"123456789"`). The PLC frames carry it in byte 7, computed
//! over bytes 0-6.

/// Byte-wise lookup table, computed at compile time from the polynomial.
const TABLE: [u8; 256] = build_table(0x07);

const fn build_table(poly: u8) -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        #[allow(clippy::cast_possible_truncation)]
        let mut crc = i as u8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x80 != 0 { (crc << 1) ^ poly } else { crc << 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// Length of a classic CAN payload that carries a CRC in its last byte.
pub const CAN_PAYLOAD_LEN: usize = 8;
/// Index of the CRC byte in a CAN payload.
pub const CRC_INDEX: usize = CAN_PAYLOAD_LEN - 1;

/// CRC-8 of `data`.
#[must_use]
pub fn crc8(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |crc, &byte| TABLE[usize::from(crc ^ byte)])
}

/// Writes the CRC of bytes 0-6 into byte 7 and returns it.
pub fn fill_can_crc(payload: &mut [u8; CAN_PAYLOAD_LEN]) -> u8 {
    let crc = crc8(&payload[..CRC_INDEX]);
    payload[CRC_INDEX] = crc;
    crc
}

/// Whether byte 7 holds the CRC of bytes 0-6.
#[must_use]
pub fn can_crc_ok(payload: &[u8; CAN_PAYLOAD_LEN]) -> bool {
    crc8(&payload[..CRC_INDEX]) == payload[CRC_INDEX]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bit-by-bit reference, independent of the table.
    fn crc8_bitwise(data: &[u8]) -> u8 {
        let mut crc = 0u8;
        for &byte in data {
            crc ^= byte;
            for _ in 0..8 {
                crc = if crc & 0x80 != 0 { (crc << 1) ^ 0x07 } else { crc << 1 };
            }
        }
        crc
    }

    #[test]
    fn check_value() {
        assert_eq!(crc8(b"123456789"), 0xF4);
    }

    #[test]
    fn empty_input_is_init() {
        assert_eq!(crc8(&[]), 0x00);
    }

    #[test]
    fn fill_then_check() {
        let mut payload = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x00];
        let crc = fill_can_crc(&mut payload);
        assert_eq!(crc, crc8(&[1, 2, 3, 4, 5, 6, 7]));
        assert!(can_crc_ok(&payload));
        payload[3] ^= 0x10;
        assert!(!can_crc_ok(&payload));
    }

    proptest! {
        #[test]
        fn table_matches_bitwise(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(crc8(&data), crc8_bitwise(&data));
        }

        #[test]
        fn any_single_bit_flip_is_detected(mut payload in any::<[u8; 8]>(), bit in 0usize..64) {
            fill_can_crc(&mut payload);
            payload[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!can_crc_ok(&payload));
        }
    }
}
