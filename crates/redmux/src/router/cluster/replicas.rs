//! Replica reads: a command flagged [`Flags::PREFER_REPLICA`] or
//! [`Flags::DEMAND_REPLICA`] goes to one of its slot's replicas, round-robin over
//! those whose connection is up.
//!
//! - Only read-only commands (the server's `readonly` flag, see
//!   [`crate::keys::KeySpecs::is_read_only`]) go to a replica. Anything else goes to
//!   the primary under `PREFER_REPLICA` and is refused under `DEMAND_REPLICA`, as
//!   StackExchange.Redis does: a demand the client cannot meet is an error, never a
//!   silent write on the primary.
//! - Replica connections are made **lazily**: none until the first flagged command,
//!   which connects every replica `CLUSTER SLOTS` names (in parallel); from then on
//!   each refresh connects the replicas it finds new. A client that never asks for
//!   a replica opens no connection to one.
//! - Each replica connection sends `READONLY` in its handshake (again after every
//!   reconnect); it is a multiplexer of its own, apart from the one a promoted
//!   replica gets as a primary, so a read meant for a primary never lands on a
//!   replica that would answer it, stale, instead of redirecting.
//! - A replica is dropped from the map when a refresh no longer lists it (a node
//!   that failed is not listed); its multiplexer is kept, as a primary's is, in
//!   case it comes back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::time::Instant;

use super::Cluster;
use super::topology::NodeAddr;
use crate::command::Command;
use crate::error::Error;
use crate::mux::{self, Shared};
use crate::request::Flags;
use crate::router::replica_pool::ReplicaPool;

/// Where a command may be read from, from its [`Flags`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadFrom {
    /// The slot's primary (the default, and every write).
    Primary,
    /// A replica that is up, else the primary.
    PreferReplica,
    /// A replica that is up, else [`Error::NoReplica`].
    DemandReplica,
}

impl ReadFrom {
    /// Where `command`, flagged `flags`, may be read from: a replica only if it
    /// only reads (`read_only`, asked only under a replica flag). Anything else
    /// goes to the primary under `PREFER_REPLICA` and is refused under
    /// `DEMAND_REPLICA`. Clusters and sentinel alike.
    pub(crate) fn for_command(
        flags: Flags,
        command: &Command,
        read_only: impl FnOnce() -> bool,
    ) -> Result<ReadFrom, Error> {
        let read = ReadFrom::of(flags);
        if read == ReadFrom::Primary || read_only() {
            return Ok(read);
        }
        match read {
            ReadFrom::DemandReplica => Err(Error::NoReplica {
                command: command.name().to_ascii_uppercase(),
                reason: "it is not a read-only command, and replicas serve only reads".into(),
            }),
            _ => Ok(ReadFrom::Primary),
        }
    }

    /// The choice `flags` make (`DEMAND_REPLICA` wins over `PREFER_REPLICA`).
    pub(crate) fn of(flags: Flags) -> ReadFrom {
        if flags.contains(Flags::DEMAND_REPLICA) {
            ReadFrom::DemandReplica
        } else if flags.contains(Flags::PREFER_REPLICA) {
            ReadFrom::PreferReplica
        } else {
            ReadFrom::Primary
        }
    }
}

/// The zones a replica read looks in, in turn: the client's own first (when
/// `Config::availability_zone` names one), then any.
pub(crate) fn zones(own: Option<&str>) -> impl Iterator<Item = Option<&str>> {
    own.map(Some).into_iter().chain(std::iter::once(None))
}

/// One replica in the map: its address, and its multiplexer once connected.
#[derive(Debug, Clone)]
pub(super) struct Replica {
    pub(super) addr: NodeAddr,
    pub(super) node: Option<Arc<Shared>>,
}

/// The least time between two refreshes asked for because a replica read found
/// its primary with no replica listed: a cluster without replicas must not be
/// asked for its map on every such read.
const NO_REPLICA_REFRESH: Duration = Duration::from_secs(1);

/// The replica connections, by address, and the round-robin counter.
#[derive(Debug, Default)]
pub(super) struct Replicas {
    /// Shared with the tasks that connect replicas in the background.
    pool: Arc<ReplicaPool<NodeAddr>>,
    /// Set by the first flagged command: says when the first connections are done.
    wanted: tokio::sync::OnceCell<watch::Receiver<bool>>,
    next: AtomicUsize,
    /// When a read last asked for a refresh because it found no replica listed.
    asked_for_map: Mutex<Option<Instant>>,
}

impl Replicas {
    /// Whether replica reads were asked for, so refreshes connect new replicas.
    pub(super) fn wanted(&self) -> bool {
        self.wanted.initialized()
    }

    /// The connected replica at `addr`, if any.
    pub(super) fn get(&self, addr: &NodeAddr) -> Option<Arc<Shared>> {
        self.pool.get(addr)
    }

    /// Every replica connection, with its address, for closing and stats.
    pub(super) fn all(&self) -> Vec<(NodeAddr, Arc<Shared>)> {
        self.pool.all()
    }

    /// The client is closing: no replica connected from now on is kept.
    pub(super) fn mark_closed(&self) {
        self.pool.mark_closed();
    }
}

impl Cluster {
    /// Where a command flagged `flags` may be read from: the primary for a
    /// command that is not read-only under `PREFER_REPLICA`; an error for one
    /// under `DEMAND_REPLICA`.
    pub(super) fn read_from(&self, flags: Flags, command: &Command) -> Result<ReadFrom, Error> {
        ReadFrom::for_command(flags, command, || {
            command
                .words()
                .is_some_and(|words| self.specs.is_read_only(&words))
        })
    }

