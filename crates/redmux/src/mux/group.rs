//! [`Group`]: commands sent back to back, their replies gathered in one
//! [`Collector`]; and [`Release`], the way to send what must follow a group that
//! holds the writer.
//!
//! A batch chunk is a group; a transaction is a group whose first command (MULTI)
//! carries the rest with it, or (with conditions) a group of WATCH and checks whose
//! last command holds the writer until its owner has read them and decided.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{Collector, Entry, Shared, Slot};

/// Commands that go out back to back, each reply landing in the group's
/// [`Collector`] at the command's index.
#[derive(Debug)]
pub(crate) struct Group {
    entries: Vec<Entry>,
    collector: Arc<Collector>,
    deadline: std::time::Instant,
}

impl Group {
    /// A group of `len` commands (indices `0..len`) due by `deadline`.
    pub(crate) fn new(len: usize, deadline: Instant) -> Group {
        Group {
            entries: Vec::with_capacity(len),
            collector: Collector::new(len),
            deadline: deadline.into_std(),
        }
    }

    /// A group whose replies go into `collector`, which other groups may share
    /// (a batch chunk split over a cluster's nodes: one group per node, one
    /// collector for the chunk, each reply at its command's place in the batch).
    pub(crate) fn sharing(collector: &Arc<Collector>, deadline: Instant) -> Group {
        Group {
            entries: Vec::new(),
            collector: collector.clone(),
            deadline: deadline.into_std(),
        }
    }

    /// Adds the command whose reply goes at `index`.
    pub(crate) fn push(&mut self, index: usize, bytes: BytesMut) {
        let slot = self.collector.slot(index);
        self.entries.push(Entry::new(bytes, slot, self.deadline));
    }

    /// The replies, filled in as they come.
    pub(crate) fn collector(&self) -> &Arc<Collector> {
        &self.collector
    }

    /// Whether no command was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The same group with everything after its first command handed to the
    /// writer with it: once the first is written the rest follows at once, and
    /// the two are never sent apart, even when a write fails half-way (a MULTI
    /// and its commands and EXEC).
    pub(crate) fn chained(mut self) -> Group {
        if self.entries.len() > 1 {
            let rest = self.entries.split_off(1);
            let (tx, rx) = oneshot::channel();
            // The receiver is in hand, so this cannot fail.
            let _ = tx.send(rest);
            if let Some(first) = self.entries.first_mut() {
                first.hold = Some(rx);
            }
        }
        self
    }

    /// Makes the group's last command hold the writer: once it is written, the
    /// writer takes nothing else until the returned [`Release`] sends what
    /// follows (or is dropped, or the group's deadline passes). `on_drop` is sent
    /// instead when the release is dropped unused (a transaction's UNWATCH).
    pub(crate) fn hold_last(&mut self, shared: &Arc<Shared>, on_drop: BytesMut) -> Release {
        let (tx, rx) = oneshot::channel();
        if let Some(last) = self.entries.last_mut() {
            last.hold = Some(rx);
        }
        Release {
            tx: Some(tx),
            shared: shared.clone(),
            on_drop: Some(on_drop),
        }
    }

    pub(super) fn into_entries(self) -> Vec<Entry> {
        self.entries
    }
}

/// The way to hand the writer what follows a group that holds it. Dropped unused,
/// it sends its fallback command instead, so a held writer is never left waiting.
#[derive(Debug)]
pub(crate) struct Release {
    tx: Option<oneshot::Sender<Vec<Entry>>>,
    shared: Arc<Shared>,
    on_drop: Option<BytesMut>,
}

impl Release {
    /// Hands over the commands that follow; `false` if the writer stopped waiting
    /// for them (the deadline passed, or the connection broke): then nothing of
    /// `group` is sent, and the fallback goes through the queue instead.
    pub(crate) fn send(mut self, group: Group) -> bool {
        let Some(tx) = self.tx.take() else {
            return false;
        };
        match tx.send(group.into_entries()) {
            Ok(()) => {
                self.on_drop = None;
                true
            }
            // Their slots record "not sent" as they drop.
            Err(_unsent) => false,
        }
    }

    fn fallback(&mut self) -> Option<Entry> {
        let bytes = self.on_drop.take()?;
        // Its own deadline: the group's may have passed.
        let deadline = super::deadline(self.shared.config.command_timeout).into_std();
        Some(Entry::new(bytes, Slot::Ignore, deadline))
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let Some(entry) = self.fallback() else {
            return;
        };
        match self.tx.take() {
            // The writer still waits: the fallback follows the group at once.
            Some(tx) => {
                if let Err(mut back) = tx.send(vec![entry])
                    && let Some(entry) = back.pop()
                {
                    let _ = self.shared.submit(entry);
                }
            }
            // It stopped waiting: through the queue (harmless on a new connection).
            None => {
                let _ = self.shared.submit(entry);
            }
        }
    }
}
