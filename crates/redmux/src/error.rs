//! [`Error`]: the one error type of redmux, matchable by kind, that says whether the
//! command reached the server and what a retry should do.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Where a failed command got to before it failed: the question a caller must answer
/// before retrying anything that is not idempotent.
///
/// ```
/// use redmux::CommandStatus;
/// assert!(CommandStatus::NotSent.safe_to_retry());
/// assert!(!CommandStatus::Sent.safe_to_retry());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandStatus {
    /// The command never left this process: retrying cannot run it twice.
    NotSent,
    /// The command was written to the socket and may have run on the server.
    Sent,
    /// The command was waiting in the backlog for a connection.
    Backlogged,
    /// Not tied to one command (a connect or configuration error).
    NotApplicable,
}

impl CommandStatus {
    /// Whether retrying the command cannot make it run twice.
    pub fn safe_to_retry(self) -> bool {
        !matches!(self, CommandStatus::Sent)
    }
}

impl fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CommandStatus::NotSent => "it was not sent",
            CommandStatus::Sent => "it was sent and may have run",
            CommandStatus::Backlogged => "it was waiting in the backlog and was not sent",
            CommandStatus::NotApplicable => "no command was involved",
        })
    }
}

/// An error reply from the server: `-WRONGTYPE Operation against a key ...`.
///
/// ```
/// use redmux::ServerError;
/// let e = ServerError::parse(b"WRONGTYPE Operation against a key holding the wrong kind of value");
/// assert_eq!(e.code(), "WRONGTYPE");
/// assert!(e.message().starts_with("Operation"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    line: Arc<str>,
    code_len: usize,
}

impl ServerError {
    /// Splits an error line into its code (the first word, when it is upper case) and
    /// message.
    pub fn parse(line: &[u8]) -> Self {
        let line: Arc<str> = String::from_utf8_lossy(line).into();
        let first = line.split(' ').next().unwrap_or("");
        let is_code = !first.is_empty()
            && first
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        let code_len = if is_code { first.len() } else { 0 };
        ServerError { line, code_len }
    }

    /// The error code (`ERR`, `WRONGTYPE`, `NOSCRIPT`, `MOVED`, ...), or `""` if the
    /// line has none.
    pub fn code(&self) -> &str {
        &self.line[..self.code_len]
    }

    /// The text after the code.
    pub fn message(&self) -> &str {
        self.line[self.code_len..].trim_start()
    }

    /// The whole line as the server sent it.
    pub fn line(&self) -> &str {
        &self.line
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

/// What the client looked like when a command timed out: enough to tell a slow
/// server from a dead link from an overloaded client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimeoutDiagnostics {
    /// The command's name (`GET`, ...).
    pub command: String,
    /// The timeout that elapsed.
    pub timeout: Duration,
    /// Where the command was when it timed out.
    pub status: CommandStatus,
    /// The connection's state (`connected`, `reconnecting`, ...).
    pub connection: &'static str,
    /// Commands queued and not yet written.
    pub queued: usize,
    /// Of `queued`, those waiting in the backlog for the connection to come back
    /// (all of them while reconnecting, none while connected).
    pub backlog: usize,
    /// Commands written and awaiting a reply.
    pub in_flight: usize,
    /// Time since the last bytes were read from the server.
    pub since_last_read: Duration,
    /// Time since the last bytes were written to the server.
    pub since_last_write: Duration,
    /// While reconnecting: why the last connection attempt failed.
    pub last_connect_error: Option<String>,
}

/// What a connection looked like at a timeout, as its owner reports it: the part of
/// [`TimeoutDiagnostics`] that is not about the command.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkSnapshot {
    /// The connection's real state, as [`crate::ConnectionState`] names it (and
    /// whose connection it is, when it is not the shared one).
    pub(crate) connection: &'static str,
    pub(crate) queued: usize,
    pub(crate) backlog: usize,
    pub(crate) in_flight: usize,
    pub(crate) since_last_read: Duration,
    pub(crate) since_last_write: Duration,
    pub(crate) last_connect_error: Option<String>,
}

