//! The multiplexer: one connection shared by every caller.
//!
//! | file | owns |
//! |---|---|
//! | `queue.rs` | the submission queue (and backlog), one mutex around a vector |
//! | `slot.rs` | where each reply goes, and the pending FIFO of written commands |
//! | `writer.rs` | the writer: take everything queued, one write per drain |
//! | `reader.rs` | the reader: decode without copying, complete in FIFO order |
//! | `expiry.rs` | one timer per client: fails commands past the default timeout |
//! | `send.rs` | the API to the layers above: send one, send detached, send a group, wait for room |
//! | `group.rs` | [`Group`]: commands sent back to back into one collector; [`Release`] for what follows a hold |
//! | `supervisor.rs` | runs a connection's writer, reader and health monitor; fails what was in flight when it breaks; reconnects with backoff |
//! | `tracking.rs` | [`Tracking`]: the listener a client-side cache attaches (push frames, disconnects, slots lost) |
//! | this file | the shared state, the connection state and the counters |
//!
//! Only this module touches the pending FIFO and the queue: the layers above see
//! `send.rs`, [`Group`], [`Collector`] and the state, stats and close methods here.

mod expiry;
mod group;
mod queue;
mod reader;
mod reply;
mod send;
mod slot;
mod supervisor;
mod tracking;
mod writer;

use std::any::Any;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::config::{BacklogPolicy, Config};
use crate::connection::{Activity, WriteHalf};
pub(crate) use crate::connection::{FOREVER, deadline};
use crate::error::{CommandStatus, Error, LinkSnapshot, TimeoutDiagnostics};
pub(crate) use crate::state::ConnectionState;
use crate::stats::Stats;
pub(crate) use group::{Group, Release};
use queue::{Entry, PushError};
use reply::channel as reply_channel;
pub(crate) use reply::{ReplyReceiver, SenderDropped};
pub(crate) use send::Ticket;
pub(crate) use slot::Collector;
use slot::Slot;
pub(crate) use supervisor::{start, start_lazy};
pub(crate) use tracking::Tracking;

/// Counters the reader and writer bump once per batch, never per command.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) commands_sent: AtomicU64,
    pub(crate) replies: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) fire_and_forget_errors: AtomicU64,
    pub(crate) expired: AtomicU64,
    pub(crate) pushes: AtomicU64,
    /// How many replies the reader's last read completed: more than one means
    /// callers are concurrent, and their commands should be batched, not written
    /// one by one on the fast path.
    pub(crate) last_read_replies: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    /// Replies and push frames over `Config::limits`, skipped.
    pub(crate) too_large: AtomicU64,
    /// Error replies to awaited commands, counted by their callers on the error
    /// path (a reply is looked at there anyway), so a success pays nothing.
    pub(crate) error_replies: AtomicU64,
    /// Commands refused or given up at the queue's bound.
    pub(crate) overloaded: AtomicU64,
    /// Commands written and unanswered when their connection was lost.
    pub(crate) lost_in_flight: AtomicU64,
}

/// State shared by every clone of a client, its requests, and its tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    config: Config,
    queue: queue::Queue,
    pending: slot::Pending,
    counters: Counters,
    state: AtomicU8,
    state_tx: watch::Sender<ConnectionState>,
    /// Set by the writer once the client is closed and the queue is written out.
    writer_done: AtomicBool,
    /// The connection's read side: the reader task's, or a lone caller's while it
    /// reads its own reply (`reader.rs`).
    read: Mutex<reader::ReadSide>,
    /// Whether a lone caller holds the read side: one load per `submit`, which
    /// hands it back to the reader task when another command comes.
    read_claimed: AtomicBool,
    /// Whether the connection's socket says when it has bytes (not TLS): a lone
    /// caller may read only such a socket.
    read_signals: AtomicBool,
    /// When the connection last read and wrote.
    activity: Activity,
    /// Why the last connection attempt failed, while reconnecting.
    last_connect_error: Mutex<Option<Error>>,
    /// When the client is closed, the instant past which whatever is still owed is
    /// given up and the connection torn down at once. Only ever moves earlier.
    closing: watch::Sender<Option<Instant>>,
    /// Whether closing gave anything up: queued commands failed unsent, or replies
    /// owed lost.
    gave_up: AtomicBool,
    /// The client-side cache of this connection, if the client has one: it hears
    /// the push frames, the disconnects and the slots lost. Set once, after start.
    tracking: OnceLock<Arc<dyn Tracking>>,
    /// The server's availability zone, as its last handshake said (Valkey 8+).
    zone: Mutex<Option<Arc<str>>>,
    /// What the layer above made this connection for, opaque here: a cluster's
    /// node knows its cluster, so a command sent straight to it can be handed
    /// back to the cluster layer when a redirect comes. Weak: the owner holds
    /// the connection, not the other way round.
    owner: OnceLock<Weak<dyn Any + Send + Sync>>,
}

