//! [`Subscriber`]: the one connection every subscription of a client shares, and the
//! task that serves it: write what the registry queues, read frames and hand them
//! to the registry, PING when idle, and on a lost connection reconnect with backoff
//! and resubscribe to everything. The read loop, the heartbeat's rule and the
//! reconnect policy are the connection layer's, shared with the multiplexer; this
//! file says what they mean for a subscriber.
//!
//! On a cluster, the classic subscriber (channels and patterns) moves to another
//! node when its own is lost (any node gives every message), and shard channels
//! have a subscriber per node, moved between them as slots move (`shards.rs`).
//!
//! | file | owns |
//! |---|---|
//! | `registry/` | who listens to what, what the server confirmed, what to send |
//! | `frame.rs` | sorting what the connection reads (RESP2 arrays, RESP3 pushes) |
//! | `mailbox.rs`, `message.rs` | each subscription's bounded buffer, and what it yields |
//! | `home.rs` | where a subscription's names are registered, to unregister them |
//! | `shards.rs` | a cluster's shard channels: one subscriber per node, moved with their slots |

pub(crate) mod frame;
pub(crate) mod home;
pub(crate) mod mailbox;
pub(crate) mod message;
mod registry;
pub(crate) mod shards;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::task::Waker;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use parking_lot::Mutex;
use redmux_resp::{Decoded, Value};
use tokio::sync::{Notify, OnceCell, watch};

use crate::config::{Addr, Config};
use crate::connection::{self, Activity, Connection, Heartbeat, Link, Redial};
use crate::error::{Error, LinkSnapshot, Result};
use crate::mux::ConnectionState;
use frame::Frame;
use registry::Registry;

/// Decoded frames handled per lock of the registry: enough to amortise the lock,
/// few enough that a subscribe call never waits long for it.
const FRAMES_PER_LOCK: usize = 256;

/// An unsubscribe queued on one subscriber, and (if asked) its confirmation.
pub(crate) type Queued = (Arc<Subscriber>, Option<tokio::sync::oneshot::Receiver<()>>);

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
    /// When bytes last moved: for the heartbeat and timeout diagnostics.
    activity: Activity,
    /// Why the last connection attempt failed, while reconnecting.
    last_connect_error: Mutex<Option<Error>>,
    /// The address connected to now (it changes when `failover` moves it).
    addr: Mutex<Addr>,
    /// A cluster's classic subscriber: the nodes to try in turn when its own is lost.
    failover: Option<NodeList>,
    /// A cluster node's shard subscriber: told when a shard channel must move (the
    /// server dropped or refused it) or the connection was lost.
    relocate: Option<Arc<Notify>>,
}

/// The nodes a cluster's classic subscriber may move to, asked afresh on each
/// reconnect attempt (the map changes with failovers): each one's address, and
/// the hostname it announces, if any (its TLS server name, as the cluster layer
/// names its own connections to it).
#[derive(Clone)]
pub(crate) struct NodeList(pub(crate) Arc<dyn Fn() -> Vec<(Addr, Option<String>)> + Send + Sync>);

/// `config` pointed at another node: `addr`, checked over TLS against the
/// hostname the node announces (`TlsConfig::server_name_for` still comes first).
pub(crate) fn config_at(config: &Config, addr: Addr, announced: Option<String>) -> Config {
    let mut config = Config {
        addr,
        ..config.clone()
    };
    if let (Some(tls), Some(name)) = (&mut config.tls, announced) {
        tls.server_name = Some(name);
    }
    config
}

