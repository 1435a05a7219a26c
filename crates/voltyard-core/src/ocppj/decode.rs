//! Text frame -> [`Frame`] in one pass: strict JSON parse, envelope checks, and schema validation
//! of CALL payloads (and of a CALLRESULT's payload when the caller says which action it answers).
//! Every failure is a [`FrameError`] carrying the message id whenever the envelope lets it be read.

use std::borrow::Cow;

use super::error_code::{ErrorCode, FrameError};
use super::parse::parse_strict;
use super::schema::{Direction, SchemaSet, preview, preview_str};
use super::tree::{JsonNode, JsonTree, Kind, Slot};
use super::{Frame, MAX_MESSAGE_ID_CHARS, MessageType, Payload, is_valid_message_id};

/// Decodes one OCPP-J text frame.
///
/// CALL payloads are validated against the request schema of their action; a CALLRESULT's payload
/// is validated against the response schema of `answers` when given (the action of the CALL it
/// answers), and left unchecked otherwise.
pub fn decode<'a>(text: &'a [u8], schemas: &SchemaSet, answers: Option<&str>) -> Result<Frame<'a>, FrameError> {
    let tree = parse_strict(text).map_err(|e| {
        let (message_type, message_id) = sniff_envelope(text);
        let error = FrameError::new(ErrorCode::FormationViolation, format!("frame is not valid JSON: {e}"));
        FrameError { message_type, ..error.with_id(message_id.as_deref()) }
    })?;
    let Kind::Array(elements) = tree.root().kind() else {
        return Err(FrameError::new(
            ErrorCode::FormationViolation,
            format!("frame must be a JSON array, got {}", kind_of(tree.root())),
        ));
    };
    let count = elements.len();
    let mut parts: [Option<JsonNode<'_>>; 5] = [None; 5];
    for (part, node) in parts.iter_mut().zip(elements) {
        *part = Some(node);
    }
    let id = parts[1].and_then(JsonNode::as_str).filter(|id| is_valid_message_id(id));
    let formation = |description: String| FrameError::new(ErrorCode::FormationViolation, description).with_id(id);
    let Some(first) = parts[0] else {
        return Err(formation("frame is an empty array".into()));
    };
    let message_type = match first.kind() {
        Kind::Int(n) => u64::try_from(n).ok().and_then(MessageType::from_wire),
        _ => None,
    }
    .ok_or_else(|| formation(format!("MessageTypeId must be 2, 3 or 4, got {}", kind_of(first))))?;
    let typed = |e: FrameError| FrameError { message_type: Some(message_type), ..e };
    if count != message_type.arity() {
        return Err(typed(formation(format!(
            "a {message_type:?} frame has {} elements, got {count}",
            message_type.arity()
        ))));
    }
    // Every part up to the arity is present from here on.
    let part = |i: usize| parts[i].unwrap_or_else(|| tree.root());
    let Some(message_id) = id else {
        return Err(typed(formation(format!(
            "message id must be a string of 1-{MAX_MESSAGE_ID_CHARS} characters, got {}",
            kind_of(part(1))
        ))));
    };
    let error_id = |e: FrameError| typed(e).with_id(Some(message_id));
    let malformed = |what: &str, got: JsonNode<'_>| {
        error_id(FrameError::new(ErrorCode::FormationViolation, format!("{what}, got {}", kind_of(got))))
    };
    match message_type {
        MessageType::Call => {
            let Some(action) = part(2).as_str() else {
                return Err(malformed("action must be a string", part(2)));
            };
            schemas.validate(action, Direction::Request, part(3)).map_err(error_id)?;
            let (message_id, action) = (owned_str(&tree, part(1)), owned_str(&tree, part(2)));
            let payload = part(3).index();
            Ok(Frame::Call { message_id, action, payload: Payload { tree, index: payload } })
        }
        MessageType::CallResult => {
            if let Some(action) = answers {
                schemas.validate(action, Direction::Response, part(2)).map_err(error_id)?;
            }
            let message_id = owned_str(&tree, part(1));
            let payload = part(2).index();
            Ok(Frame::CallResult { message_id, payload: Payload { tree, index: payload } })
        }
        MessageType::CallError => {
            if !part(4).is_object() {
                return Err(malformed("CALLERROR errorDetails must be an object", part(4)));
            }
            match part(2).as_str() {
                None => return Err(malformed("CALLERROR errorCode must be a string", part(2))),
                Some("") => return Err(malformed("CALLERROR errorCode must not be empty", part(2))),
                Some(_) => {}
            }
            if part(3).as_str().is_none() {
                return Err(malformed("CALLERROR errorDescription must be a string", part(3)));
            }
            let (code, description) = (owned_str(&tree, part(2)), owned_str(&tree, part(3)));
            let (message_id, details) = (owned_str(&tree, part(1)), part(4).index());
            Ok(Frame::CallError { message_id, code, description, details: Payload { tree, index: details } })
        }
    }
}

