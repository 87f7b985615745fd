//! Pub/sub: [`Subscription`]s that share one subscriber connection per client.
//!
//! | file | owns |
//! |---|---|
//! | `message.rs` | [`Message`] and [`Event`], what a subscription yields |
//! | `subscription.rs` | [`Subscription`], the stream; unsubscribes on drop |
//! | `mailbox.rs` | each subscription's bounded buffer: drops and counts, never waits |
//! | `registry/` | who listens to what, what the server confirmed, what to send |
//! | `frame.rs` | sorting what the connection reads (RESP2 arrays, RESP3 pushes) |
//! | `subscriber/` | the connection task: write, read, heartbeat, reconnect and resubscribe; on a cluster, one per node for shard channels (`shards.rs`) |
//! | `commands.rs` | `SPUBLISH` and `PUBSUB CHANNELS / NUMSUB / NUMPAT / SHARDCHANNELS / SHARDNUMSUB` |
//! | this file | [`Client::subscribe`] and friends, [`Subscribe`], [`Channels`] |
//!
//! The subscriber connection is opened by the first subscription, with the client's
//! [`Config`](crate::Config), and never carries other commands: publishing and the
//! `PUBSUB` queries go through the shared connection like any command.

mod commands;
mod subscription;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use crate::subscriber::message::{Event, Message};
pub use subscription::Subscription;

use crate::client::Client;
use crate::error::{CommandStatus, Error, Result, TimeoutDiagnostics};
use crate::subscriber::Subscriber;
use crate::subscriber::frame::Kind;
use crate::subscriber::home::Home;
use crate::subscriber::mailbox::Mailbox;
use crate::subscriber::shards::{Pending, classic_failover};

/// How many events a subscription buffers unless told otherwise
/// ([`Subscribe::buffer`]).
///
/// ```
/// assert_eq!(redmux::pubsub::DEFAULT_BUFFER, 4096);
/// ```
pub const DEFAULT_BUFFER: usize = 4096;

/// One or several channel names (or patterns): a `&str`, `String` or `Bytes`, or an
/// array, slice or vector of anything that is bytes.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// let one = client.subscribe("news").await?;
/// let two = client.subscribe(["news", "alerts"]).await?;
/// let names = vec![String::from("a"), String::from("b")];
/// let many = client.subscribe(names).await?;
/// # Ok(()) }
/// ```
pub trait Channels {
    /// The names, as bytes.
    ///
    /// ```
    /// use redmux::pubsub::Channels;
    /// assert_eq!(["a", "b"].into_names(), ["a", "b"]);
    /// ```
    fn into_names(self) -> Vec<Bytes>;
}

impl Channels for &str {
    fn into_names(self) -> Vec<Bytes> {
        vec![Bytes::copy_from_slice(self.as_bytes())]
    }
}

impl Channels for String {
    fn into_names(self) -> Vec<Bytes> {
        vec![Bytes::from(self)]
    }
}

impl Channels for &String {
    fn into_names(self) -> Vec<Bytes> {
        self.as_str().into_names()
    }
}

impl Channels for Bytes {
    fn into_names(self) -> Vec<Bytes> {
        vec![self]
    }
}

impl<S: AsRef<[u8]>, const N: usize> Channels for [S; N] {
    fn into_names(self) -> Vec<Bytes> {
        self.iter()
            .map(|s| Bytes::copy_from_slice(s.as_ref()))
            .collect()
    }
}

impl<S: AsRef<[u8]>> Channels for &[S] {
    fn into_names(self) -> Vec<Bytes> {
        self.iter()
            .map(|s| Bytes::copy_from_slice(s.as_ref()))
            .collect()
    }
}

impl<S: AsRef<[u8]>> Channels for Vec<S> {
    fn into_names(self) -> Vec<Bytes> {
        self.as_slice().into_names()
    }
}

