//! The supervisor: one task per client that runs a connection's writer (inline),
//! reader (its own task) and heartbeat, and when the connection breaks fails what
//! was in flight, keeps what was not written, and reconnects. The backoff, the
//! reconnect loop and the heartbeat's rule are the connection layer's
//! ([`crate::connection`]); this file says what they mean for the multiplexer.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::watch;

use super::writer::{self, WriterExit};
use super::{ConnectionState, Counters, Entry, Shared, Slot, expiry, queue, reader, slot};
use crate::command::cmd;
use crate::config::{BacklogPolicy, Config};
use crate::connection::{self, Connection, FrameReader, Link, Redial, ServerMode, WriteHalf};
use crate::error::{CommandStatus, Error};

/// Connects and starts the task that serves the connection.
pub(crate) async fn start(config: Config) -> Result<(Arc<Shared>, ServerMode), Error> {
    let conn = connection::connect(&config).await?;
    let mode = conn.mode;
    let shared = shared(config, ConnectionState::Connected);
    // Known before the caller sees the node, so its first replica read finds it.
    shared.zone.lock().clone_from(&conn.zone);
    let sweep = tokio::spawn(expiry::run(shared.clone()));
    tokio::spawn(supervise(shared.clone(), Some(conn), sweep));
    Ok((shared, mode))
}

/// Starts the tasks without waiting for a connection: the supervisor makes the first
/// one as it would rebuild a lost one, and commands wait in the backlog meanwhile.
/// Must be called within a tokio runtime.
pub(crate) fn start_lazy(config: Config) -> Arc<Shared> {
    let shared = shared(config, ConnectionState::Connecting);
    let sweep = tokio::spawn(expiry::run(shared.clone()));
    tokio::spawn(supervise(shared.clone(), None, sweep));
    shared
}

fn shared(config: Config, state: ConnectionState) -> Arc<Shared> {
    let (state_tx, _) = watch::channel(state);
    Arc::new(Shared {
        queue: queue::Queue::new(
            config.max_queued_commands,
            config.max_queued_bytes,
            config.max_write_bytes,
        ),
        config,
        pending: slot::Pending::default(),
        counters: Counters::default(),
        state: AtomicU8::new(state as u8),
        state_tx,
        writer_done: Default::default(),
        read: Default::default(),
        read_claimed: Default::default(),
        read_signals: Default::default(),
        activity: Default::default(),
        last_connect_error: Mutex::new(None),
        closing: watch::channel(None).0,
        gave_up: Default::default(),
        zone: Mutex::new(None),
        tracking: Default::default(),
        owner: Default::default(),
    })
}

/// Runs connections one after another until the client is closed; makes the first
/// one itself when it is not given one.
async fn supervise(
    shared: Arc<Shared>,
    first: Option<Connection>,
    sweep: tokio::task::JoinHandle<()>,
) {
    let first = match first {
        Some(conn) => Some(conn),
        None => match reconnect(&shared).await {
            Some(_) if shared.is_aborted() => None,
            Some(conn) => {
                *shared.last_connect_error.lock() = None;
                shared.set_state(ConnectionState::Connected);
                Some(conn)
            }
            None => None,
        },
    };
    if let Some(conn) = first {
        serve_until_closed(&shared, conn).await;
    }
    shared.queue.close();
    let unsent = shared.queue.drain();
    if !unsent.is_empty() {
        shared.give_up();
    }
    for entry in unsent {
        entry.fail(Error::Closed);
    }
    // Every command has its outcome now: nothing is left to expire.
    sweep.abort();
    shared.set_state(ConnectionState::Closed);
}

