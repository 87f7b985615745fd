//! [`Subscriber`]: the one connection every subscription of a client shares, and the
//! task that serves it: write what the registry queues, read frames and hand them
//! to the registry, PING when idle, and on a lost connection reconnect with backoff
//! and resubscribe to everything.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::task::Waker;
use std::time::Duration;

use bytes::BytesMut;
use parking_lot::Mutex;
use redmux_resp::{Decoded, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, OnceCell, watch};
use tokio::time::Instant;

use super::frame::{self, Frame};
use super::registry::Registry;
use crate::config::Config;
use crate::connection::{self, Connection};
use crate::error::Result;
use crate::mux::ConnectionState;

/// Read at least this much at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Decoded frames handled per lock of the registry: enough to amortise the lock,
/// few enough that a subscribe call never waits long for it.
const FRAMES_PER_LOCK: usize = 256;

/// The state shared by the connection task, every subscription and the client.
#[derive(Debug)]
pub(crate) struct Subscriber {
    pub(crate) config: Config,
    pub(crate) registry: Mutex<Registry>,
    /// Wakes the task: something was queued to write.
    outbox_ready: Notify,
    closed: watch::Sender<bool>,
    connected: AtomicBool,
    next_id: AtomicU64,
    pub(crate) counters: Counters,
    /// For timeout diagnostics: when bytes last moved, and why reconnecting fails.
    epoch: std::time::Instant,
    last_read_ms: AtomicU64,
    last_write_ms: AtomicU64,
    last_connect_error: Mutex<Option<String>>,
}

/// What the subscriber counts; read through [`crate::Client::subscriber_stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) messages: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
}

impl Subscriber {
    /// Connects and starts the connection task, which ends when the client's
    /// connection is closed (`client_state` says so) or the slot is dropped.
    async fn start(
        config: Config,
        client_state: watch::Receiver<ConnectionState>,
    ) -> Result<Arc<Subscriber>> {
        let conn = connection::connect(&config).await?;
        let (closed, _) = watch::channel(false);
        let subscriber = Arc::new(Subscriber {
            config,
            registry: Mutex::new(Registry::default()),
            outbox_ready: Notify::new(),
            closed,
            connected: AtomicBool::new(true),
            next_id: AtomicU64::new(1),
            counters: Counters::default(),
            epoch: std::time::Instant::now(),
            last_read_ms: AtomicU64::new(0),
            last_write_ms: AtomicU64::new(0),
            last_connect_error: Mutex::new(None),
        });
        tokio::spawn(run(subscriber.clone(), conn, client_state));
        Ok(subscriber)
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Relaxed)
    }

    /// Tells the task the registry queued a command.
    pub(crate) fn wake(&self) {
        self.outbox_ready.notify_one();
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Relaxed)
    }

    /// Time since bytes were last read and written, and the last connect error.
    pub(crate) fn diagnostics(&self) -> (Duration, Duration, Option<String>) {
        let now = self.millis();
        let since = |at: &AtomicU64| Duration::from_millis(now.saturating_sub(at.load(Relaxed)));
        (
            since(&self.last_read_ms),
            since(&self.last_write_ms),
            self.last_connect_error.lock().clone(),
        )
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn close(&self) {
        self.closed.send_replace(true);
    }
}

/// Says when the subscriber must stop: its slot was dropped (the last clone of the
/// client went) or the client was closed.
struct Shutdown {
    slot_closed: watch::Receiver<bool>,
    client_state: watch::Receiver<ConnectionState>,
}

impl Shutdown {
    fn now(&self) -> bool {
        *self.slot_closed.borrow() || *self.client_state.borrow() == ConnectionState::Closed
    }

    /// Completes when the subscriber must stop (a dropped sender counts).
    async fn wait(&mut self) {
        tokio::select! {
            _ = self.slot_closed.wait_for(|c| *c) => {}
            _ = self.client_state.wait_for(|s| *s == ConnectionState::Closed) => {}
        }
    }
}

/// The client's subscriber, started by the first subscription and closed with the
/// client. Lives in the client's handle.
#[derive(Debug, Default)]
pub(crate) struct SubscriberSlot {
    cell: OnceCell<Arc<Subscriber>>,
}

impl SubscriberSlot {
    /// The subscriber, connecting it first if this is the first use. A failed
    /// connect is returned and tried again on the next call.
    pub(crate) async fn get_or_start(
        &self,
        config: &Config,
        client_state: watch::Receiver<ConnectionState>,
    ) -> Result<&Arc<Subscriber>> {
        self.cell
            .get_or_try_init(|| Subscriber::start(config.clone(), client_state))
            .await
    }

    pub(crate) fn get(&self) -> Option<&Arc<Subscriber>> {
        self.cell.get()
    }
}

impl Drop for SubscriberSlot {
    fn drop(&mut self) {
        if let Some(subscriber) = self.cell.get() {
            subscriber.close();
        }
    }
}

