//! `OcppCodec`, the frame classes and the frame writers of `voltyard._native`.

use std::path::PathBuf;

use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyString};
use voltyard_core::ocppj::{self, Direction, ErrorCode, Frame, JsonTree, SchemaSet, Version, meter};

use crate::convert::{from_python, to_python};
use crate::errors::{CoreError, value_error};
use crate::vocabulary::Vocabulary;

/// A CALL: `[2, message_id, action, payload]`.
#[pyclass(frozen, module = "voltyard._native")]
pub struct Call {
    #[pyo3(get)]
    message_id: Py<PyString>,
    #[pyo3(get)]
    action: Py<PyString>,
    payload: CallPayload,
    /// A `MeterValues` request read natively (`decode(..., meter_values=True)`), else None.
    #[pyo3(get)]
    meter_values: Option<Py<MeterValuesRead>>,
}

/// A CALL's payload: built at decoding, or only once it is read (from the frame, kept with its
/// codec) for a CALL that was read natively.
enum CallPayload {
    Built(Py<PyAny>),
    OnRead { built: PyOnceLock<Py<PyAny>>, frame: Py<PyBytes>, codec: Py<OcppCodec> },
}

/// A CALLRESULT: `[3, message_id, payload]`.
#[pyclass(frozen, module = "voltyard._native")]
pub struct CallResult {
    #[pyo3(get)]
    message_id: Py<PyString>,
    #[pyo3(get)]
    payload: Py<PyAny>,
}

/// A CALLERROR: `[4, message_id, code, description, details]`.
#[pyclass(frozen, module = "voltyard._native")]
pub struct CallError {
    #[pyo3(get)]
    message_id: Py<PyString>,
    #[pyo3(get)]
    code: Py<PyString>,
    #[pyo3(get)]
    description: Py<PyString>,
    #[pyo3(get)]
    details: Py<PyAny>,
}

/// 2.1: a CALLRESULTERROR, `[5, message_id, code, description, details]`.
#[pyclass(frozen, module = "voltyard._native")]
pub struct CallResultError {
    #[pyo3(get)]
    message_id: Py<PyString>,
    #[pyo3(get)]
    code: Py<PyString>,
    #[pyo3(get)]
    description: Py<PyString>,
    #[pyo3(get)]
    details: Py<PyAny>,
}

/// 2.1: a SEND, `[6, message_id, action, payload]`, never answered.
#[pyclass(frozen, module = "voltyard._native", name = "Send")]
pub struct SendFrame {
    #[pyo3(get)]
    message_id: Py<PyString>,
    #[pyo3(get)]
    action: Py<PyString>,
    #[pyo3(get)]
    payload: Py<PyAny>,
}

#[pymethods]
impl Call {
    #[classattr]
    #[allow(non_upper_case_globals)] // Python reads the dunder name.
    const __match_args__: (&'static str, &'static str, &'static str) = ("message_id", "action", "payload");

    /// The payload as plain Python objects.
    #[getter]
    fn payload(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (built, frame, codec) = match &self.payload {
            CallPayload::Built(payload) => return Ok(payload.clone_ref(py)),
            CallPayload::OnRead { built, frame, codec } => (built, frame, codec),
        };
        let payload = built.get_or_try_init(py, || {
            let codec = codec.get();
            let frame = ocppj::decode(frame.as_bytes(py), &codec.schemas, None).map_err(CoreError::from)?;
            let Frame::Call { payload, .. } = frame else {
                return Err(value_error("the frame of a CALL is no longer a CALL".to_owned()).into());
            };
            Ok::<_, PyErr>(to_python(py, payload.node(), &codec.words)?.unbind())
        })?;
        Ok(payload.clone_ref(py))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Call(message_id={}, action={}, payload={})",
            self.message_id.bind(py).repr()?,
            self.action.bind(py).repr()?,
            self.payload(py)?.bind(py).repr()?
        ))
    }
}

#[pymethods]
impl CallResult {
    #[classattr]
    #[allow(non_upper_case_globals)] // Python reads the dunder name.
    const __match_args__: (&'static str, &'static str) = ("message_id", "payload");

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "CallResult(message_id={}, payload={})",
            self.message_id.bind(py).repr()?,
            self.payload.bind(py).repr()?
        ))
    }
}

