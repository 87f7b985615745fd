//! The supervisor: one task per client that runs a connection's writer (inline),
//! reader (its own task) and health monitor, and when the connection breaks fails
//! what was in flight, keeps what was not written, and reconnects with backoff.

use std::hash::{BuildHasher, Hasher};
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
use crate::connection::{self, Connection};
use crate::error::{CommandStatus, Error};

/// Connects and starts the task that serves the connection.
pub(crate) async fn start(config: Config) -> Result<Arc<Shared>, Error> {
    let conn = connection::connect(&config).await?;
    let shared = shared(config, ConnectionState::Connected);
    let sweep = tokio::spawn(expiry::run(shared.clone()));
    tokio::spawn(supervise(shared.clone(), Some(conn), sweep));
    Ok(shared)
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
        queue: queue::Queue::new(config.max_queued_commands, config.max_queued_bytes),
        config,
        pending: slot::Pending::default(),
        counters: Counters::default(),
        state: AtomicU8::new(state as u8),
        state_tx,
        writer_done: Default::default(),
        epoch: Instant::now(),
        last_read_ms: Default::default(),
        last_write_ms: Default::default(),
        last_connect_error: Mutex::new(None),
        closing: watch::channel(None).0,
        gave_up: Default::default(),
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
        entry.slot.fail(Error::Closed);
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
        entry.slot.fail(error.clone());
    }
}

/// Tries to connect until it works, the client is closed, or the attempts run out.
async fn reconnect(shared: &Shared) -> Option<Connection> {
    let policy = &shared.config.reconnect;
    let mut delay = policy.initial_delay;
    let mut attempts = 0u32;
    loop {
        if done_reconnecting(shared) {
            return None;
        }
        attempts = attempts.saturating_add(1);
        let attempt = tokio::select! {
            biased;
            _ = shared.wait_aborted() => return None,
            attempt = connection::connect(&shared.config) => attempt,
        };
        match attempt {
            Ok(conn) => {
                tracing::info!(attempts, "reconnected");
                return Some(conn);
            }
            Err(e) => {
                tracing::debug!(error = %e, attempts, ?delay, "reconnect failed");
                if let Error::Auth(_) = e {
                    // Waiting will not fix credentials: tell the backlog now.
                    fail_backlog(shared, &e);
                }
                *shared.last_connect_error.lock() = Some(e);
            }
        }
        if policy.max_attempts.is_some_and(|max| attempts >= max) {
            tracing::warn!(attempts, "giving up reconnecting; the client is closed");
            return None;
        }
        wait_or_close(shared, jitter(delay)).await;
        delay = delay.saturating_mul(2).min(policy.max_delay);
        let now = Instant::now();
        for entry in shared.queue.purge_expired(now) {
            shared.counters.expired.fetch_add(1, Relaxed);
            entry
                .slot
                .fail(super::expired_error(CommandStatus::Backlogged));
        }
    }
}

/// Whether reconnecting is pointless: a closed client still reconnects to deliver
/// its backlog, until that is empty (delivered elsewhere, or expired) or its close
/// deadline passes.
fn done_reconnecting(shared: &Shared) -> bool {
    shared.is_aborted() || (shared.queue.is_closed() && shared.queue.depth().0 == 0)
}

/// Sleeps for `delay`, returning early if the client is closed with nothing left to
/// deliver, or aborted.
async fn wait_or_close(shared: &Shared, delay: Duration) {
    let until = super::deadline(delay);
    while tokio::time::Instant::now() < until && !done_reconnecting(shared) {
        tokio::select! {
            _ = tokio::time::sleep_until(until) => {}
            _ = shared.wait_aborted() => {}
            // Pushes wake this too; the loop goes back to sleep.
            _ = shared.queue.wait() => {}
        }
    }
}

/// Between half and all of `delay`, so clients that lost one server do not all
/// come back in the same millisecond.
fn jitter(delay: Duration) -> Duration {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    let fraction = (hasher.finish() % 1000) as f64 / 1000.0;
    delay.mul_f64(0.5 + fraction / 2.0)
}

