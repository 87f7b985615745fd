//! [`DedicatedConnection`]: an exclusive, non-multiplexed connection for the rare
//! caller who needs BLPOP and friends, or a WATCH ... EXEC sequence of its own.
//!
//! It is built on the connection layer's transport, handshake and read loop, and
//! deliberately not on its reconnect: the state a caller builds on its own
//! connection (a WATCH, a SELECT, a blocking pop half done) would be lost without a
//! word by a silent reconnect, so a broken dedicated connection stays broken and its
//! owner opens a new one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use redmux_resp::{TooLarge, Value};
use tokio::sync::Mutex;

use crate::cache::Caches;
use crate::client::Client;
use crate::command::Command;
use crate::connection::{self, Activity, FrameReader, WriteHalf};
use crate::error::{CommandStatus, Error, LinkSnapshot, Result, TimeoutDiagnostics};
use crate::from_value::{FromValue, convert};
use crate::request::{Commands, Exclusive, Target};

/// A connection of its own, opened with the client's configuration, that sends one
/// command at a time and waits for its reply. Blocking commands are allowed here:
/// they stall only this connection. Calls made at once from several tasks (it can
/// be shared behind an `Arc`) take turns. It closes when dropped.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// let conn = client.dedicated().await?;
/// let job: Option<(String, String)> = conn.command(redmux::cmd("BLPOP").arg("jobs").arg(5)).await?;
/// # Ok(()) }
/// ```
///
/// # Cancellation
///
/// Dropping a [`DedicatedConnection::command`] future after it sent the command
/// leaves the reply unread: the connection is then marked broken and every later
/// call fails with [`Error::ConnectionLost`]. Open a new one. A future dropped while
/// it waits for its turn has sent nothing and breaks nothing.
#[derive(Debug)]
pub struct DedicatedConnection {
    inner: Arc<Mutex<Inner>>,
    /// The typed commands, sent through `inner` (see [`Commands`]).
    commands: Commands,
}

/// The typed commands: `conn.get(..)`, `conn.hset(..)` and the rest, as on a
/// [`Client`] (see [`Commands`]), plus the blocking ones only a connection of one's
/// own may send.
impl std::ops::Deref for DedicatedConnection {
    type Target = Commands;

    fn deref(&self) -> &Commands {
        &self.commands
    }
}

#[derive(Debug)]
struct Inner {
    frames: FrameReader,
    writer: WriteHalf,
    health: Health,
    activity: Activity,
    /// The client's caches, when it has any: a write sent here drops its keys
    /// there (the server's invalidation reaches the shared connection on its own
    /// time, maybe after this reply; see `crate::cache`).
    caches: Option<Caches>,
}

/// Whether the stream can still be trusted.
#[derive(Debug)]
enum Health {
    Ready,
    /// A command is in flight. Still set when a call begins: the previous one was
    /// cancelled mid-way and its reply is unread.
    Busy,
    /// The connection failed, or a call gave up on its reply: why.
    Broken(Arc<str>),
}

impl Client {
    /// Opens an exclusive connection with this client's configuration (address,
    /// credentials, database, protocol).
    ///
    /// # Errors
    ///
    /// As [`Client::connect`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let conn = client.dedicated().await?;
    /// conn.command::<()>(redmux::cmd("WATCH").arg("balance")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn dedicated(&self) -> Result<DedicatedConnection> {
        DedicatedConnection::open(self.config(), Caches::of(self.router())).await
    }

    /// Opens an exclusive connection to the node that owns `key`: on a cluster,
    /// where a blocking pop or a WATCH must run on the key's own node; on a
    /// standalone server the same as [`Client::dedicated`]. The connection stays
    /// with that node: if the slot moves later, its commands get MOVED errors.
    ///
    /// # Errors
    ///
    /// As [`Client::connect`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let conn = client.dedicated_for("jobs").await?;
    /// let job: Option<(String, String)> = conn.blpop(["jobs"], Duration::from_secs(5)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn dedicated_for(&self, key: impl redmux_resp::ToArg) -> Result<DedicatedConnection> {
        let slot = crate::cmd("GET").key(key).hash_slot();
        let mut config = self.config().clone();
        if let Some(addr) = slot.and_then(|slot| self.router().addr_of_slot(slot)) {
            config.addr = addr;
        }
        DedicatedConnection::open(&config, Caches::of(self.router())).await
    }
}

