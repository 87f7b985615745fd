//! redmux integration tests: see the files in `tests/tests/`, one per area. This
//! library holds the helpers more than one of them needs.

use std::time::{Duration, Instant};

use redmux::{Client, ConnectionState};

/// Waits until `client` is in state `want`, failing the test (with the client's
/// counters) after `within`; returns how long it took.
pub async fn wait_for_state(client: &Client, want: ConnectionState, within: Duration) -> Duration {
    let started = Instant::now();
    let mut states = client.watch_state();
    tokio::time::timeout(within, states.wait_for(|s| *s == want))
        .await
        .unwrap_or_else(|_| panic!("not {want} within {within:?}; stats {:?}", client.stats()))
        .unwrap();
    started.elapsed()
}
