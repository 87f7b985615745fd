//! [`Slot`]: what the reader does with one reply, and the pending FIFO of slots.

use std::collections::VecDeque;

use parking_lot::Mutex;
use redmux_resp::Value;
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// Where one reply goes.
#[derive(Debug)]
pub(crate) enum Slot {
    /// An awaited command: the reply is sent to its future (which may be gone, in
    /// which case the reply is dropped).
    Waiter(oneshot::Sender<Result<Value>>),
    /// A fire-and-forget command: the reply is read and counted, never delivered.
    Ignore,
}

impl Slot {
    /// Delivers a reply. Returns `true` when it was a fire-and-forget error.
    pub(crate) fn complete(self, reply: Value) -> bool {
        match self {
            Slot::Waiter(tx) => {
                let _ = tx.send(Ok(reply));
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

    /// Fails the command.
    pub(crate) fn fail(self, error: Error) {
        if let Slot::Waiter(tx) = self {
            let _ = tx.send(Err(error));
        }
    }
}

/// Slots of commands written and awaiting their reply, oldest first. Only the
/// multiplexer touches it: the writer appends before it writes, the reader pops one
/// per reply.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    slots: Mutex<VecDeque<Slot>>,
}

impl Pending {
    pub(crate) fn extend(&self, slots: &mut Vec<Slot>) {
        self.slots.lock().extend(slots.drain(..));
    }

    /// Moves the `n` oldest slots into `into`; `false` if fewer than `n` are waiting
    /// (a reply nobody asked for: the stream is out of sync).
    pub(crate) fn pop_into(&self, n: usize, into: &mut Vec<Slot>) -> bool {
        let mut slots = self.slots.lock();
        if slots.len() < n {
            return false;
        }
        into.extend(slots.drain(..n));
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.lock().len()
    }

    pub(crate) fn take_all(&self) -> VecDeque<Slot> {
        std::mem::take(&mut *self.slots.lock())
    }
}
