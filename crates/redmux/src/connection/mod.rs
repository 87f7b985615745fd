//! The connection layer: one transport, the handshake, the read loop, reconnecting
//! with backoff and the heartbeat. It knows nothing of callers or queues: the
//! multiplexer, the subscriber and the dedicated connection are built on it.
//!
//! | file | owns |
//! |---|---|
//! | `transport.rs` | `ReadHalf` / [`WriteHalf`]: a TCP or Unix socket, split; the write primitives the writer and the fast path share |
//! | `handshake.rs` | HELLO/AUTH, SELECT, CLIENT SETNAME/SETINFO, PING in one round trip |
//! | `read.rs` | [`FrameReader`]: decode what is buffered, read more, end of stream or error as one [`ReadError`] |
//! | `reconnect.rs` | `Backoff` (exponential, jittered, saturating, `max_attempts`) and [`redial`], the one reconnect loop |
//! | `heartbeat.rs` | [`Heartbeat`]: PING an idle link, declare a silent one dead |
//! | `activity.rs` | [`Activity`]: when bytes last moved, for the heartbeat and for timeout diagnostics |
//! | this file | [`Connection`] and [`connect`] |
//!
//! # Where TLS goes
//!
//! TLS will be a third arm of `ReadHalf` and [`WriteHalf`], not a stream wrapped
//! around the socket. Its write arm will hold the raw socket's write half and, shared
//! with its read arm, a `Mutex<rustls::ClientConnection>`, rustls's sans-I/O state
//! machine. The writer and the lone-caller fast path hand the write half *plaintext*
//! and use only "take these bytes now if you can" (`try_write`,
//! `try_write_vectored`), "wait until you can" (`writable`) and "are taken bytes still
//! held back" (`has_buffered`). The TLS arm implements them by encrypting into
//! rustls's outgoing buffer under the mutex and writing that buffer to the raw socket
//! with the same non-blocking `try_write`; ciphertext the socket does not take yet
//! stays there, `has_buffered` says so, and `writable` puts it on the wire before
//! anything else. So the fast path keeps its shape (a caller writes its own command
//! with one non-blocking call when the link is idle, and leaves the writer an empty
//! rest to flush if ciphertext is left over), and the large-value path keeps its
//! vectored call: the parts are encrypted straight from their own `Bytes`, which is
//! the one copy TLS cannot avoid. The read arm reads ciphertext into a buffer of its
//! own, feeds rustls, and appends the plaintext to the [`FrameReader`]'s buffer.
//!
//! Why not `tokio-rustls`' `TlsStream`: it is `AsyncRead + AsyncWrite` behind
//! `&mut self`, with no `try_write` through a shared reference, so the fast path
//! (which writes from the caller's thread while the writer task owns the half)
//! would need a lock held across awaits or a hop to the writer task: the cost the
//! fast path exists to avoid. For TCP and Unix nothing changed: each primitive is
//! one `match` on the enum around tokio's own call, no boxing and no trait object,
//! and `has_buffered` is a constant `false` the compiler folds away.

mod activity;
mod handshake;
mod heartbeat;
mod read;
mod reconnect;
mod tls;
mod transport;

use std::io;
use std::time::Duration;

pub(crate) use activity::Activity;
pub(crate) use handshake::ServerMode;
pub(crate) use heartbeat::{Heartbeat, Link, monitor};
pub(crate) use read::{FrameReader, ReadError};
pub(crate) use reconnect::{Redial, redial};
pub(crate) use transport::WriteHalf;

use crate::config::Config;
use crate::error::{Error, Result};

/// A connected, authenticated socket, split for one reader and one writer.
#[derive(Debug)]
pub(crate) struct Connection {
    /// The read half, with its decoder and whatever the handshake read past its
    /// last reply (nothing, in practice).
    pub(crate) reader: FrameReader,
    pub(crate) writer: WriteHalf,
    /// What kind of server this is, as its `HELLO` said.
    pub(crate) mode: ServerMode,
    /// Its availability zone, if its `HELLO` named one.
    pub(crate) zone: Option<std::sync::Arc<str>>,
}

/// Opens a connection and runs the handshake, all within `config.connect_timeout`.
///
/// With `config.locate` set (sentinel), the address is asked for first, on every
/// call: a reconnect dials whatever node is the primary now. That ask is outside
/// `connect_timeout`: it has its own bounds (each sentinel at most
/// `min(connect_timeout, 2 s)`, and the wait for `+switch-master` at most the
/// reconnect's longest pause).
pub(crate) async fn connect(config: &Config) -> Result<Connection> {
    let located;
    let config = match &config.locate {
        None => config,
        Some(locate) => {
            let mut target = config.clone();
            target.addr = locate().await?;
            located = target;
            &located
        }
    };
    match tokio::time::timeout(config.connect_timeout, connect_inner(config)).await {
        Ok(result) => result,
        Err(_) => Err(Error::Connect {
            addr: config.addr.to_string(),
            reason: format!(
                "no connection and handshake within {:?} (connect_timeout); is the server up and reachable?",
                config.connect_timeout
            )
            .into(),
        }),
    }
}

async fn connect_inner(config: &Config) -> Result<Connection> {
    let tls = match &config.tls {
        Some(settings) => Some(tls::Setup::new(settings, &config.addr)?),
        None => None,
    };
    let (reader, writer) =
        transport::open(&config.addr, tls)
            .await
            .map_err(|e| Error::Connect {
                addr: config.addr.to_string(),
                reason: match e.kind() {
                    io::ErrorKind::ConnectionRefused => {
                        format!("{e}: is a server listening there?").into()
                    }
                    _ => e.to_string().into(),
                },
            })?;
    let mut reader = FrameReader::new(reader, config.limits);
    let hello = handshake::run(&mut reader, &writer, config).await?;
    Ok(Connection {
        reader,
        writer,
        mode: hello.mode,
        zone: hello.zone,
    })
}

/// The longest timeout deadlines are computed with: `Duration::MAX` (a caller's
/// "never") added to an instant would overflow, so it means about thirty years.
pub(crate) const FOREVER: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// The instant `timeout` from now, for any timeout (see [`FOREVER`]).
pub(crate) fn deadline(timeout: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + timeout.min(FOREVER)
}
