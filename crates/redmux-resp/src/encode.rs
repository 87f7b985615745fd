//! Command encoding: a command name and its arguments as a RESP array of bulk strings,
//! written straight into one buffer.
//!
//! The array header (`*3\r\n`) must come first, but a builder only knows the
//! argument count at the end. [`CommandBuf`] starts its buffer with `*0\r\n` and
//! fills in the digit when it is finished: for up to 9 bulk strings the result is
//! one contiguous buffer with no second copy. A command of 10 or more gets its
//! longer header in front of one copy of the rest while that is under
//! [`SHARED_ARG_MIN`]; a larger one keeps its body in place and the header becomes
//! a part of its own (see [`CommandBuf::finish_parts`]).
//!
//! Every byte of framing is written here, from each argument's payload: an
//! argument ([`crate::ToArg`], [`crate::Arg`]) only hands its payload over.

use bytes::{BufMut, Bytes, BytesMut};

use crate::arg::{Arg, ArgError, Repr, SHARED_ARG_MIN, ToArg};

/// Room for the array header `*N\r\n` of a command of up to 9 bulk strings,
/// written as `*0\r\n` and filled in by [`CommandBuf::finish_parts`].
const HEADER_ROOM: usize = 4;

/// A command being encoded: the name and each argument are appended as RESP bulk
/// strings as they are given.
///
/// ```
/// use redmux_resp::CommandBuf;
/// let mut cmd = CommandBuf::new("SET");
/// cmd.arg("key").arg(42).arg(1.5);
/// assert_eq!(cmd.argc(), 4);
/// assert_eq!(
///     &cmd.finish()[..],
///     b"*4\r\n$3\r\nSET\r\n$3\r\nkey\r\n$2\r\n42\r\n$3\r\n1.5\r\n"
/// );
/// ```
#[derive(Debug, Clone)]
pub struct CommandBuf {
    buf: BytesMut,
    argc: usize,
    /// Where the name's payload starts, so [`CommandBuf::name`] can find it again.
    name_at: usize,
    name_len: usize,
    /// Large `Bytes` arguments kept by reference, each with the offset in `buf`
    /// where its payload belongs (between its `$len\r\n` and its `\r\n`).
    /// What few commands have, behind one pointer: a `CommandBuf` is moved at every
    /// step of a builder chain, so every byte kept inline is copied several times
    /// per command (callgrind, lone caller: encode 597 -> 572 instructions per GET
    /// with these 32 bytes behind a pointer).
    rare: Option<Box<Rare>>,
}

/// The parts of a command most never have.
#[derive(Debug, Clone, Default)]
struct Rare {
    /// Large `Bytes` arguments kept by reference, each with the offset in `buf`
    /// where its payload belongs (between its `$len\r\n` and its `\r\n`).
    shared: Vec<(usize, Bytes)>,
    /// The first argument that could not be made ([`Arg::failed`]): a command that
    /// has one must not be sent.
    failed: Option<ArgError>,
}

impl CommandBuf {
    /// Starts a command with its name (`GET`, `CLIENT`, ...).
    pub fn new(name: impl ToArg) -> Self {
        Self::with_capacity(name, 64)
    }

