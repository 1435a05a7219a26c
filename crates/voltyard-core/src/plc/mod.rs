//! The PLC CAN contract of configs/plc.dbc: 29-bit IDs carrying the plcId ([`ids`]), one struct per
//! message ([`frames`]), and the codec between those structs and `(id, [u8; 8])` with the CRC-8 in
//! byte 7 ([`codec`]). The DBC is the source of truth; tests in Python cross-check every signal of
//! every message against cantools reading it.

pub mod codec;
pub mod error;
pub mod frames;
pub mod ids;
pub mod signal;

pub use codec::{decode, encode};
pub use error::PlcError;
pub use frames::*;
pub use ids::{Direction, MessageType, PLC_ID_MAX, arbitration_id, parse_id};
