//! The submission queue: where callers leave encoded commands for the writer.
//!
//! One `parking_lot` mutex around a vector. A caller takes the lock once to push; the
//! writer takes it once to swap the whole vector out. Commands not yet written when a
//! connection breaks stay here (this is the backlog) and go out after the reconnect.
//!
//! At its bound the queue *parks* awaited commands: they get their number and wait,
//! in order, outside the bound, and move in as room frees. Nothing else is queued
//! while any command is parked, so no caller's later command can overtake one of
//! its own that is waiting for room.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::{Notify, oneshot};

use super::slot::Slot;
use crate::connection::WriteHalf;
use crate::error::{CommandStatus, Error};

/// Commands at least this large are written from their own buffer instead of being
/// copied into the batch: a 4 MiB value costs a syscall, not a 4 MiB memcpy.
const WRITE_DIRECTLY: usize = 64 * 1024;

/// One command waiting to be written.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) bytes: BytesMut,
    /// What follows `bytes`, for a command with large `Bytes` arguments: they are
    /// written from their own buffers, never copied (see
    /// [`redmux_resp::CommandBuf::finish_parts`]).
    pub(crate) parts: Option<Box<[Bytes]>>,
    pub(crate) slot: Slot,
    /// Past this instant the caller has been told the command timed out unsent, so
    /// it must never be written.
    pub(crate) deadline: Instant,
    /// Set on the last command of a group that must not be followed by anyone
    /// else's (a transaction's WATCH and checks): once it is written, the writer
    /// waits for these entries (until `deadline`, or until the sender is dropped)
    /// and writes them before taking anything else from the queue.
    pub(crate) hold: Option<oneshot::Receiver<Vec<Entry>>>,
    /// Its number in the queue, given when it is pushed; 0 for entries that never
    /// went through the queue (a hold's follow-up).
    pub(crate) seq: u64,
    /// Its bytes go to its awaited future once written, or with its failure,
    /// instead of being recycled: a cluster command kept to resend after a
    /// redirect (see [`Entry::fail`]).
    pub(crate) keep: bool,
}

impl Entry {
    #[inline]
    pub(crate) fn new(bytes: BytesMut, slot: Slot, deadline: Instant) -> Self {
        Entry {
            bytes,
            parts: None,
            slot,
            deadline,
            hold: None,
            seq: 0,
            keep: false,
        }
    }

    /// Fails the command, handing its bytes to its future first if it keeps them:
    /// one failed unsent can be sent again.
    pub(crate) fn fail(self, error: Error) {
        if self.keep {
            let _ = self.slot.keep(self.bytes);
        }
        self.slot.fail(error);
    }

    /// A command encoded as a buffer followed by large parts.
    #[inline]
    pub(crate) fn with_parts(
        (bytes, parts): (BytesMut, Vec<Bytes>),
        slot: Slot,
        deadline: Instant,
    ) -> Self {
        let mut entry = Entry::new(bytes, slot, deadline);
        if !parts.is_empty() {
            entry.parts = Some(parts.into_boxed_slice());
        }
        entry
    }

    /// Whether the writer writes it from its own buffers instead of copying it
    /// into the batch: a command with large parts, or one of at least
    /// [`WRITE_DIRECTLY`] bytes.
    pub(crate) fn is_direct(&self) -> bool {
        self.parts.is_some() || self.bytes.len() >= WRITE_DIRECTLY
    }

    /// Its encoded size.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
            + self
                .parts
                .as_deref()
                .map_or(0, |p| p.iter().map(Bytes::len).sum())
    }
}

#[derive(Debug, Default)]
struct State {
    entries: Vec<Entry>,
    /// Awaited commands that found the queue at its bound, numbered, in order: they
    /// move into `entries` as room frees, and while any waits nothing else is
    /// queued. Their numbers run on from the last entry's, in order (with gaps
    /// where abandoned ones were dropped).
    parked: VecDeque<Entry>,
    /// Bytes of the parked commands.
    parked_bytes: usize,
    /// Sequence number of the last command pushed; commands are numbered from 1.
    pushed: u64,
    /// Sequence number of the last command the writer took out.
    taken: u64,
    bytes: usize,
    closed: bool,
    /// Who may write to the socket now.
    owner: Owner,
    /// The connection's write half while connected, for the fast path.
    socket: Option<Arc<WriteHalf>>,
    /// What a fast-path caller could not write at once; the writer writes it next.
    partial: Option<BytesMut>,
    /// How many of the oldest entries the expiry sweep is done with, as in the
    /// pending FIFO; back to 0 whenever entries leave or come back.
    swept: usize,
}

