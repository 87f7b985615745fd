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
//!
//! It prints the burst's wall time, the writes it took (all nodes), and the
//! client thread's CPU time (user and kernel). `PROBE_UNORDERED=1` drains the same
//! futures from a `FuturesUnordered` instead of `join_all`, to leave out the cost
//! of putting replies from several nodes back in the burst's order.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::join_all;
use futures::stream::FuturesUnordered;
use redmux::{Client, Config};
use redmux_testkit::{RedisCluster, RedisServer};

const VALUE: [u8; 16] = *b"profile-load-val";

/// `n` SETs across slots, issued at once and awaited together.
async fn burst(client: &Client, n: usize) {
    let sets = (0..n).map(|i| async move {
        let key = format!("b:{i}");
        client.set(&key, &VALUE[..]).await
    });
    if std::env::var_os("PROBE_UNORDERED").is_some() {
        // The same futures, each result taken as it comes: no reordering, to
        // tell `join_all`'s share of a cluster burst (whose replies come back
        // from three nodes out of the burst's order) from the client's.
        let mut all: FuturesUnordered<_> = sets.collect();
        while let Some(outcome) = all.next().await {
            outcome.unwrap();
        }
        return;
    }
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
    let (sent_before, writes_before) = written(&client);
    let started = Instant::now();
    let cpu_before = thread_cpu_ns();
    let ticks_before = thread_ticks();
    measured(&runtime, &client, n);
    let cpu = thread_cpu_ns()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let ticks = thread_ticks()
        .zip(ticks_before)
        .map(|((user, sys), (user0, sys0))| (user - user0, sys - sys0));
    let took = started.elapsed();
    let (sent, writes) = written(&client);
    let (sent, writes) = (sent - sent_before, (writes - writes_before).max(1));
    runtime.block_on(client.close());
    println!("mode: {mode}");
    println!("commands: {n}");
    println!("ms: {:.1}", took.as_secs_f64() * 1000.0);
    println!(
        "writes: {writes} ({:.1} commands per write)",
        sent as f64 / writes as f64
    );
    // The client's own CPU time (its one thread runs all its tasks): beside the
    // wall time, it tells the client's share from the servers'.
    if let Some(cpu) = cpu {
        println!("client cpu ms: {:.1}", cpu as f64 / 1e6);
    }
    if let Some((user, sys)) = ticks {
        // In clock ticks (10 ms on Linux): coarse, for the user/kernel split.
        println!("client user/sys ticks: {user}/{sys}");
    }
}

/// Commands sent and writes made, summed over every node's multiplexer.
fn written(client: &Client) -> (u64, u64) {
    client.nodes().iter().fold((0, 0), |(sent, writes), node| {
        (sent + node.stats.commands_sent, writes + node.stats.writes)
    })
}

/// This thread's user and kernel time in clock ticks, from
/// `/proc/thread-self/stat` (fields 14 and 15, after the parenthesised name).
fn thread_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

/// Nanoseconds this thread has run, from `/proc/thread-self/schedstat` (Linux).
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}
