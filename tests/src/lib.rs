//! redmux integration tests: see the files in `tests/tests/`, one per area. This
//! library holds the helpers more than one of them needs.

mod counting;
pub use counting::Counting;

use std::time::{Duration, Instant};

use redmux::{Client, Config, ConnectionState};
use redmux_testkit::RedisCluster;

/// Waits until `client` is in state `want`, failing the test (with the client's
/// counters) after `within`; returns how long it took.
pub async fn wait_for_state(client: &Client, want: ConnectionState, within: Duration) -> Duration {
    let started = Instant::now();
    let mut states = client.watch_state();
    tokio::time::timeout(within, states.wait_for(|s| *s == want))
        .await
        .unwrap_or_else(|_| panic!("not {want} within {within:?}; stats {:?}", client.stats()))
        .unwrap();
    started.elapsed()
}

/// Waits until the server holds a client blocked in a command (`INFO clients`'
/// `blocked_clients`), failing the test after 5 s. A test that adds what a blocking
/// read waits for calls it first: a write sent a fixed pause after the read can
/// still reach a starved server in the same turn of its event loop, be run first,
/// and a read from `$` (only what comes after it) then waits out its whole timeout.
pub async fn wait_for_blocked_client(client: &Client) {
    let started = Instant::now();
    loop {
        let info = client.info_parsed_many(["clients"]).await.unwrap();
        if info.get_parsed::<u64>("clients", "blocked_clients") >= Some(1) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no client blocked within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// How many times `command` ran (calls, rejected calls and failed calls) by an
/// `INFO commandstats` reply's text; 0 when it never ran.
pub fn command_calls(info: &[u8], command: &str) -> i64 {
    let text = String::from_utf8_lossy(info);
    let prefix = format!("cmdstat_{command}:");
    let Some(line) = text.lines().find(|l| l.starts_with(&prefix)) else {
        return 0;
    };
    line[prefix.len()..]
        .split(',')
        .filter_map(|field| field.split_once('='))
        .filter(|(name, _)| matches!(*name, "calls" | "rejected_calls" | "failed_calls"))
        .filter_map(|(_, value)| value.parse::<i64>().ok())
        .sum()
}

/// How many times `command` ran on node `node` of `cluster` (calls, rejected calls
/// and failed calls), by its `INFO commandstats`.
pub fn node_command_calls(cluster: &RedisCluster, node: usize, command: &str) -> i64 {
    let reply = cluster.call(node, &["INFO", "commandstats"]).unwrap();
    command_calls(reply.as_bytes().unwrap_or_default(), command)
}

/// `slot`'s owner in `cluster`, and another primary (to move the slot to).
pub fn owner_and_another(cluster: &RedisCluster, slot: u16) -> (usize, usize) {
    let source = cluster.slot_owner(slot).unwrap();
    let target = cluster
        .primaries()
        .into_iter()
        .find(|p| *p != source)
        .unwrap();
    (source, target)
}

/// Moves `key` alone to primary `target` and runs `body` while its slot is left
/// mid-migration (the old owner answers ASK for it), then finishes the migration.
pub async fn with_key_moved_mid_migration<F>(
    cluster: &std::sync::Arc<RedisCluster>,
    key: &str,
    target: usize,
    body: F,
) where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let cluster = cluster.clone();
    let key = key.to_string();
    let slot = redmux::hash_slot(key.as_bytes());
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut migration = cluster.begin_migration(slot, target).unwrap();
        assert!(migration.move_key(&key).unwrap());
        runtime.block_on(body);
        migration.finish().unwrap();
    })
    .await
    .unwrap();
}

/// A client of `cluster` as a user whose ACL allows everything but ASKING (made on
/// every node), its commands timing out after 5 s.
pub async fn client_without_asking(cluster: &RedisCluster) -> Client {
    for node in 0..cluster.nodes().len() {
        let user = [
            "ACL",
            "SETUSER",
            "no-asking",
            "on",
            ">pw",
            "~*",
            "&*",
            "+@all",
            "-asking",
        ];
        let reply = cluster.call(node, &user).unwrap();
        assert!(!reply.is_error(), "{reply:?}");
    }
    let mut config = Config::from_url(&cluster.url()).unwrap();
    config.username = Some("no-asking".into());
    config.password = Some("pw".into());
    config.command_timeout = Duration::from_secs(5);
    Client::connect_with(config).await.unwrap()
}

/// A client of `url` whose commands time out after 5 s: the cluster tests' setting,
/// long enough to wait out a failover.
pub async fn cluster_client(url: &str) -> Client {
    let mut config = Config::from_url(url).unwrap();
    config.command_timeout = Duration::from_secs(5);
    Client::connect_with(config).await.unwrap()
}
