//! `RedisCluster` against real servers (`redis-server`, or `REDIS_SERVER_BIN`): the
//! shared cluster for what only reads, a cluster of its own for every fault.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::net::TcpStream;

use redmux_testkit::{Error, RedisCluster, Reply, Role, SLOTS, hash_tag_for_slot, key_slot};

/// Sends a command and expects a non-error reply.
fn ok(cluster: &RedisCluster, node: usize, args: &[&str]) -> Reply {
    let reply = cluster.call(node, args).expect("node reachable");
    assert!(!reply.is_error(), "node {node}: {args:?} -> {reply}");
    reply
}

fn info_field(cluster: &RedisCluster, node: usize, args: &[&str], field: &str) -> String {
    let reply = ok(cluster, node, args);
    let text = reply.as_str().expect("text");
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.trim().to_owned())
        .unwrap_or_else(|| panic!("no {field} in {text}"))
}

/// The owner of every slot, as node `node` reports it in `CLUSTER SLOTS`, by port.
fn slots_by_port(cluster: &RedisCluster, node: usize) -> Vec<u16> {
    let reply = ok(cluster, node, &["CLUSTER", "SLOTS"]);
    let mut owners = vec![0u16; usize::from(SLOTS)];
    for range in reply.as_array().expect("array") {
        let range = range.as_array().expect("range");
        let first = usize::try_from(range[0].as_int().expect("first")).unwrap();
        let last = usize::try_from(range[1].as_int().expect("last")).unwrap();
        let port = u16::try_from(range[2].as_array().expect("node")[1].as_int().unwrap()).unwrap();
        owners[first..=last].fill(port);
    }
    owners
}

#[test]
fn shared_cluster_covers_every_slot_and_every_node_agrees() {
    let cluster = RedisCluster::shared().expect("start");
    eprintln!(
        "shared cluster ({}) started in {:?}",
        cluster.version(),
        cluster.started_in()
    );
    assert_eq!(cluster.nodes().len(), 6);
    assert_eq!(cluster.primaries(), vec![0, 1, 2]);
    assert_eq!(cluster.replicas(), vec![3, 4, 5]);
    for (replica, primary) in [(3, 0), (4, 1), (5, 2)] {
        assert_eq!(cluster.role(replica), Role::Replica);
        assert_eq!(cluster.primary_of(replica), Some(primary));
        assert_eq!(cluster.replicas_of(primary), vec![replica]);
        let link = info_field(
            cluster,
            replica,
            &["INFO", "replication"],
            "master_link_status",
        );
        assert_eq!(link, "up");
    }

    let expected: Vec<u16> = (0..SLOTS)
        .map(|slot| {
            cluster
                .node(cluster.slot_owner(slot).expect("owned"))
                .port()
        })
        .collect();
    for node in 0..6 {
        assert_eq!(
            info_field(cluster, node, &["CLUSTER", "INFO"], "cluster_state"),
            "ok"
        );
        assert_eq!(
            slots_by_port(cluster, node),
            expected,
            "node {node}'s CLUSTER SLOTS"
        );
        let myid = ok(cluster, node, &["CLUSTER", "MYID"]);
        assert_eq!(myid.as_str(), Some(cluster.node(node).id()));
    }
    let owners: BTreeSet<usize> = (0..SLOTS).filter_map(|s| cluster.slot_owner(s)).collect();
    assert_eq!(owners, BTreeSet::from([0, 1, 2]));
    assert_eq!(cluster.slots(1), vec![5461..=10922]);
}

#[test]
fn shared_cluster_urls_and_addresses() {
    let cluster = RedisCluster::shared().expect("start");
    let ports: Vec<String> = cluster
        .nodes()
        .iter()
        .map(|n| n.port().to_string())
        .collect();
    assert_eq!(
        cluster.seeds_url(),
        format!("redis://127.0.0.1:{}", ports.join(",127.0.0.1:"))
    );
    assert_eq!(cluster.url(), cluster.node(0).url());
    for node in cluster.nodes() {
        // Both the port and the bus port stay below the kernel's ephemeral ports.
        assert!(node.port() + 10_000 < 32_768, "{}", node.port());
        assert!(TcpStream::connect(node.addr()).is_ok());
    }
}

