//! OCPP-J 1.6: the frame envelope (`[2,id,action,payload]`, `[3,id,payload]`,
//! `[4,id,code,description,details]`), its strict decoding and schema validation, encoding, and the
//! meter readings of a `MeterValues` request and the `dateTime` values.

pub mod datetime;
mod decode;
mod encode;
mod error_code;
pub mod meter;
mod parse;
mod schema;
mod schema_view;
mod tree;

use std::borrow::Cow;

pub use decode::{decode, sniff_envelope};
pub use encode::{EncodeError, encode_call, encode_call_error, encode_call_result};
pub use error_code::{ErrorCode, FrameError};
pub use parse::{MAX_DEPTH, ParseError, parse_strict};
pub use schema::{Direction, SchemaLoadError, SchemaSet};
pub use tree::{Elements, JsonNode, JsonTree, Kind, Members, Slot, TreeBuilder};

/// Longest message id that OCPP-J 1.6 allows.
pub const MAX_MESSAGE_ID_CHARS: usize = 36;

/// The `MessageTypeId` in the first element of every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    Call = 2,
    CallResult = 3,
    CallError = 4,
}

impl MessageType {
    /// The type for a wire number, `None` for anything else.
    #[must_use]
    pub const fn from_wire(number: u64) -> Option<Self> {
        match number {
            2 => Some(Self::Call),
            3 => Some(Self::CallResult),
            4 => Some(Self::CallError),
            _ => None,
        }
    }

    /// How many elements a frame of this type has.
    #[must_use]
    pub const fn arity(self) -> usize {
        match self {
            Self::Call => 4,
            Self::CallResult => 3,
            Self::CallError => 5,
        }
    }
}

/// A decoded frame; its strings borrow from the frame's text where they can.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame<'a> {
    Call { message_id: Cow<'a, str>, action: Cow<'a, str>, payload: Payload<'a> },
    CallResult { message_id: Cow<'a, str>, payload: Payload<'a> },
    CallError { message_id: Cow<'a, str>, code: Cow<'a, str>, description: Cow<'a, str>, details: Payload<'a> },
}

impl Frame<'_> {
    /// The message id that correlates a CALL with its answer.
    #[must_use]
    pub fn message_id(&self) -> &str {
        match self {
            Self::Call { message_id, .. }
            | Self::CallResult { message_id, .. }
            | Self::CallError { message_id, .. } => message_id,
        }
    }
}

/// The payload (or errorDetails) of a frame: the frame's parsed tree and where the payload is in it.
#[derive(Debug, Clone)]
pub struct Payload<'a> {
    tree: JsonTree<'a>,
    index: usize,
}

impl Payload<'_> {
    /// The payload's value.
    #[must_use]
    pub fn node(&self) -> JsonNode<'_> {
        self.tree.node(self.index)
    }
}

impl PartialEq for Payload<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.node() == other.node()
    }
}

/// Whether `id` is a usable message id: 1 to 36 characters.
#[must_use]
pub fn is_valid_message_id(id: &str) -> bool {
    !id.is_empty() && id.chars().count() <= MAX_MESSAGE_ID_CHARS
}
