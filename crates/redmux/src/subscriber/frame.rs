//! What the subscriber connection reads, sorted: a message for some subscription, the
//! server confirming a (un)subscribe, a PING's reply, an error, or something else.
//! RESP2 sends all of these as arrays; RESP3 sends messages and confirmations as push
//! frames and the rest as ordinary replies. Both read alike here.

use bytes::Bytes;
use redmux_resp::Value;

use super::message::Message;

/// The three families of subscription; each has its own commands and message kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// `SUBSCRIBE` / `message`.
    Channel,
    /// `PSUBSCRIBE` / `pmessage`.
    Pattern,
    /// `SSUBSCRIBE` / `smessage` (Redis 7+).
    Shard,
}

impl Kind {
    pub(crate) const ALL: [Kind; 3] = [Kind::Channel, Kind::Pattern, Kind::Shard];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn subscribe_command(self) -> &'static str {
        match self {
            Kind::Channel => "SUBSCRIBE",
            Kind::Pattern => "PSUBSCRIBE",
            Kind::Shard => "SSUBSCRIBE",
        }
    }

    pub(crate) fn unsubscribe_command(self) -> &'static str {
        match self {
            Kind::Channel => "UNSUBSCRIBE",
            Kind::Pattern => "PUNSUBSCRIBE",
            Kind::Shard => "SUNSUBSCRIBE",
        }
    }
}

/// One frame from the subscriber connection, sorted.
#[derive(Debug, PartialEq)]
pub(crate) enum Frame {
    /// A message for the subscriptions to `topic` (a channel, or the pattern that
    /// matched) of this kind.
    Message {
        kind: Kind,
        topic: Bytes,
        message: Message,
    },
    /// The server confirms one name of a (un)subscribe command.
    Confirm {
        kind: Kind,
        subscribe: bool,
        name: Bytes,
    },
    /// The reply to PING: `+PONG`, or `["pong", ""]` in RESP2's subscribed mode.
    Pong,
    /// An error reply: it answers the oldest command still owed a reply.
    Error(Bytes),
    /// A push frame of another kind (client tracking, say): not ours to read.
    OtherPush,
    /// Anything else: a reply nothing here asked for.
    Unexpected(&'static str),
}

/// Sorts one decoded frame.
pub(crate) fn parse(value: Value) -> Frame {
    let (items, pushed) = match value {
        Value::Push(items) => (items, true),
        Value::Array(items) => (items, false),
        Value::SimpleString(s) if s.eq_ignore_ascii_case(b"PONG") => return Frame::Pong,
        Value::Error(line) | Value::BulkError(line) => return Frame::Error(line),
        Value::Attribute { value, .. } => return parse(*value),
        _ => return Frame::Unexpected("a reply that is not a pub/sub frame"),
    };
    let other = if pushed {
        Frame::OtherPush
    } else {
        Frame::Unexpected("an array that is not a pub/sub frame")
    };
    let mut items = items.into_iter();
    let Some(head) = items.next().and_then(text) else {
        return other;
    };
    let mut next = || items.next().and_then(text);
    let message = |kind, topic: Bytes, channel, payload| Frame::Message {
        kind,
        message: Message::new(
            channel,
            (kind == Kind::Pattern).then(|| topic.clone()),
            payload,
        ),
        topic,
    };
    let confirm = |kind, subscribe, name| Frame::Confirm {
        kind,
        subscribe,
        name,
    };
    let malformed = Frame::Unexpected("a pub/sub frame with missing or non-string parts");
    match head.as_ref() {
        b"message" | b"smessage" => match (next(), next()) {
            (Some(channel), Some(payload)) => {
                let kind = if head.as_ref() == b"message" {
                    Kind::Channel
                } else {
                    Kind::Shard
                };
                message(kind, channel.clone(), channel, payload)
            }
            _ => malformed,
        },
        b"pmessage" => match (next(), next(), next()) {
            (Some(pattern), Some(channel), Some(payload)) => {
                message(Kind::Pattern, pattern, channel, payload)
            }
            _ => malformed,
        },
        b"pong" if !pushed => Frame::Pong,
        name => {
            let (kind, subscribe) = match name {
                b"subscribe" => (Kind::Channel, true),
                b"psubscribe" => (Kind::Pattern, true),
                b"ssubscribe" => (Kind::Shard, true),
                b"unsubscribe" => (Kind::Channel, false),
                b"punsubscribe" => (Kind::Pattern, false),
                b"sunsubscribe" => (Kind::Shard, false),
                _ => return other,
            };
            match next() {
                Some(name) => confirm(kind, subscribe, name),
                None => malformed,
            }
        }
    }
}

/// A string part of a frame: bulk or simple.
fn text(value: Value) -> Option<Bytes> {
    match value {
        Value::BulkString(b) | Value::SimpleString(b) => Some(b),
        Value::VerbatimString { text, .. } => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &'static str) -> Value {
        Value::BulkString(Bytes::from_static(s.as_bytes()))
    }

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn messages_in_both_protocols() {
        for wrap in [Value::Array as fn(Vec<Value>) -> Value, Value::Push] {
            assert_eq!(
                parse(wrap(vec![bulk("message"), bulk("ch"), bulk("hi")])),
                Frame::Message {
                    kind: Kind::Channel,
                    topic: b("ch"),
                    message: Message::new(b("ch"), None, b("hi"))
                }
            );
            assert_eq!(
                parse(wrap(vec![
                    bulk("pmessage"),
                    bulk("c*"),
                    bulk("ch"),
                    bulk("hi")
                ])),
                Frame::Message {
                    kind: Kind::Pattern,
                    topic: b("c*"),
                    message: Message::new(b("ch"), Some(b("c*")), b("hi"))
                }
            );
            assert_eq!(
                parse(wrap(vec![bulk("smessage"), bulk("s"), bulk("")])),
                Frame::Message {
                    kind: Kind::Shard,
                    topic: b("s"),
                    message: Message::new(b("s"), None, b(""))
                }
            );
            assert_eq!(
                parse(wrap(vec![
                    bulk("sunsubscribe"),
                    bulk("s"),
                    Value::Integer(0)
                ])),
                Frame::Confirm {
                    kind: Kind::Shard,
                    subscribe: false,
                    name: b("s")
                }
            );
        }
    }

    #[test]
    fn pongs_errors_and_strangers() {
        assert_eq!(parse(Value::SimpleString(b("PONG"))), Frame::Pong);
        assert_eq!(
            parse(Value::Array(vec![bulk("pong"), bulk("")])),
            Frame::Pong
        );
        assert_eq!(parse(Value::Error(b("ERR no"))), Frame::Error(b("ERR no")));
        assert_eq!(
            parse(Value::Push(vec![bulk("invalidate"), Value::Nil])),
            Frame::OtherPush
        );
        assert!(matches!(parse(Value::Integer(1)), Frame::Unexpected(_)));
        assert!(matches!(
            parse(Value::Array(vec![bulk("message"), bulk("only-channel")])),
            Frame::Unexpected(_)
        ));
        assert!(matches!(
            parse(Value::Array(vec![
                bulk("subscribe"),
                Value::Nil,
                Value::Integer(0)
            ])),
            Frame::Unexpected(_)
        ));
    }
}
