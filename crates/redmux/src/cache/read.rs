//! [`crate::Request::cached`] and [`CachedRequest`]: a read served from the
//! connection's cache, or read once from the server for everyone who wants it.
//!
//! A miss registers its fill before anything is queued, then sends, in one
//! group that nothing can come between: `CLIENT CACHING YES` (OPTIN mode only),
//! the read, and `PTTL key`. The server tracks the key from the read on; `PTTL`
//! says how long the key itself lives, so an entry never outlives it. A task of
//! its own gathers the replies, so a caller that gives up does not strand the
//! others waiting on the same fill.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use redmux_resp::Value;

use super::commands::{self, bulk_args};
use super::fill::Fill;
use super::store::Lookup;
use super::{key_bytes, shared_cache};
use crate::command::{Command, KeySlot};
use crate::error::{CommandStatus, Error, Result};
use crate::from_value::{FromValue, convert};
use crate::mux::Shared;
use crate::request::{Flags, Request, Response, Target};
use crate::router::{Route, send_clustered};

type BoxedReply = Pin<Box<dyn Future<Output = Result<Value>> + Send>>;

impl<'a, T> Request<'a, T> {
    /// Reads through the client-side cache: a fresh entry is returned with no
    /// round trip; otherwise the server is read once (concurrent misses of the
    /// same request share that read) and the reply is kept for at most `ttl`, and
    /// never longer than the key itself lives on the server. Needs
    /// [`crate::Config::client_cache`].
    ///
    /// Only key-only reads can be cached: GET, GETRANGE, STRLEN, GETBIT, BITCOUNT,
    /// BITPOS, EXISTS (one key), TYPE, HGET, HMGET, HGETALL, HEXISTS, HKEYS, HVALS,
    /// HLEN, HSTRLEN, LRANGE, LINDEX, LLEN, LPOS, SMEMBERS, SISMEMBER, SMISMEMBER,
    /// SCARD, ZRANGE (and its BYSCORE, BYLEX and REV forms), ZSCORE, ZMSCORE,
    /// ZRANK, ZREVRANK, ZCARD, ZCOUNT, ZLEXCOUNT, GEOPOS, GEODIST, GEOHASH, XRANGE,
    /// XREVRANGE, XLEN. Nil replies are cached; error replies never are.
    ///
    /// # Errors
    ///
    /// [`Error::NotCacheable`], with nothing sent, for any other command, on a
    /// dedicated connection, for a fire-and-forget request, for a key outside
    /// the broadcast prefixes, or when the client has no cache. Otherwise as the
    /// command itself.
    ///
    /// ```no_run
    /// # async fn run() -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let mut config = redmux::Config::from_url("redis://127.0.0.1/")?;
    /// config.client_cache = Some(redmux::ClientCache::default());
    /// let client = redmux::Client::connect_with(config).await?;
    /// let name: Option<String> = client.hget("user:1", "name").cached(Duration::from_secs(30)).await?;
    /// let again: Option<String> = client.hget("user:1", "name").cached(Duration::from_secs(30)).await?; // no round trip
    /// assert_eq!(name, again);
    /// # Ok(()) }
    /// ```
    pub fn cached(self, ttl: Duration) -> CachedRequest<'a, T> {
        let (target, command, timeout, flags) = self.into_cache_parts();
        CachedRequest {
            target,
            command,
            timeout,
            ttl,
            fire_and_forget: flags.contains(Flags::FIRE_AND_FORGET),
            _reply: PhantomData,
        }
    }
}

/// A read through the client-side cache, from [`Request::cached`]: await it.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use std::time::Duration;
/// let n: u64 = client.scard("tags").cached(Duration::from_secs(5)).timeout(Duration::from_millis(50)).await?;
/// # Ok(()) }
/// ```
#[must_use = "a cached read does nothing until it is awaited"]
#[derive(Debug)]
pub struct CachedRequest<'a, T> {
    target: &'a Target,
    command: Result<Command>,
    timeout: Option<Duration>,
    ttl: Duration,
    fire_and_forget: bool,
    _reply: PhantomData<fn() -> T>,
}

impl<T> CachedRequest<'_, T> {
    /// Sets the timeout of the read if it goes to the server (the client's
    /// `command_timeout` otherwise). A hit never waits.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl<T: FromValue> IntoFuture for CachedRequest<'_, T> {
    type Output = Result<T>;
    type IntoFuture = Response<T>;

    /// Looks the read up now; on a miss its fill is queued now.
    fn into_future(self) -> Response<T> {
        match self.start() {
            Ok(Started::Hit(value)) => Response::ready(convert(value)),
            Ok(Started::Waiting(reply)) => Response::boxed(reply),
            Err(e) => Response::ready(Err(e)),
        }
    }
}

