//! The cluster router: a slot map and one multiplexer per node.
//!
//! | file | owns |
//! |---|---|
//! | `topology.rs` | `CLUSTER SLOTS` read and checked (coverage, `?` and empty hosts) |
//! | `redirect.rs` | MOVED, ASK, TRYAGAIN, CLUSTERDOWN, LOADING, READONLY read from a reply |
//! | `send.rs` | one command's trip: route by slot, follow redirects, wait out a failover |
//! | `replicas.rs` | reads flagged `PREFER_REPLICA` / `DEMAND_REPLICA`: replica connections (READONLY), round-robin |
//! | `direct.rs` | the fast path: a one-slot command sent straight to its primary, handed to `send.rs` only on a redirect |
//! | `fanout.rs` | commands for every primary (DBSIZE, FLUSHALL, KEYS, INFO, SCRIPT LOAD) and multi-key commands split by slot (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH) |
//! | this file | [`Cluster`]: the nodes, the map, and the one task that refreshes it |
//!
//! Each node's multiplexer is the standalone one, unchanged, set to fail fast while
//! its connection is down: a command it never wrote comes back "not sent", and the
//! cluster layer routes it again once the map says where its slot went. A command it
//! wrote and lost comes back "sent, may have run" and is never resent (invariant 10).

mod direct;
mod fanout;
mod redirect;
mod replicas;
mod send;
mod topology;

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use redmux_resp::Value;
use tokio::sync::{Notify, watch};

use crate::command::{Command, cmd};
use crate::config::{Addr, BacklogPolicy, Config};
use crate::error::{Error, Result};
use crate::keys::{KeySpecs, SLOTS};
use crate::mux::{self, Shared};

pub(crate) use replicas::{ReadFrom, zones};
pub(crate) use send::{BlockRetry, is_resumable, resume, to_node, to_slot};

/// Whether a reply is a cluster's refusal of the command (MOVED, ASK, TRYAGAIN,
/// CLUSTERDOWN, LOADING, READONLY): it did not run, and may be sent again.
pub(crate) fn is_refusal(reply: &Value) -> bool {
    redirect::Redirect::of(reply).is_some()
}
use topology::{NodeAddr, Topology};

/// How often the map is refreshed when nothing asks for it sooner.
const PERIODIC_REFRESH: Duration = Duration::from_secs(60);
/// The least time between two refreshes: MOVED storms and many failing commands
/// ask for one each, and the servers must not be flooded with `CLUSTER SLOTS`.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_millis(100);

/// A cluster's nodes and slot map, shared by every clone of a client.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// Itself, for each node it connects to know it (see `direct.rs`).
    me: Weak<Cluster>,
    /// The configuration each node's connection starts from (its address replaced).
    config: Config,
    /// The node the client first reached: also what `Client::config`, the
    /// subscriber and `dedicated()` use.
    seed: Arc<Shared>,
    /// Where raw commands' keys are, asked of the server once at discovery.
    pub(crate) specs: KeySpecs,
    map: RwLock<Arc<SlotMap>>,
    /// Every node ever connected, by address: a node that leaves the map keeps
    /// its multiplexer (it may come back as a replica, or with the map).
    nodes: Mutex<HashMap<NodeAddr, Arc<Shared>>>,
    /// The hostname each node announces, for TLS to check its certificate against
    /// (see `TlsConfig::server_name_for`).
    hostnames: Mutex<HashMap<NodeAddr, String>>,
    /// The replica connections (made once a command asks for a replica).
    replicas: replicas::Replicas,
    /// Set (under `nodes`' lock) when the client closes: a node connected after
    /// that is closed at once.
    closed: std::sync::atomic::AtomicBool,
    /// Wakes the refresh task.
    wake: Arc<Notify>,
    /// Bumped after every refresh, whether it changed the map or not.
    generation: watch::Sender<u64>,
    /// Bumped when a refresh changed the map.
    changes: watch::Sender<u64>,
}

