//! Client-side caching: hot reads served in-process, kept right by the server's
//! invalidations (RESP3 `CLIENT TRACKING`). `docs/client-cache.md` has the design
//! and the guarantees; each one is built here:
//!
//! | file | owns |
//! |---|---|
//! | `settings.rs` | [`ClientCache`] and [`TrackingMode`]: the bounds and the tracking mode, a field of [`crate::Config`] |
//! | `commands.rs` | which commands may be cached, which keys the client's own commands write, an encoded command's arguments |
//! | `store.rs` | one connection's entries, fills in flight, key index, CLOCK eviction, byte count (its tests in `store_tests.rs`) |
//! | `value.rs` | a reply's size as the bound counts it, and its copy out of the read buffer |
//! | `read.rs` | [`crate::Request::cached`] and [`CachedRequest`]: a hit, a miss that joins the fill in flight, or one that starts it |
//! | `fill.rs` | a miss's one read (`CLIENT CACHING YES`, the read, `PTTL` in one group) and what becomes of its reply |
//! | `own_writes.rs` | the client's own writes (requests, batches, transactions, scripts, dedicated connections) drop what they change as soon as they are queued |
//! | `stats.rs` | [`CacheStats`] and [`crate::Client::cache_stats`] |
//! | this file | [`Cache`]: one per shared connection, attached to its multiplexer; the invalidation pushes |
//!
//! The multiplexer knows nothing of this module: it hands push frames,
//! disconnects and lost slots to whatever [`crate::mux::Tracking`] is attached.

mod commands;
mod fill;
mod own_writes;
mod read;
mod settings;
mod stats;
mod store;
mod value;

use std::any::Any;
use std::sync::Arc;

use bytes::Bytes;
use redmux_resp::Value;

use crate::mux::{Shared, Tracking};
pub(crate) use own_writes::{Caches, OwnWrite, Write, track_cluster_write};
pub use read::CachedRequest;
pub use settings::{ClientCache, TrackingMode};
pub use stats::CacheStats;
use store::Store;

/// One shared connection's cache.
#[derive(Debug)]
pub(crate) struct Cache {
    settings: ClientCache,
    store: Store,
}

impl Cache {
    fn new(settings: ClientCache) -> Cache {
        Cache {
            store: Store::new(settings.max_bytes, settings.max_entries),
            settings,
        }
    }
}

/// Gives `node` a cache if the client is configured for one. Called wherever a
/// shared connection is started (a standalone server, each cluster node).
pub(crate) fn attach(node: &Arc<Shared>) {
    if let Some(settings) = &node.config().client_cache {
        node.attach_tracking(Arc::new(Cache::new(settings.clone())));
    }
}

/// The cache attached to `node`, if any.
#[inline]
pub(crate) fn of(node: &Shared) -> Option<&Cache> {
    let tracking: &dyn Any = node.tracking()?.as_ref();
    tracking.downcast_ref::<Cache>()
}

impl Tracking for Cache {
    /// `invalidate` pushes: `[invalidate, [key, ...]]`, or `[invalidate, nil]`
    /// when the server flushed its keys (FLUSHALL, FLUSHDB) or dropped its
    /// tracking table. Any other push is not ours.
    fn on_push(&self, items: Vec<Value>) {
        let mut items = items.into_iter();
        let is_invalidate = matches!(
            items.next(),
            Some(Value::BulkString(kind) | Value::SimpleString(kind))
                if kind.eq_ignore_ascii_case(b"invalidate")
        );
        if !is_invalidate {
            return;
        }
        match items.next() {
            Some(Value::Array(keys) | Value::Set(keys)) => {
                for key in keys {
                    if let Value::BulkString(key) | Value::SimpleString(key) = key {
                        self.store.invalidate(&key);
                    }
                }
            }
            Some(Value::Nil) => self.store.flush(),
            // Not an invalidation we can read: dropping everything is never wrong.
            _ => self.store.flush(),
        }
    }

    fn on_disconnect(&self) {
        self.store.flush();
    }

    fn on_slots_lost(&self) {
        self.store.flush();
    }
}

/// The cache attached to `node`, shared (a fill's task keeps it).
pub(crate) fn shared_cache(node: &Shared) -> Option<Arc<Cache>> {
    let tracking: Arc<dyn Any + Send + Sync> = node.tracking()?.clone();
    tracking.downcast::<Cache>().ok()
}

/// Bytes of a key, for the store.
fn key_bytes(key: &[u8]) -> Bytes {
    Bytes::copy_from_slice(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn cached(cache: &Cache, key: &str) {
        if let store::Lookup::Lead(f) = cache
            .store
            .lookup(key.as_bytes(), || key_bytes(key.as_bytes()))
        {
            let later = std::time::Instant::now() + std::time::Duration::from_secs(60);
            cache.store.fill(&f, Some((Value::Nil, later)));
        }
    }

    #[test]
    fn invalidation_pushes() {
        let cache = Cache::new(ClientCache::default());
        cached(&cache, "a");
        cached(&cache, "b");
        cache.on_push(vec![bulk("message"), bulk("a")]);
        assert_eq!(cache.store.stats().entries, 2);
        cache.on_push(vec![bulk("invalidate"), Value::Array(vec![bulk("a")])]);
        assert_eq!(cache.store.stats().entries, 1);
        cache.on_push(vec![bulk("invalidate"), Value::Nil]);
        assert_eq!(cache.store.stats().entries, 0);
        assert_eq!(cache.store.stats().flushes, 1);
    }
}