impl TimeoutDiagnostics {
    /// The one way a timeout error is made: the command, where it was, and its
    /// connection's snapshot.
    pub(crate) fn error(
        command: &str,
        timeout: Duration,
        status: CommandStatus,
        link: LinkSnapshot,
    ) -> Error {
        let LinkSnapshot {
            connection,
            queued,
            backlog,
            in_flight,
            since_last_read,
            since_last_write,
            last_connect_error,
        } = link;
        Error::Timeout(Box::new(TimeoutDiagnostics {
            command: command.to_string(),
            timeout,
            status,
            connection,
            queued,
            backlog,
            in_flight,
            since_last_read,
            since_last_write,
            last_connect_error,
        }))
    }
}

impl fmt::Display for TimeoutDiagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} timed out after {:?} ({}); connection {}, {} queued ({} in the backlog), {} in flight, last read {:?} ago, last write {:?} ago",
            self.command,
            self.timeout,
            self.status,
            self.connection,
            self.queued,
            self.backlog,
            self.in_flight,
            self.since_last_read,
            self.since_last_write
        )?;
        if let Some(e) = &self.last_connect_error {
            write!(f, "; last connection attempt: {e}")?;
        }
        Ok(())
    }
}

/// Every way a redmux call can fail.
///
/// Match on the variant for the kind; [`Error::status`] says whether the command may
/// have run, and [`Error::is_retryable`] whether trying again is sensible.
///
/// ```
/// # async fn run(client: redmux::Client) {
/// match client.incr("hits").await {
///     Ok(n) => println!("{n} hits"),
///     Err(redmux::Error::Server(e)) if e.code() == "WRONGTYPE" => println!("not a counter"),
///     Err(e) if e.status().safe_to_retry() => println!("not run, retry: {e}"),
///     Err(e) => println!("may have run: {e}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error.
    #[error("server error: {0}")]
    Server(ServerError),
    /// No reply within the command's timeout.
    #[error("timeout: {0}")]
    Timeout(Box<TimeoutDiagnostics>),
    /// The connection broke while the command was in flight or queued.
    #[error("connection lost ({status}): {reason}")]
    ConnectionLost {
        /// Where the command was.
        status: CommandStatus,
        /// What broke the connection.
        reason: Arc<str>,
    },
    /// The client could not connect or complete the handshake.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// The address tried.
        addr: String,
        /// Why it failed, and what to check.
        reason: Arc<str>,
    },
    /// The server rejected the credentials.
    #[error("authentication failed: {0}")]
    Auth(ServerError),
    /// Too many commands queued: the client's memory bound was reached.
    #[error("overloaded: {0}; the command was not sent")]
    Overloaded(Arc<str>),
    /// The server sent bytes that are not valid RESP, or a reply nobody asked for.
    /// The connection is dropped when this happens.
    #[error("protocol error: {0}")]
    Protocol(Arc<str>),
    /// A bad URL or option.
    #[error("invalid configuration: {0}")]
    Config(Arc<str>),
    /// A blocking command would stall every caller of the shared connection.
    #[error(
        "{command} blocks the connection and is refused on the shared client, which every caller uses; \
         use client.dedicated() for an exclusive connection, or the WorkQueue/pub-sub notifier pattern instead of blocking pops"
    )]
    BlockingCommandRefused {
        /// The refused command.
        command: String,
    },
    /// The reply was over one of [`crate::Config::limits`]: it was read and thrown
    /// away, and only this command failed. The connection and every other command
    /// on it carry on. The command ran on the server.
    ///
    /// ```
    /// use redmux::{Error, Oversize};
    /// let e = Error::ReplyTooLarge { what: Oversize::Bulk, len: 1 << 20, limit: 1 << 16 };
    /// assert!(e.to_string().contains("max_bulk_len"));
    /// ```
    #[error("{}", too_large(*what, *len, *limit))]
    ReplyTooLarge {
        /// Which limit: bytes of a string, or elements of an aggregate.
        what: redmux_resp::Oversize,
        /// The size the server announced (bytes, or elements; pairs for a map).
        len: u64,
        /// The limit in force.
        limit: usize,
    },

    /// A command that changes the state of the connection it runs on (`CLIENT REPLY`,
    /// `MULTI`, `SELECT`, `AUTH`, ...) would change it under every caller of the
    /// shared connection, and put replies out of step with their callers. It is
    /// allowed on [`crate::Client::dedicated`].
    #[error(
        "{command} changes the state of the connection it runs on, so it is refused on the shared client, \
         whose connection every caller uses; {alternative}"
    )]
    StateCommandRefused {
        /// The refused command (with its subcommand: `CLIENT REPLY`).
        command: String,
        /// What to use instead.
        alternative: &'static str,
    },
    /// A command whose keys hash to different slots, sent to a cluster: every key of
    /// one command must live on one node. Refused before anything was sent. Put a
    /// `{hash tag}` in the keys (`{user:1}:name`, `{user:1}:email`) to keep them in
    /// one slot.
    #[error(
        "{command} names keys in different hash slots (the server would answer CROSSSLOT); \
         keys of one command must share a slot on a cluster: give them a common {{hash tag}}"
    )]
    CrossSlot {
        /// The refused command.
        command: String,
    },
    /// A command flagged [`crate::Flags::DEMAND_REPLICA`] could not go to a
    /// replica: no replica of its slot's primary is up (connected), or the command
    /// is not read-only (replicas serve reads only). Refused before anything was
    /// sent. [`crate::Flags::PREFER_REPLICA`] would have used the primary.
    ///
    /// ```
    /// let e = redmux::Error::NoReplica { command: "GET".into(), reason: "no replica of slot 12182's primary is up".into() };
    /// assert!(e.to_string().contains("DEMAND_REPLICA"));
    /// assert!(e.status().safe_to_retry());
    /// ```
    #[error(
        "{command} was flagged DEMAND_REPLICA, but {reason}; it was not sent (PREFER_REPLICA falls back to the primary)"
    )]
    NoReplica {
        /// The refused command.
        command: String,
        /// Why no replica could take it.
        reason: Arc<str>,
    },
    /// The reply could not be turned into the requested type.
    #[error("cannot convert reply: expected {expected}, got {got}")]
    Conversion {
        /// What the caller asked for.
        expected: &'static str,
        /// What came (a kind, and a short excerpt).
        got: String,
        /// The error underneath, if one caused it (a parse error in a
        /// [`crate::FromValue`] impl); [`std::error::Error::source`] returns it.
        /// Behind one thin `Arc` so the error stays small and `Clone`.
        #[source]
        source: Option<Arc<Box<dyn std::error::Error + Send + Sync>>>,
    },
    /// The client was closed, or dropped, before the command could be sent.
    #[error("client closed: the command was not sent")]
    Closed,
    /// An argument could not be made (a [`crate::ToArg`] impl handed over
    /// [`crate::Arg::failed`]: a value that did not serialize, say), so the command
    /// was never sent. [`std::error::Error::source`] returns the error underneath.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) {
    /// use redmux::{Arg, ToArg};
    ///
    /// /// A percentage, which must be 0 to 100.
    /// struct Percent(u8);
    ///
    /// impl ToArg for Percent {
    ///     fn to_arg(&self) -> Arg<'_> {
    ///         match self.0 {
    ///             0..=100 => Arg::uint(self.0.into()),
    ///             _ => Arg::failed(std::fmt::Error),
    ///         }
    ///     }
    /// }
    ///
    /// let refused = client.set("progress", Percent(120)).await;
    /// assert!(matches!(refused, Err(redmux::Error::InvalidArgument { .. })));
    /// # }
    /// ```
    #[error("invalid argument for {command}: {source}; the command was not sent")]
    InvalidArgument {
        /// The command whose argument failed.
        command: Arc<str>,
        /// Why it failed.
        #[source]
        source: redmux_resp::ArgError,
    },
    /// A read asked for through the client-side cache ([`crate::Request::cached`])
    /// that cannot be cached: a command not on the list of key-only reads, on a
    /// client without [`crate::Config::client_cache`], and so on (`reason` says).
    /// Nothing was sent; send it without `.cached(..)`.
    ///
    /// ```
    /// let e = redmux::Error::NotCacheable { command: "TTL".into(), reason: "only key-only reads are cached" };
    /// assert!(e.to_string().contains("TTL"));
    /// ```
    #[error("{command} cannot be read through the client-side cache: {reason}; nothing was sent")]
    NotCacheable {
        /// The command.
        command: String,
        /// Why it cannot be cached.
        reason: &'static str,
    },
}

