//! [`RedisClusterBuilder`], and putting a cluster together by hand: spawn every node,
//! give each primary its slots (`CLUSTER ADDSLOTSRANGE`), introduce the nodes
//! (`CLUSTER MEET`), attach the replicas (`CLUSTER REPLICATE`), then wait until they
//! all agree. No `redis-cli` is needed (Valkey's packages may lack it), and it is
//! faster than `redis-cli --cluster create`, which sleeps between its steps.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::node::{expect_ok, refused};
use super::settle::SETTLE_TIMEOUT;
use super::slot::SLOTS;
use super::topology::{self, Role, Topology};
use super::watchdog::Watchdog;
use super::{ClusterNode, RedisCluster};
use crate::ports::{self, PortLease};
use crate::{Error, RedisServer, ServerCertificate, TlsFiles};

/// Node ports come from here. A node's cluster bus listens on its port + 10,000, and
/// both must stay below 32,768, where the kernel starts handing out ephemeral ports
/// that anything may hold.
const PORT_RANGE: std::ops::Range<u16> = 20_000..22_000;

/// The bus port's offset from the node's port.
const BUS_PORT_OFFSET: u16 = 10_000;

/// A node's TLS port's offset from its port, for a cluster started with
/// [`RedisClusterBuilder::tls`]; below the bus ports and the ephemeral ones.
pub(crate) const TLS_PORT_OFFSET: u16 = 3_000;

/// How many port ranges to try when one is taken before the nodes bind it.
const PORT_ATTEMPTS: usize = 5;

/// The node timeout while the cluster assembles, when the one asked for is longer.
/// Nodes gossip (and so learn each other's slots) every node timeout / 2: with the
/// shared cluster's 5 s, agreement took 2.7 to 4 s instead of 2.1 s.
const ASSEMBLY_NODE_TIMEOUT: Duration = Duration::from_millis(500);

/// How often to look while nodes introduce themselves.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Configures a [`RedisCluster`] before starting it.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use redmux_testkit::RedisCluster;
///
/// let cluster = RedisCluster::builder()
///     .primaries(3)
///     .replicas_per_primary(1)
///     .node_timeout(Duration::from_millis(500))
///     .arg("--maxmemory")
///     .arg("64mb")
///     .start()?;
/// # Ok::<(), redmux_testkit::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .start() is called"]
pub struct RedisClusterBuilder {
    primaries: usize,
    replicas_per_primary: usize,
    node_timeout: Duration,
    extra_args: Vec<String>,
    tls: Option<ServerCertificate>,
}

impl Default for RedisClusterBuilder {
    /// 3 primaries, 1 replica each, a 500 ms node timeout.
    fn default() -> Self {
        RedisClusterBuilder {
            primaries: 3,
            replicas_per_primary: 1,
            node_timeout: Duration::from_millis(500),
            extra_args: Vec::new(),
            tls: None,
        }
    }
}