#[test]
fn keys_live_on_their_owner_and_slots_match_the_server() {
    let cluster = RedisCluster::shared().expect("start");
    let prefix = cluster.key_prefix("keys_live_on_their_owner");
    for i in 0..50 {
        let key = format!("{prefix}{i}");
        let slot = ok(cluster, 0, &["CLUSTER", "KEYSLOT", &key])
            .as_int()
            .expect("int");
        assert_eq!(i64::from(key_slot(key.as_bytes())), slot, "{key}");
        let owner = cluster.key_owner(key.as_bytes()).expect("owned");
        ok(cluster, owner, &["SET", &key, "v"]);
        let elsewhere = (owner + 1) % 3;
        let moved = cluster.call(elsewhere, &["GET", &key]).expect("reachable");
        assert_eq!(moved.error_code(), Some("MOVED"), "{moved}");
    }
    for slot in [0, 1, 5460, 5461, 16383] {
        let tag = hash_tag_for_slot(slot).expect("tag");
        let key = format!("{prefix}{tag}");
        let reply = ok(cluster, 0, &["CLUSTER", "KEYSLOT", &key]);
        assert_eq!(reply.as_int(), Some(i64::from(slot)));
    }
}

#[test]
fn shared_cluster_refuses_faults() {
    let cluster = RedisCluster::shared().expect("start");
    assert!(matches!(
        cluster.failover(3),
        Err(Error::ClusterUsage { .. })
    ));
    assert!(matches!(cluster.kill(0), Err(Error::ClusterUsage { .. })));
    assert!(matches!(
        cluster.migrate_slot(0, 1),
        Err(Error::ClusterUsage { .. })
    ));
    assert!(cluster.node(0).is_running());
    assert_eq!(cluster.slot_owner(0), Some(0));
}

#[test]
fn failover_swaps_roles_and_keeps_the_data() {
    let cluster = RedisCluster::start().expect("start");
    eprintln!(
        "{} cluster started in {:?}",
        cluster.version(),
        cluster.started_in()
    );
    let tag = hash_tag_for_slot(0).expect("tag");
    let key = format!("{tag}kept");
    ok(&cluster, 0, &["SET", &key, "before"]);

    assert!(matches!(
        cluster.failover(0),
        Err(Error::ClusterUsage { .. })
    ));
    let settled = cluster.failover(3).expect("failover");
    eprintln!(
        "failover: ROLE master after {:?}, all agree after {:?}",
        settled.promoted_after.expect("promoted"),
        settled.agreed_after
    );
    assert_eq!(settled.new_primary, Some(3));
    assert_eq!(cluster.role(3), Role::Primary);
    assert_eq!(cluster.role(0), Role::Replica);
    assert_eq!(cluster.primary_of(0), Some(3));
    assert_eq!(cluster.slot_owner(0), Some(3));
    assert_eq!(cluster.primaries(), vec![1, 2, 3]);
    let role = ok(&cluster, 3, &["ROLE"]);
    assert_eq!(role.as_array().expect("array")[0].as_str(), Some("master"));
    assert_eq!(ok(&cluster, 3, &["GET", &key]).as_str(), Some("before"));
    for node in 0..6 {
        assert_eq!(slots_by_port(&cluster, node)[0], cluster.node(3).port());
    }

    // And back: the helper works from either side.
    cluster.failover(0).expect("failover back");
    assert_eq!(cluster.role(0), Role::Primary);
    assert_eq!(cluster.primary_of(3), Some(0));
}

#[test]
fn kill_promotes_the_replica_and_restart_rejoins_as_its_replica() {
    let cluster = RedisCluster::start().expect("start");
    let killed = cluster.kill(1).expect("kill");
    eprintln!(
        "{} kill -9 of a primary: replica promoted after {:?}, all agree after {:?}",
        cluster.version(),
        killed.promoted_after.expect("promoted"),
        killed.agreed_after
    );
    assert_eq!(killed.new_primary, Some(4));
    assert!(!cluster.node(1).is_running());
    assert!(TcpStream::connect(cluster.node(1).addr()).is_err());
    assert!(cluster.call(1, &["PING"]).is_err());
    assert_eq!(cluster.role(4), Role::Primary);
    assert_eq!(cluster.slots(4), vec![5461..=10922]);
    assert_eq!(cluster.primaries(), vec![0, 2, 4]);
    for node in [0, 2, 3, 4, 5] {
        assert_eq!(
            info_field(&cluster, node, &["CLUSTER", "INFO"], "cluster_state"),
            "ok"
        );
        assert_eq!(slots_by_port(&cluster, node)[5461], cluster.node(4).port());
    }
    assert!(matches!(cluster.kill(1), Err(Error::ClusterUsage { .. })));

    let restarted = cluster.restart(1).expect("restart");
    eprintln!(
        "restart: rejoined, all agree after {:?}",
        restarted.agreed_after
    );
    assert!(cluster.node(1).is_running());
    assert_eq!(cluster.role(1), Role::Replica);
    assert_eq!(cluster.primary_of(1), Some(4));
    let link = info_field(&cluster, 1, &["INFO", "replication"], "master_link_status");
    assert_eq!(link, "up");

    // A replica: nobody takes over, everyone marks it failed, then it comes back.
    let killed = cluster.kill(5).expect("kill a replica");
    assert_eq!((killed.promoted_after, killed.new_primary), (None, None));
    assert_eq!(cluster.replicas(), vec![1, 3]);
    assert_eq!(cluster.slots(2), vec![10923..=16383]);
    cluster.restart(5).expect("restart a replica");
    assert_eq!(cluster.replicas(), vec![1, 3, 5]);
    assert_eq!(cluster.primary_of(5), Some(2));
}

