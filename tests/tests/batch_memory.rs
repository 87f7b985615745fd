//! A streamed batch of a million GETs runs in bounded memory: the client never has
//! more than the window (4 chunks of 1,000) queued or in flight, and the process's
//! live heap grows by less than 8 MiB while holding every result would take
//! over 50 MiB. Its own test binary, so its counting allocator sees nothing else.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures::StreamExt;
use redmux::{Client, cmd};
use redmux_testkit::RedisServer;
use redmux_tests::Counting;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const GETS: usize = 1_000_000;
const WINDOW_COMMANDS: usize = 4 * 1000;
const HEAP_BOUND: usize = 8 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_streamed_gets_stay_within_the_window() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    let mut setup = client.batch();
    for i in 0..1000 {
        setup.add(client.set(format!("k:{i}"), format!("value-{i:010}")));
    }
    assert_eq!(setup.execute().await.errors().count(), 0);

    // Samples the client's queue and in-flight count from another task all along.
    let done = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn({
        let (client, done) = (client.clone(), done.clone());
        async move {
            let mut most = 0;
            while !done.load(Relaxed) {
                let stats = client.stats();
                most = most.max(stats.queue_depth + stats.in_flight);
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            most
        }
    });

    let baseline = Counting::start_peak();
    let started = Instant::now();
    let gets = (0..GETS).map(|i| cmd("GET").arg(format!("k:{}", i % 1000)));
    let mut results = client.batch_iter::<Option<String>, _>(gets);
    let mut found = 0usize;
    while let Some(value) = results.next().await {
        let value = value.unwrap();
        if found.is_multiple_of(1000) {
            assert_eq!(value, Some(format!("value-{:010}", found % 1000)));
        }
        found += usize::from(value.is_some());
    }
    done.store(true, Relaxed);
    let most_outstanding = sampler.await.unwrap();
    let elapsed = started.elapsed();
    let grew = Counting::peak() - baseline;
    eprintln!(
        "{GETS} streamed GETs in {elapsed:?}: at most {most_outstanding} commands queued or in flight, \
         peak heap growth {:.2} MiB",
        grew as f64 / (1 << 20) as f64
    );
    assert_eq!(found, GETS);
    assert!(
        most_outstanding <= WINDOW_COMMANDS,
        "{most_outstanding} outstanding"
    );
    assert!(grew < HEAP_BOUND, "heap grew by {grew} bytes");
}
