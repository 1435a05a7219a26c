//! The core's errors as the classes of `voltyard.errors`: one place maps them all.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use voltyard_core::blocks::BlockError;
use voltyard_core::ocppj::{self, EncodeError, ErrorCode, FrameError};
use voltyard_core::planner::PlannerError as CorePlannerError;
use voltyard_core::plc::PlcError;

pyo3::import_exception!(voltyard.errors, ActionNotImplementedError);
pyo3::import_exception!(voltyard.errors, ActionNotSupportedError);
pyo3::import_exception!(voltyard.errors, OcppInternalError);
pyo3::import_exception!(voltyard.errors, ProtocolError);
pyo3::import_exception!(voltyard.errors, OcppSecurityError);
pyo3::import_exception!(voltyard.errors, FormationViolationError);
pyo3::import_exception!(voltyard.errors, PropertyConstraintViolationError);
pyo3::import_exception!(voltyard.errors, OccurenceConstraintViolationError);
pyo3::import_exception!(voltyard.errors, TypeConstraintViolationError);
pyo3::import_exception!(voltyard.errors, GenericOcppError);
pyo3::import_exception!(voltyard.errors, FormatViolationError);
pyo3::import_exception!(voltyard.errors, OccurrenceConstraintViolationError);
pyo3::import_exception!(voltyard.errors, MessageTypeNotSupportedError);
pyo3::import_exception!(voltyard.errors, RpcFrameworkError);
pyo3::import_exception!(voltyard.errors, SchemaLoadError);
pyo3::import_exception!(voltyard.errors, FrameEncodeError);
pyo3::import_exception!(voltyard.errors, CanPayloadError);
pyo3::import_exception!(voltyard.errors, PlannerError);
pyo3::import_exception!(voltyard.errors, CanUnknownIdError);
pyo3::import_exception!(voltyard.errors, CanCrcError);
pyo3::import_exception!(voltyard.errors, CanMuxError);
pyo3::import_exception!(voltyard.errors, CanSignalRangeError);
pyo3::import_exception!(voltyard.errors, LogBlockError);

/// A core error, ready to be raised in Python.
pub struct CoreError(PyErr);

impl CoreError {
    /// A Python error raised while converting an argument, passed through as it is.
    pub fn from_py(error: PyErr) -> Self {
        Self(error)
    }
}

impl From<CoreError> for PyErr {
    fn from(error: CoreError) -> Self {
        error.0
    }
}

impl From<FrameError> for CoreError {
    fn from(e: FrameError) -> Self {
        let message_type = e.message_type.map(|t| t as u8);
        let args = (e.description, e.message_id, e.action, message_type);
        Self(match e.code {
            ErrorCode::NotImplemented => ActionNotImplementedError::new_err(args),
            ErrorCode::NotSupported => ActionNotSupportedError::new_err(args),
            ErrorCode::InternalError => OcppInternalError::new_err(args),
            ErrorCode::ProtocolError => ProtocolError::new_err(args),
            ErrorCode::SecurityError => OcppSecurityError::new_err(args),
            ErrorCode::FormationViolation => FormationViolationError::new_err(args),
            ErrorCode::PropertyConstraintViolation => PropertyConstraintViolationError::new_err(args),
            ErrorCode::OccurenceConstraintViolation => OccurenceConstraintViolationError::new_err(args),
            ErrorCode::TypeConstraintViolation => TypeConstraintViolationError::new_err(args),
            ErrorCode::GenericError => GenericOcppError::new_err(args),
            ErrorCode::FormatViolation => FormatViolationError::new_err(args),
            ErrorCode::OccurrenceConstraintViolation => OccurrenceConstraintViolationError::new_err(args),
            ErrorCode::MessageTypeNotSupported => MessageTypeNotSupportedError::new_err(args),
            ErrorCode::RpcFrameworkError => RpcFrameworkError::new_err(args),
        })
    }
}

impl From<ocppj::SchemaLoadError> for CoreError {
    fn from(e: ocppj::SchemaLoadError) -> Self {
        Self(SchemaLoadError::new_err(e.to_string()))
    }
}

impl From<EncodeError> for CoreError {
    fn from(e: EncodeError) -> Self {
        Self(FrameEncodeError::new_err(e.to_string()))
    }
}

impl From<CorePlannerError> for CoreError {
    fn from(e: CorePlannerError) -> Self {
        Self(PlannerError::new_err((e.to_string(), e.field())))
    }
}

/// A snapshot attribute that is missing or of the wrong type, named by its path (`guns[3].session`).
pub fn planner_error(field: String, problem: &str) -> CoreError {
    CoreError(PlannerError::new_err((format!("{field}: {problem}"), field)))
}

impl From<PlcError> for CoreError {
    fn from(e: PlcError) -> Self {
        let args = (e.to_string(), e.id());
        Self(match e {
            PlcError::UnknownId { .. } => CanUnknownIdError::new_err(args),
            PlcError::BadLength { .. } => CanPayloadError::new_err(args),
            PlcError::BadCrc { .. } => CanCrcError::new_err(args),
            PlcError::BadMux { .. } => CanMuxError::new_err(args),
            PlcError::OutOfRange { .. } | PlcError::BadPlcId { .. } => CanSignalRangeError::new_err(args),
        })
    }
}

impl From<BlockError> for CoreError {
    fn from(e: BlockError) -> Self {
        Self(LogBlockError::new_err(e.to_string()))
    }
}

/// A payload that cannot be turned into JSON, or a value out of range for its argument.
pub fn encode_error(message: String) -> CoreError {
    CoreError(FrameEncodeError::new_err(message))
}

pub fn can_payload_error(len: usize) -> CoreError {
    CoreError(CanPayloadError::new_err(format!("a CAN payload with a CRC is 8 bytes, got {len}")))
}

pub fn value_error(message: String) -> CoreError {
    CoreError(PyValueError::new_err(message))
}
