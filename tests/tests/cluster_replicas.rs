//! Replica reads on a real cluster (Redis 7.0 or Valkey 9.1, as `REDIS_SERVER_BIN`
//! names), and scripts and functions across a failover.
//!
//! - `PREFER_REPLICA` reads reach the replicas (their `INFO commandstats`), not the
//!   primaries; writes flagged so still go to the primary; `DEMAND_REPLICA` on a
//!   write is refused before sending.
//! - Round-robin over a primary's two replicas; with both killed `DEMAND_REPLICA`
//!   fails clearly and `PREFER_REPLICA` falls back to the primary.
//! - With `Config::availability_zone`, reads go to the replica in the client's
//!   zone (on a server that reports one), and to the other once it is down.
//! - A replica read for a slot that moved follows the MOVED to the new owner's
//!   replica.
//! - An EVALSHA `Script` and an FCALL, routed by their key, still run after a
//!   manual failover and after a kill of that key's primary.
//!
//! The tests that leave the cluster as they found it share one; those that move
//! slots or fail nodes start their own.

use std::sync::Arc;
use std::time::Duration;

use redmux::{Client, Config, Error, Flags, Script, cmd};
use redmux_testkit::{RedisCluster, RedisServer, hash_tag_for_slot, key_slot};
use redmux_tests::cluster_client as client;
use redmux_tests::node_command_calls as command_stats;

/// Each node's count of `command`.
fn stats_of(cluster: &RedisCluster, nodes: &[usize], command: &str) -> Vec<i64> {
    nodes
        .iter()
        .map(|&n| command_stats(cluster, n, command))
        .collect()
}

