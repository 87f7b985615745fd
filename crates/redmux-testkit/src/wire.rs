//! A tiny blocking RESP client: [`RawConnection`] sends a command and reads its
//! [`Reply`]. The kit drives clusters with it (the kit must not depend on the redmux
//! client it exists to test), and tests use it to look at one node directly.
//!
//! It speaks RESP2, and reads the RESP3 types too, in case a test sends `HELLO 3` on its
//! own connection: maps and sets come back as flat arrays, booleans as integers.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a connect may take on loopback before the node is taken for dead.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// How long one reply may take. `MIGRATE` is given 5 s by the kit, so this is longer.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Nesting deeper than this is not something a server sends: the stream is corrupt.
const MAX_DEPTH: usize = 32;

/// Elements reserved up front for an array, whatever length the header claims: a bad
/// header must not make the kit allocate gigabytes.
const MAX_PREALLOCATED: usize = 1024;

/// One reply from a server.
///
/// Error replies are values, not Rust errors: `GET` on the wrong node answers
/// `Reply::Error("MOVED 1234 127.0.0.1:7001")`, and a test wants to look at it.
///
/// # Example
///
/// ```
/// use redmux_testkit::Reply;
///
/// let moved = Reply::Error("MOVED 1234 127.0.0.1:7001".to_owned());
/// assert_eq!(moved.error_code(), Some("MOVED"));
/// assert_eq!(Reply::Bulk(b"v".to_vec()).as_str(), Some("v"));
/// assert_eq!(Reply::Int(3).as_int(), Some(3));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A null bulk string, null array or RESP3 null.
    Nil,
    /// A simple string such as `OK`, without the `+`; also a RESP3 double or big number.
    Status(String),
    /// An error reply such as `MOVED 1234 127.0.0.1:7001`, without the `-`.
    Error(String),
    /// An integer; also a RESP3 boolean (1 or 0).
    Int(i64),
    /// A bulk string (RESP3 verbatim strings lose their `txt:` prefix).
    Bulk(Vec<u8>),
    /// An array; also a RESP3 map (keys and values interleaved), set or push.
    Array(Vec<Reply>),
}

impl Reply {
    /// True for an error reply.
    ///
    /// ```
    /// assert!(redmux_testkit::Reply::Error("ERR no".into()).is_error());
    /// ```
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// The first word of an error reply (`MOVED`, `ASK`, `TRYAGAIN`, `ERR`...).
    ///
    /// ```
    /// let ask = redmux_testkit::Reply::Error("ASK 7 127.0.0.1:7002".into());
    /// assert_eq!(ask.error_code(), Some("ASK"));
    /// ```
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Reply::Error(message) => message.split_whitespace().next(),
            _ => None,
        }
    }

    /// The text of a simple string, or of a bulk string that is UTF-8.
    ///
    /// ```
    /// use redmux_testkit::Reply;
    /// assert_eq!(Reply::Status("OK".into()).as_str(), Some("OK"));
    /// assert_eq!(Reply::Nil.as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Reply::Status(text) => Some(text),
            Reply::Bulk(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }

    /// The bytes of a bulk or simple string.
    ///
    /// ```
    /// assert_eq!(redmux_testkit::Reply::Bulk(vec![0xff]).as_bytes(), Some(&[0xff][..]));
    /// ```
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Status(text) => Some(text.as_bytes()),
            Reply::Bulk(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The value of an integer reply.
    ///
    /// ```
    /// assert_eq!(redmux_testkit::Reply::Int(-1).as_int(), Some(-1));
    /// ```
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The elements of an array reply.
    ///
    /// ```
    /// use redmux_testkit::Reply;
    /// let reply = Reply::Array(vec![Reply::Int(1)]);
    /// assert_eq!(reply.as_array().map(<[Reply]>::len), Some(1));
    /// ```
    pub fn as_array(&self) -> Option<&[Reply]> {
        match self {
            Reply::Array(items) => Some(items),
            _ => None,
        }
    }

    /// True for a null reply.
    ///
    /// ```
    /// assert!(redmux_testkit::Reply::Nil.is_nil());
    /// ```
    pub fn is_nil(&self) -> bool {
        matches!(self, Reply::Nil)
    }
}

