//! Waiting until the cluster has settled: every live node sees the same map, every
//! node the kit killed is marked failed, every live replica is in sync, and every node
//! says `cluster_state:ok` when the live primaries cover every slot.

use std::thread;
use std::time::{Duration, Instant};

use super::RedisCluster;
use super::topology::{self, Role, Topology, View};
use crate::Error;

/// How often the nodes are asked. Each look costs a few commands per node on open
/// connections; 10 ms keeps the measured times close to the real ones.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// How long a helper waits for agreement. A failover settles in well under a second
/// and a kill in about two; the rest is margin for a loaded machine.
pub(crate) const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a helper expects of the agreed map, beyond agreement itself.
pub(crate) type Expectation<'a> = &'a dyn Fn(&Topology) -> Result<(), String>;

impl RedisCluster {
    /// Waits, without any expectation of its own, until every live node agrees (see
    /// the module doc), and returns how long that took. For a test that disturbed its
    /// own cluster some other way, or wants to be sure it is quiet before it starts.
    ///
    /// # Errors
    ///
    /// [`Error::ClusterNotSettled`] after 30 s, naming what was still wrong.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// cluster.wait_until_settled()?;
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn wait_until_settled(&self) -> Result<Duration, Error> {
        self.settle("waiting", Instant::now(), &|_| Ok(()))
    }

    /// Polls until [`check`](Self::check) passes, stores the agreed map, and returns
    /// the time since `since`.
    pub(crate) fn settle(
        &self,
        what: &str,
        since: Instant,
        expect: Expectation<'_>,
    ) -> Result<Duration, Error> {
        loop {
            match self.check(expect) {
                Ok(topology) => {
                    let took = since.elapsed();
                    *self.topology() = topology;
                    return Ok(took);
                }
                Err(state) if since.elapsed() > SETTLE_TIMEOUT => {
                    return Err(Error::ClusterNotSettled {
                        what: what.to_owned(),
                        waited: since.elapsed(),
                        state,
                    });
                }
                Err(_) => thread::sleep(POLL_INTERVAL),
            }
        }
    }

    /// One look at every node; `Err` says the first thing found wrong.
    fn check(&self, expect: Expectation<'_>) -> Result<Topology, String> {
        let ids: Vec<&str> = self.nodes.iter().map(|node| node.id.as_str()).collect();
        let live: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].is_running())
            .collect();
        let Some(&first) = live.first() else {
            return Err("no node is running".to_owned());
        };
        let reference = self.view_of(first)?;
        for &i in &live[1..] {
            let view = self.view_of(i)?;
            if view != reference {
                let diff = topology::difference(&reference, &view);
                return Err(format!("node {first} and node {i} disagree on {diff}"));
            }
        }
        let topology = Topology::from_view(&reference, &ids)?;
        for (i, node) in topology.nodes.iter().enumerate() {
            let running = live.contains(&i);
            if node.failed == running {
                let what = if running { "failed" } else { "not failed" };
                return Err(format!("node {i} is {what} in the map"));
            }
        }
        for &i in &live {
            let state = &topology.nodes[i];
            let primary_alive = state.primary.is_some_and(|p| live.contains(&p));
            if state.role == Role::Replica && primary_alive {
                let link = self.info_field(i, "replication", "master_link_status")?;
                if link != "up" {
                    return Err(format!("replica {i} has master_link_status:{link}"));
                }
            }
        }
        if topology.covered_by_live_nodes() {
            for &i in &live {
                let state = self.info_field(i, "cluster", "cluster_state")?;
                if state != "ok" {
                    return Err(format!("node {i} has cluster_state:{state}"));
                }
            }
        }
        expect(&topology).map_err(|unmet| format!("{unmet}; the map:{}", topology.describe()))?;
        Ok(topology)
    }

    /// Node `i`'s `CLUSTER NODES`, parsed.
    fn view_of(&self, i: usize) -> Result<View, String> {
        let reply = self.nodes[i]
            .call(&["CLUSTER", "NODES"])
            .map_err(|e| format!("node {i}: {e}"))?;
        let text = reply
            .as_str()
            .ok_or_else(|| format!("node {i} answered CLUSTER NODES with {reply}"))?;
        topology::parse_nodes(text).map_err(|e| format!("node {i}: {e}"))
    }

    /// One `field:value` line of `INFO section` (`CLUSTER INFO` for "cluster"), as
    /// the node says it now.
    pub(crate) fn info_field(
        &self,
        i: usize,
        section: &str,
        field: &str,
    ) -> Result<String, String> {
        let command: &[&str] = match section {
            "cluster" => &["CLUSTER", "INFO"],
            _ => &["INFO", section],
        };
        let reply = self.nodes[i]
            .call(command)
            .map_err(|e| format!("node {i}: {e}"))?;
        let text = reply.as_str().unwrap_or_default();
        text.lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .map(|value| value.trim().to_owned())
            .ok_or_else(|| format!("node {i} has no {field} in {}", command.join(" ")))
    }

    /// The role node `i` gives itself right now (`INFO replication`), which changes
    /// before the other nodes hear of it.
    pub(crate) fn own_role(&self, i: usize) -> Option<Role> {
        match self.info_field(i, "replication", "role").ok()?.as_str() {
            "master" => Some(Role::Primary),
            "slave" => Some(Role::Replica),
            _ => None,
        }
    }
}
