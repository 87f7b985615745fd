//! The expiry sweep: one timer per client instead of one per command.
//!
//! A command awaited with the client's `command_timeout` gets a [`Slot::Timed`]
//! holding its deadline, and its future sets no timer of its own (registering and
//! cancelling a timer per command cost about an eighth of a command's instructions).
//! Those deadlines are the submit instant plus one fixed timeout, so they grow in
//! queue order: the oldest `Timed` command not yet answered is the next to expire.
//! This task sleeps until that deadline, fails what has expired (in the queue and in
//! flight), and sleeps again. With nothing waiting it sleeps a whole timeout: a
//! command submitted meanwhile expires after that anyway.
//!
//! Commands with a timeout of their own keep a timer in their future
//! ([`Slot::Waiter`]); the sweep steps over them.
//!
//! [`Slot::Timed`]: super::Slot::Timed
//! [`Slot::Waiter`]: super::Slot::Waiter

use std::sync::Arc;
use std::time::Instant;

use super::Shared;
use crate::error::CommandStatus;

/// Runs until aborted (the supervisor aborts it when the client has closed and
/// every command has its outcome).
pub(crate) async fn run(shared: Arc<Shared>) {
    let idle = shared.config.command_timeout.min(super::FOREVER);
    loop {
        let now = Instant::now();
        // Queued commands were never written: while the connection is down they are
        // the backlog.
        let queued = match shared.state() {
            super::ConnectionState::Connected => CommandStatus::NotSent,
            _ => CommandStatus::Backlogged,
        };
        // In flight first: those are older than anything still queued.
        let next = [shared.pending.expire(now), shared.queue.expire(now, queued)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + idle);
        tokio::time::sleep_until(next.into()).await;
    }
}