/// Who owns the socket's write side. Ownership, not a lock held across writes, so a
/// caller can write without waiting and the writer task can write across awaits.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// Nobody: a lone caller may write its command itself.
    #[default]
    Free,
    /// A caller on the fast path is writing.
    Caller,
    /// The writer task has work; it keeps ownership until it finds the queue empty.
    Writer,
    /// A fast-path write was cut short; the rest is in `partial`, for the writer.
    Partial,
}

/// What the writer found when it came for work.
#[derive(Debug)]
pub(crate) enum Take {
    /// Entries to write (swapped into the caller's vector).
    Batch,
    /// The rest of a fast-path write, to finish before anything else.
    Partial(BytesMut),
    /// Nothing queued, or a caller is writing; wait for a wakeup.
    Idle,
}

/// A caller's permission to write its command straight to the socket.
#[derive(Debug)]
pub(crate) struct FastPath {
    pub(crate) seq: u64,
    pub(crate) socket: Arc<WriteHalf>,
}

/// Queued bytes past which (or past one write's worth, if less) a caller writes the
/// queue out itself when the writer task
/// has not come for it. The writer is woken on a push from a worker thread, which
/// tokio runs next *on that thread* (its LIFO slot, which no other worker can
/// steal): while one task pushes a long burst, the writer cannot run until the task
/// yields, and nothing reaches the wire. An eighth of a default write (1 MiB):
/// well above what a thousand small commands queue between two of the writer's
/// takes (about 45 KB), so ordinary load never gets here, and a write this large
/// costs a syscall per two thousand small commands or more, never more syscalls
/// than the writer makes. Small enough that the command buffers one assist frees
/// all go back to its thread's pool for the next (redmux-resp's `buffer_pool`:
/// about 2,900 small buffers; at 256 KiB half of a burst's commands allocated and
/// freed theirs, 138 instructions per command more in callgrind).
pub(crate) const ASSIST_BYTES: usize = 128 * 1024;

/// A caller's permission to write out what is queued (see [`Queue::begin_assist`]).
#[derive(Debug)]
pub(crate) struct Assist {
    /// The rest of an earlier write cut short, to go first.
    pub(crate) rest: Option<BytesMut>,
    pub(crate) socket: Arc<WriteHalf>,
}

#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<State>,
    /// Wakes the writer when the queue goes from empty to not empty, or closes.
    wake: Notify,
    /// Wakes callers waiting for room when the writer takes commands out.
    room: Notify,
    max_commands: usize,
    max_bytes: usize,
    /// [`ASSIST_BYTES`], or one write's worth if that is less.
    assist_bytes: usize,
    /// The most bytes in one write (`Config::max_write_bytes`).
    max_write: usize,
}

/// Why a command was not queued.
#[derive(Debug)]
pub(crate) enum PushError {
    /// The client is closed.
    Closed,
    /// The queue is at its bound; the entry is given back to wait or fail.
    /// Boxed: only overload pays for it, and every push's `Result` stays small.
    Full(Box<Entry>),
}

impl Queue {
    pub(crate) fn new(max_commands: usize, max_bytes: usize, max_write: usize) -> Self {
        let max_write = max_write.max(1);
        Queue {
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            room: Notify::new(),
            max_commands: max_commands.max(1),
            max_bytes: max_bytes.max(1),
            assist_bytes: ASSIST_BYTES.min(max_write),
            max_write,
        }
    }

    /// The most bytes in one write.
    pub(crate) fn max_write(&self) -> usize {
        self.max_write
    }

