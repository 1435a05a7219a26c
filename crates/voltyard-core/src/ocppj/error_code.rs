//! The OCPP-J CALLERROR codes of each version, with their own spellings: 1.6 writes
//! `OccurenceConstraintViolation` with one "r" and `FormationViolation`; 2.0.1 and 2.1 write
//! `OccurrenceConstraintViolation` and `FormatViolation`, and add `MessageTypeNotSupported` and
//! `RpcFrameworkError`. Also the failure that a decode or validation error carries.

use std::fmt;

use super::{MessageType, Version};

/// A CALLERROR `errorCode` (OCPP-J 1.6 section 4.2.3, OCPP-J 2.0.1 and 2.1 section 4.3).
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
    /// 1.6: the payload is syntactically incorrect or does not conform to the PDU structure.
    FormationViolation,
    /// A field holds an invalid value.
    PropertyConstraintViolation,
    /// 1.6: a field violates its occurrence constraints (cardinality).
    OccurenceConstraintViolation,
    /// A field violates its data type constraints.
    TypeConstraintViolation,
    /// Any other error.
    GenericError,
    /// 2.x: the payload for the action is syntactically incorrect.
    FormatViolation,
    /// 2.x: a field violates its occurrence constraints (cardinality).
    OccurrenceConstraintViolation,
    /// 2.x: a message with a `MessageTypeId` this side does not support.
    MessageTypeNotSupported,
    /// 2.x: the content is not a valid RPC frame (for example, its message id cannot be read).
    RpcFrameworkError,
}

impl ErrorCode {
    /// The codes of OCPP-J 1.6, in the order of its table.
    pub const V16: [Self; 10] = [
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

    /// The codes of OCPP-J 2.0.1 and 2.1, in the order of their table.
    pub const V2: [Self; 12] = [
        Self::FormatViolation,
        Self::GenericError,
        Self::InternalError,
        Self::MessageTypeNotSupported,
        Self::NotImplemented,
        Self::NotSupported,
        Self::OccurrenceConstraintViolation,
        Self::PropertyConstraintViolation,
        Self::ProtocolError,
        Self::RpcFrameworkError,
        Self::SecurityError,
        Self::TypeConstraintViolation,
    ];

    /// The codes a version may send.
    #[must_use]
    pub const fn of(version: Version) -> &'static [Self] {
        match version {
            Version::V16 => &Self::V16,
            Version::V201 | Version::V21 => &Self::V2,
        }
    }

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
            Self::FormatViolation => "FormatViolation",
            Self::OccurrenceConstraintViolation => "OccurrenceConstraintViolation",
            Self::MessageTypeNotSupported => "MessageTypeNotSupported",
            Self::RpcFrameworkError => "RpcFrameworkError",
        }
    }

    /// Parses the wire spelling of OCPP-J 1.6; `None` for anything that is not a 1.6 code.
    #[must_use]
    pub fn from_wire(code: &str) -> Option<Self> {
        Self::from_wire_in(code, Version::V16)
    }

    /// Parses the wire spelling of `version`; `None` for anything that is not one of its codes.
    #[must_use]
    pub fn from_wire_in(code: &str, version: Version) -> Option<Self> {
        Self::of(version).iter().copied().find(|c| c.as_str() == code)
    }

    /// The same meaning in `version`'s spelling: the decoder and the validator name the 1.6 code,
    /// and this renames the two that 2.x spells differently.
    #[must_use]
    pub const fn spelled_for(self, version: Version) -> Self {
        match (self, version) {
            (Self::FormationViolation, Version::V201 | Version::V21) => Self::FormatViolation,
            (Self::OccurenceConstraintViolation, Version::V201 | Version::V21) => Self::OccurrenceConstraintViolation,
            (Self::FormatViolation, Version::V16) => Self::FormationViolation,
            (Self::OccurrenceConstraintViolation, Version::V16) => Self::OccurenceConstraintViolation,
            _ => self,
        }
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
    /// The frame's `MessageTypeId` when it was readable and of the version: only a CALL gets a
    /// CALLERROR back (never a CALLRESULT, a CALLERROR, nor 2.1's CALLRESULTERROR and SEND).
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

    pub(crate) fn spelled_for(mut self, version: Version) -> Self {
        self.code = self.code.spelled_for(version);
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
        for version in Version::ALL {
            for &code in ErrorCode::of(version) {
                assert_eq!(ErrorCode::from_wire_in(code.as_str(), version), Some(code));
                assert_eq!(code.spelled_for(version), code, "{code} in {version}");
            }
        }
        assert_eq!(ErrorCode::OccurenceConstraintViolation.as_str(), "OccurenceConstraintViolation");
        assert_eq!(ErrorCode::from_wire("OccurrenceConstraintViolation"), None);
        assert_eq!(ErrorCode::from_wire("FormatViolation"), None);
        assert_eq!(ErrorCode::from_wire("MessageTypeNotSupported"), None);
        assert_eq!(ErrorCode::from_wire_in("FormationViolation", Version::V201), None);
        assert_eq!(ErrorCode::from_wire_in("OccurenceConstraintViolation", Version::V21), None);
        assert_eq!(ErrorCode::from_wire_in("RpcFrameworkError", Version::V21), Some(ErrorCode::RpcFrameworkError));
    }

    #[test]
    fn every_code_is_spelled_in_every_version() {
        let all = ErrorCode::V16.iter().chain(&ErrorCode::V2);
        for version in Version::ALL {
            for code in all.clone() {
                let spelled = code.spelled_for(version);
                // 2.x-only codes have no 1.6 spelling and stay as they are.
                if ErrorCode::of(version).contains(code) || spelled != *code {
                    assert!(ErrorCode::of(version).contains(&spelled), "{code} in {version}");
                }
            }
        }
    }
}
