//! The reader task: decodes replies from one large buffer without copying payloads,
//! pops the oldest pending slot for each, and completes it. RESP3 push frames never
//! touch the FIFO.

use std::sync::atomic::Ordering::Relaxed;

use bytes::BytesMut;
use redmux_resp::{Decoder, Value};
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
            match decoder.decode(&mut buf) {
                Ok(Some(Value::Push(items))) => shared.on_push(items),
                Ok(Some(reply)) => replies.push(reply),
                Ok(None) => break,
                Err(e) => return Some(Error::protocol(format!("{e}; the connection is dropped"))),
            }
        }
        if !replies.is_empty() {
            if !shared.pending.pop_into(replies.len(), &mut slots) {
                return Some(Error::protocol(
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
