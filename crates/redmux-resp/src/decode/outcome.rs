//! [`Decoded`] and [`TooLarge`]: what [`super::Decoder::decode_frame`] yields, a whole
//! frame or the news that one over a limit was skipped.

use crate::Value;
use crate::error::DecodeError;

/// One outcome of [`super::Decoder::decode_frame`]: a whole frame, or a frame over a
/// limit whose bytes were read and thrown away.
///
/// ```
/// use bytes::BytesMut;
/// use redmux_resp::{Decoded, Decoder, Limits, Oversize, Value};
/// let mut decoder = Decoder::with_limits(Limits { max_bulk_len: 4, ..Limits::default() });
/// let mut buf = BytesMut::from(&b"$6\r\nfoobar\r\n:1\r\n"[..]);
/// match decoder.decode_frame(&mut buf).unwrap() {
///     Some(Decoded::TooLarge(t)) => assert_eq!((t.what, t.len, t.limit), (Oversize::Bulk, 6, 4)),
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(decoder.decode_frame(&mut buf).unwrap(), Some(Decoded::Frame(Value::Integer(1))));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A whole frame.
    Frame(Value),
    /// A whole frame over a limit: its bytes were consumed and discarded, and the
    /// stream is still in step (the next frame decodes as usual).
    TooLarge(TooLarge),
}

/// A frame skipped because it, or a value nested in it, was over a limit.
///
/// ```
/// use redmux_resp::{DecodeError, Oversize, TooLarge};
/// let t = TooLarge { what: Oversize::Bulk, len: 1 << 20, limit: 1 << 16, push: false };
/// assert_eq!(DecodeError::from(t), DecodeError::BulkTooLarge { len: 1 << 20, limit: 1 << 16 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// Which limit the first value over one broke.
    pub what: Oversize,
    /// That value's size as the server announced it: bytes for a string (so far, for
    /// a streamed one), elements for an aggregate (pairs for a map).
    pub len: u64,
    /// The limit in force.
    pub limit: usize,
    /// Whether the skipped frame was a RESP3 push (no command's reply).
    pub push: bool,
}

/// Which of the [`super::Limits`] a skipped frame was over.
///
/// ```
/// use redmux_resp::Oversize;
/// assert_ne!(Oversize::Bulk, Oversize::Aggregate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// [`super::Limits::max_bulk_len`]: a bulk string, bulk error, verbatim or
    /// streamed string.
    Bulk,
    /// [`super::Limits::max_aggregate_len`]: an array, set, push, map or attribute.
    Aggregate,
}

impl From<TooLarge> for DecodeError {
    /// The error [`super::Decoder::decode`] gives for the same input.
    fn from(t: TooLarge) -> Self {
        match t.what {
            Oversize::Bulk => DecodeError::BulkTooLarge {
                len: t.len,
                limit: t.limit,
            },
            Oversize::Aggregate => DecodeError::AggregateTooLarge {
                len: t.len,
                limit: t.limit,
            },
        }
    }
}