/// The string at `node`, still borrowing the frame's text when it held no escape.
fn owned_str<'a>(tree: &JsonTree<'a>, node: JsonNode<'_>) -> Cow<'a, str> {
    match tree.slot(node.index()) {
        Slot::Str(s) => s.clone(),
        _ => Cow::Borrowed(""),
    }
}

fn kind_of(node: JsonNode<'_>) -> String {
    match node.kind() {
        Kind::Null => "null".into(),
        Kind::Bool(_) => "a boolean".into(),
        Kind::Int(_) | Kind::UInt(_) | Kind::Float(_) => format!("the number {}", preview(&node.to_value())),
        Kind::Str(s) => format!("the string {}", preview_str(s)),
        Kind::Array(_) => "an array".into(),
        Kind::Object(_) => "an object".into(),
    }
}

/// Reads the `MessageTypeId` and the message id from the start of a frame whose JSON did not parse,
/// so that a CALL can still get its CALLERROR (and a broken CALLRESULT none): `[`, a
/// `MessageTypeId` of 2, 3 or 4, `,`, then a plain string of 1-36 characters without escapes.
#[must_use]
pub fn sniff_envelope(text: &[u8]) -> (Option<MessageType>, Option<String>) {
    let mut rest = skip_ws(text);
    let Some(after) = rest.strip_prefix(b"[") else { return (None, None) };
    rest = skip_ws(after);
    let message_type = match rest.split_first() {
        Some((&digit, after)) if after.first().is_some_and(|b| matches!(b, b',' | b' ' | b'\t' | b'\n' | b'\r')) => {
            rest = after;
            MessageType::from_wire(u64::from(digit.wrapping_sub(b'0')))
        }
        _ => None,
    };
    (message_type, message_type.and_then(|_| sniff_id(rest)))
}

fn sniff_id(after_type: &[u8]) -> Option<String> {
    let rest = skip_ws(skip_ws(after_type).strip_prefix(b",")?).strip_prefix(b"\"")?;
    let end = rest.iter().take(4 * MAX_MESSAGE_ID_CHARS + 1).position(|&b| b == b'"')?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_type_and_id_from_broken_frames() {
        let cases: [(&[u8], Option<MessageType>, Option<&str>); 8] = [
            (b"[2,\"a-1\",\"Heartbeat\",{", Some(MessageType::Call), Some("a-1")),
            (b" [ 3 , \"r-9\" , {", Some(MessageType::CallResult), Some("r-9")),
            (b"[4,\"e\",\"GenericError\"", Some(MessageType::CallError), Some("e")),
            (b"[2.0,\"a\",", None, None),
            (b"[22,\"a\",", None, None),
            (b"[5,\"a\",", None, None),
            (b"[2,\"a\\\"b\",", Some(MessageType::Call), None),
            (b"{\"2\":1", None, None),
        ];
        for (text, message_type, id) in cases {
            let (sniffed_type, sniffed_id) = sniff_envelope(text);
            assert_eq!(sniffed_type, message_type, "{}", String::from_utf8_lossy(text));
            assert_eq!(sniffed_id.as_deref(), id, "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn sniffing_stops_at_36_characters() {
        let long = format!("[2,\"{}\",", "x".repeat(37));
        assert_eq!(sniff_envelope(long.as_bytes()).1, None);
        let ok = format!("[2,\"{}\",", "é".repeat(36));
        assert_eq!(sniff_envelope(ok.as_bytes()).1.map(|id| id.chars().count()), Some(36));
    }
}
