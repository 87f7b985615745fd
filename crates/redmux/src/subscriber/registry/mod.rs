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
//!
//! Shard channels go one slot per command: a cluster refuses an `SSUBSCRIBE` whose
//! channels are in different slots (CROSSSLOT). On a cluster a shard channel can be
//! dropped by its node (its slot moved: an `SUNSUBSCRIBE` nobody asked for) or
//! refused (`MOVED`); a registry made with [`Registry::relocating`] then sets it
//! aside as *misplaced* for the cluster's shard subscribers to move
//! ([`Registry::take_topic`], [`Registry::adopt`]); any other registry subscribes it
//! again on its own connection.

use std::collections::{HashMap, VecDeque};
use std::mem;
use std::sync::Arc;
use std::task::Waker;

use bytes::{Bytes, BytesMut};
use redmux_resp::CommandBuf;
use tokio::sync::oneshot;

use super::frame::{Frame, Kind};
use super::mailbox::Mailbox;
use super::message::Message;
use crate::error::{Error, ServerError};
use crate::keys::hash_slot;

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
    /// The server confirmed it once, here or on another node: its subscriptions
    /// were listening, so a move or a loss owes them a gap.
    ever_active: bool,
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
    /// Subscribes again a topic that moved or was dropped by the server: its
    /// confirmation pays that topic's subscriptions their gap.
    relocation: bool,
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
    /// Shard channels are moved by someone else (a cluster's shard subscribers)
    /// when their node drops or refuses them.
    relocating: bool,
    /// Shard channels the server dropped or refused, for the mover to take.
    misplaced: Vec<Bytes>,
}

/// A shard channel's subscriptions on their way to another node's registry.
#[derive(Debug)]
pub(crate) struct Moving {
    members: Vec<(u64, Arc<Mailbox>)>,
    waiters: Vec<Waiter>,
    ever_active: bool,
}

