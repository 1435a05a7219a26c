//! Voltyard's core, in pure Rust: the OCPP-J 1.6 frame codec with schema validation, the CRC-8
//! of the PLC CAN contract, the PLC frame codec and the 100 ms module planner. It knows nothing of Python:
//! `voltyard-py` wraps it.
#![forbid(unsafe_code)]

pub mod crc8;
pub mod ocppj;
pub mod planner;
pub mod plc;
