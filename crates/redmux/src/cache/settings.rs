//! [`ClientCache`]: the settings of client-side caching, a field of
//! [`crate::Config`] (`config.client_cache`).

/// Client-side caching, server-assisted: set [`crate::Config::client_cache`] to
/// turn it on. The client then speaks RESP3 on its shared connections (whatever
/// [`crate::Config::protocol`] says) and sends `CLIENT TRACKING ON` in their
/// handshake; reads opt in one by one with [`crate::Request::cached`].
///
/// One cache is kept per shared connection (per primary on a cluster), each
/// bounded by `max_bytes` and `max_entries`. `docs/client-cache.md` has the design
/// and its guarantees.
///
/// ```
/// use redmux::{ClientCache, Config};
/// let mut config = Config::default();
/// config.client_cache = Some(ClientCache::default()); // OPTIN, 64 MiB, 100,000 entries
///
/// let mut cache = ClientCache::broadcast(["user:", "product:"]);
/// cache.max_bytes = 16 * 1024 * 1024;
/// config.client_cache = Some(cache);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientCache {
    /// The most bytes of cached replies (keys and bookkeeping counted) per
    /// connection (default 64 MiB). Past it the least recently used entries are
    /// evicted (approximately: a CLOCK sweep).
    pub max_bytes: usize,
    /// The most entries per connection (default 100,000).
    pub max_entries: usize,
    /// How the server tracks keys (default [`TrackingMode::OptIn`]).
    pub mode: TrackingMode,
}

/// How the server decides which keys it tells the client about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TrackingMode {
    /// `CLIENT TRACKING ON OPTIN`: the server remembers only the keys read right
    /// after `CLIENT CACHING YES`, which the client sends before each cached read,
    /// in the same write. The server's memory grows with what is cached, not with
    /// the keyspace.
    #[default]
    OptIn,
    /// `CLIENT TRACKING ON BCAST PREFIX p ...`: the server announces every change
    /// to a key under one of the prefixes (every key when there are none), read or
    /// not. No `CLIENT CACHING` per read, more invalidations to read; a cached read
    /// of a key under no prefix is refused. Prefixes must not overlap (the server
    /// refuses `a` with `ab`).
    Broadcast {
        /// The key prefixes announced (none: all keys).
        prefixes: Vec<String>,
    },
}

impl Default for ClientCache {
    fn default() -> Self {
        ClientCache {
            max_bytes: 64 * 1024 * 1024,
            max_entries: 100_000,
            mode: TrackingMode::OptIn,
        }
    }
}

impl ClientCache {
    /// The defaults in broadcast mode, announcing changes to keys under `prefixes`
    /// (all keys when empty).
    ///
    /// ```
    /// let cache = redmux::ClientCache::broadcast(["session:"]);
    /// assert!(matches!(cache.mode, redmux::TrackingMode::Broadcast { .. }));
    /// ```
    pub fn broadcast<P: Into<String>>(prefixes: impl IntoIterator<Item = P>) -> ClientCache {
        ClientCache {
            mode: TrackingMode::Broadcast {
                prefixes: prefixes.into_iter().map(Into::into).collect(),
            },
            ..ClientCache::default()
        }
    }

    /// The `CLIENT TRACKING` command the handshake sends, word by word.
    pub(crate) fn tracking_command(&self) -> Vec<&[u8]> {
        let mut words: Vec<&[u8]> = vec![b"CLIENT", b"TRACKING", b"ON"];
        match &self.mode {
            TrackingMode::OptIn => words.push(b"OPTIN"),
            TrackingMode::Broadcast { prefixes } => {
                words.push(b"BCAST");
                for prefix in prefixes {
                    words.push(b"PREFIX");
                    words.push(prefix.as_bytes());
                }
            }
        }
        words
    }

    /// Whether a key is announced in broadcast mode (always in OPTIN mode, where
    /// each cached read asks for it).
    pub(crate) fn covers(&self, key: &[u8]) -> bool {
        match &self.mode {
            TrackingMode::OptIn => true,
            TrackingMode::Broadcast { prefixes } => {
                prefixes.is_empty() || prefixes.iter().any(|p| key.starts_with(p.as_bytes()))
            }
        }
    }

    /// Whether each cached read must be preceded by `CLIENT CACHING YES`.
    pub(crate) fn opt_in(&self) -> bool {
        matches!(self.mode, TrackingMode::OptIn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_commands() {
        let join = |c: &ClientCache| {
            c.tracking_command()
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(join(&ClientCache::default()), "CLIENT TRACKING ON OPTIN");
        assert_eq!(
            join(&ClientCache::broadcast(["a:", "b:"])),
            "CLIENT TRACKING ON BCAST PREFIX a: PREFIX b:"
        );
        assert_eq!(
            join(&ClientCache::broadcast(Vec::<String>::new())),
            "CLIENT TRACKING ON BCAST"
        );
    }

    #[test]
    fn prefixes_cover_keys() {
        assert!(ClientCache::default().covers(b"anything"));
        let b = ClientCache::broadcast(["user:"]);
        assert!(b.covers(b"user:1"));
        assert!(!b.covers(b"order:1"));
        assert!(ClientCache::broadcast(Vec::<String>::new()).covers(b"x"));
    }
}
