//! [`RedisCluster`]: a real Redis or Valkey cluster (3 primaries and 3 replicas by
//! default) on free ports, with helpers that fail it over, kill and restart its nodes
//! and move slots, each returning once every live node agrees on the result.
//!
//! - `node`: one node: its process, id, address and the kit's connection to it.
//! - `start`: the builder, and how a cluster is put together (slots, MEET, REPLICATE).
//! - `settle`: looking at every node until they agree.
//! - `faults`: failover, kill, restart.
//! - `migrate`: moving a slot and its keys, at once or step by step.
//! - `topology`: `CLUSTER NODES` parsed, and the agreed map.
//! - `slot`: hash slots, and hash tags that land in a chosen slot.
//! - `watchdog`: kills the nodes when the test process dies without dropping them.

mod faults;
mod migrate;
mod node;
mod settle;
mod slot;
mod start;
mod topology;
mod watchdog;

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use tempfile::TempDir;

pub use faults::Settled;
pub use migrate::SlotMigration;
pub use node::ClusterNode;
pub use slot::{SLOTS, hash_tag_for_slot, key_slot};
pub use start::RedisClusterBuilder;
pub use topology::Role;

use crate::ports::PortLease;
use crate::wire::Reply;
use crate::{Error, TlsFiles};
use topology::Topology;
use watchdog::Watchdog;

/// The node timeout of the [`shared`](RedisCluster::shared) cluster. Longer than the
/// default: nobody fails its nodes on purpose, and a busy 2-core machine must not make
/// it fail one over by accident.
const SHARED_NODE_TIMEOUT: Duration = Duration::from_secs(5);

/// A running cluster of `redis-server` (or `REDIS_SERVER_BIN`) processes, owned by the
/// test; dropping it kills every node.
///
/// Nodes are numbered in start order: `0..primaries` start as primaries, each owning an
/// even share of the 16,384 slots, and the replicas of primary `p` follow, at
/// `primaries + p * replicas_per_primary ..`. Roles change with faults; the accessors
/// ([`role`](Self::role), [`slots`](Self::slots), [`slot_owner`](Self::slot_owner), ...)
/// read the map every node last agreed on.
///
/// Every node runs with `--cluster-node-timeout 500` (see
/// [`RedisClusterBuilder::node_timeout`]), `--repl-diskless-sync-delay 0`,
/// `--cluster-replica-validity-factor 0` (a replica may always take over) and
/// `--cluster-allow-replica-migration no` (replicas stay where the test put them).
///
/// If the test process dies without dropping the cluster (a static, a SIGKILL), a small
/// `sh` watchdog kills the nodes and removes their directories.
///
/// # Example
///
/// ```no_run
/// use redmux_testkit::{RedisCluster, Role, key_slot};
///
/// let cluster = RedisCluster::start()?;
/// let owner = cluster.slot_owner(key_slot(b"greeting")).expect("every slot is served");
/// cluster.call(owner, &["SET", "greeting", "hello"])?;
///
/// let replica = cluster.replicas_of(owner)[0];
/// let settled = cluster.failover(replica)?;
/// assert_eq!(cluster.role(replica), Role::Primary);
/// println!("failed over in {:?}", settled.agreed_after);
/// # Ok::<(), redmux_testkit::Error>(())
/// ```
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<ClusterNode>,
    /// The leases on every node's port, bus port and TLS port (see `ports`), dropped
    /// after the nodes: no other test's cluster takes a killed node's ports before
    /// its restart.
    _ports: Vec<PortLease>,
    node_timeout: Duration,
    started_in: Duration,
    version: String,
    /// Refuses faults: other tests rely on it staying as it is.
    shared: bool,
    /// What every live node last agreed on.
    topology: Mutex<Topology>,
    next_prefix: AtomicU64,
    /// The certificates of a cluster started with [`RedisClusterBuilder::tls`].
    tls: Option<TlsFiles>,
    /// Dropped after the nodes: it then only removes the directories.
    _watchdog: Option<Watchdog>,
    /// Holds every node's directory; declared last, so removed after the nodes died.
    _root: TempDir,
}