/// The map a batch chunk was routed with, to tell whether it has changed since.
/// Holds it alive, so a new map can never be mistaken for it.
#[derive(Debug, Clone)]
pub(crate) struct MapSeen(Arc<SlotMap>);

impl MapSeen {
    /// Whether both are the same map.
    pub(crate) fn same(&self, other: &MapSeen) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Which node owns each slot.
#[derive(Debug, Default)]
struct SlotMap {
    /// For each slot, an index into `primaries`; `NONE` for a slot with no owner.
    owners: Vec<u16>,
    primaries: Vec<(NodeAddr, Arc<Shared>)>,
    /// The replicas of each primary, by the same index as `primaries`.
    replicas: Vec<Vec<replicas::Replica>>,
}

const NONE: u16 = u16::MAX;

/// A primary as [`Cluster::primaries`] shows it: address, multiplexer, and the
/// inclusive slot ranges it owns.
pub(crate) type PrimaryView = (String, Arc<Shared>, Vec<(u16, u16)>);

impl Cluster {
    /// Builds the router for the cluster `seed` belongs to: reads the map, connects
    /// to every primary, and starts the refresh task.
    pub(crate) async fn discover(config: Config, seed: Arc<Shared>) -> Result<Arc<Cluster>> {
        let seed_addr = node_addr(&config.addr)?;
        let specs = match ask(&seed, cmd("COMMAND").arg("INFO"), &config).await {
            Ok(info) => KeySpecs::from_command_info(&info).unwrap_or_else(KeySpecs::builtin),
            Err(_) => KeySpecs::builtin(),
        };
        let mut node_config = config.clone();
        // A node that is down refuses at once: the cluster layer, not a node's
        // backlog, decides where an unsent command goes next.
        node_config.backlog = BacklogPolicy::FailFast;
        let cluster = Arc::new_cyclic(|me| Cluster {
            me: me.clone(),
            config: node_config,
            seed: seed.clone(),
            specs,
            map: RwLock::new(Arc::new(SlotMap::default())),
            nodes: Mutex::new(HashMap::new()),
            hostnames: Mutex::new(HashMap::new()),
            closed: std::sync::atomic::AtomicBool::new(false),
            replicas: replicas::Replicas::default(),
            wake: Arc::new(Notify::new()),
            generation: watch::channel(0).0,
            changes: watch::channel(0).0,
        });
        // The seed's own multiplexer keeps the user's backlog policy (it is the
        // client's for what goes to no node in particular); routing goes through
        // a fail-fast one of its own, as for every node.
        let found = match cluster.node_at(&seed_addr).await {
            Ok(_) => cluster.refresh().await,
            Err(_) => false,
        };
        if !found {
            cluster.close_all(config.connect_timeout);
            return Err(Error::Connect {
                addr: config.addr.to_string(),
                reason: "the server says it is a cluster node, but no node gave a slot map (CLUSTER SLOTS)".into(),
            });
        }
        tokio::spawn(refresh_task(Arc::downgrade(&cluster), cluster.wake.clone()));
        Ok(cluster)
    }

    /// The seed node's multiplexer.
    pub(crate) fn seed(&self) -> &Arc<Shared> {
        &self.seed
    }

    /// Every node's multiplexer, with its address, and the seed's own (the
    /// client's for what goes to no node in particular) as `host:port (seed)`.
    pub(crate) fn nodes(&self) -> Vec<(String, Arc<Shared>)> {
        let nodes = self.nodes.lock();
        let mut out: Vec<(String, Arc<Shared>)> = nodes
            .iter()
            .map(|((host, port), node)| (format!("{host}:{port}"), node.clone()))
            .collect();
        drop(nodes);
        out.extend(
            self.replicas
                .all()
                .into_iter()
                .map(|((host, port), node)| (format!("{host}:{port} (replica)"), node)),
        );
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.push((
            format!("{} (seed)", self.seed.config().addr),
            self.seed.clone(),
        ));
        out
    }

