//! [`Registry`]: who listens to what, and what the server has confirmed. It is the
//! subscriber's whole state, kept under one lock, and has no I/O: the connection
//! task feeds it frames and writes what it hands out.
//!
//! The registry holds the *wanted* state (a topic exists while some subscription
//! listens to it) and reconciles the server with it: the first subscription to a
//! topic queues a SUBSCRIBE, the last one to leave queues an UNSUBSCRIBE, and after a
//! reconnect every topic is subscribed again. Commands are queued under the same lock
//! that changes the wanted state, so they reach the server in the order of the
//! changes, and the server confirms each name in order: `expected` matches every
//! confirmation to the command it answers.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::task::Waker;

use bytes::{Bytes, BytesMut};
use redmux_resp::CommandBuf;
use tokio::sync::oneshot;

use super::frame::{Frame, Kind};
use super::mailbox::Mailbox;
use super::message::Message;
use crate::error::{Error, ServerError};

/// The most names put in one command: a resubscription to many thousand channels
/// goes out as several commands of reasonable size.
const NAMES_PER_COMMAND: usize = 1024;

/// Tells a `subscribe` call its topic is (or is not) active on the server.
pub(crate) type Waiter = oneshot::Sender<Result<(), Error>>;

/// One channel, pattern or shard channel that some subscription listens to.
#[derive(Debug)]
struct Topic {
    /// Distinguishes this topic from an earlier one of the same name that was
    /// unsubscribed while a SUBSCRIBE for it was still unconfirmed.
    generation: u64,
    /// The server confirmed the subscription on the current connection.
    active: bool,
    members: Vec<(u64, Arc<Mailbox>)>,
    waiters: Vec<Waiter>,
}

/// A command queued for the connection and not yet written.
#[derive(Debug)]
struct Op {
    kind: Kind,
    subscribe: bool,
    /// Each name with its topic's generation (0 for an unsubscribe).
    names: Vec<(Bytes, u64)>,
    /// Part of the resubscription after a reconnect.
    resubscription: bool,
    /// Told when every name is confirmed (an explicit unsubscribe waits for it).
    done: Option<oneshot::Sender<()>>,
}

/// A written command still owed replies.
#[derive(Debug)]
enum Expect {
    Names(Op),
    Ping,
}

/// A reply that does not fit what was sent: the connection must be dropped.
#[derive(Debug)]
pub(crate) struct Desync(pub(crate) String);

#[derive(Debug, Default)]
pub(crate) struct Registry {
    topics: [HashMap<Bytes, Topic>; 3],
    outbox: Vec<Op>,
    expected: VecDeque<Expect>,
    next_generation: u64,
    /// Resubscription confirmations still to come; the owed gaps are paid at zero.
    resubscribing: usize,
    closed: bool,
}

