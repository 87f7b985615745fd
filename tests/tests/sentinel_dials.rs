//! Sentinel, every connection of one client: a dedicated connection or a
//! subscriber opened right after connecting dials the primary at once (a second
//! ask of the sentinels soon after the first is not a failed dial), and a client
//! with a client-side cache still follows `+switch-master` (its sentinel links
//! carry no tracking), so it reaches the promoted replica as soon as the sentinels
//! agree, not after the reconnect's longest pause.

use std::time::{Duration, Instant};

use redmux::{Client, ClientCache, Config};
use redmux_testkit::RedisSentinelSet;

/// The reconnect's longest pause: long, so a needless wait for `+switch-master`
/// shows.
const MAX_DELAY: Duration = Duration::from_secs(8);

fn config(set: &RedisSentinelSet) -> Config {
    let mut config = Config::from_url(&set.url()).unwrap();
    config.reconnect.max_delay = MAX_DELAY;
    config.command_timeout = Duration::from_secs(20);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_right_after_connect_dial_at_once_and_a_cached_client_follows_a_failover() {
    let set = RedisSentinelSet::start().unwrap();
    let mut config = config(&set);
    config.client_cache = Some(ClientCache::default());
    let client = Client::connect_with(config).await.unwrap();

    for _ in 0..3 {
        let started = Instant::now();
        let dedicated = client.dedicated().await.unwrap();
        let _: String = dedicated.command(redmux::cmd("PING")).await.unwrap();
        assert!(
            started.elapsed() < MAX_DELAY / 4,
            "a dedicated connection took {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    let _subscription = client.subscribe("sentinel-dials").await.unwrap();
    assert!(
        started.elapsed() < MAX_DELAY / 4,
        "subscribing took {:?}",
        started.elapsed()
    );

    client.set("dials", "before").await.unwrap();
    let cached: Option<String> = client
        .get("dials")
        .cached(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cached.as_deref(), Some("before"));
    let set = std::sync::Arc::new(set);
    let killer = set.clone();
    let failover = tokio::task::spawn_blocking(move || killer.kill_primary().unwrap());
    let killed = Instant::now();
    let failover = failover.await.unwrap();
    // Writes go on until one lands on the promoted replica.
    loop {
        if client.set("dials", "after").await.is_ok() {
            break;
        }
        assert!(killed.elapsed() < MAX_DELAY * 2, "no write succeeded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered = killed.elapsed();
    println!(
        "sentinels agreed after {:?}; the client wrote again after {recovered:?}",
        failover.sentinels_agree
    );
    assert!(
        recovered < failover.sentinels_agree + Duration::from_secs(2),
        "recovered after {recovered:?}, the sentinels agreed after {:?}",
        failover.sentinels_agree
    );
    // The reconnect flushed the cache: the new value, never the old one.
    let cached: Option<String> = client
        .get("dials")
        .cached(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cached.as_deref(), Some("after"));
}
