//! Replica reads through sentinel: reads flagged `PREFER_REPLICA` go to the replica
//! the sentinels list (`SENTINEL REPLICAS`), writes stay on the primary, and with
//! the replica down `DEMAND_REPLICA` fails clearly while `PREFER_REPLICA` reads the
//! primary.

use std::time::{Duration, Instant};

use redmux::{Client, Error, Flags};
use redmux_testkit::{RawConnection, RedisSentinelSet};

/// Calls, rejected calls and failed calls of `command` in `INFO commandstats`.
fn calls(conn: &mut RawConnection, command: &str) -> i64 {
    let reply = conn.call(&["INFO", "commandstats"]).unwrap();
    redmux_tests::command_calls(reply.as_bytes().unwrap_or_default(), command)
}

/// Reads "sentinel-replica" (which holds "v1") `reads` times under `flags`.
async fn read_flagged(client: &Client, flags: Flags, reads: usize) {
    for _ in 0..reads {
        let v: Option<String> = client.get("sentinel-replica").flags(flags).await.unwrap();
        assert_eq!(v.as_deref(), Some("v1"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flagged_reads_go_to_the_replica_the_sentinels_list() {
    let set = RedisSentinelSet::start().unwrap();
    let client = Client::connect(&set.url()).await.unwrap();
    client.set("sentinel-replica", "v1").await.unwrap();
    let mut primary = RawConnection::connect(set.primary().addr()).unwrap();
    let mut replica = RawConnection::connect(set.replica().addr()).unwrap();
    // The replica has the write before the reads start.
    let synced = Instant::now();
    while replica.call(&["GET", "sentinel-replica"]).unwrap().as_str() != Some("v1") {
        assert!(
            synced.elapsed() < Duration::from_secs(10),
            "replica never synced"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (primary_before, replica_before) = (calls(&mut primary, "get"), calls(&mut replica, "get"));

    read_flagged(&client, Flags::PREFER_REPLICA, 100).await;
    let got: Option<String> = client
        .get("sentinel-replica")
        .flags(Flags::DEMAND_REPLICA)
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some("v1"));
    // Unflagged reads stay on the primary.
    let _: Option<String> = client.get("sentinel-replica").await.unwrap();
    assert_eq!(calls(&mut replica, "get") - replica_before, 101);
    assert_eq!(calls(&mut primary, "get") - primary_before, 1);
    assert!(
        client.nodes().iter().any(|n| n.addr.ends_with("(replica)")),
        "{:?}",
        client.nodes()
    );
    // A client in a zone no server reports still reads from the replica: the
    // zone orders the replicas, it does not send reads to the primary.
    let mut config = redmux::Config::from_url(&set.url()).unwrap();
    config.availability_zone = Some("nowhere-1a".into());
    let elsewhere = Client::connect_with(config).await.unwrap();
    let replica_before = calls(&mut replica, "get");
    read_flagged(&elsewhere, Flags::DEMAND_REPLICA, 20).await;
    assert_eq!(calls(&mut replica, "get") - replica_before, 20);
    elsewhere.close().await;

    // A write flagged for a replica: PREFER runs it on the primary, DEMAND refuses.
    client
        .set("sentinel-replica", "v2")
        .flags(Flags::PREFER_REPLICA)
        .await
        .unwrap();
    let refused = client
        .set("sentinel-replica", "v3")
        .flags(Flags::DEMAND_REPLICA)
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::NoReplica { .. }), "{refused}");
    assert_eq!(
        primary.call(&["GET", "sentinel-replica"]).unwrap().as_str(),
        Some("v2")
    );

    // The replica killed: DEMAND fails clearly and soon, PREFER reads the primary.
    set.replica().kill();
    let killed = Instant::now();
    // A read already sent to it when it died fails "sent, may have run"; once its
    // multiplexer has seen the connection go, DEMAND fails with NoReplica.
    let err = loop {
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "DEMAND_REPLICA never failed with NoReplica"
        );
        match client
            .get::<Option<String>>("sentinel-replica")
            .flags(Flags::DEMAND_REPLICA)
            .await
        {
            Err(e @ Error::NoReplica { .. }) => break e,
            Err(Error::ConnectionLost { .. }) | Ok(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    };
    assert!(matches!(err, Error::NoReplica { .. }), "{err}");
    assert!(err.status().safe_to_retry());
    println!(
        "DEMAND_REPLICA failed {:?} after the replica was killed",
        killed.elapsed()
    );
    let v: Option<String> = client
        .get("sentinel-replica")
        .flags(Flags::PREFER_REPLICA)
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("v2"));
}
