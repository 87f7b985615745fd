//! [`Store`]: one connection's cached replies, the fills in flight, and the
//! bookkeeping that keeps them right: an index from each key to what depends on
//! it, a CLOCK sweep for eviction, and the byte count.
//!
//! Everything is behind one lock, held for a hash lookup or two: a hit, a fill,
//! an invalidation and a flush each see the others whole, which is what makes
//! "never stale" a matter of ordering (see `docs/client-cache.md`):
//!
//! - a fill is registered (its [`Flight`]) before its read is queued; an
//!   invalidation of its key, or a flush, marks it stale and unlinks it, and a
//!   stale fill stores nothing;
//! - a miss on a request already in flight joins that flight instead of reading
//!   again; one that comes after the flight was made stale starts its own.
//!
//! Why no crate: the map must be indexed by key as well as by request (an
//! invalidation names keys; one key has many cached requests), and the fills in
//! flight live beside the entries, so an LRU crate would hold only a third of it.
//! CLOCK (a second-chance bit per entry) approximates LRU without moving anything
//! on a hit.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use redmux_resp::Value;
use tokio::sync::watch;

use super::stats::CacheStats;
use super::value::size_of;
use crate::error::Result;

/// What an entry costs beyond its bytes: the map slots, the index, the clock.
const ENTRY_OVERHEAD: usize = 160;

/// One fill in flight: a read whose reply may become an entry.
#[derive(Debug)]
pub(crate) struct Flight {
    /// The encoded command: the entry's name.
    request: Bytes,
    /// The key it reads.
    key: Bytes,
    /// Set (under the store's lock) when the key changed, or the cache was
    /// flushed, after the flight began: its reply may be old, and is not kept.
    stale: AtomicBool,
    /// The outcome, once in: the leader's and every joiner's.
    outcome: watch::Sender<Option<Result<Value>>>,
}

impl Flight {
    /// The encoded command it reads.
    pub(crate) fn request(&self) -> &[u8] {
        &self.request
    }

    /// Whether the outcome is in.
    pub(crate) fn published(&self) -> bool {
        self.outcome.borrow().is_some()
    }

    /// Hands the outcome to everyone waiting.
    pub(crate) fn publish(&self, outcome: Result<Value>) {
        self.outcome.send_replace(Some(outcome));
    }

    /// Waits for the outcome.
    pub(crate) async fn outcome(&self) -> Result<Value> {
        let mut rx = self.outcome.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or_else(|| Err(gone())),
            Err(_) => Err(gone()),
        }
    }
}

fn gone() -> crate::Error {
    crate::Error::protocol("a cached read's fill ended without an outcome")
}

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// A fresh entry.
    Hit(Value),
    /// Another caller's read of the same request is in flight: wait for it.
    Join(Arc<Flight>),
    /// Nothing: this caller reads, and its flight is registered.
    Lead(Arc<Flight>),
}

#[derive(Debug)]
struct Entry {
    key: Bytes,
    value: Value,
    expires: Instant,
    size: usize,
    /// Tells this entry from an earlier one of the same request in the clock.
    id: u64,
    /// CLOCK's second chance: set by a hit, cleared by the sweep.
    referenced: bool,
}

/// What depends on one key.
#[derive(Debug, Default)]
struct KeyRefs {
    requests: Vec<Bytes>,
    flights: Vec<Arc<Flight>>,
}

/// The maps' hash: foldhash, seeded per process (see `Cargo.toml` for why).
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
struct Inner {
    entries: Map<Bytes, Entry>,
    keys: Map<Bytes, KeyRefs>,
    flights: Map<Bytes, Arc<Flight>>,
    /// Requests in insertion order with their entry's id; an id that no longer
    /// matches is a ghost, skipped (and compacted away when they pile up).
    clock: VecDeque<(Bytes, u64)>,
    next_id: u64,
    bytes: usize,
    stats: CacheStats,
}

/// One connection's cache.
#[derive(Debug)]
pub(crate) struct Store {
    inner: Mutex<Inner>,
    max_bytes: usize,
    max_entries: usize,
}

impl Store {
    pub(crate) fn new(max_bytes: usize, max_entries: usize) -> Store {
        Store {
            inner: Mutex::new(Inner::default()),
            max_bytes,
            max_entries,
        }
    }

    /// A fresh entry for `request`, if there is one: the hit path, which asks no
    /// more of the request (an entry exists only for a request that was checked
    /// when its fill began). A miss counts nothing here: [`Store::lookup`] follows.
    #[inline]
    pub(crate) fn hit(&self, request: &[u8]) -> Option<Value> {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        let entry = inner.entries.get_mut(request)?;
        if entry.expires <= now {
            return None;
        }
        entry.referenced = true;
        let value = entry.value.clone();
        inner.stats.hits += 1;
        Some(value)
    }

    /// Looks `request` up; on a miss with no flight, registers this caller's,
    /// reading `key` (given only then).
    pub(crate) fn lookup(&self, request: &[u8], key: impl FnOnce() -> Bytes) -> Lookup {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        if let Some(entry) = inner.entries.get_mut(request) {
            if entry.expires > now {
                entry.referenced = true;
                let value = entry.value.clone();
                inner.stats.hits += 1;
                return Lookup::Hit(value);
            }
            inner.remove(request);
            inner.stats.expirations += 1;
        }
        inner.stats.misses += 1;
        if let Some(flight) = inner.flights.get(request) {
            return Lookup::Join(flight.clone());
        }
        let request = Bytes::copy_from_slice(request);
        let flight = Arc::new(Flight {
            request: request.clone(),
            key: key(),
            stale: AtomicBool::new(false),
            outcome: watch::channel(None).0,
        });
        inner.flights.insert(request, flight.clone());
        inner
            .keys
            .entry(flight.key.clone())
            .or_default()
            .flights
            .push(flight.clone());
        Lookup::Lead(flight)
    }

