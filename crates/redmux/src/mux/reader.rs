//! The reader task: decodes replies from one large buffer without copying payloads,
//! pops the oldest pending slot for each, and completes it. RESP3 push frames never
//! touch the FIFO.

use std::sync::atomic::Ordering::Relaxed;

use bytes::BytesMut;
use redmux_resp::{Decoded, Decoder, TooLarge, Value};
use tokio::io::AsyncReadExt;

use super::Shared;
use super::slot::Slot;
use crate::connection::ReadHalf;
use crate::error::Error;

/// Read at least this much at a time: one syscall drains many replies.
const READ_CHUNK: usize = 64 * 1024;

/// Runs until the connection fails (returned as the reason) or, once the client is
/// closed, until every written command has its reply.
pub(crate) async fn run(
    shared: &Shared,
    io: &mut ReadHalf,
    decoder: &mut Decoder,
    mut buf: BytesMut,
) -> Option<Error> {
    let mut replies: Vec<Value> = Vec::with_capacity(256);
    let mut slots: Vec<Slot> = Vec::with_capacity(256);
    loop {
        loop {
            match decoder.decode_frame(&mut buf) {
                Ok(Some(Decoded::Frame(Value::Push(items)))) => shared.on_push(items),
                Ok(Some(Decoded::Frame(reply))) => replies.push(reply),
                // Skipped whole by the decoder, so the stream is still in step: only
                // the command it answers fails.
                Ok(Some(Decoded::TooLarge(too_large))) => {
                    if let Err(e) = complete(shared, &mut replies, &mut slots) {
                        return Some(e);
                    }
                    if let Err(e) = fail_too_large(shared, too_large, &mut slots) {
                        return Some(e);
                    }
                }
                Ok(None) => break,
                Err(e) => return Some(Error::protocol(format!("{e}; the connection is dropped"))),
            }
        }
        if let Err(e) = complete(shared, &mut replies, &mut slots) {
            return Some(e);
        }
        if shared.writer_done.load(Relaxed) && shared.pending.len() == 0 {
            return None;
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        match io.read_buf(&mut buf).await {
            Ok(0) => {
                return Some(Error::ConnectionLost {
                    status: crate::CommandStatus::Sent,
                    reason: "the server closed the connection".into(),
                });
            }
            Ok(n) => {
                shared.counters.bytes_in.fetch_add(n as u64, Relaxed);
                shared.touch_read();
            }
            Err(e) => {
                return Some(Error::ConnectionLost {
                    status: crate::CommandStatus::Sent,
                    reason: format!("read failed: {e}").into(),
                });
            }
        }
    }
}

/// Completes the oldest pending slots with `replies`, in order.
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

/// A frame over the limits, skipped: the oldest pending command fails with
/// [`Error::ReplyTooLarge`] (the replies decoded before it were completed first); a
/// push is dropped. Either way it is counted and the connection is kept.
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
