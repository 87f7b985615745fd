//! Transactions on a cluster whose slot moves under them
//! (`crates/redmux/src/transaction/cluster.rs`): the node the client's map names
//! refuses the whole block (MOVED once the slot has moved, ASK while its keys are
//! already on the node it is moving to), and the block runs again, whole, where
//! the refusal says. Each test moves a slot, so each starts a cluster of its own
//! (no replicas: none is needed) and leaves no migration half-done.

use std::sync::Arc;

use redmux::{AbortReason, Condition, TransactionOutcome};
use redmux_testkit::{RedisCluster, hash_tag_for_slot};
use redmux_tests::cluster_client as client;
use redmux_tests::node_command_calls as command_stats;
use redmux_tests::owner_and_another;

/// A cluster of three primaries and no replicas.
fn start_cluster() -> Arc<RedisCluster> {
    Arc::new(
        RedisCluster::builder()
            .replicas_per_primary(0)
            .start()
            .unwrap(),
    )
}

/// Runs `tx`, which no node can run whole while its slot is mid-migration: after
/// its resends the last refusal (TRYAGAIN or ASK) is the error.
async fn assert_refused_mid_migration(tx: redmux::Transaction) {
    let error = tx.execute().await.unwrap_err();
    let code = error.server_error().map(|e| e.code().to_string());
    assert!(
        matches!(code.as_deref(), Some("TRYAGAIN" | "ASK")),
        "{error}"
    );
}

/// A transaction whose keys were already migrated while their slot is still
/// MIGRATING at the old owner and IMPORTING at the new one: the old owner (the
/// one the client's map names) answers ASK, and the block must run on the
/// importing node, with ASKING. Without it, it is sent to the old owner again
/// and again, and fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_on_keys_already_migrated_commits_on_the_importing_node() {
    let cluster = start_cluster();
    let client = client(&cluster.url()).await;
    let slot = 4321;
    let tag = hash_tag_for_slot(slot).unwrap();
    let (a, b, stays) = (
        format!("{tag}:a"),
        format!("{tag}:b"),
        format!("{tag}:stays"),
    );
    client.set(&a, 10).await.unwrap();
    client.set(&b, "x").await.unwrap();
    client.set(&stays, 1).await.unwrap();
    let (source, target) = owner_and_another(&cluster, slot);

    let moving = cluster.clone();
    let runtime = tokio::runtime::Handle::current();
    let (tx_client, ta, tb, tstays) = (client.clone(), a.clone(), b.clone(), stays.clone());
    tokio::task::spawn_blocking(move || {
        let (client, a, b, stays) = (tx_client, ta, tb, tstays);
        let mut migration = moving.begin_migration(slot, target).unwrap();
        assert!(migration.move_key(&a).unwrap());
        assert!(migration.move_key(&b).unwrap());
        // `stays` keeps the slot half-moved: the old owner still serves it.
        let refused = moving.call(source, &["GET", a.as_str()]).unwrap();
        assert_eq!(refused.error_code(), Some("ASK"), "{refused:?}");
        let multi_before = command_stats(&moving, source, "multi");
        let watch_before = command_stats(&moving, source, "watch");

        runtime.block_on(async {
            // No condition: MULTI, then the commands refused (ASK) as they are
            // queued at the old owner; EXECABORT there, so nothing ran.
            let mut tx = client.transaction();
            let incremented = tx.add(client.incrby(&a, 5));
            let appended = tx.add(client.append(&b, "y"));
            let outcome = tx.execute().await.unwrap();
            let TransactionOutcome::Committed(results) = outcome else {
                panic!("not committed: {outcome:?}");
            };
            assert_eq!(results.get(incremented).unwrap(), 15);
            assert_eq!(results.get(appended).unwrap(), 2);

            // A condition: WATCH refused (ASK) at the old owner; WATCH, the check
            // and MULTI each need their own ASKING on the importing node.
            let mut tx = client.transaction();
            tx.add_condition(Condition::string_equal(a.as_str(), "15"));
            tx.add_condition(Condition::string_equal(b.as_str(), "xy"));
            let incremented = tx.add(client.incr(&a));
            let outcome = tx.execute().await.unwrap();
            let TransactionOutcome::Committed(results) = outcome else {
                panic!("not committed: {outcome:?}");
            };
            assert_eq!(results.get(incremented).unwrap(), 16);

            // A condition that does not hold is read there too, not refused.
            let mut tx = client.transaction();
            tx.add_condition(Condition::string_equal(a.as_str(), "0"));
            tx.add(client.incr(&a));
            match tx.execute().await.unwrap() {
                TransactionOutcome::Aborted(AbortReason::ConditionFailed {
                    index: 0,
                    error: None,
                    ..
                }) => {}
                other => panic!("expected the condition to fail: {other:?}"),
            }

            // Keys on both sides of the migration: no node can run the block
            // whole (the old owner refuses `a` with ASK, the importing node
            // refuses EXEC with TRYAGAIN), so it never runs half, and after its
            // resends the last refusal is the error.
            let mut tx = client.transaction();
            tx.add(client.incr(&a));
            tx.add(client.incr(&stays));
            assert_refused_mid_migration(tx).await;

            // A condition's key and a command's key on different sides: the
            // importing node must not read the condition's key as missing (it is
            // on the old owner), nor write the command's key beside the real one.
            // It holds only some of the keys, so it refuses their WATCH.
            let mut tx = client.transaction();
            tx.add_condition(Condition::key_exists(stays.as_str()));
            tx.add(client.incr(&a));
            assert_refused_mid_migration(tx).await;
            let mut tx = client.transaction();
            tx.add_condition(Condition::string_equal(a.as_str(), "16"));
            tx.add(client.incr(&stays));
            assert_refused_mid_migration(tx).await;
        });
        let reply = moving.call(source, &["GET", stays.as_str()]).unwrap();
        assert_eq!(reply.as_str(), Some("1"), "half the block ran: {reply:?}");

        // Each block reached the old owner first (the test would pass without
        // exercising the ASK otherwise).
        assert!(command_stats(&moving, source, "multi") > multi_before);
        assert!(command_stats(&moving, source, "watch") >= watch_before + 2);
        // The effects are on the importing node, mid-migration.
        let mut importing = moving.node(target).connect().unwrap();
        for (key, want) in [(&a, "16"), (&b, "xy")] {
            importing.call(&["ASKING"]).unwrap();
            let reply = importing.call(&["GET", key.as_str()]).unwrap();
            assert_eq!(reply.as_str(), Some(want), "{key}: {reply:?}");
        }
        importing.call(&["ASKING"]).unwrap();
        let reply = importing.call(&["EXISTS", stays.as_str()]).unwrap();
        assert_eq!(reply.as_int(), Some(0), "a key written beside the real one");
        let reply = moving.call(source, &["EXISTS", a.as_str()]).unwrap();
        assert_ne!(
            reply.as_int(),
            Some(1),
            "the old owner has the key: {reply:?}"
        );
        migration.finish().unwrap();
    })
    .await
    .unwrap();

    assert_eq!(cluster.slot_owner(slot), Some(target));
    let value: Option<i64> = client.get(&a).await.unwrap();
    assert_eq!(value, Some(16));
    let value: Option<i64> = client.get(&stays).await.unwrap();
    assert_eq!(value, Some(1));
}

