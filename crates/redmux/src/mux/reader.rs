//! The reader: decodes every whole reply of a read (the connection layer's
//! [`FrameReader`] keeps them in one large buffer, payloads never copied), pops that
//! many pending slots under one lock, and completes them in one batch. RESP3 push
//! frames never touch the FIFO.
//!
//! The read side ([`ReadSide`]) is shared, behind one lock, by the reader task and
//! a **lone caller**: a caller whose command went out on the fast path (nothing else
//! in flight) reads its own reply from the socket itself, rueidis-style, instead of
//! waiting for the reader task to be woken, read, and wake it (a task hop per
//! command; for a `block_on` caller also tokio's extra driver turn). Whoever reads,
//! it is the same buffer, decoder and [`drain`] under the same lock, so replies are
//! completed in FIFO order whoever reads them. The caller's claim ends:
//! - when its reply is in (the FIFO is empty): the socket's wakeup goes back to the
//!   reader task ([`ReadSide::reader`]) without waking it;
//! - when another command's slot goes into the pending FIFO ([`Shared::pended`],
//!   after every push there; a fence pairs it with the claim's own check): the
//!   reader task is woken and reads for everyone, so a caller slow to poll again
//!   never holds up another's reply;
//! - when its future is dropped ([`Shared::release_read`]);
//! - when the read fails: the error goes to the reader task, which ends the
//!   connection as it would have.
//!
//! Not for TLS (rustls may hold decrypted bytes the socket does not signal) nor
//! with a client-side cache (invalidations must be read as they come, not when a
//! caller polls).
//!
//! Replies are completed, and their callers' wakers woken, under the read side's
//! lock. A waker that polled a future of this client in place, inside `wake`,
//! could reach [`Shared::revoke_read`] and wait on that lock forever; tokio's and
//! futures' wakers only schedule, as wakers are meant to.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::fence;
use std::task::{Context, Poll, Waker};

use redmux_resp::{Decoded, TooLarge, Value};

use super::Shared;
use super::slot::Slot;
use crate::connection::{FrameReader, ReadError};
use crate::error::Error;

/// A connection's read side, shared by the reader task and a lone caller.
#[derive(Debug, Default)]
pub(crate) struct ReadSide {
    /// The connection's reader; `None` between connections.
    frames: Option<FrameReader>,
    /// A lone caller reads now; the reader task waits until it is done.
    claimed: bool,
    /// The reader task's waker, from its last poll that had to wait.
    reader: Option<Waker>,
    /// Why the connection can be read no more, found by a caller: the reader task
    /// returns it.
    failed: Option<Error>,
    replies: Vec<Value>,
    slots: Vec<Slot>,
}

impl Shared {
    /// Gives the reader of a new connection to the read side.
    pub(super) fn attach_reader(&self, frames: FrameReader) {
        let signals = frames.signals_readiness();
        let mut side = self.read.lock();
        *side = ReadSide {
            frames: Some(frames),
            replies: Vec::with_capacity(256),
            slots: Vec::with_capacity(256),
            ..ReadSide::default()
        };
        self.read_claimed.store(false, Relaxed);
        self.read_signals.store(signals, Relaxed);
    }

    /// Takes the reader away once its connection ended, before the pending FIFO is
    /// failed: nobody can read that connection's replies any more, so none can
    /// reach a command written on the next one.
    pub(super) fn detach_reader(&self) {
        let mut side = self.read.lock();
        side.frames = None;
        side.claimed = false;
        side.reader = None;
        side.failed = None;
        self.read_claimed.store(false, Relaxed);
    }

    /// Whether a lone caller may read its own reply: a plain socket, and no cache
    /// listening for invalidations.
    pub(super) fn lone_read_allowed(&self) -> bool {
        self.read_signals.load(Relaxed) && self.tracking.get().is_none()
    }

    /// Slots just went into the pending FIFO (the writer's, a caller's own write, an
    /// assist): if a lone caller holds the read side, the reader task takes it back
    /// and reads for everyone, so a caller slow to poll again never holds up
    /// another's reply. The fence pairs with the one in
    /// [`read_own_reply`](Self::read_own_reply): either the claimer sees these
    /// slots and does not keep the claim, or this sees the claim.
    #[inline]
    pub(super) fn pended(&self) {
        fence(SeqCst);
        if self.read_claimed.load(Relaxed) {
            self.revoke_read();
        }
    }

