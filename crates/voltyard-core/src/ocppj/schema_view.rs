//! How the JSON-schema crate reads a [`JsonTree`]: its `Json` representation over the tape, so
//! that payloads are validated in place, without a copy into `serde_json::Value`.

use std::borrow::Cow;

use jsonschema::JsonType;
use jsonschema::json::{Array, Json, JsonNumber, Node, NodeIdentity, Object, cmp};
use serde_json::{Number, Value};

use super::tree::{Elements, JsonNode, Kind, Members, Slot};

/// The JSON-schema crate's view of [`JsonTree`]s.
pub struct Tree;

impl Json for Tree {
    type Node<'a> = JsonNode<'a>;
    type PreparedKey = Box<str>;
    type StringBuffer = ();

    // Lookups scan the members, so a pass over all members replaces several lookups.
    const KEYS_PER_LOOKUP: usize = 8;
    const ACYCLIC: bool = true;

    fn prepare_key(key: &str) -> Box<str> {
        key.into()
    }

    fn with_string_node<T>((): &mut (), string: &str, f: impl FnOnce(Self::Node<'_>) -> T) -> T {
        let slots = [Slot::Str(Cow::Borrowed(string))];
        f(JsonNode { slots: &slots, index: 0 })
    }
}

impl<'a> Node<'a, Tree> for JsonNode<'a> {
    type Object = Members<'a>;
    type Array = Elements<'a>;
    type Number = NumberRef;

    fn as_object(&self) -> Option<Members<'a>> {
        match self.kind() {
            Kind::Object(members) => Some(members),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<Elements<'a>> {
        match self.kind() {
            Kind::Array(items) => Some(items),
            _ => None,
        }
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        JsonNode::as_str(*self).map(Cow::Borrowed)
    }

    fn as_number(&self) -> Option<NumberRef> {
        match self.slots[self.index] {
            Slot::Int(i) => Some(NumberRef::Int(i)),
            Slot::UInt(u) => Some(NumberRef::UInt(u)),
            Slot::Float(f) => Some(NumberRef::Float(f)),
            _ => None,
        }
    }

    fn as_boolean(&self) -> Option<bool> {
        match self.slots[self.index] {
            Slot::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.slots[self.index], Slot::Null)
    }

    fn json_type(&self) -> JsonType {
        match self.slots[self.index] {
            Slot::Null => JsonType::Null,
            Slot::Bool(_) => JsonType::Boolean,
            Slot::Int(_) | Slot::UInt(_) | Slot::Float(_) => JsonType::Number,
            Slot::Str(_) => JsonType::String,
            Slot::Array { .. } => JsonType::Array,
            Slot::Object { .. } => JsonType::Object,
        }
    }

    fn string_length_within(&self, min: u64, max: u64) -> Option<bool> {
        let s = JsonNode::as_str(*self)?;
        // A code point takes one to four bytes: the byte length often settles it without counting.
        let bytes = s.len() as u64;
        let fewest = bytes.div_ceil(4);
        if bytes < min || fewest > max {
            return Some(false);
        }
        if min <= fewest && bytes <= max {
            return Some(true);
        }
        Some((min..=max).contains(&(s.chars().count() as u64)))
    }

    fn equals_value(&self, expected: &Value) -> bool {
        match (&self.slots[self.index], expected) {
            (Slot::Str(s), Value::String(e)) => s == e,
            (Slot::Str(_), _) | (_, Value::String(_)) => false,
            (Slot::Bool(b), Value::Bool(e)) => b == e,
            (Slot::Null, Value::Null) => true,
            _ => cmp::equal(&JsonNode::to_value(*self), expected),
        }
    }

    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(JsonNode::to_value(*self))
    }

    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::new(std::ptr::from_ref(&self.slots[self.index]) as usize))
    }
}

impl<'a> Object<'a, Tree> for Members<'a> {
    type Node = JsonNode<'a>;
    type MemberName = &'a str;
    type MembersIter = Members<'a>;

    fn len(&self) -> usize {
        self.left
    }

    fn get(&self, key: &Box<str>) -> Option<JsonNode<'a>> {
        self.clone().find(|(name, _)| *name == key.as_ref()).map(|(_, value)| value)
    }

    fn members(&self) -> Members<'a> {
        self.clone()
    }
}

impl<'a> Array<'a, Tree> for Elements<'a> {
    type Node = JsonNode<'a>;
    type ElementsIter = Elements<'a>;

    fn len(&self) -> usize {
        self.left
    }

    fn elements(&self) -> Elements<'a> {
        self.clone()
    }
}

/// A number of a [`Tree`].
#[derive(Clone, Copy, Debug)]
pub enum NumberRef {
    Int(i64),
    UInt(u64),
    Float(f64),
}

impl JsonNumber for NumberRef {
    fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::Int(i) => u64::try_from(i).ok(),
            Self::UInt(u) => Some(u),
            Self::Float(_) => None,
        }
    }

    fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::Int(i) => Some(i),
            Self::UInt(u) => i64::try_from(u).ok(),
            Self::Float(_) => None,
        }
    }

    #[allow(clippy::cast_precision_loss)] // JSON-schema compares numbers as f64 where it must
    fn as_f64(&self) -> Option<f64> {
        Some(match *self {
            Self::Int(i) => i as f64,
            Self::UInt(u) => u as f64,
            Self::Float(f) => f,
        })
    }

    fn as_str(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_number().to_string())
    }

    fn to_number(&self) -> Cow<'_, Number> {
        Cow::Owned(match *self {
            Self::Int(i) => i.into(),
            Self::UInt(u) => u.into(),
            Self::Float(f) => Number::from_f64(f).unwrap_or_else(|| 0.into()),
        })
    }

    fn is_integer(&self) -> bool {
        match *self {
            Self::Int(_) | Self::UInt(_) => true,
            Self::Float(f) => f.fract() == 0.0,
        }
    }

    fn is_written_as_integer(&self) -> bool {
        // Floats come from literals with a fraction or an exponent: integers of up to 64 bits
        // arrive as Int/UInt, and larger ones are refused by the parser.
        !matches!(self, Self::Float(_))
    }
}