    /// The client is closing: nodes and replicas connected from now on are closed
    /// at once (call before taking `nodes()` to close them).
    pub(crate) fn mark_closed(&self) {
        let _nodes = self.nodes.lock();
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        self.replicas.mark_closed();
    }

    /// Closes every node's multiplexer (a discovery that failed).
    fn close_all(&self, within: Duration) {
        for (_, node) in self.nodes() {
            node.close(within);
        }
    }

    /// Whether every slot has a reachable owner now: a command for every primary
    /// would otherwise miss one.
    pub(crate) fn is_complete(&self) -> bool {
        !self.map.read().owners.contains(&NONE)
    }

    /// The primaries now, in slot order, with the slot ranges each owns.
    pub(crate) fn primaries(&self) -> Vec<PrimaryView> {
        let map = self.map.read().clone();
        let mut out: Vec<PrimaryView> = map
            .primaries
            .iter()
            .map(|((h, p), n)| (format!("{h}:{p}"), n.clone(), Vec::new()))
            .collect();
        let mut slot = 0usize;
        while slot < map.owners.len() {
            let owner = map.owners[slot];
            let start = slot;
            while slot < map.owners.len() && map.owners[slot] == owner {
                slot += 1;
            }
            if let Some(entry) = out.get_mut(usize::from(owner)) {
                entry.2.push((start as u16, (slot - 1) as u16));
            }
        }
        out
    }

    /// The multiplexer that owns `slot` now (any primary for a keyless command).
    pub(crate) fn node_for(&self, slot: Option<u16>) -> Option<Arc<Shared>> {
        let map = self.map.read();
        match slot {
            Some(slot) => {
                let owner = *map.owners.get(usize::from(slot))?;
                map.primaries
                    .get(usize::from(owner))
                    .map(|(_, n)| n.clone())
            }
            None => map.primaries.first().map(|(_, n)| n.clone()),
        }
    }

    /// A primary whose queue is at its bound now, if any: a batch chunk, split
    /// over the primaries, waits for room on it before it goes out.
    pub(crate) fn full_primary(&self) -> Option<Arc<Shared>> {
        let map = self.map.read();
        map.primaries
            .iter()
            .find(|(_, node)| !node.has_room())
            .map(|(_, node)| node.clone())
    }

    /// The owners of many slots as one map (`map_seen`) has them, so that commands
    /// routed together (a batch chunk) all see the same map: two commands on one
    /// key never go to two nodes because the map changed between them.
    pub(crate) fn nodes_for(
        &self,
        slots: &[Option<u16>],
        map: &MapSeen,
    ) -> Vec<Option<Arc<Shared>>> {
        let map = &map.0;
        slots
            .iter()
            .map(|slot| match slot {
                Some(slot) => {
                    let owner = *map.owners.get(usize::from(*slot))?;
                    map.primaries
                        .get(usize::from(owner))
                        .map(|(_, n)| n.clone())
                }
                None => map.primaries.first().map(|(_, n)| n.clone()),
            })
            .collect()
    }

    /// The map now, to route a batch chunk with and to tell later whether it has
    /// changed since (any change, a MOVED fixed or a refresh installed, makes a new
    /// one).
    pub(crate) fn map_seen(&self) -> MapSeen {
        MapSeen(self.map.read().clone())
    }

    /// The configuration a connection to the node at `addr` starts from: its
    /// address, and for TLS the hostname it announces as the name to check.
    fn node_config(&self, addr: &NodeAddr) -> Config {
        let mut config = self.config.clone();
        config.addr = Addr::Tcp {
            host: addr.0.clone(),
            port: addr.1,
        };
        if let (Some(tls), Some(name)) = (&mut config.tls, self.hostnames.lock().get(addr)) {
            // The user's `server_name_for` is still asked first, at the handshake.
            tls.server_name = Some(name.clone());
        }
        config
    }

