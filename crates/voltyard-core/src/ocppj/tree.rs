//! JSON as a flat tape: one vector of slots per document, containers pointing past their last
//! descendant, strings borrowed from the frame where they hold no escape. A frame is parsed
//! (`parse.rs`) into one allocation, validated in place (`schema_view.rs` lets the JSON-schema
//! crate read the tape) and walked once more to build the caller's objects.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Number, Value};

/// One slot of a [`JsonTree`]. Object members are a `Str` key slot followed by the value's slots.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    /// `len` elements; `end` is the index just past the last descendant.
    Array {
        len: usize,
        end: usize,
    },
    /// `len` members; `end` is the index just past the last descendant.
    Object {
        len: usize,
        end: usize,
    },
}

/// A JSON document as a tape of slots; the document is the value at index 0.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonTree<'a> {
    pub(super) slots: Vec<Slot<'a>>,
}

/// A value inside a [`JsonTree`]: cheap to copy.
#[derive(Clone, Copy)]
pub struct JsonNode<'a> {
    pub(super) slots: &'a [Slot<'a>],
    pub(super) index: usize,
}

impl fmt::Debug for JsonNode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

impl PartialEq for JsonNode<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.to_value() == other.to_value()
    }
}

/// What a [`JsonNode`] holds, one level deep.
#[derive(Clone)]
pub enum Kind<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a str),
    Array(Elements<'a>),
    Object(Members<'a>),
}

impl<'a> JsonTree<'a> {
    /// The document.
    #[must_use]
    pub fn root(&self) -> JsonNode<'_> {
        JsonNode { slots: &self.slots, index: 0 }
    }

    /// The value at `index` (an index that a [`JsonNode`] of this tree reported).
    #[must_use]
    pub fn node(&self, index: usize) -> JsonNode<'_> {
        JsonNode { slots: &self.slots, index }
    }

    /// The slot at `index`.
    #[must_use]
    pub fn slot(&self, index: usize) -> &Slot<'a> {
        &self.slots[index]
    }

    /// Builds a tree from plain data: `push` scalars, `open` and `close` containers, keys as strings.
    #[must_use]
    pub fn builder() -> TreeBuilder<'a> {
        TreeBuilder { slots: Vec::new(), open: Vec::new() }
    }
}

/// Builds a [`JsonTree`] in document order (see [`JsonTree::builder`]).
pub struct TreeBuilder<'a> {
    slots: Vec<Slot<'a>>,
    open: Vec<(usize, usize)>,
}

impl<'a> TreeBuilder<'a> {
    /// Adds a scalar, or an object key (a `Str`) before its value.
    pub fn push(&mut self, slot: Slot<'a>) {
        self.count_child();
        self.slots.push(slot);
    }

    /// Opens an array (`object == false`) or an object.
    pub fn open(&mut self, object: bool) {
        let slot = if object { Slot::Object { len: 0, end: 0 } } else { Slot::Array { len: 0, end: 0 } };
        self.count_child();
        self.open.push((self.slots.len(), 0));
        self.slots.push(slot);
    }

    /// Closes the innermost open container.
    pub fn close(&mut self) {
        let Some((at, children)) = self.open.pop() else { return };
        let end = self.slots.len();
        match &mut self.slots[at] {
            Slot::Array { len, end: e } => (*len, *e) = (children, end),
            Slot::Object { len, end: e } => (*len, *e) = (children / 2, end),
            _ => {}
        }
    }

    fn count_child(&mut self) {
        if let Some((_, children)) = self.open.last_mut() {
            *children += 1;
        }
    }

    /// The finished tree (open containers are closed).
    #[must_use]
    pub fn finish(mut self) -> JsonTree<'a> {
        while !self.open.is_empty() {
            self.close();
        }
        JsonTree { slots: self.slots }
    }
}

impl<'a> JsonNode<'a> {
    /// This value's index in its tree.
    #[must_use]
    pub fn index(self) -> usize {
        self.index
    }