#[test]
fn migrate_slot_moves_every_key_to_the_target() {
    let cluster = RedisCluster::start().expect("start");
    let slot = 777;
    let tag = hash_tag_for_slot(slot).expect("tag");
    // More than one MIGRATE batch.
    let keys: Vec<String> = (0..120).map(|i| format!("{tag}:{i}")).collect();
    for key in &keys {
        ok(&cluster, 0, &["SET", key, key]);
    }
    let took = cluster.migrate_slot(slot, 2).expect("migrate");
    eprintln!(
        "{} migrating a slot of 120 keys took {took:?}",
        cluster.version()
    );

    assert_eq!(cluster.slot_owner(slot), Some(2));
    assert_eq!(cluster.slots(0), vec![0..=776, 778..=5460]);
    let slot_text = slot.to_string();
    let on = |node| ok(&cluster, node, &["CLUSTER", "COUNTKEYSINSLOT", &slot_text]).as_int();
    assert_eq!(on(2), Some(120));
    assert_eq!(on(0), Some(0));
    for key in &keys {
        assert_eq!(ok(&cluster, 2, &["GET", key]).as_str(), Some(key.as_str()));
        let moved = cluster.call(0, &["GET", key]).expect("reachable");
        let target = cluster.node(2).addr().to_string();
        assert_eq!(moved, Reply::Error(format!("MOVED {slot} {target}")));
    }
    for node in 0..6 {
        assert_eq!(
            slots_by_port(&cluster, node)[usize::from(slot)],
            cluster.node(2).port()
        );
    }
    assert!(matches!(
        cluster.migrate_slot(slot, 2),
        Err(Error::ClusterUsage { .. })
    ));
}

#[test]
fn a_half_moved_slot_answers_ask_for_moved_keys() {
    let cluster = RedisCluster::start().expect("start");
    let slot = 6000; // node 1's
    let tag = hash_tag_for_slot(slot).expect("tag");
    let (moved, stays) = (format!("{tag}moved"), format!("{tag}stays"));
    ok(&cluster, 1, &["SET", &moved, "m"]);
    ok(&cluster, 1, &["SET", &stays, "s"]);

    let mut migration = cluster.begin_migration(slot, 0).expect("begin");
    assert_eq!((migration.source(), migration.target()), (1, 0));
    assert!(migration.move_key(&moved).expect("move"));
    let target = cluster.node(0).addr().to_string();
    let ask = cluster.call(1, &["GET", &moved]).expect("reachable");
    assert_eq!(ask, Reply::Error(format!("ASK {slot} {target}")));
    assert_eq!(ok(&cluster, 1, &["GET", &stays]).as_str(), Some("s"));
    // The target sends a client without ASKING back to the source...
    let back = cluster.call(0, &["GET", &moved]).expect("reachable");
    assert_eq!(back.error_code(), Some("MOVED"), "{back}");
    // ...and serves it after ASKING, on the same connection.
    let mut conn = cluster.node(0).connect().expect("connect");
    assert_eq!(conn.call(&["ASKING"]).expect("asking").as_str(), Some("OK"));
    assert_eq!(
        conn.call(&["GET", &moved]).expect("get").as_str(),
        Some("m")
    );
    assert_eq!(
        cluster.slot_owner(slot),
        Some(1),
        "the map moves only at the end"
    );

    let took = migration.finish().expect("finish");
    eprintln!("half-moved slot finished after {took:?}");
    assert_eq!(cluster.slot_owner(slot), Some(0));
    assert_eq!(ok(&cluster, 0, &["GET", &stays]).as_str(), Some("s"));
    assert_eq!(ok(&cluster, 0, &["GET", &moved]).as_str(), Some("m"));
}
