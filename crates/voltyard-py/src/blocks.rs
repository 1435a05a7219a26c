//! The store's block buffers of `voltyard._native`: message-log exchanges and meter readings.

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use voltyard_core::blocks::{
    self, Exchange, ExchangeBuffer, Reading, ReadingBuffer, Reply, SeriesKey, TakenExchanges, TakenReadings,
};

use voltyard_core::ocppj::datetime::clock_skewed;

use crate::errors::{CoreError, value_error};
use crate::ocppj::MeterValuesRead;

/// A message-log row: charger id, first and last opening time, count, actions, compressed data.
type BlockRow = (String, f64, f64, u32, String, Py<PyBytes>);

/// Exchanges buffered per charger until the store's next hand-over.
#[pyclass(module = "voltyard._native")]
pub struct MessageLogBuffer {
    buffer: ExchangeBuffer,
}

#[pymethods]
impl MessageLogBuffer {
    #[new]
    fn new() -> Self {
        Self { buffer: ExchangeBuffer::new() }
    }

    /// Records one exchange; the reply, when given, is stamped with the current time.
    #[pyo3(signature = (charger_id, direction, opened_at, frame, message_type, message_id, action, reply = None, reply_type = None))]
    #[allow(clippy::too_many_arguments)] // one flat call per message on the hot path
    fn append(
        &mut self,
        charger_id: &str,
        direction: &str,
        opened_at: f64,
        frame: &[u8],
        message_type: Option<i8>,
        message_id: Option<&str>,
        action: Option<&str>,
        reply: Option<&[u8]>,
        reply_type: Option<i8>,
    ) -> Result<(), CoreError> {
        let outgoing = match direction {
            "in" => false,
            "out" => true,
            _ => return Err(value_error(format!("direction is \"in\" or \"out\", not {direction:?}"))),
        };
        let reply = reply.map(|frame| Reply { message_type: reply_type.unwrap_or(-1), frame, at: now() });
        let exchange = Exchange {
            outgoing,
            opened: opened_at,
            message_type,
            message_id: message_id.unwrap_or(""),
            action: action.unwrap_or(""),
            frame,
            reply,
        };
        self.buffer.push(charger_id, &exchange);
        Ok(())
    }

    /// Records a charger's CALL answered by our CALLRESULT (the exchange nearly every message is),
    /// the reply stamped with the current time; returns the seconds from the CALL's arrival to its
    /// answer, for the handling-time metric.
    fn answered(
        &mut self,
        charger_id: &str,
        opened_at: f64,
        frame: &[u8],
        message_id: &str,
        action: &str,
        reply: &[u8],
    ) -> f64 {
        let at = now();
        let reply = Some(Reply { message_type: 3, frame: reply, at });
        let exchange =
            Exchange { outgoing: false, opened: opened_at, message_type: Some(2), message_id, action, frame, reply };
        self.buffer.push(charger_id, &exchange);
        at - opened_at
    }

    fn __len__(&self) -> usize {
        self.buffer.len()
    }

    /// Everything buffered, handed over for compression (in the writer thread) by `blocks`.
    fn take(&mut self) -> TakenBlocks {
        TakenBlocks { taken: Some(self.buffer.take()) }
    }
}

/// Exchanges taken from a `MessageLogBuffer`, not yet compressed.
#[pyclass(module = "voltyard._native")]
pub struct TakenBlocks {
    taken: Option<TakenExchanges>,
}

#[pymethods]
impl TakenBlocks {
    /// One compressed block per charger, as message-log rows; compression runs without the GIL.
    /// A second call returns nothing.
    fn blocks(&mut self, py: Python<'_>) -> Vec<BlockRow> {
        let Some(taken) = self.taken.take() else { return Vec::new() };
        let blocks = py.detach(move || taken.into_blocks());
        blocks
            .into_iter()
            .map(|b| (b.charger_id, b.first, b.last, b.count, b.actions, PyBytes::new(py, &b.data).unbind()))
            .collect()
    }
}

/// A meter block row: charger, connector, transaction, first and last timestamp, count, last energy
/// and power, compressed data.
type MeterBlockRow = (String, i64, Option<i64>, String, String, u32, Option<f64>, Option<f64>, Py<PyBytes>);

/// Meter readings buffered per series (charger, connector, transaction) until the next hand-over.
#[pyclass(module = "voltyard._native")]
pub struct MeterReadingBuffer {
    buffer: ReadingBuffer,
}

#[pymethods]
impl MeterReadingBuffer {
    #[new]
    fn new() -> Self {
        Self { buffer: ReadingBuffer::new() }
    }

