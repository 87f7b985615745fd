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
use std::time::{Duration, Instant};

use bytes::BytesMut;
use redmux_resp::Value;

use super::store::{Flight, Lookup, owned};
use super::{Cache, commands, key_bytes, shared_cache};
use crate::command::{Command, KeySlot, cmd};
use crate::error::{CommandStatus, Error, Result};
use crate::from_value::{FromValue, convert};
use crate::mux::{Collector, Group, Shared};
use crate::request::{Flags, Request, Response, Target};
use crate::router::{Cluster, Route, is_refusal, send_clustered};

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
        commands::check(&command).map_err(|reason| not_cacheable(name, reason))?;
        let Target::Shared(router) = self.target else {
            return Err(not_cacheable(
                name,
                "a dedicated connection has no cache; read through the shared client",
            ));
        };
        // The hit path borrows: no reference count is touched (every caller's
        // hits would contend on it) and nothing is allocated.
        let owned: Arc<Shared>;
        let (node, cluster) = match router.route(&command) {
            Route::Node(node) => (node, None),
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
        let short = command.short_name();
        let (encoded, parts) = command.into_parts();
        if !parts.is_empty() {
            return Err(not_cacheable(
                short.as_bytes(),
                "a cached read's arguments must be small enough to be kept in its buffer",
            ));
        }
        let Some(key) = bulk_args(&encoded).nth(1) else {
            return Err(not_cacheable(
                short.as_bytes(),
                "a cached read names one key",
            ));
        };
        if !cache.settings.covers(key) {
            return Err(not_cacheable(
                short.as_bytes(),
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
        let short = short.as_string();
        if leads {
            let runtime = tokio::runtime::Handle::try_current();
            let (Some(cache), Ok(runtime)) = (shared_cache(&node), runtime) else {
                // The fill is registered: end it, so nobody waits on it.
                let error = Error::config("a cached read needs a tokio runtime");
                cache.store.fill(&flight, None);
                flight.publish(Err(error.clone()));
                return Err(error);
            };
            let fill = Fill {
                cache,
                node: node.clone(),
                cluster: cluster.cloned(),
                flight: flight.clone(),
                ttl: self.ttl,
                timeout,
                deadline,
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

/// One fill: the leader's read and what becomes of its reply.
struct Fill {
    cache: Arc<Cache>,
    node: Arc<Shared>,
    cluster: Option<Arc<Cluster>>,
    flight: Arc<Flight>,
    ttl: Duration,
    timeout: Duration,
    deadline: tokio::time::Instant,
    name: String,
}

/// A fill's group: sent, waiting for room, or refused.
enum Sending {
    Sent(Arc<Collector>, Instant),
    Waiting(Group, Arc<Collector>),
    Refused(Error),
}

impl Fill {
    /// Where the read's reply is in the group (after `CLIENT CACHING YES` in OPTIN
    /// mode); `PTTL`'s follows it.
    fn read_at(&self) -> usize {
        usize::from(self.cache.settings.opt_in())
    }

    /// Builds the group and queues it now if there is room: the fill is already
    /// registered, so an invalidation from here on is seen.
    fn send(&self, encoded: BytesMut) -> Sending {
        let at = self.read_at();
        let pttl = match bulk_args(&encoded).nth(1) {
            Some(key) => cmd("PTTL").arg(key).into_bytes(),
            None => return Sending::Refused(Error::protocol("a cached read lost its key")),
        };
        let mut group = Group::new(at + 2, self.deadline);
        if at == 1 {
            group.push(0, cmd("CLIENT").arg("CACHING").arg("YES").into_bytes());
        }
        group.push(at, encoded);
        group.push(at + 1, pttl);
        let collector = group.collector().clone();
        if !self.node.has_room() {
            return Sending::Waiting(group, collector);
        }
        let sent_at = Instant::now();
        match self.node.send_group(group) {
            Ok(_) => Sending::Sent(collector, sent_at),
            Err(e) => Sending::Refused(e),
        }
    }

    /// Waits for the replies, keeps what may be kept, and tells every waiter.
    async fn finish(self, sending: Sending) {
        let outcome = self.gather(sending).await;
        self.flight.publish(outcome);
    }

    async fn gather(&self, sending: Sending) -> Result<Value> {
        let (collector, sent_at) = match sending {
            Sending::Sent(collector, sent_at) => (collector, sent_at),
            Sending::Waiting(group, collector) => {
                self.node.wait_for_room(self.deadline).await;
                let sent_at = Instant::now();
                if let Err(e) = self.node.send_group(group) {
                    self.cache.store.fill(&self.flight, None);
                    return Err(e);
                }
                (collector, sent_at)
            }
            Sending::Refused(e) => {
                self.cache.store.fill(&self.flight, None);
                return Err(e);
            }
        };
        let replies = std::future::poll_fn(|cx| collector.poll_complete(cx));
        let Ok(mut replies) = tokio::time::timeout_at(self.deadline, replies).await else {
            self.cache.store.fill(&self.flight, None);
            return Err(self
                .node
                .timeout_error_as(&self.name, self.timeout, CommandStatus::Sent));
        };
        let at = self.read_at();
        let pttl = replies.get_mut(at + 1).and_then(Option::take);
        let caching = if at == 1 {
            replies.first_mut().and_then(Option::take)
        } else {
            Some(Ok(Value::Nil))
        };
        let read = replies.get_mut(at).and_then(Option::take);
        let read = match read {
            Some(Ok(value)) => value,
            Some(Err(e)) => {
                self.cache.store.fill(&self.flight, None);
                return Err(e);
            }
            None => {
                self.cache.store.fill(&self.flight, None);
                return Err(Error::protocol("no reply to a cached read"));
            }
        };
        if read.as_error().is_some() {
            self.cache.store.fill(&self.flight, None);
            if let Some(cluster) = &self.cluster
                && is_refusal(&read)
            {
                return self.resend(cluster.clone()).await;
            }
            return Ok(read);
        }
        let tracked = matches!(caching, Some(Ok(ref v)) if v.as_error().is_none());
        let expires = match pttl {
            // The key's own life, counted from before the read was sent: the
            // server's clock started later, so the entry never outlives the key.
            Some(Ok(Value::Integer(ms))) if ms >= 0 => {
                Some(sent_at + self.ttl.min(Duration::from_millis(ms.unsigned_abs())))
            }
            Some(Ok(Value::Integer(_))) => Some(sent_at + self.ttl),
            _ => None,
        };
        let keep = match expires {
            Some(expires) if tracked => Some((owned(read.clone()), expires)),
            _ => None,
        };
        self.cache.store.fill(&self.flight, keep);
        Ok(read)
    }

    /// A cluster node refused the read (MOVED, ASK, ...): the cluster layer sends
    /// it again where it belongs, uncached.
    async fn resend(&self, cluster: Arc<Cluster>) -> Result<Value> {
        let left = self
            .deadline
            .saturating_duration_since(tokio::time::Instant::now());
        let Some(command) = self.command() else {
            return Err(Error::protocol("a cached read could not be rebuilt"));
        };
        send_clustered(cluster, command, Some(left)).await
    }

    /// The read as a command again, from the flight's encoded form.
    fn command(&self) -> Option<Command> {
        let encoded = self.flight.request();
        let mut args = bulk_args(encoded);
        let name = std::str::from_utf8(args.next()?).ok()?;
        let mut command = cmd(name).key(args.next()?);
        for arg in args {
            command = command.arg(arg);
        }
        Some(command)
    }
}

/// The arguments of an encoded command (`*N\r\n$3\r\nGET\r\n...`), name first.
fn bulk_args(encoded: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = encoded
        .iter()
        .position(|&b| b == b'\n')
        .and_then(|end| encoded.get(end + 1..))
        .unwrap_or_default();
    let mut rest = body;
    std::iter::from_fn(move || {
        let after = rest.strip_prefix(b"$")?;
        let header_end = after.iter().position(|&b| b == b'\r')?;
        let len: usize = std::str::from_utf8(&after[..header_end])
            .ok()?
            .parse()
            .ok()?;
        let start = header_end + 2;
        let payload = after.get(start..start + len)?;
        rest = after.get(start + len + 2..).unwrap_or_default();
        Some(payload)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_arguments_are_read_back() {
        let encoded = cmd("HGET").key("user:1").arg("name").into_bytes();
        let args: Vec<&[u8]> = bulk_args(&encoded).collect();
        assert_eq!(args, vec![&b"HGET"[..], b"user:1", b"name"]);
        assert_eq!(bulk_args(b"").count(), 0);
        assert_eq!(bulk_args(b"*1\r\n$9\r\nshort\r\n").count(), 0);
    }
}
