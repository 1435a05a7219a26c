//! OCPP-J 1.6, 2.0.1 and 2.1: the frame envelope (`[2,id,action,payload]`, `[3,id,payload]`,
//! `[4,id,code,description,details]`, and 2.1's `[5,id,code,description,details]` CALLRESULTERROR
//! and `[6,id,action,payload]` SEND), its strict decoding and schema validation against the
//! version's schemas, encoding, and the meter readings of a 1.6 `MeterValues` request and the
//! `dateTime` values.

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

pub use decode::{decode, sniff_envelope, sniff_envelope_in};
pub use encode::{
    EncodeError, encode_call, encode_call_error, encode_call_result, encode_call_result_error, encode_send,
};
pub use error_code::{ErrorCode, FrameError};
pub use parse::{MAX_DEPTH, ParseError, parse_strict};
pub use schema::{Direction, SchemaLoadError, SchemaSet};
pub use tree::{Elements, JsonNode, JsonTree, Kind, Members, Slot, TreeBuilder};

/// Longest message id that OCPP-J allows (1.6, 2.0.1 and 2.1 alike).
pub const MAX_MESSAGE_ID_CHARS: usize = 36;

/// An OCPP version: it picks the schemas, the message types and the CALLERROR spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V16,
    V201,
    V21,
}

impl Version {
    /// Every version, oldest first.
    pub const ALL: [Self; 3] = [Self::V16, Self::V201, Self::V21];

    /// `"1.6"`, `"2.0.1"` or `"2.1"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V16 => "1.6",
            Self::V201 => "2.0.1",
            Self::V21 => "2.1",
        }
    }

    /// Parses `"1.6"`, `"2.0.1"` or `"2.1"`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }

    /// Whether frames of `message_type` exist in this version (CALLRESULTERROR and SEND: 2.1 only).
    #[must_use]
    pub const fn supports(self, message_type: MessageType) -> bool {
        match message_type {
            MessageType::Call | MessageType::CallResult | MessageType::CallError => true,
            MessageType::CallResultError | MessageType::Send => matches!(self, Self::V21),
        }
    }

    /// Whether this is 2.0.1 or 2.1, which share their RPC framework's error codes.
    #[must_use]
    pub const fn is_2x(self) -> bool {
        !matches!(self, Self::V16)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `MessageTypeId` in the first element of every frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    Call = 2,
    CallResult = 3,
    CallError = 4,
    /// 2.1: the error answer to a CALLRESULT that the CALL's sender could not process.
    CallResultError = 5,
    /// 2.1: a request that is never answered.
    Send = 6,
}

impl MessageType {
    /// The type for a wire number, `None` for anything else.
    #[must_use]
    pub const fn from_wire(number: u64) -> Option<Self> {
        match number {
            2 => Some(Self::Call),
            3 => Some(Self::CallResult),
            4 => Some(Self::CallError),
            5 => Some(Self::CallResultError),
            6 => Some(Self::Send),
            _ => None,
        }
    }

    /// How many elements a frame of this type has.
    #[must_use]
    pub const fn arity(self) -> usize {
        match self {
            Self::Call | Self::Send => 4,
            Self::CallResult => 3,
            Self::CallError | Self::CallResultError => 5,
        }
    }
}

/// A decoded frame; its strings borrow from the frame's text where they can.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame<'a> {
    Call {
        message_id: Cow<'a, str>,
        action: Cow<'a, str>,
        payload: Payload<'a>,
    },
    CallResult {
        message_id: Cow<'a, str>,
        payload: Payload<'a>,
    },
    CallError {
        message_id: Cow<'a, str>,
        code: Cow<'a, str>,
        description: Cow<'a, str>,
        details: Payload<'a>,
    },
    /// 2.1 only.
    CallResultError {
        message_id: Cow<'a, str>,
        code: Cow<'a, str>,
        description: Cow<'a, str>,
        details: Payload<'a>,
    },
    /// 2.1 only.
    Send {
        message_id: Cow<'a, str>,
        action: Cow<'a, str>,
        payload: Payload<'a>,
    },
}

impl Frame<'_> {
    /// The frame's `MessageTypeId`.
    #[must_use]
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Call { .. } => MessageType::Call,
            Self::CallResult { .. } => MessageType::CallResult,
            Self::CallError { .. } => MessageType::CallError,
            Self::CallResultError { .. } => MessageType::CallResultError,
            Self::Send { .. } => MessageType::Send,
        }
    }

    /// The message id that correlates a CALL with its answer.
    #[must_use]
    pub fn message_id(&self) -> &str {
        match self {
            Self::Call { message_id, .. }
            | Self::CallResult { message_id, .. }
            | Self::CallError { message_id, .. }
            | Self::CallResultError { message_id, .. }
            | Self::Send { message_id, .. } => message_id,
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
