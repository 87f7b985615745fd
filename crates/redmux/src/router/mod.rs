//! The router: which multiplexer a command goes to.
//!
//! A standalone server is a router with one node; a cluster (`cluster/`) has a
//! slot map and one multiplexer per node.
//!
//! Only the router will read MOVED and ASK, and only it picks a node: the client
//! API above it hands it whole commands, the multiplexers below it know no slots.
//! A cluster router (one multiplexer per primary, a slot map) plugs in as another
//! variant of [`Router`]: a command's slot comes from the keys it marked as it was
//! built ([`crate::Command::key`]) or, for a raw [`crate::cmd`], from the server's
//! key specifications, computed once before queueing.

use std::sync::Arc;

use redmux_resp::Value;

use crate::Flags;
use crate::command::{Command, KeySlot};
use crate::keys::KeySpecs;
use crate::mux::Shared;

mod cluster;
mod replica_pool;
mod sentinel;

pub(crate) use cluster::send as send_clustered;
pub(crate) use cluster::to_node;
pub(crate) use cluster::{BlockRetry, Cluster, MapSeen};
pub(crate) use cluster::{ReadFrom, is_refusal, is_resumable, resume, to_slot};
pub(crate) use sentinel::SentinelReplicas;

/// Picks the multiplexer for each command.
#[derive(Debug)]
pub(crate) struct Router {
    nodes: Nodes,
    /// Where raw commands' keys are: the server's own `COMMAND INFO`, fetched
    /// the first time it is needed, or the built-in table if the server refuses.
    specs: tokio::sync::OnceCell<KeySpecs>,
}

/// The multiplexers a router picks from.
#[derive(Debug)]
enum Nodes {
    /// One server: every command goes to its one multiplexer.
    Standalone(Arc<Shared>),
    /// A primary found through sentinel: as `Standalone`, and reads flagged for
    /// a replica go to the replicas the sentinels list.
    Sentinel(Arc<Shared>, Arc<SentinelReplicas>),
    /// A cluster: a slot map and one multiplexer per node.
    Cluster(Arc<Cluster>),
}