/// Whether an error reply to `SSUBSCRIBE` means "not here (now)" on a cluster: the
/// slot is another node's, or the cluster cannot say yet. Checked by code only.
fn is_misplacement(error: &ServerError) -> bool {
    matches!(
        error.code(),
        "MOVED" | "ASK" | "TRYAGAIN" | "CLUSTERDOWN" | "LOADING"
    )
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
                        ever_active: false,
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
        self.queue(kind, true, new_names, Flavour::Plain, None);
        Ok(pending)
    }

    /// A registry for one node of a cluster: the shard channels its server drops or
    /// refuses are set aside ([`Registry::take_misplaced`]) rather than subscribed
    /// again here.
    pub(crate) fn relocating() -> Registry {
        Registry {
            relocating: true,
            ..Registry::default()
        }
    }

    /// Queues (un)subscribe commands for `names`: shard channels one slot per
    /// command (CROSSSLOT otherwise), every kind at most `NAMES_PER_COMMAND` names
    /// per command. `done` goes with the last: names are confirmed in order.
    fn queue(
        &mut self,
        kind: Kind,
        subscribe: bool,
        names: Vec<(Bytes, u64)>,
        flavour: Flavour,
        done: Option<oneshot::Sender<()>>,
    ) {
        let groups: Vec<Vec<(Bytes, u64)>> = if kind == Kind::Shard {
            let mut by_slot: Vec<(u16, Vec<(Bytes, u64)>)> = Vec::new();
            for (name, generation) in names {
                let slot = hash_slot(&name);
                match by_slot.iter_mut().find(|(s, _)| *s == slot) {
                    Some((_, group)) => group.push((name, generation)),
                    None => by_slot.push((slot, vec![(name, generation)])),
                }
            }
            by_slot.into_iter().map(|(_, group)| group).collect()
        } else {
            vec![names]
        };
        let start = self.outbox.len();
        for group in groups {
            for chunk in group.chunks(NAMES_PER_COMMAND) {
                self.outbox.push(Op {
                    kind,
                    subscribe,
                    names: chunk.to_vec(),
                    resubscription: flavour == Flavour::Resubscription,
                    relocation: flavour == Flavour::Relocation,
                    done: None,
                });
            }
        }
        match (self.outbox[start..].last_mut(), done) {
            (Some(last), done) => last.done = done,
            // Nothing to send: nothing to wait for.
            (None, Some(done)) => {
                let _ = done.send(());
            }
            (None, None) => {}
        }
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
        self.queue(kind, false, gone, Flavour::Plain, done);
        true
    }

    /// Whether the server dropped or refused shard channels not yet taken.
    pub(crate) fn has_misplaced(&self) -> bool {
        !self.misplaced.is_empty()
    }

    /// Whether some subscription listens to `name` here.
    pub(crate) fn has_topic(&self, kind: Kind, name: &Bytes) -> bool {
        self.topics[kind.index()].contains_key(name)
    }

    /// The shard channels this node dropped or refused since the last call, that
    /// some subscription still listens to.
    pub(crate) fn take_misplaced(&mut self) -> Vec<Bytes> {
        let mut names = mem::take(&mut self.misplaced);
        names.retain(|n| self.has_topic(Kind::Shard, n));
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Takes a shard channel's subscriptions away, to [`adopt`](Self::adopt) them on
    /// another node; unsubscribes it here if the server still serves it.
    pub(crate) fn take_topic(&mut self, name: &Bytes) -> Option<Moving> {
        let topic = self.topics[Kind::Shard.index()].remove(name)?;
        self.misplaced.retain(|n| n != name);
        if topic.active && !self.closed {
            self.queue(
                Kind::Shard,
                false,
                vec![(name.clone(), 0)],
                Flavour::Plain,
                None,
            );
        }
        if topic.ever_active {
            for (_, mailbox) in &topic.members {
                mailbox.owe_gap();
            }
        }
        Some(Moving {
            members: topic.members,
            waiters: topic.waiters,
            ever_active: topic.ever_active,
        })
    }

    /// Takes in a shard channel's subscriptions from another node and subscribes
    /// it here; its subscriptions get their gap once this node confirms. On a
    /// closed registry the waiting calls fail and the streams end (the wakers to
    /// call go into `wakers`).
    pub(crate) fn adopt(&mut self, name: Bytes, moving: Moving, wakers: &mut Vec<Waker>) {
        if self.closed {
            for waiter in moving.waiters {
                let _ = waiter.send(Err(Error::Closed));
            }
            wakers.extend(moving.members.iter().filter_map(|(_, m)| m.close()));
            return;
        }
        self.next_generation += 1;
        let generation = self.next_generation;
        let topic = self.topics[Kind::Shard.index()]
            .entry(name.clone())
            .or_insert_with(|| Topic {
                generation,
                active: false,
                ever_active: false,
                members: Vec::new(),
                waiters: Vec::new(),
            });
        topic.generation = generation;
        topic.active = false;
        topic.ever_active |= moving.ever_active;
        topic.members.extend(moving.members);
        topic.waiters.extend(moving.waiters);
        self.queue(
            Kind::Shard,
            true,
            vec![(name, generation)],
            Flavour::Relocation,
            None,
        );
    }

    /// Subscribes a misplaced shard channel again on this connection (the map
    /// still says its slot is here: the server may have been a step behind).
    pub(crate) fn subscribe_again(&mut self, name: &Bytes) {
        let Some(topic) = self.topics[Kind::Shard.index()].get(name) else {
            return;
        };
        if topic.active || self.closed {
            return;
        }
        let generation = topic.generation;
        self.queue(
            Kind::Shard,
            true,
            vec![(name.clone(), generation)],
            Flavour::Relocation,
            None,
        );
    }

    /// The server dropped a shard channel by itself (its slot moved away): its
    /// subscriptions are owed a gap, and it is subscribed again, here or, for a
    /// relocating registry, wherever the mover finds its slot now.
    fn dropped_by_server(&mut self, name: &Bytes) {
        let Some(topic) = self.topics[Kind::Shard.index()].get_mut(name) else {
            // Unsubscribed by us a moment ago.
            return;
        };
        if !topic.active {
            return;
        }
        topic.active = false;
        for (_, mailbox) in &topic.members {
            mailbox.owe_gap();
        }
        if self.relocating {
            self.misplaced.push(name.clone());
        } else {
            self.subscribe_again(name);
        }
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
            self.queue(kind, true, names, Flavour::Resubscription, None);
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
        let answers_front = matches!(
            self.expected.front(),
            Some(Expect::Names(op)) if op.kind == kind
                && op.subscribe == subscribe
                && op.names.first().is_some_and(|(n, _)| n == name)
        );
        if !answers_front && kind == Kind::Shard && !subscribe {
            // Nobody asked: a cluster node drops the shard channels of a slot it
            // no longer serves. It is the one reply that comes unasked.
            self.dropped_by_server(name);
            return Ok(());
        }
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
        let relocation = op.relocation;
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
            topic.ever_active = true;
            for waiter in topic.waiters.drain(..) {
                let _ = waiter.send(Ok(()));
            }
            if relocation {
                wakers.extend(topic.members.iter().filter_map(|(_, m)| m.pay_gap()));
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
        // On a cluster, a shard channel refused as not this node's is moved to
        // its slot's owner: its calls keep waiting for that node's confirmation.
        let misplaced = self.relocating && op.kind == Kind::Shard && is_misplacement(&error);
        if op.subscribe {
            for (name, generation) in &op.names {
                if let Some(topic) = self.topics[op.kind.index()].get_mut(name)
                    && topic.generation == *generation
                {
                    if misplaced {
                        self.misplaced.push(name.clone());
                        continue;
                    }
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

/// Which kind of subscribe an [`Op`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    /// Asked for by a subscription (or an unsubscribe).
    Plain,
    /// Everything again, after a reconnect.
    Resubscription,
    /// One topic again, after it moved or the server dropped it.
    Relocation,
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
mod tests;
