//! Pub/sub on a real 3-primary, 3-replica cluster (Redis 7.0 or Valkey 9.1, as
//! `REDIS_SERVER_BIN` names), over RESP2 and RESP3: shard channels are subscribed on
//! their slot's node, one `SSUBSCRIBE` per slot, and `SPUBLISH` goes to that node;
//! a shard subscription keeps receiving after its slot is migrated and after its
//! node fails over (manually, then killed); classic subscriptions keep receiving
//! after their node is killed.
//!
//! Only the first test shares the suite's cluster; the others move slots or fail
//! nodes, so each starts its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use redmux::pubsub::Event;
use redmux::{Client, Config, Subscription};
use redmux_testkit::{RedisCluster, hash_tag_for_slot, key_slot};
use redmux_tests::node_command_calls as command_stats;

const PROTOCOLS: [&str; 2] = ["resp2", "resp3"];

async fn client(url: &str, protocol: &str) -> Client {
    let mut config = Config::from_url(&format!("{url}?protocol={protocol}")).unwrap();
    config.command_timeout = Duration::from_secs(5);
    Client::connect_with(config).await.unwrap()
}

/// One client per protocol, each with `channel` shard-subscribed; the clients are
/// returned to be kept alive for as long as their subscriptions are read.
async fn shard_subscribers(url: &str, channel: &str) -> (Vec<Client>, Vec<Subscription>) {
    let mut clients = Vec::new();
    let mut subs = Vec::new();
    for protocol in PROTOCOLS {
        let c = client(url, protocol).await;
        subs.push(c.ssubscribe(channel).await.unwrap());
        clients.push(c);
    }
    (clients, subs)
}

/// A shard channel in `slot`.
fn channel_in(slot: u16, name: &str) -> String {
    format!("{}{name}", hash_tag_for_slot(slot).unwrap())
}

/// Subscribers of `channel` on one node: `PUBSUB SHARDNUMSUB` (shard) or `NUMSUB`.
fn numsub(cluster: &RedisCluster, node: usize, shard: bool, channel: &str) -> i64 {
    let query = if shard { "SHARDNUMSUB" } else { "NUMSUB" };
    let reply = cluster.call(node, &["PUBSUB", query, channel]).unwrap();
    reply
        .as_array()
        .and_then(|items| items.get(1))
        .and_then(|n| n.as_int())
        .unwrap_or(-1)
}

/// The next message's payload, skipping nothing: `None` for a gap; fails the test
/// if nothing comes within `within`.
async fn next_payload(sub: &mut Subscription, within: Duration) -> Option<String> {
    let event = tokio::time::timeout(within, sub.next())
        .await
        .expect("an event in time")
        .expect("the stream is still open");
    match event {
        Event::Message(m) => Some(m.payload_str().unwrap().to_owned()),
        Event::Gap => None,
        Event::Lagged(n) => panic!("{n} messages dropped by a 4096 buffer"),
    }
}

/// Publishes `m-0`, `m-1`, ... every 10 ms (errors ignored: a node may be down)
/// until every subscription has received a message after a gap; checks that what
/// comes after the gap only goes forward. Returns, for each subscription, the
/// number it expects next, and the longest time from `since` to a subscription's
/// first message after its gap.
///
/// The gap is told once the subscription is active again: until then it is deaf.
async fn publish_until_back(
    publisher: &Client,
    shard: bool,
    channel: &str,
    subs: &mut [Subscription],
    since: Instant,
) -> Back {
    let mut gap_seen = vec![false; subs.len()];
    let mut gap_after = Duration::ZERO;
    let mut back_after = vec![None; subs.len()];
    let mut next: Vec<Option<u64>> = vec![None; subs.len()];
    let mut sent = 0u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while back_after.iter().any(Option::is_none) {
        assert!(
            Instant::now() < deadline,
            "not back within 30 s: gaps {gap_seen:?}, back {back_after:?}"
        );
        let payload = format!("m-{sent}");
        sent += 1;
        let _ = match shard {
            true => publisher.spublish(channel, &payload).await,
            false => publisher.publish(channel, &payload).await,
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        for (i, sub) in subs.iter_mut().enumerate() {
            while let Some(event) = sub.try_next() {
                match event {
                    Event::Gap => {
                        gap_seen[i] = true;
                        gap_after = gap_after.max(since.elapsed());
                    }
                    Event::Message(m) if gap_seen[i] => {
                        let n: u64 = m.payload_str().unwrap()[2..].parse().unwrap();
                        assert!(n >= next[i].unwrap_or(0), "subscription {i}: {n} came late");
                        next[i] = Some(n + 1);
                        back_after[i].get_or_insert(since.elapsed());
                    }
                    Event::Message(_) => {}
                    Event::Lagged(n) => panic!("{n} messages dropped"),
                }
            }
        }
    }
    Back {
        next: next.into_iter().map(Option::unwrap_or_default).collect(),
        gap: gap_after,
        message: back_after.into_iter().flatten().max().unwrap_or_default(),
    }
}

/// What `publish_until_back` saw: the numbers each subscription expects next, and
/// when the last subscription was told its gap and got its first message after it.
struct Back {
    next: Vec<u64>,
    gap: Duration,
    message: Duration,
}

impl std::fmt::Display for Back {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "subscribed again after {:?}, first message after {:?}",
            self.gap, self.message
        )
    }
}