    /// The hostname the node at `host:port` announces, if any: the name its TLS
    /// certificate is checked against (for connections made outside the cluster
    /// layer, such as the shard subscribers').
    pub(crate) fn announced_hostname(&self, host: &str, port: u16) -> Option<String> {
        self.hostnames
            .lock()
            .get(&(host.to_string(), port))
            .cloned()
    }

    /// The multiplexer for a node named in a redirect, connecting to it if new.
    pub(crate) async fn node_at(&self, addr: &NodeAddr) -> Result<Arc<Shared>> {
        if let Some(node) = self.nodes.lock().get(addr) {
            return Ok(node.clone());
        }
        let config = self.node_config(addr);
        let (node, _) = mux::start(config).await?;
        crate::cache::attach(&node);
        node.set_owner(self.me.clone());
        // Another caller may have connected it meanwhile: keep the first, and
        // close this one (its tasks would otherwise run on with no owner), as
        // one connected after the client closed.
        let mut guard = self.nodes.lock();
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            drop(guard);
            node.close(Duration::ZERO);
            return Err(Error::Closed);
        }
        match guard.get(addr) {
            Some(first) => {
                let first = first.clone();
                drop(guard);
                node.close(Duration::ZERO);
                Ok(first)
            }
            None => {
                guard.insert(addr.clone(), node.clone());
                Ok(node)
            }
        }
    }

    /// MOVED: the slot is served elsewhere now. Fixes that one slot at once (the
    /// refresh that follows fixes the rest).
    pub(crate) async fn moved(&self, slot: u16, to: &NodeAddr) {
        let Ok(node) = self.node_at(to).await else {
            return;
        };
        let mut guard = self.map.write();
        let map = &**guard;
        let mut owners = map.owners.clone();
        let mut primaries = map.primaries.clone();
        let mut replicas = map.replicas.clone();
        let index = match primaries.iter().position(|(a, _)| a == to) {
            Some(i) => i,
            None => {
                // Its replicas are learnt at the refresh that follows.
                primaries.push((to.clone(), node));
                replicas.push(Vec::new());
                primaries.len() - 1
            }
        };
        if let (Some(owner), Ok(index)) = (owners.get_mut(usize::from(slot)), u16::try_from(index))
        {
            *owner = index;
        }
        let next = SlotMap {
            owners,
            primaries,
            replicas,
        };
        self.tell_slots_lost(map, &next);
        *guard = Arc::new(next);
    }

    /// Asks the refresh task for a new map (coalesced and rate-limited there).
    pub(crate) fn request_refresh(&self) {
        self.wake.notify_one();
    }

    /// A receiver that sees each change of the map.
    pub(crate) fn watch_changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// How many refreshes have finished.
    pub(crate) fn generation(&self) -> u64 {
        *self.generation.borrow()
    }

    /// Waits until a refresh after `generation` has finished, or `until`.
    pub(crate) async fn refreshed_since(&self, generation: u64, until: tokio::time::Instant) {
        let mut watch = self.generation.subscribe();
        let _ = tokio::time::timeout_at(until, watch.wait_for(|g| *g > generation)).await;
    }

