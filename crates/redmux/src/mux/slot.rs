//! [`Slot`]: what the reader does with one reply, and the pending FIFO of slots.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::BytesMut;
use parking_lot::Mutex;
use redmux_resp::Value;

use super::reply::{Keeper, ReplySender};
use crate::error::{CommandStatus, Error, Result};

/// Where one reply goes.
#[derive(Debug)]
pub(crate) enum Slot {
    /// An awaited command with a timeout of its own: the reply is sent to its
    /// future (which may be gone, in which case the reply is dropped), and the
    /// future keeps its own timer.
    Waiter(ReplySender),
    /// An awaited command with the client's `command_timeout`: like `Waiter`, but
    /// the multiplexer's sweep (see [`super::expiry`]) fails it at its deadline, so
    /// the future needs no timer. Every such deadline is the submit instant plus
    /// the same timeout, so they grow in queue order and the sweep looks only at
    /// the oldest one still waiting.
    Timed(ReplySender, Instant),
    /// A `Timed` command whose deadline passed: its caller was told; the reply,
    /// if one comes, is dropped.
    Expired,
    /// A fire-and-forget command: the reply is read and counted, never delivered.
    Ignore,
    /// One command of a group (a batch chunk, a transaction): the reply goes into the
    /// group's shared [`Collector`] at its index, so a chunk of a thousand commands
    /// costs one allocation instead of a channel per command.
    Collect(Collected),
}

impl Slot {
    /// Whether the awaited command's future is gone: nobody wants its reply.
    pub(crate) fn is_abandoned(&self) -> bool {
        match self {
            Slot::Waiter(tx) | Slot::Timed(tx, _) => tx.is_closed(),
            _ => false,
        }
    }