    /// For a lone caller's future, polled while its reply is still owed: reads the
    /// socket itself (see the module doc). `held`: whether its last poll left it
    /// holding the claim. Returns whether it holds it now (then `cx` is woken when
    /// the socket has more, and the future must
    /// [`release_read`](Self::release_read) if it is dropped before its reply).
    ///
    /// A caller that does not hold the claim never waits for the lock: if the
    /// reader task is reading, it reads for this caller too. One that holds it
    /// does wait (briefly: the reader task looking, or a revoke), since it may be
    /// the only one registered on the socket.
    pub(crate) fn read_own_reply(&self, cx: &mut Context<'_>, held: bool) -> bool {
        // Only a claim still standing is worth the wait: a revoked one woke the
        // reader task, which owns the socket (and may be in a long read loop).
        let mut guard = if held && self.read_claimed.load(Relaxed) {
            self.read.lock()
        } else {
            match self.read.try_lock() {
                Some(guard) => guard,
                None => return false,
            }
        };
        let side = &mut *guard;
        if side.failed.is_some() {
            return false;
        }
        let Some(frames) = side.frames.as_mut() else {
            return false;
        };
        if side.claimed && !held {
            // Another future's claim (this one's reply came in meanwhile): not
            // this one's to read under.
            return false;
        }
        if !side.claimed {
            // Claimed only while this caller's command is the one owed (anything
            // else in flight is the reader task's to read), and never once the
            // client is closing (its reader must see every reply in).
            if self.pending.len() > 1 || self.writer_done.load(Relaxed) {
                return false;
            }
            side.claimed = true;
            self.read_claimed.store(true, Relaxed);
            // Pairs with `pended`: a slot that went in meanwhile, whose pusher did
            // not see the claim, is seen here.
            fence(SeqCst);
            if self.pending.len() > 1 {
                hand_back(self, side, true);
                return false;
            }
        }
        loop {
            // Nothing buffered is the usual case on the first poll: no decode then.
            if frames.has_buffered()
                && let Err(e) = drain(self, frames, &mut side.replies, &mut side.slots)
            {
                side.failed = Some(e);
                hand_back(self, side, true);
                return false;
            }
            match self.pending.len() {
                0 => {
                    hand_back(self, side, false);
                    return false;
                }
                // Others' commands went in meanwhile (their `pended` waits for this
                // lock to revoke): the reader task reads for everyone, now.
                1 => {}
                _ => {
                    hand_back(self, side, true);
                    return false;
                }
            }
            match frames.poll_read_more(cx) {
                Poll::Pending => return true,
                Poll::Ready(Ok(n)) => {
                    self.counters.bytes_in.fetch_add(n as u64, Relaxed);
                    self.mark_read();
                }
                Poll::Ready(Err(lost)) => {
                    side.failed = Some(lost.into_error());
                    hand_back(self, side, true);
                    return false;
                }
            }
        }
    }

    /// Wakes the reader task whoever holds the read side: the writer is done
    /// (the client is closing), and the reader ends once every reply is in.
    pub(super) fn wake_reader(&self) {
        let mut side = self.read.lock();
        side.claimed = false;
        self.read_claimed.store(false, Relaxed);
        if let Some(reader) = &side.reader {
            reader.wake_by_ref();
        }
    }

    /// A lone caller's future dropped before its reply: the reader task reads
    /// again.
    #[inline]
    pub(crate) fn release_read(&self) {
        if self.read_claimed.load(Relaxed) {
            self.revoke_read();
        }
    }

    /// Another command went into the pending FIFO while a lone caller reads: the
    /// reader task takes the socket back and reads for everyone. Cold: one load in
    /// [`pended`](Self::pended) decides.
    #[cold]
    #[inline(never)]
    pub(super) fn revoke_read(&self) {
        let mut side = self.read.lock();
        if side.claimed {
            side.claimed = false;
            self.read_claimed.store(false, Relaxed);
            // Woken, it polls the socket with its own waker, which replaces the
            // caller's there.
            if let Some(reader) = &side.reader {
                reader.wake_by_ref();
            }
        }
    }
}

/// Ends a lone caller's claim. The socket's wakeup goes back to the reader task
/// without a task hop: its waker is registered again, and woken only if the
/// socket already has more (or, with `wake`, always: a failure it must report).
fn hand_back(shared: &Shared, side: &mut ReadSide, wake: bool) {
    side.claimed = false;
    shared.read_claimed.store(false, Relaxed);
    let Some(reader) = &side.reader else {
        // Not polled yet: its first poll reads.
        return;
    };
    // A closing client's reader ends once every reply is in: it must look.
    let ready = wake
        || shared.writer_done.load(Relaxed)
        || match side.frames.as_ref() {
            Some(frames) => !matches!(
                frames.poll_read_ready(&mut Context::from_waker(reader)),
                Some(Poll::Pending)
            ),
            None => true,
        };
    if ready {
        reader.wake_by_ref();
    }
}

