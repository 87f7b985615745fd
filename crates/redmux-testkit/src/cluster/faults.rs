//! Faults on purpose: a manual failover, `kill -9` of a node, and its restart. Each
//! helper returns once every live node agrees on the outcome, with the times measured.

use std::thread;
use std::time::{Duration, Instant};

use super::RedisCluster;
use super::node::expect_ok;
use super::settle::SETTLE_TIMEOUT;
use super::topology::{Role, Topology};
use crate::Error;

/// How often a replica is asked whether it has taken over.
const ROLE_POLL: Duration = Duration::from_millis(5);

/// What a fault helper measured.
///
/// # Example
///
/// ```no_run
/// let cluster = redmux_testkit::RedisCluster::start()?;
/// let settled = cluster.kill(0)?;
/// let promoted = settled.promoted_after.expect("node 0 had a replica");
/// println!("replica took over after {promoted:?}, all agreed after {:?}", settled.agreed_after);
/// let new_primary_at = settled.started_at + promoted;
/// # Ok::<(), redmux_testkit::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// When the fault was caused: the `CLUSTER FAILOVER` sent, the process killed, the
    /// restart begun.
    pub started_at: Instant,
    /// When the node taking over first called itself a primary (`INFO replication`),
    /// for a failover or the kill of a primary that had a replica.
    pub promoted_after: Option<Duration>,
    /// When every live node agreed on the new map (see
    /// [`wait_until_settled`](RedisCluster::wait_until_settled)).
    pub agreed_after: Duration,
    /// The node that now owns the slots, for a failover or the kill of a primary that
    /// had a replica.
    pub new_primary: Option<usize>,
}

