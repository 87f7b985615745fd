//! A streamed batch keeps one key's commands in batch order across a slot
//! migration, while another task of the same client keeps hitting the slot (its
//! MOVED fixes the client's map under the batch). Every chunk of the batch APPENDs
//! to one key; the value left must list every index once, in order. A later chunk
//! routed on the fixed map would reach the new owner before an earlier chunk's
//! redirected commands, and its indexes would come first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use futures::StreamExt;
use redmux::cmd;
use redmux_testkit::{RedisCluster, hash_tag_for_slot};
use redmux_tests::cluster_client as client;

const APPENDS: usize = 200_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_batch_keeps_one_keys_order_across_a_migration() {
    let cluster = Arc::new(RedisCluster::start().unwrap());
    let client = client(&cluster.url()).await;
    let slot = 9000;
    let tag = hash_tag_for_slot(slot).unwrap();
    let log = format!("{tag}:log");
    client.set(format!("{tag}:probe"), 1).await.unwrap();
    let target = cluster
        .primaries()
        .into_iter()
        .find(|p| Some(*p) != cluster.slot_owner(slot))
        .unwrap();

    // Another task of the same client reads the slot all along: the first to see
    // the slot's MOVED, it fixes the map the batch routes its next chunks with.
    let done = Arc::new(AtomicBool::new(false));
    let prober = tokio::spawn({
        let (client, done, probe) = (client.clone(), done.clone(), format!("{tag}:probe"));
        async move {
            while !done.load(Relaxed) {
                let _: Option<i64> = client.get(&probe).await.unwrap();
            }
        }
    });
    let migration = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(30));
            cluster.migrate_slot(slot, target).unwrap()
        })
    };

    let appends = (0..APPENDS).map(|i| cmd("APPEND").key(&log).arg(format!("{i},")));
    let mut results = client.batch_iter::<i64, _>(appends);
    let mut answered = 0;
    while let Some(result) = results.next().await {
        result.unwrap();
        answered += 1;
    }
    assert_eq!(answered, APPENDS);
    let moved_in = migration.await.unwrap();
    done.store(true, Relaxed);
    prober.await.unwrap();

    let value: Option<String> = client.get(&log).await.unwrap();
    let value = value.unwrap();
    let indexes: Vec<usize> = value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let first_out_of_order = indexes.windows(2).position(|w| w[1] != w[0] + 1);
    println!(
        "slot moved in {moved_in:?}; {} appends, first out of order at {first_out_of_order:?}",
        indexes.len()
    );
    assert_eq!(
        first_out_of_order, None,
        "an APPEND overtook an earlier one"
    );
    assert_eq!(indexes.len(), APPENDS);
    assert_eq!(cluster.slot_owner(slot), Some(target));
}