#[pymethods]
impl CallError {
    #[classattr]
    #[allow(non_upper_case_globals)] // Python reads the dunder name.
    const __match_args__: (&'static str, &'static str, &'static str, &'static str) =
        ("message_id", "code", "description", "details");

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "CallError(message_id={}, code={}, description={}, details={})",
            self.message_id.bind(py).repr()?,
            self.code.bind(py).repr()?,
            self.description.bind(py).repr()?,
            self.details.bind(py).repr()?
        ))
    }
}

#[pymethods]
impl CallResultError {
    #[classattr]
    #[allow(non_upper_case_globals)] // Python reads the dunder name.
    const __match_args__: (&'static str, &'static str, &'static str, &'static str) =
        ("message_id", "code", "description", "details");

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "CallResultError(message_id={}, code={}, description={}, details={})",
            self.message_id.bind(py).repr()?,
            self.code.bind(py).repr()?,
            self.description.bind(py).repr()?,
            self.details.bind(py).repr()?
        ))
    }
}

#[pymethods]
impl SendFrame {
    #[classattr]
    #[allow(non_upper_case_globals)] // Python reads the dunder name.
    const __match_args__: (&'static str, &'static str, &'static str) = ("message_id", "action", "payload");

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Send(message_id={}, action={}, payload={})",
            self.message_id.bind(py).repr()?,
            self.action.bind(py).repr()?,
            self.payload.bind(py).repr()?
        ))
    }
}

/// The schemas of one OCPP version, compiled once, and the frame decoder that uses them.
#[pyclass(frozen, module = "voltyard._native")]
pub struct OcppCodec {
    schemas: SchemaSet,
    words: Vocabulary,
}

/// `"1.6"`, `"2.0.1"` or `"2.1"` as a [`Version`].
fn parse_version(version: &str) -> Result<Version, CoreError> {
    Version::parse(version)
        .ok_or_else(|| value_error(format!("OCPP version must be \"1.6\", \"2.0.1\" or \"2.1\", got {version:?}")))
}

#[pymethods]
impl OcppCodec {
    #[new]
    #[pyo3(signature = (schema_dir, version = "1.6"))]
    fn new(py: Python<'_>, schema_dir: &Bound<'_, PyAny>, version: &str) -> Result<Self, CoreError> {
        let version = parse_version(version)?;
        let schema_dir: PathBuf = schema_dir.extract().map_err(CoreError::from_py)?;
        let schemas = SchemaSet::load(&schema_dir, version)?;
        let words = Vocabulary::new(py, schemas.vocabulary());
        Ok(Self { schemas, words })
    }

    /// The OCPP version of the schemas: `"1.6"`, `"2.0.1"` or `"2.1"`.
    #[getter]
    fn version(&self) -> &'static str {
        self.schemas.version().as_str()
    }

    /// The actions that have schemas, sorted.
    #[getter]
    fn actions(&self) -> Vec<&str> {
        self.schemas.actions()
    }

    #[pyo3(signature = (frame, answers = None, *, meter_values = false))]
    fn decode<'py>(
        slf: &Bound<'py, Self>,
        frame: &Bound<'py, PyAny>,
        answers: Option<&str>,
        meter_values: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let codec = slf.get();
        with_frame_bytes(frame, |bytes| {
            let decoded = ocppj::decode(bytes, &codec.schemas, answers).map_err(CoreError::from)?;
            let read = match &decoded {
                // None for the odd payload the schema allows but that holds no usable reading (a
                // connector id past 2^63): then decoded as any other frame, for the handler to refuse.
                // The fast path reads 1.6's MeterValues; a 2.x MeterValues has another shape.
                Frame::Call { action, payload, .. }
                    if meter_values && action == "MeterValues" && codec.schemas.version() == Version::V16 =>
                {
                    meter::meter_values(payload.node())
                }
                _ => None,
            };
            if let (Some(read), Frame::Call { message_id, action, .. }) = (read, &decoded) {
                let frame = match frame.cast::<PyBytes>() {
                    Ok(frame) => frame.clone().unbind(),
                    Err(_) => PyBytes::new(py, bytes).unbind(),
                };
                let call = Call {
                    message_id: PyString::new(py, message_id).unbind(),
                    action: codec.words.string(py, action).unbind(),
                    payload: CallPayload::OnRead { built: PyOnceLock::new(), frame, codec: slf.clone().unbind() },
                    meter_values: Some(Py::new(py, MeterValuesRead::from(read))?),
                };
                return Ok(Bound::new(py, call)?.into_any());
            }
            frame_to_python(py, decoded, &codec.words)
        })?
    }

    #[pyo3(signature = (action, payload, *, response = false))]
    fn validate(&self, action: &str, payload: &Bound<'_, PyAny>, response: bool) -> Result<(), CoreError> {
        let payload = from_python(payload, "payload")?;
        let direction = match (response, self.schemas.is_send_only(action)) {
            (true, _) => Direction::Response,
            (false, true) => Direction::Send,
            (false, false) => Direction::Request,
        };
        Ok(self.schemas.validate(action, direction, payload.root())?)
    }
}