impl fmt::Display for Reply {
    /// Roughly what `redis-cli` prints: errors with `(error)`, bulk strings quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Nil => f.write_str("(nil)"),
            Reply::Status(text) => f.write_str(text),
            Reply::Error(message) => write!(f, "(error) {message}"),
            Reply::Int(n) => write!(f, "(integer) {n}"),
            Reply::Bulk(bytes) => write!(f, "{:?}", String::from_utf8_lossy(bytes)),
            Reply::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A plain blocking connection to one server: one command, one reply, in turn.
///
/// Unlike [`RedisCluster::call`](crate::RedisCluster::call), which shares one connection
/// per node, this one is the test's own, so connection state (`ASKING`, `READONLY`,
/// `HELLO 3`) stays on it.
///
/// # Example
///
/// ```
/// let server = redmux_testkit::RedisServer::start()?;
/// let mut conn = redmux_testkit::RawConnection::connect(server.addr())?;
/// conn.call(&["SET", "k", "v"])?;
/// assert_eq!(conn.call(&["GET", "k"])?.as_str(), Some("v"));
/// # Ok::<(), redmux_testkit::Error>(())
/// ```
#[derive(Debug)]
pub struct RawConnection {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
}

impl RawConnection {
    /// Connects, with a 500 ms connect timeout and a 10 s reply timeout.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) when nothing accepts on `addr`.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// let conn = redmux_testkit::RawConnection::connect(server.addr())?;
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn connect(addr: SocketAddr) -> Result<RawConnection, crate::Error> {
        Self::open(addr).map_err(|e| crate::Error::io(format!("connecting to {addr}"), e))
    }

    pub(crate) fn open(addr: SocketAddr) -> io::Result<RawConnection> {
        let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_write_timeout(Some(READ_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(RawConnection {
            addr,
            reader: BufReader::new(stream),
        })
    }

    /// The server's address.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// let conn = redmux_testkit::RawConnection::connect(server.addr())?;
    /// assert_eq!(conn.addr(), server.addr());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends one command and reads its reply. An error reply is `Ok(Reply::Error(..))`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) when the connection fails or the reply cannot be
    /// read (the connection is then unusable).
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// let mut conn = redmux_testkit::RawConnection::connect(server.addr())?;
    /// assert_eq!(conn.call(&["PING"])?.as_str(), Some("PONG"));
    /// assert!(conn.call(&["NO-SUCH-COMMAND"])?.is_error());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Reply, crate::Error> {
        self.exchange(args).map_err(|e| {
            let name = args
                .first()
                .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
                .unwrap_or_default();
            crate::Error::io(format!("sending {name} to {}", self.addr), e)
        })
    }

    pub(crate) fn exchange<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Reply> {
        self.reader.get_mut().write_all(&encode(args))?;
        read_reply(&mut self.reader, 0)
    }
}

/// A command as a RESP array of bulk strings.
fn encode<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        let arg = arg.as_ref();
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\r\n") {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection mid-reply",
        ));
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|_| invalid("a reply line that is not UTF-8"))
}

fn parse_len(text: &str) -> io::Result<Option<usize>> {
    let n: i64 = text
        .parse()
        .map_err(|_| invalid(format!("a bad length {text:?}")))?;
    Ok(usize::try_from(n).ok())
}

fn read_exact_bulk(reader: &mut impl BufRead, len: usize) -> io::Result<Vec<u8>> {
    let mut payload = Vec::new();
    let want = u64::try_from(len).unwrap_or(u64::MAX).saturating_add(2);
    reader.take(want).read_to_end(&mut payload)?;
    if !payload.ends_with(b"\r\n") || payload.len() != len + 2 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection mid-reply",
        ));
    }
    payload.truncate(len);
    Ok(payload)
}

fn read_items(reader: &mut impl BufRead, count: usize, depth: usize) -> io::Result<Vec<Reply>> {
    let mut items = Vec::with_capacity(count.min(MAX_PREALLOCATED));
    for _ in 0..count {
        items.push(read_reply(reader, depth + 1)?);
    }
    Ok(items)
}

