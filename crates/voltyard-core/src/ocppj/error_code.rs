//! The OCPP-J 1.6 CALLERROR codes, with the 1.6 spellings (`OccurenceConstraintViolation` with one
//! "r", `FormationViolation`), and the failure that a decode or validation error carries.

use std::fmt;

use super::MessageType;

/// A CALLERROR `errorCode` of OCPP-J 1.6 (section 4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The requested action is not known by the receiver.
    NotImplemented,
    /// The requested action is recognised but not supported by the receiver.
    NotSupported,
    /// An internal error occurred while processing the action.
    InternalError,
    /// The payload for the action is incomplete.
    ProtocolError,
    /// A security issue prevented the receiver from completing the action.
    SecurityError,
    /// The payload is syntactically incorrect or does not conform to the PDU structure.
    FormationViolation,
    /// A field holds an invalid value.
    PropertyConstraintViolation,
    /// A field violates its occurrence constraints (cardinality).
    OccurenceConstraintViolation,
    /// A field violates its data type constraints.
    TypeConstraintViolation,
    /// Any other error.
    GenericError,
}

impl ErrorCode {
    /// Every code, in the order of the specification's table.
    pub const ALL: [Self; 10] = [
        Self::NotImplemented,
        Self::NotSupported,
        Self::InternalError,
        Self::ProtocolError,
        Self::SecurityError,
        Self::FormationViolation,
        Self::PropertyConstraintViolation,
        Self::OccurenceConstraintViolation,
        Self::TypeConstraintViolation,
        Self::GenericError,
    ];

    /// The wire spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotImplemented => "NotImplemented",
            Self::NotSupported => "NotSupported",
            Self::InternalError => "InternalError",
            Self::ProtocolError => "ProtocolError",
            Self::SecurityError => "SecurityError",
            Self::FormationViolation => "FormationViolation",
            Self::PropertyConstraintViolation => "PropertyConstraintViolation",
            Self::OccurenceConstraintViolation => "OccurenceConstraintViolation",
            Self::TypeConstraintViolation => "TypeConstraintViolation",
            Self::GenericError => "GenericError",
        }
    }

    /// Parses the wire spelling; `None` for anything that is not a 1.6 code.
    #[must_use]
    pub fn from_wire(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a frame was refused: the CALLERROR code to answer with, the message id when it could be
/// read (a string of 1-36 characters in the envelope), the action when known (a CALL of a known
/// action, or the action that a CALLRESULT answers), and a description that names the place and
/// the rule broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message_id: Option<String>,
    /// The frame's `MessageTypeId` when it was readable: a CALLERROR never answers a CALLRESULT
    /// or a CALLERROR.
    pub message_type: Option<MessageType>,
    pub action: Option<String>,
    pub description: String,
}

impl FrameError {
    pub(crate) fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self { code, message_id: None, message_type: None, action: None, description: description.into() }
    }

    pub(crate) fn with_id(mut self, message_id: Option<&str>) -> Self {
        self.message_id = message_id.map(str::to_owned);
        self
    }

    pub(crate) fn with_action(mut self, action: &str) -> Self {
        self.action = Some(action.to_owned());
        self
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for FrameError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_spellings_round_trip() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_wire(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::OccurenceConstraintViolation.as_str(), "OccurenceConstraintViolation");
        assert_eq!(ErrorCode::from_wire("OccurrenceConstraintViolation"), None);
        assert_eq!(ErrorCode::from_wire("FormatViolation"), None);
    }
}
