//! Client-side caching against a real server (Redis 7.0 or Valkey 9.1, as
//! `REDIS_SERVER_BIN` names): a hit makes no round trip, another client's write
//! invalidates (the delay is measured and printed), the client's own write is never
//! followed by the old value (a request, a batch, a transaction, a script, a
//! dedicated connection), a reconnect and FLUSHALL flush, a stress test of 4
//! writers and 100 readers checks that no version goes backwards or is stale by
//! more than 50 ms, memory stays within the bound over 100,000 keys, a refused
//! `CLIENT TRACKING` fails connect, and on a cluster a node that loses a slot loses
//! its entries.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use history::Log;
use redmux::{CacheStats, Client, ClientCache, ClientKill, Config, ConnectionState, Error, cmd};
use redmux_testkit::{RedisCluster, RedisServer, hash_tag_for_slot};
use redmux_tests::wait_for_state;

const TTL: Duration = Duration::from_secs(60);

async fn caching(url: &str, cache: ClientCache) -> Client {
    let mut config = Config::from_url(url).unwrap();
    config.client_cache = Some(cache);
    Client::connect_with(config).await.unwrap()
}

async fn setup() -> (RedisServer, Client, Client) {
    let server = RedisServer::start().unwrap();
    let cached = caching(&server.url(), ClientCache::default()).await;
    let other = Client::connect(&server.url()).await.unwrap();
    (server, cached, other)
}

fn stats(client: &Client) -> CacheStats {
    client.cache_stats().expect("the client has a cache")
}

