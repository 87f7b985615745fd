//! Lines: the type byte and what follows it up to CRLF, searched for from where the
//! last search stopped. Simple values are finished here; headers of blobs and
//! aggregates are checked against the limits and open the state that follows them.

use bytes::{Buf, BytesMut};

use super::Decoder;
use super::frame::{Blob, BlobKind, Frame, FrameKind, Step, empty, finish};
use super::number::{invalid, parse_double, parse_int, validate_big_number};
use super::outcome::Oversize;
use crate::Value;
use crate::error::DecodeError;

impl Decoder {
    /// Decodes one line. `SKIP` as for `Decoder::general`: whether a value over a
    /// limit is an error or starts discarding its frame.
    pub(super) fn take_line<const SKIP: bool>(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Step, DecodeError> {
        if self.scanned > buf.len() {
            // Not the buffer scanned before (the caller emptied or swapped it).
            self.scanned = 0;
        }
        let Some(found) = memchr::memchr(b'\n', &buf[self.scanned..]) else {
            self.scanned = buf.len();
            // Saturating: `usize::MAX` is a fair way to say "no limit".
            if buf.len() > self.limits.max_line_len.saturating_add(2) {
                return Err(DecodeError::LineTooLong {
                    limit: self.limits.max_line_len,
                });
            }
            return Ok(Step::NeedMore);
        };
        let newline = self.scanned + found;
        self.scanned = 0;
        if newline < 2 || buf[newline - 1] != b'\r' {
            return Err(if newline == 1 && buf[0] == b'\r' {
                DecodeError::Malformed("empty line where a type byte was expected")
            } else {
                DecodeError::MissingCrlf
            });
        }
        if newline - 2 > self.limits.max_line_len {
            return Err(DecodeError::LineTooLong {
                limit: self.limits.max_line_len,
            });
        }
        let tag = buf[0];
        let body_end = newline - 1;
        let text = &buf[1..body_end];
        if !matches!(tag, b';' | b'.') && self.in_streamed_string() {
            // Checked here, not when the value completes: an aggregate header inside a
            // streamed string would otherwise leave the decoder waiting forever.
            return Err(DecodeError::Malformed("a value inside a streamed string"));
        }
        let step = match tag {
            b'+' | b'-' | b'(' => {
                if tag == b'(' {
                    validate_big_number(text)?;
                }
                let line = buf.split_to(newline + 1).freeze();
                let body = line.slice(1..body_end);
                return Ok(Step::Value(match tag {
                    b'+' => Value::SimpleString(body),
                    b'-' => Value::Error(body),
                    _ => Value::BigNumber(body),
                }));
            }
            b':' => Step::Value(Value::Integer(parse_int(text, "integer")?)),
            b',' => Step::Value(Value::Double(parse_double(text)?)),
            b'#' => Step::Value(Value::Boolean(match text {
                b"t" => true,
                b"f" => false,
                _ => return Err(invalid("boolean", text)),
            })),
            b'_' => {
                if !text.is_empty() {
                    return Err(invalid("null", text));
                }
                Step::Value(Value::Nil)
            }
            b'$' | b'!' | b'=' => {
                if tag == b'$' && text == b"?" {
                    self.open::<SKIP>(FrameKind::StreamedString(BytesMut::new()), None)?;
                    Step::Continue
                } else {
                    match Self::length(text)? {
                        None if tag == b'$' => Step::Value(Value::Nil),
                        None => return Err(invalid("length", text)),
                        Some(len) => {
                            // In a frame being discarded, every payload is skipped:
                            // none of it is kept, so none of it need be buffered.
                            let kind = if len > self.limits.max_bulk_len as u64
                                || (SKIP && self.discarding())
                            {
                                self.over_limit::<SKIP>(Oversize::Bulk, len)?;
                                BlobKind::Skip
                            } else {
                                match tag {
                                    b'$' => BlobKind::Bulk,
                                    b'!' => BlobKind::Error,
                                    _ => BlobKind::Verbatim,
                                }
                            };
                            let len = self.blob_size(len)?;
                            self.blob = Some(Blob { kind, len });
                            Step::Continue
                        }
                    }
                }
            }
            b';' => {
                if !self.in_streamed_string() {
                    return Err(DecodeError::Malformed(
                        "string chunk outside a streamed string",
                    ));
                }
                match Self::length(text)? {
                    Some(0) => {
                        buf.advance(newline + 1);
                        let Some(Frame {
                            kind: FrameKind::StreamedString(acc),
                            ..
                        }) = self.stack.pop()
                        else {
                            return Err(DecodeError::Malformed(
                                "string chunk outside a streamed string",
                            ));
                        };
                        return Ok(Step::Value(Value::BulkString(acc.freeze())));
                    }
                    Some(len) => {
                        // The limit is on the whole string, not on each chunk: a peer
                        // could otherwise stream without end.
                        let total = (self.streamed_len() as u64).saturating_add(len);
                        let kind = if total > self.limits.max_bulk_len as u64
                            || (SKIP && self.discarding())
                        {
                            self.over_limit::<SKIP>(Oversize::Bulk, total)?;
                            BlobKind::SkipChunk
                        } else {
                            BlobKind::Chunk
                        };
                        let len = self.blob_size(len)?;
                        self.blob = Some(Blob { kind, len });
                        Step::Continue
                    }
                    None => return Err(invalid("chunk length", text)),
                }
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let pairs = matches!(tag, b'%' | b'|');
                let kind = match tag {
                    b'*' => FrameKind::Array,
                    b'~' => FrameKind::Set,
                    b'>' => FrameKind::Push,
                    b'%' => FrameKind::Map,
                    _ => FrameKind::Attribute,
                };
                if text == b"?" && tag != b'|' {
                    self.open::<SKIP>(kind, None)?;
                    Step::Continue
                } else {
                    match Self::length(text)? {
                        None if tag == b'*' => Step::Value(Value::Nil),
                        None => return Err(invalid("length", text)),
                        Some(n) => {
                            if n > self.limits.max_aggregate_len as u64 {
                                // Discarding: the elements are still read, to find
                                // where the frame ends, but counted, not kept.
                                self.over_limit::<SKIP>(Oversize::Aggregate, n)?;
                            }
                            // Only on a 32-bit target can a count not fit; no such
                            // reply is real.
                            let n =
                                usize::try_from(n).map_err(|_| DecodeError::AggregateTooLarge {
                                    len: n,
                                    limit: self.limits.max_aggregate_len,
                                })?;
                            // Saturating: on a 32-bit target a limit raised past
                            // 2^31 pairs would overflow (no such map fits in memory).
                            let n = if pairs { n.saturating_mul(2) } else { n };
                            if n == 0 {
                                buf.advance(newline + 1);
                                return Ok(match kind {
                                    FrameKind::Attribute => {
                                        self.open::<SKIP>(
                                            FrameKind::Attributed(Vec::new()),
                                            Some(1),
                                        )?;
                                        Step::Continue
                                    }
                                    other => Step::Value(empty(other)),
                                });
                            }
                            self.open::<SKIP>(kind, Some(n))?;
                            Step::Continue
                        }
                    }
                }
            }
            b'.' => {
                if !text.is_empty() {
                    return Err(invalid("end marker", text));
                }
                buf.advance(newline + 1);
                // A streamed string ends with `;0`, not `.`.
                if self.in_streamed_string() {
                    return Err(DecodeError::Malformed(
                        "end marker outside a streamed aggregate",
                    ));
                }
                return match self.stack.pop() {
                    Some(frame) if frame.expected.is_none() => finish(frame).map(Step::Value),
                    _ => Err(DecodeError::Malformed(
                        "end marker outside a streamed aggregate",
                    )),
                };
            }
            other => return Err(DecodeError::InvalidType(other)),
        };
        buf.advance(newline + 1);
        Ok(step)
    }

    /// The bytes gathered so far by the open streamed string (0 if none is open).
    fn streamed_len(&self) -> usize {
        match self.stack.last() {
            Some(Frame {
                kind: FrameKind::StreamedString(acc),
                ..
            }) => acc.len(),
            _ => 0,
        }
    }

    fn in_streamed_string(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                kind: FrameKind::StreamedString(_),
                ..
            })
        )
    }

    /// A blob or aggregate length: `None` for `-1`. Checked against the limits by
    /// the caller, which knows what to do when one is over.
    fn length(text: &[u8]) -> Result<Option<u64>, DecodeError> {
        match parse_int(text, "length")? {
            -1 => Ok(None),
            n if n < 0 => Err(invalid("length", text)),
            n => Ok(Some(n as u64)),
        }
    }
}