    /// Connects the map's replicas the first time a command asks for one, in the
    /// background, and waits for that no later than `until`: past it the command
    /// goes on with what is connected (its primary, under `PREFER`). The
    /// connecting is not the caller's: a caller that gives up (or one replica that
    /// never answers) leaves it running for the others, and later commands wait
    /// for it only within their own deadline.
    pub(super) async fn want_replicas(&self, until: Instant) {
        let done = self
            .replicas
            .wanted
            .get_or_init(|| async {
                // The map may be as old as the discovery, which can predate the
                // replicas (a server lists a replica only once it has synced).
                let generation = self.generation();
                self.request_refresh();
                self.refreshed_since(generation, until).await;
                let missing: Vec<NodeAddr> = {
                    let map = self.map.read();
                    map.replicas
                        .iter()
                        .flatten()
                        .filter(|r| r.node.is_none())
                        .map(|r| r.addr.clone())
                        .collect()
                };
                self.connect_replicas(missing)
            })
            .await;
        if !*done.borrow() {
            let mut done = done.clone();
            let _ = tokio::time::timeout_at(until, done.wait_for(|d| *d)).await;
        }
    }

    /// Connects (in parallel, in a task of its own) the replicas among `addrs` not
    /// connected yet; one that cannot be reached is left out until a later
    /// refresh. The receiver says when every attempt is over.
    pub(super) fn connect_replicas(&self, addrs: Vec<NodeAddr>) -> watch::Receiver<bool> {
        let (done, finished) = watch::channel(false);
        let mut connecting = tokio::task::JoinSet::new();
        for addr in addrs {
            if self.replicas.get(&addr).is_some() {
                continue;
            }
            let mut config = self.node_config(&addr);
            config.read_only = true;
            // Tracking and a client-side cache live on the primaries' connections.
            config.client_cache = None;
            connecting.spawn(async move { (addr, mux::start(config).await) });
        }
        let pool = self.replicas.pool.clone();
        // Detached: nothing that waits for it can cancel it, so no connection made
        // is dropped unclosed.
        tokio::spawn(async move {
            while let Some(outcome) = connecting.join_next().await {
                match outcome {
                    Ok((addr, Ok((node, _)))) => pool.keep(addr, node),
                    Ok((addr, Err(e))) => {
                        tracing::debug!(node = ?addr, error = %e, "cluster replica unreachable");
                    }
                    Err(e) => tracing::debug!(error = %e, "connecting a cluster replica failed"),
                }
            }
            let _ = done.send(true);
        });
        finished
    }

    /// The multiplexer a command for `slot` goes to (any primary's for a keyless
    /// command): the owner, or under a replica flag one of its replicas that is
    /// up, in turn. `Ok(None)` when the slot has no owner now; `Err` (why) when
    /// a replica was demanded and none is up.
    pub(super) fn pick(
        &self,
        slot: Option<u16>,
        read: ReadFrom,
    ) -> Result<Option<Arc<Shared>>, Arc<str>> {
        let map = self.map.read();
        let owner = match slot {
            Some(slot) => match map.owners.get(usize::from(slot)) {
                Some(&owner) => usize::from(owner),
                None => return Ok(None),
            },
            None => 0,
        };
        let Some((_, primary)) = map.primaries.get(owner) else {
            return Ok(None);
        };
        if read == ReadFrom::Primary {
            return Ok(Some(primary.clone()));
        }
        let replicas = map.replicas.get(owner).map(Vec::as_slice).unwrap_or(&[]);
        if replicas.is_empty() {
            self.ask_for_replicas();
        } else {
            let start = self.replicas.next.fetch_add(1, Relaxed);
            for zone in zones(self.config.availability_zone.as_deref()) {
                for i in 0..replicas.len() {
                    let replica = &replicas[(start + i) % replicas.len()];
                    // One connected since this map was made is in the pool.
                    let node = replica
                        .node
                        .clone()
                        .or_else(|| self.replicas.get(&replica.addr));
                    if let Some(node) = node
                        && node.serves_zone(zone)
                    {
                        return Ok(Some(node));
                    }
                }
            }
        }
        match read {
            ReadFrom::DemandReplica => Err(match (slot, replicas.len()) {
                (Some(slot), 0) => format!("the primary of slot {slot} has no replica").into(),
                (Some(slot), n) => {
                    format!("none of the {n} replicas of slot {slot}'s primary is up").into()
                }
                (None, _) => "no replica of the first primary is up".into(),
            }),
            _ => Ok(Some(primary.clone())),
        }
    }

    /// A replica read found its primary with no replica listed: the map is asked
    /// for again (at most once per `NO_REPLICA_REFRESH`), in case one was added.
    fn ask_for_replicas(&self) {
        let mut asked = self.replicas.asked_for_map.lock();
        if asked.is_none_or(|at| at.elapsed() >= NO_REPLICA_REFRESH) {
            *asked = Some(Instant::now());
            drop(asked);
            self.request_refresh();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demand_wins_over_prefer() {
        assert_eq!(ReadFrom::of(Flags::NONE), ReadFrom::Primary);
        assert_eq!(
            ReadFrom::of(Flags::FIRE_AND_FORGET),
            ReadFrom::Primary,
            "other flags leave reads on the primary"
        );
        assert_eq!(ReadFrom::of(Flags::PREFER_REPLICA), ReadFrom::PreferReplica);
        assert_eq!(
            ReadFrom::of(Flags::PREFER_REPLICA | Flags::DEMAND_REPLICA),
            ReadFrom::DemandReplica
        );
    }
}
