//! What can be wrong with a PLC frame, each variant naming the frame (its ID) and the field.

use std::fmt;

/// A PLC frame that cannot be decoded, or a frame whose values cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlcError {
    /// The ID is not one of the contract's (outside the layout, or a free type nibble).
    UnknownId { id: u32 },
    /// Every message of the contract is 8 bytes long.
    BadLength { id: u32, len: usize },
    /// Byte 7 is not the CRC-8 of bytes 0-6.
    BadCrc { id: u32, expected: u8, found: u8 },
    /// A multiplexed message with a multiplexer value the contract does not define.
    BadMux { id: u32, mux: u8 },
    /// A signal value that does not fit its bits.
    OutOfRange { message: &'static str, signal: &'static str, value: i64, min: i64, max: i64 },
    /// A plcId above 15.
    BadPlcId { plc_id: u8 },
}

impl PlcError {
    /// The arbitration ID of the frame, when the error is about a received frame.
    #[must_use]
    pub fn id(&self) -> Option<u32> {
        match *self {
            Self::UnknownId { id } | Self::BadLength { id, .. } | Self::BadCrc { id, .. } | Self::BadMux { id, .. } => {
                Some(id)
            }
            Self::OutOfRange { .. } | Self::BadPlcId { .. } => None,
        }
    }
}

impl fmt::Display for PlcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownId { id } => write!(f, "CAN id {id:#x}: not a message of the PLC contract"),
            Self::BadLength { id, len } => write!(f, "CAN id {id:#x}: payload of {len} bytes, the contract's are 8"),
            Self::BadCrc { id, expected, found } => {
                write!(f, "CAN id {id:#x}: bad CRC: byte 7 is {found:#04x}, CRC-8 of bytes 0-6 is {expected:#04x}")
            }
            Self::BadMux { id, mux } => write!(f, "CAN id {id:#x}: multiplexer value {mux} is not defined"),
            Self::OutOfRange { message, signal, value, min, max } => {
                write!(f, "{message}.{signal}: {value} is out of range [{min}, {max}]")
            }
            Self::BadPlcId { plc_id } => write!(f, "plcId {plc_id} is out of range [0, 15]"),
        }
    }
}

impl std::error::Error for PlcError {}