/// Why a command was not queued.
#[derive(Debug)]
enum SubmitError {
    /// Refused for good: closed client, fail-fast backlog, failing credentials.
    Refused(Error),
    /// The queue is at its bound; the entry is given back to wait for room.
    Full(Box<Entry>),
}

impl Shared {
    /// The configuration the client was made with.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Whether this connection is up and may serve a replica read for a client in
    /// `zone` (any zone when `None`): the server's own zone, from its last
    /// handshake, must be the same.
    pub(crate) fn serves_zone(&self, zone: Option<&str>) -> bool {
        self.state() == ConnectionState::Connected
            && zone.is_none_or(|zone| self.zone.lock().as_deref() == Some(zone))
    }

    /// Queues a command for the writer; returns its sequence number.
    // In line in `send`, so the entry is built where it is pushed instead of
    // being copied through each call on the way.
    ///
    /// Also says whether the caller wrote it itself on the fast path: it may then
    /// read its reply itself too (`reader.rs`).
    #[inline]
    fn submit(&self, entry: Entry) -> Result<(u64, bool), SubmitError> {
        if let Some(refusal) = self.refusal() {
            if entry.keep {
                // A command its future may send again hears of the refusal
                // through its slot, with its bytes (numbered 0: never queued).
                entry.fail(refusal);
                return Ok((0, false));
            }
            return Err(SubmitError::Refused(refusal));
        }
        // An idle connection (nothing in flight, and the last read brought one
        // reply) means a lone caller: it writes its command itself and skips the hop
        // to the writer task. Under load something is in flight, or a read just
        // completed many callers at once, so commands queue and are written in
        // batches.
        if self.pending.len() == 0
            && self.counters.last_read_replies.load(Relaxed) <= 1
            && entry.hold.is_none()
            && entry.parts.is_none()
            && let Some(fast) = self.queue.begin_fast_path()
        {
            return Ok((self.write_now(fast, entry), true));
        }
        match self.queue.push(entry) {
            Ok((seq, false)) => Ok((seq, false)),
            Ok((seq, true)) => {
                self.assist();
                Ok((seq, false))
            }
            Err(PushError::Closed) => Err(SubmitError::Refused(Error::Closed)),
            Err(PushError::Full(entry)) => Err(SubmitError::Full(entry)),
        }
    }

    /// The fast path: the caller writes what the socket takes at once; the writer
    /// task finishes the rest, or finds the error that broke the socket.
    fn write_now(&self, fast: queue::FastPath, entry: Entry) -> u64 {
        if entry.keep {
            return self.write_now_kept(fast, entry);
        }
        let Entry {
            bytes,
            slot,
            parts,
            hold,
            ..
        } = entry;
        // `submit` comes here only with neither: forgetting two `None`s skips two
        // out-of-line drop calls per command.
        debug_assert!(parts.is_none() && hold.is_none());
        std::mem::forget(parts);
        std::mem::forget(hold);
        // The slot goes in before the bytes go out: a reply cannot beat its slot.
        self.pending.push(slot);
        self.pended();
        self.counters.commands_sent.fetch_add(1, Relaxed);
        self.try_write::<false>(&fast.socket, bytes);
        fast.seq
    }

