//! The faults currently in force, published through a `tokio::sync::watch` so every
//! connection task sees a change at once (a stalled writer wakes the moment
//! `resume` is called, not at its next poll).

use std::time::Duration;

use tokio::sync::watch;

use super::CutMode;

/// A snapshot of what the proxy is told to do. Small and `Copy`: tasks read it often.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Faults {
    /// Delay added to every chunk going client → server.
    pub(crate) to_server: Duration,
    /// Delay added to every chunk going server → client.
    pub(crate) to_client: Duration,
    /// While true, nothing is read or written; sockets stay open and data is held.
    pub(crate) stalled: bool,
    /// While true, new connections are closed as soon as they are accepted.
    pub(crate) refusing: bool,
    /// Bumped by every cut; a connection born under an older generation closes.
    pub(crate) cut_generation: u64,
    /// How the latest cut closes connections.
    pub(crate) cut_mode: CutMode,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            to_server: Duration::ZERO,
            to_client: Duration::ZERO,
            stalled: false,
            refusing: false,
            cut_generation: 0,
            cut_mode: CutMode::Close,
        }
    }
}

/// Which way bytes flow through a proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Client → server.
    ToServer,
    /// Server → client.
    ToClient,
}

impl Direction {
    /// The delay the faults give this direction.
    pub(crate) fn latency(self, faults: &Faults) -> Duration {
        match self {
            Direction::ToServer => faults.to_server,
            Direction::ToClient => faults.to_client,
        }
    }
}

/// Waits while the proxy is stalled. Returns false if the proxy is shutting down
/// (the sender is gone), in which case the caller should stop.
pub(crate) async fn wait_until_flowing(faults: &mut watch::Receiver<Faults>) -> bool {
    faults.wait_for(|f| !f.stalled).await.is_ok()
}

/// Resolves when a cut newer than `birth` is published, with that cut's mode.
/// Never resolves if the proxy shuts down first: shutdown closes connections itself.
pub(crate) async fn cut_after(mut faults: watch::Receiver<Faults>, birth: u64) -> CutMode {
    let mode = match faults.wait_for(|f| f.cut_generation > birth).await {
        Ok(faults) => Some(faults.cut_mode),
        Err(_) => None,
    };
    match mode {
        Some(mode) => mode,
        None => std::future::pending().await,
    }
}
