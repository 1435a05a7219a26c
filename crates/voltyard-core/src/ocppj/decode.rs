//! Text frame -> [`Frame`] in one pass: strict JSON parse, envelope checks, and schema validation
//! of CALL payloads (and of a CALLRESULT's payload when the caller says which action it answers).
//! Every failure is a [`FrameError`] carrying the message id whenever the envelope lets it be read.

use serde_json::Value;

use super::error_code::{ErrorCode, FrameError};
use super::json::parse_strict;
use super::schema::{Direction, SchemaSet, preview_str};
use super::{Frame, MessageType, is_valid_message_id};

/// Decodes one OCPP-J text frame.
///
/// CALL payloads are validated against the request schema of their action; a CALLRESULT's payload
/// is validated against the response schema of `answers` when given (the action of the CALL it
/// answers), and left unchecked otherwise.
pub fn decode(text: &[u8], schemas: &SchemaSet, answers: Option<&str>) -> Result<Frame, FrameError> {
    let value = parse_strict(text).map_err(|e| {
        let error = FrameError::new(ErrorCode::FormationViolation, format!("frame is not valid JSON: {e}"));
        let sniffed = sniff_message_id(text);
        error.with_id(sniffed.as_deref())
    })?;
    let Value::Array(items) = value else {
        return Err(FrameError::new(
            ErrorCode::FormationViolation,
            format!("frame must be a JSON array, got {}", kind_of(&value)),
        ));
    };
    decode_envelope(items, schemas, answers)
}

fn decode_envelope(mut items: Vec<Value>, schemas: &SchemaSet, answers: Option<&str>) -> Result<Frame, FrameError> {
    let id = items.get(1).and_then(Value::as_str).filter(|id| is_valid_message_id(id));
    let formation = |description: String| FrameError::new(ErrorCode::FormationViolation, description).with_id(id);
    let message_type = match items.first() {
        None => return Err(formation("frame is an empty array".into())),
        Some(first) => first.as_u64().and_then(MessageType::from_wire).ok_or_else(|| {
            formation(format!("MessageTypeId must be 2, 3 or 4, got {}", super::schema::preview(first)))
        })?,
    };
    let error_type = |e: FrameError| FrameError { message_type: Some(message_type), ..e };
    if items.len() != message_type.arity() {
        return Err(error_type(formation(format!(
            "a {message_type:?} frame has {} elements, got {}",
            message_type.arity(),
            items.len()
        ))));
    }
    if id.is_none() {
        return Err(error_type(formation(format!(
            "message id must be a string of 1-36 characters, got {}",
            super::schema::preview(&items[1])
        ))));
    }
    match message_type {
        MessageType::Call => decode_call(items, schemas).map_err(error_type),
        MessageType::CallResult => {
            let payload = items.pop().unwrap_or_default();
            let message_id = take_string(&mut items[1]);
            if let Some(action) = answers {
                schemas
                    .validate(action, Direction::Response, &payload)
                    .map_err(|e| error_type(e.with_id(Some(&message_id))))?;
            }
            Ok(Frame::CallResult { message_id, payload })
        }
        MessageType::CallError => decode_call_error(items).map_err(error_type),
    }
}

fn decode_call(mut items: Vec<Value>, schemas: &SchemaSet) -> Result<Frame, FrameError> {
    let message_id = take_string(&mut items[1]);
    let Value::String(action) = std::mem::take(&mut items[2]) else {
        return Err(FrameError::new(
            ErrorCode::FormationViolation,
            format!("action must be a string, got {}", kind_of(&items[2])),
        )
        .with_id(Some(&message_id)));
    };
    let payload = items.pop().unwrap_or_default();
    if let Err(error) = schemas.validate(&action, Direction::Request, &payload) {
        return Err(error.with_id(Some(&message_id)));
    }
    Ok(Frame::Call { message_id, action, payload })
}

fn decode_call_error(mut items: Vec<Value>) -> Result<Frame, FrameError> {
    let message_id = take_string(&mut items[1]);
    let formation = |what: &str, got: &Value| {
        FrameError::new(ErrorCode::FormationViolation, format!("{what}, got {}", kind_of(got)))
            .with_id(Some(&message_id))
    };
    let details = items.pop().unwrap_or_default();
    if !details.is_object() {
        return Err(formation("CALLERROR errorDetails must be an object", &details));
    }
    let Value::String(description) = std::mem::take(&mut items[3]) else {
        return Err(formation("CALLERROR errorDescription must be a string", &items[3]));
    };
    let Value::String(code) = std::mem::take(&mut items[2]) else {
        return Err(formation("CALLERROR errorCode must be a string", &items[2]));
    };
    if code.is_empty() {
        return Err(formation("CALLERROR errorCode must not be empty", &Value::String(code)));
    }
    Ok(Frame::CallError { message_id, code, description, details })
}

fn take_string(value: &mut Value) -> String {
    match std::mem::take(value) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn kind_of(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", preview_str(s)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Reads the message id from the start of a frame whose JSON did not parse, so that the
/// CALLERROR can still be correlated: `[`, a MessageTypeId of 2, 3 or 4, `,`, then a plain
/// string of 1-36 characters without escapes.
#[must_use]
pub fn sniff_message_id(text: &[u8]) -> Option<String> {
    let mut rest = skip_ws(text).strip_prefix(b"[")?;
    rest = skip_ws(rest);
    let (&digit, after) = rest.split_first()?;
    if !matches!(digit, b'2'..=b'4') {
        return None;
    }
    rest = skip_ws(skip_ws(after).strip_prefix(b",")?).strip_prefix(b"\"")?;
    let end = rest.iter().take(4 * super::MAX_MESSAGE_ID_CHARS + 1).position(|&b| b == b'"')?;
    let raw = &rest[..end];
    if raw.iter().any(|&b| b == b'\\' || b < 0x20) {
        return None;
    }
    let id = std::str::from_utf8(raw).ok()?;
    is_valid_message_id(id).then(|| id.to_owned())
}

fn skip_ws(text: &[u8]) -> &[u8] {
    let start = text.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')).unwrap_or(text.len());
    &text[start..]
}
