//! `voltyard._native`: voltyard-core for Python. This crate converts types and maps errors; the
//! logic lives in voltyard-core.

mod blocks;
mod convert;
mod crc;
mod errors;
mod ocppj;
mod planner;
mod plc;
mod rate;
mod vocabulary;

use pyo3::prelude::*;

#[pymodule]
mod _native {
    #[pymodule_export]
    use super::blocks::{
        MessageLogBuffer, MeterReadingBuffer, TakenBlocks, TakenMeterBlocks, decompress_block, unpack_exchanges,
        unpack_readings,
    };
    #[pymodule_export]
    use super::crc::{check_can_crc, crc8, fill_can_crc};
    #[pymodule_export]
    use super::ocppj::{
        Call, CallError, CallResult, CallResultError, MeterValuesRead, OcppCodec, SendFrame, clock_skewed_py,
        encode_call, encode_call_error, encode_call_result, encode_call_result_error, encode_send,
        normalise_sampled_values, read_meter_values,
    };
    #[pymodule_export]
    use super::planner::{GunPlan, Plan, SlotTargets, Step, plan};
    #[pymodule_export]
    use super::plc::{
        ChargeInfo, ConfigAck, ConfigCmd, EvIdentity, EvdcLimits, EvdcTargets, GcmcCommand, GcmcStatus, GunTemperature,
        MeterInstant, MeterTotals, ModuleStatus, RelayControl, RelayStatus, SafetySwitchStatus, decode_plc_frame,
    };
    #[pymodule_export]
    use super::rate::TokenBucket;
}