impl Registry {
    /// Adds a subscription to each name (deduplicated by the caller). Queues a
    /// SUBSCRIBE for the names nobody listened to yet; returns one receiver per name
    /// not active on the server yet, told when it is.
    pub(crate) fn register(
        &mut self,
        kind: Kind,
        names: &[Bytes],
        id: u64,
        mailbox: &Arc<Mailbox>,
    ) -> Result<Vec<oneshot::Receiver<Result<(), Error>>>, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let mut new_names = Vec::new();
        let mut pending = Vec::new();
        for name in names {
            let topic = self.topics[kind.index()]
                .entry(name.clone())
                .or_insert_with(|| {
                    self.next_generation += 1;
                    new_names.push((name.clone(), self.next_generation));
                    Topic {
                        generation: self.next_generation,
                        active: false,
                        members: Vec::with_capacity(1),
                        waiters: Vec::new(),
                    }
                });
            topic.members.push((id, mailbox.clone()));
            if !topic.active {
                let (tx, rx) = oneshot::channel();
                topic.waiters.push(tx);
                pending.push(rx);
            }
        }
        if !new_names.is_empty() {
            self.outbox.push(Op {
                kind,
                subscribe: true,
                names: new_names,
                resubscription: false,
                done: None,
            });
        }
        Ok(pending)
    }

    /// Removes a subscription from each name; queues an UNSUBSCRIBE for the names
    /// nobody listens to any more, and tells `done` once the server confirms it (at
    /// once if there is nothing to unsubscribe). Returns whether a command was queued.
    pub(crate) fn unregister(
        &mut self,
        kind: Kind,
        names: &[Bytes],
        id: u64,
        done: Option<oneshot::Sender<()>>,
    ) -> bool {
        let mut gone = Vec::new();
        for name in names {
            let topics = &mut self.topics[kind.index()];
            let Some(topic) = topics.get_mut(name) else {
                continue;
            };
            topic.members.retain(|(member, _)| *member != id);
            if topic.members.is_empty() {
                // Its waiters' calls belong to subscriptions that have left too.
                topics.remove(name);
                gone.push((name.clone(), 0));
            }
        }
        if gone.is_empty() || self.closed {
            return false;
        }
        self.outbox.push(Op {
            kind,
            subscribe: false,
            names: gone,
            resubscription: false,
            done,
        });
        true
    }

    /// Queues a PING (the heartbeat).
    pub(crate) fn ping(&mut self, out: &mut BytesMut) {
        out.extend_from_slice(&CommandBuf::new("PING").finish());
        self.expected.push_back(Expect::Ping);
    }

    /// Encodes every queued command into `out` and expects its confirmations.
    pub(crate) fn take_outbox(&mut self, out: &mut BytesMut) {
        for op in self.outbox.drain(..) {
            let name = if op.subscribe {
                op.kind.subscribe_command()
            } else {
                op.kind.unsubscribe_command()
            };
            let mut command = CommandBuf::new(name);
            for (n, _) in &op.names {
                command.arg(n);
            }
            out.extend_from_slice(&command.finish());
            self.expected.push_back(Expect::Names(op));
        }
    }

    /// The connection is lost: nothing is active any more, and nothing written will
    /// be answered. Every current subscription is owed a gap.
    pub(crate) fn on_disconnect(&mut self) {
        // Dropping an unsubscribe's `done` tells its caller: with the connection gone,
        // the server holds no subscription for it either.
        self.expected.clear();
        self.outbox.clear();
        self.resubscribing = 0;
        for topic in self.topics.iter_mut().flat_map(|t| t.values_mut()) {
            topic.active = false;
            for (_, mailbox) in &topic.members {
                mailbox.owe_gap();
            }
        }
    }

    /// A new connection: queue a subscription to every topic, replacing whatever
    /// was queued for the old one.
    pub(crate) fn on_connect(&mut self) {
        self.outbox.clear();
        self.expected.clear();
        self.resubscribing = 0;
        for kind in Kind::ALL {
            let names: Vec<(Bytes, u64)> = self.topics[kind.index()]
                .iter()
                .map(|(name, topic)| (name.clone(), topic.generation))
                .collect();
            self.resubscribing += names.len();
            for chunk in names.chunks(NAMES_PER_COMMAND) {
                self.outbox.push(Op {
                    kind,
                    subscribe: true,
                    names: chunk.to_vec(),
                    resubscription: true,
                    done: None,
                });
            }
        }
    }

    /// Fails every call still waiting for its topic to be confirmed, with `error`
    /// (the server rejected the credentials: no confirmation is coming soon).
    pub(crate) fn fail_waiting(&mut self, error: &Error) {
        for topic in self.topics.iter_mut().flat_map(|t| t.values_mut()) {
            for waiter in topic.waiters.drain(..) {
                let _ = waiter.send(Err(error.clone()));
            }
        }
    }

    /// Ends every subscription's stream and fails every waiting call.
    pub(crate) fn close(&mut self, wakers: &mut Vec<Waker>) {
        self.closed = true;
        self.outbox.clear();
        self.expected.clear();
        for topic in self.topics.iter_mut().flat_map(|t| t.values_mut()) {
            for waiter in topic.waiters.drain(..) {
                let _ = waiter.send(Err(Error::Closed));
            }
            wakers.extend(topic.members.iter().filter_map(|(_, m)| m.close()));
        }
    }

    /// Handles one frame; the consumers to wake go into `wakers`.
    pub(crate) fn on_frame(&mut self, frame: Frame, wakers: &mut Vec<Waker>) -> Result<(), Desync> {
        match frame {
            Frame::Message {
                kind,
                topic,
                message,
            } => {
                self.deliver(kind, &topic, message, wakers);
                Ok(())
            }
            Frame::Confirm {
                kind,
                subscribe,
                name,
            } => self.confirm(kind, subscribe, &name, wakers),
            Frame::Pong => match self.expected.pop_front() {
                Some(Expect::Ping) => Ok(()),
                other => Err(Desync(format!(
                    "a PING reply came when {} was expected",
                    describe(other.as_ref())
                ))),
            },
            Frame::Error(line) => self.fail_front(ServerError::parse(&line), wakers),
            Frame::OtherPush => Ok(()),
            Frame::Unexpected(what) => {
                Err(Desync(format!("the subscriber connection received {what}")))
            }
        }
    }

    /// Hands a message to every subscription of its topic; a full one drops it.
    fn deliver(&self, kind: Kind, topic: &Bytes, message: Message, wakers: &mut Vec<Waker>) {
        let Some(topic) = self.topics[kind.index()].get(topic) else {
            // Unsubscribed a moment ago: the server had sent it before it knew.
            return;
        };
        if let [(_, only)] = topic.members.as_slice() {
            wakers.extend(only.push(message));
            return;
        }
        for (_, mailbox) in &topic.members {
            wakers.extend(mailbox.push(message.clone()));
        }
    }

    fn confirm(
        &mut self,
        kind: Kind,
        subscribe: bool,
        name: &Bytes,
        wakers: &mut Vec<Waker>,
    ) -> Result<(), Desync> {
        let Some(Expect::Names(op)) = self.expected.front_mut() else {
            return Err(Desync(format!(
                "a {} confirmation for {:?} came when {} was expected",
                command_name(kind, subscribe),
                String::from_utf8_lossy(name),
                describe(self.expected.front()),
            )));
        };
        let matches = op.kind == kind
            && op.subscribe == subscribe
            && op.names.first().is_some_and(|(n, _)| n == name);
        if !matches {
            return Err(Desync(format!(
                "a {} confirmation for {:?} came for a {} of {:?}",
                command_name(kind, subscribe),
                String::from_utf8_lossy(name),
                command_name(op.kind, op.subscribe),
                op.names
                    .first()
                    .map(|(n, _)| String::from_utf8_lossy(n).into_owned()),
            )));
        }
        // Names are confirmed first to last; removing from the front of a short
        // vector is cheap, and a long one (a resubscription) is capped in size.
        let (_, generation) = op.names.remove(0);
        let resubscription = op.resubscription;
        if op.names.is_empty()
            && let Some(Expect::Names(op)) = self.expected.pop_front()
            && let Some(done) = op.done
        {
            let _ = done.send(());
        }
        if subscribe
            && let Some(topic) = self.topics[kind.index()].get_mut(name)
            && topic.generation == generation
        {
            topic.active = true;
            for waiter in topic.waiters.drain(..) {
                let _ = waiter.send(Ok(()));
            }
        }
        if resubscription {
            self.resubscribed(1, wakers);
        }
        Ok(())
    }

    /// An error reply answers the oldest command owed a reply, all its names at once
    /// (the server checks permissions for the whole command).
    fn fail_front(&mut self, error: ServerError, wakers: &mut Vec<Waker>) -> Result<(), Desync> {
        let op = match self.expected.pop_front() {
            Some(Expect::Names(op)) => op,
            Some(Expect::Ping) => {
                tracing::warn!(%error, "the subscriber's PING failed");
                return Ok(());
            }
            None => {
                return Err(Desync(format!(
                    "an error reply came when no reply was expected: {error}"
                )));
            }
        };
        tracing::warn!(
            %error,
            command = command_name(op.kind, op.subscribe),
            names = op.names.len(),
            "the server refused a pub/sub command"
        );
        if op.subscribe {
            for (name, generation) in &op.names {
                if let Some(topic) = self.topics[op.kind.index()].get_mut(name)
                    && topic.generation == *generation
                {
                    for waiter in topic.waiters.drain(..) {
                        let _ = waiter.send(Err(Error::Server(error.clone())));
                    }
                }
            }
        }
        if op.resubscription {
            self.resubscribed(op.names.len(), wakers);
        }
        Ok(())
    }

    /// `n` more names of the resubscription are answered; when all are, every
    /// subscription that lived through the loss is told of the gap.
    fn resubscribed(&mut self, n: usize, wakers: &mut Vec<Waker>) {
        self.resubscribing = self.resubscribing.saturating_sub(n);
        if self.resubscribing > 0 {
            return;
        }
        for topic in self.topics.iter().flat_map(|t| t.values()) {
            wakers.extend(topic.members.iter().filter_map(|(_, m)| m.pay_gap()));
        }
    }

    /// Topics listened to now, of each kind.
    pub(crate) fn topic_counts(&self) -> [usize; 3] {
        [0, 1, 2].map(|i| self.topics[i].len())
    }

    /// Whether a PING is already owed a reply.
    pub(crate) fn ping_outstanding(&self) -> bool {
        self.expected.iter().any(|e| matches!(e, Expect::Ping))
    }
}