enum Started {
    Hit(Value),
    Waiting(BoxedReply),
}

fn not_cacheable(command: &[u8], reason: &'static str) -> Error {
    Error::NotCacheable {
        command: String::from_utf8_lossy(command).to_ascii_uppercase(),
        reason,
    }
}

impl<T> CachedRequest<'_, T> {
    fn start(self) -> Result<Started> {
        let command = self.command?;
        command.check_arguments()?;
        let name = command.name_bytes();
        if self.fire_and_forget {
            return Err(not_cacheable(
                name,
                "a cached read needs its reply, so it cannot be fire-and-forget",
            ));
        }
        let Target::Shared(router) = self.target else {
            return Err(not_cacheable(
                name,
                "a dedicated connection has no cache; read through the shared client",
            ));
        };
        // The hit path borrows: no reference count is touched (every caller's
        // hits would contend on it) and nothing is allocated.
        let owned: Arc<Shared>;
        // A cached read is served by the primary's cache, replica flags or not.
        let (node, cluster) = match router.route(&command, crate::Flags::NONE) {
            Route::Node(node) | Route::Replicas(node, _) => (node, None),
            Route::Cluster(cluster) => {
                let slot = match command.slot_with(&cluster.specs) {
                    KeySlot::One(slot) => Some(slot),
                    _ => None,
                };
                match cluster.node_for(slot) {
                    Some(node) => {
                        owned = node;
                        (&owned, Some(cluster))
                    }
                    // No owner known now: the cluster layer waits for one; not cached.
                    None => {
                        return Ok(Started::Waiting(send_clustered(
                            cluster.clone(),
                            command,
                            self.timeout,
                            crate::Flags::NONE,
                        )));
                    }
                }
            }
        };
        let Some(cache) = super::of(node) else {
            return Err(not_cacheable(
                name,
                "the client has no cache: set Config::client_cache",
            ));
        };
        // A hit first, with nothing checked: an entry exists only for a request
        // whose fill passed every check below, and the request is its name.
        let (encoded, parts) = command.into_parts();
        if parts.is_empty()
            && let Some(value) = cache.store.hit(&encoded)
        {
            return Ok(Started::Hit(value));
        }
        // A miss: read the request back from its bytes (it may cost what it costs).
        let args: Vec<&[u8]> = bulk_args(&encoded).collect();
        let name = args.first().copied().unwrap_or_default();
        if !parts.is_empty() {
            return Err(not_cacheable(
                name,
                "a cached read's arguments must be small enough to be kept in its buffer",
            ));
        }
        commands::check(name, args.len()).map_err(|reason| not_cacheable(name, reason))?;
        let Some(&key) = args.get(1) else {
            return Err(not_cacheable(name, "a cached read names one key"));
        };
        if !cache.settings.covers(key) {
            return Err(not_cacheable(
                name,
                "the key is under none of the broadcast prefixes, so the server would not say when it changes",
            ));
        }
        let (flight, leads) = match cache.store.lookup(&encoded, || key_bytes(key)) {
            Lookup::Hit(value) => return Ok(Started::Hit(value)),
            Lookup::Join(flight) => (flight, false),
            Lookup::Lead(flight) => (flight, true),
        };
        // A miss: what follows may allocate.
        let node = node.clone();
        let timeout = self.timeout.unwrap_or(node.config().command_timeout);
        let deadline = crate::mux::deadline(timeout);
        let short = String::from_utf8_lossy(name).to_ascii_uppercase();
        if leads {
            let runtime = tokio::runtime::Handle::try_current();
            let (Some(cache), Ok(runtime)) = (shared_cache(&node), runtime) else {
                // The fill is registered: end it, so nobody waits on it.
                let error = Error::config("a cached read needs a tokio runtime");
                cache.store.fill(&flight, None);
                flight.publish(Err(error.clone()));
                return Err(error);
            };
            // The fill serves every caller that joins it, so it is not bound by
            // this one's own timeout when that is shorter than the client's: a
            // leader with `.timeout(1ms)` gives up alone.
            let fill_timeout = timeout.max(node.config().command_timeout);
            let fill = Fill {
                cache,
                node: node.clone(),
                cluster: cluster.cloned(),
                flight: flight.clone(),
                ttl: self.ttl,
                timeout: fill_timeout,
                deadline: crate::mux::deadline(fill_timeout),
                name: short.clone(),
            };
            let sending = fill.send(encoded);
            runtime.spawn(fill.finish(sending));
        }
        Ok(Started::Waiting(Box::pin(async move {
            match tokio::time::timeout_at(deadline, flight.outcome()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(node.timeout_error_as(&short, timeout, CommandStatus::Sent)),
            }
        })))
    }
}