    /// What this value is.
    #[must_use]
    pub fn kind(self) -> Kind<'a> {
        match &self.slots[self.index] {
            Slot::Null => Kind::Null,
            Slot::Bool(b) => Kind::Bool(*b),
            Slot::Int(i) => Kind::Int(*i),
            Slot::UInt(u) => Kind::UInt(*u),
            Slot::Float(f) => Kind::Float(*f),
            Slot::Str(s) => Kind::Str(s),
            Slot::Array { len, .. } => Kind::Array(Elements { slots: self.slots, next: self.index + 1, left: *len }),
            Slot::Object { len, .. } => Kind::Object(Members { slots: self.slots, next: self.index + 1, left: *len }),
        }
    }

    /// The string, when this is one.
    #[must_use]
    pub fn as_str(self) -> Option<&'a str> {
        match &self.slots[self.index] {
            Slot::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is an object.
    #[must_use]
    pub fn is_object(self) -> bool {
        matches!(self.slots[self.index], Slot::Object { .. })
    }

    /// The same value as a `serde_json::Value` (for cold paths: errors, tests).
    #[must_use]
    pub fn to_value(self) -> Value {
        match self.kind() {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(b),
            Kind::Int(i) => Value::Number(i.into()),
            Kind::UInt(u) => Value::Number(u.into()),
            Kind::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
            Kind::Str(s) => Value::String(s.to_owned()),
            Kind::Array(items) => Value::Array(items.map(JsonNode::to_value).collect()),
            Kind::Object(members) => {
                Value::Object(members.map(|(k, v)| (k.to_owned(), v.to_value())).collect::<Map<_, _>>())
            }
        }
    }

    /// Appends the value as compact JSON, byte for byte what `serde_json::to_vec` writes, but faster:
    /// a string the parser borrowed from the frame held no escape and no control character, so it
    /// is copied as it is.
    pub fn write_json(self, out: &mut Vec<u8>) {
        match &self.slots[self.index] {
            Slot::Str(Cow::Borrowed(text)) => {
                out.push(b'"');
                out.extend_from_slice(text.as_bytes());
                out.push(b'"');
            }
            Slot::Array { .. } => {
                out.push(b'[');
                if let Kind::Array(items) = self.kind() {
                    for (at, item) in items.enumerate() {
                        if at > 0 {
                            out.push(b',');
                        }
                        item.write_json(out);
                    }
                }
                out.push(b']');
            }
            Slot::Object { len, .. } => {
                out.push(b'{');
                let mut next = self.index + 1;
                for at in 0..*len {
                    if at > 0 {
                        out.push(b',');
                    }
                    JsonNode { slots: self.slots, index: next }.write_json(out);
                    out.push(b':');
                    let value = JsonNode { slots: self.slots, index: next + 1 };
                    value.write_json(out);
                    next = value.end();
                }
                out.push(b'}');
            }
            // Scalars and strings that held an escape: serde_json's writer, which cannot fail on
            // a Vec (a tree holds no NaN or infinity).
            _ => {
                let _ = serde_json::to_writer(&mut *out, &self);
            }
        }
    }

    fn end(self) -> usize {
        match self.slots[self.index] {
            Slot::Array { end, .. } | Slot::Object { end, .. } => end,
            _ => self.index + 1,
        }
    }
}

/// The elements of an array, in order.
#[derive(Clone)]
pub struct Elements<'a> {
    pub(super) slots: &'a [Slot<'a>],
    pub(super) next: usize,
    pub(super) left: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = JsonNode<'a>;

    fn next(&mut self) -> Option<JsonNode<'a>> {
        if self.left == 0 {
            return None;
        }
        let node = JsonNode { slots: self.slots, index: self.next };
        self.left -= 1;
        self.next = node.end();
        Some(node)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Elements<'_> {}

/// The members of an object, in document order.
#[derive(Clone)]
pub struct Members<'a> {
    pub(super) slots: &'a [Slot<'a>],
    pub(super) next: usize,
    pub(super) left: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, JsonNode<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let Slot::Str(key) = &self.slots[self.next] else { return None };
        let value = JsonNode { slots: self.slots, index: self.next + 1 };
        self.left -= 1;
        self.next = value.end();
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Members<'_> {}

impl serde::Serialize for JsonNode<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.kind() {
            Kind::Null => serializer.serialize_unit(),
            Kind::Bool(b) => serializer.serialize_bool(b),
            Kind::Int(i) => serializer.serialize_i64(i),
            Kind::UInt(u) => serializer.serialize_u64(u),
            Kind::Float(f) => serializer.serialize_f64(f),
            Kind::Str(s) => serializer.serialize_str(s),
            Kind::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(ExactSizeIterator::len(&items)))?;
                for item in items {
                    seq.serialize_element(&item)?;
                }
                seq.end()
            }
            Kind::Object(members) => {
                let mut map = serializer.serialize_map(Some(ExactSizeIterator::len(&members)))?;
                for (key, value) in members {
                    map.serialize_entry(key, &value)?;
                }
                map.end()
            }
        }
    }
}