/// Serves `conn`, and after it every connection rebuilt, until the client is closed
/// or reconnecting gives up.
async fn serve_until_closed(shared: &Arc<Shared>, mut conn: Connection) {
    loop {
        let lost = serve(shared, conn).await;
        // Nothing more is read from that connection: the invalidations it would
        // have brought are gone, so its cache is flushed before anything fails.
        if let Some(tracking) = shared.tracking.get() {
            tracking.on_disconnect();
        }
        let reason: Arc<str> = match &lost {
            // Its own status does not apply to the commands failed below.
            Some(Error::ConnectionLost { reason, .. }) => reason.clone(),
            Some(e) => e.to_string().into(),
            None => "the client was closed".into(),
        };
        // Written but unanswered: they may have run, so they fail and are never resent.
        let unanswered = shared.pending.take_all();
        if !unanswered.is_empty() && shared.queue.is_closed() {
            shared.give_up();
        }
        shared
            .counters
            .lost_in_flight
            .fetch_add(unanswered.len() as u64, Relaxed);
        for slot in unanswered {
            slot.fail(Error::ConnectionLost {
                status: CommandStatus::Sent,
                reason: reason.clone(),
            });
        }
        // Closed with every reply in. A client closed while it still has a backlog
        // reconnects to deliver it: `reconnect` stops when there is none or the
        // close deadline has passed.
        if lost.is_none() || shared.is_aborted() {
            break;
        }
        tracing::warn!(error = %reason, "connection lost; reconnecting");
        shared.set_state(ConnectionState::Reconnecting);
        if shared.config.backlog == BacklogPolicy::FailFast {
            fail_backlog(
                shared,
                &Error::ConnectionLost {
                    status: CommandStatus::NotSent,
                    reason: reason.clone(),
                },
            );
        }
        match reconnect(shared).await {
            Some(_) if shared.is_aborted() => break,
            Some(next) => {
                shared.counters.reconnects.fetch_add(1, Relaxed);
                *shared.last_connect_error.lock() = None;
                shared.set_state(ConnectionState::Connected);
                conn = next;
            }
            None => break,
        }
    }
}

/// Fails every backlogged command: they were not sent, so a retry is safe.
fn fail_backlog(shared: &Shared, error: &Error) {
    for entry in shared.queue.drain() {
        entry.fail(error.clone());
    }
}

/// Tries to connect until it works, the client is closed, or the attempts run out.
async fn reconnect(shared: &Shared) -> Option<Connection> {
    connection::redial(&shared.config, &mut Reconnecting(shared)).await
}

/// What reconnecting means for the multiplexer.
struct Reconnecting<'a>(&'a Shared);

impl Redial for Reconnecting<'_> {
    /// A closed client still reconnects to deliver its backlog, until that is empty
    /// (delivered elsewhere, or expired) or its close deadline passes.
    fn done(&self) -> bool {
        let shared = self.0;
        shared.is_aborted() || (shared.queue.is_closed() && shared.queue.depth().0 == 0)
    }

    fn wait_done(&mut self) -> impl Future<Output = ()> + Send {
        let shared = self.0;
        async move {
            while !Reconnecting(shared).done() {
                tokio::select! {
                    _ = shared.wait_aborted() => {}
                    // Pushes wake this too; the loop goes back to waiting.
                    _ = shared.queue.wait() => {}
                }
            }
        }
    }

    fn failed(&mut self, error: Error) {
        let shared = self.0;
        if shared.config.backlog == BacklogPolicy::FailFast {
            // A command can pass `Shared::refusal` just before the state turned and
            // be queued just after the backlog was failed: it would wait out its
            // whole timeout (a cluster's command, which its router would send to the
            // new owner, seen in tests/tests/cluster.rs). Each failed attempt fails
            // what is queued again; the hot path pays nothing for it.
            fail_backlog(
                shared,
                &Error::ConnectionLost {
                    status: CommandStatus::NotSent,
                    reason: format!(
                        "the connection is down and the backlog policy is fail-fast; last attempt: {error}"
                    )
                    .into(),
                },
            );
        }
        *shared.last_connect_error.lock() = Some(error);
    }

    fn rejected(&mut self, error: &Error) {
        // The backlog fails now; `Shared::refusal` refuses new commands with the
        // error kept by `failed`.
        fail_backlog(self.0, error);
    }

    fn paused(&mut self) {
        let shared = self.0;
        for entry in shared.queue.purge_expired(Instant::now()) {
            shared.counters.expired.fetch_add(1, Relaxed);
            entry
                .slot
                .fail(shared.expired_error(CommandStatus::Backlogged));
        }
    }
}

/// Serves one connection until it breaks (returns why) or the client is closed and
/// every reply is in (returns `None`). When it returns, nothing more can be written
/// to that connection and nothing more read from it.
async fn serve(shared: &Arc<Shared>, conn: Connection) -> Option<Error> {
    let Connection {
        reader,
        writer,
        zone,
        ..
    } = conn;
    *shared.zone.lock() = zone;
    let socket = Arc::new(writer);
    shared.queue.attach(socket.clone());
    let lost = serve_with(shared, reader, &socket).await;
    // The reader task has stopped; a lone caller might still read: taken away
    // here, before the pending FIFO is failed, nothing more is read from that
    // connection by anyone.
    shared.detach_reader();
    // Reads and writes noted on this connection but not yet dated are dated now,
    // as it ends: looked at later (a command timing out in the backlog), they
    // would be dated then, a dead link reported as read from just now.
    let _ = shared.activity.since_read();
    shared.queue.detach().await;
    lost
}

