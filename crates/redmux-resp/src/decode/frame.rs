//! The state of a frame being decoded (an open aggregate, a blob waiting for its
//! payload) and the pure steps that turn a finished one into a [`Value`].

use bytes::BytesMut;

use crate::Value;
use crate::error::DecodeError;

#[derive(Debug, Clone, Copy)]
pub(super) struct Blob {
    pub(super) kind: BlobKind,
    pub(super) len: usize,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum BlobKind {
    Bulk,
    Error,
    Verbatim,
    /// One `;len` piece of a streamed string.
    Chunk,
    /// A payload of a frame being discarded (see `skip.rs`): dropped as it comes.
    Skip,
    /// A `Skip` that is a chunk of a streamed string: no value of its own.
    SkipChunk,
}

#[derive(Debug)]
pub(super) struct Frame {
    pub(super) kind: FrameKind,
    /// Elements still expected, or `None` for a streamed aggregate ended by `.`.
    pub(super) expected: Option<usize>,
    pub(super) items: Vec<Value>,
}

#[derive(Debug)]
pub(super) enum FrameKind {
    Array,
    Set,
    Push,
    Map,
    Attribute,
    /// Attributes read; waiting for the one value they describe.
    Attributed(Vec<(Value, Value)>),
    /// A `$?` string: chunks gathered until `;0`.
    StreamedString(BytesMut),
}

/// What one step of the decoder produced.
pub(super) enum Step {
    Value(Value),
    Continue,
    NeedMore,
}

pub(super) fn empty(kind: FrameKind) -> Value {
    match kind {
        FrameKind::Set => Value::Set(Vec::new()),
        FrameKind::Push => Value::Push(Vec::new()),
        FrameKind::Map => Value::Map(Vec::new()),
        _ => Value::Array(Vec::new()),
    }
}

pub(super) fn finish(frame: Frame) -> Result<Value, DecodeError> {
    Ok(match frame.kind {
        FrameKind::Array => Value::Array(frame.items),
        FrameKind::Set => Value::Set(frame.items),
        FrameKind::Push => Value::Push(frame.items),
        FrameKind::Map => Value::Map(pair_up(frame.items)?),
        FrameKind::Attribute => {
            return Err(DecodeError::Malformed("streamed attribute"));
        }
        FrameKind::Attributed(attributes) => {
            let value = frame
                .items
                .into_iter()
                .next()
                .ok_or(DecodeError::Malformed("attribute without a value"))?;
            Value::Attribute {
                attributes,
                value: Box::new(value),
            }
        }
        FrameKind::StreamedString(acc) => Value::BulkString(acc.freeze()),
    })
}

pub(super) fn pair_up(items: Vec<Value>) -> Result<Vec<(Value, Value)>, DecodeError> {
    if !items.len().is_multiple_of(2) {
        return Err(DecodeError::Malformed("map with a key and no value"));
    }
    let mut pairs = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        pairs.push((k, v));
    }
    Ok(pairs)
}