/// Once the cluster has settled: every message published now reaches every
/// subscription, in order, after whatever `publish_until_back` left in flight.
async fn nothing_lost_now(
    publisher: &Client,
    shard: bool,
    channel: &str,
    subs: &mut [Subscription],
    next: Vec<u64>,
) {
    let first = 1_000_000u64;
    for n in first..first + 20 {
        let payload = format!("m-{n}");
        match shard {
            // Not the count it returns: a publisher whose map is a failover behind
            // sends it to the old primary, which serves it as a replica (no MOVED)
            // and counts only its own subscribers; the shard still delivers it.
            true => {
                publisher.spublish(channel, &payload).await.unwrap();
            }
            false => {
                publisher.publish(channel, &payload).await.unwrap();
            }
        }
    }
    for (i, sub) in subs.iter_mut().enumerate() {
        let mut expected = first;
        while expected < first + 20 {
            let got = next_payload(sub, Duration::from_secs(5)).await.unwrap();
            let n: u64 = got[2..].parse().unwrap();
            if n < first {
                // Published before, still on its way: forward only.
                assert!(n >= next[i], "subscription {i}: {n} came late");
                continue;
            }
            assert_eq!(n, expected, "subscription {i}: lost or out of order");
            expected += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_channels_live_on_their_slots_node_and_spublish_goes_there() {
    let cluster = RedisCluster::shared().unwrap();
    let prefix = cluster.key_prefix("shard");
    // Two slots of node 0 and one of node 1, in one call: three slots, so three
    // SSUBSCRIBEs (one command with all of them would be refused: CROSSSLOT).
    let channels = [
        channel_in(10, &prefix),
        channel_in(20, &prefix),
        channel_in(6000, &prefix),
    ];
    let owners: Vec<usize> = channels
        .iter()
        .map(|c| cluster.slot_owner(key_slot(c.as_bytes())).unwrap())
        .collect();
    assert_eq!(owners[0], owners[1]);
    assert_ne!(owners[0], owners[2]);
    for protocol in PROTOCOLS {
        let subscriber = client(&cluster.url(), protocol).await;
        let publisher = client(&cluster.url(), protocol).await;
        let mut sub = subscriber.ssubscribe(&channels[..]).await.unwrap();
        for (channel, &owner) in channels.iter().zip(&owners) {
            assert_eq!(numsub(cluster, owner, true, channel), 1, "{protocol}");
        }
        let stats = subscriber.subscriber_stats();
        assert!(stats.connected && stats.shard_channels == 3, "{stats:?}");

        // SPUBLISH goes to the slot's owner, by the channel it marks: the owner
        // counts each one, no other primary sees any (a redirect would count).
        let before: Vec<i64> = cluster
            .primaries()
            .iter()
            .map(|&n| command_stats(cluster, n, "spublish"))
            .collect();
        for (i, channel) in channels.iter().enumerate() {
            let received: u64 = publisher.spublish(channel, format!("{i}")).await.unwrap();
            assert_eq!(received, 1, "{protocol}: {channel}");
        }
        let after: Vec<i64> = cluster
            .primaries()
            .iter()
            .map(|&n| command_stats(cluster, n, "spublish"))
            .collect();
        for (i, &node) in cluster.primaries().iter().enumerate() {
            let expected = owners.iter().filter(|&&o| o == node).count() as i64;
            assert_eq!(after[i] - before[i], expected, "{protocol}: node {node}");
        }
        let mut got: Vec<String> = Vec::new();
        for _ in 0..3 {
            got.push(
                next_payload(&mut sub, Duration::from_secs(5))
                    .await
                    .unwrap(),
            );
        }
        got.sort();
        assert_eq!(got, ["0", "1", "2"], "{protocol}");

        sub.unsubscribe().await.unwrap();
        for (channel, &owner) in channels.iter().zip(&owners) {
            assert_eq!(numsub(cluster, owner, true, channel), 0, "{protocol}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_subscription_keeps_receiving_after_its_slot_is_migrated() {
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let slot = 100;
    let channel = channel_in(slot, "moving");
    assert_eq!(cluster.slot_owner(slot), Some(0));
    let publisher = client(&cluster.url(), "resp3").await;
    let (_clients, mut subs) = shard_subscribers(&cluster.url(), &channel).await;
    assert_eq!(publisher.spublish(&channel, "m-first").await.unwrap(), 2);
    for sub in &mut subs {
        let first = next_payload(sub, Duration::from_secs(5)).await;
        assert_eq!(first.as_deref(), Some("m-first"));
    }

    let started = Instant::now();
    let mover = cluster.clone();
    let migration = tokio::task::spawn_blocking(move || mover.migrate_slot(slot, 1).unwrap());
    let back = publish_until_back(&publisher, true, &channel, &mut subs, started).await;
    let moved = migration.await.unwrap();
    println!("slot moved in {moved:?}; both subscriptions {back} from the start");
    nothing_lost_now(&publisher, true, &channel, &mut subs, back.next).await;
    assert_eq!(numsub(&cluster, 1, true, &channel), 2);
    assert_eq!(numsub(&cluster, 0, true, &channel), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_subscription_keeps_receiving_after_a_failover_and_a_kill() {
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let slot = 200;
    let channel = channel_in(slot, "failing");
    assert_eq!(cluster.slot_owner(slot), Some(0));
    // The publisher starts at another node: it must outlive node 0.
    let publisher = client(&cluster.node(1).url(), "resp3").await;
    let (clients, mut subs) = shard_subscribers(&cluster.url(), &channel).await;
    assert_eq!(publisher.spublish(&channel, "m-first").await.unwrap(), 2);
    for sub in &mut subs {
        assert!(next_payload(sub, Duration::from_secs(5)).await.is_some());
    }

    // A manual failover: node 0 hands its slots to its replica and drops the channel.
    let replica = cluster.replicas_of(0)[0];
    let started = Instant::now();
    let faulty = cluster.clone();
    let failover = tokio::task::spawn_blocking(move || faulty.failover(replica).unwrap());
    let back = publish_until_back(&publisher, true, &channel, &mut subs, started).await;
    let settled = failover.await.unwrap();
    println!(
        "failover: the nodes agreed after {:?}, both subscriptions {back}",
        settled.agreed_after
    );
    nothing_lost_now(&publisher, true, &channel, &mut subs, back.next).await;
    assert_eq!(numsub(&cluster, replica, true, &channel), 2);

    // The new primary killed: the connection is lost, node 0 takes over again.
    let started = Instant::now();
    let faulty = cluster.clone();
    let kill = tokio::task::spawn_blocking(move || faulty.kill(replica).unwrap());
    let back = publish_until_back(&publisher, true, &channel, &mut subs, started).await;
    let settled = kill.await.unwrap();
    let heir = settled.new_primary.unwrap();
    println!(
        "kill: replica promoted after {:?}, both subscriptions {back}",
        settled.promoted_after
    );
    nothing_lost_now(&publisher, true, &channel, &mut subs, back.next).await;
    assert_eq!(numsub(&cluster, heir, true, &channel), 2);
    for c in &clients {
        let stats = c.subscriber_stats();
        // The dead node's subscriber is closed: only the heir's is left.
        assert!(stats.connected && stats.shard_channels == 1, "{stats:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_subscriptions_keep_receiving_after_their_node_is_killed() {
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let publisher = client(&cluster.node(1).url(), "resp3").await;
    let mut subs = Vec::new();
    let mut clients = Vec::new();
    for protocol in PROTOCOLS {
        // The seed is node 0: the classic subscriber connects there.
        let c = client(&cluster.url(), protocol).await;
        subs.push(c.subscribe("news").await.unwrap());
        subs.push(c.psubscribe("ne*").await.unwrap());
        clients.push(c);
    }
    assert_eq!(numsub(&cluster, 0, false, "news"), 2);
    publisher.publish("news", "m-first").await.unwrap();
    for sub in &mut subs {
        assert!(next_payload(sub, Duration::from_secs(5)).await.is_some());
    }

    // Any node serves classic pub/sub: the subscriptions need not wait for the
    // failover (the publisher may).
    let started = Instant::now();
    let faulty = cluster.clone();
    let kill = tokio::task::spawn_blocking(move || faulty.kill(0).unwrap());
    let back = publish_until_back(&publisher, false, "news", &mut subs, started).await;
    let settled = kill.await.unwrap();
    println!(
        "node killed; subscriptions {back} (the cluster agreed after {:?})",
        settled.agreed_after
    );
    nothing_lost_now(&publisher, false, "news", &mut subs, back.next).await;
    let listening: i64 = (1..6).map(|n| numsub(&cluster, n, false, "news")).sum();
    assert_eq!(
        listening, 2,
        "each client's subscriber moved to one live node"
    );
    for c in &clients {
        let stats = c.subscriber_stats();
        assert!(stats.connected && stats.reconnects >= 1, "{stats:?}");
    }
}
