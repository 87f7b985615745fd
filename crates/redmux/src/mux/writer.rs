//! The writer: takes everything queued at once, records the pending slots, and writes
//! the commands with as few syscalls as it can. It writes whenever the queue runs dry,
//! so batching comes from load and a lone caller waits for no timer.
//!
//! A queued entry may *hold* the writer (see [`Entry::hold`]): once it is written the
//! writer takes nothing else from the queue until its owner sends the commands that
//! must follow it, so a transaction's WATCH ... EXEC is never split by another caller.

use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::sync::{oneshot, watch};

use super::Shared;
use super::queue::{Entry, Take};
use super::slot::Slot;
use crate::connection::WriteHalf;
use crate::error::{CommandStatus, Error};

/// A command written from its own buffers: its encoded bytes, then the large
/// arguments it kept by reference, if any.
type Direct = (BytesMut, Option<Box<[Bytes]>>);

/// Why the writer stopped.
#[derive(Debug)]
pub(crate) enum WriterExit {
    /// The queue was closed and everything in it was written.
    Drained,
    /// The connection is being torn down (the reader failed).
    Stopped,
    /// A write failed: the connection is broken.
    Failed(io::Error),
}

struct Writer<'a> {
    shared: &'a Shared,
    io: &'a WriteHalf,
    stop: watch::Receiver<bool>,
    out: BytesMut,
    slots: Vec<Slot>,
    /// Buffers of the commands copied into `out`, handed back for reuse together
    /// once the batch is filled (`CommandBuf::recycle_all`).
    spent: Vec<BytesMut>,
    max_write: usize,
}

pub(crate) async fn run(
    shared: &Shared,
    io: &WriteHalf,
    stop: watch::Receiver<bool>,
) -> WriterExit {
    let mut writer = Writer {
        shared,
        io,
        stop,
        out: BytesMut::with_capacity(64 * 1024),
        slots: Vec::with_capacity(256),
        spent: Vec::with_capacity(256),
        max_write: shared.config.max_write_bytes.max(1),
    };
    let mut batch: Vec<Entry> = Vec::with_capacity(256);
    loop {
        let rest = match shared.queue.take(&mut batch) {
            Take::Batch => None,
            Take::Partial(rest) => Some(rest),
            Take::Idle => None,
        };
        if let Some(rest) = rest {
            // A caller's fast-path write was cut short: its rest goes first.
            if let Err(exit) = writer.flush(Some((rest, None))).await {
                return exit;
            }
            continue;
        }
        if batch.is_empty() {
            // Closed, and nothing left: not even a lone caller's write in progress,
            // whose end wakes the writer for what queued behind it.
            if shared.queue.is_drained() {
                return WriterExit::Drained;
            }
            tokio::select! {
                biased;
                _ = writer.stop.wait_for(|s| *s) => return WriterExit::Stopped,
                _ = shared.queue.wait() => {}
            }
            // Woken by the first push after a drain: let the other callers that are
            // ready to run push theirs too, so one write carries them all. Without
            // this the wakeup lands in the waking worker's LIFO slot and the writer
            // runs right after the first push, writing one command at a time.
            // Keep yielding while callers keep arriving (a few rounds at most).
            let mut seen = shared.queue.depth().0;
            for _ in 0..4 {
                tokio::task::yield_now().await;
                let now = shared.queue.depth().0;
                if now == seen {
                    break;
                }
                seen = now;
            }
            continue;
        }
        let mut entries = batch.drain(..);
        let mut hold = match writer.write(&mut entries, Expire::Past).await {
            Ok(hold) => hold,
            Err(exit) => {
                shared.queue.push_front(entries);
                return exit;
            }
        };
        if hold.is_some() {
            // Whatever came after the holding entry waits its turn in the queue.
            shared.queue.push_front(entries);
        }
        while let Some((rest, deadline)) = hold.take() {
            let follow_up = tokio::select! {
                biased;
                _ = writer.stop.wait_for(|s| *s) => return WriterExit::Stopped,
                r = rest => r.ok(),
                _ = tokio::time::sleep_until(deadline.into()) => None,
            };
            // A dropped sender (the caller gave up) or a late one releases the writer.
            if let Some(follow_up) = follow_up {
                let mut entries = follow_up.into_iter();
                // Never dropped for lateness: the head of their group is on the
                // wire, and a MULTI without its EXEC would leave the connection
                // queueing every other caller's commands (their replies `+QUEUED`).
                hold = match writer.write(&mut entries, Expire::Never).await {
                    Ok(hold) => hold,
                    Err(exit) => {
                        // A follow-up is the rest of something partly written (a
                        // transaction after its MULTI): on the next connection it
                        // would run on its own. It fails as unsent instead.
                        for entry in entries {
                            entry.fail(Error::ConnectionLost {
                                status: CommandStatus::NotSent,
                                reason: "the connection broke while the group it belongs to was being written".into(),
                            });
                        }
                        return exit;
                    }
                };
                if hold.is_some() {
                    shared.queue.push_front(entries);
                }
            }
        }
    }
}