    /// [`write_now`](Self::write_now) for a command its future may send again: its
    /// bytes go back to the future once written, through a handle on its reply
    /// cell (the slot itself goes to the reader first). The future is not polled
    /// before this returns, so it finds them whenever the reply comes.
    fn write_now_kept(&self, fast: queue::FastPath, entry: Entry) -> u64 {
        let Entry { bytes, slot, .. } = entry;
        let keeper = slot.keeper();
        self.pending.push(slot);
        self.pended();
        self.counters.commands_sent.fetch_add(1, Relaxed);
        let spent = self.try_write::<true>(&fast.socket, bytes);
        match (spent, keeper) {
            (Some(bytes), Some(keeper)) => keeper.keep(bytes),
            (Some(bytes), None) => redmux_resp::CommandBuf::recycle(bytes),
            (None, _) => {}
        }
        fast.seq
    }

    /// Writes what the socket takes of `bytes` at once, for a caller that owns the
    /// socket, and gives it back: the writer task finishes the rest, or finds the
    /// error that broke the socket. With `KEEP`, the whole command is returned for
    /// its future (what is left to write is then a copy); without, it is recycled.
    fn try_write<const KEEP: bool>(
        &self,
        socket: &WriteHalf,
        mut bytes: BytesMut,
    ) -> Option<BytesMut> {
        // In pieces of at most one write's worth, as the writer writes. WouldBlock
        // and real errors alike leave everything to the writer.
        let max_write = self.queue.max_write();
        let (mut written, mut syscalls) = (0, 0);
        while written < bytes.len() {
            let piece = &bytes[written..bytes.len().min(written + max_write)];
            let n = socket.try_write(piece).unwrap_or_default();
            if n > 0 {
                syscalls += 1;
            }
            written += n;
            if n < piece.len() {
                break;
            }
        }
        let (rest, spent) = if written < bytes.len() {
            if KEEP {
                // Rare (a full socket buffer): a copy of what is left, so the
                // command stays whole for its future.
                (Some(BytesMut::from(&bytes[written..])), Some(bytes))
            } else {
                bytes.advance(written);
                (Some(bytes), None)
            }
        } else if socket.has_buffered() {
            // All taken, but not all on the wire (a TLS socket's ciphertext): the
            // writer flushes it, with an empty rest.
            (Some(BytesMut::new()), KEEP.then_some(bytes))
        } else if KEEP {
            (None, Some(bytes))
        } else {
            // All on the wire: the buffer serves this thread's next command.
            redmux_resp::CommandBuf::recycle(bytes);
            (None, None)
        };
        if written > 0 {
            self.counters.writes.fetch_add(syscalls, Relaxed);
            self.counters.bytes_out.fetch_add(written as u64, Relaxed);
            self.mark_write();
        }
        self.queue.end_fast_path(rest);
        spent
    }