/// Runs until the connection fails (returned as the reason) or, once the client is
/// closed, until every written command has its reply.
pub(crate) async fn run(shared: &Shared) -> Option<Error> {
    std::future::poll_fn(|cx| poll_run(shared, cx)).await
}

fn poll_run(shared: &Shared, cx: &mut Context<'_>) -> Poll<Option<Error>> {
    let mut guard = shared.read.lock();
    let side = &mut *guard;
    if let Some(e) = side.failed.take() {
        return Poll::Ready(Some(e));
    }
    if side.claimed {
        keep_waker(&mut side.reader, cx);
        return Poll::Pending;
    }
    let Some(frames) = side.frames.as_mut() else {
        return Poll::Ready(None);
    };
    loop {
        if let Err(e) = drain(shared, frames, &mut side.replies, &mut side.slots) {
            return Poll::Ready(Some(e));
        }
        if shared.writer_done.load(Relaxed) && shared.pending.len() == 0 {
            return Poll::Ready(None);
        }
        match frames.poll_read_more(cx) {
            Poll::Pending => {
                keep_waker(&mut side.reader, cx);
                return Poll::Pending;
            }
            Poll::Ready(Ok(n)) => {
                shared.counters.bytes_in.fetch_add(n as u64, Relaxed);
                shared.mark_read();
            }
            Poll::Ready(Err(lost)) => return Poll::Ready(Some(lost.into_error())),
        }
    }
}

/// Keeps the reader task's waker for a caller that hands the socket back.
#[inline]
fn keep_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// Decodes every whole frame buffered and completes the replies among them, in
/// order, with the oldest pending slots.
#[inline(always)]
fn drain(
    shared: &Shared,
    frames: &mut FrameReader,
    replies: &mut Vec<Value>,
    slots: &mut Vec<Slot>,
) -> Result<(), Error> {
    // Where a decoded frame is classified: one place.
    loop {
        match frames.decode() {
            Ok(Some(Decoded::Frame(Value::Push(items)))) => shared.on_push(items),
            Ok(Some(Decoded::Frame(reply))) => replies.push(reply),
            // Skipped whole by the decoder, so the stream is still in step: only
            // the command it answers fails.
            Ok(Some(Decoded::TooLarge(too_large))) => {
                complete(shared, replies, slots)?;
                fail_too_large(shared, too_large, slots)?;
            }
            Ok(None) => break,
            Err(e) => return Err(ReadError::Decode(e).into_error()),
        }
    }
    complete(shared, replies, slots)
}

/// Completes the decoded replies, in order, with the oldest pending slots.
#[inline(always)]
fn complete(shared: &Shared, replies: &mut Vec<Value>, slots: &mut Vec<Slot>) -> Result<(), Error> {
    if replies.is_empty() {
        return Ok(());
    }
    if !shared.pending.pop_into(replies.len(), slots) {
        return Err(Error::protocol(
            "the server sent a reply no command was waiting for; the connection is dropped",
        ));
    }
    // Counted before completing, so a caller that sees its reply sees it counted.
    shared
        .counters
        .replies
        .fetch_add(replies.len() as u64, Relaxed);
    shared
        .counters
        .last_read_replies
        .store(replies.len() as u64, Relaxed);
    let mut failed = 0;
    for (slot, reply) in slots.drain(..).zip(replies.drain(..)) {
        failed += u64::from(slot.complete(reply));
    }
    if failed > 0 {
        shared
            .counters
            .fire_and_forget_errors
            .fetch_add(failed, Relaxed);
    }
    Ok(())
}

/// Fails the command a reply over the limits answered (a push over them is
/// dropped), and counts it.
#[cold]
fn fail_too_large(
    shared: &Shared,
    too_large: TooLarge,
    slots: &mut Vec<Slot>,
) -> Result<(), Error> {
    shared.counters.too_large.fetch_add(1, Relaxed);
    if too_large.push {
        shared.counters.pushes.fetch_add(1, Relaxed);
        tracing::warn!(
            len = too_large.len,
            limit = too_large.limit,
            "push frame over the limits dropped"
        );
        return Ok(());
    }
    if !shared.pending.pop_into(1, slots) {
        return Err(Error::protocol(
            "the server sent a reply no command was waiting for; the connection is dropped",
        ));
    }
    shared.counters.replies.fetch_add(1, Relaxed);
    let error = Error::ReplyTooLarge {
        what: too_large.what,
        len: too_large.len,
        limit: too_large.limit,
    };
    tracing::debug!(%error, "reply over the limits skipped");
    for slot in slots.drain(..) {
        slot.fail(error.clone());
    }
    Ok(())
}
