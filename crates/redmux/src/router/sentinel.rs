//! Replica reads on a primary found through sentinel: a read flagged
//! `PREFER_REPLICA` or `DEMAND_REPLICA` goes, in turn, to one of the replicas the
//! sentinels list as up (`SENTINEL REPLICAS`), each with a multiplexer of its own.
//!
//! The replicas are asked for on the first flagged read (which waits for them to
//! connect, within its own deadline), then in the background when a flagged read
//! finds the list older than [`REFRESH`], and again (at most every [`RETRY`], the
//! read waiting within its deadline) when a read finds none up. The asking and
//! connecting run in a task of their own, so a caller that gives up cancels
//! nothing, and no read waits for a refresh while a replica is up. A replica that
//! leaves the list is closed, and so is one connected after the client closed.
//! Everything else goes to the primary, as without sentinel. A standalone replica
//! serves reads without `READONLY` (that is for clusters).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redmux_resp::Value;
use tokio::sync::watch;

use super::cluster::{ReadFrom, to_node, zones};
use crate::command::Command;
use crate::config::{Addr, BacklogPolicy, Config, FindReplicas};
use crate::error::{Error, Result};
use crate::keys::KeySpecs;
use crate::mux::{self, Shared};
use crate::router::replica_pool::ReplicaPool;

/// How long a list of replicas is trusted before a flagged read asks again (in
/// the background).
const REFRESH: Duration = Duration::from_secs(10);
/// The least time between two asks made because no replica was up.
const RETRY: Duration = Duration::from_secs(1);

/// The replicas of a sentinel-found primary, connected on demand.
pub(crate) struct SentinelReplicas {
    /// The client's configuration, to dial a replica directly (no sentinel
    /// lookup: that would name the primary) and fail fast while it is down.
    config: Config,
    find: FindReplicas,
    /// Which commands only read, so a replica may serve them.
    specs: KeySpecs,
    /// The connections.
    pool: ReplicaPool<Addr>,
    next: AtomicUsize,
    /// When the sentinels were last asked.
    asked: Mutex<Option<Instant>>,
    /// The refresh in flight, if any: says when it is done.
    refreshing: Mutex<Option<watch::Receiver<bool>>>,
}

impl std::fmt::Debug for SentinelReplicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes: Vec<String> = self.pool.all().iter().map(|(a, _)| a.to_string()).collect();
        f.debug_struct("SentinelReplicas")
            .field("replicas", &nodes)
            .finish_non_exhaustive()
    }
}

impl SentinelReplicas {
    /// Replica reads for the client configured by `config`, the replicas found by
    /// `find`.
    pub(crate) fn new(config: &Config, find: FindReplicas) -> SentinelReplicas {
        let mut config = config.clone();
        config.sentinel = None;
        config.locate = None;
        config.backlog = BacklogPolicy::FailFast;
        // Tracking and a client-side cache live on the primary's connection.
        config.client_cache = None;
        SentinelReplicas {
            config,
            find,
            specs: KeySpecs::builtin(),
            pool: ReplicaPool::default(),
            next: AtomicUsize::new(0),
            asked: Mutex::new(None),
            refreshing: Mutex::new(None),
        }
    }

    /// The replica connections, with their addresses, for `Client::nodes`, stats
    /// and closing.
    pub(crate) fn nodes(&self) -> Vec<(String, Arc<Shared>)> {
        let nodes = self.pool.all().into_iter();
        nodes.map(|(a, n)| (format!("{a} (replica)"), n)).collect()
    }

    /// The client is closing: no replica connected from now on is kept.
    pub(crate) fn mark_closed(&self) {
        self.pool.mark_closed();
    }

    /// Whether a replica may serve `command` (it only reads).
    pub(crate) fn serves(&self, command: &Command) -> bool {
        command
            .words()
            .is_some_and(|words| self.specs.is_read_only(&words))
    }

