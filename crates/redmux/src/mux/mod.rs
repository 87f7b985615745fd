//! The multiplexer: one connection shared by every caller.
//!
//! | file | owns |
//! |---|---|
//! | `queue.rs` | the submission queue (and backlog), one mutex around a vector |
//! | `slot.rs` | where each reply goes, and the pending FIFO of written commands |
//! | `writer.rs` | the writer: take everything queued, one write per drain |
//! | `reader.rs` | the reader: decode without copying, complete in FIFO order |
//! | this file | the shared state, the counters, and the supervisor that runs a connection's reader and writer and reconnects when it breaks |
//!
//! Only this module touches the pending FIFO.

mod queue;
mod reader;
mod slot;
mod writer;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::config::Config;
use crate::connection::{self, Connection};
use crate::error::{CommandStatus, Error, TimeoutDiagnostics};
use crate::stats::Stats;
pub(crate) use queue::Entry;
pub(crate) use slot::Slot;
use writer::WriterExit;

/// The state of the shared connection.
///
/// ```
/// assert_eq!(redmux::ConnectionState::Connected.to_string(), "connected");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Connected and serving commands.
    Connected,
    /// The connection broke; commands wait in the backlog while it is rebuilt.
    Reconnecting,
    /// The client was closed or dropped.
    Closed,
}

impl std::fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Closed => "closed",
        })
    }
}

/// Counters the reader and writer bump once per batch, never per command.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) commands_sent: AtomicU64,
    pub(crate) replies: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) fire_and_forget_errors: AtomicU64,
    pub(crate) expired: AtomicU64,
    pub(crate) pushes: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) timeouts: AtomicU64,
}

/// State shared by every clone of a client, its requests, and its tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) queue: queue::Queue,
    pub(crate) pending: slot::Pending,
    pub(crate) counters: Counters,
    state: AtomicU8,
    state_tx: watch::Sender<ConnectionState>,
    /// Set by the writer once the client is closed and the queue is written out.
    writer_done: AtomicBool,
    epoch: Instant,
    last_read_ms: AtomicU64,
    last_write_ms: AtomicU64,
}

impl Shared {
    /// Queues a command for the writer; returns its sequence number.
    pub(crate) fn submit(&self, entry: Entry) -> Result<u64, Error> {
        self.queue.push(entry)
    }

    /// Queues commands that go out back to back, with no other caller's command
    /// between them; returns the first one's sequence number. The last entry may
    /// hold the writer (see [`Entry::hold`]).
    #[allow(dead_code)] // the batch and transaction layer is its first user
    pub(crate) fn submit_many(&self, entries: Vec<Entry>) -> Result<u64, Error> {
        self.queue.push_many(entries)
    }

    /// Where a command is, for an error about it.
    pub(crate) fn status_of(&self, seq: u64) -> CommandStatus {
        if self.queue.was_taken(seq) {
            CommandStatus::Sent
        } else if self.state() == ConnectionState::Reconnecting {
            CommandStatus::Backlogged
        } else {
            CommandStatus::NotSent
        }
    }

    pub(crate) fn state(&self) -> ConnectionState {
        match self.state.load(Relaxed) {
            0 => ConnectionState::Connected,
            1 => ConnectionState::Reconnecting,
            _ => ConnectionState::Closed,
        }
    }

    pub(crate) fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.state_tx.subscribe()
    }

    fn set_state(&self, state: ConnectionState) {
        self.state.store(state as u8, Relaxed);
        self.state_tx.send_replace(state);
        tracing::debug!(%state, "connection state");
    }

    /// The error a timed-out command gets, with what a person needs to tell a slow
    /// server from a dead link.
    pub(crate) fn timeout_error(&self, command: &str, timeout: Duration, seq: u64) -> Error {
        self.counters.timeouts.fetch_add(1, Relaxed);
        let now = self.millis();
        Error::Timeout(Box::new(TimeoutDiagnostics {
            command: command.to_string(),
            timeout,
            status: self.status_of(seq),
            connection: match self.state() {
                ConnectionState::Connected => "connected",
                ConnectionState::Reconnecting => "reconnecting",
                ConnectionState::Closed => "closed",
            },
            queued: self.queue.depth().0,
            in_flight: self.pending.len(),
            since_last_read: Duration::from_millis(now - self.last_read_ms.load(Relaxed).min(now)),
            since_last_write: Duration::from_millis(
                now - self.last_write_ms.load(Relaxed).min(now),
            ),
        }))
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        let (queued, queued_bytes) = self.queue.depth();
        Stats {
            commands_sent: c.commands_sent.load(Relaxed),
            replies: c.replies.load(Relaxed),
            writes: c.writes.load(Relaxed),
            bytes_in: c.bytes_in.load(Relaxed),
            bytes_out: c.bytes_out.load(Relaxed),
            fire_and_forget_errors: c.fire_and_forget_errors.load(Relaxed),
            expired_unsent: c.expired.load(Relaxed),
            push_frames: c.pushes.load(Relaxed),
            reconnects: c.reconnects.load(Relaxed),
            timeouts: c.timeouts.load(Relaxed),
            queue_depth: queued,
            queue_bytes: queued_bytes,
            in_flight: self.pending.len(),
            state: self.state(),
        }
    }

    /// Stops taking commands; the writer sends what is queued, then the tasks end.
    pub(crate) fn close(&self) {
        self.queue.close();
    }

    fn on_push(&self, _items: Vec<redmux_resp::Value>) {
        // Pub/sub runs on its own connection; pushes on the shared one (client
        // tracking, say) are counted and dropped until something subscribes to them.
        self.counters.pushes.fetch_add(1, Relaxed);
    }

    fn millis(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn touch_read(&self) {
        self.last_read_ms.store(self.millis(), Relaxed);
    }

    fn touch_write(&self) {
        self.last_write_ms.store(self.millis(), Relaxed);
    }
}

