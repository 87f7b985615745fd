//! Replica reads on a primary found through sentinel: a read flagged
//! `PREFER_REPLICA` or `DEMAND_REPLICA` goes, in turn, to one of the replicas the
//! sentinels list as up (`SENTINEL REPLICAS`), each with a multiplexer of its own.
//!
//! The replicas are asked for on the first flagged read (which waits for them to
//! connect), then again at most every [`REFRESH`] when a flagged read comes, and at
//! once (at most every [`RETRY`]) when a read finds none up. A replica that leaves
//! the list is closed. Everything else goes to the primary, as without sentinel.
//! A standalone replica serves reads without `READONLY` (that is for clusters).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redmux_resp::Value;

use super::cluster::{ReadFrom, to_node};
use crate::command::Command;
use crate::config::{Addr, BacklogPolicy, Config, FindReplicas};
use crate::error::{Error, Result};
use crate::keys::KeySpecs;
use crate::mux::{self, ConnectionState, Shared};

/// How long a list of replicas is trusted before a flagged read asks again.
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
    nodes: Mutex<Vec<(Addr, Arc<Shared>)>>,
    next: AtomicUsize,
    /// When the sentinels were last asked; one ask at a time.
    asked: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for SentinelReplicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes: Vec<String> = self
            .nodes
            .lock()
            .iter()
            .map(|(a, _)| a.to_string())
            .collect();
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
            nodes: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
            asked: tokio::sync::Mutex::new(None),
        }
    }

    /// The replica connections, with their addresses, for `Client::nodes`, stats
    /// and closing.
    pub(crate) fn nodes(&self) -> Vec<(String, Arc<Shared>)> {
        let nodes = self.nodes.lock();
        nodes
            .iter()
            .map(|(a, n)| (format!("{a} (replica)"), n.clone()))
            .collect()
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
        let read = match (ReadFrom::of(flags), self.serves(&command)) {
            (ReadFrom::Primary, _) | (ReadFrom::PreferReplica, false) => {
                return Box::pin(to_node(primary.clone(), command, timeout));
            }
            (ReadFrom::DemandReplica, false) => {
                let e = Error::NoReplica {
                    command: command.name().to_ascii_uppercase(),
                    reason: "it is not a read-only command, and replicas serve only reads".into(),
                };
                return Box::pin(std::future::ready(Err(e)));
            }
            (read, true) => read,
        };
        // A list fresh enough: no wait, so the read is queued right now.
        if let Some(node) = self.fresh_pick() {
            return Box::pin(to_node(node, command, timeout));
        }
        let (this, primary) = (self.clone(), primary.clone());
        Box::pin(async move {
            let until = Instant::now() + timeout;
            this.refresh(until, REFRESH).await;
            let mut node = this.pick();
            if node.is_none() {
                this.refresh(until, RETRY).await;
                node = this.pick();
            }
            match (node, read) {
                (Some(node), _) => to_node(node, command, timeout).await,
                (None, ReadFrom::DemandReplica) => Err(Error::NoReplica {
                    command: command.name().to_ascii_uppercase(),
                    reason: "no replica the sentinels list is up".into(),
                }),
                (None, _) => to_node(primary, command, timeout).await,
            }
        })
    }

    /// A replica that is up, if the list was asked for within [`REFRESH`].
    fn fresh_pick(&self) -> Option<Arc<Shared>> {
        let fresh = self
            .asked
            .try_lock()
            .ok()
            .and_then(|asked| *asked)
            .is_some_and(|at| at.elapsed() < REFRESH);
        if fresh { self.pick() } else { None }
    }

    /// The next replica that is up, in turn.
    fn pick(&self) -> Option<Arc<Shared>> {
        let nodes = self.nodes.lock();
        let start = self.next.fetch_add(1, Relaxed);
        (0..nodes.len())
            .map(|i| &nodes[(start + i) % nodes.len()].1)
            .find(|node| node.state() == ConnectionState::Connected)
            .cloned()
    }

    /// Asks the sentinels for the replicas unless that was done within `within`,
    /// connects the new ones and closes those no longer listed; gives up waiting
    /// at `until` (what is connected by then serves).
    async fn refresh(&self, until: Instant, within: Duration) {
        let mut asked = self.asked.lock().await;
        if asked.is_some_and(|at| at.elapsed() < within) {
            return;
        }
        *asked = Some(Instant::now());
        let listed = match tokio::time::timeout_at(until.into(), (self.find)()).await {
            Ok(Ok(listed)) => listed,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "the sentinels did not list the replicas");
                return;
            }
            Err(_) => return,
        };
        let gone: Vec<Arc<Shared>> = {
            let mut nodes = self.nodes.lock();
            let (kept, gone) = nodes.drain(..).partition(|(a, _)| listed.contains(a));
            *nodes = kept;
            gone.into_iter().map(|(_, n)| n).collect()
        };
        for node in gone {
            node.close(Duration::ZERO);
        }
        let known: Vec<Addr> = self.nodes.lock().iter().map(|(a, _)| a.clone()).collect();
        let mut connecting = tokio::task::JoinSet::new();
        for addr in listed.into_iter().filter(|a| !known.contains(a)) {
            let mut config = self.config.clone();
            config.addr = addr.clone();
            connecting.spawn(async move { (addr, mux::start(config).await) });
        }
        let connect = async {
            while let Some(done) = connecting.join_next().await {
                match done {
                    Ok((addr, Ok((node, _)))) => self.nodes.lock().push((addr, node)),
                    Ok((addr, Err(e))) => {
                        tracing::debug!(replica = %addr, error = %e, "replica unreachable");
                    }
                    Err(e) => tracing::debug!(error = %e, "connecting a replica failed"),
                }
            }
        };
        let _ = tokio::time::timeout_at(until.into(), connect).await;
    }
}
