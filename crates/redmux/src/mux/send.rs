//! The multiplexer's API to the layers above: send one command (awaited or
//! fire-and-forget), send a group, wait for room. Nothing above the multiplexer
//! builds a queue entry or reads the queue: this file is the whole of what they
//! may ask of it, with [`super::Group`] for groups and the state and stats in
//! `mod.rs`.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use super::group::Group;
use super::{Entry, ReplyReceiver, Shared, Slot, SubmitError, reply_channel};
use crate::error::{Error, Result};

/// An encoded command: its buffer, then the large arguments it keeps by
/// reference (none for most commands).
pub(crate) type Frame = (BytesMut, Vec<Bytes>);

/// An awaited command the multiplexer took: where its reply will come, and what
/// its future needs to report on it.
#[derive(Debug)]
pub(crate) struct Ticket {
    pub(crate) rx: ReplyReceiver,
    /// Its number in the queue, for diagnostics.
    pub(crate) seq: u64,
    /// Whether the multiplexer's sweep enforces the deadline (the future then
    /// needs no timer of its own).
    pub(crate) timed: bool,
    /// Whether the caller wrote it itself, alone on the connection: its future
    /// may read the reply itself ([`Shared::read_own_reply`]).
    pub(crate) lone: bool,
}

impl Shared {
    /// Sends one awaited command, due by `deadline` (`timeout` from now).
    ///
    /// With the client's own timeout the multiplexer's sweep fails it at its
    /// deadline and the caller's future needs no timer; with another timeout, or
    /// under overload, the future keeps one (`Ticket::timed` is `false`).
    #[inline]
    pub(crate) fn send(
        &self,
        frame: Frame,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<Ticket> {
        self.send_entry::<false>(frame, timeout, deadline)
    }

    /// As [`send`](Self::send), for a command its future may have to send again
    /// (a cluster command, should the reply be a redirect): once written, or
    /// failed unsent, its bytes go to the ticket's receiver
    /// ([`ReplyReceiver::take_kept`](super::ReplyReceiver::take_kept)) instead of
    /// being recycled, and a refusal (a node whose connection is down) comes
    /// through the ticket too, with them. A command the writer writes from its own
    /// buffers (large, or with large parts) is not kept: send those with `send`.
    #[inline]
    pub(crate) fn send_kept(
        &self,
        frame: Frame,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<Ticket> {
        self.send_entry::<true>(frame, timeout, deadline)
    }

    /// `send` and `send_kept`: a constant, so `send` carries none of the keeping.
    fn send_entry<const KEEP: bool>(
        &self,
        frame: Frame,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<Ticket> {
        let (tx, rx) = reply_channel();
        let mut timed = timeout == self.config.command_timeout;
        let slot = if timed {
            Slot::Timed(tx, deadline.into_std())
        } else {
            Slot::Waiter(tx)
        };
        let mut entry = Entry::with_parts(frame, slot, deadline.into_std());
        if KEEP {
            // A command written from its own buffers is not kept (see `send_kept`).
            entry.keep = !entry.is_direct();
        }
        let (seq, lone) = match self.submit(entry) {
            Ok((seq, lone)) => (seq, lone && self.lone_read_allowed()),
            Err(SubmitError::Refused(e)) => return Err(e),
            Err(SubmitError::Full(mut entry)) => {
                // Only under overload: parked in order, to move into the queue as
                // room frees, so none of this caller's later commands overtakes
                // it. It enters the queue late, out of the deadline order the
                // sweep relies on: it keeps a timer of its own.
                if let Slot::Timed(tx, _) = entry.slot {
                    entry.slot = Slot::Waiter(tx);
                }
                timed = false;
                let seq = self.park(*entry).inspect_err(|e| self.count_overload(e))?;
                (seq, false)
            }
        };
        Ok(Ticket {
            rx,
            seq,
            timed,
            lone,
        })
    }

    /// Sends one command without a place for its reply: the reply is read and
    /// counted, never delivered. Never waits: at the queue's bound it fails with
    /// [`Error::Overloaded`].
    pub(crate) fn send_detached(&self, frame: Frame, timeout: Option<Duration>) -> Result<()> {
        let timeout = timeout.unwrap_or(self.config.command_timeout);
        let entry = Entry::with_parts(frame, Slot::Ignore, super::deadline(timeout).into_std());
        match self.submit(entry) {
            Ok(_) => Ok(()),
            Err(SubmitError::Refused(e)) => Err(e),
            Err(SubmitError::Full(_)) => {
                self.counters.overloaded.fetch_add(1, Relaxed);
                Err(self.queue.overloaded_now())
            }
        }
    }

    /// Counts a command refused at the queue's bound.
    fn count_overload(&self, error: &Error) {
        if matches!(error, Error::Overloaded(_)) {
            self.counters.overloaded.fetch_add(1, Relaxed);
        }
    }

    /// Sends a group of commands back to back, with no other caller's command
    /// between them; returns the first one's number. Refused when the queue is at
    /// its bound: wait with [`Shared::wait_for_room`] first.
    pub(crate) fn send_group(&self, group: Group) -> Result<u64> {
        self.submit_many(group.into_entries())
            .inspect_err(|e| self.count_overload(e))
    }

    /// Whether a group would be taken now (the queue is below its bound).
    pub(crate) fn has_room(&self) -> bool {
        !self.queue.is_full()
    }

    /// Waits until the queue is below its bound, or until `deadline` (a group
    /// sent then is refused as overloaded if the queue is still full).
    pub(crate) async fn wait_for_room(&self, deadline: Instant) {
        let room = self.queue.room().notified();
        tokio::pin!(room);
        // Registered before the check, so a wakeup in between is not lost.
        room.as_mut().enable();
        // One wakeup may bring room for the parked commands ahead, not for a group:
        // look again after each, until there is room or the deadline passes.
        while self.queue.is_full() {
            if tokio::time::timeout_at(deadline, room.as_mut())
                .await
                .is_err()
            {
                return;
            }
            room.set(self.queue.room().notified());
            room.as_mut().enable();
        }
    }

    /// The error for an awaited command whose own deadline passed before its
    /// reply came: a command still parked waited for room all that time (the
    /// queue's bound is the story, not the server), any other timed out.
    pub(crate) fn deadline_error(&self, command: &str, timeout: Duration, seq: u64) -> Error {
        if self.queue.is_parked(seq) {
            // It moves in later and is dropped there unwritten.
            self.counters.overloaded.fetch_add(1, Relaxed);
            return self.queue.overloaded_now();
        }
        self.timeout_error(command, timeout, seq)
    }
}