impl Client {
    /// Subscribes to channels: `SUBSCRIBE channel [channel ...]` on the client's
    /// subscriber connection (opened now if this is the first subscription). On a
    /// cluster that connection goes to one node (every node gets every message)
    /// and moves to another if its node is lost.
    ///
    /// Await it to get the [`Subscription`] once the server has confirmed every
    /// channel: a message published after that is delivered. Before awaiting, set
    /// the buffer size with [`Subscribe::buffer`] or the wait with
    /// [`Subscribe::timeout`].
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] if the subscriber connection cannot be opened,
    /// [`Error::Server`] if the server refuses (an ACL without access to the channel),
    /// [`Error::Timeout`] if the confirmation does not come within the client's
    /// command timeout, [`Error::Config`] for an empty list of channels.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use futures::StreamExt;
    /// let mut orders = client.subscribe("orders").buffer(10_000).await?;
    /// client.publish("orders", "order 42").await?;
    /// let event = orders.next().await;
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancellation
    ///
    /// Dropping the future before it completes unsubscribes whatever it subscribed.
    pub fn subscribe(&self, channels: impl Channels) -> Subscribe<'_> {
        Subscribe::new(self, Kind::Channel, channels.into_names())
    }

    /// Subscribes to glob-style patterns: `PSUBSCRIBE pattern [pattern ...]`. Each
    /// message carries the pattern that matched ([`Message::pattern`]). A message
    /// whose channel matches two patterns of one subscription comes once per pattern,
    /// as the server sends it.
    ///
    /// # Errors
    ///
    /// As [`Client::subscribe`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut all_news = client.psubscribe("news.*").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancellation
    ///
    /// As [`Client::subscribe`].
    pub fn psubscribe(&self, patterns: impl Channels) -> Subscribe<'_> {
        Subscribe::new(self, Kind::Pattern, patterns.into_names())
    }

    /// Subscribes to shard channels (Redis 7+, Valkey): `SSUBSCRIBE shardchannel
    /// [shardchannel ...]`. Messages published with [`Client::spublish`] reach them.
    /// On a cluster each channel is subscribed on its slot's node (one `SSUBSCRIBE`
    /// per slot), and moved to the new owner when its slot moves or its node fails
    /// over; the subscription then gets an [`Event::Gap`].
    ///
    /// # Errors
    ///
    /// As [`Client::subscribe`]; [`Error::Server`] on a server older than 7.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut room = client.ssubscribe("{room:7}:chat").await?;
    /// client.spublish("{room:7}:chat", "hello").await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancellation
    ///
    /// As [`Client::subscribe`].
    pub fn ssubscribe(&self, channels: impl Channels) -> Subscribe<'_> {
        Subscribe::new(self, Kind::Shard, channels.into_names())
    }

    /// What the client's subscriber connection has done (all zero and not
    /// connected before the first subscription).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let stats = client.subscriber_stats();
    /// println!("{} messages, {} reconnects", stats.messages, stats.reconnects);
    /// # Ok(()) }
    /// ```
    pub fn subscriber_stats(&self) -> SubscriberStats {
        use std::sync::atomic::Ordering::Relaxed;
        let slot = self.subscriber_slot();
        // On a cluster, the shard channels' node subscribers count in too.
        let subscribers: Vec<Arc<Subscriber>> = slot
            .get()
            .cloned()
            .into_iter()
            .chain(
                slot.get_shards()
                    .map(|s| s.subscribers())
                    .unwrap_or_default(),
            )
            .collect();
        let mut stats = SubscriberStats {
            connected: !subscribers.is_empty(),
            ..SubscriberStats::default()
        };
        for subscriber in &subscribers {
            let c = &subscriber.counters;
            let [channels, patterns, shard_channels] = subscriber.registry.lock().topic_counts();
            stats.connected &= subscriber.is_connected();
            stats.messages += c.messages.load(Relaxed);
            stats.reconnects += c.reconnects.load(Relaxed);
            stats.bytes_in += c.bytes_in.load(Relaxed);
            stats.channels += channels;
            stats.patterns += patterns;
            stats.shard_channels += shard_channels;
        }
        stats
    }
}

/// A snapshot of the subscriber connection's counters, from
/// [`Client::subscriber_stats`].
///
/// ```
/// let stats = redmux::pubsub::SubscriberStats::default();
/// assert!(!stats.connected);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriberStats {
    /// Whether the subscriber connection is up now.
    pub connected: bool,
    /// Messages read (before any subscription's buffer dropped some).
    pub messages: u64,
    /// Times the connection was rebuilt.
    pub reconnects: u64,
    /// Bytes read.
    pub bytes_in: u64,
    /// Channels subscribed to now.
    pub channels: usize,
    /// Patterns subscribed to now.
    pub patterns: usize,
    /// Shard channels subscribed to now.
    pub shard_channels: usize,
}

/// A subscription not made yet: await it to subscribe. From [`Client::subscribe`],
/// [`Client::psubscribe`] and [`Client::ssubscribe`].
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use std::time::Duration;
/// let sub = client
///     .subscribe("prices")
///     .buffer(100)                      // keep at most 100 unread events
///     .timeout(Duration::from_secs(1))  // wait at most 1 s for the server
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a subscription is made only when awaited"]
#[derive(Debug)]
pub struct Subscribe<'a> {
    client: &'a Client,
    kind: Kind,
    names: Vec<Bytes>,
    buffer: usize,
    timeout: Option<Duration>,
}

