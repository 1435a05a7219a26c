//! Voltyard's core, in pure Rust: the OCPP-J 1.6 frame codec with schema validation, the CRC-8
//! of the PLC CAN contract, the PLC frame codec, the 100 ms module planner, the store's
//! compressed log blocks and the token bucket of admission control. It knows nothing of Python:
//! `voltyard-py` wraps it.
#![forbid(unsafe_code)]

pub mod blocks;
pub mod crc8;
pub mod ocppj;
pub mod planner;
pub mod plc;
pub mod rate;