impl RedisClusterBuilder {
    /// How many primaries share the slots (default 3; at least 1).
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::builder().primaries(1).start()?;
    /// assert_eq!(cluster.slots(0), vec![0..=16383]);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn primaries(mut self, n: usize) -> Self {
        self.primaries = n;
        self
    }

    /// How many replicas each primary gets (default 1).
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::builder()
    ///     .replicas_per_primary(0)
    ///     .start()?;
    /// assert!(cluster.replicas().is_empty());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn replicas_per_primary(mut self, n: usize) -> Self {
        self.replicas_per_primary = n;
        self
    }

    /// `--cluster-node-timeout` (default 500 ms): how long a node may be unreachable
    /// before it is suspected, and so roughly how soon a killed primary is replaced.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let cluster = redmux_testkit::RedisCluster::builder()
    ///     .node_timeout(Duration::from_secs(2))
    ///     .start()?;
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn node_timeout(mut self, timeout: Duration) -> Self {
        self.node_timeout = timeout;
        self
    }

    /// Appends one raw argument to every node's command line, after the kit's own.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::builder()
    ///     .arg("--cluster-require-full-coverage")
    ///     .arg("no")
    ///     .start()?;
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.extra_args.push(a.into());
        self
    }

    /// Starts every node, builds the cluster and returns once every node says
    /// `cluster_state:ok`, every replica's link is up, and all agree on the map. Takes
    /// a little over 2 s: a new primary refuses to call the cluster ok for its first
    /// 2 s.
    ///
    /// # Errors
    ///
    /// [`Error::ClusterUsage`] for 0 primaries or more nodes than ports;
    /// [`Error::BinaryNotFound`] and the other start errors of [`RedisServer`];
    /// [`Error::Refused`] when a node refuses a setup command;
    /// [`Error::ClusterNotSettled`] when the nodes do not agree within 30 s.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::builder().start()?;
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    /// Each node also serves TLS on its port + 3,000, with `tls-cluster` and
    /// `tls-replication` on (the bus and replication are TLS too) and one CA for all
    /// (made at start in the cluster's dir: [`RedisCluster::tls_files`]). The kit keeps
    /// talking to the plaintext ports; clients use [`RedisCluster::tls_seeds_url`].
    /// Needs a server built with TLS (Debian's redis-server; not Valkey's PyPI wheel,
    /// where [`start`](Self::start) fails with [`Error::TlsUnsupported`]).
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::builder().tls().start()?;
    /// assert!(cluster.tls_seeds_url().unwrap().starts_with("rediss://"));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn tls(self) -> Self {
        self.tls_certificate(ServerCertificate::Valid)
    }

    /// [`tls`](Self::tls), every node presenting this certificate: the wrong ones
    /// are for tests that a client refuses them, or names them itself.
    ///
    /// ```no_run
    /// use redmux_testkit::{RedisCluster, ServerCertificate};
    /// let cluster = RedisCluster::builder()
    ///     .tls_certificate(ServerCertificate::OtherHost)
    ///     .start()?;
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn tls_certificate(mut self, certificate: ServerCertificate) -> Self {
        self.tls = Some(certificate);
        self
    }

    pub fn start(self) -> Result<RedisCluster, Error> {
        let count = self.primaries * (1 + self.replicas_per_primary);
        if self.primaries == 0 || count > 200 {
            return Err(Error::ClusterUsage {
                message: format!(
                    "a cluster of {} primaries with {} replicas each cannot be started: \
                     ask for 1 to 200 nodes",
                    self.primaries, self.replicas_per_primary
                ),
            });
        }
        let started = Instant::now();
        let root = tempfile::Builder::new()
            .prefix("redmux-cluster-")
            .tempdir()
            .map_err(|e| Error::io("creating a temp dir for the cluster", e))?;
        // Compared with /proc/<pid>/cwd by the watchdog, which sees the real path.
        let root_path = root
            .path()
            .canonicalize()
            .map_err(|e| Error::io("resolving the cluster's temp dir", e))?;
        let watchdog = Watchdog::spawn(&root_path)
            .map_err(|e| {
                tracing::warn!("no cluster watchdog (sh failed: {e}); nodes may outlive a crash")
            })
            .ok();
        let tls = match self.tls {
            Some(certificate) => Some(TlsFiles::generate(&root_path, certificate)?),
            None => None,
        };
        let (servers, leases) = self.spawn_nodes(count, &root_path, tls.as_ref())?;
        let mut ids = Vec::with_capacity(count);
        for server in &servers {
            ids.push(fetch_id(server)?);
        }
        let version = servers
            .first()
            .map(RedisServer::version)
            .unwrap_or_default();
        let nodes = servers
            .into_iter()
            .zip(ids)
            .enumerate()
            .map(|(index, (server, id))| ClusterNode {
                index,
                id,
                server,
                connection: Mutex::new(None),
            })
            .collect();
        let cluster = RedisCluster {
            nodes,
            _ports: leases,
            node_timeout: self.node_timeout,
            started_in: Duration::ZERO,
            version,
            shared: false,
            topology: Mutex::new(Topology::default()),
            next_prefix: AtomicU64::new(0),
            tls,
            _watchdog: watchdog,
            _root: root,
        };
        self.assemble(cluster, started)
    }

    /// Spawns every node on consecutive ports, in parallel (each start is mostly
    /// waiting), moving to other ports if some are taken; returns the nodes and the
    /// leases on their ports.
    fn spawn_nodes(
        &self,
        count: usize,
        root: &std::path::Path,
        tls: Option<&TlsFiles>,
    ) -> Result<(Vec<RedisServer>, Vec<PortLease>), Error> {
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let (base, leases) = free_port_range(count)?;
            let results: Vec<Result<RedisServer, Error>> = thread::scope(|scope| {
                let handles: Vec<_> = (0..count)
                    .map(|i| {
                        let port = base + u16::try_from(i).unwrap_or(0);
                        scope.spawn(move || self.node_builder(root, port, tls).port(port).start())
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| {
                        handle.join().unwrap_or_else(|_| {
                            Err(Error::ClusterUsage {
                                message: "a thread starting a node panicked".to_owned(),
                            })
                        })
                    })
                    .collect()
            });
            // Started nodes of a failed attempt are dropped (killed) right here.
            match results.into_iter().collect::<Result<Vec<_>, _>>() {
                Ok(servers) => return Ok((servers, leases)),
                Err(error @ Error::PortInUse { .. }) => last_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or(Error::PortInUse {
            port: PORT_RANGE.start,
            waited: Duration::ZERO,
        }))
    }

    fn node_builder(
        &self,
        root: &std::path::Path,
        port: u16,
        tls: Option<&TlsFiles>,
    ) -> crate::RedisServerBuilder {
        let mut builder = RedisServer::builder().temp_parent(root);
        if let Some(files) = tls {
            let path = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
            for arg in [
                "--tls-port".to_owned(),
                (port + TLS_PORT_OFFSET).to_string(),
                // With tls-cluster the bus would follow the TLS port (+10,000);
                // kept where MEET and the port check expect it.
                "--cluster-port".to_owned(),
                (port + BUS_PORT_OFFSET).to_string(),
                "--tls-cert-file".to_owned(),
                path(files.server_cert()),
                "--tls-key-file".to_owned(),
                path(files.server_key()),
                "--tls-ca-cert-file".to_owned(),
                path(files.ca()),
                "--tls-auth-clients".to_owned(),
                "no".to_owned(),
                "--tls-cluster".to_owned(),
                "yes".to_owned(),
                "--tls-replication".to_owned(),
                "yes".to_owned(),
            ] {
                builder = builder.arg(arg);
            }
        }
        let timeout = self.node_timeout.as_millis().max(1).to_string();
        for arg in [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            &timeout,
            // The default 5 s delay before a full sync made every replica wait 5 s.
            "--repl-diskless-sync-delay",
            "0",
            // A replica may take over however long it was cut off: tests kill
            // primaries back to back and want a promotion every time.
            "--cluster-replica-validity-factor",
            "0",
            // Replicas stay with the primary the test gave them.
            "--cluster-allow-replica-migration",
            "no",
            // Relative to the node's dir; the watchdog reads it there.
            "--pidfile",
            "redis.pid",
        ] {
            builder = builder.arg(arg);
        }
        for arg in &self.extra_args {
            builder = builder.arg(arg.clone());
        }
        builder
    }

    /// Slots, epochs, MEET, REPLICATE, then the wait for agreement.
    fn assemble(&self, mut cluster: RedisCluster, started: Instant) -> Result<RedisCluster, Error> {
        let count = cluster.nodes.len();
        let quick_gossip = self.node_timeout > ASSEMBLY_NODE_TIMEOUT;
        if quick_gossip {
            set_node_timeout(&cluster, ASSEMBLY_NODE_TIMEOUT)?;
        }
        for (i, node) in cluster.nodes.iter().enumerate() {
            // Distinct epochs up front, as redis-cli does: otherwise the nodes first
            // resolve their collisions one bump at a time.
            let epoch = (i + 1).to_string();
            expect_ok(node, &["CLUSTER", "SET-CONFIG-EPOCH", &epoch])?;
        }
        for p in 0..self.primaries {
            let (first, last) = planned_slots(p, self.primaries);
            add_slots(&cluster.nodes[p], first, last)?;
        }
        // Every pair meets directly, so nobody waits for gossip to spread the news.
        for a in &cluster.nodes {
            for b in cluster.nodes.iter().filter(|b| b.index > a.index) {
                let port = b.port().to_string();
                expect_ok(a, &["CLUSTER", "MEET", "127.0.0.1", &port])?;
            }
        }
        self.wait_until_all_known(&cluster, started)?;
        for replica in self.primaries..count {
            let primary = (replica - self.primaries) / self.replicas_per_primary.max(1);
            replicate(&cluster.nodes[replica], &cluster.nodes[primary].id, started)?;
        }
        let (primaries, per_primary) = (self.primaries, self.replicas_per_primary);
        let expect = move |topology: &Topology| check_plan(topology, primaries, per_primary);
        cluster.started_in = cluster.settle("starting the cluster", started, &expect)?;
        if quick_gossip {
            set_node_timeout(&cluster, self.node_timeout)?;
        }
        Ok(cluster)
    }

    /// Waits until every node knows every other by its real id (no handshakes left),
    /// which `CLUSTER REPLICATE` needs.
    fn wait_until_all_known(&self, cluster: &RedisCluster, started: Instant) -> Result<(), Error> {
        let count = cluster.nodes.len();
        let mut pending: Vec<usize> = (0..count).collect();
        loop {
            let mut still = Vec::new();
            for &i in &pending {
                let known = cluster.nodes[i]
                    .call(&["CLUSTER", "NODES"])?
                    .as_str()
                    .and_then(|text| topology::parse_nodes(text).ok())
                    .is_some_and(|view| view.len() == count);
                if !known {
                    still.push(i);
                }
            }
            if still.is_empty() {
                return Ok(());
            }
            if started.elapsed() > SETTLE_TIMEOUT {
                return Err(Error::ClusterNotSettled {
                    what: "CLUSTER MEET".to_owned(),
                    waited: started.elapsed(),
                    state: format!("nodes {still:?} do not know every other node yet"),
                });
            }
            pending = still;
            thread::sleep(POLL_INTERVAL);
        }
    }
}