impl Error {
    /// Where the command got to.
    pub fn status(&self) -> CommandStatus {
        match self {
            Error::Server(_) | Error::Conversion { .. } | Error::ReplyTooLarge { .. } => {
                CommandStatus::Sent
            }
            Error::Timeout(d) => d.status,
            Error::ConnectionLost { status, .. } => *status,
            Error::Overloaded(_)
            | Error::BlockingCommandRefused { .. }
            | Error::StateCommandRefused { .. }
            | Error::CrossSlot { .. }
            | Error::NoReplica { .. }
            | Error::InvalidArgument { .. }
            | Error::NotCacheable { .. }
            | Error::Closed => CommandStatus::NotSent,
            Error::Connect { .. } | Error::Auth(_) | Error::Protocol(_) | Error::Config(_) => {
                CommandStatus::NotApplicable
            }
        }
    }

    /// Whether the same call may succeed if tried again unchanged: true for lost
    /// connections, timeouts and overload, false for server errors, bad input and
    /// refused commands. Check [`Error::status`] before retrying a non-idempotent command.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Timeout(_)
                | Error::ConnectionLost { .. }
                | Error::Connect { .. }
                | Error::Overloaded(_)
        )
    }

    /// The server's error, if that is what this is.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            Error::Server(e) | Error::Auth(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn config(msg: impl Into<String>) -> Self {
        Error::Config(msg.into().into())
    }

    pub(crate) fn protocol(msg: impl Into<String>) -> Self {
        Error::Protocol(msg.into().into())
    }

    /// A conversion error for a [`crate::FromValue`] impl: the reply `got` is not
    /// the `expected` kind. The message shows `got`'s kind and its first bytes.
    ///
    /// ```
    /// use redmux::{Error, FromValue, Result, Value};
    ///
    /// /// A flag stored as "on" or "off".
    /// struct Switch(bool);
    ///
    /// impl FromValue for Switch {
    ///     fn from_value(v: Value) -> Result<Self> {
    ///         match &v {
    ///             Value::BulkString(b) if &b[..] == b"on" => Ok(Switch(true)),
    ///             Value::BulkString(b) if &b[..] == b"off" => Ok(Switch(false)),
    ///             other => Err(Error::conversion("\"on\" or \"off\"", other)),
    ///         }
    ///     }
    /// }
    ///
    /// let e = Switch::from_value(Value::from("maybe")).err().unwrap();
    /// assert!(e.to_string().contains("\"maybe\""));
    /// ```
    pub fn conversion(expected: &'static str, got: &redmux_resp::Value) -> Self {
        Error::Conversion {
            expected,
            got: describe(got),
            source: None,
        }
    }

    /// A conversion error that carries the error underneath it (a field that did
    /// not parse), for a [`crate::FromValue`] impl. The source is returned by
    /// [`std::error::Error::source`], as the type it was.
    ///
    /// ```
    /// use std::error::Error as _;
    /// use redmux::{Error, FromValue, Result, Value};
    ///
    /// /// A point stored as a hash: `HSET p x 1 y 2`.
    /// #[derive(Debug)]
    /// struct Point {
    ///     x: i64,
    ///     y: i64,
    /// }
    ///
    /// impl FromValue for Point {
    ///     fn from_value(v: Value) -> Result<Self> {
    ///         let mut fields: std::collections::HashMap<String, Value> = FromValue::from_value(v)?;
    ///         let mut field = |name: &str| -> Result<i64> {
    ///             let value = fields.remove(name).unwrap_or(Value::Nil);
    ///             let text: String = FromValue::from_value(value.clone())?;
    ///             text.parse().map_err(|e| {
    ///                 Error::conversion_with_source("a point's integer coordinate", &value, e)
    ///             })
    ///         };
    ///         Ok(Point { x: field("x")?, y: field("y")? })
    ///     }
    /// }
    ///
    /// let good = Value::Map(vec![("x".into(), "1".into()), ("y".into(), "2".into())]);
    /// assert_eq!(Point::from_value(good)?.y, 2);
    ///
    /// let bad = Value::Map(vec![("x".into(), "1".into()), ("y".into(), "two".into())]);
    /// let e = Point::from_value(bad).unwrap_err();
    /// let cause = e.source().and_then(|s| s.downcast_ref::<std::num::ParseIntError>());
    /// assert!(cause.is_some(), "{e}");
    /// # Ok::<(), redmux::Error>(())
    /// ```
    pub fn conversion_with_source(
        expected: &'static str,
        got: &redmux_resp::Value,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Conversion {
            expected,
            got: describe(got),
            source: Some(Arc::new(Box::new(source))),
        }
    }
}