impl DedicatedConnection {
    async fn open(config: &crate::Config, caches: Option<Caches>) -> Result<DedicatedConnection> {
        // No tracking: the client-side cache lives on the shared connections.
        let mut config = config.clone();
        config.client_cache = None;
        let conn = connection::connect(&config).await?;
        let inner = Arc::new(Mutex::new(Inner {
            frames: conn.reader,
            writer: conn.writer,
            health: Health::Ready,
            activity: Activity::default(),
            caches,
        }));
        Ok(DedicatedConnection {
            commands: Commands::new(Target::Exclusive(inner.clone())),
            inner,
        })
    }
}

impl DedicatedConnection {
    /// Sends one command and waits for its reply, however long that takes (a
    /// blocking command's own timeout argument bounds it).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let conn = client.dedicated().await?;
    /// let popped: Option<(String, String)> =
    ///     conn.command(redmux::cmd("BRPOP").arg("jobs").arg(1)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Server`] for an error reply; [`Error::ConnectionLost`] when the
    /// connection breaks or was left mid-command by a cancelled call.
    pub async fn command<T: FromValue>(&self, command: Command) -> Result<T> {
        command.check_arguments()?;
        convert(self.round_trip(command, None).await?)
    }

    /// Sends `command` when the connection's turn comes and resolves to its reply
    /// as the server sent it (an error reply is a [`Value`], for [`convert`] to
    /// turn into [`Error::Server`]). The future owns what it needs, so it may
    /// outlive `self`. `timeout` bounds the wait for the turn and the reply
    /// together: past it the call fails with [`Error::Timeout`], and if the command
    /// had been sent the connection is broken (its reply would be read as the next
    /// command's).
    pub(crate) fn round_trip(
        &self,
        command: Command,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<Value>> + Send + 'static {
        round_trip(self.inner.clone(), command, timeout)
    }
}

/// [`DedicatedConnection::round_trip`] on the shared state, for the typed
/// commands' requests.
async fn round_trip(
    inner: Arc<Mutex<Inner>>,
    command: Command,
    timeout: Option<Duration>,
) -> Result<Value> {
    let Some(timeout) = timeout else {
        return inner.lock().await.round_trip(command).await;
    };
    let deadline = connection::deadline(timeout);
    let name = command.name();
    let Ok(mut inner) = tokio::time::timeout_at(deadline, inner.lock()).await else {
        // Still waiting for the turn: nothing was sent.
        return Err(timed_out(&name, timeout, CommandStatus::NotSent, None));
    };
    match tokio::time::timeout_at(deadline, inner.round_trip(command)).await {
        Ok(reply) => reply,
        Err(_) => {
            inner.health = Health::Broken(
                format!("a {name} timed out before its reply came; open a new connection").into(),
            );
            Err(timed_out(&name, timeout, CommandStatus::Sent, Some(&inner)))
        }
    }
}

impl Exclusive for Mutex<Inner> {
    fn round_trip(
        self: Arc<Self>,
        command: Command,
        timeout: Option<Duration>,
    ) -> Pin<Box<dyn Future<Output = Result<Value>> + Send>> {
        Box::pin(round_trip(self, command, timeout))
    }

    fn send_detached(self: Arc<Self>, command: Command, timeout: Option<Duration>) -> Result<()> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::config(
                "a fire-and-forget command on a dedicated connection needs a tokio runtime",
            )
        })?;
        let mut call = Box::pin(round_trip(self, command, timeout));
        // Polled once here, so the call joins the queue for the connection now
        // (tokio's mutex serves waiters in the order they first asked): a command
        // this caller sends next cannot overtake it. The task then finishes it
        // and drops the reply.
        let waker = std::task::Waker::noop();
        match call
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
        {
            std::task::Poll::Pending => {
                runtime.spawn(async move {
                    let _ = call.await;
                });
                Ok(())
            }
            // Refused before sending (the connection is broken): the caller hears it.
            std::task::Poll::Ready(outcome) => outcome.map(drop),
        }
    }
}

/// A dedicated connection's timeout, with its own diagnostics.
fn timed_out(
    command: &str,
    timeout: Duration,
    status: CommandStatus,
    inner: Option<&Inner>,
) -> Error {
    let link = match inner {
        Some(inner) => LinkSnapshot {
            connection: "connected (dedicated)",
            in_flight: 1,
            since_last_read: inner.activity.since_read(),
            since_last_write: inner.activity.since_write(),
            ..LinkSnapshot::default()
        },
        // Another call holds the connection: its state is not for this one to see.
        None => LinkSnapshot {
            connection: "busy with another call (dedicated)",
            ..LinkSnapshot::default()
        },
    };
    TimeoutDiagnostics::error(command, timeout, status, link)
}