/// A transaction with a condition whose slot has moved behind the client's back:
/// the old owner refuses its WATCH (MOVED), and the block runs, whole, on the
/// new owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_transaction_whose_slot_moved_runs_on_the_new_owner() {
    let cluster = start_cluster();
    let client = client(&cluster.url()).await;
    let slot = 5432;
    let tag = hash_tag_for_slot(slot).unwrap();
    let key = format!("{tag}:counter");
    client.set(&key, 1).await.unwrap();
    let (source, target) = owner_and_another(&cluster, slot);
    {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.migrate_slot(slot, target).unwrap())
            .await
            .unwrap();
    }
    let watch_before = command_stats(&cluster, source, "watch");

    let mut tx = client.transaction();
    tx.add_condition(Condition::string_equal(key.as_str(), "1"));
    let incremented = tx.add(client.incr(&key));
    let outcome = tx.execute().await.unwrap();
    let TransactionOutcome::Committed(results) = outcome else {
        panic!("not committed: {outcome:?}");
    };
    assert_eq!(results.get(incremented).unwrap(), 2);
    assert_eq!(
        command_stats(&cluster, source, "watch"),
        watch_before + 1,
        "the old owner saw the WATCH (and refused it)"
    );
    let reply = cluster.call(target, &["GET", key.as_str()]).unwrap();
    assert_eq!(reply.as_str(), Some("2"), "{reply:?}");

    // The client's map has caught up: the next one goes straight there.
    let mut tx = client.transaction();
    tx.add_condition(Condition::string_equal(key.as_str(), "2"));
    tx.add(client.incr(&key));
    assert!(tx.execute().await.unwrap().is_committed());
    assert_eq!(command_stats(&cluster, source, "watch"), watch_before + 1);
}

/// A user whose ACL lacks ASKING, in a transaction on a key already moved
/// mid-migration: the importing node refuses the block's ASKING, and that refusal
/// is the error, not the redirect that follows it (sent again, the block would
/// bounce between the two nodes until its resends ran out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_asking_ends_the_transaction_with_that_refusal() {
    let cluster = start_cluster();
    let slot = 6543;
    let key = format!("{}:n", hash_tag_for_slot(slot).unwrap());
    let admin = client(&cluster.url()).await;
    admin.set(&key, 1).await.unwrap();
    let limited = redmux_tests::client_without_asking(&cluster).await;
    let (_, target) = owner_and_another(&cluster, slot);

    let moved = key.clone();
    redmux_tests::with_key_moved_mid_migration(&cluster, &moved, target, async move {
        let mut tx = limited.transaction();
        tx.add(limited.incr(&key));
        let error = tx.execute().await.unwrap_err();
        let code = error.server_error().map(|e| e.code().to_string());
        assert_eq!(code.as_deref(), Some("NOPERM"), "{error}");
        let value: Option<i64> = admin.get(&key).await.unwrap();
        assert_eq!(value, Some(1), "the block ran");
    })
    .await;
}