/// Serves one connection until it breaks (returns why) or the client is closed and
/// every reply is in (returns `None`). When it returns, nothing more can be written
/// to that connection and nothing more read from it.
async fn serve(shared: &Arc<Shared>, conn: Connection) -> Option<Error> {
    let Connection {
        reader,
        writer,
        leftover,
        decoder,
    } = conn;
    let socket = Arc::new(writer);
    shared.queue.attach(socket.clone());
    let lost = serve_with(shared, reader, &socket, decoder, leftover).await;
    shared.queue.detach().await;
    lost
}

async fn serve_with(
    shared: &Arc<Shared>,
    mut reader: connection::ReadHalf,
    writer: &connection::WriteHalf,
    mut decoder: redmux_resp::Decoder,
    leftover: bytes::BytesMut,
) -> Option<Error> {
    shared.writer_done.store(false, Relaxed);
    shared.touch_read();
    shared.touch_write();
    let (stop_tx, stop_rx) = watch::channel(false);
    let reader_shared = shared.clone();
    // The reader runs as its own task so decoding and writing use both cores.
    let mut reader_task = tokio::spawn(async move {
        reader::run(&reader_shared, &mut reader, &mut decoder, leftover).await
    });
    let writer = writer::run(shared, writer, stop_rx);
    tokio::pin!(writer);
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
        dead = monitor(shared) => {
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

/// Watches a connection's health: sends a `PING` when nothing has been written for
/// a heartbeat interval, and declares the link dead when no reply has come for
/// `dead_link_timeout` while commands wait and either a caller's command timed out or
/// a heartbeat sent on an otherwise idle link went unanswered past its deadline. The
/// second rule is what finds a link that died while idle: no caller is waiting to
/// time out, only the `PING`.
///
/// Neither rule fires for a server that is merely slow to answer one long command
/// whose own timeout has not passed (a heartbeat queued behind it does not count):
/// replies stopping alone is not a dead link.
async fn monitor(shared: &Shared) -> Error {
    let config = &shared.config;
    let period = (config.heartbeat_interval.min(config.dead_link_timeout) / 4)
        .clamp(Duration::from_millis(10), Duration::from_millis(250));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Since when replies have stopped coming while commands wait, and how many
    // timeouts there were then.
    let mut stalled: Option<(Instant, u64)> = None;
    let mut replies_seen = shared.counters.replies.load(Relaxed);
    // The last heartbeat's deadline and the reply count when it was sent: any reply
    // since (its own or one before it) shows the link alive.
    let mut heartbeat: Option<(Instant, u64)> = None;
    loop {
        tick.tick().await;
        let now = Instant::now();
        let replies = shared.counters.replies.load(Relaxed);
        let waiting = shared.pending.len() > 0;
        if heartbeat.is_some_and(|(_, sent_at)| replies != sent_at) {
            heartbeat = None;
        }
        if !waiting || replies != replies_seen {
            stalled = None;
        } else {
            let timeouts = shared.counters.timeouts.load(Relaxed);
            let (since, timeouts_then) = *stalled.get_or_insert((now, timeouts));
            let timed_out = timeouts > timeouts_then;
            let heartbeat_missed = heartbeat.is_some_and(|(deadline, _)| now >= deadline);
            if now - since >= config.dead_link_timeout && (timed_out || heartbeat_missed) {
                let what = if timed_out {
                    "commands timed out"
                } else {
                    "the heartbeat PING went unanswered"
                };
                return Error::ConnectionLost {
                    status: CommandStatus::Sent,
                    reason: format!(
                        "dead link: {what} and no reply came for {:?} (dead_link_timeout)",
                        now - since
                    )
                    .into(),
                };
            }
        }
        replies_seen = replies;
        let idle = Duration::from_millis(
            shared
                .millis()
                .saturating_sub(shared.last_write_ms.load(Relaxed)),
        );
        if idle >= config.heartbeat_interval && shared.queue.depth().0 == 0 {
            let ping = cmd("PING").into_bytes();
            let deadline = now
                + config
                    .heartbeat_interval
                    .max(config.command_timeout)
                    .min(super::FOREVER);
            // Its deadline counts only on a link with nothing else in flight: behind
            // a long command, a late PING says nothing the command's own timeout
            // does not.
            let idle_link = shared.pending.len() == 0;
            // A full queue means traffic enough to find a dead link without help.
            if shared
                .submit(Entry::new(ping, Slot::Ignore, deadline))
                .is_ok()
                && idle_link
                && heartbeat.is_none()
            {
                heartbeat = Some((deadline, replies));
            }
        }
    }
}