impl RedisCluster {
    /// `CLUSTER FAILOVER` on `replica`: it and its primary swap roles, without data
    /// loss. Returns once every node agrees that `replica` owns the slots and the old
    /// primary replicates from it.
    ///
    /// # Errors
    ///
    /// [`Error::ClusterUsage`] on the shared cluster, for a bad index or a node that is
    /// not a live replica of a live primary; [`Error::Refused`] if the replica refuses;
    /// [`Error::ClusterNotSettled`] if the swap does not complete in 30 s.
    ///
    /// ```no_run
    /// use redmux_testkit::{RedisCluster, Role};
    /// let cluster = RedisCluster::start()?;
    /// let settled = cluster.failover(3)?;
    /// assert_eq!(cluster.role(3), Role::Primary);
    /// assert_eq!(cluster.primary_of(0), Some(3));
    /// assert_eq!(settled.new_primary, Some(3));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn failover(&self, replica: usize) -> Result<Settled, Error> {
        self.refuse_if_shared("failover")?;
        let node = self.checked_node(replica)?;
        let old_primary = self.primary_of(replica).filter(|_| node.is_running());
        let Some(old_primary) = old_primary.filter(|&p| self.nodes[p].is_running()) else {
            return Err(usage(format!(
                "node {replica} is not a live replica of a live primary: \
                 CLUSTER FAILOVER needs one"
            )));
        };
        let started_at = Instant::now();
        expect_ok(node, &["CLUSTER", "FAILOVER"])?;
        let promoted_after = self.wait_for_promotion(&[replica], started_at)?;
        let expect = move |topology: &Topology| {
            let (new, old) = (&topology.nodes[replica], &topology.nodes[old_primary]);
            match new.role == Role::Primary && old.primary == Some(replica) {
                true => Ok(()),
                false => Err(format!(
                    "node {replica} has not replaced node {old_primary}"
                )),
            }
        };
        let what = format!("a failover of node {replica}");
        let agreed_after = self.settle(&what, started_at, &expect)?;
        Ok(Settled {
            started_at,
            promoted_after: Some(promoted_after),
            agreed_after,
            new_primary: Some(replica),
        })
    }

    /// Kills node `node` with SIGKILL, like a crash, and returns once every live node
    /// marks it failed and, for a primary with a replica, a replica has taken over its
    /// slots and everyone agrees. With `node_timeout` 500 ms that takes about 2 s.
    ///
    /// A primary without a replica leaves its slots unserved: the call returns once
    /// every live node marks it failed, and they say `cluster_state:fail`.
    ///
    /// # Errors
    ///
    /// [`Error::ClusterUsage`] on the shared cluster, for a bad index or a node that is
    /// not running; [`Error::ClusterNotSettled`] if the cluster does not settle in 30 s.
    ///
    /// ```no_run
    /// use redmux_testkit::{RedisCluster, Role};
    /// let cluster = RedisCluster::start()?;
    /// let settled = cluster.kill(1)?;
    /// assert_eq!(settled.new_primary, Some(4));
    /// assert_eq!(cluster.slots(4), vec![5461..=10922]);
    /// assert!(!cluster.node(1).is_running());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn kill(&self, node: usize) -> Result<Settled, Error> {
        self.refuse_if_shared("kill")?;
        let target = self.checked_node(node)?;
        if !target.is_running() {
            return Err(usage(format!("node {node} is not running")));
        }
        let was_primary = self.role(node) == Role::Primary && !self.slots(node).is_empty();
        let heirs: Vec<usize> = match was_primary {
            true => self
                .replicas_of(node)
                .into_iter()
                .filter(|&r| self.nodes[r].is_running())
                .collect(),
            false => Vec::new(),
        };
        target.server.kill();
        target.forget_connection();
        let started_at = Instant::now();
        let promoted_after = match heirs.is_empty() {
            true => None,
            false => Some(self.wait_for_promotion(&heirs, started_at)?),
        };
        let heir_of = |topology: &Topology| {
            heirs
                .iter()
                .copied()
                .find(|&h| topology.nodes[h].role == Role::Primary)
        };
        let expect = |topology: &Topology| match heir_of(topology) {
            _ if heirs.is_empty() => Ok(()),
            Some(_) if topology.nodes[node].slots.is_empty() => Ok(()),
            _ => Err(format!("no replica has taken node {node}'s slots yet")),
        };
        let what = format!("killing node {node}");
        let agreed_after = self.settle(&what, started_at, &expect)?;
        let new_primary = heir_of(&self.topology());
        Ok(Settled {
            started_at,
            promoted_after,
            agreed_after,
            new_primary,
        })
    }

    /// Starts a killed node again, on its port and its old `nodes.conf`, and returns
    /// once it is back in the map and every node agrees. A primary whose slots were
    /// taken over comes back as a replica of the node that took them. Its data is not
    /// kept (persistence is off); a replica copies its primary's again.
    ///
    /// A running node is killed first.
    ///
    /// # Errors
    ///
    /// [`Error::ClusterUsage`] on the shared cluster or for a bad index; the start
    /// errors of [`RedisServer::restart`](crate::RedisServer::restart);
    /// [`Error::ClusterNotSettled`] if the cluster does not settle in 30 s.
    ///
    /// ```no_run
    /// use redmux_testkit::{RedisCluster, Role};
    /// let cluster = RedisCluster::start()?;
    /// cluster.kill(0)?;
    /// cluster.restart(0)?;
    /// assert_eq!(cluster.role(0), Role::Replica);
    /// assert_eq!(cluster.primary_of(0), Some(3));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn restart(&self, node: usize) -> Result<Settled, Error> {
        self.refuse_if_shared("restart")?;
        let target = self.checked_node(node)?;
        target.forget_connection();
        let started_at = Instant::now();
        target.server.restart()?;
        let expect = |_: &Topology| Ok(());
        let what = format!("restarting node {node}");
        let agreed_after = self.settle(&what, started_at, &expect)?;
        Ok(Settled {
            started_at,
            promoted_after: None,
            agreed_after,
            new_primary: None,
        })
    }

    /// Waits until one of `candidates` calls itself a primary; returns when.
    fn wait_for_promotion(&self, candidates: &[usize], since: Instant) -> Result<Duration, Error> {
        loop {
            if candidates
                .iter()
                .any(|&c| self.own_role(c) == Some(Role::Primary))
            {
                return Ok(since.elapsed());
            }
            if since.elapsed() > SETTLE_TIMEOUT {
                return Err(Error::ClusterNotSettled {
                    what: format!("waiting for one of nodes {candidates:?} to take over"),
                    waited: since.elapsed(),
                    state: "none of them calls itself a primary".to_owned(),
                });
            }
            thread::sleep(ROLE_POLL);
        }
    }
}

fn usage(message: String) -> Error {
    Error::ClusterUsage { message }
}