    /// Reads the map from the nodes (primaries first, then the rest, then the seed
    /// address anew) and installs the first complete one; failing that, the most
    /// complete. Returns whether a map was installed.
    async fn refresh(&self) -> bool {
        let mut candidates: Vec<(NodeAddr, Arc<Shared>)> = self.map.read().primaries.clone();
        for (addr, node) in self.nodes.lock().iter() {
            if !candidates.iter().any(|(a, _)| a == addr) {
                candidates.push((addr.clone(), node.clone()));
            }
        }
        let mut best: Option<Topology> = None;
        for (addr, node) in candidates {
            let Ok(reply) = ask(&node, cmd("CLUSTER").arg("SLOTS"), &self.config).await else {
                continue;
            };
            let Some(topology) = Topology::from_cluster_slots(&reply, &addr) else {
                continue;
            };
            self.hostnames
                .lock()
                .extend(topology::announced_hostnames(&reply, &addr));
            let complete = topology.is_complete();
            if best
                .as_ref()
                .is_none_or(|b| topology.covered() > b.covered())
            {
                best = Some(topology);
            }
            if complete {
                break;
            }
        }
        let Some(topology) = best else {
            tracing::warn!("no cluster node answered CLUSTER SLOTS; keeping the old map");
            self.generation.send_modify(|g| *g += 1);
            return false;
        };
        if !topology.is_complete() {
            tracing::warn!(
                covered = topology.covered(),
                "no node gave a map covering every slot; using the most complete"
            );
        }
        self.install(&topology).await;
        self.generation.send_modify(|g| *g += 1);
        true
    }

    /// Connects to the map's primaries (those it can) and makes the map current.
    async fn install(&self, topology: &Topology) {
        let mut primaries: Vec<(NodeAddr, Arc<Shared>)> = Vec::new();
        for addr in topology.primaries() {
            match self.node_at(&addr).await {
                Ok(node) => primaries.push((addr, node)),
                Err(e) => tracing::debug!(node = ?addr, error = %e, "cluster primary unreachable"),
            }
        }
        let mut owners = vec![NONE; usize::from(SLOTS)];
        for range in &topology.ranges {
            let Some(index) = primaries.iter().position(|(a, _)| *a == range.primary) else {
                continue;
            };
            let index = u16::try_from(index).unwrap_or(NONE);
            for slot in range.start..=range.end {
                owners[usize::from(slot)] = index;
            }
        }
        let replicas = self.replicas_of(topology, &primaries);
        tracing::debug!(primaries = primaries.len(), "cluster map installed");
        let mut map = self.map.write();
        let changed = map.owners != owners
            || map.primaries.len() != primaries.len()
            || map
                .primaries
                .iter()
                .zip(&primaries)
                .any(|(a, b)| a.0 != b.0);
        let next = SlotMap {
            owners,
            primaries,
            replicas,
        };
        self.tell_slots_lost(&map, &next);
        *map = Arc::new(next);
        drop(map);
        if changed {
            tracing::info!("cluster topology changed");
            self.changes.send_modify(|c| *c += 1);
        }
    }
}

impl Cluster {
    /// The replicas `topology` names for each of `primaries`, connected (those
    /// that answer) once replica reads were asked for.
    fn replicas_of(
        &self,
        topology: &Topology,
        primaries: &[(NodeAddr, Arc<Shared>)],
    ) -> Vec<Vec<replicas::Replica>> {
        let mut addrs: Vec<Vec<NodeAddr>> = vec![Vec::new(); primaries.len()];
        for range in &topology.ranges {
            let Some(index) = primaries.iter().position(|(a, _)| *a == range.primary) else {
                continue;
            };
            for replica in &range.replicas {
                if !addrs[index].contains(replica) {
                    addrs[index].push(replica.clone());
                }
            }
        }
        if self.replicas.wanted() {
            // In the background: a replica that is slow to answer must not hold
            // back the new map (and the MOVED and failovers it serves).
            let _ = self.connect_replicas(addrs.iter().flatten().cloned().collect());
        }
        addrs
            .into_iter()
            .map(|of_one| {
                of_one
                    .into_iter()
                    .map(|addr| replicas::Replica {
                        node: self.replicas.get(&addr),
                        addr,
                    })
                    .collect()
            })
            .collect()
    }