impl<'a> Subscribe<'a> {
    fn new(client: &'a Client, kind: Kind, names: Vec<Bytes>) -> Self {
        Subscribe {
            client,
            kind,
            names,
            buffer: DEFAULT_BUFFER,
            timeout: None,
        }
    }

    /// How many unread events the subscription keeps (default [`DEFAULT_BUFFER`],
    /// at least 1). Past that, messages are dropped and counted
    /// ([`Event::Lagged`], [`Subscription::lagged`]).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// // A ticker whose consumer only ever wants the latest few.
    /// let ticks = client.subscribe("ticks").buffer(16).await?;
    /// # Ok(()) }
    /// ```
    pub fn buffer(mut self, events: usize) -> Self {
        self.buffer = events.max(1);
        self
    }

    /// How long to wait for the server to confirm (default: the client's command
    /// timeout).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let sub = client.subscribe("news").timeout(std::time::Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    async fn run(self) -> Result<Subscription> {
        let Subscribe {
            client,
            kind,
            mut names,
            buffer,
            timeout,
        } = self;
        if names.is_empty() {
            return Err(Error::config(format!(
                "{} needs at least one name",
                kind.subscribe_command()
            )));
        }
        let mut seen = std::collections::HashSet::with_capacity(names.len());
        names.retain(|n| seen.insert(n.clone()));

        if client.state() == crate::ConnectionState::Closed {
            return Err(Error::Closed);
        }
        let timeout = timeout.unwrap_or(client.config().command_timeout);
        let deadline = crate::mux::deadline(timeout);
        // A lazily started client that has not reached its server yet: the
        // subscriber's connection would fail now, so wait for the first one, within
        // the subscription's timeout, as its commands wait in the backlog.
        if client.state() == crate::ConnectionState::Connecting {
            let mut states = client.watch_state();
            let first = states.wait_for(|s| *s != crate::ConnectionState::Connecting);
            if tokio::time::timeout_at(deadline, first).await.is_err() {
                return Err(client.node().timeout_error_as(
                    kind.subscribe_command(),
                    timeout,
                    crate::CommandStatus::NotSent,
                ));
            }
            if client.state() == crate::ConnectionState::Closed {
                return Err(Error::Closed);
            }
        }
        let mailbox = Arc::new(Mailbox::new(buffer));
        let cluster = client.router().as_cluster();
        let (home, id, pending) = match cluster {
            // A cluster's shard channel is subscribed on its slot's node.
            Some(cluster) if kind == Kind::Shard => {
                let shards = client
                    .subscriber_slot()
                    .shards(cluster, client.config(), client.watch_state())
                    .clone();
                let id = shards.next_id();
                let pending = shards.register(&names, id, &mailbox)?;
                (Home::Shards(shards), id, pending)
            }
            // Channels and patterns: one connection (on a cluster, to any node:
            // their messages reach every node; it moves if its node is lost).
            _ => {
                let failover = cluster.map(classic_failover);
                let subscriber = client
                    .subscriber_slot()
                    .get_or_start(client.config(), client.watch_state(), failover)
                    .await?
                    .clone();
                if let Some(refused) = subscriber.refusal() {
                    return Err(refused);
                }
                let id = subscriber.next_id();
                let waiting = subscriber
                    .registry
                    .lock()
                    .register(kind, &names, id, &mailbox)?;
                subscriber.wake();
                let pending: Pending = waiting
                    .into_iter()
                    .map(|rx| (subscriber.clone(), rx))
                    .collect();
                (Home::One(subscriber), id, pending)
            }
        };
        // From here, dropping the subscription (an error below, or this future
        // being dropped) unregisters it.
        let subscription = Subscription::new(id, kind, names, mailbox, home, client.clone());
        for (subscriber, confirmed) in pending {
            match tokio::time::timeout_at(deadline, confirmed).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => return Err(e),
                Ok(Err(_)) => return Err(Error::Closed),
                Err(_) => {
                    return Err(timeout_error(
                        kind.subscribe_command(),
                        timeout,
                        &subscriber,
                    ));
                }
            }
        }
        Ok(subscription)
    }
}

impl<'a> IntoFuture for Subscribe<'a> {
    type Output = Result<Subscription>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Subscription>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// The error of a (un)subscribe the server did not confirm in time.
fn timeout_error(command: &str, timeout: Duration, subscriber: &Subscriber) -> Error {
    let status = if subscriber.is_connected() {
        CommandStatus::Sent
    } else {
        CommandStatus::Backlogged
    };
    TimeoutDiagnostics::error(command, timeout, status, subscriber.link_snapshot())
}
