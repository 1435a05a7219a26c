//! Text frame -> [`Frame`] in one pass: strict JSON parse, envelope checks, and schema validation
//! of CALL (and 2.1 SEND) payloads, and of a CALLRESULT's payload when the caller says which
//! action it answers, against the schemas of the [`SchemaSet`]'s version. Every failure is a
//! [`FrameError`] in that version's spelling, carrying the message id whenever the envelope lets it
//! be read.
//!
//! Codes of the envelope: 1.6 has one for everything that is not a frame, `FormationViolation`;
//! 2.x answers text that is not JSON with `FormatViolation`, a JSON value that is not a frame
//! (not an array, wrong length, unreadable message id or action) with `RpcFrameworkError`, and a
//! `MessageTypeId` it does not know with `MessageTypeNotSupported` (2.0.1 knows 2-4, 2.1 2-6).

use std::borrow::Cow;

use super::error_code::{ErrorCode, FrameError};
use super::parse::parse_strict;
use super::schema::{Direction, SchemaSet, preview, preview_str};
use super::tree::{JsonNode, JsonTree, Kind, Slot};
use super::{Frame, MAX_MESSAGE_ID_CHARS, MessageType, Payload, Version, is_valid_message_id};

/// Decodes one OCPP-J text frame of the version of `schemas`.
///
/// CALL payloads are validated against the request schema of their action, SEND payloads (2.1)
/// against the schema of their SEND-only action; a CALLRESULT's payload is validated against the
/// response schema of `answers` when given (the action of the CALL it answers), and left
/// unchecked otherwise.
pub fn decode<'a>(text: &'a [u8], schemas: &SchemaSet, answers: Option<&str>) -> Result<Frame<'a>, FrameError> {
    let version = schemas.version();
    let tree = parse_strict(text).map_err(|e| {
        let (message_type, message_id) = sniff_envelope_in(text, version);
        let code = ErrorCode::FormationViolation.spelled_for(version);
        let error = FrameError::new(code, format!("frame is not valid JSON: {e}"));
        FrameError { message_type, ..error.with_id(message_id.as_deref()) }
    })?;
    let envelope = if version.is_2x() { ErrorCode::RpcFrameworkError } else { ErrorCode::FormationViolation };
    let Kind::Array(elements) = tree.root().kind() else {
        return Err(FrameError::new(envelope, format!("frame must be a JSON array, got {}", kind_of(tree.root()))));
    };
    let count = elements.len();
    let mut parts: [Option<JsonNode<'_>>; 5] = [None; 5];
    for (part, node) in parts.iter_mut().zip(elements) {
        *part = Some(node);
    }
    let id = parts[1].and_then(JsonNode::as_str).filter(|id| is_valid_message_id(id));
    let formation = |description: String| FrameError::new(envelope, description).with_id(id);
    let Some(first) = parts[0] else {
        return Err(formation("frame is an empty array".into()));
    };
    let wire = match first.kind() {
        Kind::Int(n) => u64::try_from(n).ok().and_then(MessageType::from_wire),
        _ => None,
    };
    let message_type = match wire {
        Some(message_type) if version.supports(message_type) => message_type,
        _ if version.is_2x() && matches!(first.kind(), Kind::Int(_)) => {
            return Err(FrameError::new(
                ErrorCode::MessageTypeNotSupported,
                format!("MessageTypeId must be {} in OCPP {version}, got {}", known_types(version), kind_of(first)),
            )
            .with_id(id));
        }
        _ => return Err(formation(format!("MessageTypeId must be {}, got {}", known_types(version), kind_of(first)))),
    };
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
    let malformed =
        |what: &str, got: JsonNode<'_>| error_id(FrameError::new(envelope, format!("{what}, got {}", kind_of(got))));
    match message_type {
        MessageType::Call | MessageType::Send => {
            let Some(action) = part(2).as_str() else {
                return Err(malformed("action must be a string", part(2)));
            };
            let direction = if message_type == MessageType::Call { Direction::Request } else { Direction::Send };
            schemas.validate(action, direction, part(3)).map_err(error_id)?;
            let (message_id, action) = (owned_str(&tree, part(1)), owned_str(&tree, part(2)));
            let payload = Payload { index: part(3).index(), tree };
            Ok(if message_type == MessageType::Call {
                Frame::Call { message_id, action, payload }
            } else {
                Frame::Send { message_id, action, payload }
            })
        }
        MessageType::CallResult => {
            if let Some(action) = answers {
                schemas.validate(action, Direction::Response, part(2)).map_err(error_id)?;
            }
            let message_id = owned_str(&tree, part(1));
            let payload = part(2).index();
            Ok(Frame::CallResult { message_id, payload: Payload { tree, index: payload } })
        }
        MessageType::CallError | MessageType::CallResultError => {
            let name = if message_type == MessageType::CallError { "CALLERROR" } else { "CALLRESULTERROR" };
            if !part(4).is_object() {
                return Err(malformed(&format!("{name} errorDetails must be an object"), part(4)));
            }
            match part(2).as_str() {
                None => return Err(malformed(&format!("{name} errorCode must be a string"), part(2))),
                Some("") => return Err(malformed(&format!("{name} errorCode must not be empty"), part(2))),
                Some(_) => {}
            }
            if part(3).as_str().is_none() {
                return Err(malformed(&format!("{name} errorDescription must be a string"), part(3)));
            }
            let (code, description) = (owned_str(&tree, part(2)), owned_str(&tree, part(3)));
            let (message_id, index) = (owned_str(&tree, part(1)), part(4).index());
            let details = Payload { tree, index };
            Ok(if message_type == MessageType::CallError {
                Frame::CallError { message_id, code, description, details }
            } else {
                Frame::CallResultError { message_id, code, description, details }
            })
        }
    }
}