impl Inner {
    /// Writes one command and reads its reply; any failure breaks the connection.
    async fn round_trip(&mut self, command: Command) -> Result<Value> {
        match &self.health {
            Health::Ready => {}
            Health::Busy => {
                return Err(Error::ConnectionLost {
                    status: CommandStatus::NotSent,
                    reason: "an earlier call on this dedicated connection was cancelled mid-command; open a new one".into(),
                });
            }
            Health::Broken(reason) => {
                return Err(Error::ConnectionLost {
                    status: CommandStatus::NotSent,
                    reason: reason.clone(),
                });
            }
        }
        self.health = Health::Busy;
        // Without a cache, one branch on `None`.
        let own_write = self
            .caches
            .as_ref()
            .and_then(|caches| caches.write(&command));
        if let Some(own_write) = &own_write {
            own_write.apply();
        }
        let outcome = self.exchange(command).await;
        // Again now the reply is in: a fill the shared connection sent after the
        // first drop may have run before this write, and the server's word of it
        // may not have reached the shared connection yet.
        if let Some(own_write) = &own_write {
            own_write.apply();
        }
        match outcome {
            Ok(Ok(reply)) => {
                self.health = Health::Ready;
                Ok(reply)
            }
            // Skipped whole: the connection is still in step and stays usable.
            Ok(Err(t)) => {
                self.health = Health::Ready;
                Err(Error::ReplyTooLarge {
                    what: t.what,
                    len: t.len,
                    limit: t.limit,
                })
            }
            Err(e) => {
                self.health =
                    Health::Broken(format!("this dedicated connection failed: {e}").into());
                Err(e)
            }
        }
    }

    /// Writes one command and reads its reply (`Err(TooLarge)` for one over the
    /// limits, skipped).
    async fn exchange(&mut self, command: Command) -> Result<std::result::Result<Value, TooLarge>> {
        let lost = |e: std::io::Error| Error::ConnectionLost {
            status: CommandStatus::Sent,
            reason: format!("write failed: {e}").into(),
        };
        // Large `Bytes` arguments go from their own buffers, as on the shared
        // connection.
        let (head, parts) = command.into_parts();
        if parts.is_empty() {
            self.writer.write_all(&head).await.map_err(lost)?;
        } else {
            let mut bufs: Vec<&[u8]> = Vec::with_capacity(1 + parts.len());
            bufs.push(&head);
            bufs.extend(parts.iter().map(|p| &p[..]));
            self.writer.write_all_vectored(&bufs).await.map_err(lost)?;
        }
        self.activity.touch_write();
        // Pushes (RESP3 invalidations, say) answer nothing asked here.
        let reply = self
            .frames
            .next_reply(drop)
            .await
            .map_err(connection::ReadError::into_error)?;
        self.activity.touch_read();
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd;

    /// `round_trip`'s future is `'static` (it can be spawned and outlive the
    /// handle), and its timeout covers the reply: a command that timed out after
    /// being sent breaks the connection, so its late reply is never read as the
    /// next command's.
    #[tokio::test]
    async fn round_trip_is_static_and_a_timeout_after_sending_breaks_the_connection() {
        let server = redmux_testkit::RedisServer::start().unwrap();
        let client = Client::connect(&server.url()).await.unwrap();
        let conn = client.dedicated().await.unwrap();
        let echo = tokio::spawn(conn.round_trip(cmd("ECHO").arg("hi"), None));
        assert_eq!(
            convert::<String>(echo.await.unwrap().unwrap()).unwrap(),
            "hi"
        );
        let blocked = conn.round_trip(
            cmd("BLPOP").arg("nothing").arg(5),
            Some(Duration::from_millis(50)),
        );
        drop(conn);
        let err = blocked.await.unwrap_err();
        assert!(
            matches!(&err, Error::Timeout(d) if d.status == CommandStatus::Sent),
            "{err:?}"
        );

        let conn = client.dedicated().await.unwrap();
        let blocked = conn.round_trip(
            cmd("BLPOP").arg("nothing").arg(5),
            Some(Duration::from_millis(50)),
        );
        assert!(blocked.await.is_err());
        let err = conn.command::<String>(cmd("PING")).await.unwrap_err();
        assert!(
            matches!(&err, Error::ConnectionLost { reason, .. } if reason.contains("timed out")),
            "{err:?}"
        );
    }
}
