//! [`CacheStats`]: what the client-side caches did, from
//! [`crate::Client::cache_stats`].

use crate::client::Client;

/// The counters of a client's caches (summed over a cluster's connections).
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use std::time::Duration;
/// let _: Option<String> = client.get("k").cached(Duration::from_secs(60)).await?;
/// if let Some(stats) = client.cache_stats() {
///     println!("{} hits, {} misses, {} bytes", stats.hits, stats.misses, stats.bytes);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Cached reads served from the cache, with no round trip.
    pub hits: u64,
    /// Cached reads that went to the server (or joined a read already on its way).
    pub misses: u64,
    /// Keys invalidated: named by the server's invalidation pushes, or written by
    /// the client itself.
    pub invalidations: u64,
    /// Entries evicted to stay within [`crate::ClientCache`]'s bounds.
    pub evictions: u64,
    /// Entries found past their time to live (the one asked, or the server's TTL).
    pub expirations: u64,
    /// Times a cache was emptied at once: a `nil` invalidation (FLUSHALL,
    /// FLUSHDB), a lost connection, a cluster node losing slots.
    pub flushes: u64,
    /// Entries held now.
    pub entries: u64,
    /// Bytes held now, as the bound counts them (replies, names, bookkeeping).
    pub bytes: u64,
}

impl CacheStats {
    fn add(&mut self, other: &CacheStats) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.invalidations += other.invalidations;
        self.evictions += other.evictions;
        self.expirations += other.expirations;
        self.flushes += other.flushes;
        self.entries += other.entries;
        self.bytes += other.bytes;
    }
}

impl Client {
    /// The client-side caches' counters, summed over the connections; `None` when
    /// [`crate::Config::client_cache`] is not set.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) {
    /// let stats = client.cache_stats().unwrap_or_default();
    /// println!("hit ratio {:.2}", stats.hits as f64 / (stats.hits + stats.misses).max(1) as f64);
    /// # }
    /// ```
    pub fn cache_stats(&self) -> Option<CacheStats> {
        let mut total: Option<CacheStats> = None;
        for (_, node) in self.router().nodes() {
            if let Some(cache) = super::of(&node) {
                total
                    .get_or_insert_with(CacheStats::default)
                    .add(&cache.store.stats());
            }
        }
        total
    }
}
