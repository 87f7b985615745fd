//! The cluster's fast path (`router/cluster/direct.rs`): a one-slot command goes
//! straight to the primary the client's map names, and only a redirect hands it
//! to the cluster layer, which resends it from the bytes its node gave back.
//! Each slot here is moved behind the client's back, so the first command for it
//! reaches the old owner and is refused there (checked in that node's
//! `INFO commandstats`: the test would pass without exercising the redirect
//! otherwise).

use std::sync::Arc;
use std::time::Duration;

use redmux_testkit::{RedisCluster, hash_tag_for_slot};
use redmux_tests::cluster_client as client;
use redmux_tests::node_command_calls as command_stats;
use redmux_tests::owner_and_another;

/// Moves `slot` to `target` with the client none the wiser: after any refresh a
/// redirect asked for has finished (they come at most every 100 ms, else once a
/// minute).
async fn move_behind_the_back(cluster: &Arc<RedisCluster>, slot: u16, target: usize) {
    tokio::time::sleep(Duration::from_millis(400)).await;
    let cluster = cluster.clone();
    tokio::task::spawn_blocking(move || cluster.migrate_slot(slot, target).unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_sent_straight_to_a_stale_owner_follow_moved_and_ask() {
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let client = client(&cluster.url()).await;

    // A lone caller (it writes its own command): MOVED, then the new owner.
    let slot = 1234;
    let tag = hash_tag_for_slot(slot).unwrap();
    let (source, target) = owner_and_another(&cluster, slot);
    client.set(format!("{tag}:warm"), 0).await.unwrap();
    move_behind_the_back(&cluster, slot, target).await;
    let refused_before = command_stats(&cluster, source, "set");
    client.set(format!("{tag}:k"), "v").await.unwrap();
    assert_eq!(
        command_stats(&cluster, source, "set"),
        refused_before + 1,
        "the old owner saw the SET (and refused it)"
    );
    let key = format!("{tag}:k");
    let reply = cluster.call(target, &["GET", key.as_str()]).unwrap();
    assert_eq!(reply.as_bytes(), Some(&b"v"[..]), "{reply:?}");

    // Twelve arguments: a header longer than the one a command is built with.
    let slot = 2345;
    let tag = hash_tag_for_slot(slot).unwrap();
    let (source, target) = owner_and_another(&cluster, slot);
    move_behind_the_back(&cluster, slot, target).await;
    let refused_before = command_stats(&cluster, source, "sadd");
    let members: Vec<String> = (0..10).map(|i| format!("member-{i}")).collect();
    let added = client
        .sadd_many(format!("{tag}:set"), &members)
        .await
        .unwrap();
    assert_eq!(added, 10);
    assert_eq!(command_stats(&cluster, source, "sadd"), refused_before + 1);
    let key = format!("{tag}:set");
    let reply = cluster.call(target, &["SCARD", key.as_str()]).unwrap();
    assert_eq!(reply.as_int(), Some(10), "{reply:?}");

    // Five hundred callers at once (the writer task writes them in batches):
    // every one is redirected, and each lands once, on the new owner.
    let slot = 3456;
    let tag = hash_tag_for_slot(slot).unwrap();
    let (source, target) = owner_and_another(&cluster, slot);
    move_behind_the_back(&cluster, slot, target).await;
    let refused_before = command_stats(&cluster, source, "incr");
    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let client = client.clone();
            let key = format!("{tag}:n:{}", i % 50);
            tokio::spawn(async move { client.incr(key).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert!(command_stats(&cluster, source, "incr") > refused_before);
    for i in 0..50 {
        let key = format!("{tag}:n:{i}");
        let reply = cluster.call(target, &["GET", key.as_str()]).unwrap();
        assert_eq!(reply.as_bytes(), Some(&b"10"[..]), "{key}: {reply:?}");
    }

    // Mid-migration: a key already moved answers ASK at the old owner.
    let slot = 4567;
    let tag = hash_tag_for_slot(slot).unwrap();
    let (source, target) = owner_and_another(&cluster, slot);
    for i in 0..20 {
        client.set(format!("{tag}:a:{i}"), i).await.unwrap();
    }
    let moving = cluster.clone();
    let reader = client.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut migration = moving.begin_migration(slot, target).unwrap();
        while migration.move_keys(100).unwrap() > 0 {}
        let refused_before = command_stats(&moving, source, "get");
        runtime.block_on(async {
            for i in 0..20 {
                let v: Option<i64> = reader.get(format!("{tag}:a:{i}")).await.unwrap();
                assert_eq!(v, Some(i));
            }
        });
        assert!(command_stats(&moving, source, "get") >= refused_before + 20);
        migration.finish().unwrap();
    })
    .await
    .unwrap();
}

/// A user whose ACL lacks ASKING, reading a key already moved mid-migration: the
/// importing node refuses the ASKING, then redirects the read back (MOVED) for
/// want of it. The caller gets the refusal, not a redirect that would bounce
/// between the two nodes until the redirects run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_asking_is_the_error_not_the_redirect_after_it() {
    let cluster = Arc::new(
        RedisCluster::builder()
            .replicas_per_primary(0)
            .start()
            .unwrap(),
    );
    let slot = 3456;
    let key = format!("{}:k", hash_tag_for_slot(slot).unwrap());
    let admin = client(&cluster.url()).await;
    admin.set(&key, "v").await.unwrap();
    let limited = redmux_tests::client_without_asking(&cluster).await;
    let (_, target) = owner_and_another(&cluster, slot);

    let moved = key.clone();
    redmux_tests::with_key_moved_mid_migration(&cluster, &moved, target, async move {
        let error = limited.get::<Option<String>>(&key).await.unwrap_err();
        let code = error.server_error().map(|e| e.code().to_string());
        assert_eq!(code.as_deref(), Some("NOPERM"), "{error}");
        // A user allowed ASKING reads it where it is now.
        let value: Option<String> = admin.get(&key).await.unwrap();
        assert_eq!(value.as_deref(), Some("v"));
    })
    .await;
}
