//! Discarding a frame over a limit (see [`Decoder::decode_frame`]).
//!
//! Once a value over a limit is found, the decoder keeps walking the frame's
//! structure, since that is the only way to find where it ends, but keeps none of
//! it: blob payloads are skipped as they arrive (never buffered whole), elements are
//! counted down instead of stored. Memory stays bounded by the depth limit, whatever
//! size the server announced.

use bytes::{Buf, BytesMut};

use super::Decoder;
use super::frame::{Blob, FrameKind};
use super::outcome::{Oversize, TooLarge};
use crate::Value;
use crate::error::DecodeError;

impl Decoder {
    /// A value of `len` (bytes or elements) over the `what` limit: an error when
    /// decoding with `decode` (`SKIP` false), else the frame it belongs to is
    /// discarded from here on.
    #[cold]
    pub(super) fn over_limit<const SKIP: bool>(
        &mut self,
        what: Oversize,
        len: u64,
    ) -> Result<(), DecodeError> {
        let limit = match what {
            Oversize::Bulk => self.limits.max_bulk_len,
            Oversize::Aggregate => self.limits.max_aggregate_len,
        };
        let too_large = TooLarge {
            what,
            len,
            limit,
            push: false,
        };
        if !SKIP {
            return Err(too_large.into());
        }
        if self.oversize.is_none() {
            // What was kept of the frame so far goes now. From here on an open
            // aggregate's `expected` counts the elements still to come.
            for frame in &mut self.stack {
                if let Some(expected) = &mut frame.expected {
                    *expected = expected.saturating_sub(frame.items.len());
                }
                frame.items = Vec::new();
                match &mut frame.kind {
                    FrameKind::StreamedString(acc) => *acc = BytesMut::new(),
                    FrameKind::Attributed(attributes) => *attributes = Vec::new(),
                    _ => {}
                }
            }
            // The first value over a limit is the one reported.
            self.oversize = Some(too_large);
        }
        Ok(())
    }

    /// Whether the frame being decoded is being discarded.
    pub(super) fn discarding(&self) -> bool {
        self.oversize.is_some()
    }

    /// A blob's length as a `usize`. Only a length to skip, on a 32-bit target, can
    /// fail to fit, and then it is an error: no such reply is real.
    pub(super) fn blob_size(&self, len: u64) -> Result<usize, DecodeError> {
        usize::try_from(len).map_err(|_| DecodeError::BulkTooLarge {
            len,
            limit: self.limits.max_bulk_len,
        })
    }

    /// Drops what `buf` holds of a skipped blob's payload (never its CRLF, which
    /// `take_blob` checks once the payload is gone), so the buffer never grows to
    /// hold it.
    pub(super) fn skip_part(&mut self, blob: Blob, buf: &mut BytesMut) {
        let n = buf.len().min(blob.len);
        buf.advance(n);
        self.blob = Some(Blob {
            kind: blob.kind,
            len: blob.len - n,
        });
    }

    /// `complete` while discarding: the value is dropped and counted against the
    /// innermost open aggregate, closing every aggregate it completes. Returns a
    /// placeholder once nothing is left open: `Nil`, or an empty push for a push
    /// (so the caller can tell one from a reply).
    pub(super) fn discard(&mut self, value: Value) -> Result<Option<Value>, DecodeError> {
        let mut value = value;
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Ok(Some(value));
            };
            if let FrameKind::StreamedString(_) = top.kind {
                return Err(DecodeError::Malformed("a value inside a streamed string"));
            }
            let Some(left) = &mut top.expected else {
                // A streamed aggregate: it ends at its `.`.
                return Ok(None);
            };
            *left = left.saturating_sub(1);
            if *left > 0 {
                return Ok(None);
            }
            let Some(frame) = self.stack.pop() else {
                return Ok(None);
            };
            value = match frame.kind {
                FrameKind::Attribute => {
                    self.open::<true>(FrameKind::Attributed(Vec::new()), Some(1))?;
                    return Ok(None);
                }
                FrameKind::Push => Value::Push(Vec::new()),
                _ => Value::Nil,
            };
        }
    }
}