fn frame_to_python<'py>(py: Python<'py>, frame: Frame<'_>, words: &Vocabulary) -> PyResult<Bound<'py, PyAny>> {
    let text = |s: &str| PyString::new(py, s).unbind();
    Ok(match frame {
        Frame::Call { message_id, action, payload: tree } => {
            let payload = CallPayload::Built(to_python(py, tree.node(), words)?.unbind());
            let (message_id, action) = (text(&message_id), words.string(py, &action).unbind());
            Bound::new(py, Call { message_id, action, payload, meter_values: None })?.into_any()
        }
        Frame::CallResult { message_id, payload } => {
            let payload = to_python(py, payload.node(), words)?.unbind();
            Bound::new(py, CallResult { message_id: text(&message_id), payload })?.into_any()
        }
        Frame::CallError { message_id, code, description, details } => {
            let details = to_python(py, details.node(), words)?.unbind();
            let (message_id, code, description) = (text(&message_id), text(&code), text(&description));
            Bound::new(py, CallError { message_id, code, description, details })?.into_any()
        }
        Frame::CallResultError { message_id, code, description, details } => {
            let details = to_python(py, details.node(), words)?.unbind();
            let (message_id, code, description) = (text(&message_id), text(&code), text(&description));
            Bound::new(py, CallResultError { message_id, code, description, details })?.into_any()
        }
        Frame::Send { message_id, action, payload } => {
            let payload = to_python(py, payload.node(), words)?.unbind();
            let (message_id, action) = (text(&message_id), words.string(py, &action).unbind());
            Bound::new(py, SendFrame { message_id, action, payload })?.into_any()
        }
    })
}

/// A `MeterValues` request as read natively: what `MeterReadingBuffer.append_read` stores in one
/// call, without a Python object per reading; `readings` builds those only when asked.
#[pyclass(frozen, module = "voltyard._native")]
pub struct MeterValuesRead {
    #[pyo3(get)]
    pub(crate) connector_id: i64,
    #[pyo3(get)]
    pub(crate) transaction_id: Option<i64>,
    pub(crate) readings: Vec<OwnedReading>,
}

pub(crate) struct OwnedReading {
    pub(crate) timestamp: String,
    pub(crate) sampled_value: Vec<u8>,
    pub(crate) energy_wh: Option<f64>,
    pub(crate) power_w: Option<f64>,
}

type ReadingTuple<'py> = (&'py str, Bound<'py, PyBytes>, Option<f64>, Option<f64>);

#[pymethods]
impl MeterValuesRead {
    /// `[(timestamp, sampled_value_json, energy_wh, power_w), ...]`, one per meterValue.
    #[getter]
    fn readings<'py>(&'py self, py: Python<'py>) -> Vec<ReadingTuple<'py>> {
        let tuple =
            |r: &'py OwnedReading| (r.timestamp.as_str(), PyBytes::new(py, &r.sampled_value), r.energy_wh, r.power_w);
        self.readings.iter().map(tuple).collect()
    }

    /// The power (W) of the last meterValue that states one.
    #[getter]
    fn power_w(&self) -> Option<f64> {
        self.readings.iter().rev().find_map(|r| r.power_w)
    }

    fn __len__(&self) -> usize {
        self.readings.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "MeterValuesRead(connector_id={}, transaction_id={:?}, readings={})",
            self.connector_id,
            self.transaction_id,
            self.readings.len()
        )
    }
}

impl From<meter::MeterValues<'_>> for MeterValuesRead {
    fn from(read: meter::MeterValues<'_>) -> Self {
        let own = |r: meter::MeterReading<'_>| OwnedReading {
            timestamp: r.timestamp.to_owned(),
            sampled_value: r.sampled_value,
            energy_wh: r.energy_wh,
            power_w: r.power_w,
        };
        Self {
            connector_id: read.connector_id,
            transaction_id: read.transaction_id,
            readings: read.readings.into_iter().map(own).collect(),
        }
    }
}

