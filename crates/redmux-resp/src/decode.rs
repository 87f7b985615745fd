//! A resumable RESP2/RESP3 decoder with limits.
//!
//! The decoder consumes from the front of a `BytesMut` as whole pieces become
//! available and keeps the partial state of a frame itself (a stack of open
//! aggregates, and the length of a bulk string whose header it has read). So a
//! frame that arrives a byte at a time is never re-scanned from its start: a bulk
//! payload is checked for completeness in O(1), a line is searched for its CRLF from
//! where the last search stopped, and total work stays linear in the input.

use bytes::{Buf, Bytes, BytesMut};

use crate::Value;
use crate::error::DecodeError;

/// Bounds on what the decoder accepts, so a hostile or broken peer cannot make it
/// allocate without limit or recurse without end.
///
/// ```
/// use redmux_resp::{Decoder, Limits};
/// let limits = Limits { max_bulk_len: 1024, ..Limits::default() };
/// let decoder = Decoder::with_limits(limits);
/// # let _ = decoder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest bulk string, bulk error or verbatim string, in bytes (default 512 MiB,
    /// the server's own `proto-max-bulk-len`). A streamed string (`$?`) counts whole.
    pub max_bulk_len: usize,
    /// The most elements in one array, set, push, or pairs in one map (default 2^27),
    /// streamed (`*?`) or not.
    pub max_aggregate_len: usize,
    /// The deepest nesting of aggregates (default 128).
    pub max_depth: usize,
    /// The longest simple line (simple string, error, number), in bytes (default 1 MiB).
    pub max_line_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_aggregate_len: 1 << 27,
            max_depth: 128,
            max_line_len: 1024 * 1024,
        }
    }
}

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
}

#[derive(Debug, Clone, Copy)]
struct Blob {
    kind: BlobKind,
    len: usize,
}

#[derive(Debug, Clone, Copy)]
enum BlobKind {
    Bulk,
    Error,
    Verbatim,
    /// One `;len` piece of a streamed string.
    Chunk,
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    /// Elements still expected, or `None` for a streamed aggregate ended by `.`.
    expected: Option<usize>,
    items: Vec<Value>,
}

