//! The burst of benchmark (e) without its proxies, on a 3 + 3 cluster and on one
//! standalone server, for counting what the cluster adds per command (callgrind).
//!
//! ```text
//! cargo build --release -p redmux-tests --example profile_cburst
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*profile_cburst::measured*' \
//!     target/release/examples/profile_cburst cluster|standalone N
//! ```
//!
//! It starts its own servers (`redmux-testkit`), connects, runs one burst of 20,000
//! SETs to warm up, then one of `N` SETs across slots issued at once
//! (`join_all` of `client.set(format!("b:{i}"), &value)` in `async` blocks, the
//! idiomatic form), all on one current-thread runtime, so the client's own tasks
//! (writers, readers) run inside the measured call. Only `measured` is collected:
//! the servers' start and the connection are left out. Subtract the totals of two
//! sizes (20,000 and 120,000) and divide by the difference for Ir per command; the
//! burst's fixed costs (growing the queues, the first wakeups) cancel out.

use std::time::{Duration, Instant};

use futures::future::join_all;
use redmux::{Client, Config};
use redmux_testkit::{RedisCluster, RedisServer};

const VALUE: [u8; 16] = *b"profile-load-val";

/// `n` SETs across slots, issued at once and awaited together.
async fn burst(client: &Client, n: usize) {
    let sets = (0..n).map(|i| async move {
        let key = format!("b:{i}");
        client.set(&key, &VALUE[..]).await
    });
    for outcome in join_all(sets).await {
        outcome.unwrap();
    }
}

/// The burst callgrind collects (`--toggle-collect`): kept out of line so its name
/// stays in the profile.
#[inline(never)]
fn measured(runtime: &tokio::runtime::Runtime, client: &Client, n: usize) {
    runtime.block_on(burst(client, n));
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "cluster".into());
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    // Held until the end: dropping one stops its servers.
    let (url, _cluster, _server) = match mode.as_str() {
        "standalone" => {
            let server = RedisServer::start().unwrap();
            (server.url(), None, Some(server))
        }
        _ => {
            let cluster = RedisCluster::start().unwrap();
            (cluster.url(), Some(cluster), None)
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = runtime.block_on(async {
        let mut config = Config::from_url(&url).unwrap();
        config.command_timeout = Duration::from_secs(120);
        Client::connect_with(config).await.unwrap()
    });
    runtime.block_on(burst(&client, 20_000));
    let started = Instant::now();
    measured(&runtime, &client, n);
    let took = started.elapsed();
    runtime.block_on(client.close());
    println!("mode: {mode}");
    println!("commands: {n}");
    println!("ms: {:.1}", took.as_secs_f64() * 1000.0);
}
