//! The strict JSON parser behind [`JsonTree`]: hand-written for one pass that borrows plain
//! strings from the frame, and differential-tested against `serde_json` (the tests below).
//!
//! Strict means RFC 8259 (UTF-8 only, no NaN/Infinity, no lone surrogates) with at most 128 levels
//! of nesting and, in addition: objects with a repeated key are refused (two readers of one frame
//! must never see different payloads), and numbers beyond 64 bits are refused: integer literals
//! outside -2^63..=2^64-1, and fraction or exponent literals of magnitude 2^63 or more (no OCPP
//! field holds one, the store cannot keep one as an integer, and JSON-schema's `integer` would
//! accept `1e30` as one).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use super::tree::{JsonTree, Members, Slot};

/// Why a text is not strict JSON, and where. Boxed: a `Result` of it stays as small as the
/// node, which the parser moves around on every value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(Box<ParseErrorInner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct ParseErrorInner {
    message: String,
    line: usize,
    column: usize,
}

impl ParseError {
    /// What is wrong, without the position.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// 1-based line and column of the offending byte.
    #[must_use]
    pub fn position(&self) -> (usize, usize) {
        (self.0.line, self.0.column)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at line {} column {}", self.0.message, self.0.line, self.0.column)
    }
}

impl std::error::Error for ParseError {}

/// Bytes that end a run of plain string content: the closing quote, a backslash, a control character.
static STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The index of the first byte at or after `from` that ends a run of plain string content.
/// Eight bytes at a time (SWAR): OCPP strings are short, too short for a SIMD search to pay off.
#[inline]
fn find_string_stop(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // Per byte: zero (a match) or below 0x20 sets its high bit; bytes after a hit may be
        // flagged falsely by the borrow, never the ones before it.
        let hits = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word);
        let hits = hits & HIGHS;
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at.min(bytes.len())..].iter().position(|&b| STRING_STOP[usize::from(b)]).map(|i| at + i)
}

/// Deepest nesting of arrays and objects accepted (`serde_json`'s limit too).
pub const MAX_DEPTH: usize = 128;
/// 2^63 as f64: the first magnitude that no i64 holds; floats from here on are refused.
const FLOAT_LIMIT: f64 = 9_223_372_036_854_775_808.0;
/// Above this many members, duplicate keys are found through a hash set instead of a scan.
const LINEAR_KEY_CHECK: usize = 16;

/// Parses one JSON document from `text`, refusing invalid UTF-8, duplicate keys, numbers out of
/// the 64-bit range, nesting deeper than [`MAX_DEPTH`] and trailing content.
pub fn parse_strict(text: &[u8]) -> Result<JsonTree<'_>, ParseError> {
    let source = std::str::from_utf8(text).map_err(|e| error_at(text, e.valid_up_to(), "invalid UTF-8".to_owned()))?;
    // A slot per 8 bytes covers OCPP payloads without regrowth.
    let mut parser =
        Parser { text: source, bytes: text, pos: 0, depth: 0, slots: Vec::with_capacity(text.len() / 8 + 4) };
    parser.value()?;
    parser.skip_ws();
    if parser.pos != text.len() {
        return Err(parser.error("trailing characters after the JSON value"));
    }
    Ok(JsonTree { slots: parser.slots })
}

/// Length and some bytes of a key: tells most different keys apart without comparing them (equal
/// keys always have equal prints). Fixed-size reads, no loop: the first seven bytes from eight bytes
/// up, else the first and last four bytes (overlapping), else the first, middle and last byte.
#[inline]
fn fingerprint(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let some = if let Some(head) = bytes.first_chunk::<8>() {
        u64::from_le_bytes(*head) & 0x00FF_FFFF_FFFF_FFFF
    } else if let (Some(head), Some(tail)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        u64::from(u32::from_le_bytes(*head)) | (u64::from(u32::from_le_bytes(*tail)) << 24)
    } else if let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) {
        u64::from(first) | (u64::from(bytes[bytes.len() / 2]) << 8) | (u64::from(last) << 16)
    } else {
        0
    };
    ((bytes.len() as u64) << 56) ^ some
}

