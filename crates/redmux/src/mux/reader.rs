//! The reader task: decodes every whole reply of a read (the connection layer's
//! [`FrameReader`] keeps them in one large buffer, payloads never copied), pops that
//! many pending slots under one lock, and completes them in one batch. RESP3 push
//! frames never touch the FIFO.

use std::sync::atomic::Ordering::Relaxed;

use redmux_resp::{Decoded, TooLarge, Value};

use super::Shared;
use super::slot::Slot;
use crate::connection::{FrameReader, ReadError};
use crate::error::Error;

/// Runs until the connection fails (returned as the reason) or, once the client is
/// closed, until every written command has its reply.
pub(crate) async fn run(shared: &Shared, frames: &mut FrameReader) -> Option<Error> {
    let mut replies: Vec<Value> = Vec::with_capacity(256);
    let mut slots: Vec<Slot> = Vec::with_capacity(256);
    loop {
        // Where a decoded frame is classified: one place.
        loop {
            match frames.decode() {
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
                Err(e) => return Some(ReadError::Decode(e).into_error()),
            }
        }
        if let Err(e) = complete(shared, &mut replies, &mut slots) {
            return Some(e);
        }
        if shared.writer_done.load(Relaxed) && shared.pending.len() == 0 {
            return None;
        }
        match frames.read_more().await {
            Ok(n) => {
                shared.counters.bytes_in.fetch_add(n as u64, Relaxed);
                shared.mark_read();
            }
            Err(lost) => return Some(lost.into_error()),
        }
    }
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