    /// Ends a flight: its reply becomes an entry (`Some`, until `expires`) unless
    /// the flight went stale, or the entry could never fit. Returns whether it
    /// was kept.
    pub(crate) fn fill(&self, flight: &Arc<Flight>, reply: Option<(Value, Instant)>) -> bool {
        let mut inner = self.inner.lock();
        inner.unlink(flight);
        let Some((value, expires)) = reply else {
            return false;
        };
        if flight.stale.load(Relaxed) || expires <= Instant::now() {
            return false;
        }
        let size = ENTRY_OVERHEAD + flight.request.len() + flight.key.len() + size_of(&value);
        if size > self.max_bytes || self.max_entries == 0 {
            return false;
        }
        inner.remove(&flight.request);
        let id = inner.next_id;
        inner.next_id += 1;
        inner.entries.insert(
            flight.request.clone(),
            Entry {
                key: flight.key.clone(),
                value,
                expires,
                size,
                id,
                referenced: false,
            },
        );
        inner
            .keys
            .entry(flight.key.clone())
            .or_default()
            .requests
            .push(flight.request.clone());
        inner.clock.push_back((flight.request.clone(), id));
        inner.bytes += size;
        inner.evict(self.max_bytes, self.max_entries);
        true
    }

    /// The key changed: its entries go, its fills in flight go stale.
    pub(crate) fn invalidate(&self, key: &[u8]) {
        let mut inner = self.inner.lock();
        inner.stats.invalidations += 1;
        let Some(refs) = inner.keys.remove(key) else {
            return;
        };
        for request in &refs.requests {
            if let Some(entry) = inner.entries.remove(request) {
                inner.bytes -= entry.size;
            }
        }
        for flight in &refs.flights {
            flight.stale.store(true, Relaxed);
            if inner
                .flights
                .get(&flight.request)
                .is_some_and(|f| Arc::ptr_eq(f, flight))
            {
                inner.flights.remove(&flight.request);
            }
        }
        inner.compact();
    }

    /// Everything goes: entries, and fills in flight (stale).
    pub(crate) fn flush(&self) {
        let mut inner = self.inner.lock();
        for flight in inner.flights.values() {
            flight.stale.store(true, Relaxed);
        }
        // Flights already unlinked from `flights` but not yet ended are in `keys`.
        for refs in inner.keys.values() {
            for flight in &refs.flights {
                flight.stale.store(true, Relaxed);
            }
        }
        inner.entries = Map::default();
        inner.keys = Map::default();
        inner.flights = Map::default();
        inner.clock = VecDeque::new();
        inner.bytes = 0;
        inner.stats.flushes += 1;
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let inner = self.inner.lock();
        CacheStats {
            entries: inner.entries.len() as u64,
            bytes: inner.bytes as u64,
            ..inner.stats.clone()
        }
    }
}

impl Inner {
    /// Removes one entry and its place in the key index.
    fn remove(&mut self, request: &[u8]) {
        let Some(entry) = self.entries.remove(request) else {
            return;
        };
        self.bytes -= entry.size;
        if let Some(refs) = self.keys.get_mut(&entry.key) {
            refs.requests.retain(|r| r[..] != *request);
            if refs.requests.is_empty() && refs.flights.is_empty() {
                self.keys.remove(&entry.key);
            }
        }
    }

    /// Takes a flight out of the maps, if it is still there.
    fn unlink(&mut self, flight: &Arc<Flight>) {
        if self
            .flights
            .get(&flight.request)
            .is_some_and(|f| Arc::ptr_eq(f, flight))
        {
            self.flights.remove(&flight.request);
        }
        if let Some(refs) = self.keys.get_mut(&flight.key) {
            refs.flights.retain(|f| !Arc::ptr_eq(f, flight));
            if refs.requests.is_empty() && refs.flights.is_empty() {
                self.keys.remove(&flight.key);
            }
        }
    }

    /// CLOCK: evicts from the front until both bounds hold; a referenced entry
    /// gets one more round, an expired one goes first.
    fn evict(&mut self, max_bytes: usize, max_entries: usize) {
        let now = Instant::now();
        while self.entries.len() > max_entries || self.bytes > max_bytes {
            let Some((request, id)) = self.clock.pop_front() else {
                break;
            };
            let Some(entry) = self.entries.get_mut(&request) else {
                continue;
            };
            if entry.id != id {
                continue;
            }
            if entry.referenced && entry.expires > now {
                entry.referenced = false;
                self.clock.push_back((request, id));
                continue;
            }
            self.remove(&request);
            self.stats.evictions += 1;
        }
        self.compact();
    }

    /// Drops the clock's ghosts once they outnumber the entries.
    fn compact(&mut self) {
        if self.clock.len() > 2 * self.entries.len() + 1024 {
            let entries = &self.entries;
            self.clock
                .retain(|(request, id)| entries.get(request).is_some_and(|e| e.id == *id));
        }
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