fn command_name(kind: Kind, subscribe: bool) -> &'static str {
    if subscribe {
        kind.subscribe_command()
    } else {
        kind.unsubscribe_command()
    }
}

fn describe(expect: Option<&Expect>) -> String {
    match expect {
        None => "no reply".into(),
        Some(Expect::Ping) => "a PING reply".into(),
        Some(Expect::Names(op)) => {
            format!("a {} confirmation", command_name(op.kind, op.subscribe))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscriber::message::Event;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    fn confirm(kind: Kind, subscribe: bool, name: &'static str) -> Frame {
        Frame::Confirm {
            kind,
            subscribe,
            name: b(name),
        }
    }

    fn message(name: &'static str, payload: &'static str) -> Frame {
        Frame::Message {
            kind: Kind::Channel,
            topic: b(name),
            message: Message::new(b(name), None, b(payload)),
        }
    }

    fn written(registry: &mut Registry) -> String {
        let mut out = BytesMut::new();
        registry.take_outbox(&mut out);
        String::from_utf8_lossy(&out).replace("\r\n", " ")
    }

    #[test]
    fn two_subscriptions_share_one_server_subscription() {
        let mut r = Registry::default();
        let (a, b_) = (Arc::new(Mailbox::new(8)), Arc::new(Mailbox::new(8)));
        let mut wakers = Vec::new();
        let mut first = r.register(Kind::Channel, &[b("ch")], 1, &a).unwrap();
        let mut second = r.register(Kind::Channel, &[b("ch")], 2, &b_).unwrap();
        assert_eq!(written(&mut r), "*2 $9 SUBSCRIBE $2 ch ");
        r.on_frame(confirm(Kind::Channel, true, "ch"), &mut wakers)
            .unwrap();
        assert!(matches!(first[0].try_recv(), Ok(Ok(()))));
        assert!(matches!(second[0].try_recv(), Ok(Ok(()))));
        // A third one joins an active topic: nothing to wait for, nothing to send.
        let c = Arc::new(Mailbox::new(8));
        assert!(
            r.register(Kind::Channel, &[b("ch")], 3, &c)
                .unwrap()
                .is_empty()
        );
        assert_eq!(written(&mut r), "");
        r.on_frame(message("ch", "hi"), &mut wakers).unwrap();
        for m in [&a, &b_, &c] {
            assert!(matches!(m.try_next(), Some(Event::Message(_))));
        }
        // Only the last to leave unsubscribes.
        assert!(!r.unregister(Kind::Channel, &[b("ch")], 1, None));
        assert!(!r.unregister(Kind::Channel, &[b("ch")], 3, None));
        assert!(r.unregister(Kind::Channel, &[b("ch")], 2, None));
        assert_eq!(written(&mut r), "*2 $11 UNSUBSCRIBE $2 ch ");
        r.on_frame(confirm(Kind::Channel, false, "ch"), &mut wakers)
            .unwrap();
    }

    #[test]
    fn a_stale_confirmation_does_not_activate_a_newer_topic() {
        let mut r = Registry::default();
        let a = Arc::new(Mailbox::new(8));
        let mut wakers = Vec::new();
        let _first = r.register(Kind::Channel, &[b("ch")], 1, &a).unwrap();
        r.unregister(Kind::Channel, &[b("ch")], 1, None);
        let mut second = r.register(Kind::Channel, &[b("ch")], 2, &a).unwrap();
        assert_eq!(
            written(&mut r),
            "*2 $9 SUBSCRIBE $2 ch *2 $11 UNSUBSCRIBE $2 ch *2 $9 SUBSCRIBE $2 ch "
        );
        r.on_frame(confirm(Kind::Channel, true, "ch"), &mut wakers)
            .unwrap();
        assert!(
            second[0].try_recv().is_err(),
            "confirmed by the first SUBSCRIBE"
        );
        r.on_frame(confirm(Kind::Channel, false, "ch"), &mut wakers)
            .unwrap();
        r.on_frame(confirm(Kind::Channel, true, "ch"), &mut wakers)
            .unwrap();
        assert!(matches!(second[0].try_recv(), Ok(Ok(()))));
    }

    #[test]
    fn reconnect_resubscribes_everything_and_owes_each_subscription_a_gap() {
        let mut r = Registry::default();
        let (a, p) = (Arc::new(Mailbox::new(8)), Arc::new(Mailbox::new(8)));
        let mut wakers = Vec::new();
        r.register(Kind::Channel, &[b("x")], 1, &a).unwrap();
        r.register(Kind::Pattern, &[b("p*")], 2, &p).unwrap();
        written(&mut r);
        r.on_disconnect();
        // Joined while disconnected: subscribed with the rest, owed no gap.
        let late = Arc::new(Mailbox::new(8));
        let mut rx = r.register(Kind::Channel, &[b("x")], 3, &late).unwrap();
        r.on_connect();
        assert_eq!(
            written(&mut r),
            "*2 $9 SUBSCRIBE $1 x *2 $10 PSUBSCRIBE $2 p* "
        );
        r.on_frame(confirm(Kind::Channel, true, "x"), &mut wakers)
            .unwrap();
        assert!(matches!(rx[0].try_recv(), Ok(Ok(()))));
        assert!(
            a.try_next().is_none(),
            "gap told before everything is resubscribed"
        );
        r.on_frame(confirm(Kind::Pattern, true, "p*"), &mut wakers)
            .unwrap();
        assert_eq!(a.try_next(), Some(Event::Gap));
        assert_eq!(p.try_next(), Some(Event::Gap));
        assert_eq!(late.try_next(), None);
    }

    #[test]
    fn an_error_fails_the_whole_command_and_a_stranger_is_a_desync() {
        let mut r = Registry::default();
        let a = Arc::new(Mailbox::new(8));
        let mut wakers = Vec::new();
        let mut rx = r.register(Kind::Channel, &[b("a"), b("b")], 1, &a).unwrap();
        written(&mut r);
        r.on_frame(Frame::Error(b("NOPERM no")), &mut wakers)
            .unwrap();
        for rx in &mut rx {
            assert!(matches!(rx.try_recv(), Ok(Err(Error::Server(_)))));
        }
        assert!(
            r.on_frame(confirm(Kind::Channel, true, "a"), &mut wakers)
                .is_err()
        );
        assert!(r.on_frame(Frame::Pong, &mut wakers).is_err());
        r.ping(&mut BytesMut::new());
        assert!(r.ping_outstanding());
        r.on_frame(Frame::Pong, &mut wakers).unwrap();
    }
}