/// The slots primary `p` of `n` starts with: the split `redis-cli --cluster create`
/// makes (each share rounded to the nearest slot), so slot numbers in tests look
/// familiar: 0-5460, 5461-10922, 10923-16383 for three.
fn planned_slots(p: usize, n: usize) -> (u16, u16) {
    let total = usize::from(SLOTS);
    let end = |i: usize| (2 * i * total + n) / (2 * n); // round(i * total / n)
    let first = if p == 0 { 0 } else { end(p) };
    let last = if p + 1 == n { total } else { end(p + 1) } - 1;
    (
        u16::try_from(first).unwrap_or(0),
        u16::try_from(last).unwrap_or(SLOTS - 1),
    )
}

/// The start is done when the map is the one planned.
fn check_plan(topology: &Topology, primaries: usize, per_primary: usize) -> Result<(), String> {
    for (i, node) in topology.nodes.iter().enumerate() {
        let (role, primary, slots) = if i < primaries {
            (Role::Primary, None, vec![planned_slots(i, primaries)])
        } else {
            let primary = (i - primaries) / per_primary.max(1);
            (Role::Replica, Some(primary), Vec::new())
        };
        if node.role != role || node.primary != primary || node.slots != slots {
            return Err(format!("node {i} is not yet as planned"));
        }
    }
    Ok(())
}