/// A `MeterValues` request payload given as plain Python objects (a repaired frame, a cabinet's
/// reading) read as `OcppCodec.decode(..., meter_values=True)` reads a frame.
#[pyfunction]
pub fn read_meter_values(payload: &Bound<'_, PyAny>) -> PyResult<MeterValuesRead> {
    let tree = from_python(payload, "payload")?;
    let read = meter::meter_values(tree.root())
        .ok_or_else(|| value_error("payload is not a MeterValues request (connectorId, meterValue)".to_owned()))?;
    Ok(read.into())
}

/// Whether a charger `timestamp` shows a skewed clock: before 2000 or after `limit` (Unix seconds,
/// now plus the tolerance).
#[pyfunction]
#[pyo3(name = "clock_skewed")]
pub fn clock_skewed_py(timestamp: &str, limit: f64) -> bool {
    ocppj::datetime::clock_skewed(timestamp, limit)
}

/// Energy (Wh) and power (W) of a sampledValue list, converted from their unit; None where absent.
#[pyfunction]
pub fn normalise_sampled_values(sampled: &Bound<'_, PyAny>) -> Result<(Option<f64>, Option<f64>), CoreError> {
    let tree = from_python(sampled, "sampled")?;
    Ok(meter::normalise(tree.root()))
}

/// Runs `f` over the bytes of a `bytes`, `str` or buffer (bytearray, memoryview) frame.
fn with_frame_bytes<T>(frame: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> T) -> PyResult<T> {
    if let Ok(bytes) = frame.cast::<PyBytes>() {
        return Ok(f(bytes.as_bytes()));
    }
    if let Ok(text) = frame.cast::<PyString>() {
        // A str with lone surrogates has no UTF-8 form: pass its surrogates through as the bytes
        // they would be, which the decoder refuses as invalid UTF-8, message id and all.
        if let Ok(text) = text.to_str() {
            return Ok(f(text.as_bytes()));
        }
        let raw = text.call_method1("encode", ("utf-8", "surrogatepass"))?;
        return Ok(f(raw.cast::<PyBytes>()?.as_bytes()));
    }
    let buffer = PyBuffer::<u8>::get(frame)
        .map_err(|_| value_error(format!("a frame is bytes, str or a byte buffer, not {}", frame.get_type())))?;
    Ok(f(&buffer.to_vec(frame.py())?))
}

#[pyfunction]
pub fn encode_call(message_id: &str, action: &str, payload: &Bound<'_, PyAny>) -> Result<Vec<u8>, CoreError> {
    let payload = from_python(payload, "payload")?;
    Ok(ocppj::encode_call(message_id, action, payload.root())?)
}

#[pyfunction]
pub fn encode_call_result(message_id: &str, payload: &Bound<'_, PyAny>) -> Result<Vec<u8>, CoreError> {
    let payload = from_python(payload, "payload")?;
    Ok(ocppj::encode_call_result(message_id, payload.root())?)
}

#[pyfunction]
#[pyo3(signature = (message_id, code, description = "", details = None, *, version = "1.6"))]
pub fn encode_call_error(
    message_id: &str,
    code: &str,
    description: &str,
    details: Option<&Bound<'_, PyAny>>,
    version: &str,
) -> Result<Vec<u8>, CoreError> {
    let code = error_code(code, parse_version(version)?)?;
    let details = match details {
        Some(details) => from_python(details, "details")?,
        None => empty_object(),
    };
    Ok(ocppj::encode_call_error(message_id, code, description, details.root())?)
}

#[pyfunction]
#[pyo3(signature = (message_id, code, description = "", details = None))]
pub fn encode_call_result_error(
    message_id: &str,
    code: &str,
    description: &str,
    details: Option<&Bound<'_, PyAny>>,
) -> Result<Vec<u8>, CoreError> {
    let code = error_code(code, Version::V21)?;
    let details = match details {
        Some(details) => from_python(details, "details")?,
        None => empty_object(),
    };
    Ok(ocppj::encode_call_result_error(message_id, code, description, details.root())?)
}

#[pyfunction]
pub fn encode_send(message_id: &str, action: &str, payload: &Bound<'_, PyAny>) -> Result<Vec<u8>, CoreError> {
    let payload = from_python(payload, "payload")?;
    Ok(ocppj::encode_send(message_id, action, payload.root())?)
}

fn error_code(code: &str, version: Version) -> Result<ErrorCode, CoreError> {
    ErrorCode::from_wire_in(code, version)
        .ok_or_else(|| value_error(format!("{code:?} is not an OCPP {version} CALLERROR code")))
}

fn empty_object() -> JsonTree<'static> {
    let mut builder = JsonTree::builder();
    builder.open(true);
    builder.finish()
}
