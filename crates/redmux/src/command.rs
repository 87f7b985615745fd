//! [`Command`] and [`cmd`]: any command, built argument by argument and encoded to
//! RESP as it is built, on the caller's thread.

use bytes::BytesMut;
use redmux_resp::{CommandBuf, ToArg};

use crate::error::Error;

/// A command being built: its arguments are encoded as they are added.
///
/// ```
/// let c = redmux::cmd("OBJECT").arg("ENCODING").arg("greeting");
/// assert_eq!(c.name(), "OBJECT");
/// ```
#[derive(Debug, Clone)]
pub struct Command {
    buf: CommandBuf,
}

/// Starts a command by name, for anything without a typed method.
///
/// ```
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// let encoding: String = client.command(redmux::cmd("OBJECT").arg("ENCODING").arg("greeting")).await?;
/// # Ok(()) }
/// ```
pub fn cmd(name: &str) -> Command {
    Command {
        buf: CommandBuf::new(name),
    }
}

impl Command {
    /// Appends one argument: a string, bytes, an integer or a float.
    pub fn arg(mut self, arg: impl ToArg) -> Self {
        self.buf.arg(arg);
        self
    }

    /// Appends each item as an argument.
    ///
    /// ```
    /// let c = redmux::cmd("DEL").args(["a", "b", "c"]);
    /// assert_eq!(c.argc(), 4);
    /// ```
    pub fn args<A: ToArg>(mut self, args: impl IntoIterator<Item = A>) -> Self {
        for a in args {
            self.buf.arg(a);
        }
        self
    }

    /// Appends an argument in place (for builders that hold a `&mut Command`).
    pub fn push_arg(&mut self, arg: impl ToArg) -> &mut Self {
        self.buf.arg(arg);
        self
    }

    /// The command's name as given (lossy UTF-8).
    pub fn name(&self) -> String {
        String::from_utf8_lossy(self.buf.name()).into_owned()
    }

    /// The number of arguments, the name included.
    pub fn argc(&self) -> usize {
        self.buf.argc()
    }

    /// The name into a short fixed buffer, for diagnostics without allocating.
    pub(crate) fn short_name(&self) -> ShortName {
        ShortName::new(self.buf.name())
    }

    /// Refuses commands that would block the shared connection.
    pub(crate) fn check_not_blocking(&self) -> Result<(), Error> {
        if is_blocking(self.buf.name(), self.buf.args_bytes()) {
            return Err(Error::BlockingCommandRefused {
                command: self.name().to_ascii_uppercase(),
            });
        }
        Ok(())
    }

    /// Appends arguments already encoded as RESP bulk strings (`$3\r\nfoo\r\n...`),
    /// each as one argument: how a script call adds the keys and arguments it
    /// encoded before it knew whether it would be sent as EVALSHA or EVAL.
    pub(crate) fn push_encoded(&mut self, encoded: &[u8]) {
        for arg in BulkArgs(encoded) {
            self.buf.arg(arg);
        }
    }

    pub(crate) fn into_bytes(self) -> BytesMut {
        self.buf.finish()
    }

    /// The encoded command as a buffer followed by the large `Bytes` arguments it
    /// kept by reference (none for most commands).
    pub(crate) fn into_parts(self) -> (BytesMut, Vec<bytes::Bytes>) {
        self.buf.finish_parts()
    }
}

/// A command name of up to 24 bytes kept inline, so a request carries its name for
/// error messages without an allocation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShortName {
    bytes: [u8; 24],
    len: u8,
}

impl ShortName {
    fn new(name: &[u8]) -> Self {
        let mut bytes = [0u8; 24];
        let len = name.len().min(24);
        bytes[..len].copy_from_slice(&name[..len]);
        ShortName {
            bytes,
            len: len as u8,
        }
    }

    pub(crate) fn as_string(&self) -> String {
        String::from_utf8_lossy(&self.bytes[..self.len as usize]).to_ascii_uppercase()
    }
}

/// Commands that block the connection they run on until data arrives or a timeout.
const ALWAYS_BLOCKING: &[&[u8]] = &[
    b"BLPOP",
    b"BRPOP",
    b"BLMOVE",
    b"BRPOPLPUSH",
    b"BZPOPMIN",
    b"BZPOPMAX",
    b"BLMPOP",
    b"BZMPOP",
    b"WAIT",
    b"WAITAOF",
    b"MONITOR",
    b"SUBSCRIBE",
    b"PSUBSCRIBE",
    b"SSUBSCRIBE",
];

fn is_blocking(name: &[u8], args: &[u8]) -> bool {
    // A cheap first look: every blocking command starts with one of these letters.
    let Some(first) = name.first().map(u8::to_ascii_uppercase) else {
        return false;
    };
    if !matches!(first, b'B' | b'W' | b'X' | b'M' | b'S' | b'P') {
        return false;
    }
    if ALWAYS_BLOCKING.iter().any(|b| name.eq_ignore_ascii_case(b)) {
        return true;
    }
    if name.eq_ignore_ascii_case(b"XREAD") || name.eq_ignore_ascii_case(b"XREADGROUP") {
        return xread_blocks(BulkArgs(args));
    }
    false
}