    /// Starts a command whose encoded size is expected to be about `capacity` bytes.
    pub fn with_capacity(name: impl ToArg, capacity: usize) -> Self {
        let mut buf = crate::buffer_pool::take(HEADER_ROOM + capacity);
        buf.extend_from_slice(b"*0\r\n");
        let before = buf.len();
        let name = name.to_arg();
        // Copied even if large: `name()` reads it from the buffer.
        put_arg(&mut buf, &name.0);
        let name_at = match name.0 {
            // The usual name, a string: its payload ends just before the final
            // CRLF, so no scan for the end of `$len\r\n` is needed.
            Repr::Borrowed(payload) => buf.len() - 2 - payload.len(),
            // Past `$len\r\n`: a few bytes, not worth a memchr call.
            _ => {
                before
                    + buf[before..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(0, |i| i + 1)
            }
        };
        let name_len = buf.len() - name_at - 2;
        CommandBuf {
            buf,
            argc: 1,
            name_at,
            name_len,
            rare: None,
        }
    }

    /// Hands back the buffer of a command that has been written (from
    /// [`CommandBuf::finish`] or [`CommandBuf::finish_parts`]), so the next command
    /// encoded on this thread reuses it instead of allocating. Large buffers are
    /// simply freed.
    ///
    /// ```
    /// use redmux_resp::CommandBuf;
    /// let bytes = CommandBuf::new("PING").finish();
    /// // ... written to the socket ...
    /// CommandBuf::recycle(bytes);
    /// let again = CommandBuf::new("PING").finish();
    /// assert_eq!(&again[..], b"*1\r\n$4\r\nPING\r\n");
    /// ```
    #[inline]
    pub fn recycle(buf: BytesMut) {
        crate::buffer_pool::give_back(buf);
    }

    /// [`CommandBuf::recycle`] for every buffer in `bufs`, which is left empty
    /// (its capacity kept): for a writer that wrote out many commands at once.
    ///
    /// ```
    /// use redmux_resp::CommandBuf;
    /// let mut written = vec![CommandBuf::new("PING").finish(), CommandBuf::new("GET").finish()];
    /// // ... written to the socket ...
    /// CommandBuf::recycle_all(&mut written);
    /// assert!(written.is_empty());
    /// assert_eq!(&CommandBuf::new("PING").finish()[..], b"*1\r\n$4\r\nPING\r\n");
    /// ```
    pub fn recycle_all(bufs: &mut Vec<BytesMut>) {
        crate::buffer_pool::give_back_all(bufs);
    }

    /// Appends one argument. A large `Bytes` ([`SHARED_ARG_MIN`] or more) is kept by
    /// reference instead of copied.
    #[inline]
    pub fn arg(&mut self, arg: impl ToArg) -> &mut Self {
        self.push(arg.to_arg());
        self
    }

    /// Appends an argument already handed over.
    ///
    /// ```
    /// use redmux_resp::{Arg, CommandBuf};
    /// let mut cmd = CommandBuf::new("INCRBY");
    /// cmd.push(Arg::text("n")).push(Arg::int(-3));
    /// assert_eq!(&cmd.finish()[..], b"*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$2\r\n-3\r\n");
    /// ```
    // Always inlined, and small: for a built-in `ToArg` the match folds to the one
    // arm it takes, so a string or an integer costs no more than writing it
    // (callgrind: left to the compiler, it was a call of its own, about 76
    // instructions per command more for a GET). The rarer kinds go out of line.
    #[inline(always)]
    pub fn push(&mut self, arg: Arg<'_>) -> &mut Self {
        match arg.0 {
            Repr::Borrowed(payload) => put_bulk(&mut self.buf, payload),
            Repr::Signed(n) => put_bulk(&mut self.buf, Decimal::signed(n).as_bytes()),
            Repr::Unsigned(n) => put_bulk(&mut self.buf, Decimal::unsigned(n).as_bytes()),
            other => self.push_other(other),
        }
        self.argc += 1;
        self
    }

    /// [`CommandBuf::push`] for owned, shared and float arguments: a large `Bytes`
    /// is kept by reference, the rest copied.
    fn push_other(&mut self, arg: Repr<'_>) {
        match arg {
            Repr::Shared(payload) if payload.len() >= SHARED_ARG_MIN => {
                self.buf.put_u8(b'$');
                self.buf
                    .put_slice(Decimal::unsigned(payload.len() as u64).as_bytes());
                self.buf.put_slice(b"\r\n");
                let at = self.buf.len();
                self.rare.get_or_insert_default().shared.push((at, payload));
                self.buf.put_slice(b"\r\n");
            }
            Repr::Failed(error) => {
                put_arg(&mut self.buf, &Repr::Borrowed(b""));
                self.rare
                    .get_or_insert_default()
                    .failed
                    .get_or_insert(error);
            }
            other => put_arg(&mut self.buf, &other),
        }
    }

    /// The error of the first argument that could not be made ([`Arg::failed`]),
    /// if any: such a command must not be sent.
    #[inline]
    pub fn failure(&self) -> Option<&ArgError> {
        self.rare.as_ref()?.failed.as_ref()
    }

    /// The number of bulk strings so far, the name included.
    #[inline]
    pub fn argc(&self) -> usize {
        self.argc
    }

    /// The command's name as it was given.
    #[inline]
    pub fn name(&self) -> &[u8] {
        &self.buf[self.name_at..self.name_at + self.name_len]
    }

    /// The size of the encoded command so far, header excluded.
    pub fn body_len(&self) -> usize {
        self.buf.len() - HEADER_ROOM
            + self
                .rare
                .as_ref()
                .map_or(0, |r| r.shared.iter().map(|(_, b)| b.len()).sum::<usize>())
    }

    /// The encoded arguments after the name, without the array header: the bytes
    /// from the first argument's `$` on. The payloads of large `Bytes` arguments
    /// kept by reference are not in it (their `$len\r\n` and `\r\n` are).
    #[inline]
    pub fn args_bytes(&self) -> &[u8] {
        &self.buf[self.name_at + self.name_len + 2..]
    }

    /// Takes back a command [`CommandBuf::finish`] made (and that was written), to
    /// send it again without encoding it again: a client resending a command a
    /// server refused. `None` if `bytes` is not one such command.
    ///
    /// ```
    /// use redmux_resp::CommandBuf;
    /// let mut set = CommandBuf::new("SET");
    /// set.arg("k").arg("v");
    /// let again = CommandBuf::from_finished(set.finish()).unwrap();
    /// assert_eq!(again.name(), b"SET");
    /// assert_eq!(again.argc(), 3);
    /// assert_eq!(&again.finish()[..], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    /// ```
    pub fn from_finished(mut buf: BytesMut) -> Option<CommandBuf> {
        let header = buf.iter().position(|&b| b == b'\n')? + 1;
        let argc: usize = std::str::from_utf8(buf.get(1..header.checked_sub(2)?)?)
            .ok()?
            .parse()
            .ok()?;
        if buf.first() != Some(&b'*') || argc == 0 {
            return None;
        }
        if header != HEADER_ROOM {
            // Ten arguments or more: the header is longer than the room a
            // `CommandBuf` keeps for it. Rare, and only on a resend: copied.
            let mut roomy = BytesMut::with_capacity(HEADER_ROOM + buf.len() - header);
            roomy.extend_from_slice(b"*0\r\n");
            roomy.extend_from_slice(buf.get(header..)?);
            buf = roomy;
        }
        // `$len\r\n` then the name.
        let length_end = HEADER_ROOM + buf.get(HEADER_ROOM..)?.iter().position(|&b| b == b'\n')?;
        let name_len: usize =
            std::str::from_utf8(buf.get(HEADER_ROOM + 1..length_end.checked_sub(1)?)?)
                .ok()?
                .parse()
                .ok()?;
        let name_at = length_end + 1;
        if buf.len() < name_at + name_len + 2 {
            return None;
        }
        Some(CommandBuf {
            buf,
            argc,
            name_at,
            name_len,
            rare: None,
        })
    }

    /// Writes the array header and returns the whole command as one buffer (large
    /// `Bytes` arguments are copied in here; [`CommandBuf::finish_parts`] avoids it).
    pub fn finish(self) -> BytesMut {
        let (mut head, parts) = self.finish_parts();
        if !parts.is_empty() {
            head.reserve(parts.iter().map(Bytes::len).sum());
            for part in &parts {
                head.extend_from_slice(part);
            }
        }
        head
    }

    /// Writes the array header and returns the command as a buffer followed by the
    /// parts that come after it, in order: the command is `head` then each part.
    /// Without large `Bytes` arguments there are no parts.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use redmux_resp::{CommandBuf, SHARED_ARG_MIN};
    /// let value = Bytes::from(vec![b'x'; SHARED_ARG_MIN]);
    /// let mut cmd = CommandBuf::new("SET");
    /// cmd.arg("k").arg(value.clone());
    /// let (head, parts) = cmd.finish_parts();
    /// assert!(head.ends_with(b"$65536\r\n"));
    /// assert_eq!(parts.len(), 2);
    /// assert_eq!(parts[0].as_ptr(), value.as_ptr()); // not copied
    /// assert_eq!(&parts[1][..], b"\r\n");
    /// ```
    #[inline]
    pub fn finish_parts(self) -> (BytesMut, Vec<Bytes>) {
        // The usual command (up to 9 bulk strings, nothing kept by reference): one
        // digit to fill in, in line at the caller; the rest out of line.
        if self.argc <= 9 && self.rare.is_none() {
            let CommandBuf { mut buf, argc, .. } = self;
            buf[1] = b'0' + argc as u8;
            return (buf, Vec::new());
        }
        self.finish_parts_rare()
    }

    /// [`CommandBuf::finish_parts`] for 10 or more bulk strings, or large
    /// arguments kept by reference.
    #[inline(never)]
    fn finish_parts_rare(self) -> (BytesMut, Vec<Bytes>) {
        let CommandBuf {
            mut buf,
            argc,
            rare,
            ..
        } = self;
        let shared = rare.map(|r| r.shared).unwrap_or_default();
        // The room holds `*N\r\n` for up to 9 bulk strings, the usual case: one digit
        // to fill in. A longer header goes in front of a copy of the rest while that
        // is small; past `SHARED_ARG_MIN` the header is a part of its own and nothing
        // is copied. Shared payloads are not in `buf`: only their offsets move.
        let mut head: Option<BytesMut> = None;
        let (mut grow, mut shrink) = (0, 0);
        if argc <= 9 {
            buf[1] = b'0' + argc as u8;
        } else {
            let digits = Decimal::unsigned(argc as u64);
            let digits = digits.as_bytes();
            let body = buf.len() - HEADER_ROOM;
            let copy = body < SHARED_ARG_MIN;
            let mut header =
                BytesMut::with_capacity(digits.len() + 3 + if copy { body } else { 0 });
            header.put_u8(b'*');
            header.extend_from_slice(digits);
            header.extend_from_slice(b"\r\n");
            if copy {
                grow = header.len();
                shrink = HEADER_ROOM;
                header.extend_from_slice(&buf[HEADER_ROOM..]);
                buf = header;
            } else {
                // O(1): drops the unused room from the front.
                let _room = buf.split_to(HEADER_ROOM);
                shrink = HEADER_ROOM;
                head = Some(header);
            }
        }
        if shared.is_empty() && head.is_none() {
            return (buf, Vec::new());
        }
        // Cut the buffer where each shared payload goes (O(1) each, no copy).
        let mut parts = Vec::with_capacity(shared.len() * 2 + 1);
        let mut at = 0;
        for (offset, payload) in shared {
            let offset = offset + grow - shrink;
            let piece = buf.split_to(offset - at);
            at = offset;
            match head {
                None => head = Some(piece),
                Some(_) => parts.push(piece.freeze()),
            }
            parts.push(payload);
        }
        parts.push(buf.freeze());
        (head.unwrap_or_default(), parts)
    }
}

/// Appends a whole command to `out` when its arguments are at hand.
///
/// ```
/// use bytes::BytesMut;
/// let mut out = BytesMut::new();
/// redmux_resp::encode_command(&mut out, &[&b"PING"[..]]);
/// assert_eq!(&out[..], b"*1\r\n$4\r\nPING\r\n");
/// ```
pub fn encode_command(out: &mut BytesMut, args: &[&[u8]]) {
    out.put_u8(b'*');
    put_decimal(out, args.len() as i64);
    out.put_slice(b"\r\n");
    for a in args {
        put_bulk(out, a);
    }
}

impl Arg<'_> {
    /// Appends the argument as a RESP bulk string, `$len\r\npayload\r\n` (a large
    /// shared payload is copied here).
    ///
    /// ```
    /// let mut out = bytes::BytesMut::new();
    /// redmux_resp::Arg::int(-12).encode(&mut out);
    /// assert_eq!(&out[..], b"$3\r\n-12\r\n");
    /// ```
    pub fn encode(&self, out: &mut BytesMut) {
        put_arg(out, &self.0);
    }
}