    /// A caller whose push left [`queue::ASSIST_BYTES`] queued that the writer has
    /// not come for writes them out itself, as the writer would: a task pushing a
    /// long burst keeps the writer from running on its thread (see
    /// `ASSIST_BYTES`), so without this nothing would reach the wire until the
    /// burst was all encoded. Cold: ordinary load never queues this much.
    #[cold]
    #[inline(never)]
    fn assist(&self) {
        let mut entries = Vec::new();
        let Some(queue::Assist { rest, socket }) = self.queue.begin_assist(&mut entries) else {
            return;
        };
        let now = Instant::now();
        let mut out = rest.unwrap_or_default();
        out.reserve(entries.iter().map(Entry::len).sum());
        let mut slots = Vec::with_capacity(entries.len());
        // The spent buffers go back to this thread's pool together, once (as the
        // writer's do): one thread-local access per assist, not per command.
        let mut spent = Vec::with_capacity(entries.len());
        for entry in entries {
            if entry.deadline <= now {
                // Its caller was already told it timed out unsent (as the writer does).
                entry.fail(self.expired_error(CommandStatus::NotSent));
                self.counters.expired.fetch_add(1, Relaxed);
                continue;
            }
            out.extend_from_slice(&entry.bytes);
            // As the writer does: kept for a future that may send it again, before
            // its slot is pending; else it serves the next command encoded here.
            if !entry.keep {
                spent.push(entry.bytes);
            } else if let Some(spare) = entry.slot.keep(entry.bytes) {
                spent.push(spare);
            }
            // `begin_assist` hands over no entry with parts or a hold: forgetting
            // the two `None`s skips two out-of-line drop calls per command.
            debug_assert!(entry.parts.is_none() && entry.hold.is_none());
            std::mem::forget(entry.parts);
            std::mem::forget(entry.hold);
            slots.push(entry.slot);
        }
        redmux_resp::CommandBuf::recycle_all(&mut spent);
        // The slots go in before the bytes go out: a reply cannot beat its slot.
        self.counters
            .commands_sent
            .fetch_add(slots.len() as u64, Relaxed);
        self.pending.extend(&mut slots);
        self.pended();
        self.try_write::<false>(&socket, out);
    }

    /// Queues commands that go out back to back, with no other caller's command
    /// between them; returns the first one's sequence number. The last entry may
    /// hold the writer (see [`Entry::hold`]).
    fn submit_many(&self, entries: Vec<Entry>) -> Result<u64, Error> {
        if let Some(refusal) = self.refusal() {
            return Err(refusal);
        }
        self.queue.push_many(entries)
    }

    /// While the connection is down, a command is refused at once under the
    /// fail-fast policy, or when the server rejects the client's credentials (a
    /// backlog would only wait out its timeout).
    #[inline]
    fn refusal(&self) -> Option<Error> {
        // Asked per command: while connected (state 0) one load and a compare, with
        // the rest out of line (callgrind, C = 1000: 24 instructions per command
        // as a call of its own).
        if self.state.load(Relaxed) == ConnectionState::Connected as u8 {
            return None;
        }
        self.refusal_while_down()
    }

    /// [`Shared::refusal`] off the connected path.
    #[cold]
    #[inline(never)]
    fn refusal_while_down(&self) -> Option<Error> {
        if !self.state().is_down() {
            return None;
        }
        let last = self.last_connect_error.lock().clone();
        match last {
            Some(e @ Error::Auth(_)) => Some(e),
            last if self.config.backlog == BacklogPolicy::FailFast => Some(Error::ConnectionLost {
                status: CommandStatus::NotSent,
                reason: match last {
                    Some(e) => format!("the connection is down and the backlog policy is fail-fast; last attempt: {e}").into(),
                    None => "the connection is down and the backlog policy is fail-fast".into(),
                },
            }),
            _ => None,
        }
    }

    /// Counts an error reply to an awaited command.
    #[cold]
    pub(crate) fn count_error_reply(&self) {
        self.counters.error_replies.fetch_add(1, Relaxed);
    }

    /// Where a command is, for an error about it.
    pub(crate) fn status_of(&self, seq: u64) -> CommandStatus {
        if self.queue.was_taken(seq) {
            CommandStatus::Sent
        } else if self.state().is_down() {
            CommandStatus::Backlogged
        } else {
            CommandStatus::NotSent
        }
    }

    pub(crate) fn state(&self) -> ConnectionState {
        match self.state.load(Relaxed) {
            0 => ConnectionState::Connected,
            1 => ConnectionState::Reconnecting,
            3 => ConnectionState::Connecting,
            _ => ConnectionState::Closed,
        }
    }