/// Waits until every node's `CLUSTER SLOTS` lists every replica: a server lists
/// a replica only once it knows the replica has synced (a fresh cluster's empty
/// replicas are left out until data reaches them), and a client uses the
/// replicas its map lists.
fn wait_until_replicas_are_listed(cluster: &RedisCluster) {
    // Data on every primary, so that every replica has something to sync.
    for primary in cluster.primaries() {
        let tag = hash_tag_for_slot(*cluster.slots(primary)[0].start()).unwrap();
        let reply = cluster
            .call(primary, &["SET", &format!("{tag}:synced"), "1"])
            .unwrap();
        assert_eq!(reply.as_str(), Some("OK"));
    }
    let mut want: Vec<i64> = cluster
        .replicas()
        .into_iter()
        .filter(|&r| cluster.node(r).is_running())
        .map(|r| i64::from(cluster.node(r).port()))
        .collect();
    want.sort_unstable();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let all_listed = cluster
            .nodes()
            .iter()
            .filter(|n| n.is_running())
            .all(|node| {
                let slots = node.call(&["CLUSTER", "SLOTS"]).unwrap();
                let mut listed: Vec<i64> = slots
                    .as_array()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|range| range.as_array())
                    .flat_map(|range| range.iter().skip(3))
                    .filter_map(|n| n.as_array()?.get(1)?.as_int())
                    .collect();
                listed.sort_unstable();
                listed.dedup();
                listed == want
            });
        if all_listed {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the nodes never listed every replica"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads `key` from a replica until it has `value` (replication is asynchronous),
/// within 5 s; returns how many reads it took.
async fn read_on_replica(client: &Client, key: &str, value: &str) -> i64 {
    for attempt in 1..=500 {
        let got: Option<String> = client.get(key).flags(Flags::PREFER_REPLICA).await.unwrap();
        if got.as_deref() == Some(value) {
            return attempt;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{key} never reached a replica");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_replica_reads_reach_the_replicas_and_not_the_primaries() {
    let cluster = RedisCluster::shared().unwrap();
    let prefix = cluster.key_prefix("replica-reads");
    let writer = client(&cluster.url()).await;
    let keys: Vec<String> = (0..300).map(|i| format!("{prefix}:{i}")).collect();
    for key in &keys {
        writer.set(key, format!("v:{key}")).await.unwrap();
    }
    wait_until_replicas_are_listed(cluster);
    let client = client(&cluster.url()).await;
    let (primaries, replicas) = (cluster.primaries(), cluster.replicas());
    let primaries_before = stats_of(cluster, &primaries, "get");
    let replicas_before = stats_of(cluster, &replicas, "get");
    let mut reads = 0;
    for key in &keys {
        reads += read_on_replica(&client, key, &format!("v:{key}")).await;
    }
    // A raw command is read-only by the server's own table (COMMAND INFO).
    let raw: Option<String> = client
        .command(cmd("GET").arg(&keys[0]))
        .flags(Flags::DEMAND_REPLICA)
        .await
        .unwrap();
    assert_eq!(raw, Some(format!("v:{}", keys[0])));
    reads += 1;
    // An MGET split by slot keeps the flag: each part goes to its slot's replica.
    let values: Vec<Option<String>> = client
        .mget(&keys[..50])
        .flags(Flags::DEMAND_REPLICA)
        .await
        .unwrap();
    assert_eq!(values.len(), 50);
    assert!(values.iter().all(Option::is_some));
    let primaries_after = stats_of(cluster, &primaries, "get");
    let replicas_after = stats_of(cluster, &replicas, "get");
    let on_replicas: Vec<i64> = replicas_after
        .iter()
        .zip(&replicas_before)
        .map(|(a, b)| a - b)
        .collect();
    println!("{reads} replica GETs: per replica {on_replicas:?}");
    assert_eq!(
        primaries_after, primaries_before,
        "no GET reached a primary"
    );
    assert!(
        on_replicas.iter().all(|&n| n > 0),
        "every replica served reads: {on_replicas:?}"
    );
    assert_eq!(on_replicas.iter().sum::<i64>(), reads);
    assert!(
        stats_of(cluster, &replicas, "mget").iter().sum::<i64>() > 0,
        "the MGET parts reached replicas"
    );
    // Every replica connection shows up among the client's nodes.
    let replica_nodes = client
        .nodes()
        .iter()
        .filter(|n| n.addr.ends_with("(replica)"))
        .count();
    assert_eq!(replica_nodes, replicas.len(), "{:?}", client.nodes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_flagged_for_a_replica_go_to_the_primary_or_are_refused() {
    let cluster = RedisCluster::shared().unwrap();
    let key = format!("{}:counter", cluster.key_prefix("replica-writes"));
    let client = client(&cluster.url()).await;
    // PREFER: a write runs on the primary, as it must.
    let n: i64 = client
        .incr(&key)
        .flags(Flags::PREFER_REPLICA)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let owner = cluster.key_owner(key.as_bytes()).unwrap();
    assert_eq!(
        cluster
            .call(owner, &["GET", key.as_str()])
            .unwrap()
            .as_str(),
        Some("1")
    );
    // DEMAND: refused before sending, and nothing ran.
    let refused = client
        .incr(&key)
        .flags(Flags::DEMAND_REPLICA)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::NoReplica { command, .. } if command == "INCR"),
        "{refused}"
    );
    assert!(refused.status().safe_to_retry());
    let after: i64 = client.get(&key).await.unwrap();
    assert_eq!(after, 1, "the refused INCR did not run");
}

#[tokio::test]
async fn replica_flags_are_ignored_on_a_standalone_server() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    client.set("k", "v").await.unwrap();
    for flags in [Flags::PREFER_REPLICA, Flags::DEMAND_REPLICA] {
        let v: Option<String> = client.get("k").flags(flags).await.unwrap();
        assert_eq!(v.as_deref(), Some("v"));
        let n: i64 = client.incr("n").flags(flags).await.unwrap();
        assert!(n > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demand_replica_fails_clearly_with_the_replicas_down_and_prefer_falls_back() {
    // Two replicas per primary, to see the reads spread; two primaries, so that
    // a replica killed is marked failed (that takes the word of a majority of
    // primaries, and a dead node's own primary alone is not one).
    let cluster = Arc::new(
        RedisCluster::builder()
            .primaries(2)
            .replicas_per_primary(2)
            .start()
            .unwrap(),
    );
    let primary = cluster.key_owner(b"greeting").unwrap();
    let replicas = cluster.replicas_of(primary);
    assert_eq!(replicas.len(), 2);
    cluster
        .call(primary, &["SET", "greeting", "hello"])
        .unwrap();
    wait_until_replicas_are_listed(&cluster);
    let client = client(&cluster.url()).await;
    read_on_replica(&client, "greeting", "hello").await;

    // Round-robin: both replicas take reads.
    let spread = reads_served(&cluster, &replicas, &client, 100, Flags::DEMAND_REPLICA).await;
    assert_eq!(spread.iter().sum::<i64>(), 100);
    assert!(
        spread.iter().all(|&n| n >= 25),
        "reads spread over both replicas: {spread:?}"
    );

    // Availability-zone affinity: a client in zone "az-b" reads only from the
    // replica that reports "az-b" (Valkey 8 and later). A server that cannot be
    // given a zone (Redis) reports none, and the reads spread as before.
    let zoned = cluster
        .call(replicas[0], &["CONFIG", "SET", "availability-zone", "az-b"])
        .is_ok_and(|r| r.as_str() == Some("OK"));
    let mut config =
        Config::from_url(&format!("{}?availability_zone=az-b", cluster.url())).unwrap();
    config.command_timeout = Duration::from_secs(5);
    let in_zone = Client::connect_with(config).await.unwrap();
    let spread = reads_served(&cluster, &replicas, &in_zone, 50, Flags::PREFER_REPLICA).await;
    println!("zone reported: {zoned}; reads per replica {spread:?}");
    assert_eq!(spread.iter().sum::<i64>(), 50);
    if zoned {
        assert_eq!(spread, [50, 0], "every read went to the replica in az-b");
    } else {
        assert!(
            spread.iter().all(|&n| n >= 10),
            "no zone: spread {spread:?}"
        );
    }

    // One replica down: the other serves every read.
    let survivor = replicas[1];
    kill(&cluster, replicas[0]).await;
    let nodes = [primary, survivor];
    let served = reads_served(&cluster, &nodes, &client, 20, Flags::DEMAND_REPLICA).await;
    assert_eq!(served, [0, 20], "primary, survivor");
    // The replica in the client's zone is gone: its reads go to another zone's.
    let served = reads_served(&cluster, &nodes, &in_zone, 10, Flags::DEMAND_REPLICA).await;
    assert_eq!(served, [0, 10], "primary, survivor");

    // Both down: DEMAND fails at once, clearly, and sent nothing; PREFER reads
    // the primary.
    kill(&cluster, survivor).await;
    let started = std::time::Instant::now();
    let refused = client
        .get::<Option<String>>("greeting")
        .flags(Flags::DEMAND_REPLICA)
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::NoReplica { .. }), "{refused}");
    assert!(refused.status().safe_to_retry(), "{refused}");
    assert!(refused.to_string().contains("DEMAND_REPLICA"), "{refused}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once, not after a timeout: {:?}",
        started.elapsed()
    );
    let served = reads_served(&cluster, &[primary], &client, 20, Flags::PREFER_REPLICA).await;
    assert_eq!(served, [20], "PREFER fell back to the primary");
}

/// Reads "greeting" (which holds "hello") `reads` times under `flags`; returns
/// how many of the reads each of `nodes` served.
async fn reads_served(
    cluster: &RedisCluster,
    nodes: &[usize],
    client: &Client,
    reads: usize,
    flags: Flags,
) -> Vec<i64> {
    let before = stats_of(cluster, nodes, "get");
    for _ in 0..reads {
        let v: Option<String> = client.get("greeting").flags(flags).await.unwrap();
        assert_eq!(v.as_deref(), Some("hello"));
    }
    let after = stats_of(cluster, nodes, "get");
    after.iter().zip(&before).map(|(a, b)| a - b).collect()
}

/// Kills `node` (blocking, so off the runtime's threads).
async fn kill(cluster: &Arc<RedisCluster>, node: usize) {
    let cluster = cluster.clone();
    tokio::task::spawn_blocking(move || cluster.kill(node).unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_read_for_a_moved_slot_follows_it_to_the_new_owner() {
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let key = "moving";
    let owner = cluster.key_owner(key.as_bytes()).unwrap();
    cluster.call(owner, &["SET", key, "along"]).unwrap();
    wait_until_replicas_are_listed(&cluster);
    let client = client(&cluster.url()).await;
    read_on_replica(&client, key, "along").await;
    // The slot moves to another primary behind the client's back.
    let slot = key_slot(key.as_bytes());
    let from = cluster.slot_owner(slot).unwrap();
    let to = cluster
        .primaries()
        .into_iter()
        .find(|&p| p != from)
        .unwrap();
    {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.migrate_slot(slot, to).unwrap())
            .await
            .unwrap();
    }
    let new_replica = cluster.replicas_of(to)[0];
    // The key's copy reaches the new owner's replica.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while cluster.call(new_replica, &["DBSIZE"]).unwrap().as_int() == Some(0) {
        assert!(std::time::Instant::now() < deadline, "never replicated");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = command_stats(&cluster, new_replica, "get");
    let v: Option<String> = client.get(key).flags(Flags::DEMAND_REPLICA).await.unwrap();
    assert_eq!(v.as_deref(), Some("along"));
    assert_eq!(
        command_stats(&cluster, new_replica, "get") - before,
        1,
        "read on the new owner's replica"
    );
}

const LIBRARY: &str = "#!lua name=failover
redis.register_function('bump', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_and_an_fcall_survive_a_failover_and_a_kill_of_their_primary() {
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let client = client(&cluster.url()).await;
    let script = Script::new("return redis.call('INCR', KEYS[1])");
    let (script_key, function_key) = ("{failover}:script", "{failover}:function");
    // Loaded everywhere: the script on every primary, the library too (and
    // replicated to every replica with the data).
    script.load(&client).await.unwrap();
    let library: String = client.function_load(LIBRARY).await.unwrap();
    assert_eq!(library, "failover");
    let run = |expected: i64| {
        let (client, script) = (client.clone(), script.clone());
        async move {
            let n: i64 = script.invoke(&client).key(script_key).await.unwrap();
            assert_eq!(n, expected, "script");
            let m: i64 = client
                .fcall("bump")
                .key(function_key)
                .arg(10)
                .await
                .unwrap();
            assert_eq!(m, expected * 10, "function");
        }
    };
    run(1).await;
    let primary = cluster.key_owner(script_key.as_bytes()).unwrap();
    // Routed by their key: both ran on the key's primary.
    assert_eq!(command_stats(&cluster, primary, "evalsha"), 1);
    assert_eq!(command_stats(&cluster, primary, "fcall"), 1);

    // A manual failover: the promoted replica never had the script loaded
    // (SCRIPT LOAD reaches primaries), so its first EVALSHA answers NOSCRIPT and
    // the script is sent again as EVAL.
    let replica = cluster.replicas_of(primary)[0];
    let sha = script.sha1().to_string();
    let exists = cluster
        .call(replica, &["SCRIPT", "EXISTS", sha.as_str()])
        .unwrap();
    assert_eq!(
        exists.as_array().and_then(|a| a.first()?.as_int()),
        Some(0),
        "the replica lacks the script, so the reload is exercised"
    );
    {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.failover(replica).unwrap())
            .await
            .unwrap();
    }
    run(2).await;
    assert_eq!(cluster.key_owner(script_key.as_bytes()), Some(replica));
    assert!(
        command_stats(&cluster, replica, "eval") >= 1,
        "reloaded as EVAL"
    );
    assert!(command_stats(&cluster, replica, "fcall") >= 1);

    // A kill of the new primary: the old one (a replica now) takes over again.
    kill(&cluster, replica).await;
    run(3).await;
    assert_eq!(cluster.key_owner(script_key.as_bytes()), Some(primary));
}