    /// Appends a command; returns its sequence number, and whether the queue now
    /// holds [`ASSIST_BYTES`] (or a write's worth) that the writer has not come for (see
    /// [`Queue::begin_assist`]).
    #[inline]
    pub(crate) fn push(&self, mut entry: Entry) -> Result<(u64, bool), PushError> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(PushError::Closed);
        }
        // Its length, once: three uses below (callgrind, C = 1000: ~15
        // instructions per command for the two more calls).
        let len = entry.len();
        if !state.parked.is_empty() || !self.fits_len(&state, len) {
            // Boxed after the lock is let go: every other caller waits on it.
            drop(state);
            return Err(PushError::Full(Box::new(entry)));
        }
        entry.seq = Self::number(&mut state);
        // Read under the lock the push holds anyway: one compare per command.
        // Without a socket (not connected yet, or reconnecting) there is nothing to
        // write to: `begin_assist` would refuse, after taking the lock again, on
        // every push of a backlog past the mark (a burst issued right after
        // `connect` on a current-thread runtime: 94,516 of 100,000 pushes).
        let assist = state.bytes + len >= self.assist_bytes
            && matches!(state.owner, Owner::Free | Owner::Partial)
            && state.socket.is_some();
        Ok((self.append_len(state, entry, len), assist))
    }

    /// The next sequence number.
    fn number(state: &mut State) -> u64 {
        state.pushed += 1;
        state.pushed
    }

    /// Appends a numbered entry within the bound, releases the lock, and wakes the
    /// writer if the queue was empty; returns the entry's number.
    #[inline]
    fn append(&self, state: MutexGuard<'_, State>, entry: Entry) -> u64 {
        let len = entry.len();
        self.append_len(state, entry, len)
    }

    /// [`append`](Self::append) of an entry `len` bytes long.
    #[inline]
    fn append_len(&self, mut state: MutexGuard<'_, State>, entry: Entry, len: usize) -> u64 {
        let seq = entry.seq;
        state.bytes += len;
        let was_empty = state.entries.is_empty();
        state.entries.push(entry);
        drop(state);
        // A writer that swapped the queue out empties it; the first push after that
        // wakes it (or leaves a permit it will find). Later pushes need no wakeup.
        if was_empty {
            self.wake.notify_one();
        }
        seq
    }

    /// Whether `entry` fits within the bound now. One command always fits in an
    /// empty queue, however large it is.
    fn fits(&self, state: &State, entry: &Entry) -> bool {
        self.fits_len(state, entry.len())
    }

    /// [`fits`](Self::fits) for an entry `len` bytes long.
    #[inline]
    fn fits_len(&self, state: &State, len: usize) -> bool {
        state.entries.is_empty()
            || (state.entries.len() < self.max_commands && state.bytes + len <= self.max_bytes)
    }

    /// Appends a command if it fits, else parks it to move in, in order, as room
    /// frees; returns its sequence number and whether it was parked.
    pub(crate) fn push_or_park(&self, mut entry: Entry) -> Result<(u64, bool), Error> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(Error::Closed);
        }
        if state.parked.is_empty() && self.fits(&state, &entry) {
            entry.seq = Self::number(&mut state);
            return Ok((self.append(state, entry), false));
        }
        // Parked commands are bounded too, by one more queue's worth: past that an
        // awaited command fails as a fire-and-forget one does. Commands whose
        // futures are gone make room first.
        if self.parked_full(&state, &entry) {
            Self::forget_abandoned(&mut state);
            if self.parked_full(&state, &entry) {
                return Err(self.overloaded(&state));
            }
        }
        let seq = Self::number(&mut state);
        entry.seq = seq;
        state.parked_bytes += entry.len();
        state.parked.push_back(entry);
        Ok((seq, true))
    }

    /// Whether `entry` would take the parked list past its bound. One always parks
    /// when none is parked, however large it is, as one always fits in the queue.
    fn parked_full(&self, state: &State, entry: &Entry) -> bool {
        !state.parked.is_empty()
            && (state.parked.len() >= self.max_commands
                || state.parked_bytes + entry.len() > self.max_bytes)
    }

    /// Whether the command numbered `seq` is parked, waiting for room.
    pub(crate) fn is_parked(&self, seq: u64) -> bool {
        let state = self.state.lock();
        match (state.parked.front(), state.parked.back()) {
            (Some(first), Some(last)) => (first.seq..=last.seq).contains(&seq),
            _ => false,
        }
    }

    /// Whether a group would be refused now: the queue at its bound, or commands
    /// parked ahead of it.
    pub(crate) fn is_full(&self) -> bool {
        self.refuses_groups(&self.state.lock())
    }

    fn refuses_groups(&self, state: &State) -> bool {
        !state.parked.is_empty()
            || state.entries.len() >= self.max_commands
            || state.bytes >= self.max_bytes
    }

    /// Moves parked commands into the queue, oldest first, while they fit. Those
    /// whose future is gone are dropped unsent: nobody waits for them, and a
    /// caller that gave up and retried must not have both copies run.
    fn unpark(&self, state: &mut State) {
        while let Some(entry) = state.parked.front() {
            let abandoned = entry.slot.is_abandoned();
            if !abandoned && !self.fits(state, entry) {
                break;
            }
            if let Some(entry) = state.parked.pop_front() {
                state.parked_bytes = state.parked_bytes.saturating_sub(entry.len());
                if !abandoned {
                    state.bytes += entry.len();
                    state.entries.push(entry);
                }
            }
        }
    }

    /// Drops the parked commands whose futures are gone.
    fn forget_abandoned(state: &mut State) {
        state.parked.retain(|e| !e.slot.is_abandoned());
        state.parked_bytes = state.parked.iter().map(Entry::len).sum();
    }

    /// Whether the writer is done for good: the queue closed, nothing queued or
    /// parked, and no caller in the middle of a fast-path write.
    pub(crate) fn is_drained(&self) -> bool {
        let state = self.state.lock();
        state.closed
            && state.entries.is_empty()
            && state.parked.is_empty()
            && state.owner != Owner::Caller
            && state.partial.is_none()
    }

    /// Appends commands that must go out back to back, under one lock; returns the
    /// sequence number of the first. A group is refused only when the queue is
    /// already at its bound, so it may overshoot the bound by one group.
    pub(crate) fn push_many(&self, entries: Vec<Entry>) -> Result<u64, Error> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(Error::Closed);
        }
        if self.refuses_groups(&state) {
            return Err(self.overloaded(&state));
        }
        let first = state.pushed + 1;
        let was_empty = state.entries.is_empty();
        for mut entry in entries {
            entry.seq = Self::number(&mut state);
            state.bytes += entry.len();
            state.entries.push(entry);
        }
        drop(state);
        if was_empty {
            self.wake.notify_one();
        }
        Ok(first)
    }

    /// The writer's turn: the rest of a cut-short fast-path write if there is one,
    /// else everything queued (swapped into `into`, which must be empty). The
    /// writer owns the socket from a non-empty take until an idle one.
    pub(crate) fn take(&self, into: &mut Vec<Entry>) -> Take {
        let mut state = self.state.lock();
        match state.owner {
            Owner::Caller => return Take::Idle,
            Owner::Partial => {
                state.owner = Owner::Writer;
                return match state.partial.take() {
                    Some(rest) => Take::Partial(rest),
                    None => Take::Idle,
                };
            }
            Owner::Free | Owner::Writer => {}
        }
        if state.entries.is_empty() {
            state.owner = Owner::Free;
            return Take::Idle;
        }
        state.owner = Owner::Writer;
        std::mem::swap(&mut state.entries, into);
        // Everything numbered so far, but for the parked commands.
        state.taken = state.parked.front().map_or(state.pushed, |e| e.seq - 1);
        state.bytes = 0;
        state.swept = 0;
        // The writer comes back for these before it goes idle.
        self.unpark(&mut state);
        drop(state);
        // Once per batch, not per command: anyone waiting for room may now fit.
        self.room.notify_waiters();
        Take::Batch
    }

    /// Lets a lone caller write its command itself, skipping the hop to the writer
    /// task: only when nothing is queued, nobody is writing, and a connection is
    /// up, so the command cannot overtake anything. The caller must call
    /// [`Queue::end_fast_path`] after writing.
    pub(crate) fn begin_fast_path(&self) -> Option<FastPath> {
        let mut state = self.state.lock();
        if state.owner != Owner::Free
            || !state.entries.is_empty()
            || !state.parked.is_empty()
            || state.closed
        {
            return None;
        }
        let socket = state.socket.clone()?;
        state.owner = Owner::Caller;
        state.pushed += 1;
        state.taken = state.pushed;
        Some(FastPath {
            seq: state.pushed,
            socket,
        })
    }

    /// Lets a caller write out what is queued when the writer task has not come
    /// for it (nobody owns the socket, or only the rest of a cut-short write
    /// waits): takes the queued commands into `into` (which must be empty), oldest
    /// first, up to the first one the writer must handle itself (one that holds
    /// the writer or keeps large parts by reference), and gives the caller the
    /// socket. The caller records their slots, writes them after `rest` if any,
    /// and calls [`Queue::end_fast_path`]: they cannot overtake anything, and
    /// nothing overtakes them.
    pub(crate) fn begin_assist(&self, into: &mut Vec<Entry>) -> Option<Assist> {
        let mut state = self.state.lock();
        if !matches!(state.owner, Owner::Free | Owner::Partial) || state.bytes < self.assist_bytes {
            return None;
        }
        let socket = state.socket.clone()?;
        let end = state
            .entries
            .iter()
            .position(|e| e.hold.is_some() || e.is_direct())
            .unwrap_or(state.entries.len());
        if end == 0 {
            return None;
        }
        if end == state.entries.len() {
            // The queue keeps room for as many again: a burst pushes the next batch
            // at once, and a queue left with `into`'s empty vector grew it again
            // by doubling, a dozen reallocations per batch (callgrind, 100,000
            // SETs from one task: 119 instructions per command).
            let room = Vec::with_capacity(end);
            *into = std::mem::replace(&mut state.entries, room);
            state.bytes = 0;
        } else {
            into.extend(state.entries.drain(..end));
            state.bytes = state.entries.iter().map(Entry::len).sum();
        }
        let rest = match state.owner {
            Owner::Partial => state.partial.take(),
            _ => None,
        };
        state.owner = Owner::Caller;
        if let Some(last) = into.iter().map(|e| e.seq).max() {
            state.taken = state.taken.max(last);
        }
        state.swept = 0;
        self.unpark(&mut state);
        drop(state);
        self.room.notify_waiters();
        Some(Assist { rest, socket })
    }

    /// Ends a fast-path write; `rest` is what the socket did not take, which the
    /// writer then writes before anything else.
    pub(crate) fn end_fast_path(&self, rest: Option<BytesMut>) {
        let mut state = self.state.lock();
        let wake = match rest {
            Some(rest) => {
                state.partial = Some(rest);
                state.owner = Owner::Partial;
                true
            }
            None => {
                state.owner = Owner::Free;
                !state.entries.is_empty()
            }
        };
        drop(state);
        if wake {
            self.wake.notify_one();
        }
    }

    /// A new connection's write half, for the fast path.
    pub(crate) fn attach(&self, socket: Arc<WriteHalf>) {
        let mut state = self.state.lock();
        state.socket = Some(socket);
        state.owner = Owner::Free;
        state.partial = None;
    }

    /// Takes the write half away when its connection ends, once no caller is in
    /// the middle of writing to it: after this, nothing more goes to that socket
    /// and the pending FIFO can be failed safely.
    pub(crate) async fn detach(&self) {
        loop {
            {
                let mut state = self.state.lock();
                if state.owner != Owner::Caller {
                    state.socket = None;
                    state.owner = Owner::Free;
                    // Sent in part: its slot is pending and fails as sent.
                    state.partial = None;
                    return;
                }
            }
            // A caller holds it for a couple of non-blocking syscalls at most.
            tokio::task::yield_now().await;
        }
    }

    /// The error for a command refused at the bound.
    pub(crate) fn overloaded_now(&self) -> Error {
        self.overloaded(&self.state.lock())
    }

    fn overloaded(&self, state: &State) -> Error {
        Error::Overloaded(
            format!(
                "{} commands ({} bytes) are queued and {} more wait for room, the bound is {} commands or {} bytes",
                state.entries.len(),
                state.bytes,
                state.parked.len(),
                self.max_commands,
                self.max_bytes
            )
            .into(),
        )
    }

    /// Waits until the writer takes commands out; create the future before the
    /// push that found the queue full, so a wakeup between the two is not lost.
    pub(crate) fn room(&self) -> &Notify {
        &self.room
    }

    /// Drops queued commands whose deadline has passed (their callers were told),
    /// so an outage does not leave the bound filled with the dead.
    pub(crate) fn purge_expired(&self, now: Instant) -> Vec<Entry> {
        let mut state = self.state.lock();
        let (mut expired, live): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut state.entries)
            .into_iter()
            .partition(|e| e.deadline <= now);
        state.entries = live;
        state.bytes = state.entries.iter().map(Entry::len).sum();
        state.swept = 0;
        let (parked_expired, parked): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut state.parked)
            .into_iter()
            .partition(|e| e.deadline <= now);
        state.parked = parked.into();
        state.parked_bytes = state.parked.iter().map(Entry::len).sum();
        expired.extend(parked_expired);
        self.unpark(&mut state);
        drop(state);
        if !expired.is_empty() {
            self.room.notify_waiters();
        }
        expired
    }

    /// Fails queued `Timed` commands whose deadline has passed, leaving them in
    /// place for the writer to drop unwritten; returns the deadline of the oldest
    /// one still waiting.
    pub(crate) fn expire(&self, now: Instant, status: CommandStatus) -> Option<Instant> {
        let mut state = self.state.lock();
        let State { entries, swept, .. } = &mut *state;
        while let Some(entry) = entries.get_mut(*swept) {
            if let Some(next) = entry.slot.expire(now, status) {
                return Some(next);
            }
            *swept += 1;
        }
        None
    }

    /// Puts entries the writer took but could not write back at the front, in order.
    pub(crate) fn push_front(&self, entries: impl Iterator<Item = Entry>) {
        let mut state = self.state.lock();
        let returned: Vec<Entry> = entries.collect();
        state.bytes += returned.iter().map(Entry::len).sum::<usize>();
        // They were never written: a timeout must not call them "sent".
        if let Some(first) = returned.iter().map(|e| e.seq).filter(|s| *s > 0).min() {
            state.taken = state.taken.min(first - 1);
        }
        state.entries.splice(0..0, returned);
        state.swept = 0;
        drop(state);
        self.wake.notify_one();
    }

    /// Waits until something may have been queued (or the queue closed).
    pub(crate) async fn wait(&self) {
        self.wake.notified().await;
    }

    /// Whether the command numbered `seq` has been taken by the writer: if so it may
    /// have been written, and may have run.
    pub(crate) fn was_taken(&self, seq: u64) -> bool {
        seq <= self.state.lock().taken
    }

    /// Commands queued within the bound and the bytes they hold. (Commands are
    /// parked only behind others: with none queued, none is parked.)
    pub(crate) fn depth(&self) -> (usize, usize) {
        let state = self.state.lock();
        (state.entries.len(), state.bytes)
    }

    /// As [`Queue::depth`], with `also` read while the queue's lock is held: no
    /// command enters or leaves the queue meanwhile (see `Shared::stats`).
    pub(crate) fn depth_with<T>(&self, also: impl FnOnce() -> T) -> (usize, usize, T) {
        let state = self.state.lock();
        let also = also();
        (state.entries.len(), state.bytes, also)
    }

    /// Awaited commands parked beyond the bound, waiting for room.
    pub(crate) fn parked(&self) -> usize {
        self.state.lock().parked.len()
    }

    /// Stops taking new commands; what is queued stays for the writer.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
        self.wake.notify_one();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// Empties the queue, for a client that will never connect again or a backlog
    /// that must fail fast.
    pub(crate) fn drain(&self) -> Vec<Entry> {
        let mut state = self.state.lock();
        state.bytes = 0;
        state.swept = 0;
        let mut entries = std::mem::take(&mut state.entries);
        entries.extend(std::mem::take(&mut state.parked));
        state.parked_bytes = 0;
        drop(state);
        self.room.notify_waiters();
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With no socket to write to, a backlog past the mark does not send every
    /// push to `begin_assist`, which could only refuse.
    #[test]
    fn a_backlog_without_a_socket_asks_for_no_assist() {
        let queue = Queue::new(1_000_000, usize::MAX, usize::MAX);
        let command = BytesMut::from(&[b'x'; 1024][..]);
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        let asked = (0..2 * ASSIST_BYTES / 1024)
            .filter(|_| {
                let entry = Entry::new(command.clone(), Slot::Ignore, deadline);
                matches!(queue.push(entry), Ok((_, true)))
            })
            .count();
        assert_eq!(asked, 0);
        assert!(queue.begin_assist(&mut Vec::new()).is_none());
    }
}