/// Appends `$len\r\npayload\r\n` for any argument, copying its payload.
#[inline]
fn put_arg(out: &mut BytesMut, arg: &Repr<'_>) {
    match arg {
        Repr::Borrowed(payload) => put_bulk(out, payload),
        Repr::Owned(payload) => put_bulk(out, payload),
        Repr::Shared(payload) => put_bulk(out, payload),
        Repr::Signed(n) => put_bulk(out, Decimal::signed(*n).as_bytes()),
        Repr::Unsigned(n) => put_bulk(out, Decimal::unsigned(*n).as_bytes()),
        Repr::Float(d) if d.is_infinite() => {
            put_bulk(out, if *d > 0.0 { b"+inf" } else { b"-inf" });
        }
        Repr::Float(d) => {
            let mut text = FloatText::default();
            text.write(*d);
            put_bulk(out, text.as_bytes());
        }
        // Nothing to write: an empty string keeps the framing whole.
        Repr::Failed(_) => put_bulk(out, b""),
    }
}

fn put_bulk(out: &mut BytesMut, payload: &[u8]) {
    let len = payload.len();
    // Keys and values are mostly under 100 bytes: their `$len\r\n` is a store of
    // a few bytes of fixed length, not a loop of divisions and a copy of unknown
    // length. One exact reserve for the whole bulk string (more would make the
    // buffer grow where it fits today); the appends after it only compare.
    if len < 10 {
        out.reserve(len + 6);
        out.extend_from_slice(&[b'$', b'0' + len as u8, b'\r', b'\n']);
    } else if len < 100 {
        out.reserve(len + 7);
        out.extend_from_slice(&[
            b'$',
            b'0' + (len / 10) as u8,
            b'0' + (len % 10) as u8,
            b'\r',
            b'\n',
        ]);
    } else {
        put_bulk_head(out, len);
    }
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

/// `$len\r\n` for a length of 100 or more, composed right-aligned on the stack,
/// after a reserve for the whole bulk string.
#[inline(never)]
fn put_bulk_head(out: &mut BytesMut, len: usize) {
    let mut head = [0u8; 24];
    let crlf = head.len() - 2;
    head[crlf..].copy_from_slice(b"\r\n");
    let mut at = digits_before(&mut head, crlf, len as u64);
    at -= 1;
    head[at] = b'$';
    let head = &head[at..];
    out.reserve(head.len() + len + 2);
    out.extend_from_slice(head);
}

/// Appends a finite float in the shortest form that parses back to the same value,
/// using exponent notation for very large or small magnitudes (`1e-300`, not 300 zeros).
pub(crate) fn put_float(out: &mut BytesMut, d: f64) {
    let mut text = FloatText::default();
    text.write(d);
    out.put_slice(text.as_bytes());
}

/// A float's text on the stack: `Debug` for f64 is the shortest round-trip form and
/// switches to exponent notation at the extremes, so it never needs more than 24
/// bytes (`-2.2250738585072014e-308`).
#[derive(Default)]
struct FloatText {
    buf: [u8; 32],
    len: usize,
}

impl FloatText {
    fn write(&mut self, d: f64) {
        use std::fmt::Write;
        // Cannot fail: the buffer holds any f64's shortest form.
        let _ = write!(self, "{d:?}");
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for FloatText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let room = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Appends the decimal form of `n`.
pub(crate) fn put_decimal(out: &mut BytesMut, n: i64) {
    out.put_slice(Decimal::signed(n).as_bytes());
}

/// Writes `m`'s decimal digits into `buf` so that they end just before `end`, and
/// returns where they start: 20 digits at most, in u64 arithmetic. The one digit
/// loop, for [`Decimal`] and for the length prefix [`put_bulk`] composes.
fn digits_before(buf: &mut [u8], mut end: usize, mut m: u64) -> usize {
    loop {
        end -= 1;
        buf[end] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            return end;
        }
    }
}

/// A 64-bit integer's decimal digits, right-aligned on the stack.
struct Decimal {
    buf: [u8; 21],
    start: usize,
}

impl Decimal {
    fn unsigned(m: u64) -> Self {
        let mut buf = [0u8; 21];
        let end = buf.len();
        let start = digits_before(&mut buf, end, m);
        Decimal { buf, start }
    }

    fn signed(n: i64) -> Self {
        let mut d = Self::unsigned(n.unsigned_abs());
        if n < 0 {
            // 20 digits at most, so there is always room for the sign.
            d.start -= 1;
            d.buf[d.start] = b'-';
        }
        d
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_command_comes_back_whole_and_garbage_does_not() {
        for argc in [1usize, 2, 9, 10, 12, 120] {
            let mut cmd = CommandBuf::new("RPUSH");
            for i in 1..argc {
                cmd.arg(format!("a{i}"));
            }
            let first = cmd.finish();
            let again = CommandBuf::from_finished(first.clone()).unwrap();
            assert_eq!(again.name(), b"RPUSH");
            assert_eq!(again.argc(), argc);
            assert_eq!(again.finish(), first, "{argc} arguments");
        }
        for garbage in [
            &b""[..],
            b"*",
            b"*x\r\n",
            b"+OK\r\n",
            b"*0\r\n",
            b"*1\r\n$9\r\nGET\r\n",
        ] {
            assert!(CommandBuf::from_finished(BytesMut::from(garbage)).is_none());
        }
    }

    #[test]
    fn long_commands_get_a_longer_header_and_keep_their_shared_parts() {
        // Shared payloads at every position (none, first, last, adjacent, every
        // third), and a large copied argument, around the 9/10 boundary.
        let big = Bytes::from(vec![b'v'; SHARED_ARG_MIN]);
        let large_copied = vec![b'c'; SHARED_ARG_MIN];
        for argc in [1usize, 2, 9, 10, 11, 25, 100] {
            for shape in 0..6 {
                let mut cmd = CommandBuf::new("MSET");
                let mut expected: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
                let mut shared = 0;
                for i in 1..argc {
                    let is_shared = match shape {
                        1 => i == 1,
                        2 => i == argc - 1,
                        3 => i == argc / 2 || i == argc / 2 + 1,
                        4 => i % 3 == 0,
                        _ => false,
                    };
                    if is_shared {
                        cmd.arg(big.clone());
                        expected.push(big.to_vec());
                        shared += 1;
                    } else if shape == 5 && i == 1 {
                        cmd.arg(&large_copied[..]);
                        expected.push(large_copied.clone());
                    } else {
                        cmd.arg(i);
                        expected.push(i.to_string().into_bytes());
                    }
                }
                let what = format!("argc {argc}, shape {shape}");
                let mut want = BytesMut::new();
                let refs: Vec<&[u8]> = expected.iter().map(Vec::as_slice).collect();
                encode_command(&mut want, &refs);
                let header = 3 + argc.to_string().len();
                assert_eq!(cmd.body_len() + header, want.len(), "{what}");
                let (head, parts) = cmd.clone().finish_parts();
                let kept = parts.iter().filter(|p| p.as_ptr() == big.as_ptr()).count();
                assert_eq!(kept, shared, "{what}: shared payloads not copied");
                if argc >= 10 && shape == 5 {
                    // The large body stays where it was encoded, behind its header.
                    assert_eq!(head.len(), header, "{what}");
                }
                let mut whole = head.to_vec();
                parts.iter().for_each(|p| whole.extend_from_slice(p));
                assert_eq!(whole, want.to_vec(), "{what}");
                assert_eq!(cmd.finish().to_vec(), want.to_vec(), "{what}");
            }
        }
    }

    #[test]
    fn extreme_integers() {
        let mut out = BytesMut::new();
        i64::MIN.to_arg().encode(&mut out);
        u64::MAX.to_arg().encode(&mut out);
        0u8.to_arg().encode(&mut out);
        assert_eq!(
            &out[..],
            b"$20\r\n-9223372036854775808\r\n$20\r\n18446744073709551615\r\n$1\r\n0\r\n"
        );
    }

    #[test]
    fn floats_parse_back() {
        for d in [0.0, -0.0, 1.5, 1e-300, 1e300, f64::MIN_POSITIVE, 123456.789] {
            let mut out = BytesMut::new();
            put_float(&mut out, d);
            let text = std::str::from_utf8(&out).unwrap_or_default();
            assert_eq!(text.parse::<f64>().ok(), Some(d), "{text}");
            assert!(text.len() < 32, "{text}");
        }
        let mut out = BytesMut::new();
        f64::NEG_INFINITY.to_arg().encode(&mut out);
        assert_eq!(&out[..], b"$4\r\n-inf\r\n");
    }

    #[test]
    fn name_and_args() {
        let mut cmd = CommandBuf::new("client");
        cmd.arg("setname").arg(b"x".to_vec());
        assert_eq!(cmd.name(), b"client");
        assert_eq!(cmd.args_bytes(), b"$7\r\nsetname\r\n$1\r\nx\r\n");
        let mut many = CommandBuf::new("DEL");
        for i in 0..1000 {
            many.arg(i);
        }
        assert!(
            many.finish()
                .starts_with(b"*1001\r\n$3\r\nDEL\r\n$1\r\n0\r\n")
        );
    }

    #[test]
    fn large_bytes_arguments_are_parts_and_flatten_to_the_same_bytes() {
        let big = Bytes::from(vec![b'a'; SHARED_ARG_MIN]);
        let other = Bytes::from(vec![b'b'; SHARED_ARG_MIN + 1]);
        let small = Bytes::from_static(b"small");
        let build = || {
            let mut cmd = CommandBuf::new("MSET");
            cmd.arg("k1")
                .arg(&big)
                .arg("k2")
                .arg(small.clone())
                .arg("k3")
                .arg(other.clone());
            cmd
        };
        let mut flat = BytesMut::new();
        encode_command(
            &mut flat,
            &[b"MSET", b"k1", &big, b"k2", &small, b"k3", &other],
        );
        assert_eq!(build().body_len() + 4, flat.len());
        assert_eq!(build().finish(), flat);
        let (head, parts) = build().finish_parts();
        // head, big, (\r\n k2 small k3 header), other, \r\n
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0].as_ptr(), big.as_ptr());
        assert_eq!(parts[2].as_ptr(), other.as_ptr());
        let mut joined = head.to_vec();
        for part in &parts {
            joined.extend_from_slice(part);
        }
        assert_eq!(joined, flat.to_vec());
        // One byte under the threshold: copied, no parts.
        let mut cmd = CommandBuf::new("SET");
        cmd.arg("k")
            .arg(Bytes::from(vec![b'c'; SHARED_ARG_MIN - 1]));
        assert!(cmd.finish_parts().1.is_empty());
    }
}
