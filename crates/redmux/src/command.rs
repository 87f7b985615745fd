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

    /// Refuses commands the shared connection must not run: blocking ones and ones
    /// that change its state (the table is in `crate::refusal`).
    pub(crate) fn check_shareable(&self) -> Result<(), Error> {
        crate::refusal::check(self.buf.name(), BulkArgs(self.buf.args_bytes()))
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
