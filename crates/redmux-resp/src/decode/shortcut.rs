//! The second most common reply, a whole top-level bulk string (a GET's reply),
//! decoded in one step. (The most common, `+OK`, is matched in `Decoder::decode`
//! itself.)

use bytes::{Buf, BytesMut};

use super::Decoder;
use crate::Value;

impl Decoder {
    /// `$<len>\r\n<payload>\r\n` at the front of `buf`, all of it there and within
    /// the limits: the payload, consumed. `None` (nothing consumed) for anything else.
    // Always inlined: it is the hot path of both `decode` and `decode_frame`, and a
    // call costs a measurable share of its ~20 instructions.
    #[inline(always)]
    pub(super) fn whole_bulk(&mut self, buf: &mut BytesMut) -> Option<Value> {
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
        // The whole frame off the front, then the header and the CRLF off the frame:
        // two moves of a buffer's start instead of three (each is a dozen or two
        // instructions on a `BytesMut`; the truncate only sets a length).
        let mut payload = buf.split_to(payload_end + 2);
        payload.advance(start);
        payload.truncate(len);
        self.scanned = 0;
        Some(Value::BulkString(payload.freeze()))
    }
}