/// What the writer sends to a future whose command expired in the backlog; the
/// future replaces it with its own timeout diagnostics.
pub(crate) fn expired_error() -> Error {
    Error::ConnectionLost {
        status: CommandStatus::NotSent,
        reason: "expired before it could be sent".into(),
    }
}

/// Connects and starts the tasks that serve the connection.
pub(crate) async fn start(config: Config) -> Result<Arc<Shared>, Error> {
    let conn = connection::connect(&config).await?;
    let (state_tx, _) = watch::channel(ConnectionState::Connected);
    let shared = Arc::new(Shared {
        config,
        queue: queue::Queue::default(),
        pending: slot::Pending::default(),
        counters: Counters::default(),
        state: AtomicU8::new(ConnectionState::Connected as u8),
        state_tx,
        writer_done: AtomicBool::new(false),
        epoch: Instant::now(),
        last_read_ms: AtomicU64::new(0),
        last_write_ms: AtomicU64::new(0),
    });
    tokio::spawn(supervise(shared.clone(), conn));
    Ok(shared)
}

/// Runs connections one after another until the client is closed: when one breaks,
/// its written-but-unanswered commands fail as sent, the unwritten ones stay queued,
/// and a new connection is made with exponential backoff.
async fn supervise(shared: Arc<Shared>, mut conn: Connection) {
    loop {
        let lost = serve(&shared, conn).await;
        let reason: Arc<str> = match &lost {
            Some(e) => e.to_string().into(),
            None => "the client was closed".into(),
        };
        for slot in shared.pending.take_all() {
            slot.fail(Error::ConnectionLost {
                status: CommandStatus::Sent,
                reason: reason.clone(),
            });
        }
        if lost.is_none() || shared.queue.is_closed() {
            break;
        }
        tracing::warn!(error = %reason, "connection lost; reconnecting");
        shared.set_state(ConnectionState::Reconnecting);
        match reconnect(&shared).await {
            Some(next) => {
                shared.counters.reconnects.fetch_add(1, Relaxed);
                shared.set_state(ConnectionState::Connected);
                conn = next;
            }
            None => break,
        }
    }
    for entry in shared.queue.drain() {
        entry.slot.fail(Error::Closed);
    }
    shared.set_state(ConnectionState::Closed);
}

async fn reconnect(shared: &Shared) -> Option<Connection> {
    let mut delay = Duration::from_millis(20);
    loop {
        if shared.queue.is_closed() {
            return None;
        }
        match connection::connect(&shared.config).await {
            Ok(conn) => return Some(conn),
            Err(e) => tracing::debug!(error = %e, ?delay, "reconnect failed"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}

/// Serves one connection until it breaks (returns why) or the client is closed and
/// every reply is in (returns `None`).
async fn serve(shared: &Arc<Shared>, conn: Connection) -> Option<Error> {
    let Connection {
        mut reader,
        mut writer,
        leftover,
        mut decoder,
        ..
    } = conn;
    shared.writer_done.store(false, Relaxed);
    let (stop_tx, stop_rx) = watch::channel(false);
    let reader_shared = shared.clone();
    // The reader runs as its own task so decoding and writing use both cores.
    let mut reader_task = tokio::spawn(async move {
        reader::run(&reader_shared, &mut reader, &mut decoder, leftover).await
    });
    let writer = writer::run(shared, &mut writer, stop_rx);
    tokio::pin!(writer);
    tokio::select! {
        exit = &mut writer => match exit {
            WriterExit::Drained => {
                shared.writer_done.store(true, Relaxed);
                if shared.pending.len() > 0 {
                    let wait = shared.config.command_timeout;
                    if let Ok(Ok(reason)) = tokio::time::timeout(wait, &mut reader_task).await {
                        return reason;
                    }
                }
                reader_task.abort();
                None
            }
            WriterExit::Failed(e) => {
                reader_task.abort();
                Some(Error::ConnectionLost { status: CommandStatus::Sent, reason: format!("write failed: {e}").into() })
            }
            WriterExit::Stopped => {
                reader_task.abort();
                Some(Error::protocol("writer stopped"))
            }
        },
        joined = &mut reader_task => {
            let _ = stop_tx.send(true);
            let _ = writer.await;
            match joined {
                Ok(reason) => reason,
                Err(e) => Some(Error::protocol(format!("reader task ended: {e}"))),
            }
        }
    }
}

impl Shared {
    /// Whether the writer has sent everything after a close (the reader may stop once
    /// every pending reply is in).
    pub(crate) fn writer_done(&self) -> bool {
        self.writer_done.load(Relaxed)
    }
}
