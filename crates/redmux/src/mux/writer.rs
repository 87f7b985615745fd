//! The writer task: takes everything queued at once, records the pending slots, and
//! writes the commands with as few syscalls as it can. It writes whenever the queue
//! runs dry, so batching comes from load and a lone caller waits for no timer.

use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use super::Shared;
use super::queue::Entry;
use super::slot::Slot;
use crate::connection::WriteHalf;

/// Commands at least this large are written from their own buffer instead of being
/// copied into the batch: a 4 MiB value costs a syscall, not a 4 MiB memcpy.
const WRITE_DIRECTLY: usize = 64 * 1024;

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

pub(crate) async fn run(
    shared: &Shared,
    io: &mut WriteHalf,
    mut stop: watch::Receiver<bool>,
) -> WriterExit {
    let mut batch: Vec<Entry> = Vec::with_capacity(256);
    let mut out = BytesMut::with_capacity(64 * 1024);
    let mut slots: Vec<Slot> = Vec::with_capacity(256);
    let max_write = shared.config.max_write_bytes.max(1);
    loop {
        shared.queue.take_all(&mut batch);
        if batch.is_empty() {
            if shared.queue.is_closed() {
                return WriterExit::Drained;
            }
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => return WriterExit::Stopped,
                _ = shared.queue.wait() => continue,
            }
        }
        let now = Instant::now();
        let mut entries = batch.drain(..);
        let mut commands = 0u64;
        let mut direct: Option<BytesMut> = None;
        loop {
            // Fill one write: small commands are copied into `out`; a large one ends
            // the write and goes out from its own buffer right after.
            for entry in entries.by_ref() {
                if entry.deadline <= now {
                    // Its caller was already told it timed out unsent.
                    entry.slot.fail(super::expired_error());
                    shared.counters.expired.fetch_add(1, Relaxed);
                    continue;
                }
                slots.push(entry.slot);
                commands += 1;
                if entry.bytes.len() >= WRITE_DIRECTLY {
                    direct = Some(entry.bytes);
                    break;
                }
                out.extend_from_slice(&entry.bytes);
                if out.len() >= max_write {
                    break;
                }
            }
            if slots.is_empty() {
                break;
            }
            // Slots go in before the bytes go out: a reply cannot beat its slot.
            shared.pending.extend(&mut slots);
            let written = out.len() + direct.as_ref().map_or(0, |d| d.len());
            let result = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => Err(None),
                r = write_out(io, &out, direct.take()) => r.map_err(Some),
            };
            out.clear();
            shared.counters.commands_sent.fetch_add(commands, Relaxed);
            tracing::debug!(commands, bytes = written, "write batch");
            commands = 0;
            match result {
                Ok(syscalls) => {
                    shared.counters.writes.fetch_add(syscalls, Relaxed);
                    shared.counters.bytes_out.fetch_add(written as u64, Relaxed);
                    shared.touch_write();
                }
                Err(error) => {
                    // Whatever the writer took and did not write goes back to the
                    // backlog; what it wrote fails as sent-may-have-run via `pending`.
                    shared.queue.push_front(entries);
                    return match error {
                        Some(e) => WriterExit::Failed(e),
                        None => WriterExit::Stopped,
                    };
                }
            }
        }
    }
}

/// Writes the batch, then the large command if there is one; returns the syscall count.
async fn write_out(io: &mut WriteHalf, out: &[u8], direct: Option<BytesMut>) -> io::Result<u64> {
    let mut syscalls = 0;
    if !out.is_empty() {
        io.write_all(out).await?;
        syscalls += 1;
    }
    if let Some(direct) = direct {
        io.write_all(&direct).await?;
        syscalls += 1;
    }
    Ok(syscalls)
}
