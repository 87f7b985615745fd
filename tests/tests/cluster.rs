//! redmux against a real 3-primary, 3-replica cluster (Redis 7.0 or Valkey 9.1, as
//! `REDIS_SERVER_BIN` names): routing, commands split by slot or sent to every
//! primary, CROSSSLOT refused before sending, a slot migrated under load, a manual
//! failover and a killed primary under load.
//!
//! The tests that leave the cluster as they found it share one
//! (`RedisCluster::shared`, keys under a per-test prefix); those that flush it, move
//! slots or fail nodes start their own.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use redmux::{Client, Config, Error, ScanOptions, Value, cmd};
use redmux_testkit::{RedisCluster, hash_tag_for_slot, key_slot};
use redmux_tests::cluster_client as client;
use redmux_tests::node_command_calls as command_stats;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_tasks_route_every_key_to_its_owner() {
    let cluster = RedisCluster::shared().unwrap();
    let prefix = cluster.key_prefix("route");
    let client = client(&cluster.url()).await;
    let mut tasks = Vec::new();
    for t in 0..500 {
        let client = client.clone();
        let prefix = prefix.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..40 {
                let key = format!("{prefix}:{t}:{i}");
                let value = format!("{t}-{i}");
                client.set(&key, &value).await.unwrap();
                let back: Option<String> = client.get(&key).await.unwrap();
                assert_eq!(back.as_deref(), Some(value.as_str()), "{key}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Every key is on the primary that owns its slot.
    let mut slots = HashSet::new();
    for t in (0..500).step_by(7) {
        for i in (0..40).step_by(3) {
            let key = format!("{prefix}:{t}:{i}");
            slots.insert(key_slot(key.as_bytes()));
            let owner = cluster.key_owner(key.as_bytes()).unwrap();
            let exists = cluster.call(owner, &["EXISTS", key.as_str()]).unwrap();
            assert_eq!(exists.as_int(), Some(1), "{key} not on its owner {owner}");
        }
    }
    assert!(
        slots.len() > 900,
        "keys spread over many slots: {}",
        slots.len()
    );
    // Every primary served commands.
    let busy = client
        .nodes()
        .iter()
        .filter(|n| !n.slots.is_empty() && n.stats.commands_sent > 1000)
        .count();
    assert_eq!(busy, 3, "{:?}", client.nodes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mget_across_slots_comes_back_in_order_and_del_counts_them() {
    let cluster = RedisCluster::shared().unwrap();
    let prefix = cluster.key_prefix("mget");
    let client = client(&cluster.url()).await;
    let keys: Vec<String> = (0..1000).map(|i| format!("{prefix}:{i}")).collect();
    client
        .mset(keys.iter().map(|k| (k.as_str(), format!("v:{k}"))))
        .await
        .unwrap();
    // Some keys missing in between: their places stay, as nil.
    let mut asked = keys.clone();
    asked.insert(500, format!("{prefix}:missing"));
    let values: Vec<Option<String>> = client.mget(&asked).await.unwrap();
    assert_eq!(values.len(), 1001);
    for (key, value) in asked.iter().zip(&values) {
        if key.ends_with(":missing") {
            assert_eq!(value, &None);
        } else {
            assert_eq!(value.as_deref(), Some(format!("v:{key}").as_str()));
        }
    }
    assert_eq!(client.exists_many(&keys).await.unwrap(), 1000);
    assert_eq!(client.del_many(&keys).await.unwrap(), 1000);
    assert_eq!(client.exists_many(&keys).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_a_script_reaches_every_primary_and_a_keyless_one_runs() {
    let cluster = RedisCluster::shared().unwrap();
    let client = client(&cluster.url()).await;
    // A body no other test loads, so each primary's SCRIPT EXISTS says what this
    // load did.
    let script = redmux::Script::new(format!("return '{}'", cluster.key_prefix("script-load")));
    let sha: String = script.load(&client).await.unwrap();
    assert_eq!(sha, script.sha1());
    for primary in cluster.primaries() {
        let exists = cluster
            .call(primary, &["SCRIPT", "EXISTS", sha.as_str()])
            .unwrap();
        let exists = exists.as_array().unwrap_or_default();
        assert_eq!(
            exists.first().and_then(|e| e.as_int()),
            Some(1),
            "primary {primary} has the script"
        );
    }
    // A script with no key goes to a primary (any will do) and runs.
    let two: i64 = client
        .command(cmd("EVAL").arg("return 2").arg(0))
        .await
        .unwrap();
    assert_eq!(two, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crossslot_is_refused_before_anything_is_sent() {
    let cluster = RedisCluster::shared().unwrap();
    let client = client(&cluster.url()).await;
    let before: Vec<i64> = cluster
        .primaries()
        .into_iter()
        .map(|p| command_stats(cluster, p, "smove"))
        .collect();
    let (a, b) = ("{crossslot-a}src", "{crossslot-b}dst");
    assert_ne!(key_slot(a.as_bytes()), key_slot(b.as_bytes()));
    for attempt in [
        client.smove(a, b, "member").await.map(drop),
        client
            .command::<Value>(cmd("SMOVE").arg(a).arg(b).arg("member"))
            .await
            .map(drop),
    ] {
        let error = attempt.unwrap_err();
        assert!(matches!(error, Error::CrossSlot { .. }), "{error}");
        assert!(error.to_string().contains("hash tag"), "{error}");
    }
    let after: Vec<i64> = cluster
        .primaries()
        .into_iter()
        .map(|p| command_stats(cluster, p, "smove"))
        .collect();
    assert_eq!(
        before, after,
        "no primary saw an SMOVE, not even a rejected one"
    );
    // With one hash tag the keys share a slot, and it runs.
    client.sadd("{tag}src", "member").await.unwrap();
    assert!(
        client
            .smove("{tag}src", "{tag}dst", "member")
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbsize_sums_flushall_reaches_every_primary_and_scan_sees_each_key_once() {
    let cluster = RedisCluster::start().unwrap();
    let client = client(&cluster.url()).await;
    for i in 0..3000 {
        client
            .set(format!("scan:{i}"), i)
            .fire_and_forget()
            .unwrap();
    }
    assert_eq!(client.dbsize().await.unwrap(), 3000);
    let per_primary: i64 = cluster
        .primaries()
        .into_iter()
        .map(|p| cluster.call(p, &["DBSIZE"]).unwrap().as_int().unwrap())
        .sum();
    assert_eq!(per_primary, 3000);
    let keys: Vec<String> = client
        .scan(ScanOptions::new().pattern("scan:*").count(200))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(keys.len(), 3000, "every key exactly once");
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 3000);
    client.flushall().await.unwrap();
    for p in cluster.primaries() {
        assert_eq!(
            cluster.call(p, &["DBSIZE"]).unwrap().as_int(),
            Some(0),
            "primary {p}"
        );
    }
    assert_eq!(client.dbsize().await.unwrap(), 0);
}

/// Tasks that each INCR fresh keys until stopped: a key whose INCR answered
/// anything but 1 ran twice; keys acknowledged are checked afterwards.
struct Incrementers {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<(Vec<String>, Vec<Error>)>>,
    last_error_at: Arc<AtomicU64>,
    started: Instant,
}

impl Incrementers {
    fn start(
        client: &Client,
        tasks: usize,
        key: impl Fn(usize, u64) -> String + Send + Sync + 'static,
    ) -> Incrementers {
        let stop = Arc::new(AtomicBool::new(false));
        let last_error_at = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let key = Arc::new(key);
        let handles = (0..tasks)
            .map(|t| {
                let (client, stop, last_error_at, key) = (
                    client.clone(),
                    stop.clone(),
                    last_error_at.clone(),
                    key.clone(),
                );
                tokio::spawn(async move {
                    let (mut acked, mut errors) = (Vec::new(), Vec::new());
                    let mut i = 0;
                    while !stop.load(Relaxed) {
                        let k = key(t, i);
                        match client.incr(&k).await {
                            Ok(1) => acked.push(k),
                            Ok(n) => panic!("{k} ran {n} times"),
                            Err(e) => {
                                last_error_at.store(started.elapsed().as_millis() as u64, Relaxed);
                                errors.push(e);
                            }
                        }
                        i += 1;
                    }
                    (acked, errors)
                })
            })
            .collect();
        Incrementers {
            stop,
            tasks: handles,
            last_error_at,
            started,
        }
    }

    async fn stop(self) -> (Vec<String>, Vec<Error>, Duration) {
        self.stop.store(true, Relaxed);
        let (mut acked, mut errors) = (Vec::new(), Vec::new());
        for task in self.tasks {
            let (a, e) = task.await.unwrap();
            acked.extend(a);
            errors.extend(e);
        }
        let last_error = Duration::from_millis(self.last_error_at.load(Relaxed));
        (acked, errors, last_error)
    }
}

/// Every acknowledged INCR is there, once.
async fn assert_all_kept(client: &Client, acked: &[String]) {
    for chunk in acked.chunks(500) {
        let values: Vec<Option<i64>> = client.mget(chunk).await.unwrap();
        for (key, value) in chunk.iter().zip(values) {
            assert_eq!(value, Some(1), "{key}: acknowledged write lost or doubled");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_migrated_under_load_loses_nothing_and_misroutes_nothing() {
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let client = client(&cluster.url()).await;
    let slot = 4321;
    let tag = hash_tag_for_slot(slot).unwrap();
    let (_, target) = redmux_tests::owner_and_another(&cluster, slot);
    assert_eq!(key_slot(format!("{tag}:old:0").as_bytes()), slot);
    // Keys already in the slot, to be moved while they are read and written.
    for i in 0..300 {
        client.set(format!("{tag}:old:{i}"), i).await.unwrap();
    }
    let tag2 = tag.clone();
    let load = Incrementers::start(&client, 100, move |t, i| format!("{tag2}:new:{t}:{i}"));
    let readers: Vec<_> = (0..20)
        .map(|r| {
            let client = client.clone();
            let tag = tag.clone();
            tokio::spawn(async move {
                for round in 0..200 {
                    let i = (r * 15 + round) % 300;
                    let v: Option<i64> = client.get(format!("{tag}:old:{i}")).await.unwrap();
                    assert_eq!(v, Some(i as i64), "old key {i} read wrong mid-migration");
                }
            })
        })
        .collect();
    let moved = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || {
            let mut migration = cluster.begin_migration(slot, target).unwrap();
            // Half-moved for a while: moved keys answer ASK at the source.
            while migration.move_keys(20).unwrap() > 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
            migration.finish().unwrap()
        })
        .await
        .unwrap()
    };
    for reader in readers {
        reader.await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (acked, errors, _) = load.stop().await;
    assert!(
        errors.is_empty(),
        "{} errors reached callers, first: {}",
        errors.len(),
        errors[0]
    );
    assert!(
        acked.len() > 500,
        "work went on during the move: {}",
        acked.len()
    );
    assert_eq!(cluster.slot_owner(slot), Some(target));
    assert_all_kept(&client, &acked).await;
    println!(
        "slot {slot} moved in {moved:?} under load; {} INCRs",
        acked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_failover_under_load_runs_nothing_twice_and_loses_nothing() {
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let client = client(&cluster.url()).await;
    let run = cluster.key_prefix("failover");
    let load = Incrementers::start(&client, 200, move |t, i| format!("{run}:{t}:{i}"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let primary = cluster.primaries()[0];
    let replica = cluster.replicas_of(primary)[0];
    let settled = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.failover(replica).unwrap())
            .await
            .unwrap()
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (acked, errors, last_error) = load.stop().await;
    let agreed = settled.started_at.elapsed();
    println!(
        "failover agreed after {:?}; {} INCRs, {} errors, the last {:?} into the run",
        settled.agreed_after,
        acked.len(),
        errors.len(),
        last_error
    );
    // A manual failover loses no connection: every command gets its answer.
    assert!(
        errors.is_empty(),
        "{} errors, first: {}",
        errors.len(),
        errors[0]
    );
    assert!(agreed > Duration::from_secs(2));
    assert_all_kept(&client, &acked).await;
    // The new primary serves its slots.
    let owner_addr = cluster.node(replica).addr().to_string();
    assert!(
        client
            .nodes()
            .iter()
            .any(|n| n.addr == owner_addr && !n.slots.is_empty()),
        "{:?}",
        client.nodes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_fails_only_its_commands_in_flight_and_recovers_fast() {
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let client = client(&cluster.url()).await;
    let run = cluster.key_prefix("kill");
    let load = Incrementers::start(&client, 200, move |t, i| format!("{run}:{t}:{i}"));
    let started = load.started;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The seed node's primary (the client's URL names it): the hardest case, as
    // the client's own connection for commands to no node in particular is there.
    let victim = cluster.primaries()[0];
    assert_eq!(cluster.url(), cluster.node(victim).url());
    let settled = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.kill(victim).unwrap())
            .await
            .unwrap()
    };
    let promoted = settled.promoted_after.expect("the primary had a replica");
    let promoted_at = settled.started_at + promoted;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (acked, errors, last_error) = load.stop().await;
    let last_error_at = started + last_error;
    println!(
        "replica promoted {promoted:?} after the kill, all agreed after {:?}; {} INCRs, {} errors, the last {:?} after the kill",
        settled.agreed_after,
        acked.len(),
        errors.len(),
        last_error_at.saturating_duration_since(settled.started_at)
    );
    // The only errors: commands in flight on the killed node ("sent, may have run";
    // at most one per task), or waits that outlived the takeover's whole time.
    for error in &errors {
        assert!(
            matches!(
                error,
                Error::ConnectionLost {
                    status: redmux::CommandStatus::Sent,
                    ..
                }
            ) || matches!(error, Error::Timeout(_)),
            "unexpected error: {error}"
        );
    }
    assert!(errors.len() <= 200, "{} errors", errors.len());
    // Recovered within 2 s of the new primary appearing.
    if !errors.is_empty() {
        assert!(
            last_error_at <= promoted_at + Duration::from_secs(2),
            "errors went on {:?} after the promotion",
            last_error_at.saturating_duration_since(promoted_at)
        );
    }
    assert_all_kept(&client, &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_slot_transaction_commits_on_its_node_and_a_cross_slot_one_is_refused() {
    use redmux::{Condition, TransactionOutcome};
    let cluster = RedisCluster::shared().unwrap();
    let client = client(&cluster.url()).await;
    let prefix = cluster.key_prefix("tx");
    // Keys in one slot through a hash tag, on whichever primary owns it.
    let (a, b) = (format!("{{{prefix}}}:a"), format!("{{{prefix}}}:b"));
    client.set(&a, 10).await.unwrap();
    let mut tx = client.transaction();
    tx.add_condition(Condition::key_exists(a.as_str()));
    let moved_a = tx.add(client.decrby(&a, 3));
    let moved_b = tx.add(client.incrby(&b, 3));
    let TransactionOutcome::Committed(results) = tx.execute().await.unwrap() else {
        panic!("the transaction did not commit");
    };
    assert_eq!(results.get(moved_a).unwrap(), 7);
    assert_eq!(results.get(moved_b).unwrap(), 3);
    let owner = cluster.key_owner(a.as_bytes()).unwrap();
    assert_eq!(
        cluster
            .call(owner, &["GET", b.as_str()])
            .unwrap()
            .as_bytes(),
        Some(&b"3"[..])
    );

    // Keys in two slots: refused before anything is sent.
    let (x, y) = ("{tx-x}key", "{tx-y}key");
    assert_ne!(key_slot(x.as_bytes()), key_slot(y.as_bytes()));
    let mut tx = client.transaction();
    tx.add(client.set(x, 1));
    tx.add(client.set(y, 1));
    let error = tx.execute().await.unwrap_err();
    assert!(matches!(error, Error::CrossSlot { .. }), "{error}");
    assert_eq!(client.exists_many([x, y]).await.unwrap(), 0, "nothing ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_after_its_slot_moved_runs_on_the_new_owner() {
    use redmux::TransactionOutcome;
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let client = client(&cluster.url()).await;
    let slot = 777;
    let tag = hash_tag_for_slot(slot).unwrap();
    let key = format!("{tag}:counter");
    client.set(&key, 1).await.unwrap();
    let target = cluster
        .primaries()
        .into_iter()
        .find(|p| Some(*p) != cluster.slot_owner(slot))
        .unwrap();
    {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.migrate_slot(slot, target).unwrap())
            .await
            .unwrap();
    }
    // The client's map still names the old owner: the block is refused (MOVED)
    // and runs again, whole, on the new one.
    let mut tx = client.transaction();
    let incr = tx.add(client.incr(&key));
    let TransactionOutcome::Committed(results) = tx.execute().await.unwrap() else {
        panic!("the transaction did not commit");
    };
    assert_eq!(results.get(incr).unwrap(), 2);
    assert_eq!(cluster.slot_owner(slot), Some(target));
    let reply = cluster.call(target, &["GET", key.as_str()]).unwrap();
    assert_eq!(reply.as_bytes(), Some(&b"2"[..]), "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_100_000_across_slots_keeps_its_order_and_its_one_error() {
    let cluster = RedisCluster::shared().unwrap();
    let client = client(&cluster.url()).await;
    let prefix = cluster.key_prefix("batch");
    let wrong = format!("{prefix}:a-list");
    client.rpush(&wrong, "x").await.unwrap();
    let mut batch = client.batch();
    let mut indices = Vec::with_capacity(100_000);
    for i in 0..100_000 {
        if i == 50_000 {
            // INCR of a list: WRONGTYPE, in its place and nowhere else.
            indices.push(batch.add(client.incr(&wrong)));
        } else {
            indices.push(batch.add(client.incr(format!("{prefix}:{i}"))));
        }
    }
    let results = batch.execute().await;
    let mut errors = 0;
    for (i, index) in indices.into_iter().enumerate() {
        match results.get(index) {
            Ok(n) => assert_eq!(n, 1, "command {i}"),
            Err(e) => {
                assert_eq!(i, 50_000, "command {i} failed: {e}");
                assert_eq!(
                    e.server_error().map(|s| s.code().to_string()).as_deref(),
                    Some("WRONGTYPE")
                );
                errors += 1;
            }
        }
    }
    assert_eq!(errors, 1);
    // Every node took part, in parallel.
    let busy = client
        .nodes()
        .iter()
        .filter(|n| n.stats.commands_sent > 10_000)
        .count();
    assert_eq!(busy, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_spanning_a_slot_migration_gets_every_result_right() {
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let client = client(&cluster.url()).await;
    let slot = 9000;
    let tag = hash_tag_for_slot(slot).unwrap();
    for i in 0..2000 {
        client
            .set(format!("{tag}:{i}"), i)
            .fire_and_forget()
            .unwrap();
    }
    assert_eq!(
        client
            .get::<Option<i64>>(format!("{tag}:1999"))
            .await
            .unwrap(),
        Some(1999)
    );
    let target = cluster
        .primaries()
        .into_iter()
        .find(|p| Some(*p) != cluster.slot_owner(slot))
        .unwrap();
    let migration = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || {
            let mut migration = cluster.begin_migration(slot, target).unwrap();
            while migration.move_keys(20).unwrap() > 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
            migration.finish().unwrap()
        })
    };
    // Rounds of batches while the slot moves: reads and increments of keys moved,
    // not yet moved and new, in one batch.
    let mut during = 0;
    let mut round = 0;
    loop {
        let moving = !migration.is_finished();
        if !moving && round >= 3 {
            break;
        }
        during += usize::from(moving);
        round += 1;
        let mut batch = client.batch();
        let reads: Vec<_> = (0..2000)
            .map(|i| batch.add(client.get::<Option<i64>>(format!("{tag}:{i}"))))
            .collect();
        let incrs: Vec<_> = (0..200)
            .map(|i| batch.add(client.incr(format!("{tag}:new:{round}:{i}"))))
            .collect();
        let results = batch.execute().await;
        for (i, index) in reads.into_iter().enumerate() {
            assert_eq!(
                results.get(index).unwrap(),
                Some(i as i64),
                "round {round} read {i}"
            );
        }
        for index in incrs {
            assert_eq!(results.get(index).unwrap(), 1, "round {round}");
        }
    }
    assert!(during >= 2, "only {during} rounds overlapped the migration");
    migration.await.unwrap();
    assert_eq!(cluster.slot_owner(slot), Some(target));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_work_queue_works_on_a_cluster() {
    use redmux::WorkQueue;
    let cluster = RedisCluster::shared().unwrap();
    let client = client(&cluster.url()).await;
    // The queue and its processing lists share the queue name's slot (a hash
    // tag): LMOVE between them stays on one node.
    let name = cluster.key_prefix("queue");
    let queue = WorkQueue::new(&client, &name);
    let mut plain = queue.worker().await.unwrap();
    let mut reliable = queue.reliable_worker("w1").await.unwrap();
    for i in 0..200 {
        queue.push(format!("job-{i}")).unwrap();
    }
    let mut seen = HashSet::new();
    while seen.len() < 200 {
        let job = tokio::time::timeout(Duration::from_secs(5), async {
            tokio::select! {
                job = plain.next() => job.unwrap(),
                job = reliable.next() => {
                    let job = job.unwrap();
                    reliable.ack(&job);
                    job
                }
            }
        })
        .await
        .expect("a job within 5 s");
        assert!(
            seen.insert(job.payload_str().unwrap().to_string()),
            "a job twice"
        );
    }
    reliable.flush_acks().await.unwrap();
    assert_eq!(queue.len().await.unwrap(), 0);
    assert_eq!(client.llen(queue.processing_key("w1")).await.unwrap(), 0);
}

/// A command to a node that has stalled fails at its deadline, with the client's
/// timeout (enforced by the node's multiplexer, with no timer of the command's own)
/// and with a timeout of its own (on a timer); neither waits for the stalled reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_to_a_stalled_node_times_out_with_either_timeout() {
    // A cluster of its own: the stall would hold up other tests' commands.
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let mut config = Config::from_url(&cluster.url()).unwrap();
    config.command_timeout = Duration::from_millis(300);
    let client = Client::connect_with(config).await.unwrap();
    let key = "stalled";
    client.set(key, 1).await.unwrap();
    let owner = cluster.key_owner(key.as_bytes()).unwrap();
    let stall_sent = Instant::now();
    let stall = {
        let cluster = cluster.clone();
        std::thread::spawn(move || cluster.call(owner, &["DEBUG", "SLEEP", "3"]))
    };

    // The stall begins when the thread's DEBUG SLEEP reaches the node, which a fixed
    // pause does not promise on a loaded machine: until then a GET is answered.
    let error = loop {
        match client.get::<Option<i64>>(key).await {
            Ok(_) if stall_sent.elapsed() < Duration::from_secs(1) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            other => break other.unwrap_err(),
        }
    };
    assert!(matches!(error, Error::Timeout(_)), "{error}");
    let error = client
        .get::<Option<i64>>(key)
        .timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout(_)), "{error}");
    // Both well before the node wakes (3 s after the stall began, which is after
    // it was sent).
    assert!(
        stall_sent.elapsed() < Duration::from_millis(2_500),
        "{:?}",
        stall_sent.elapsed()
    );
    stall.join().unwrap().unwrap();
    // The stalled replies are discarded, and the node answers again.
    assert_eq!(client.get::<Option<i64>>(key).await.unwrap(), Some(1));
}