    /// Records one reading of a series.
    #[pyo3(signature = (charger_id, connector_id, transaction_id, timestamp, sampled_value, energy_wh, power_w, received_at, clock_skew))]
    #[allow(clippy::too_many_arguments)] // one flat call per reading on the hot path
    fn append(
        &mut self,
        charger_id: &str,
        connector_id: i64,
        transaction_id: Option<i64>,
        timestamp: &str,
        sampled_value: &[u8],
        energy_wh: Option<f64>,
        power_w: Option<f64>,
        received_at: f64,
        clock_skew: bool,
    ) {
        let key = SeriesKey { charger_id, connector_id, transaction_id };
        let reading = Reading { timestamp, received_at, energy_wh, power_w, clock_skew, sampled_value };
        self.buffer.push(key, &reading);
    }

    /// Records every reading of a natively read `MeterValues`, each flagged when its timestamp
    /// shows a skewed clock (before 2000 or after `skew_limit`, Unix seconds).
    fn append_read(&mut self, charger_id: &str, read: &MeterValuesRead, received_at: f64, skew_limit: f64) {
        let key = SeriesKey { charger_id, connector_id: read.connector_id, transaction_id: read.transaction_id };
        for r in &read.readings {
            let reading = Reading {
                timestamp: &r.timestamp,
                received_at,
                energy_wh: r.energy_wh,
                power_w: r.power_w,
                clock_skew: clock_skewed(&r.timestamp, skew_limit),
                sampled_value: &r.sampled_value,
            };
            self.buffer.push(key, &reading);
        }
    }

    fn __len__(&self) -> usize {
        self.buffer.len()
    }

    /// Everything buffered, handed over for compression (in the writer thread) by `blocks`.
    fn take(&mut self) -> TakenMeterBlocks {
        TakenMeterBlocks { taken: Some(self.buffer.take()) }
    }
}

/// Readings taken from a `MeterReadingBuffer`, not yet compressed.
#[pyclass(module = "voltyard._native")]
pub struct TakenMeterBlocks {
    taken: Option<TakenReadings>,
}

#[pymethods]
impl TakenMeterBlocks {
    /// One compressed block per series, as `meter_blocks` rows; compression runs without the GIL.
    /// A second call returns nothing.
    fn blocks(&mut self, py: Python<'_>) -> Vec<MeterBlockRow> {
        let Some(taken) = self.taken.take() else { return Vec::new() };
        let blocks = py.detach(move || taken.into_blocks());
        blocks
            .into_iter()
            .map(|b| {
                let data = PyBytes::new(py, &b.data).unbind();
                let (first, last) = (b.first_timestamp, b.last_timestamp);
                (b.charger_id, b.connector_id, b.transaction_id, first, last, b.count, b.energy_wh, b.power_w, data)
            })
            .collect()
    }
}

/// A message-log exchange read back: outgoing, opened, message type, message id, action, frame, and the
/// reply's type, frame and time (None without a reply).
type ExchangeRow<'py> = (
    bool,
    f64,
    Option<i8>,
    Bound<'py, PyString>,
    Bound<'py, PyString>,
    Bound<'py, PyBytes>,
    Option<i8>,
    Option<Bound<'py, PyBytes>>,
    Option<f64>,
);

/// The exchanges of a message-log block's records (what `decompress_block` returns), oldest first.
#[pyfunction]
pub fn unpack_exchanges<'py>(py: Python<'py>, records: &[u8]) -> Result<Vec<ExchangeRow<'py>>, CoreError> {
    let exchanges = blocks::unpack_exchanges(records)?;
    Ok(exchanges
        .into_iter()
        .map(|e| {
            let reply = e.reply;
            (
                e.outgoing,
                e.opened,
                e.message_type,
                PyString::new(py, &e.message_id),
                PyString::new(py, &e.action),
                PyBytes::new(py, e.frame),
                reply.map(|r| r.message_type),
                reply.map(|r| PyBytes::new(py, r.frame)),
                reply.map(|r| r.at),
            )
        })
        .collect())
}

/// A meter reading read back: received at, energy (Wh) and power (W) or None, clock skew, timestamp and
/// the sampledValue JSON.
type ReadingRow<'py> = (f64, Option<f64>, Option<f64>, bool, Bound<'py, PyString>, Bound<'py, PyString>);

/// The readings of a meter block's records (what `decompress_block` returns), oldest first.
#[pyfunction]
pub fn unpack_readings<'py>(py: Python<'py>, records: &[u8]) -> Result<Vec<ReadingRow<'py>>, CoreError> {
    let readings = blocks::unpack_readings(records)?;
    Ok(readings
        .into_iter()
        .map(|r| {
            let (timestamp, sampled) = (PyString::new(py, &r.timestamp), PyString::new(py, &r.sampled_value));
            (r.received_at, r.energy_wh, r.power_w, r.clock_skew, timestamp, sampled)
        })
        .collect())
}

/// The packed records of a stored block (see `voltyard.store.message_log`).
#[pyfunction]
pub fn decompress_block(py: Python<'_>, block: &[u8]) -> Result<Py<PyBytes>, CoreError> {
    let raw = blocks::decompress(block)?;
    Ok(PyBytes::new(py, &raw).unbind())
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