/// `CONFIG SET cluster-node-timeout` on every node.
fn set_node_timeout(cluster: &RedisCluster, timeout: Duration) -> Result<(), Error> {
    let millis = timeout.as_millis().max(1).to_string();
    for node in &cluster.nodes {
        expect_ok(node, &["CONFIG", "SET", "cluster-node-timeout", &millis])?;
    }
    Ok(())
}

/// `CLUSTER ADDSLOTSRANGE`, or `ADDSLOTS` with every slot on servers older than 7.0.
fn add_slots(node: &ClusterNode, first: u16, last: u16) -> Result<(), Error> {
    let (first_text, last_text) = (first.to_string(), last.to_string());
    let reply = node.call(&["CLUSTER", "ADDSLOTSRANGE", &first_text, &last_text])?;
    if !reply.is_error() {
        return Ok(());
    }
    let mut args: Vec<String> = vec!["CLUSTER".to_owned(), "ADDSLOTS".to_owned()];
    args.extend((first..=last).map(|slot| slot.to_string()));
    expect_ok(node, &args).map(drop)
}

/// `CLUSTER REPLICATE`, retried while the replica has not yet heard that the primary
/// is one (the MEET's gossip may lag the handshake).
fn replicate(replica: &ClusterNode, primary_id: &str, started: Instant) -> Result<(), Error> {
    loop {
        let reply = replica.call(&["CLUSTER", "REPLICATE", primary_id])?;
        if !reply.is_error() {
            return Ok(());
        }
        if started.elapsed() > SETTLE_TIMEOUT {
            return Err(refused(
                replica,
                &["CLUSTER", "REPLICATE", primary_id],
                &reply,
            ));
        }
        thread::sleep(POLL_INTERVAL);
    }
}