impl fmt::Debug for NodeList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NodeList")
    }
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
    /// connection is closed (`client_state` says so) or the slot is dropped. With
    /// `failover` (a cluster), the other nodes are tried if `config.addr` fails.
    async fn start(
        mut config: Config,
        client_state: watch::Receiver<ConnectionState>,
        failover: Option<NodeList>,
    ) -> Result<Arc<Subscriber>> {
        // No tracking: the client-side cache lives on the shared connections.
        config.client_cache = None;
        let conn = match connection::connect(&config).await {
            Ok(conn) => conn,
            Err(e @ (Error::Auth(_) | Error::Protocol(_))) => return Err(e),
            Err(first) => {
                let others = failover.as_ref().map(|f| (f.0)()).unwrap_or_default();
                let mut found = None;
                for (addr, announced) in others.into_iter().filter(|(a, _)| *a != config.addr) {
                    let elsewhere = config_at(&config, addr, announced);
                    if let Ok(conn) = connection::connect(&elsewhere).await {
                        found = Some((conn, elsewhere));
                        break;
                    }
                }
                let Some((conn, elsewhere)) = found else {
                    return Err(first);
                };
                config = elsewhere;
                conn
            }
        };
        let subscriber = Subscriber::new(config, Registry::default(), failover, None);
        subscriber.connected.store(true, Relaxed);
        tokio::spawn(run(subscriber.clone(), Some(conn), client_state));
        Ok(subscriber)
    }

    /// Starts a subscriber for one cluster node without waiting for its connection:
    /// what is registered meanwhile is subscribed once it is up. Its shard channels
    /// are moved by the cluster's shard subscribers, whom `relocate` tells.
    pub(crate) fn start_node(
        config: Config,
        client_state: watch::Receiver<ConnectionState>,
        relocate: Arc<Notify>,
    ) -> Arc<Subscriber> {
        let config = Config {
            client_cache: None,
            ..config
        };
        let subscriber = Subscriber::new(config, Registry::relocating(), None, Some(relocate));
        tokio::spawn(run(subscriber.clone(), None, client_state));
        subscriber
    }

    fn new(
        config: Config,
        registry: Registry,
        failover: Option<NodeList>,
        relocate: Option<Arc<Notify>>,
    ) -> Arc<Subscriber> {
        let (closed, _) = watch::channel(false);
        Arc::new(Subscriber {
            addr: Mutex::new(config.addr.clone()),
            config,
            registry: Mutex::new(registry),
            outbox_ready: Notify::new(),
            closed,
            connected: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            counters: Counters::default(),
            activity: Activity::default(),
            last_connect_error: Mutex::new(None),
            failover,
            relocate,
        })
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

    /// The connection as a timeout's diagnostics show it.
    pub(crate) fn link_snapshot(&self) -> LinkSnapshot {
        LinkSnapshot {
            connection: if self.is_connected() {
                "connected (subscriber)"
            } else {
                "reconnecting (subscriber)"
            },
            since_last_read: self.activity.since_read(),
            since_last_write: self.activity.since_write(),
            last_connect_error: self
                .last_connect_error
                .lock()
                .as_ref()
                .map(|e| e.to_string()),
            ..LinkSnapshot::default()
        }
    }

    /// While the connection is down because the server rejects the credentials: that
    /// error, for a new subscription to fail with at once (waiting would only wait
    /// out its timeout), as the shared connection refuses commands.
    pub(crate) fn refusal(&self) -> Option<Error> {
        if self.is_connected() {
            return None;
        }
        match &*self.last_connect_error.lock() {
            Some(e @ Error::Auth(_)) => Some(e.clone()),
            _ => None,
        }
    }

    /// Stops the connection task; its subscriptions' streams end.
    pub(crate) fn close(&self) {
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
    /// A cluster's shard channels, one subscriber per node.
    shards: std::sync::OnceLock<Arc<shards::ShardSubscribers>>,
}

impl SubscriberSlot {
    /// The subscriber, connecting it first if this is the first use. A failed
    /// connect is returned and tried again on the next call. `failover` (a
    /// cluster's nodes) lets it move to another node when its own is lost.
    pub(crate) async fn get_or_start(
        &self,
        config: &Config,
        client_state: watch::Receiver<ConnectionState>,
        failover: Option<NodeList>,
    ) -> Result<&Arc<Subscriber>> {
        self.cell
            .get_or_try_init(|| Subscriber::start(config.clone(), client_state, failover))
            .await
    }

    /// A cluster's shard subscribers, started by the first shard subscription.
    pub(crate) fn shards(
        &self,
        cluster: &Arc<crate::router::Cluster>,
        config: &Config,
        client_state: watch::Receiver<ConnectionState>,
    ) -> &Arc<shards::ShardSubscribers> {
        self.shards.get_or_init(|| {
            shards::ShardSubscribers::start(cluster.clone(), config.clone(), client_state)
        })
    }

    /// The shard subscribers, if a shard subscription started them.
    pub(crate) fn get_shards(&self) -> Option<&Arc<shards::ShardSubscribers>> {
        self.shards.get()
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
        if let Some(shards) = self.shards.get() {
            shards.close();
        }
    }
}

/// Serves connections one after another until the client is closed; dials the
/// first one itself when given none.
async fn run(
    subscriber: Arc<Subscriber>,
    mut conn: Option<Connection>,
    client_state: watch::Receiver<ConnectionState>,
) {
    let mut shutdown = Shutdown {
        slot_closed: subscriber.closed.subscribe(),
        client_state,
    };
    let mut lost = false;
    loop {
        let live = match conn.take() {
            Some(live) => live,
            None => match reconnect(&subscriber, &mut shutdown).await {
                Some(live) => live,
                None => break,
            },
        };
        if lost {
            subscriber.counters.reconnects.fetch_add(1, Relaxed);
        }
        subscriber.registry.lock().on_connect();
        subscriber.connected.store(true, Relaxed);
        let Some(reason) = serve(&subscriber, live, &mut shutdown).await else {
            break;
        };
        lost = true;
        subscriber.connected.store(false, Relaxed);
        subscriber.registry.lock().on_disconnect();
        tracing::warn!(%reason, addr = %subscriber.addr.lock(), "subscriber connection lost; reconnecting");
        // A cluster node may be gone for good: its shard channels may have to move.
        if let Some(relocate) = &subscriber.relocate {
            relocate.notify_one();
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
    let mut owner = Reconnecting {
        subscriber,
        shutdown,
        attempts: 0,
        tried: None,
    };
    let conn = connection::redial(&subscriber.config, &mut owner).await;
    if conn.is_some() {
        *subscriber.last_connect_error.lock() = None;
        if let Some(addr) = owner.tried {
            *subscriber.addr.lock() = addr;
        }
    }
    conn
}

/// What reconnecting means for the subscriber.
struct Reconnecting<'a> {
    subscriber: &'a Subscriber,
    shutdown: &'a mut Shutdown,
    /// Attempts so far, to go round a cluster's nodes.
    attempts: usize,
    /// The node the last attempt went to, when not the configured address.
    tried: Option<Addr>,
}

impl Redial for Reconnecting<'_> {
    fn done(&self) -> bool {
        self.shutdown.now()
    }

    fn wait_done(&mut self) -> impl Future<Output = ()> + Send {
        self.shutdown.wait()
    }

    fn failed(&mut self, error: Error) {
        *self.subscriber.last_connect_error.lock() = Some(error);
    }

    fn rejected(&mut self, error: &Error) {
        // Subscribe calls waiting for the connection fail now; new ones are refused
        // (`Subscriber::refusal`). Subscriptions already made stay registered and
        // are resubscribed if the server takes the credentials again.
        self.subscriber.registry.lock().fail_waiting(error);
    }

    fn elsewhere(&mut self, config: &Config) -> Option<Config> {
        let nodes = (self.subscriber.failover.as_ref()?.0)();
        if nodes.is_empty() {
            return None;
        }
        // Round the nodes, starting after the one just lost: classic messages
        // reach every node, so any node that answers will do.
        let current = self.subscriber.addr.lock().clone();
        let after = nodes
            .iter()
            .position(|(a, _)| *a == current)
            .map_or(0, |i| i + 1);
        let (addr, announced) = nodes[(after + self.attempts) % nodes.len()].clone();
        self.attempts += 1;
        self.tried = Some(addr.clone());
        Some(config_at(config, addr, announced))
    }
}

/// Serves one connection until it breaks (returns why) or the client is closed.
async fn serve(
    subscriber: &Subscriber,
    conn: Connection,
    shutdown: &mut Shutdown,
) -> Option<String> {
    let Connection {
        reader: mut frames,
        writer,
        ..
    } = conn;
    let mut out = BytesMut::new();
    let mut values: Vec<Value> = Vec::with_capacity(FRAMES_PER_LOCK);
    let mut wakers: Vec<Waker> = Vec::new();
    subscriber.activity.touch_read();
    subscriber.activity.touch_write();
    let mut heartbeat = Heartbeat::new(
        &subscriber.config,
        &Health {
            subscriber,
            out: &mut out,
        },
    );
    let mut tick = heartbeat.ticker();
    loop {
        if shutdown.now() {
            return None;
        }
        // Handle whatever is buffered (the handshake may have left some), then write
        // what the registry queued, then wait for more of either. Every frame goes
        // to the registry: in RESP2 messages are plain arrays, not pushes.
        loop {
            while values.len() < FRAMES_PER_LOCK {
                match frames.decode() {
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
            if let Some(relocate) = &subscriber.relocate
                && subscriber.registry.lock().has_misplaced()
            {
                relocate.notify_one();
            }
            if let Err(desync) = outcome {
                return Some(format!("{}; the connection is dropped", desync.0));
            }
        }
        subscriber.registry.lock().take_outbox(&mut out);
        if !out.is_empty() {
            if let Err(e) = writer.write_all(&out).await {
                return Some(format!("write failed: {e}"));
            }
            out.clear();
            subscriber.activity.touch_write();
        }
        tokio::select! {
            biased;
            _ = shutdown.wait() => return None,
            read = frames.read_more() => match read {
                Ok(n) => {
                    subscriber.counters.bytes_in.fetch_add(n as u64, Relaxed);
                    subscriber.activity.touch_read();
                }
                Err(lost) => return Some(lost.reason().to_string()),
            },
            _ = subscriber.outbox_ready.notified() => {}
            _ = tick.tick() => {
                let mut health = Health { subscriber, out: &mut out };
                if let Err(dead) = heartbeat.check(&mut health) {
                    return Some(dead.to_string());
                }
            }
        }
    }
}

/// The heartbeat's view of the subscriber: any bytes read count as a reply (a
/// listening subscriber writes nothing, and a message proves the link as well as a
/// PONG), idle means nothing read, and a PING goes into the next write.
struct Health<'a> {
    subscriber: &'a Subscriber,
    out: &'a mut BytesMut,
}

impl Link for Health<'_> {
    fn replies(&self) -> u64 {
        self.subscriber.counters.bytes_in.load(Relaxed)
    }

    fn waiting(&self) -> bool {
        self.subscriber.registry.lock().ping_outstanding()
    }

    fn timeouts(&self) -> u64 {
        0
    }

    fn idle(&self) -> Duration {
        self.subscriber.activity.since_read()
    }

    fn ping(&mut self, _deadline: Instant) -> bool {
        let mut registry = self.subscriber.registry.lock();
        if registry.ping_outstanding() {
            return false;
        }
        registry.ping(self.out);
        // Subscription confirmations ahead of it are never slow: its deadline counts.
        true
    }
}