/// Whether an XREAD or XREADGROUP has a `BLOCK` option:
/// `XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ...` and
/// `XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key ... id ...`.
///
/// The options are read as the server reads them, in any order and case-insensitively,
/// skipping the values they take: a group, consumer or stream named `block` or
/// `streams` is a name, not an option. A word the server would reject leaves the
/// scan going, so an option this list does not know cannot hide a `BLOCK` after it
/// (such a command fails at the server anyway, or is refused here).
fn xread_blocks<'a>(mut args: impl Iterator<Item = &'a [u8]>) -> bool {
    while let Some(word) = args.next() {
        let values = if word.eq_ignore_ascii_case(b"STREAMS") {
            // Everything after STREAMS is keys and ids.
            return false;
        } else if word.eq_ignore_ascii_case(b"BLOCK") {
            // `BLOCK` with no value after it is a syntax error, never a wait.
            return args.next().is_some();
        } else if word.eq_ignore_ascii_case(b"COUNT") {
            1
        } else if word.eq_ignore_ascii_case(b"GROUP") {
            // The group and the consumer (the server refuses GROUP on XREAD).
            2
        } else {
            // NOACK, or a word the server will reject.
            0
        };
        for _ in 0..values {
            if args.next().is_none() {
                return false;
            }
        }
    }
    false
}

/// Iterates over the payloads of encoded bulk strings (`$3\r\nfoo\r\n...`).
struct BulkArgs<'a>(&'a [u8]);

impl<'a> Iterator for BulkArgs<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.0.strip_prefix(b"$")?;
        let header_end = rest.iter().position(|&b| b == b'\r')?;
        let len: usize = std::str::from_utf8(&rest[..header_end])
            .ok()?
            .parse()
            .ok()?;
        let start = header_end + 2;
        let payload = rest.get(start..start + len)?;
        self.0 = rest.get(start + len + 2..).unwrap_or(&[]);
        Some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocking(c: Command) -> bool {
        c.check_not_blocking().is_err()
    }

    #[test]
    fn blocking_commands() {
        assert!(blocking(cmd("blpop").arg("q").arg(0)));
        assert!(blocking(cmd("WAIT").arg(1).arg(0)));
        assert!(blocking(
            cmd("xread")
                .arg("COUNT")
                .arg(1)
                .arg("block")
                .arg(0)
                .arg("STREAMS")
                .arg("s")
                .arg("$")
        ));
        assert!(!blocking(cmd("XREAD").arg("STREAMS").arg("block").arg("0")));
        assert!(!blocking(cmd("LPOP").arg("q")));
        assert!(!blocking(cmd("BITCOUNT").arg("k")));
        let e = cmd("BRPOP")
            .arg("q")
            .check_not_blocking()
            .unwrap_err()
            .to_string();
        assert!(e.contains("BRPOP") && e.contains("dedicated()"), "{e}");
    }

    fn xreadgroup(words: &[&str]) -> bool {
        blocking(cmd("XREADGROUP").args(words.iter().copied()))
    }

    #[test]
    fn group_and_consumer_names_are_not_options() {
        // Named like the options: still not blocking.
        assert!(!xreadgroup(&["GROUP", "block", "c", "STREAMS", "s", ">"]));
        assert!(!xreadgroup(&["GROUP", "g", "BLOCK", "STREAMS", "s", ">"]));
        assert!(!xreadgroup(&[
            "GROUP", "block", "block", "COUNT", "1", "NOACK", "STREAMS", "s", ">"
        ]));
        // A group or consumer named "streams" does not end the options early.
        assert!(xreadgroup(&[
            "GROUP", "streams", "c", "BLOCK", "0", "STREAMS", "s", ">"
        ]));
        assert!(xreadgroup(&[
            "GROUP", "g", "streams", "BLOCK", "0", "STREAMS", "s", ">"
        ]));
        assert!(xreadgroup(&[
            "group", "streams", "streams", "noack", "count", "5", "Block", "100", "streams", "s",
            ">"
        ]));
    }

    #[test]
    fn options_in_any_order_and_their_values_skipped() {
        // The server takes the options in any order, GROUP included.
        assert!(xreadgroup(&[
            "BLOCK", "0", "GROUP", "g", "c", "STREAMS", "s", ">"
        ]));
        assert!(xreadgroup(&[
            "GROUP", "g", "c", "NOACK", "BLOCK", "0", "COUNT", "1", "STREAMS", "s", ">"
        ]));
        // A COUNT whose value is the word "block" (a server error, not a wait).
        assert!(!blocking(
            cmd("XREAD").args(["COUNT", "block", "STREAMS", "s", "0"])
        ));
        assert!(blocking(
            cmd("XREAD").args(["COUNT", "streams", "BLOCK", "0", "STREAMS", "s", "0"])
        ));
        // Streams and ids are never options, whatever their names.
        assert!(!blocking(
            cmd("xread").args(["streams", "block", "streams", "0", "0"])
        ));
        // Truncated commands are syntax errors at the server, not waits.
        assert!(!blocking(cmd("XREAD").args(["BLOCK"])));
        assert!(!xreadgroup(&["GROUP", "g"]));
        assert!(!blocking(cmd("XREAD")));
        // An option this parser does not know does not hide a BLOCK after it.
        assert!(blocking(cmd("XREAD").args([
            "FUTUREFLAG",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            "0"
        ])));
    }
}