/// `ReplyTooLarge`'s message: what was over which limit, and what to do about it.
fn too_large(what: redmux_resp::Oversize, len: u64, limit: usize) -> String {
    let (size, field) = match what {
        redmux_resp::Oversize::Bulk => (format!("a string of {len} bytes"), "max_bulk_len"),
        redmux_resp::Oversize::Aggregate => (
            format!("an aggregate of {len} elements"),
            "max_aggregate_len",
        ),
    };
    format!(
        "reply too large: {size} is over Limits::{field} ({limit}); it was skipped and only this \
         command failed (it ran on the server). Raise Config::limits.{field} to accept it, or \
         ask for less at a time (GETRANGE, LRANGE/ZRANGE with bounds, SCAN/HSCAN)"
    )
}

/// A short description of a value for error messages: its kind and, for strings,
/// the first bytes.
fn describe(v: &redmux_resp::Value) -> String {
    use redmux_resp::Value;
    match v {
        Value::SimpleString(b) | Value::BulkString(b) | Value::Error(b) | Value::BulkError(b) => {
            let shown = &b[..b.len().min(32)];
            let more = if b.len() > 32 { "..." } else { "" };
            format!("{} {:?}{more}", v.kind(), String::from_utf8_lossy(shown))
        }
        Value::Integer(i) => format!("integer {i}"),
        Value::Double(d) => format!("double {d}"),
        Value::Boolean(b) => format!("boolean {b}"),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            format!("{} of {} elements", v.kind(), items.len())
        }
        Value::Map(pairs) => format!("map of {} pairs", pairs.len()),
        other => other.kind().to_string(),
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_error_split() {
        let e = ServerError::parse(b"ERR unknown command 'FOO'");
        assert_eq!((e.code(), e.message()), ("ERR", "unknown command 'FOO'"));
        let e = ServerError::parse(b"no code here");
        assert_eq!((e.code(), e.message()), ("", "no code here"));
    }

    #[test]
    fn errors_are_send_sync_and_small() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert!(std::mem::size_of::<Error>() <= 48);
    }
}