impl RedisCluster {
    /// Starts 3 primaries and 3 replicas with the defaults (see
    /// [`RedisClusterBuilder`]), and returns once every node agrees on the map.
    ///
    /// # Errors
    ///
    /// As [`RedisClusterBuilder::start`].
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::start()?;
    /// assert_eq!(cluster.nodes().len(), 6);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn start() -> Result<RedisCluster, Error> {
        RedisClusterBuilder::default().start()
    }

    /// A builder, to choose the number of nodes, the node timeout or extra arguments.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let cluster = redmux_testkit::RedisCluster::builder()
    ///     .primaries(3)
    ///     .replicas_per_primary(2)
    ///     .node_timeout(Duration::from_millis(1000))
    ///     .start()?;
    /// assert_eq!(cluster.nodes().len(), 9);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn builder() -> RedisClusterBuilder {
        RedisClusterBuilder::default()
    }

    /// One 3 + 3 cluster per test process, started by the first caller, for every test
    /// that does not disturb it: it keeps the suite fast (a start takes over 2 s).
    ///
    /// Its node timeout is 5 s, so load on a busy machine does not fail a node over.
    /// The fault helpers refuse to run on it; a test that needs faults starts its own.
    /// Tests share its keyspace: give your keys a [`key_prefix`](Self::key_prefix) and
    /// do not `FLUSHALL`. It is never dropped: its watchdog kills it when the process
    /// exits.
    ///
    /// # Errors
    ///
    /// The start's error; later callers get [`Error::ClusterUsage`] with its text.
    ///
    /// ```
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// let again = redmux_testkit::RedisCluster::shared()?;
    /// assert!(std::ptr::eq(cluster, again));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn shared() -> Result<&'static RedisCluster, Error> {
        static SHARED: OnceLock<Result<RedisCluster, String>> = OnceLock::new();
        let started = SHARED.get_or_init(|| {
            let mut cluster = RedisClusterBuilder::default()
                .node_timeout(SHARED_NODE_TIMEOUT)
                .start()
                .map_err(|error| error.to_string())?;
            cluster.shared = true;
            Ok(cluster)
        });
        started.as_ref().map_err(|message| Error::ClusterUsage {
            message: format!("the shared cluster failed to start: {message}"),
        })
    }

    /// A key prefix no other caller in this process gets, e.g. `"my_test:7:"`, so tests
    /// sharing a cluster never touch each other's keys. It has no hash tag, so keys
    /// with it still spread over every slot.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// let a = cluster.key_prefix("my_test");
    /// let b = cluster.key_prefix("my_test");
    /// assert_ne!(a, b);
    /// assert!(a.starts_with("my_test:") && !a.contains('{'));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn key_prefix(&self, test: &str) -> String {
        let n = self.next_prefix.fetch_add(1, Ordering::Relaxed);
        format!("{test}:{n}:")
    }

    /// Every node, in index order.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.nodes().len(), 6);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn nodes(&self) -> &[ClusterNode] {
        &self.nodes
    }

    /// The node at `index`.
    ///
    /// # Panics
    ///
    /// When `index` is not below `nodes().len()`, like indexing a slice.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.node(1).index(), 1);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn node(&self, index: usize) -> &ClusterNode {
        &self.nodes[index]
    }

    /// `redis://127.0.0.1:port` of node 0: one seed is enough for a client that
    /// discovers the rest.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.url(), cluster.node(0).url());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn url(&self) -> String {
        self.nodes.first().map(ClusterNode::url).unwrap_or_default()
    }

    /// Every node as seeds in one URL: `redis://127.0.0.1:p0,127.0.0.1:p1,...`.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// let url = cluster.seeds_url();
    /// assert_eq!(url.matches("127.0.0.1:").count(), 6);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn seeds_url(&self) -> String {
        let seeds: Vec<String> = self.addrs().iter().map(ToString::to_string).collect();
        format!("redis://{}", seeds.join(","))
    }

    /// Every node's TLS port as seeds in one URL, `rediss://127.0.0.1:p0,...`, for a
    /// cluster started with [`RedisClusterBuilder::tls`]; `None` otherwise.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::builder().tls().start()?;
    /// assert!(cluster.tls_seeds_url().unwrap().starts_with("rediss://127.0.0.1:"));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn tls_seeds_url(&self) -> Option<String> {
        self.tls.as_ref()?;
        let seeds: Vec<String> = self
            .addrs()
            .iter()
            .map(|a| format!("{}:{}", a.ip(), a.port() + start::TLS_PORT_OFFSET))
            .collect();
        Some(format!("rediss://{}", seeds.join(",")))
    }

    /// The CA and certificates of a cluster started with [`RedisClusterBuilder::tls`]
    /// (trust [`TlsFiles::ca`]); `None` otherwise.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::builder().tls().start()?;
    /// assert!(cluster.tls_files().unwrap().ca().exists());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// Every node's address, in index order.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.addrs()[0], cluster.node(0).addr());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.nodes.iter().map(ClusterNode::addr).collect()
    }

    /// The node's role in the agreed map.
    ///
    /// # Panics
    ///
    /// When `node` is not a node index.
    ///
    /// ```
    /// use redmux_testkit::{RedisCluster, Role};
    /// let cluster = RedisCluster::shared()?;
    /// assert_eq!(cluster.role(0), Role::Primary);
    /// assert_eq!(cluster.role(3), Role::Replica);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn role(&self, node: usize) -> Role {
        self.topology().nodes[node].role
    }

    /// For a replica, the index of its primary.
    ///
    /// # Panics
    ///
    /// When `node` is not a node index.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.primary_of(3), Some(0));
    /// assert_eq!(cluster.primary_of(0), None);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn primary_of(&self, node: usize) -> Option<usize> {
        self.topology().nodes[node].primary
    }

    /// The slot ranges the node owns, in order; empty for a replica.
    ///
    /// # Panics
    ///
    /// When `node` is not a node index.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.slots(0), vec![0..=5460]);
    /// assert!(cluster.slots(3).is_empty());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn slots(&self, node: usize) -> Vec<RangeInclusive<u16>> {
        let topology = self.topology();
        let slots = &topology.nodes[node].slots;
        slots.iter().map(|&(first, last)| first..=last).collect()
    }

    /// The live primaries, in index order.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.primaries(), vec![0, 1, 2]);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn primaries(&self) -> Vec<usize> {
        self.live_with_role(Role::Primary)
    }

    /// The live replicas, in index order.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.replicas(), vec![3, 4, 5]);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn replicas(&self) -> Vec<usize> {
        self.live_with_role(Role::Replica)
    }

    /// The replicas of `primary` (live or not), in index order.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.replicas_of(1), vec![4]);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn replicas_of(&self, primary: usize) -> Vec<usize> {
        self.topology().replicas_of(primary)
    }

    /// The node that owns `slot`; `None` when no node serves it (a primary without
    /// replicas was killed) or `slot` is 16,384 or more.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.slot_owner(0), Some(0));
    /// assert_eq!(cluster.slot_owner(16383), Some(2));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn slot_owner(&self, slot: u16) -> Option<usize> {
        self.topology().owner(slot)
    }

    /// The node that owns `key`'s slot.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.key_owner(b"foo"), Some(2)); // slot 12182
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn key_owner(&self, key: &[u8]) -> Option<usize> {
        self.slot_owner(key_slot(key))
    }

    /// Sends one command to node `node` on the kit's connection (see
    /// [`ClusterNode::call`]).
    ///
    /// # Errors
    ///
    /// [`Error::ClusterUsage`] for a bad index, [`Error::Io`] when the node cannot be
    /// reached.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// for primary in cluster.primaries() {
    ///     let info = cluster.call(primary, &["INFO", "commandstats"])?;
    ///     assert!(info.as_str().is_some());
    /// }
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn call<A: AsRef<[u8]>>(&self, node: usize, args: &[A]) -> Result<Reply, Error> {
        self.checked_node(node)?.call(args)
    }

    /// The `--cluster-node-timeout` every node runs with.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.node_timeout().as_millis(), 5000);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn node_timeout(&self) -> Duration {
        self.node_timeout
    }

    /// How long the start took, from the first spawn to every node agreeing.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// println!("started in {:?}", cluster.started_in());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The server version from `--version`, e.g. `"7.0.15"` or, for Valkey, `"9.1.2"`.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert!(cluster.version().contains('.'));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn version(&self) -> &str {
        &self.version
    }

    fn topology(&self) -> MutexGuard<'_, Topology> {
        // Replaced whole under the lock, so never seen half-written.
        self.topology.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live_with_role(&self, role: Role) -> Vec<usize> {
        let topology = self.topology();
        (0..topology.nodes.len())
            .filter(|&i| topology.nodes[i].role == role && !topology.nodes[i].failed)
            .collect()
    }

    fn checked_node(&self, node: usize) -> Result<&ClusterNode, Error> {
        self.nodes.get(node).ok_or_else(|| Error::ClusterUsage {
            message: format!(
                "there is no node {node}: the cluster has {} nodes",
                self.nodes.len()
            ),
        })
    }

    /// The fault helpers call this first: the shared cluster must stay as it is.
    fn refuse_if_shared(&self, what: &str) -> Result<(), Error> {
        match self.shared {
            true => Err(Error::ClusterUsage {
                message: format!(
                    "{what} on the shared cluster would disturb every other test: \
                     start a cluster of your own with RedisCluster::start()"
                ),
            }),
            false => Ok(()),
        }
    }
}