    /// Delivers a reply. Returns `true` when it was a fire-and-forget error.
    pub(crate) fn complete(self, reply: Value) -> bool {
        match self {
            Slot::Waiter(tx) | Slot::Timed(tx, _) => {
                tx.send(Ok(reply));
                false
            }
            Slot::Expired => false,
            Slot::Collect(collected) => {
                collected.finish(Ok(reply));
                false
            }
            Slot::Ignore => {
                if let Some(line) = reply.as_error() {
                    tracing::debug!(error = %String::from_utf8_lossy(line), "fire-and-forget command failed");
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Keeps a written command's bytes for its awaited future, which may send it
    /// again ([`super::reply::ReplySender::keep`]); gives them back when there is
    /// no such future.
    pub(crate) fn keep(&self, bytes: BytesMut) -> Option<BytesMut> {
        match self {
            Slot::Waiter(tx) | Slot::Timed(tx, _) => {
                tx.keep(bytes);
                None
            }
            _ => Some(bytes),
        }
    }

    /// A handle to keep the command's bytes for its awaited future once the
    /// slot itself has gone to the reader; `None` when there is no such future.
    pub(crate) fn keeper(&self) -> Option<Keeper> {
        match self {
            Slot::Waiter(tx) | Slot::Timed(tx, _) => tx.keeper(),
            _ => None,
        }
    }

    /// Fails the command.
    pub(crate) fn fail(self, error: Error) {
        match self {
            Slot::Waiter(tx) | Slot::Timed(tx, _) => {
                tx.send(Err(error));
            }
            Slot::Collect(collected) => collected.finish(Err(error)),
            Slot::Ignore | Slot::Expired => {}
        }
    }

    /// The sweep's look at one slot: a `Timed` slot past its deadline is failed
    /// with [`super::expired_error`] saying where the command was (`status`), and
    /// becomes `Expired`. Returns the deadline of a `Timed` slot still waiting (the
    /// sweep stops there), `None` otherwise.
    pub(crate) fn expire(&mut self, now: Instant, status: CommandStatus) -> Option<Instant> {
        match self {
            Slot::Timed(_, deadline) if *deadline > now => Some(*deadline),
            Slot::Timed(..) => {
                if let Slot::Timed(tx, _) = std::mem::replace(self, Slot::Expired) {
                    tx.send(Err(super::expired_error(status)));
                }
                None
            }
            _ => None,
        }
    }
}

/// The replies of a group of commands, filled in by index as they arrive; the
/// group's owner polls it until every reply is in.
#[derive(Debug)]
pub(crate) struct Collector {
    state: Mutex<Collecting>,
}

#[derive(Debug)]
struct Collecting {
    replies: Vec<Option<Result<Value>>>,
    /// Replies still missing.
    remaining: usize,
    /// The owner, to wake when the last reply is in.
    waker: Option<Waker>,
}

impl Collector {
    /// A collector for `len` replies.
    pub(crate) fn new(len: usize) -> Arc<Collector> {
        let mut replies = Vec::with_capacity(len);
        replies.resize_with(len, || None);
        Arc::new(Collector {
            state: Mutex::new(Collecting {
                replies,
                remaining: len,
                waker: None,
            }),
        })
    }

    /// The slot whose reply lands at `index`.
    pub(crate) fn slot(self: &Arc<Self>, index: usize) -> Slot {
        Slot::Collect(Collected {
            collector: Some(self.clone()),
            index,
        })
    }

    /// Records the outcome at `index`; the first one recorded there wins.
    pub(crate) fn set(&self, index: usize, outcome: Result<Value>) {
        let mut state = self.state.lock();
        let Some(place) = state.replies.get_mut(index) else {
            return;
        };
        if place.is_some() {
            return;
        }
        *place = Some(outcome);
        state.remaining -= 1;
        let waker = if state.remaining == 0 {
            state.waker.take()
        } else {
            None
        };
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Records `error` at every index, whatever was there: for a group that was
    /// refused as a whole before any of it was queued.
    pub(crate) fn fail_all(&self, error: &Error) {
        let mut state = self.state.lock();
        for place in &mut state.replies {
            *place = Some(Err(error.clone()));
        }
        state.remaining = 0;
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Records the outcome at `index`, replacing any there.
    pub(crate) fn replace(&self, index: usize, outcome: Result<Value>) {
        let mut state = self.state.lock();
        let Some(place) = state.replies.get_mut(index) else {
            return;
        };
        let was_missing = place.is_none();
        *place = Some(outcome);
        if was_missing {
            state.remaining -= 1;
            if state.remaining == 0 {
                let waker = state.waker.take();
                drop(state);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        }
    }

    /// Ready with every outcome once the last one is in.
    pub(crate) fn poll_complete(&self, cx: &mut Context<'_>) -> Poll<Vec<Option<Result<Value>>>> {
        let mut state = self.state.lock();
        if state.remaining == 0 {
            return Poll::Ready(std::mem::take(&mut state.replies));
        }
        match &mut state.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            waker => *waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Every outcome so far, `None` where none came yet: for a group whose deadline
    /// passed.
    pub(crate) fn take_partial(&self) -> Vec<Option<Result<Value>>> {
        std::mem::take(&mut self.state.lock().replies)
    }
}

/// The slot of one reply in a [`Collector`]. Dropped without an outcome (its entry
/// was discarded unwritten, as when a hold's follow-up is abandoned), it records
/// that the command was not sent, so the group never waits for it.
#[derive(Debug)]
pub(crate) struct Collected {
    collector: Option<Arc<Collector>>,
    index: usize,
}

impl Collected {
    fn finish(mut self, outcome: Result<Value>) {
        if let Some(collector) = self.collector.take() {
            collector.set(self.index, outcome);
        }
    }
}

impl Drop for Collected {
    fn drop(&mut self) {
        if let Some(collector) = self.collector.take() {
            collector.set(
                self.index,
                Err(Error::ConnectionLost {
                    status: crate::error::CommandStatus::NotSent,
                    reason: "the command was discarded before it was written".into(),
                }),
            );
        }
    }
}

/// Slots of commands written and awaiting their reply, oldest first. Only the
/// multiplexer touches it: the writer appends before it writes, the reader pops one
/// per reply.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    fifo: Mutex<Fifo>,
    /// The length, readable without the lock (the fast path asks it per command).
    len: AtomicUsize,
}

#[derive(Debug, Default)]
struct Fifo {
    slots: VecDeque<Slot>,
    /// How many of the oldest slots the sweep is done with (expired, or not
    /// `Timed`): it starts after them next time, so each slot is looked at about
    /// once however long a stalled server keeps them.
    swept: usize,
}

impl Pending {
    pub(crate) fn extend(&self, slots: &mut Vec<Slot>) {
        let mut fifo = self.fifo.lock();
        fifo.slots.extend(slots.drain(..));
        self.len.store(fifo.slots.len(), Relaxed);
    }

    pub(crate) fn push(&self, slot: Slot) {
        let mut fifo = self.fifo.lock();
        fifo.slots.push_back(slot);
        self.len.store(fifo.slots.len(), Relaxed);
    }

    /// Fails the `Timed` slots whose deadline has passed; returns the deadline of
    /// the oldest one still waiting.
    pub(crate) fn expire(&self, now: Instant) -> Option<Instant> {
        let mut fifo = self.fifo.lock();
        let Fifo { slots, swept } = &mut *fifo;
        while let Some(slot) = slots.get_mut(*swept) {
            // Written: it may have run.
            if let Some(next) = slot.expire(now, CommandStatus::Sent) {
                return Some(next);
            }
            *swept += 1;
        }
        None
    }

    /// Moves the `n` oldest slots into `into`; `false` if fewer than `n` are waiting
    /// (a reply nobody asked for: the stream is out of sync).
    pub(crate) fn pop_into(&self, n: usize, into: &mut Vec<Slot>) -> bool {
        let mut fifo = self.fifo.lock();
        if fifo.slots.len() < n {
            return false;
        }
        into.extend(fifo.slots.drain(..n));
        fifo.swept = fifo.swept.saturating_sub(n);
        self.len.store(fifo.slots.len(), Relaxed);
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    pub(crate) fn take_all(&self) -> VecDeque<Slot> {
        let mut fifo = self.fifo.lock();
        self.len.store(0, Relaxed);
        fifo.swept = 0;
        std::mem::take(&mut fifo.slots)
    }
}
