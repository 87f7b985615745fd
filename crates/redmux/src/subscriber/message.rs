//! What a [`Subscription`](crate::Subscription) yields: an [`Event`], which is a
//! [`Message`] or news that some were missed.

use std::fmt;

use bytes::Bytes;

/// One item of a [`Subscription`](crate::Subscription) stream.
///
/// Besides messages, a subscription tells its consumer when it may have missed some,
/// at the point in the stream where they went missing, so the consumer can catch up
/// (re-read the state the messages were about) instead of silently drifting:
///
/// - [`Event::Gap`]: the subscriber's connection was lost and rebuilt. Messages
///   published while it was down were not delivered (pub/sub does not store them).
///   It comes once the subscription is active again, so whatever the consumer
///   re-reads after it is at least as new as the next message.
/// - [`Event::Lagged`]: this subscription's buffer was full, so that many messages
///   were dropped here (other subscriptions were not affected).
///
/// ```
/// use redmux::pubsub::Event;
/// # fn handle(event: Event) {
/// match event {
///     Event::Message(m) => println!("{:?}: {:?}", m.channel(), m.payload()),
///     Event::Lagged(n) => println!("too slow: {n} messages dropped"),
///     Event::Gap => println!("reconnected: messages may have been missed"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message published to a channel (or shard channel, or a channel that
    /// matched a pattern) this subscription listens to.
    Message(Message),
    /// This many messages were dropped because the subscription's buffer was full.
    Lagged(u64),
    /// The connection was lost and rebuilt: messages published meanwhile were missed.
    Gap,
}

impl Event {
    /// The message, if this is one.
    ///
    /// ```
    /// use redmux::pubsub::Event;
    /// assert!(Event::Gap.into_message().is_none());
    /// ```
    pub fn into_message(self) -> Option<Message> {
        match self {
            Event::Message(m) => Some(m),
            Event::Lagged(_) | Event::Gap => None,
        }
    }
}

/// A message: the channel it was published to, the pattern that matched it (for
/// pattern subscriptions), and its payload. The three are `Bytes` cut from the
/// subscriber's read buffer: cloning or delivering them to several subscriptions
/// copies nothing.
///
/// ```
/// # fn show(message: redmux::Message) {
/// let text = String::from_utf8_lossy(message.payload());
/// println!("{} on {}", text, String::from_utf8_lossy(message.channel()));
/// if let Some(pattern) = message.pattern() {
///     println!("(matched {})", String::from_utf8_lossy(pattern));
/// }
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    channel: Bytes,
    pattern: Option<Bytes>,
    payload: Bytes,
}

impl Message {
    pub(crate) fn new(channel: Bytes, pattern: Option<Bytes>, payload: Bytes) -> Self {
        Message {
            channel,
            pattern,
            payload,
        }
    }

    /// The channel the message was published to (also for pattern subscriptions).
    ///
    /// ```
    /// # fn show(message: redmux::Message) {
    /// if message.channel() == "alerts" {
    ///     eprintln!("alert!");
    /// }
    /// # }
    /// ```
    pub fn channel(&self) -> &Bytes {
        &self.channel
    }

    /// The pattern that matched the channel, for a pattern subscription.
    ///
    /// ```
    /// # fn show(message: redmux::Message) {
    /// let via = message.pattern().map(|p| String::from_utf8_lossy(p).into_owned());
    /// # }
    /// ```
    pub fn pattern(&self) -> Option<&Bytes> {
        self.pattern.as_ref()
    }

    /// The payload as published.
    ///
    /// ```
    /// # fn show(message: redmux::Message) {
    /// let bytes: &[u8] = message.payload();
    /// # }
    /// ```
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The payload, as UTF-8 text if it is.
    ///
    /// ```
    /// # fn show(message: redmux::Message) {
    /// if let Some(text) = message.payload_str() {
    ///     println!("{text}");
    /// }
    /// # }
    /// ```
    pub fn payload_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }

    /// Takes the payload out.
    ///
    /// ```
    /// # fn show(message: redmux::Message) {
    /// let payload: bytes::Bytes = message.into_payload();
    /// # }
    /// ```
    pub fn into_payload(self) -> Bytes {
        self.payload
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Message");
        d.field("channel", &String::from_utf8_lossy(&self.channel));
        if let Some(p) = &self.pattern {
            d.field("pattern", &String::from_utf8_lossy(p));
        }
        // Payloads can be large: show the start.
        let shown = &self.payload[..self.payload.len().min(64)];
        d.field("payload", &String::from_utf8_lossy(shown))
            .field("len", &self.payload.len())
            .finish()
    }
}
