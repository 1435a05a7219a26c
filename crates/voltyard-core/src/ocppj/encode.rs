//! OCPP-J frame writers. Message ids are checked (1-36 characters); payloads are written as given,
//! validation of outgoing payloads being the caller's choice (tests and debug mode).

use std::fmt;

use super::error_code::ErrorCode;
use super::tree::JsonNode;
use super::{MAX_MESSAGE_ID_CHARS, MessageType, is_valid_message_id};

/// Why a frame could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The message id is empty or longer than 36 characters.
    MessageId { chars: usize },
    /// The action name is empty.
    EmptyAction,
    /// A payload or errorDetails that is not a JSON object.
    NotAnObject { field: &'static str },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MessageId { chars } => {
                write!(f, "message id must be 1-{MAX_MESSAGE_ID_CHARS} characters, got {chars}")
            }
            Self::EmptyAction => f.write_str("action must not be empty"),
            Self::NotAnObject { field } => write!(f, "{field} must be a JSON object"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// `[2, id, action, payload]`
pub fn encode_call(message_id: &str, action: &str, payload: JsonNode<'_>) -> Result<Vec<u8>, EncodeError> {
    check_id(message_id)?;
    if action.is_empty() {
        return Err(EncodeError::EmptyAction);
    }
    check_object(payload, "payload")?;
    Ok(write(&(MessageType::Call as u8, message_id, action, payload)))
}

/// `[3, id, payload]`
pub fn encode_call_result(message_id: &str, payload: JsonNode<'_>) -> Result<Vec<u8>, EncodeError> {
    check_id(message_id)?;
    check_object(payload, "payload")?;
    Ok(write(&(MessageType::CallResult as u8, message_id, payload)))
}

/// `[4, id, code, description, details]`
pub fn encode_call_error(
    message_id: &str,
    code: ErrorCode,
    description: &str,
    details: JsonNode<'_>,
) -> Result<Vec<u8>, EncodeError> {
    check_id(message_id)?;
    check_object(details, "errorDetails")?;
    Ok(write(&(MessageType::CallError as u8, message_id, code.as_str(), description, details)))
}

/// 2.1: `[5, id, code, description, details]`, the answer to a CALLRESULT that could not be processed.
pub fn encode_call_result_error(
    message_id: &str,
    code: ErrorCode,
    description: &str,
    details: JsonNode<'_>,
) -> Result<Vec<u8>, EncodeError> {
    check_id(message_id)?;
    check_object(details, "errorDetails")?;
    Ok(write(&(MessageType::CallResultError as u8, message_id, code.as_str(), description, details)))
}

/// 2.1: `[6, id, action, payload]`, a request that is never answered.
pub fn encode_send(message_id: &str, action: &str, payload: JsonNode<'_>) -> Result<Vec<u8>, EncodeError> {
    check_id(message_id)?;
    if action.is_empty() {
        return Err(EncodeError::EmptyAction);
    }
    check_object(payload, "payload")?;
    Ok(write(&(MessageType::Send as u8, message_id, action, payload)))
}

fn check_id(message_id: &str) -> Result<(), EncodeError> {
    if is_valid_message_id(message_id) {
        Ok(())
    } else {
        Err(EncodeError::MessageId { chars: message_id.chars().count() })
    }
}

fn check_object(value: JsonNode<'_>, field: &'static str) -> Result<(), EncodeError> {
    if value.is_object() { Ok(()) } else { Err(EncodeError::NotAnObject { field }) }
}

fn write<T: serde::Serialize>(frame: &T) -> Vec<u8> {
    // Serialising str, integers and a `JsonNode` (whose numbers are finite) cannot fail.
    serde_json::to_vec(frame).unwrap_or_default()
}
