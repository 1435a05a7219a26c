//! CRC-8 of the PLC CAN contract for Python.

use pyo3::prelude::*;
use voltyard_core::crc8 as core_crc;

use crate::errors::{CoreError, can_payload_error};

fn can_payload(payload: &[u8]) -> Result<[u8; core_crc::CAN_PAYLOAD_LEN], CoreError> {
    payload.try_into().map_err(|_| can_payload_error(payload.len()))
}

#[pyfunction]
pub fn crc8(data: &[u8]) -> u8 {
    core_crc::crc8(data)
}

#[pyfunction]
pub fn fill_can_crc(payload: &[u8]) -> Result<Vec<u8>, CoreError> {
    let mut payload = can_payload(payload)?;
    core_crc::fill_can_crc(&mut payload);
    Ok(payload.to_vec())
}

#[pyfunction]
pub fn check_can_crc(payload: &[u8]) -> Result<bool, CoreError> {
    Ok(core_crc::can_crc_ok(&can_payload(payload)?))
}