/// A holding entry's follow-up and the instant the writer stops waiting for it.
type Hold = (oneshot::Receiver<Vec<Entry>>, Instant);

/// Whether entries whose deadline has passed are dropped unwritten.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expire {
    /// Queued commands: their callers were told they timed out unsent.
    Past,
    /// The rest of a group whose first part is written: it goes out whole.
    Never,
}

impl Writer<'_> {
    /// Writes entries until they run out or one holds the writer; returns the hold.
    async fn write(
        &mut self,
        entries: &mut impl Iterator<Item = Entry>,
        expire: Expire,
    ) -> Result<Option<Hold>, WriterExit> {
        let now = Instant::now();
        loop {
            // Fill one write: small commands are copied into `out`; a large one ends
            // the write and goes out from its own buffer right after.
            let mut direct: Option<Direct> = None;
            let mut hold: Option<Hold> = None;
            for entry in entries.by_ref() {
                if expire == Expire::Past && entry.deadline <= now {
                    // Its caller was already told it timed out unsent.
                    entry
                        .slot
                        .fail(self.shared.expired_error(CommandStatus::NotSent));
                    self.shared.counters.expired.fetch_add(1, Relaxed);
                    continue;
                }
                if entry.is_direct() {
                    direct = Some((entry.bytes, entry.parts));
                } else {
                    self.out.extend_from_slice(&entry.bytes);
                    // Copied: its buffer serves the next command encoded here, or
                    // its future, which may send it again (a cluster redirect).
                    // Kept before its slot is pending, so before any reply.
                    if !entry.keep {
                        self.spent.push(entry.bytes);
                    } else if let Some(spare) = entry.slot.keep(entry.bytes) {
                        self.spent.push(spare);
                    }
                    // Not direct, so it has no parts: forgetting `None` skips an
                    // out-of-line drop call per command (callgrind, C = 1000: 17
                    // instructions).
                    std::mem::forget(entry.parts);
                }
                self.slots.push(entry.slot);
                if let Some(rest) = entry.hold {
                    hold = Some((rest, entry.deadline));
                    break;
                }
                if direct.is_some() || self.out.len() >= self.max_write {
                    break;
                }
            }
            redmux_resp::CommandBuf::recycle_all(&mut self.spent);
            if self.slots.is_empty() {
                return Ok(None);
            }
            self.flush(direct).await?;
            if hold.is_some() {
                return Ok(hold);
            }
        }
    }

    /// Records the slots, then writes `out` and the large command, if any.
    async fn flush(&mut self, direct: Option<Direct>) -> Result<(), WriterExit> {
        let commands = self.slots.len() as u64;
        // Slots go in before the bytes go out: a reply cannot beat its slot.
        self.shared.pending.extend(&mut self.slots);
        self.shared.pended();
        self.shared
            .counters
            .commands_sent
            .fetch_add(commands, Relaxed);
        let bytes = self.out.len()
            + direct.as_ref().map_or(0, |(head, parts)| {
                head.len()
                    + parts
                        .as_deref()
                        .map_or(0, |p| p.iter().map(Bytes::len).sum())
            });
        let result = tokio::select! {
            biased;
            _ = self.stop.wait_for(|s| *s) => Err(WriterExit::Stopped),
            r = write_out(self.io, &self.out, direct) => r.map_err(WriterExit::Failed),
        };
        self.out.clear();
        let counters = &self.shared.counters;
        let syscalls = result?;
        counters.writes.fetch_add(syscalls, Relaxed);
        counters.bytes_out.fetch_add(bytes as u64, Relaxed);
        self.shared.mark_write();
        tracing::debug!(commands, bytes, "write batch");
        Ok(())
    }
}

/// Writes the batch, then the large command if there is one; returns the syscall count.
async fn write_out(io: &WriteHalf, out: &[u8], direct: Option<Direct>) -> io::Result<u64> {
    match direct {
        None => {
            io.write_all(out).await?;
            Ok(1)
        }
        Some((head, None)) => io.write_all_vectored(&[out, &head]).await,
        // A command with large arguments kept by reference: the batch, its buffer
        // and each part in order, gathered into as few writes as the socket takes.
        Some((head, Some(parts))) => {
            let mut bufs: Vec<&[u8]> = Vec::with_capacity(2 + parts.len());
            bufs.push(out);
            bufs.push(&head);
            bufs.extend(parts.iter().map(|p| &p[..]));
            io.write_all_vectored(&bufs).await
        }
    }
}