#[derive(Debug)]
enum FrameKind {
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
    }

    /// Decodes the next whole value from the front of `buf`, consuming its bytes.
    ///
    /// Returns `Ok(None)` when more bytes are needed; bytes of a partial frame may
    /// already have been consumed and are remembered by the decoder.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when the input is not valid RESP or exceeds a limit.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Value>, DecodeError> {
        // The most common reply of all, a top-level `+OK`, without a scan or a
        // reference count: its payload is a static string.
        // (Not under a line limit below 2, which the general path enforces.)
        if self.blob.is_none()
            && self.stack.is_empty()
            && self.limits.max_line_len >= 2
            && buf.starts_with(b"+OK\r\n")
        {
            buf.advance(5);
            self.scanned = 0;
            return Ok(Some(Value::SimpleString(Bytes::from_static(b"OK"))));
        }
        // The next most common, a whole top-level bulk string (a GET's reply), in one
        // step. Anything else about it (partial, nil, malformed, over a limit) is
        // left to the general path, which owns partial-frame state and the errors.
        if self.blob.is_none()
            && self.stack.is_empty()
            && buf.first() == Some(&b'$')
            && let Some(value) = self.whole_bulk(buf)
        {
            return Ok(Some(value));
        }
        loop {
            let value = match self.blob {
                Some(blob) => match self.take_blob(blob, buf)? {
                    Step::Value(v) => v,
                    Step::Continue => continue,
                    Step::NeedMore => return Ok(None),
                },
                None => match self.take_line(buf)? {
                    Step::Value(v) => v,
                    Step::Continue => continue,
                    Step::NeedMore => return Ok(None),
                },
            };
            if let Some(done) = self.complete(value)? {
                return Ok(Some(done));
            }
        }
    }

    /// `$<len>\r\n<payload>\r\n` at the front of `buf`, all of it there and within
    /// the limits: the payload, consumed. `None` (nothing consumed) for anything else.
    fn whole_bulk(&mut self, buf: &mut BytesMut) -> Option<Value> {
        // Up to 10 digits: lengths past 9,999,999,999 are over any sane limit and
        // go the general way.
        let mut len: u64 = 0;
        let mut end_of_digits = 1;
        while let Some(&d) = buf.get(end_of_digits) {
            if !d.is_ascii_digit() || end_of_digits > 10 {
                break;
            }
            len = len * 10 + u64::from(d - b'0');
            end_of_digits += 1;
        }
        let digits = end_of_digits - 1;
        if digits == 0
            || digits > 10
            || digits > self.limits.max_line_len
            || len > self.limits.max_bulk_len as u64
            || buf.get(end_of_digits..end_of_digits + 2) != Some(b"\r\n")
        {
            return None;
        }
        // Within `max_bulk_len`, a `usize`.
        let len = len as usize;
        let start = end_of_digits + 2;
        // Checked: on a 32-bit target a limit near `usize::MAX` would let it wrap.
        let payload_end = start.checked_add(len)?;
        if buf.get(payload_end..payload_end.checked_add(2)?) != Some(b"\r\n") {
            return None;
        }
        buf.advance(start);
        let payload = buf.split_to(len).freeze();
        buf.advance(2);
        self.scanned = 0;
        Some(Value::BulkString(payload))
    }

    fn take_blob(&mut self, blob: Blob, buf: &mut BytesMut) -> Result<Step, DecodeError> {
        // Saturating: a length near `usize::MAX` (32-bit, no limit) is never whole.
        let need = blob.len.saturating_add(2);
        if buf.len() < need {
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

    fn take_line(&mut self, buf: &mut BytesMut) -> Result<Step, DecodeError> {
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
                    self.open(FrameKind::StreamedString(BytesMut::new()), None)?;
                    Step::Continue
                } else {
                    match self.blob_len(text)? {
                        None if tag == b'$' => Step::Value(Value::Nil),
                        None => return Err(invalid("length", text)),
                        Some(len) => {
                            let kind = match tag {
                                b'$' => BlobKind::Bulk,
                                b'!' => BlobKind::Error,
                                _ => BlobKind::Verbatim,
                            };
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
                match self.blob_len(text)? {
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
                        let total = self.streamed_len() as u64 + len as u64;
                        if total > self.limits.max_bulk_len as u64 {
                            return Err(DecodeError::BulkTooLarge {
                                len: total,
                                limit: self.limits.max_bulk_len,
                            });
                        }
                        self.blob = Some(Blob {
                            kind: BlobKind::Chunk,
                            len,
                        });
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
                    self.open(kind, None)?;
                    Step::Continue
                } else {
                    match self.aggregate_len(text)? {
                        None if tag == b'*' => Step::Value(Value::Nil),
                        None => return Err(invalid("length", text)),
                        Some(n) => {
                            // Saturating: on a 32-bit target a limit raised past
                            // 2^31 pairs would overflow (no such map fits in memory).
                            let n = if pairs { n.saturating_mul(2) } else { n };
                            if n == 0 {
                                buf.advance(newline + 1);
                                return Ok(match kind {
                                    FrameKind::Attribute => {
                                        self.open(FrameKind::Attributed(Vec::new()), Some(1))?;
                                        Step::Continue
                                    }
                                    other => Step::Value(empty(other)),
                                });
                            }
                            self.open(kind, Some(n))?;
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

    /// A blob length: `None` for `-1`.
    fn blob_len(&self, text: &[u8]) -> Result<Option<usize>, DecodeError> {
        let n = parse_int(text, "length")?;
        match n {
            -1 => Ok(None),
            n if n < 0 => Err(invalid("length", text)),
            n if n as u64 > self.limits.max_bulk_len as u64 => Err(DecodeError::BulkTooLarge {
                len: n as u64,
                limit: self.limits.max_bulk_len,
            }),
            n => Ok(Some(n as usize)),
        }
    }

    /// An aggregate length: `None` for `-1`.
    fn aggregate_len(&self, text: &[u8]) -> Result<Option<usize>, DecodeError> {
        let n = parse_int(text, "length")?;
        match n {
            -1 => Ok(None),
            n if n < 0 => Err(invalid("length", text)),
            n if n as u64 > self.limits.max_aggregate_len as u64 => {
                Err(DecodeError::AggregateTooLarge {
                    len: n as u64,
                    limit: self.limits.max_aggregate_len,
                })
            }
            n => Ok(Some(n as usize)),
        }
    }

    fn open(&mut self, kind: FrameKind, expected: Option<usize>) -> Result<(), DecodeError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(DecodeError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        // A header can claim millions of elements in a few bytes: grow as they come.
        let capacity = expected.unwrap_or(0).min(1024);
        self.stack.push(Frame {
            kind,
            expected,
            items: Vec::with_capacity(capacity),
        });
        Ok(())
    }

    /// Hands a finished value to the innermost open aggregate, closing every aggregate
    /// it completes; returns the value once nothing is left open.
    fn complete(&mut self, mut value: Value) -> Result<Option<Value>, DecodeError> {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Ok(Some(value));
            };
            if let FrameKind::StreamedString(_) = top.kind {
                return Err(DecodeError::Malformed("a value inside a streamed string"));
            }
            top.items.push(value);
            if top.expected.is_none() {
                // A streamed aggregate announces no length to check up front.
                let len = match top.kind {
                    FrameKind::Map => top.items.len().div_ceil(2),
                    _ => top.items.len(),
                };
                if len > self.limits.max_aggregate_len {
                    return Err(DecodeError::AggregateTooLarge {
                        len: len as u64,
                        limit: self.limits.max_aggregate_len,
                    });
                }
            }
            if top.expected != Some(top.items.len()) {
                return Ok(None);
            }
            let Some(frame) = self.stack.pop() else {
                return Ok(None);
            };
            if let FrameKind::Attribute = frame.kind {
                let attributes = pair_up(frame.items)?;
                self.open(FrameKind::Attributed(attributes), Some(1))?;
                return Ok(None);
            }
            value = finish(frame)?;
        }
    }
}

enum Step {
    Value(Value),
    Continue,
    NeedMore,
}

fn empty(kind: FrameKind) -> Value {
    match kind {
        FrameKind::Set => Value::Set(Vec::new()),
        FrameKind::Push => Value::Push(Vec::new()),
        FrameKind::Map => Value::Map(Vec::new()),
        _ => Value::Array(Vec::new()),
    }
}

fn finish(frame: Frame) -> Result<Value, DecodeError> {
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

fn pair_up(items: Vec<Value>) -> Result<Vec<(Value, Value)>, DecodeError> {
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

fn invalid(what: &'static str, text: &[u8]) -> DecodeError {
    let shown = &text[..text.len().min(64)];
    DecodeError::InvalidNumber {
        what,
        text: String::from_utf8_lossy(shown).into_owned(),
    }
}

/// Parses a signed decimal integer strictly: an optional sign, then digits only.
fn parse_int(text: &[u8], what: &'static str) -> Result<i64, DecodeError> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 19 {
        return Err(invalid(what, text));
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(invalid(what, text));
        }
        let digit = i64::from(d - b'0');
        n = n
            .checked_mul(10)
            .and_then(|n| {
                if negative {
                    n.checked_sub(digit)
                } else {
                    n.checked_add(digit)
                }
            })
            .ok_or_else(|| invalid(what, text))?;
    }
    Ok(n)
}

fn parse_double(text: &[u8]) -> Result<f64, DecodeError> {
    match text {
        b"inf" | b"+inf" => return Ok(f64::INFINITY),
        b"-inf" => return Ok(f64::NEG_INFINITY),
        _ if is_nan(text) => return Ok(f64::NAN),
        _ => {}
    }
    std::str::from_utf8(text)
        .ok()
        .filter(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b))
        })
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| invalid("double", text))
}

/// Whether `text` is a NaN as Redis has written it. Since 7.2 that is always `nan`, but
/// before, the server printed whatever its libc did: `-nan`, `NAN`, `nan(0x...)`. The
/// RESP3 specification asks clients to accept them all.
fn is_nan(text: &[u8]) -> bool {
    let unsigned = match text.first() {
        Some(b'-' | b'+') => &text[1..],
        _ => text,
    };
    let Some((word, rest)) = unsigned.split_at_checked(3) else {
        return false;
    };
    word.eq_ignore_ascii_case(b"nan")
        && (rest.is_empty() || (rest.first() == Some(&b'(') && rest.last() == Some(&b')')))
}

fn validate_big_number(text: &[u8]) -> Result<(), DecodeError> {
    let digits = match text.first() {
        Some(b'-' | b'+') => &text[1..],
        _ => text,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid("big number", text));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Result<Vec<Value>, DecodeError> {
        let mut decoder = Decoder::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(v) = decoder.decode(&mut buf)? {
            out.push(v);
        }
        Ok(out)
    }

    #[test]
    fn integers_are_strict() {
        assert_eq!(parse_int(b"-9223372036854775808", "x"), Ok(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775807", "x"), Ok(i64::MAX));
        assert!(parse_int(b"9223372036854775808", "x").is_err());
        assert!(parse_int(b"", "x").is_err());
        assert!(parse_int(b"-", "x").is_err());
        assert!(parse_int(b"1 ", "x").is_err());
        assert!(parse_int(b"0x10", "x").is_err());
    }

    #[test]
    fn nulls() {
        assert_eq!(
            decode_all(b"$-1\r\n*-1\r\n_\r\n").unwrap(),
            vec![Value::Nil; 3]
        );
    }

    #[test]
    fn limits_are_errors() {
        let mut d = Decoder::with_limits(Limits {
            max_bulk_len: 10,
            max_aggregate_len: 3,
            max_depth: 2,
            max_line_len: 8,
        });
        let mut cases: Vec<(&[u8], DecodeError)> = vec![
            (b"$11\r\n", DecodeError::BulkTooLarge { len: 11, limit: 10 }),
            (
                b"*4\r\n",
                DecodeError::AggregateTooLarge { len: 4, limit: 3 },
            ),
            (b"*1\r\n*1\r\n*1\r\n", DecodeError::TooDeep { limit: 2 }),
            (
                b"+aaaaaaaaaaaaaaaaaaaa",
                DecodeError::LineTooLong { limit: 8 },
            ),
            (b"?\r\n", DecodeError::InvalidType(b'?')),
            (b"$1\r\nab\r\n", DecodeError::MissingCrlf),
            (b":1\n", DecodeError::MissingCrlf),
        ];
        for (input, expected) in cases.drain(..) {
            d.reset();
            let mut buf = BytesMut::from(input);
            assert_eq!(
                d.decode(&mut buf),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn limits_of_usize_max_mean_no_limit() {
        let mut d = Decoder::with_limits(Limits {
            max_bulk_len: usize::MAX,
            max_aggregate_len: usize::MAX,
            max_depth: usize::MAX,
            max_line_len: usize::MAX,
        });
        let mut buf = BytesMut::from(&b"+O"[..]);
        assert_eq!(d.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"K\r\n%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(
            d.decode(&mut buf),
            Ok(Some(Value::SimpleString("OK".into())))
        );
        assert_eq!(
            d.decode(&mut buf),
            Ok(Some(Value::Map(vec![("a".into(), Value::Integer(1))])))
        );
    }

    #[test]
    fn a_shorter_buffer_is_scanned_from_its_start() {
        // A caller that empties or swaps its buffer after a partial line (without
        // `reset`) gets the new buffer decoded, not a slice out of range.
        let mut d = Decoder::new();
        assert_eq!(d.decode(&mut BytesMut::from(&b"+partial"[..])), Ok(None));
        assert_eq!(d.decode(&mut BytesMut::new()), Ok(None));
        assert_eq!(d.decode(&mut BytesMut::from(&b"+long line"[..])), Ok(None));
        assert_eq!(
            d.decode(&mut BytesMut::from(&b"+OK\r\n"[..])),
            Ok(Some(Value::SimpleString("OK".into())))
        );
    }

    #[test]
    fn ok_is_decoded_alike_on_both_paths() {
        // The `+OK` shortcut gives what the general path gives, in order with what
        // follows it, and lines that merely start like it take the general path.
        let mut d = Decoder::new();
        let mut buf = BytesMut::from(&b"+OK\r\n+OKAY\r\n*1\r\n+OK\r\n+OK\r"[..]);
        let ok = Value::SimpleString("OK".into());
        assert_eq!(d.decode(&mut buf), Ok(Some(ok.clone())));
        assert_eq!(
            d.decode(&mut buf),
            Ok(Some(Value::SimpleString("OKAY".into())))
        );
        assert_eq!(d.decode(&mut buf), Ok(Some(Value::Array(vec![ok.clone()]))));
        assert_eq!(d.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"\n");
        assert_eq!(d.decode(&mut buf), Ok(Some(ok)));
        assert!(buf.is_empty());
    }

    #[test]
    fn the_ok_shortcut_keeps_the_line_limit() {
        // However the input is split, a line over the limit is refused.
        let limits = Limits {
            max_line_len: 1,
            ..Limits::default()
        };
        let mut whole = Decoder::with_limits(limits);
        let mut split = Decoder::with_limits(limits);
        let refused = Err(DecodeError::LineTooLong { limit: 1 });
        assert_eq!(whole.decode(&mut BytesMut::from(&b"+OK\r\n"[..])), refused);
        let mut buf = BytesMut::from(&b"+OK\r"[..]);
        assert_eq!(split.decode(&mut buf), refused);
    }

    #[test]
    fn whole_bulk_strings_decode_alike_on_both_paths() {
        // The one-step path for a whole top-level bulk string gives what the general
        // path gives: every split of the same input decodes to the same values.
        let input: &[u8] =
            b"$16\r\n0123456789abcdef\r\n$0\r\n\r\n$-1\r\n$03\r\nabc\r\n*1\r\n$1\r\nx\r\n$2\r\nyz\r\n";
        let want = vec![
            Value::BulkString("0123456789abcdef".into()),
            Value::BulkString("".into()),
            Value::Nil,
            Value::BulkString("abc".into()),
            Value::Array(vec![Value::BulkString("x".into())]),
            Value::BulkString("yz".into()),
        ];
        for split in 0..=input.len() {
            let mut d = Decoder::new();
            let mut buf = BytesMut::from(&input[..split]);
            let mut got = Vec::new();
            while let Ok(Some(v)) = d.decode(&mut buf) {
                got.push(v);
            }
            buf.extend_from_slice(&input[split..]);
            while let Some(v) = d.decode(&mut buf).unwrap() {
                got.push(v);
            }
            assert_eq!(got, want, "split at {split}");
            assert!(buf.is_empty());
        }
        // Over the limits and malformed: the general path's errors, whole or not.
        let limits = Limits {
            max_bulk_len: 4,
            ..Limits::default()
        };
        let mut d = Decoder::with_limits(limits);
        assert_eq!(
            d.decode(&mut BytesMut::from(&b"$5\r\nhello\r\n"[..])),
            Err(DecodeError::BulkTooLarge { len: 5, limit: 4 })
        );
        let mut d = Decoder::new();
        assert_eq!(
            d.decode(&mut BytesMut::from(&b"$2\r\nabc\r\n"[..])),
            Err(DecodeError::MissingCrlf)
        );
    }

    #[test]
    fn slow_bulk_is_not_rescanned() {
        // A 1 MiB payload fed a byte at a time: the decoder must not look at the
        // accumulated bytes again on each call (this would take minutes if it did).
        let len = 1 << 20;
        let mut decoder = Decoder::new();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(format!("${len}\r\n").as_bytes());
        for _ in 0..len {
            buf.extend_from_slice(b"x");
            assert_eq!(decoder.decode(&mut buf), Ok(None));
        }
        buf.extend_from_slice(b"\r\n");
        let v = decoder.decode(&mut buf).unwrap().unwrap();
        assert!(matches!(v, Value::BulkString(b) if b.len() == len));
    }

    #[test]
    fn slow_line_is_scanned_once() {
        let mut decoder = Decoder::new();
        let mut buf = BytesMut::from(&b"+"[..]);
        for _ in 0..100_000 {
            buf.extend_from_slice(b"y");
            assert_eq!(decoder.decode(&mut buf), Ok(None));
        }
        buf.extend_from_slice(b"\r\n");
        assert!(
            matches!(decoder.decode(&mut buf), Ok(Some(Value::SimpleString(s))) if s.len() == 100_000)
        );
    }

    #[test]
    fn huge_claimed_array_does_not_allocate() {
        let mut buf = BytesMut::from(&b"*100000000\r\n:1\r\n"[..]);
        assert_eq!(Decoder::new().decode(&mut buf), Ok(None));
    }
}