fn fetch_id(server: &RedisServer) -> Result<String, Error> {
    let mut connection = crate::RawConnection::connect(server.addr())?;
    let reply = connection.call(&["CLUSTER", "MYID"])?;
    match reply.as_str() {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(Error::Refused {
            addr: server.addr(),
            command: "CLUSTER MYID".to_owned(),
            reply: reply.to_string(),
        }),
    }
}

/// The first of `count` consecutive ports that, with their bus and TLS ports, are
/// leased to this cluster (see `ports`) and were free a moment ago, and the leases.
/// Each cluster in this process starts where the last one ended, and the starting
/// point is random, so parallel test processes rarely even try the same ports; the
/// leases settle it when they do, and keep them this cluster's until it is dropped.
fn free_port_range(count: usize) -> Result<(u16, Vec<PortLease>), Error> {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let span = PORT_RANGE.end - PORT_RANGE.start;
    let count = u16::try_from(count).unwrap_or(span).min(span);
    let _ = NEXT.compare_exchange(
        0,
        // The `| 1` keeps it from looking unset again.
        (RandomState::new().hash_one("redmux-cluster-ports") as u16 % span) | 1,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..span / count.max(1) {
        let offset = NEXT.fetch_add(count, Ordering::Relaxed) % span;
        let base = PORT_RANGE.start + offset.min(span - count);
        let wanted = (base..base + count)
            .flat_map(|port| [port, port + BUS_PORT_OFFSET, port + TLS_PORT_OFFSET]);
        // Stops at the first port held or in use; the leases taken so far drop.
        let leases: Option<Vec<PortLease>> = wanted
            .map(|port| ports::lease(port).filter(|_| ports::bindable(port)))
            .collect();
        if let Some(leases) = leases {
            return Ok((base, leases));
        }
    }
    Err(Error::PortInUse {
        port: PORT_RANGE.start,
        waited: Duration::ZERO,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_shared_evenly_and_completely() {
        assert_eq!(planned_slots(0, 3), (0, 5460));
        assert_eq!(planned_slots(1, 3), (5461, 10922));
        assert_eq!(planned_slots(2, 3), (10923, 16383));
        assert_eq!(planned_slots(0, 1), (0, 16383));
        for n in 1..=10 {
            let mut next = 0;
            for p in 0..n {
                let (first, last) = planned_slots(p, n);
                assert_eq!(first, next, "{n} primaries");
                assert!(last >= first);
                next = last + 1;
            }
            assert_eq!(next, SLOTS);
        }
    }

    #[test]
    fn port_ranges_stay_below_the_ephemeral_ports() {
        for _ in 0..50 {
            let base = free_port_range(6).map_or(PORT_RANGE.start, |(base, _)| base);
            assert!(PORT_RANGE.contains(&base));
            assert!(base + 6 + BUS_PORT_OFFSET <= 32_768);
        }
    }
}
