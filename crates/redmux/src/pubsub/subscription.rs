//! [`Subscription`]: a stream of [`Event`]s for some channels, patterns or shard
//! channels, read from its own bounded buffer; unsubscribed when dropped.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use crate::client::Client;
use crate::error::Result;
use crate::subscriber::frame::Kind;
use crate::subscriber::home::Home;
use crate::subscriber::mailbox::Mailbox;
use crate::subscriber::message::Event;

/// A live subscription: a [`Stream`] of [`Event`]s for the channels, patterns or
/// shard channels it was made for, from [`Client::subscribe`], [`Client::psubscribe`]
/// or [`Client::ssubscribe`].
///
/// Every subscription of a client shares one subscriber connection (on a cluster,
/// shard channels have one per node, and move with their slots); two
/// subscriptions to one channel share one server-side `SUBSCRIBE` and each gets
/// every message. Each has its own bounded buffer: a consumer that falls behind loses
/// messages *here* ([`Event::Lagged`] says how many, where they were lost) and never
/// slows the connection or other subscriptions. After a reconnect the subscriber
/// resubscribes by itself and every subscription gets an [`Event::Gap`].
///
/// Messages of one channel arrive in the order they were published. The stream ends
/// only if the client's subscriber is shut down; a subscription keeps its client
/// alive.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use futures::StreamExt;
/// use redmux::pubsub::Event;
///
/// let mut news = client.subscribe(["news", "alerts"]).await?;
/// while let Some(event) = news.next().await {
///     match event {
///         Event::Message(m) => println!("{:?}", m.payload_str()),
///         Event::Lagged(n) => eprintln!("dropped {n} messages: consumer too slow"),
///         Event::Gap => eprintln!("reconnected; re-read what the messages are about"),
///     }
/// }
/// # Ok(()) }
/// ```
///
/// # Cancellation
///
/// Dropping a subscription unsubscribes it: if it was the last to listen to a name,
/// the subscriber sends the `UNSUBSCRIBE` in the background (use
/// [`unsubscribe`](Self::unsubscribe) to wait for the server to confirm). Messages
/// still buffered are dropped with it.
#[must_use = "a subscription unsubscribes when dropped"]
pub struct Subscription {
    id: u64,
    kind: Kind,
    names: Vec<Bytes>,
    mailbox: Arc<Mailbox>,
    /// Where its names are registered.
    home: Home,
    /// Keeps the client, and so the subscriber, alive while the subscription lives.
    client: Client,
    registered: bool,
}

impl Subscription {
    pub(crate) fn new(
        id: u64,
        kind: Kind,
        names: Vec<Bytes>,
        mailbox: Arc<Mailbox>,
        home: Home,
        client: Client,
    ) -> Self {
        Subscription {
            id,
            kind,
            names,
            mailbox,
            home,
            client,
            registered: true,
        }
    }

    /// The next event, waiting for one; `None` once the subscriber is shut down.
    /// The same as `StreamExt::next`, without needing the `futures` crate.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut sub = client.subscribe("news").await?;
    /// while let Some(event) = sub.recv().await {
    ///     println!("{event:?}");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: an event is taken from the buffer only when it is returned.
    pub async fn recv(&mut self) -> Option<Event> {
        std::future::poll_fn(|cx| self.mailbox.poll_next(cx)).await
    }

    /// The next event if one is buffered now, without waiting. `None` means none is
    /// buffered right now.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut sub = client.subscribe("ticks").await?;
    /// // Skip to the newest tick.
    /// let mut newest = None;
    /// while let Some(event) = sub.try_next() {
    ///     newest = event.into_message().or(newest);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_next(&mut self) -> Option<Event> {
        self.mailbox.try_next()
    }

    /// The channels (or patterns, or shard channels) this subscription listens to.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let sub = client.psubscribe("news.*").await?;
    /// assert_eq!(sub.names()[0], "news.*");
    /// # Ok(()) }
    /// ```
    pub fn names(&self) -> &[Bytes] {
        &self.names
    }

    /// Messages dropped so far because this subscription's buffer was full.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let sub = client.subscribe("news").buffer(100).await?;
    /// if sub.lagged() > 0 {
    ///     eprintln!("{} messages dropped: read faster or use a bigger buffer", sub.lagged());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn lagged(&self) -> u64 {
        self.mailbox.lagged_total()
    }

    /// Events buffered and not read yet.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let sub = client.subscribe("news").await?;
    /// println!("{} events waiting", sub.buffered());
    /// # Ok(()) }
    /// ```
    pub fn buffered(&self) -> usize {
        self.mailbox.len()
    }

    /// The client this subscription belongs to.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let sub = client.subscribe("news").await?;
    /// sub.client().publish("news", "hello").await?;
    /// # Ok(()) }
    /// ```
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Unsubscribes, and waits until the server confirms it for every name no other
    /// subscription listens to (at most the client's command timeout). Dropping the
    /// subscription does the same without waiting.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Timeout`] if the confirmation does not come in time; the
    /// subscription is gone from this client either way. A lost connection is not an
    /// error: it returns at once, as a new connection never subscribes to it again.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let sub = client.subscribe("news").await?;
    /// sub.unsubscribe().await?;
    /// let counts: Vec<(String, u64)> = client.pubsub_numsub(["news"]).await?;
    /// assert_eq!(counts[0].1, 0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancellation
    ///
    /// The unsubscribe happens even if the future is dropped before it completes.
    pub async fn unsubscribe(mut self) -> Result<()> {
        self.registered = false;
        let queued = self.home.unregister(self.kind, &self.names, self.id, true);
        let timeout = self.client.config().command_timeout;
        let deadline = crate::mux::deadline(timeout);
        for (subscriber, confirmed) in queued {
            // Disconnected, the server holds nothing for this client, and the names
            // are no longer registered: the reconnect will not subscribe them again.
            let Some(confirmed) = confirmed.filter(|_| subscriber.is_connected()) else {
                continue;
            };
            // A dropped sender means the connection went: nothing is subscribed.
            if tokio::time::timeout_at(deadline, confirmed).await.is_err() {
                return Err(super::timeout_error(
                    self.kind.unsubscribe_command(),
                    timeout,
                    &subscriber,
                ));
            }
        }
        Ok(())
    }
}

impl Stream for Subscription {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.mailbox.poll_next(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if !self.registered {
            return;
        }
        self.home.unregister(self.kind, &self.names, self.id, false);
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self
            .names
            .iter()
            .map(|n| String::from_utf8_lossy(n))
            .collect();
        f.debug_struct("Subscription")
            .field("command", &self.kind.subscribe_command())
            .field("names", &names)
            .field("buffered", &self.mailbox.len())
            .field("lagged", &self.mailbox.lagged_total())
            .finish()
    }
}
