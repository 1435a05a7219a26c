//! Voltyard's core, in pure Rust: the OCPP-J 1.6 frame codec with schema validation, the CRC-8
//! and the frame codec of the PLC CAN contract. It knows nothing of Python: `voltyard-py` wraps it.
#![forbid(unsafe_code)]

pub mod crc8;
pub mod ocppj;
pub mod plc;
