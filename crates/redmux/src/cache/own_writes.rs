//! The client's own writes: their keys' entries go as soon as the write is
//! queued, not when the server's invalidation comes.
//!
//! The server sends the invalidation of a client's own write after the write's
//! reply (Redis 7 defers it until the command is done), possibly in a later
//! read: without this, a cached read right after `set(k)` returned could still
//! find the old value (redis#9422). Dropping the entries once the write is queued
//! is enough on one connection: a fill registered before is made stale, and one
//! registered after is queued after the write, so it reads the new value. On a
//! cluster a write may be redirected to another node, so its keys' entries are
//! dropped again, on the owner then, when it completes.
//!
//! It costs a client without a cache one look at an unset `OnceLock` per command.

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
use crate::router::Cluster;

type BoxedReply = Pin<Box<dyn Future<Output = Result<Value>> + Send>>;

/// What a command of the client's own changes in its connection's cache.
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

    /// Drops the entries (and makes the fills in flight stale): call once the
    /// write is queued.
    pub(crate) fn apply(self) {
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
        Box::pin(Tracked {
            call,
            write: self,
            queued: false,
        })
    }
}

struct Tracked {
    call: BoxedReply,
    write: ClusterWrite,
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
