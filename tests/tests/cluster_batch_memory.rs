//! `batch_iter` across a cluster's nodes runs in bounded memory: a million GETs
//! whose keys spread over every slot are split per node, and the client never has
//! more than the window (4 chunks of 1,000 commands, across all nodes together;
//! the heartbeat's PINGs aside) queued or in flight, while the process's live heap grows by less than 8 MiB
//! (holding every result would take over 50 MiB; a cluster chunk keeps a copy of
//! each command to resend after a redirect, about twice a standalone chunk).
//! A chunk waits while any node's queue is at its bound, rather than having its
//! group refused as overloaded (and sent again command by command). Its own test binary, so its counting allocator sees
//! nothing else; the two tests take turns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures::StreamExt;
use redmux::{Client, Config, cmd};
use redmux_testkit::RedisCluster;
use redmux_tests::Counting;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const GETS: usize = 1_000_000;
const WINDOW_COMMANDS: usize = 4 * 1000;
const HEAP_BOUND: usize = 8 << 20;

/// The tests take turns: one's allocations must not count as the other's.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn client(url: &str, max_queued_commands: usize) -> Client {
    let mut config = Config::from_url(url).unwrap();
    config.command_timeout = Duration::from_secs(10);
    config.max_queued_commands = max_queued_commands;
    Client::connect_with(config).await.unwrap()
}

/// Commands queued or in flight, summed over every node of the client.
fn outstanding(client: &Client) -> usize {
    client
        .nodes()
        .iter()
        .map(|n| n.stats.queue_depth + n.stats.in_flight)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_streamed_gets_across_nodes_stay_within_the_window() {
    let _turn = TURN.lock().await;
    let cluster = RedisCluster::shared().unwrap();
    let prefix = cluster.key_prefix("batch-memory");
    let client = client(&cluster.url(), 100_000).await;
    let keys: Vec<String> = (0..1000).map(|i| format!("{prefix}:{i}")).collect();
    let mut setup = client.batch();
    for (i, key) in keys.iter().enumerate() {
        setup.add(client.set(key, format!("value-{i:010}")));
    }
    assert_eq!(setup.execute().await.errors().count(), 0);

    // Samples the nodes' queues and in-flight counts from another task all along.
    let done = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn({
        let (client, done) = (client.clone(), done.clone());
        async move {
            let mut most = 0;
            while !done.load(Relaxed) {
                most = most.max(outstanding(&client));
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            most
        }
    });

    let baseline = Counting::start_peak();
    let started = Instant::now();
    let gets = (0..GETS).map(|i| cmd("GET").arg(&keys[i % 1000]));
    let mut results = client.batch_iter::<Option<String>, _>(gets);
    let mut found = 0usize;
    while let Some(value) = results.next().await {
        let value = value.unwrap();
        if found.is_multiple_of(997) {
            assert_eq!(value, Some(format!("value-{:010}", found % 1000)));
        }
        found += usize::from(value.is_some());
    }
    done.store(true, Relaxed);
    let most_outstanding = sampler.await.unwrap();
    let elapsed = started.elapsed();
    let grew = Counting::peak() - baseline;
    eprintln!(
        "{GETS} streamed GETs across {} primaries in {elapsed:?}: at most {most_outstanding} \
         commands queued or in flight, peak heap growth {:.2} MiB",
        cluster.primaries().len(),
        grew as f64 / (1 << 20) as f64
    );
    assert_eq!(found, GETS);
    // Every primary took its share, in parallel.
    let busy = client
        .nodes()
        .iter()
        .filter(|n| !n.slots.is_empty() && n.stats.commands_sent > GETS as u64 / 5)
        .count();
    assert_eq!(busy, cluster.primaries().len(), "{:?}", client.nodes());
    // The window, plus at most one heartbeat PING per connection.
    let connections = client.nodes().len();
    assert!(
        most_outstanding <= WINDOW_COMMANDS + connections,
        "{most_outstanding} outstanding"
    );
    assert!(grew < HEAP_BOUND, "heap grew by {grew} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_waits_for_room_on_a_full_node_instead_of_failing() {
    let _turn = TURN.lock().await;
    let cluster = RedisCluster::shared().unwrap();
    let prefix = cluster.key_prefix("batch-room");
    // Each node's queue is full with one command queued (a group may overshoot
    // the bound), and a chunk gives each node about 333: the chunks behind the
    // first find the queues full until the writers have taken them.
    let client = client(&cluster.url(), 1).await;
    let sets = (0..20_000).map(|i| client.set(format!("{prefix}:{i}"), i));
    let results: Vec<redmux::Result<()>> = client.batch_iter(sets).collect().await;
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .take(3)
        .collect();
    assert_eq!(results.len(), 20_000);
    assert!(failed.is_empty(), "{failed:?}");
    // No node refused a chunk's group as overloaded: the chunks waited for room
    // (a refused group is sent again command by command, which is slow).
    let refused: u64 = client.nodes().iter().map(|n| n.stats.overloaded).sum();
    assert_eq!(refused, 0, "{:?}", client.nodes());
}