/// Where one command goes.
pub(crate) enum Route<'a> {
    /// Straight to this multiplexer.
    Node(&'a Arc<Shared>),
    /// Through the cluster layer, which picks the node by slot and follows
    /// redirects.
    Cluster(&'a Arc<Cluster>),
    /// A read flagged for a replica, on a primary found through sentinel: to a
    /// replica, or the primary (the first) when none is up.
    Replicas(&'a Arc<Shared>, &'a Arc<SentinelReplicas>),
}

impl Router {
    /// A router for one server.
    pub(crate) fn standalone(node: Arc<Shared>) -> Router {
        Router {
            nodes: Nodes::Standalone(node),
            specs: tokio::sync::OnceCell::new(),
        }
    }

    /// A router for a primary found through sentinel, with its replicas for
    /// flagged reads.
    pub(crate) fn sentinel(primary: Arc<Shared>, replicas: SentinelReplicas) -> Router {
        Router {
            nodes: Nodes::Sentinel(primary, Arc::new(replicas)),
            specs: tokio::sync::OnceCell::new(),
        }
    }

    /// A router for a cluster.
    pub(crate) fn cluster(cluster: Arc<Cluster>) -> Router {
        Router {
            nodes: Nodes::Cluster(cluster),
            specs: tokio::sync::OnceCell::new(),
        }
    }

    /// Where a command goes. A standalone server has one multiplexer; on a
    /// cluster the cluster layer reads the command's slot; through sentinel, a
    /// read flagged for a replica goes to the replicas.
    #[inline]
    pub(crate) fn route(&self, command: &Command, flags: Flags) -> Route<'_> {
        match &self.nodes {
            Nodes::Standalone(node) => Route::Node(node),
            Nodes::Cluster(cluster) => Route::Cluster(cluster),
            Nodes::Sentinel(primary, replicas) => match ReadFrom::of(flags) {
                ReadFrom::Primary => Route::Node(primary),
                // A write under PREFER goes to the primary as any write does (and
                // so through the client-side cache's own-write drop).
                ReadFrom::PreferReplica if !replicas.serves(command) => Route::Node(primary),
                _ => Route::Replicas(primary, replicas),
            },
        }
    }

    /// The multiplexer for what goes to no node in particular: the one server, or
    /// a cluster's seed node (its configuration is the client's).
    #[inline]
    pub(crate) fn any_node(&self) -> &Arc<Shared> {
        match &self.nodes {
            Nodes::Standalone(node) | Nodes::Sentinel(node, _) => node,
            Nodes::Cluster(cluster) => cluster.seed(),
        }
    }

    /// The cluster layer, on a cluster.
    pub(crate) fn as_cluster(&self) -> Option<&Arc<Cluster>> {
        match &self.nodes {
            Nodes::Standalone(_) | Nodes::Sentinel(..) => None,
            Nodes::Cluster(cluster) => Some(cluster),
        }
    }

    /// The address of the node that owns `slot` (a cluster's), for a dedicated
    /// connection to it.
    pub(crate) fn addr_of_slot(&self, slot: u16) -> Option<crate::Addr> {
        let Nodes::Cluster(cluster) = &self.nodes else {
            return None;
        };
        let (addr, _, _) = cluster
            .primaries()
            .into_iter()
            .find(|(_, _, ranges)| ranges.iter().any(|(a, b)| (*a..=*b).contains(&slot)))?;
        let (host, port) = addr.rsplit_once(':')?;
        Some(crate::Addr::Tcp {
            host: host.to_string(),
            port: port.parse().ok()?,
        })
    }

    /// Bumped whenever a refresh changes the cluster's map; never on a
    /// standalone server.
    pub(crate) fn watch_topology(&self) -> tokio::sync::watch::Receiver<u64> {
        match &self.nodes {
            Nodes::Cluster(cluster) => cluster.watch_changes(),
            Nodes::Standalone(_) | Nodes::Sentinel(..) => tokio::sync::watch::channel(0).1,
        }
    }

    /// The primaries a keyspace-wide SCAN must visit, by address: none on a
    /// standalone server (its one node is the default).
    pub(crate) fn scan_nodes(&self) -> Vec<String> {
        match &self.nodes {
            Nodes::Standalone(_) | Nodes::Sentinel(..) => Vec::new(),
            Nodes::Cluster(cluster) => cluster.primaries().into_iter().map(|(a, _, _)| a).collect(),
        }
    }

    /// Sends `command` to the node at `addr` (`host:port`), once, its reply as it
    /// comes: for a SCAN page of one primary.
    pub(crate) fn send_to_node(
        &self,
        addr: &str,
        command: Command,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = crate::Result<Value>> + Send>> {
        let node = match &self.nodes {
            Nodes::Cluster(cluster) => cluster
                .nodes()
                .into_iter()
                .find(|(a, _)| a == addr)
                .map(|(_, n)| n),
            Nodes::Standalone(node) => Some(node.clone()),
            Nodes::Sentinel(node, replicas) => replicas
                .nodes()
                .into_iter()
                .find(|(a, _)| a == addr)
                .map(|(_, n)| n)
                .or_else(|| Some(node.clone())),
        };
        let timeout = self.any_node().config().command_timeout;
        match node {
            Some(node) => Box::pin(to_node(node, command, timeout)),
            None => {
                let addr = addr.to_string();
                Box::pin(async move {
                    Err(crate::Error::ConnectionLost {
                        status: crate::CommandStatus::NotSent,
                        reason: format!("cluster node {addr} is no longer known").into(),
                    })
                })
            }
        }
    }

    /// The client is closing: a node or replica connected from now on (a refresh,
    /// a redirect, a replica read still in flight) is closed at once instead of
    /// running on with no owner. Call before taking [`Router::nodes`] to close them.
    pub(crate) fn mark_closed(&self) {
        match &self.nodes {
            Nodes::Standalone(_) => {}
            Nodes::Sentinel(_, replicas) => replicas.mark_closed(),
            Nodes::Cluster(cluster) => cluster.mark_closed(),
        }
    }

    /// Every multiplexer, with its node's address, for closing and per-node stats.
    pub(crate) fn nodes(&self) -> Vec<(String, Arc<Shared>)> {
        match &self.nodes {
            Nodes::Standalone(node) => vec![(node.config().addr.to_string(), node.clone())],
            Nodes::Sentinel(node, replicas) => {
                let mut nodes = vec![(node.config().addr.to_string(), node.clone())];
                nodes.extend(replicas.nodes());
                nodes
            }
            Nodes::Cluster(cluster) => cluster.nodes(),
        }
    }

    /// The slot a command goes to: its marked keys, else its keys as the server's
    /// key specifications find them. `command_info` asks the server for them
    /// (`COMMAND INFO`); it runs once per router, on first use.
    pub(crate) async fn slot_of<F>(&self, command: &Command, command_info: F) -> KeySlot
    where
        F: Future<Output = Option<Value>>,
    {
        if command.key_count() > 0 {
            return command.slot();
        }
        if let Nodes::Cluster(cluster) = &self.nodes {
            return command.slot_with(&cluster.specs);
        }
        let specs = self
            .specs
            .get_or_init(|| async {
                match command_info
                    .await
                    .as_ref()
                    .and_then(KeySpecs::from_command_info)
                {
                    Some(specs) => specs,
                    None => {
                        tracing::debug!(
                            "COMMAND INFO unavailable; using the built-in key specifications"
                        );
                        KeySpecs::builtin()
                    }
                }
            })
            .await;
        command.slot_with(specs)
    }
}
