//! Payloads whose header has been read: bulk strings, bulk errors, verbatim strings
//! and the chunks of a streamed string, checked for completeness in O(1); and the
//! payloads of a frame being discarded, dropped as they arrive.

use bytes::{Buf, BytesMut};

use super::Decoder;
use super::frame::{Blob, BlobKind, Frame, FrameKind, Step};
use crate::Value;
use crate::error::DecodeError;

impl Decoder {
    pub(super) fn take_blob(
        &mut self,
        blob: Blob,
        buf: &mut BytesMut,
    ) -> Result<Step, DecodeError> {
        // Saturating: a length near `usize::MAX` (32-bit, no limit) is never whole.
        let need = blob.len.saturating_add(2);
        if buf.len() < need {
            if let BlobKind::Skip | BlobKind::SkipChunk = blob.kind {
                self.skip_part(blob, buf);
            }
            return Ok(Step::NeedMore);
        }
        if &buf[blob.len..need] != b"\r\n" {
            return Err(DecodeError::MissingCrlf);
        }
        self.blob = None;
        let payload = buf.split_to(blob.len).freeze();
        buf.advance(2);
        Ok(Step::Value(match blob.kind {
            BlobKind::Bulk => Value::BulkString(payload),
            BlobKind::Error => Value::BulkError(payload),
            BlobKind::Verbatim => {
                if payload.len() < 4 || payload[3] != b':' {
                    return Err(DecodeError::Malformed(
                        "verbatim string without a three-byte format and ':'",
                    ));
                }
                let format = [payload[0], payload[1], payload[2]];
                Value::VerbatimString {
                    format,
                    text: payload.slice(4..),
                }
            }
            // The rest of a skipped payload, just dropped: the value it stands for
            // is discarded (see `skip.rs`).
            BlobKind::Skip => Value::Nil,
            BlobKind::SkipChunk => return Ok(Step::Continue),
            BlobKind::Chunk => {
                match self.stack.last_mut() {
                    Some(Frame {
                        kind: FrameKind::StreamedString(acc),
                        ..
                    }) => acc.extend_from_slice(&payload),
                    _ => {
                        return Err(DecodeError::Malformed(
                            "string chunk outside a streamed string",
                        ));
                    }
                }
                return Ok(Step::Continue);
            }
        }))
    }
}