/// Serves connections one after another until the client is closed.
async fn run(
    subscriber: Arc<Subscriber>,
    mut conn: Connection,
    client_state: watch::Receiver<ConnectionState>,
) {
    let mut shutdown = Shutdown {
        slot_closed: subscriber.closed.subscribe(),
        client_state,
    };
    loop {
        subscriber.registry.lock().on_connect();
        subscriber.connected.store(true, Relaxed);
        let Some(reason) = serve(&subscriber, conn, &mut shutdown).await else {
            break;
        };
        subscriber.connected.store(false, Relaxed);
        subscriber.registry.lock().on_disconnect();
        tracing::warn!(%reason, "subscriber connection lost; reconnecting");
        match reconnect(&subscriber, &mut shutdown).await {
            Some(next) => {
                subscriber.counters.reconnects.fetch_add(1, Relaxed);
                conn = next;
            }
            None => break,
        }
    }
    subscriber.connected.store(false, Relaxed);
    let mut wakers = Vec::new();
    subscriber.registry.lock().close(&mut wakers);
    wakers.into_iter().for_each(Waker::wake);
}

/// Reconnects with the client's backoff policy; `None` once the client is closed or
/// the policy gives up (the subscriptions' streams then end).
async fn reconnect(subscriber: &Subscriber, shutdown: &mut Shutdown) -> Option<Connection> {
    let policy = &subscriber.config.reconnect;
    let mut delay = policy.initial_delay;
    let mut attempts = 0u32;
    loop {
        if shutdown.now() {
            return None;
        }
        attempts = attempts.saturating_add(1);
        match connection::connect(&subscriber.config).await {
            Ok(conn) => {
                *subscriber.last_connect_error.lock() = None;
                return Some(conn);
            }
            Err(e) => {
                tracing::debug!(error = %e, attempts, ?delay, "subscriber reconnect failed");
                *subscriber.last_connect_error.lock() = Some(e.to_string());
            }
        }
        if policy.max_attempts.is_some_and(|max| attempts >= max) {
            tracing::warn!(
                attempts,
                "subscriber gives up reconnecting; subscriptions end"
            );
            return None;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait() => return None,
        }
        delay = (delay * 2).min(policy.max_delay);
    }
}

/// Serves one connection until it breaks (returns why) or the client is closed.
async fn serve(
    subscriber: &Subscriber,
    conn: Connection,
    shutdown: &mut Shutdown,
) -> Option<String> {
    let Connection {
        mut reader,
        mut writer,
        leftover: mut buf,
        mut decoder,
    } = conn;
    let mut out = BytesMut::new();
    let mut values: Vec<Value> = Vec::with_capacity(FRAMES_PER_LOCK);
    let mut wakers: Vec<Waker> = Vec::new();
    let heartbeat = subscriber.config.heartbeat_interval;
    let dead_after = subscriber.config.dead_link_timeout.max(heartbeat);
    let mut last_read = Instant::now();
    loop {
        if shutdown.now() {
            return None;
        }
        // Handle whatever is buffered (the handshake may have left some), then write
        // what the registry queued, then wait for more of either.
        loop {
            while values.len() < FRAMES_PER_LOCK {
                match decoder.decode_frame(&mut buf) {
                    Ok(Some(Decoded::Frame(value))) => values.push(value),
                    // A message over `Config::limits`, skipped whole by the decoder
                    // (the stream is still in step): it is lost, not the connection.
                    Ok(Some(Decoded::TooLarge(t))) => {
                        tracing::warn!(len = t.len, limit = t.limit, what = ?t.what, "pub/sub frame over Config::limits dropped");
                    }
                    Ok(None) => break,
                    Err(e) => return Some(format!("{e}; the connection is dropped")),
                }
            }
            if values.is_empty() {
                break;
            }
            let mut messages = 0;
            let outcome = {
                let mut registry = subscriber.registry.lock();
                values.drain(..).map(frame::parse).try_for_each(|frame| {
                    messages += u64::from(matches!(frame, Frame::Message { .. }));
                    registry.on_frame(frame, &mut wakers)
                })
            };
            subscriber.counters.messages.fetch_add(messages, Relaxed);
            wakers.drain(..).for_each(Waker::wake);
            if let Err(desync) = outcome {
                return Some(format!("{}; the connection is dropped", desync.0));
            }
        }
        let ping_outstanding = {
            let mut registry = subscriber.registry.lock();
            registry.take_outbox(&mut out);
            if last_read.elapsed() >= heartbeat && !registry.ping_outstanding() {
                registry.ping(&mut out);
            }
            registry.ping_outstanding()
        };
        if !out.is_empty() {
            if let Err(e) = writer.write_all(&out).await {
                return Some(format!("write failed: {e}"));
            }
            out.clear();
            subscriber.last_write_ms.store(subscriber.millis(), Relaxed);
        }
        // Idle: PING after `heartbeat`. Pinged: dead if still silent at `dead_after`.
        // Capped: either may be `Duration::MAX` ("never"), which an instant cannot take.
        let silent_limit = if ping_outstanding {
            dead_after
        } else {
            heartbeat
        }
        .min(crate::mux::FOREVER);
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        tokio::select! {
            biased;
            _ = shutdown.wait() => return None,
            read = reader.read_buf(&mut buf) => match read {
                Ok(0) => return Some("the server closed the connection".into()),
                Ok(n) => {
                    subscriber.counters.bytes_in.fetch_add(n as u64, Relaxed);
                    last_read = Instant::now();
                    subscriber.last_read_ms.store(subscriber.millis(), Relaxed);
                }
                Err(e) => return Some(format!("read failed: {e}")),
            },
            _ = subscriber.outbox_ready.notified() => {}
            _ = tokio::time::sleep_until(last_read + silent_limit) => {
                if ping_outstanding {
                    return Some(format!(
                        "nothing read for {:?}, not even the reply to a PING; the link is dead",
                        last_read.elapsed()
                    ));
                }
            }
        }
    }
}