fn read_reply(reader: &mut impl BufRead, depth: usize) -> io::Result<Reply> {
    if depth > MAX_DEPTH {
        return Err(invalid("replies nested too deep"));
    }
    let line = read_line(reader)?;
    let Some(kind) = line.chars().next() else {
        return Err(invalid("an empty reply line"));
    };
    let rest = &line[kind.len_utf8()..];
    Ok(match kind {
        '+' | ',' | '(' => Reply::Status(rest.to_owned()),
        '-' => Reply::Error(rest.to_owned()),
        ':' => Reply::Int(
            rest.parse()
                .map_err(|_| invalid(format!("a bad integer {rest:?}")))?,
        ),
        '#' => Reply::Int(i64::from(rest == "t")),
        '_' => Reply::Nil,
        '$' | '=' | '!' => match parse_len(rest)? {
            None => Reply::Nil,
            Some(len) => {
                let payload = read_exact_bulk(reader, len)?;
                match kind {
                    '!' => Reply::Error(String::from_utf8_lossy(&payload).into_owned()),
                    // A verbatim string starts with its format, e.g. `txt:`.
                    '=' => Reply::Bulk(payload.get(4..).unwrap_or_default().to_vec()),
                    _ => Reply::Bulk(payload),
                }
            }
        },
        '*' | '~' | '>' => match parse_len(rest)? {
            None => Reply::Nil,
            Some(count) => Reply::Array(read_items(reader, count, depth)?),
        },
        '%' => match parse_len(rest)? {
            None => Reply::Nil,
            Some(count) => Reply::Array(read_items(reader, count.saturating_mul(2), depth)?),
        },
        '|' => {
            // Attributes describe the reply that follows; the kit has no use for them.
            let count = parse_len(rest)?.unwrap_or(0);
            read_items(reader, count.saturating_mul(2), depth)?;
            read_reply(reader, depth + 1)?
        }
        other => return Err(invalid(format!("an unknown reply type {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> io::Result<Reply> {
        read_reply(&mut BufReader::new(bytes), 0)
    }

    #[test]
    fn reads_resp2() {
        assert_eq!(parse(b"+OK\r\n").ok(), Some(Reply::Status("OK".into())));
        assert_eq!(
            parse(b"-ASK 1 h:2\r\n").ok(),
            Some(Reply::Error("ASK 1 h:2".into()))
        );
        assert_eq!(parse(b":-5\r\n").ok(), Some(Reply::Int(-5)));
        assert_eq!(parse(b"$-1\r\n").ok(), Some(Reply::Nil));
        assert_eq!(
            parse(b"$3\r\na\r\n\r\n").ok(),
            Some(Reply::Bulk(b"a\r\n".to_vec()))
        );
        assert_eq!(
            parse(b"*2\r\n:1\r\n*-1\r\n").ok(),
            Some(Reply::Array(vec![Reply::Int(1), Reply::Nil]))
        );
    }

    #[test]
    fn reads_resp3_as_resp2_shapes() {
        assert_eq!(
            parse(b"%1\r\n+a\r\n#t\r\n").ok(),
            Some(Reply::Array(vec![Reply::Status("a".into()), Reply::Int(1)]))
        );
        assert_eq!(
            parse(b"=7\r\ntxt:abc\r\n").ok(),
            Some(Reply::Bulk(b"abc".to_vec()))
        );
        assert_eq!(parse(b"_\r\n").ok(), Some(Reply::Nil));
        assert_eq!(parse(b"|1\r\n+k\r\n+v\r\n:2\r\n").ok(), Some(Reply::Int(2)));
    }

    #[test]
    fn refuses_garbage_without_panicking() {
        assert!(parse(b"$5\r\nab").is_err());
        assert!(parse(b"?\r\n").is_err());
        assert!(parse(b":x\r\n").is_err());
        assert!(parse(b"*99999999999\r\n").is_err());
        assert!(parse(&b"*1\r\n".repeat(64)).is_err());
        assert!(parse(b"").is_err());
    }

    #[test]
    fn encodes_binary_arguments() {
        assert_eq!(
            encode(&[&b"GET"[..], b"\r\n"]),
            b"*2\r\n$3\r\nGET\r\n$2\r\n\r\n\r\n"
        );
    }
}
