//! [`Stats`]: what the multiplexer has done, read from counters it bumps once per
//! batch.

use crate::state::ConnectionState;

/// A snapshot of a client's counters, from [`crate::Client::stats`].
///
/// ```
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// client.set("k", "v").await?;
/// let stats = client.stats();
/// println!("{:.1} commands per write", stats.commands_per_write());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Commands written to the server.
    pub commands_sent: u64,
    /// Replies read (push frames excluded).
    pub replies: u64,
    /// Write syscalls made (`write_all` calls; each may take more than one on a full socket).
    pub writes: u64,
    /// Bytes read from the server.
    pub bytes_in: u64,
    /// Bytes written to the server.
    pub bytes_out: u64,
    /// Fire-and-forget commands whose reply was an error.
    pub fire_and_forget_errors: u64,
    /// Commands dropped unsent because their timeout passed while they were queued.
    pub expired_unsent: u64,
    /// RESP3 push frames received on the shared connection.
    pub push_frames: u64,
    /// Connections rebuilt after a failure.
    pub reconnects: u64,
    /// Commands that timed out.
    pub timeouts: u64,
    /// Replies over a limit in [`crate::Config::limits`], skipped: each failed its own
    /// command with [`crate::Error::ReplyTooLarge`] and the connection was kept.
    /// Push frames over a limit, dropped, are counted here too.
    pub replies_too_large: u64,
    /// Error replies to awaited commands (`WRONGTYPE`, `ERR`, ... : each one's
    /// code is in its command's span, see [`crate::Config::tracing`]). Counted by
    /// the caller on the error path, so a success pays nothing for it; a
    /// fire-and-forget command's are in `fire_and_forget_errors`, and a batch's
    /// or transaction's are in its results, counted in neither.
    pub error_replies: u64,
    /// Commands refused, or given up waiting for room, at the queue's bound
    /// ([`crate::Error::Overloaded`]).
    pub overloaded: u64,
    /// Commands written whose connection was lost before their reply came: each
    /// failed with [`crate::Error::ConnectionLost`] and may have run.
    pub lost_in_flight: u64,
    /// Commands queued and not yet written.
    pub queue_depth: usize,
    /// Bytes of the queued commands.
    pub queue_bytes: usize,
    /// Of `queue_depth`, the commands waiting in the backlog for the connection to
    /// come back: all of them while reconnecting, none while connected.
    pub backlog: usize,
    /// Awaited commands that found the queue at its bound and wait for room, in
    /// order, beyond `queue_depth` (see [`crate::Config::max_queued_commands`]).
    pub waiting_for_room: usize,
    /// Commands written and awaiting their reply.
    pub in_flight: usize,
    /// The connection's state.
    pub state: ConnectionState,
}

impl Stats {
    /// Average commands per write: how much batching the load produced.
    pub fn commands_per_write(&self) -> f64 {
        if self.writes == 0 {
            0.0
        } else {
            self.commands_sent as f64 / self.writes as f64
        }
    }
}

/// One node the client talks to, from [`crate::Client::nodes`].
///
/// ```
/// # async fn run(client: redmux::Client) {
/// let owners = client.nodes().into_iter().filter(|n| !n.slots.is_empty()).count();
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NodeInfo {
    /// `host:port` (or the socket path).
    pub addr: String,
    /// The hash slot ranges it serves, inclusive: all of them on a standalone
    /// server; a cluster primary's own; none for a node outside the map.
    pub slots: Vec<(u16, u16)>,
    /// Its multiplexer's counters.
    pub stats: Stats,
}