/// How many times the server has run a command, from `INFO commandstats`.
async fn calls(client: &Client, command: &str) -> u64 {
    let stats = client.info_section("commandstats").await.unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// Polls until `check` holds, failing after `within`; returns how long it took.
async fn eventually(within: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "not within {within:?}");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hit_makes_no_round_trip() {
    let (_server, client, other) = setup().await;
    other.set("k", "v1").await.unwrap();
    other
        .hset_many("h", [("a", "1"), ("b", "2")])
        .await
        .unwrap();
    other.sadd_many("s", ["x", "y"]).await.unwrap();
    let first: Option<String> = client.get("k").cached(TTL).await.unwrap();
    assert_eq!(first.as_deref(), Some("v1"));
    let hash: HashMap<String, String> = client.hgetall("h").cached(TTL).await.unwrap();
    let set: HashSet<String> = client.smembers("s").cached(TTL).await.unwrap();
    let missing: Option<String> = client.get("missing").cached(TTL).await.unwrap();
    assert_eq!(missing, None);

    let (gets, hgetalls, sent) = (
        calls(&other, "get").await,
        calls(&other, "hgetall").await,
        client.stats().commands_sent,
    );
    let before = stats(&client);
    for _ in 0..100 {
        let again: Option<String> = client.get("k").cached(TTL).await.unwrap();
        assert_eq!(again, first);
        let h: HashMap<String, String> = client.hgetall("h").cached(TTL).await.unwrap();
        assert_eq!(h, hash);
        let s: HashSet<String> = client.smembers("s").cached(TTL).await.unwrap();
        assert_eq!(s, set);
        // A nil reply is cached too.
        let m: Option<String> = client.get("missing").cached(TTL).await.unwrap();
        assert_eq!(m, None);
    }
    assert_eq!(
        calls(&other, "get").await,
        gets,
        "a hit ran GET on the server"
    );
    assert_eq!(calls(&other, "hgetall").await, hgetalls);
    assert_eq!(client.stats().commands_sent, sent, "a hit wrote a command");
    let after = stats(&client);
    assert_eq!(after.hits - before.hits, 400);
    assert_eq!(after.misses, before.misses);
    assert_eq!(after.entries, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_write_invalidates_within_milliseconds() {
    let (_server, client, other) = setup().await;
    let mut delays = Vec::new();
    let mut after_reply = Vec::new();
    for round in 0..50 {
        // A value the cache never held: once a cached read returns it, it came
        // from a fill made after this write, so the server tracks the key for us
        // again. (Reading the old entry back, whose invalidation was still on its
        // way, left the key untracked once that push came: the write below then
        // sent none, and the test waited in vain.)
        let (before, after) = (round * 2, round * 2 + 1);
        other.set("k", before).await.unwrap();
        eventually(Duration::from_secs(2), async || {
            client.get::<Option<i64>>("k").cached(TTL).await.unwrap() == Some(before)
        })
        .await;
        let hit: Option<i64> = client.get("k").cached(TTL).await.unwrap();
        assert_eq!(hit, Some(before));
        let invalidations = stats(&client).invalidations;
        // From the write's start (an upper bound: it includes the write's own
        // round trip) and from its reply, to the entry dropped by the server's push.
        let started = Instant::now();
        other.set("k", after).await.unwrap();
        let written = Instant::now();
        eventually(Duration::from_secs(2), async || {
            stats(&client).invalidations > invalidations
        })
        .await;
        delays.push(started.elapsed());
        after_reply.push(written.elapsed());
        let fresh: Option<i64> = client.get("k").cached(TTL).await.unwrap();
        assert_eq!(fresh, Some(after));
    }
    delays.sort();
    after_reply.sort();
    let (median, p99) = (delays[25], delays[49]);
    println!(
        "invalidation delay, another client's write (loopback, 50 rounds): from the write's start median {median:?}, max {p99:?}; from its reply median {:?}, max {:?}",
        after_reply[25], after_reply[49]
    );
    assert!(median < Duration::from_millis(50), "median {median:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_stale_read_after_the_clients_own_write() {
    let (_server, client, _other) = setup().await;
    client.set("k", 0).await.unwrap();
    // Readers keep the entry filled and fills in flight while the writer writes.
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (client, stop) = (client.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            while !stop.load(Relaxed) {
                let _: Option<i64> = client.get("k").cached(TTL).await.unwrap();
                tokio::task::yield_now().await;
            }
        }));
    }
    for i in 1..=2_000 {
        if i % 2 == 0 {
            client.set("k", i).await.unwrap();
        } else {
            // Fire-and-forget: queued when it returns, so a read after it is queued
            // after it and must see it.
            client.set("k", i).fire_and_forget().unwrap();
        }
        let seen: Option<i64> = client.get("k").cached(TTL).await.unwrap();
        assert_eq!(seen, Some(i), "the cached read after the write {i}");
    }
    stop.store(true, Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    assert!(stats(&client).hits > 0);
}

/// Readers keep `key`'s entry filled and fills in flight while `write(i)` writes
/// `i` to it through some path of the client's own, `rounds` times; after each
/// write returns, a cached read must see it. Before each write the entry is
/// filled with the value before, so a write that drops nothing is caught at once.
async fn own_writes_are_seen(
    client: &Client,
    key: &str,
    rounds: i64,
    mut write: impl AsyncFnMut(i64),
) {
    client.set(key, 0).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (client, stop, key) = (client.clone(), stop.clone(), key.to_string());
        readers.push(tokio::spawn(async move {
            while !stop.load(Relaxed) {
                let _: Option<i64> = client.get(key.as_str()).cached(TTL).await.unwrap();
                tokio::task::yield_now().await;
            }
        }));
    }
    let hits = stats(client).hits;
    for i in 1..=rounds {
        assert_eq!(read(client, key).await, Some(i - 1));
        write(i).await;
        assert_eq!(
            read(client, key).await,
            Some(i),
            "the cached read after the write {i}"
        );
    }
    stop.store(true, Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    assert!(
        stats(client).hits > hits,
        "the readers never hit: the test proves nothing"
    );
}

async fn read(client: &Client, key: &str) -> Option<i64> {
    client.get(key).cached(TTL).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_stale_read_after_the_clients_own_batch_write() {
    let (_server, client, _other) = setup().await;
    let script = redmux::Script::new("return redis.call('SET', KEYS[1], ARGV[1])");
    own_writes_are_seen(&client, "k", 1_500, async |i| match i % 3 {
        // `execute` queues the chunk: a cached read made then is queued after
        // it, so it sees the write before the batch is even awaited.
        0 => {
            let mut batch = client.batch();
            batch.add(client.incr("unrelated"));
            batch.add(client.set("k", i));
            let results = batch.execute();
            assert_eq!(read(&client, "k").await, Some(i), "read once queued");
            assert_eq!(results.await.errors().count(), 0);
        }
        // A script call in a batch: its keys are the script's KEYS.
        1 => {
            let mut batch = client.batch();
            batch.add(script.call::<()>().key("k").arg(i));
            let results = batch.execute();
            assert_eq!(read(&client, "k").await, Some(i), "read once queued");
            assert_eq!(results.await.errors().count(), 0);
        }
        _ => {
            use futures::StreamExt;
            let results: Vec<_> = client
                .batch_iter([client.set("k", i), client.set("unrelated:2", i)])
                .collect()
                .await;
            assert!(results.iter().all(Result::is_ok), "{results:?}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_stale_read_after_the_clients_own_transaction() {
    let (_server, client, _other) = setup().await;
    own_writes_are_seen(&client, "k", 1_500, async |i| {
        let mut tx = client.transaction();
        tx.add(client.set("k", i));
        if i % 2 == 0 {
            // With a condition: WATCH and the checks first, MULTI ... EXEC once
            // they are read, so only the await says it is queued.
            tx.add_condition(redmux::Condition::key_exists("k"));
            assert!(tx.execute().await.unwrap().is_committed());
        } else {
            // Without: MULTI ... EXEC is queued by `execute`, and a cached read
            // made then is written after EXEC.
            let outcome = tx.execute();
            assert_eq!(read(&client, "k").await, Some(i), "read once queued");
            assert!(outcome.await.unwrap().is_committed());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_stale_read_after_a_write_on_a_dedicated_connection() {
    let (_server, client, _other) = setup().await;
    let conn = client.dedicated().await.unwrap();
    own_writes_are_seen(&client, "k", 1_500, async |i| {
        if i % 2 == 0 {
            conn.set("k", i).await.unwrap();
        } else {
            conn.command::<()>(cmd("SET").arg("k").arg(i))
                .await
                .unwrap();
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_flushes_the_cache() {
    let (_server, client, other) = setup().await;
    other.set("k", "before").await.unwrap();
    let v: Option<String> = client.get("k").cached(TTL).await.unwrap();
    assert_eq!(v.as_deref(), Some("before"));
    let id = client.client_id().await.unwrap();
    let flushes = stats(&client).flushes;
    let killed = other.client_kill(ClientKill::new().id(id)).await.unwrap();
    assert_eq!(killed, 1);
    // Written while the client's tracking is gone: no invalidation comes for it.
    other.set("k", "after").await.unwrap();
    eventually(Duration::from_secs(5), async || {
        client.stats().reconnects >= 1
    })
    .await;
    wait_for_state(&client, ConnectionState::Connected, Duration::from_secs(5)).await;
    let v: Option<String> = client.get("k").cached(TTL).await.unwrap();
    assert_eq!(
        v.as_deref(),
        Some("after"),
        "the entry of the lost connection was served"
    );
    assert!(stats(&client).flushes > flushes);
    // Tracking is back on the new connection.
    other.set("k", "later").await.unwrap();
    eventually(Duration::from_secs(2), async || {
        client
            .get::<Option<String>>("k")
            .cached(TTL)
            .await
            .unwrap()
            .as_deref()
            == Some("later")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_in_flight_fail_when_the_connection_is_lost() {
    let server = RedisServer::start().unwrap();
    let proxy = redmux_testkit::FaultProxy::start(server.addr()).unwrap();
    let client = caching(&proxy.url(), ClientCache::default()).await;
    client.set("k", "v").await.unwrap();
    proxy.stall();
    let misses = stats(&client).misses;
    let read = tokio::spawn({
        let client = client.clone();
        async move { client.get::<Option<String>>("k").cached(TTL).await }
    });
    let joined = tokio::spawn({
        let client = client.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            client.get::<Option<String>>("k").cached(TTL).await
        }
    });
    // Cut once both have missed (the second joining the first's fill), not after a
    // fixed pause: on a loaded machine the second could still be asleep at the cut,
    // then read through a fresh, still stalled connection and time out instead.
    eventually(Duration::from_secs(5), async || {
        stats(&client).misses == misses + 2
    })
    .await;
    proxy.cut(redmux_testkit::CutMode::Reset);
    let (read, joined) = (read.await.unwrap(), joined.await.unwrap());
    assert!(
        matches!(read, Err(Error::ConnectionLost { .. })),
        "{read:?}"
    );
    assert!(
        matches!(joined, Err(Error::ConnectionLost { .. })),
        "{joined:?}"
    );
    proxy.resume();
    assert_eq!(stats(&client).entries, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_with_a_short_timeout_gives_up_alone() {
    let server = RedisServer::start().unwrap();
    let proxy = redmux_testkit::FaultProxy::start(server.addr()).unwrap();
    let client = caching(&proxy.url(), ClientCache::default()).await;
    client.set("slow", "v").await.unwrap();
    proxy.set_latency(Duration::from_millis(50));
    // The first miss leads the fill with a 5 ms timeout; the second joins it with
    // the client's.
    let leader = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .get::<Option<String>>("slow")
                .timeout(Duration::from_millis(5))
                .cached(TTL)
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(1)).await;
    let joiner = client.get::<Option<String>>("slow").cached(TTL).await;
    let leader = leader.await.unwrap();
    assert!(matches!(leader, Err(Error::Timeout(_))), "{leader:?}");
    assert_eq!(joiner.unwrap().as_deref(), Some("v"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushall_flushes_the_cache() {
    let (_server, client, other) = setup().await;
    other.set("a", "1").await.unwrap();
    for key in ["a", "nothing"] {
        let _: Option<String> = client.get(key).cached(TTL).await.unwrap();
    }
    assert_eq!(stats(&client).entries, 2);
    let flushes = stats(&client).flushes;
    other.flushall().await.unwrap();
    eventually(Duration::from_secs(2), async || {
        stats(&client).flushes > flushes
    })
    .await;
    assert_eq!(stats(&client).entries, 0);
    assert_eq!(
        client.get::<Option<String>>("a").cached(TTL).await.unwrap(),
        None
    );
    // The client's own FLUSHALL: no read after it returns sees what it removed.
    other.set("a", "2").await.unwrap();
    // Another client's write reaches the cache a moment later (a push).
    eventually(Duration::from_secs(2), async || {
        client
            .get::<Option<String>>("a")
            .cached(TTL)
            .await
            .unwrap()
            .as_deref()
            == Some("2")
    })
    .await;
    client.flushall().await.unwrap();
    assert_eq!(
        client.get::<Option<String>>("a").cached(TTL).await.unwrap(),
        None
    );
}

/// Per key, every completed write: (when its reply came, the version it wrote).
struct Writes(Vec<history::Log>);

mod history {
    use std::sync::Mutex;
    use std::time::Instant;

    /// One key's completed writes.
    #[derive(Default)]
    pub struct Log(Mutex<Vec<(Instant, u64)>>);

    impl Log {
        pub fn push(&self, at: Instant, version: u64) {
            self.0.lock().unwrap().push((at, version));
        }

        /// The highest version whose write completed at or before `cutoff`.
        pub fn floor(&self, cutoff: Instant) -> u64 {
            let log = self.0.lock().unwrap();
            log.iter()
                .filter(|(at, _)| *at <= cutoff)
                .map(|(_, v)| *v)
                .max()
                .unwrap_or(0)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_four_writers_and_a_hundred_readers() {
    const KEYS: usize = 100;
    const RUN: Duration = Duration::from_secs(3);
    let (_server, client, other) = setup().await;
    let key = |i: usize| format!("v:{i}");
    for i in 0..KEYS {
        other.set(key(i), 0).await.unwrap();
    }
    let writes = Arc::new(Writes((0..KEYS).map(|_| Log::default()).collect()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..4usize {
        // Two write through the caching client itself, two through another.
        let writer = if w % 2 == 0 {
            client.clone()
        } else {
            other.clone()
        };
        let (writes, stop) = (writes.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0u64;
            let mut i = w;
            while !stop.load(Relaxed) {
                i = (i * 7 + 13) % KEYS;
                let version: u64 = writer.incr(key(i)).await.unwrap() as u64;
                writes.0[i].push(Instant::now(), version);
                n += 1;
            }
            n
        }));
    }
    let worst_lag = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for r in 0..100usize {
        let (client, writes, stop, worst_lag) = (
            client.clone(),
            writes.clone(),
            stop.clone(),
            worst_lag.clone(),
        );
        readers.push(tokio::spawn(async move {
            let mut last = [0u64; KEYS];
            let mut reads = 0u64;
            let mut i = r;
            while !stop.load(Relaxed) {
                i = (i * 31 + 17) % KEYS;
                let began = Instant::now();
                let version: u64 = client
                    .get::<Option<u64>>(key(i))
                    .cached(TTL)
                    .await
                    .unwrap()
                    .unwrap();
                assert!(
                    version >= last[i],
                    "reader {r}: key {i} went back from {} to {version}",
                    last[i]
                );
                last[i] = version;
                if let Some(cutoff) = began.checked_sub(Duration::from_millis(50)) {
                    let floor = writes.0[i].floor(cutoff);
                    assert!(
                        version >= floor,
                        "reader {r}: key {i} read {version}, but {floor} was written more than 50 ms before the read began"
                    );
                    worst_lag.fetch_max(floor.saturating_sub(version), Relaxed);
                }
                reads += 1;
                if reads.is_multiple_of(16) {
                    tokio::task::yield_now().await;
                }
            }
            reads
        }));
    }
    tokio::time::sleep(RUN).await;
    stop.store(true, Relaxed);
    let mut written = 0;
    for w in writers {
        written += w.await.unwrap();
    }
    let mut read = 0;
    for r in readers {
        read += r.await.unwrap();
    }
    let s = stats(&client);
    println!(
        "stress over {:?}: {written} writes, {read} cached reads, {} hits, {} misses, {} invalidations",
        started.elapsed(),
        s.hits,
        s.misses,
        s.invalidations
    );
    assert!(
        written > 1_000 && read > 10_000,
        "{written} writes, {read} reads"
    );
    assert!(s.hits > 0 && s.invalidations > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_within_the_bound_over_100_000_keys() {
    const KEYS: usize = 100_000;
    const MAX_BYTES: usize = 2 * 1024 * 1024;
    let server = RedisServer::start().unwrap();
    let mut cache = ClientCache::default();
    cache.max_bytes = MAX_BYTES;
    cache.max_entries = 1_000_000;
    let client = caching(&server.url(), cache).await;
    let other = Client::connect(&server.url()).await.unwrap();
    let value = "x".repeat(100);
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(1_000) {
        let pairs: Vec<(String, &str)> = chunk
            .iter()
            .map(|i| (format!("m:{i}"), value.as_str()))
            .collect();
        other.mset(pairs).await.unwrap();
    }
    let peak = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (client, peak) = (client.clone(), peak.clone());
        tasks.push(tokio::spawn(async move {
            for i in (t..KEYS).step_by(16) {
                let v: Option<String> = client.get(format!("m:{i}")).cached(TTL).await.unwrap();
                assert_eq!(v.map(|v| v.len()), Some(100));
                if i % 64 == t {
                    let s = client.cache_stats().unwrap();
                    peak.fetch_max(s.bytes, Relaxed);
                    assert!(s.bytes <= MAX_BYTES as u64, "{s:?}");
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let s = stats(&client);
    println!(
        "100,000 keys through a {MAX_BYTES}-byte cache: {s:?}, peak {} bytes",
        peak.load(Relaxed)
    );
    assert!(s.bytes <= MAX_BYTES as u64);
    assert_eq!(s.misses, KEYS as u64);
    assert!(s.entries > 1_000 && s.entries < 20_000, "{s:?}");
    assert_eq!(s.evictions + s.entries, KEYS as u64, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_refusing_tracking_fails_connect() {
    let server = RedisServer::start().unwrap();
    let admin = Client::connect(&server.url()).await.unwrap();
    let _: () = admin
        .command(
            cmd("ACL")
                .arg("SETUSER")
                .arg("nocache")
                .arg("on")
                .arg(">pw")
                .arg("~*")
                .arg("&*")
                .arg("+@all")
                .arg("-client|tracking"),
        )
        .await
        .unwrap();
    let mut config = Config::from_url(&format!("redis://nocache:pw@{}", server.addr())).unwrap();
    config.client_cache = Some(ClientCache::default());
    let refused = Client::connect_with(config.clone()).await;
    match refused {
        Err(Error::Connect { reason, .. }) => {
            assert!(reason.contains("client-side caching"), "{reason}")
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
    // The same user without a cache connects.
    config.client_cache = None;
    Client::connect_with(config).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncacheable_reads_are_refused_unsent() {
    let (server, client, _other) = setup().await;
    let sent = client.stats().commands_sent;
    let refused = client.ttl("k").cached(TTL).await;
    assert!(
        matches!(refused, Err(Error::NotCacheable { .. })),
        "{refused:?}"
    );
    let refused = client.exists_many(["a", "b"]).cached(TTL).await;
    assert!(
        matches!(refused, Err(Error::NotCacheable { .. })),
        "{refused:?}"
    );
    let refused = client.set("k", "v").cached(TTL).await;
    assert!(
        matches!(refused, Err(Error::NotCacheable { .. })),
        "{refused:?}"
    );
    assert_eq!(client.stats().commands_sent, sent, "nothing was sent");
    let conn = client.dedicated().await.unwrap();
    let refused = conn.get::<Option<String>>("k").cached(TTL).await;
    assert!(
        matches!(refused, Err(Error::NotCacheable { .. })),
        "{refused:?}"
    );
    let plain = Client::connect(&server.url()).await.unwrap();
    let refused = plain.get::<Option<String>>("k").cached(TTL).await;
    assert!(
        matches!(refused, Err(Error::NotCacheable { .. })),
        "{refused:?}"
    );
    // A raw command on the list is cached like a typed one.
    plain.set("k", "v").await.unwrap();
    let raw: Option<String> = client
        .command(cmd("GET").arg("k"))
        .cached(TTL)
        .await
        .unwrap();
    assert_eq!(raw.as_deref(), Some("v"));
    let again: Option<String> = client
        .command(cmd("GET").arg("k"))
        .cached(TTL)
        .await
        .unwrap();
    assert_eq!(again.as_deref(), Some("v"));
    assert_eq!(stats(&client).hits, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ttl_and_the_keys_own_expiry_bound_an_entry() {
    let (_server, client, other) = setup().await;
    other.set("short", "v").await.unwrap();
    let _: Option<String> = client
        .get("short")
        .cached(Duration::from_millis(100))
        .await
        .unwrap();
    assert!(
        client
            .get::<Option<String>>("short")
            .cached(Duration::from_millis(100))
            .await
            .unwrap()
            .is_some()
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    let misses = stats(&client).misses;
    let _: Option<String> = client
        .get("short")
        .cached(Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(
        stats(&client).misses,
        misses + 1,
        "the entry outlived its ttl"
    );
    // The key expires on the server in 200 ms: the entry does not outlive it,
    // however long the ttl asked.
    other
        .set_with(
            "expiring",
            "v",
            redmux::SetOptions::new().ex(Duration::from_millis(200)),
        )
        .await
        .unwrap();
    let _: Option<String> = client.get("expiring").cached(TTL).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let misses = stats(&client).misses;
    let _: Option<String> = client.get("expiring").cached(TTL).await.unwrap();
    assert_eq!(
        stats(&client).misses,
        misses + 1,
        "the entry outlived the key's PTTL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_mode_with_prefixes() {
    let server = RedisServer::start().unwrap();
    let client = caching(&server.url(), ClientCache::broadcast(["bc:"])).await;
    let other = Client::connect(&server.url()).await.unwrap();
    other.set("bc:k", "1").await.unwrap();
    let v: Option<String> = client.get("bc:k").cached(TTL).await.unwrap();
    assert_eq!(v.as_deref(), Some("1"));
    let invalidations = stats(&client).invalidations;
    other.set("bc:k", "2").await.unwrap();
    eventually(Duration::from_secs(2), async || {
        stats(&client).invalidations > invalidations
    })
    .await;
    let v: Option<String> = client.get("bc:k").cached(TTL).await.unwrap();
    assert_eq!(v.as_deref(), Some("2"));
    let refused = client.get::<Option<String>>("other:k").cached(TTL).await;
    assert!(
        matches!(refused, Err(Error::NotCacheable { .. })),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_node_that_loses_a_slot_loses_its_entries() {
    let cluster = RedisCluster::start().unwrap();
    let client = caching(&cluster.url(), ClientCache::default()).await;
    let primaries = cluster.primaries();
    let (a, b, c) = (primaries[0], primaries[1], primaries[2]);
    let slot_of = |node: usize| *cluster.slots(node)[0].start();
    let moved_slot = slot_of(a);
    let tag = hash_tag_for_slot(moved_slot).unwrap();
    let (k, k2) = (format!("{tag}:k"), format!("{tag}:k2"));
    let kc = format!("{}:k", hash_tag_for_slot(slot_of(c)).unwrap());
    for key in [&k, &kc] {
        let _: Option<String> = client.get(key.as_str()).cached(TTL).await.unwrap();
        let _: Option<String> = client.get(key.as_str()).cached(TTL).await.unwrap();
    }
    let s = stats(&client);
    assert_eq!((s.entries, s.hits), (2, 2));
    // A hit on the node that owns the slot runs nothing there.
    let gets = |node: usize| {
        let reply = cluster.call(node, &["INFO", "commandstats"]).unwrap();
        let text = String::from_utf8_lossy(reply.as_bytes().unwrap_or_default()).into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |n| n.parse::<u64>().unwrap())
    };
    let on_a = gets(a);
    let _: Option<String> = client.get(k.as_str()).cached(TTL).await.unwrap();
    assert_eq!(gets(a), on_a);

    // The slot moves to b with no key in it: no MIGRATE, so no invalidation.
    let flushes = s.flushes;
    cluster.migrate_slot(moved_slot, b).unwrap();
    // A write to another key of the slot meets MOVED: the client learns the move.
    client.set(k2.as_str(), "v").await.unwrap();
    eventually(Duration::from_secs(5), async || {
        stats(&client).flushes > flushes
    })
    .await;
    // a's entries went; c's stayed.
    assert_eq!(stats(&client).entries, 1, "{:?}", stats(&client));
    let hits = stats(&client).hits;
    let _: Option<String> = client.get(kc.as_str()).cached(TTL).await.unwrap();
    assert_eq!(stats(&client).hits, hits + 1);
    // The read of the moved slot goes to b, and b's write is seen there.
    cluster.call(b, &["SET", k.as_str(), "on b"]).unwrap();
    let v: Option<String> = client.get(k.as_str()).cached(TTL).await.unwrap();
    assert_eq!(v.as_deref(), Some("on b"));
    let v: Option<String> = client.get(k.as_str()).cached(TTL).await.unwrap();
    assert_eq!(v.as_deref(), Some("on b"));
    // The client's own write on the cluster drops the entry.
    client.set(k.as_str(), "mine").await.unwrap();
    let v: Option<String> = client.get(k.as_str()).cached(TTL).await.unwrap();
    assert_eq!(v.as_deref(), Some("mine"));
    // So does a batch's, once queued on the key's node, a transaction's, and a
    // dedicated connection's.
    let mut batch = client.batch();
    batch.add(client.set(k.as_str(), "batched"));
    batch.add(client.set(kc.as_str(), "batched"));
    let results = batch.execute();
    for key in [&k, &kc] {
        let v: Option<String> = client.get(key.as_str()).cached(TTL).await.unwrap();
        assert_eq!(v.as_deref(), Some("batched"), "{key}");
    }
    assert_eq!(results.await.errors().count(), 0);
    let mut tx = client.transaction();
    tx.add(client.set(k.as_str(), "in a transaction"));
    let outcome = tx.execute();
    let v: Option<String> = client.get(k.as_str()).cached(TTL).await.unwrap();
    assert_eq!(v.as_deref(), Some("in a transaction"));
    assert!(outcome.await.unwrap().is_committed());
    let conn = client.dedicated_for(k.as_str()).await.unwrap();
    conn.set(k.as_str(), "dedicated").await.unwrap();
    let v: Option<String> = client.get(k.as_str()).cached(TTL).await.unwrap();
    assert_eq!(v.as_deref(), Some("dedicated"));
}