#[cold]
#[allow(clippy::naive_bytecount)] // Only on the error path: not worth a dependency.
fn error_at(text: &[u8], pos: usize, message: String) -> ParseError {
    let before = &text[..pos.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    ParseError(Box::new(ParseErrorInner { message, line, column: pos - line_start + 1 }))
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    slots: Vec<Slot<'a>>,
}

impl<'a> Parser<'a> {
    #[cold]
    fn error(&self, message: impl Into<String>) -> ParseError {
        error_at(self.bytes, self.pos, message.into())
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Parses one value and appends its slots.
    fn value(&mut self) -> Result<(), ParseError> {
        self.skip_ws();
        let slot = match self.peek() {
            Some(b'{') => return self.container(true),
            Some(b'[') => return self.container(false),
            Some(b'"') => Slot::Str(self.string()?),
            Some(b't') => self.literal("true", Slot::Bool(true))?,
            Some(b'f') => self.literal("false", Slot::Bool(false))?,
            Some(b'n') => self.literal("null", Slot::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.error("expected a JSON value")),
            None => return Err(self.error("EOF while parsing a value")),
        };
        self.slots.push(slot);
        Ok(())
    }

    fn literal(&mut self, word: &str, slot: Slot<'a>) -> Result<Slot<'a>, ParseError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(slot)
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn container(&mut self, object: bool) -> Result<(), ParseError> {
        if self.depth == MAX_DEPTH {
            return Err(self.error(format!("recursion limit exceeded ({MAX_DEPTH} levels)")));
        }
        self.depth += 1;
        self.pos += 1;
        let at = self.slots.len();
        self.slots.push(Slot::Null);
        let len = if object { self.members(at)? } else { self.elements()? };
        let end = self.slots.len();
        self.slots[at] = if object { Slot::Object { len, end } } else { Slot::Array { len, end } };
        self.depth -= 1;
        Ok(())
    }

    fn elements(&mut self) -> Result<usize, ParseError> {
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(0);
        }
        let mut len = 0;
        loop {
            self.value()?;
            len += 1;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(len);
                }
                Some(_) => return Err(self.error("expected `,` or `]`")),
                None => return Err(self.error("EOF while parsing a list")),
            }
        }
    }

    fn members(&mut self, at: usize) -> Result<usize, ParseError> {
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(0);
        }
        let mut len = 0;
        // The first keys are checked for repeats through a fingerprint and their slot, on the
        // stack; larger objects switch to a hash set.
        let mut prints = [0u64; LINEAR_KEY_CHECK];
        let mut key_slots = [0usize; LINEAR_KEY_CHECK];
        let mut seen: Option<HashSet<Cow<'a, str>>> = None;
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key_pos = self.pos;
            let key = self.string()?;
            let print = fingerprint(&key);
            let duplicate = match &mut seen {
                Some(seen) => !seen.insert(key.clone()),
                None => prints[..len]
                    .iter()
                    .zip(&key_slots[..len])
                    .any(|(&p, &i)| p == print && matches!(&self.slots[i], Slot::Str(k) if *k == key)),
            };
            if duplicate {
                return Err(error_at(self.bytes, key_pos, format!("duplicate key {key:?}")));
            }
            if len < LINEAR_KEY_CHECK {
                (prints[len], key_slots[len]) = (print, self.slots.len());
            } else if seen.is_none() {
                let keys =
                    Members { slots: &self.slots, next: at + 1, left: len }.map(|(k, _)| Cow::Owned(k.to_owned()));
                seen = Some(keys.chain([key.clone()]).collect());
            }
            self.slots.push(Slot::Str(key));
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:`"));
            }
            self.pos += 1;
            self.value()?;
            len += 1;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(len);
                }
                Some(_) => return Err(self.error("expected `,` or `}`")),
                None => return Err(self.error("EOF while parsing an object")),
            }
        }
    }

    /// A string starting at the opening quote; borrowed when it holds no escape.
    fn string(&mut self) -> Result<Cow<'a, str>, ParseError> {
        self.pos += 1;
        let start = self.pos;
        let mut owned: Option<String> = None;
        loop {
            let Some(run_end) = find_string_stop(self.bytes, self.pos) else {
                self.pos = self.bytes.len();
                return Err(self.error("EOF while parsing a string"));
            };
            if self.bytes[run_end] < 0x20 {
                self.pos = run_end;
                return Err(self.error("control character in a string"));
            }
            let run = &self.text[self.pos..run_end];
            self.pos = run_end + 1;
            if self.bytes[run_end] == b'"' {
                return Ok(match owned {
                    None => Cow::Borrowed(&self.text[start..run_end]),
                    Some(mut owned) => {
                        owned.push_str(run);
                        Cow::Owned(owned)
                    }
                });
            }
            let buffer = owned.get_or_insert_with(String::new);
            buffer.push_str(run);
            self.escape(buffer)?;
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), ParseError> {
        let Some(byte) = self.peek() else { return Err(self.error("EOF while parsing a string")) };
        self.pos += 1;
        let ch = match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => return Err(self.error("invalid escape")),
        };
        out.push(ch);
        Ok(())
    }

    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.bytes[self.pos..].starts_with(b"\\u") {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("invalid trailing surrogate in hex escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone trailing surrogate in hex escape")),
            code => code,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self.bytes.get(self.pos..self.pos + 4).ok_or_else(|| self.error("EOF while parsing a string"))?;
        let mut code = 0;
        for &digit in digits {
            let value = char::from(digit).to_digit(16).ok_or_else(|| self.error("invalid \\u escape"))?;
            code = code * 16 + value;
        }
        self.pos += 4;
        Ok(code)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// RFC 8259 numbers: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<Slot<'a>, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("invalid number")),
        }
        let mut integral = true;
        if self.peek() == Some(b'.') {
            integral = false;
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number: digits expected after `.`"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            integral = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number: digits expected in the exponent"));
            }
        }
        let literal = &self.text[start..self.pos];
        if integral {
            if let Ok(i) = literal.parse::<i64>() {
                return Ok(Slot::Int(i));
            }
            if let Ok(u) = literal.parse::<u64>() {
                return Ok(Slot::UInt(u));
            }
        }
        match literal.parse::<f64>() {
            Ok(f) if f.is_finite() && f.abs() < FLOAT_LIMIT && !integral => Ok(Slot::Float(f)),
            _ => Err(error_at(self.bytes, start, format!("number {literal} is beyond the 64-bit range"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocppj::tree::Kind;
    use serde_json::{Value, json};

    fn parse(text: &str) -> Value {
        parse_strict(text.as_bytes()).unwrap().root().to_value()
    }

    #[test]
    fn parses_plain_documents_and_borrows_plain_strings() {
        let text = br#"[2, "a", "Heartbeat", {"x": [1, -2, 3.5, null, true, "t\u00e9"], "y": {}}]"#;
        let tree = parse_strict(text).unwrap();
        assert_eq!(
            tree.root().to_value(),
            json!([2, "a", "Heartbeat", {"x": [1, -2, 3.5, null, true, "t\u{e9}"], "y": {}}])
        );
        assert!(matches!(&tree.slots[2], Slot::Str(Cow::Borrowed("a"))));
        let Kind::Array(items) = tree.root().kind() else { panic!() };
        assert_eq!(ExactSizeIterator::len(&items), 4);
        assert!(items.last().unwrap().is_object());
    }

    #[test]
    fn builder_makes_the_same_tree_as_the_parser() {
        let mut builder = JsonTree::builder();
        builder.open(false);
        builder.push(Slot::Int(3));
        builder.open(true);
        builder.push(Slot::Str("a".into()));
        builder.open(false);
        builder.close();
        builder.push(Slot::Str("b".into()));
        builder.push(Slot::Null);
        builder.close();
        builder.close();
        assert_eq!(builder.finish(), parse_strict(br#"[3, {"a": [], "b": null}]"#).unwrap());
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth_and_size() {
        let err = parse_strict(br#"{"a": {"b": 1, "b": 2}}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate key \"b\""), "{err}");
        let mut wide: Vec<String> = (0..100).map(|i| format!("\"k{i}\": [{i}]")).collect();
        assert_eq!(parse(&format!("{{{}}}", wide.join(",")))["k99"], json!([99]));
        wide.push("\"k7\": 0".into());
        let err = parse_strict(format!("{{{}}}", wide.join(",")).as_bytes()).unwrap_err();
        assert!(err.to_string().contains("duplicate key \"k7\""), "{err}");
        // The same key written with and without an escape is the same key.
        assert!(parse_strict(br#"{"a": 1, "\u0061": 2}"#).is_err());
    }

    #[test]
    fn refuses_non_finite_and_out_of_range_numbers() {
        for text in ["NaN", "Infinity", "-Infinity", "1e400", "[-1e999]", "1e19", "-9223372036854775809"] {
            assert!(parse_strict(text.as_bytes()).is_err(), "{text}");
        }
    }

    #[test]
    fn keeps_the_64_bit_range() {
        assert_eq!(
            parse("[18446744073709551615, -9223372036854775808, 1e18, 0.5]"),
            json!([u64::MAX, i64::MIN, 1e18, 0.5])
        );
    }

    #[test]
    fn refuses_deep_nesting_without_overflowing_the_stack() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = parse_strict(deep.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse_strict(ok.as_bytes()).is_ok());
    }

    #[test]
    fn refuses_trailing_content_and_invalid_utf8() {
        assert!(parse_strict(b"[] []").is_err());
        assert!(parse_strict(b"[\"\xff\"]").is_err());
        assert_eq!(parse_strict(b"[1,\n 2,]").unwrap_err().position(), (2, 4));
    }
}

#[cfg(test)]
mod differential {
    //! The hand-written parser against `serde_json` on arbitrary and on JSON-shaped text: where
    //! one accepts, the other agrees on the value; where they differ, it is one of our rules.
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            any::<i64>().prop_map(|i| i.to_string()),
            any::<u64>().prop_map(|u| u.to_string()),
            (-1e17f64..1e17).prop_map(|f| format!("{f:?}")),
            "[ -~]{0,8}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            "\\PC{0,6}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#""\ud83d\ude00 \u00e9 \n\t\"\\/""#.to_owned()),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(" , "))),
                proptest::collection::vec(("[a-z]{1,3}", inner), 0..5).prop_map(|v| {
                    let members: Vec<String> = v.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{ {} }}", members.join(","))
                }),
            ]
        })
    }

    fn agrees_with_serde(text: &[u8]) -> Result<(), TestCaseError> {
        let ours = parse_strict(text);
        let theirs = serde_json::from_slice::<Value>(text);
        match (&ours, &theirs) {
            (Ok(tree), Ok(value)) => {
                prop_assert_eq!(&tree.root().to_value(), value);
                // The compact writer writes what serde_json writes.
                let mut written = Vec::new();
                tree.root().write_json(&mut written);
                prop_assert_eq!(written, serde_json::to_vec(&tree.root()).expect("serialises"));
            }
            (Err(e), Ok(_)) => prop_assert!(
                e.message().starts_with("duplicate key") || e.message().contains("64-bit range"),
                "we refused what serde_json accepts: {}",
                e
            ),
            (Ok(tree), Err(e)) => prop_assert!(false, "we accepted {:?}, serde_json said {}", tree.root(), e),
            (Err(_), Err(_)) => {}
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn agrees_on_json_shaped_text(text in json_text()) {
            agrees_with_serde(text.as_bytes())?;
        }

        #[test]
        fn agrees_on_mutated_json(text in json_text(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut bytes = text.into_bytes();
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            agrees_with_serde(&bytes)?;
        }

        #[test]
        fn agrees_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            agrees_with_serde(&bytes)?;
        }
    }
}