    pub(crate) fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.state_tx.subscribe()
    }

    fn set_state(&self, state: ConnectionState) {
        self.state.store(state as u8, Relaxed);
        self.state_tx.send_replace(state);
        tracing::debug!(%state, "connection state");
    }

    /// The error a timed-out command gets, with what a person needs to tell a slow
    /// server from a dead link.
    pub(crate) fn timeout_error(&self, command: &str, timeout: Duration, seq: u64) -> Error {
        self.timeout_error_as(command, timeout, self.status_of(seq))
    }

    /// [`Shared::timeout_error`] for a command whose status is known.
    pub(crate) fn timeout_error_as(
        &self,
        command: &str,
        timeout: Duration,
        status: CommandStatus,
    ) -> Error {
        self.counters.timeouts.fetch_add(1, Relaxed);
        TimeoutDiagnostics::error(command, timeout, status, self.link_snapshot())
    }

    /// What a command that expired unanswered or unsent receives: where it was then
    /// (the one fact that cannot be worked out later), with the connection as it is.
    pub(crate) fn expired_error(&self, status: CommandStatus) -> Error {
        TimeoutDiagnostics::error(
            "command",
            self.config.command_timeout,
            status,
            self.link_snapshot(),
        )
    }

    /// The connection as a timeout's diagnostics show it.
    fn link_snapshot(&self) -> LinkSnapshot {
        let queued = self.queue.depth().0;
        LinkSnapshot {
            connection: self.state().as_str(),
            queued,
            backlog: self.backlog(queued),
            in_flight: self.pending.len(),
            since_last_read: self.activity.since_read(),
            since_last_write: self.activity.since_write(),
            last_connect_error: self
                .last_connect_error
                .lock()
                .as_ref()
                .map(|e| e.to_string()),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        // Queued and in flight are read together, under the queue's lock. The writer
        // moves commands from the queue to the pending FIFO (takes them under that
        // lock, then appends them), and a streamed batch queues its next chunk once
        // the last one left the FIFO: read one after the other, either order could
        // count commands twice (queued at the first read, in flight at the second;
        // or a chunk already answered still in flight at the first read, beside the
        // next one queued at the second), and a batch's sampler saw 5,000 outstanding
        // in a window of 4,000. With the lock held nothing enters or leaves the
        // queue, so the FIFO's length is read at one instant against a queue fixed
        // around it: a command moving between them may be missed, never counted twice.
        let (queued, queued_bytes, in_flight) = self.queue.depth_with(|| self.pending.len());
        Stats {
            commands_sent: c.commands_sent.load(Relaxed),
            replies: c.replies.load(Relaxed),
            writes: c.writes.load(Relaxed),
            bytes_in: c.bytes_in.load(Relaxed),
            bytes_out: c.bytes_out.load(Relaxed),
            fire_and_forget_errors: c.fire_and_forget_errors.load(Relaxed),
            expired_unsent: c.expired.load(Relaxed),
            push_frames: c.pushes.load(Relaxed),
            reconnects: c.reconnects.load(Relaxed),
            timeouts: c.timeouts.load(Relaxed),
            replies_too_large: c.too_large.load(Relaxed),
            error_replies: c.error_replies.load(Relaxed),
            overloaded: c.overloaded.load(Relaxed),
            lost_in_flight: c.lost_in_flight.load(Relaxed),
            queue_depth: queued,
            queue_bytes: queued_bytes,
            backlog: self.backlog(queued),
            waiting_for_room: self.queue.parked(),
            in_flight,
            state: self.state(),
        }
    }

    /// Of `queued` commands, those waiting for the connection to come back.
    fn backlog(&self, queued: usize) -> usize {
        match self.state() {
            ConnectionState::Connected => 0,
            _ => queued,
        }
    }

    /// Stops taking commands; the writer sends what is queued (reconnecting for it
    /// if it must), then the tasks end. Past `within`, what is still owed is given
    /// up and the connection is torn down at once.
    pub(crate) fn close(&self, within: Duration) {
        let at = deadline(within).into_std();
        self.queue.close();
        self.closing.send_if_modified(|closing| match closing {
            Some(earlier) if *earlier <= at => false,
            _ => {
                *closing = Some(at);
                true
            }
        });
    }

    /// Whether a closing client's deadline has passed.
    pub(crate) fn is_aborted(&self) -> bool {
        matches!(*self.closing.borrow(), Some(at) if Instant::now() >= at)
    }

    /// Resolves once the client is closed and its deadline has passed.
    pub(crate) async fn wait_aborted(&self) {
        let mut closing = self.closing.subscribe();
        loop {
            let at = *closing.borrow_and_update();
            match at {
                Some(at) => tokio::select! {
                    _ = tokio::time::sleep_until(at.into()) => return,
                    // An earlier deadline: look again.
                    changed = closing.changed() => if changed.is_err() {
                        tokio::time::sleep_until(at.into()).await;
                        return;
                    },
                },
                None => {
                    if closing.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }

    /// Records that closing gave something up.
    pub(crate) fn give_up(&self) {
        self.gave_up.store(true, Relaxed);
    }

    /// Whether closing gave anything up.
    pub(crate) fn gave_up(&self) -> bool {
        self.gave_up.load(Relaxed)
    }

    /// Queues an awaited command that found the queue full (after
    /// [`Shared::submit`] gave it back): it is parked, numbered, and moves into the
    /// queue in order as room frees. Returns its number.
    fn park(&self, entry: Entry) -> Result<u64, Error> {
        self.queue.push_or_park(entry).map(|(seq, _parked)| seq)
    }

    fn on_push(&self, items: Vec<redmux_resp::Value>) {
        // Pub/sub runs on its own connection; pushes on the shared one are client
        // tracking's invalidations, for the cache if one is attached.
        self.counters.pushes.fetch_add(1, Relaxed);
        if let Some(tracking) = self.tracking.get() {
            tracking.on_push(items);
        }
    }

    /// Attaches the connection's client-side cache; `false` if one already is.
    /// Pushes read before it is attached are dropped: no entry exists yet that
    /// they could concern.
    pub(crate) fn attach_tracking(&self, tracking: Arc<dyn Tracking>) -> bool {
        self.tracking.set(tracking).is_ok()
    }

    /// Records what this connection was made for (see [`Shared::owner`]); the
    /// first one set stays.
    pub(crate) fn set_owner(&self, owner: Weak<dyn Any + Send + Sync>) {
        let _ = self.owner.set(owner);
    }

    /// What this connection was made for, if it was set and is still alive.
    pub(crate) fn owner(&self) -> Option<Arc<dyn Any + Send + Sync>> {
        self.owner.get()?.upgrade()
    }

    /// The connection's client-side cache, if one is attached.
    #[inline]
    pub(crate) fn tracking(&self) -> Option<&Arc<dyn Tracking>> {
        self.tracking.get()
    }

    /// Tells the attached cache that this node lost slots (see [`Tracking`]).
    pub(crate) fn slots_lost(&self) {
        if let Some(tracking) = self.tracking.get() {
            tracking.on_slots_lost();
        }
    }

    fn touch_read(&self) {
        self.activity.touch_read();
    }

    fn touch_write(&self) {
        self.activity.touch_write();
    }

    /// Notes a read without reading the clock (see [`Activity`]): once per read.
    #[inline]
    fn mark_read(&self) {
        self.activity.mark_read();
    }

    /// Notes a write without reading the clock (see [`Activity`]): once per write.
    #[inline]
    fn mark_write(&self) {
        self.activity.mark_write();
    }
}

/// What the expiry sweep sends a `Slot::Timed` command past its deadline: a marker
/// saying where the command was when it expired (the one fact that cannot be worked
/// out later). Only a request future holds such a slot, and it replaces the rest
/// with its own diagnostics ([`Shared::timeout_error_as`]); the sweep's slot does
/// not reach the connection's state, so that is left "unknown" rather than made up.
pub(crate) fn expired_error(status: CommandStatus) -> Error {
    TimeoutDiagnostics::error(
        "command",
        Duration::ZERO,
        status,
        LinkSnapshot {
            connection: "unknown",
            ..LinkSnapshot::default()
        },
    )
}
