//! A resumable RESP2/RESP3 decoder with limits.
//!
//! The decoder consumes from the front of a `BytesMut` as whole pieces become
//! available and keeps the partial state of a frame itself (a stack of open
//! aggregates, and the length of a bulk string whose header it has read). So a
//! frame that arrives a byte at a time is never re-scanned from its start: a bulk
//! payload is checked for completeness in O(1), a line is searched for its CRLF from
//! where the last search stopped, and total work stays linear in the input.
//!
//! | file | owns |
//! |---|---|
//! | this file | [`Decoder`]: its public API and the loop that drives one frame |
//! | `limits.rs` | [`Limits`] |
//! | `outcome.rs` | [`Decoded`] and [`TooLarge`]: a frame, or one over a limit that was skipped |
//! | `skip.rs` | discarding a frame over a limit: skipping its payloads, counting its elements |
//! | `shortcut.rs` | a whole top-level bulk string in one step (a GET's reply) |
//! | `line.rs` | lines: the type byte, simple values, and the headers of blobs and aggregates |
//! | `blob.rs` | payloads whose header was read: bulk, error, verbatim, streamed chunks |
//! | `aggregate.rs` | opening aggregates and completing them element by element |
//! | `frame.rs` | the state of a frame in progress, and turning a finished one into a [`Value`] |
//! | `number.rs` | strict parsing of lengths, integers, doubles and big numbers |
//!
//! The child files add methods to [`Decoder`] and import `frame` and `number`;
//! this file imports only `frame`, `limits` and `outcome`, so no two files import each other.

use bytes::{Buf, Bytes, BytesMut};

mod aggregate;
mod blob;
mod frame;
mod limits;
mod line;
mod number;
mod outcome;
mod shortcut;
mod skip;
#[cfg(test)]
mod tests;

use frame::{Blob, Frame, Step};
pub use limits::Limits;
pub use outcome::{Decoded, Oversize, TooLarge};

use crate::Value;
use crate::error::DecodeError;

/// Decodes replies from a buffer that fills as bytes arrive.
///
/// Call [`Decoder::decode`] after every read: it returns `Ok(Some(value))` for each
/// whole reply and `Ok(None)` when it needs more bytes. After an `Err` the stream
/// cannot be trusted: drop the connection (and the decoder, or [`Decoder::reset`] it).
///
/// ```
/// use bytes::BytesMut;
/// use redmux_resp::{Decoder, Value};
/// let mut decoder = Decoder::new();
/// let mut buf = BytesMut::from(&b"*2\r\n:1\r\n$3\r\nfo"[..]);
/// assert_eq!(decoder.decode(&mut buf).unwrap(), None);
/// buf.extend_from_slice(b"o\r\n");
/// assert_eq!(
///     decoder.decode(&mut buf).unwrap(),
///     Some(Value::Array(vec![Value::Integer(1), "foo".into()]))
/// );
/// ```
#[derive(Debug, Default)]
pub struct Decoder {
    limits: Limits,
    /// Aggregates opened and not yet complete, innermost last.
    stack: Vec<Frame>,
    /// A blob whose header has been consumed, waiting for its payload and CRLF.
    blob: Option<Blob>,
    /// How many bytes at the front of the buffer are known to hold no `\n`.
    scanned: usize,
    /// The first value over a limit in the frame being discarded, if one is (only
    /// ever set by [`Decoder::decode_frame`]).
    oversize: Option<TooLarge>,
}