    /// Tells each primary of `old` that owns a slot `new` gives elsewhere: its
    /// client-side cache must go, as a slot moved without MIGRATE sends no
    /// invalidation. Nothing to do without a cache.
    fn tell_slots_lost(&self, old: &SlotMap, new: &SlotMap) {
        if self.config.client_cache.is_none() {
            return;
        }
        let mut lost = vec![false; old.primaries.len()];
        for (slot, &was) in old.owners.iter().enumerate() {
            let Some((addr, _)) = old.primaries.get(usize::from(was)) else {
                continue;
            };
            let now = new
                .owners
                .get(slot)
                .and_then(|&i| new.primaries.get(usize::from(i)));
            if now.is_none_or(|(a, _)| a != addr) {
                lost[usize::from(was)] = true;
            }
        }
        for ((_, node), lost) in old.primaries.iter().zip(lost) {
            if lost {
                node.slots_lost();
            }
        }
    }
}

/// Sends `command` where the cluster needs it (its slot's primary or, as `flags`
/// ask, a replica; or spread over several: see `fanout.rs`) and resolves to the
/// reply.
pub(crate) fn send(
    cluster: std::sync::Arc<Cluster>,
    command: Command,
    timeout: Option<Duration>,
    flags: crate::Flags,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value>> + Send>> {
    let timeout = timeout.unwrap_or(cluster.config.command_timeout);
    let read = match cluster.read_from(flags, &command) {
        Ok(read) => read,
        Err(refused) => return Box::pin(async move { Err(refused) }),
    };
    // The name first: reading the words back allocates, and almost no command
    // needs it.
    let spread = fanout::may_spread(command.name_bytes())
        .then(|| command.words())
        .flatten()
        .and_then(|words| {
            fanout::spread(&words)
                .map(|spread| (spread, words.iter().map(|w| w.to_vec()).collect::<Vec<_>>()))
        });
    match spread {
        Some((spread, words)) => {
            Box::pin(fanout::run(cluster, command, words, spread, timeout, read))
        }
        None => Box::pin(send::to_slot(cluster, command, timeout, read)),
    }
}

/// Sends one command to one node and waits for its reply (an error reply is an
/// error), within the connect timeout: for the cluster layer's own questions.
async fn ask(node: &Shared, command: crate::Command, config: &Config) -> Result<Value> {
    let timeout = config.connect_timeout;
    let deadline = crate::mux::deadline(timeout);
    let ticket = node.send(command.into_parts(), timeout, deadline)?;
    match tokio::time::timeout_at(deadline, ticket.rx).await {
        Ok(Ok(Ok(value))) => match value.as_error() {
            Some(line) => Err(Error::Server(crate::ServerError::parse(line))),
            None => Ok(value),
        },
        Ok(Ok(Err(e))) => Err(e),
        Ok(Err(_)) | Err(_) => Err(Error::protocol("no reply from the cluster node")),
    }
}

/// `host:port` of a TCP address (a cluster has no Unix sockets).
fn node_addr(addr: &Addr) -> Result<NodeAddr> {
    match addr {
        Addr::Tcp { host, port } => Ok((host.clone(), *port)),
        Addr::Unix(_) => Err(Error::config(
            "a cluster is reached over TCP: a Unix socket cannot name its other nodes",
        )),
    }
}

/// Refreshes the map when asked (coalesced: one at a time, at most one per
/// `MIN_REFRESH_INTERVAL`) and every `PERIODIC_REFRESH`; ends with the client.
async fn refresh_task(cluster: Weak<Cluster>, wake: Arc<Notify>) {
    let mut last = Instant::now();
    loop {
        // Waits holding only the notifier: a strong handle would keep a dropped
        // client's router alive.
        let asked = tokio::select! {
            _ = wake.notified() => true,
            _ = tokio::time::sleep(PERIODIC_REFRESH) => false,
        };
        let since = last.elapsed();
        if asked && since < MIN_REFRESH_INTERVAL {
            tokio::time::sleep(MIN_REFRESH_INTERVAL - since).await;
        }
        let Some(strong) = cluster.upgrade() else {
            return;
        };
        strong.refresh().await;
        last = Instant::now();
    }
}