    /// Sends `command` as `flags` ask: to a replica that is up, else (under
    /// `PREFER_REPLICA`) to `primary`.
    pub(crate) fn send(
        self: &Arc<Self>,
        primary: &Arc<Shared>,
        command: Command,
        timeout: Option<Duration>,
        flags: crate::Flags,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value>> + Send>> {
        let timeout = timeout.unwrap_or(self.config.command_timeout);
        let read = match ReadFrom::for_command(flags, &command, || self.serves(&command)) {
            Ok(ReadFrom::Primary) => return Box::pin(to_node(primary.clone(), command, timeout)),
            Ok(read) => read,
            Err(refused) => return Box::pin(std::future::ready(Err(refused))),
        };
        let asked = *self.asked.lock();
        if let Some(node) = self.pick() {
            // Queued now; a list grown old is asked for again behind it.
            if asked.is_none_or(|at| at.elapsed() >= REFRESH) {
                self.start_refresh();
            }
            return Box::pin(to_node(node, command, timeout));
        }
        let (this, primary) = (self.clone(), primary.clone());
        Box::pin(async move {
            let until = tokio::time::Instant::now() + timeout;
            if asked.is_none_or(|at| at.elapsed() >= RETRY) {
                let mut done = this.start_refresh();
                let _ = tokio::time::timeout_at(until, done.wait_for(|d| *d)).await;
            }
            // What is left of the command's own timeout after the wait.
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match (this.pick(), read) {
                (Some(node), _) => to_node(node, command, left).await,
                (None, ReadFrom::DemandReplica) => Err(Error::NoReplica {
                    command: command.name().to_ascii_uppercase(),
                    reason: "no replica the sentinels list is up".into(),
                }),
                (None, _) => to_node(primary, command, left).await,
            }
        })
    }

    /// The next replica that is up, in turn.
    fn pick(&self) -> Option<Arc<Shared>> {
        let start = self.next.fetch_add(1, Relaxed);
        zones(self.config.availability_zone.as_deref())
            .find_map(|zone| self.pool.find_from(start, |node| node.serves_zone(zone)))
    }

    /// Starts asking the sentinels for the replicas, unless that is under way;
    /// the receiver says when it is done.
    fn start_refresh(self: &Arc<Self>) -> watch::Receiver<bool> {
        let mut refreshing = self.refreshing.lock();
        if let Some(done) = refreshing.as_ref()
            && !*done.borrow()
        {
            return done.clone();
        }
        *self.asked.lock() = Some(Instant::now());
        let (tx, done) = watch::channel(false);
        // A request made into a future outside a tokio runtime cannot start the
        // task: it is then done at once (with what is connected).
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let _ = tx.send(true);
            return done;
        };
        *refreshing = Some(done.clone());
        let this = self.clone();
        runtime.spawn(async move {
            this.refresh().await;
            let _ = tx.send(true);
        });
        done
    }

    /// Asks the sentinels for the replicas, connects the new ones and closes those
    /// no longer listed. Runs in a task of its own (see [`start_refresh`]), within
    /// the connect timeout.
    async fn refresh(&self) {
        let within = self.config.connect_timeout;
        let listed = match tokio::time::timeout(within, (self.find)()).await {
            Ok(Ok(listed)) => listed,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "the sentinels did not list the replicas");
                return;
            }
            Err(_) => return,
        };
        let known = self.pool.retain(|a| listed.contains(a));
        let mut connecting = tokio::task::JoinSet::new();
        for addr in listed.into_iter().filter(|a| !known.contains(a)) {
            let mut config = self.config.clone();
            config.addr = addr.clone();
            connecting.spawn(async move { (addr, mux::start(config).await) });
        }
        while let Some(outcome) = connecting.join_next().await {
            match outcome {
                Ok((addr, Ok((node, _)))) => self.pool.keep(addr, node),
                Ok((addr, Err(e))) => {
                    tracing::debug!(replica = %addr, error = %e, "replica unreachable");
                }
                Err(e) => tracing::debug!(error = %e, "connecting a replica failed"),
            }
        }
    }
}