fn known_types(version: Version) -> &'static str {
    if version.supports(MessageType::Send) { "2, 3, 4, 5 or 6" } else { "2, 3 or 4" }
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

/// Reads the `MessageTypeId` and the message id from the start of a 1.6 frame whose JSON did not
/// parse, so that a CALL can still get its CALLERROR (and a broken CALLRESULT none): `[`, a
/// `MessageTypeId` of 2, 3 or 4, `,`, then a plain string of 1-36 characters without escapes.
#[must_use]
pub fn sniff_envelope(text: &[u8]) -> (Option<MessageType>, Option<String>) {
    sniff_envelope_in(text, Version::V16)
}

/// [`sniff_envelope`] for `version`: the type only when the version has it (2.1: 2-6); 2.x also
/// reads the message id after a type it does not have, for its `MessageTypeNotSupported` answer.
#[must_use]
pub fn sniff_envelope_in(text: &[u8], version: Version) -> (Option<MessageType>, Option<String>) {
    let mut rest = skip_ws(text);
    let Some(after) = rest.strip_prefix(b"[") else { return (None, None) };
    rest = skip_ws(after);
    let wire = match rest.split_first() {
        Some((&digit, after)) if after.first().is_some_and(|b| matches!(b, b',' | b' ' | b'\t' | b'\n' | b'\r')) => {
            rest = after;
            MessageType::from_wire(u64::from(digit.wrapping_sub(b'0')))
        }
        _ => None,
    };
    let message_type = wire.filter(|&t| version.supports(t));
    let readable = message_type.is_some() || (version.is_2x() && wire.is_some());
    (message_type, if readable { sniff_id(rest) } else { None })
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
    fn sniffs_the_types_of_each_version() {
        let send = b"[6,\"s-1\",\"NotifyPeriodicEventStream\",{";
        assert_eq!(sniff_envelope_in(send, Version::V21), (Some(MessageType::Send), Some("s-1".into())));
        // 2.0.1 has no SEND, but reads the id for its MessageTypeNotSupported answer; 1.6 reads neither.
        assert_eq!(sniff_envelope_in(send, Version::V201), (None, Some("s-1".into())));
        assert_eq!(sniff_envelope_in(send, Version::V16), (None, None));
        let error = b"[5,\"e-1\",\"GenericError\"";
        assert_eq!(sniff_envelope_in(error, Version::V21), (Some(MessageType::CallResultError), Some("e-1".into())));
    }

    #[test]
    fn sniffing_stops_at_36_characters() {
        let long = format!("[2,\"{}\",", "x".repeat(37));
        assert_eq!(sniff_envelope(long.as_bytes()).1, None);
        let ok = format!("[2,\"{}\",", "é".repeat(36));
        assert_eq!(sniff_envelope(ok.as_bytes()).1.map(|id| id.chars().count()), Some(36));
    }
}
