//! The client's own writes: their keys' entries go as soon as the write is
//! queued, not when the server's invalidation comes.
//!
//! The server sends the invalidation of a client's own write after the write's
//! reply (Redis 7 defers it until the command is done), possibly in a later
//! read: without this, a cached read right after `set(k)` returned could still
//! find the old value (redis#9422). Dropping the entries once the write is queued
//! is enough on one connection: a fill registered before is made stale, and one
//! registered after is queued after the write, so it reads the new value.
//!
//! Every path a write can take does it:
//!
//! - a [`crate::Request`] on one connection, a batch's chunk and a transaction
//!   ([`OwnWrite`], one per command or one per group), once queued;
//! - a write through the cluster layer ([`track_cluster_write`]) once queued, and
//!   again on the owner when it completes: it may have been redirected, and
//!   then ran on another connection than the one it was queued on;
//! - a write on another connection of the client's (a dedicated connection,
//!   [`Caches`]), and one sent for a replica that went to the primary: once
//!   sent, and again when its reply is in. The server tells the shared
//!   connection of it when it runs, but that push can come after the reply on the
//!   other connection, and a fill queued on the shared connection after the first
//!   drop may still have run before the write: the drop at completion is what
//!   makes the guarantee there.
//!
//! It costs a client without a cache one look at an unset `OnceLock` per command
//! (per batch, per transaction, per dedicated command: one branch on a `None`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use redmux_resp::Value;

use super::{Cache, commands::written_keys, shared_cache};
use crate::command::Command;
use crate::error::Result;
use crate::keys::hash_slot;
use crate::mux::Shared;
use crate::router::{Cluster, Router};

type BoxedReply = Pin<Box<dyn Future<Output = Result<Value>> + Send>>;

/// What a command (or a group of commands) of the client's own changes in one
/// connection's cache.
#[derive(Debug)]
pub(crate) struct OwnWrite {
    cache: Arc<Cache>,
    /// `None`: not known, so everything.
    keys: Option<Vec<Vec<u8>>>,
}

impl OwnWrite {
    /// For a command about to be queued on `node`: `None` when the node has no
    /// cache or the command writes no key.
    #[inline]
    pub(crate) fn of(node: &Shared, command: &Command) -> Option<OwnWrite> {
        node.tracking()?;
        Self::of_cached(node, command)
    }

    #[cold]
    #[inline(never)]
    fn of_cached(node: &Shared, command: &Command) -> Option<OwnWrite> {
        let cache = shared_cache(node)?;
        let keys = written_keys(command);
        if keys.as_ref().is_some_and(Vec::is_empty) {
            return None;
        }
        Some(OwnWrite { cache, keys })
    }

    /// For a group of commands about to be queued together on `node` (a batch's
    /// chunk, a transaction): `None` when the node has no cache; else one to
    /// [`add`](Self::add) each command to.
    #[inline]
    pub(crate) fn group(node: &Shared) -> Option<OwnWrite> {
        node.tracking()?;
        Self::empty(node)
    }

    #[cold]
    #[inline(never)]
    fn empty(node: &Shared) -> Option<OwnWrite> {
        Some(OwnWrite {
            cache: shared_cache(node)?,
            keys: Some(Vec::new()),
        })
    }

    /// Adds what `command` writes.
    pub(crate) fn add(&mut self, command: &Command) {
        if let Some(keys) = &mut self.keys {
            match written_keys(command) {
                Some(more) => keys.extend(more),
                None => self.keys = None,
            }
        }
    }

    /// Drops the entries (and makes the fills in flight stale): call once the
    /// write is queued.
    pub(crate) fn apply(&self) {
        match &self.keys {
            Some(keys) => {
                for key in keys {
                    self.cache.store.invalidate(key);
                }
            }
            None => self.cache.store.flush(),
        }
    }
}

/// What a command of the client's own changes on a cluster with caches.
#[derive(Debug, Clone)]
pub(crate) struct ClusterWrite {
    cluster: Arc<Cluster>,
    keys: Option<Vec<Vec<u8>>>,
}

/// For a command about to go through the cluster layer: `None` when the client
/// has no cache or the command writes no key.
pub(crate) fn track_cluster_write(
    cluster: &Arc<Cluster>,
    command: &Command,
) -> Option<ClusterWrite> {
    cluster.seed().config().client_cache.as_ref()?;
    let keys = written_keys(command);
    if keys.as_ref().is_some_and(Vec::is_empty) {
        return None;
    }
    Some(ClusterWrite {
        cluster: cluster.clone(),
        keys,
    })
}

impl ClusterWrite {
    /// Drops the keys' entries in the cache of each key's owner now.
    fn apply(&self) {
        match &self.keys {
            Some(keys) => {
                for key in keys {
                    let owner = self.cluster.node_for(Some(hash_slot(key)));
                    if let Some(cache) = owner.as_deref().and_then(shared_cache) {
                        cache.store.invalidate(key);
                    }
                }
            }
            None => {
                for (_, node) in self.cluster.nodes() {
                    if let Some(cache) = shared_cache(&node) {
                        cache.store.flush();
                    }
                }
            }
        }
    }

    /// `call` (the command's trip, not yet polled), dropping the entries once it
    /// is queued (its first poll) and again when it completes.
    pub(crate) fn wrap(self, call: BoxedReply) -> BoxedReply {
        Write::Cluster(self).wrap(call)
    }
}

/// A write whose entries are dropped twice: once it is sent, and when it is
/// answered (see the module's doc).
#[derive(Debug)]
pub(crate) enum Write {
    /// The keys are cached on this one connection.
    Node(OwnWrite),
    /// Each key is cached on its slot's owner.
    Cluster(ClusterWrite),
}

impl Write {
    /// Drops the entries now.
    pub(crate) fn apply(&self) {
        match self {
            Write::Node(write) => write.apply(),
            Write::Cluster(write) => write.apply(),
        }
    }

    /// `call` (the command's trip, not yet polled), dropping the entries on its
    /// first poll (which queues it) and again when it completes.
    pub(crate) fn wrap(self, call: BoxedReply) -> BoxedReply {
        Box::pin(Tracked {
            call,
            write: self,
            queued: false,
        })
    }
}

/// The client's caches, as seen from a connection that has none of its own (a
/// dedicated connection): where a write sent there must drop its keys.
#[derive(Debug, Clone)]
pub(crate) enum Caches {
    /// A standalone server's, or sentinel's primary's, one shared connection.
    Node(Arc<Shared>),
    /// A cluster's: each key's owner.
    Cluster(Arc<Cluster>),
}

impl Caches {
    /// The client's caches: `None` when it has none.
    pub(crate) fn of(router: &Router) -> Option<Caches> {
        let node = router.any_node();
        node.config().client_cache.as_ref()?;
        Some(match router.as_cluster() {
            Some(cluster) => Caches::Cluster(cluster.clone()),
            None => Caches::Node(node.clone()),
        })
    }

    /// What `command` would change in them: `None` when it writes no key.
    pub(crate) fn write(&self, command: &Command) -> Option<Write> {
        match self {
            Caches::Node(node) => OwnWrite::of(node, command).map(Write::Node),
            Caches::Cluster(cluster) => track_cluster_write(cluster, command).map(Write::Cluster),
        }
    }
}

struct Tracked {
    call: BoxedReply,
    write: Write,
    queued: bool,
}

impl Future for Tracked {
    type Output = Result<Value>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Value>> {
        let this = &mut *self;
        let polled = this.call.as_mut().poll(cx);
        if !this.queued || polled.is_ready() {
            this.queued = true;
            this.write.apply();
        }
        polled
    }
}