impl Decoder {
    /// A decoder with the default [`Limits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        Decoder {
            limits,
            ..Self::default()
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the decoder holds part of a frame (some bytes of a reply were consumed
    /// and the reply is not complete yet).
    pub fn in_frame(&self) -> bool {
        !self.stack.is_empty() || self.blob.is_some()
    }

    /// Forgets any partial frame, for reuse on a new connection.
    pub fn reset(&mut self) {
        self.stack.clear();
        self.blob = None;
        self.scanned = 0;
        self.oversize = None;
    }

    /// Decodes the next whole value from the front of `buf`, consuming its bytes.
    ///
    /// Returns `Ok(None)` when more bytes are needed; bytes of a partial frame may
    /// already have been consumed and are remembered by the decoder.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when the input is not valid RESP or exceeds a limit. To skip
    /// a frame over a limit and carry on instead, use [`Decoder::decode_frame`].
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Value>, DecodeError> {
        if let Some(value) = self.shortcut(buf) {
            return Ok(Some(value));
        }
        self.general::<false>(buf)
    }

    /// Like [`Decoder::decode`], but a frame over [`Limits::max_bulk_len`] or
    /// [`Limits::max_aggregate_len`] is not an error: its bytes are consumed and
    /// discarded as they arrive (the buffer never has to hold it), and once the last
    /// of them is gone it yields [`Decoded::TooLarge`]. A value over a limit nested
    /// anywhere in a frame makes the whole top-level frame too large. The stream stays
    /// in step, so a connection can fail just the one reply and go on.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use redmux_resp::{Decoded, Decoder, Limits, Value};
    /// let mut decoder = Decoder::with_limits(Limits { max_aggregate_len: 2, ..Limits::default() });
    /// let mut buf = BytesMut::from(&b"*3\r\n:1\r\n:2\r\n"[..]);
    /// assert_eq!(decoder.decode_frame(&mut buf).unwrap(), None);
    /// buf.extend_from_slice(b":3\r\n+OK\r\n");
    /// assert!(matches!(decoder.decode_frame(&mut buf).unwrap(), Some(Decoded::TooLarge(_))));
    /// assert_eq!(decoder.decode_frame(&mut buf).unwrap(), Some(Decoded::Frame(Value::SimpleString("OK".into()))));
    /// ```
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when the input is not valid RESP, nests deeper than
    /// [`Limits::max_depth`] or has a line over [`Limits::max_line_len`]: those stay
    /// errors, since no length says where such a frame ends (a line) or skipping it
    /// would need memory per level (depth). Drop the connection after one.
    pub fn decode_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, DecodeError> {
        if let Some(value) = self.shortcut(buf) {
            return Ok(Some(Decoded::Frame(value)));
        }
        let Some(value) = self.general::<true>(buf)? else {
            return Ok(None);
        };
        Ok(Some(match self.oversize.take() {
            None => Decoded::Frame(value),
            // A discarded frame completes as `Nil`, or as an empty push if it was one.
            Some(mut too_large) => {
                too_large.push = matches!(value, Value::Push(_));
                Decoded::TooLarge(too_large)
            }
        }))
    }

    /// The two replies that dominate real traffic, decoded without the general
    /// path's state machine; `None` (nothing consumed) for anything else.
    #[inline(always)]
    fn shortcut(&mut self, buf: &mut BytesMut) -> Option<Value> {
        if self.blob.is_some() || !self.stack.is_empty() {
            return None;
        }
        // The most common reply of all, a top-level `+OK`, without a scan or a
        // reference count: its payload is a static string.
        // (Not under a line limit below 2, which the general path enforces.)
        if self.limits.max_line_len >= 2 && buf.starts_with(b"+OK\r\n") {
            buf.advance(5);
            self.scanned = 0;
            return Some(Value::SimpleString(Bytes::from_static(b"OK")));
        }
        // The next most common, a whole top-level bulk string (a GET's reply), in one
        // step. Anything else about it (partial, nil, malformed, over a limit) is
        // left to the general path, which owns partial-frame state and the errors.
        if buf.first() == Some(&b'$') {
            return self.whole_bulk(buf);
        }
        None
    }

    /// The general path: one line or blob at a time until a top-level frame is
    /// whole. `SKIP` says what a value over a limit is: an error (`false`), or the
    /// start of a frame to discard (`true`, see [`Decoder::decode_frame`]).
    fn general<const SKIP: bool>(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<Value>, DecodeError> {
        loop {
            let value = match self.blob {
                Some(blob) => match self.take_blob(blob, buf)? {
                    Step::Value(v) => v,
                    Step::Continue => continue,
                    Step::NeedMore => return Ok(None),
                },
                None => match self.take_line::<SKIP>(buf)? {
                    Step::Value(v) => v,
                    Step::Continue => continue,
                    Step::NeedMore => return Ok(None),
                },
            };
            if let Some(done) = self.complete::<SKIP>(value)? {
                return Ok(Some(done));
            }
        }
    }
}