async fn serve_with(
    shared: &Arc<Shared>,
    reader: FrameReader,
    writer: &WriteHalf,
) -> Option<Error> {
    shared.writer_done.store(false, Relaxed);
    shared.touch_read();
    shared.touch_write();
    let (stop_tx, stop_rx) = watch::channel(false);
    shared.attach_reader(reader);
    let reader_shared = shared.clone();
    // The reader runs as its own task so decoding and writing use both cores.
    let mut reader_task = tokio::spawn(async move { reader::run(&reader_shared).await });
    let writer = writer::run(shared, writer, stop_rx);
    tokio::pin!(writer);
    let mut health = Health(shared);
    let lost = tokio::select! {
        biased;
        // A closing client's deadline passed with the writer still stuck or replies
        // still owed: they are given up.
        _ = shared.wait_aborted() => {
            let _ = stop_tx.send(true);
            let _ = writer.await;
            Error::Closed
        }
        exit = &mut writer => match exit {
            WriterExit::Drained => {
                shared.writer_done.store(true, Relaxed);
                // A lone caller may hold the read side, with the reader task
                // asleep: it must look at `writer_done` itself.
                shared.wake_reader();
                if shared.pending.len() > 0 {
                    let wait = shared.config.command_timeout;
                    tokio::select! {
                        joined = tokio::time::timeout(wait, &mut reader_task) => match joined {
                            Ok(Ok(reason)) => return reason,
                            // Finished already: a JoinHandle must not be polled again.
                            Ok(Err(_)) => return None,
                            Err(_) => {}
                        },
                        _ = shared.wait_aborted() => {}
                    }
                }
                stop_reader(reader_task).await;
                return None;
            }
            WriterExit::Failed(e) => Error::ConnectionLost {
                status: CommandStatus::Sent,
                reason: format!("write failed: {e}").into(),
            },
            WriterExit::Stopped => Error::protocol("writer stopped"),
        },
        joined = &mut reader_task => {
            let _ = stop_tx.send(true);
            let _ = writer.await;
            return match joined {
                Ok(reason) => reason,
                Err(e) => Some(Error::protocol(format!("reader task ended: {e}"))),
            };
        }
        dead = connection::monitor(&shared.config, &mut health) => {
            let _ = stop_tx.send(true);
            let _ = writer.await;
            dead
        }
    };
    // A write error always tears the connection down: no half-written frame is
    // ever followed by another caller's bytes.
    stop_reader(reader_task).await;
    Some(lost)
}

/// Aborts the reader and waits until it has really stopped. `abort` only takes
/// effect at the reader's next await: a reader still completing replies of the old
/// connection must not be running when the pending FIFO is failed and refilled by
/// the next connection's writer, or it would hand old replies to new callers.
async fn stop_reader(reader_task: tokio::task::JoinHandle<Option<Error>>) {
    reader_task.abort();
    let _ = reader_task.await;
}

/// The heartbeat's view of the multiplexer: replies are replies, idle means
/// nothing written, and a PING goes through the queue like any command.
struct Health<'a>(&'a Shared);

impl Link for Health<'_> {
    fn replies(&self) -> u64 {
        self.0.counters.replies.load(Relaxed)
    }

    fn waiting(&self) -> bool {
        self.0.pending.len() > 0
    }

    fn timeouts(&self) -> u64 {
        self.0.counters.timeouts.load(Relaxed)
    }

    fn idle(&self) -> Duration {
        self.0.activity.since_write()
    }

    fn ping(&mut self, deadline: Instant) -> bool {
        let shared = self.0;
        // Queued commands are traffic enough to find a dead link without help.
        if shared.queue.depth().0 > 0 {
            return false;
        }
        // Behind a long command a late PING says nothing the command's own timeout
        // does not, so only one sent on an idle link counts.
        let idle_link = shared.pending.len() == 0;
        let ping = cmd("PING").into_bytes();
        // A full queue refuses it: again, traffic enough.
        shared
            .submit(Entry::new(ping, Slot::Ignore, deadline))
            .is_ok()
            && idle_link
    }
}
