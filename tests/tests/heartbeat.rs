//! The heartbeat and the dead-link rule on a link nobody is using: a connection that
//! dies silently while idle is found by the unanswered `PING` alone, without a
//! caller's command having to time out first; and a long command whose own timeout
//! has room is not mistaken for a dead link, however long it runs.

use std::time::Duration;

use redmux::{Client, Config, ConnectionState, cmd};
use redmux_testkit::{FaultProxy, RedisServer};
use redmux_tests::wait_for_state;

fn config(url: &str) -> Config {
    let mut config = Config::from_url(url).unwrap();
    config.connect_timeout = Duration::from_millis(300);
    config.command_timeout = Duration::from_millis(300);
    config.heartbeat_interval = Duration::from_millis(100);
    config.dead_link_timeout = Duration::from_millis(500);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_link_that_died_silently_is_found_by_the_heartbeat() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect_with(config(&proxy.url())).await.unwrap();
    client.set("k", "v").await.unwrap();
    // The link goes silent (sockets open, nothing forwarded) and no caller sends
    // anything: only the heartbeat can notice.
    proxy.stall();
    let found = wait_for_state(
        &client,
        ConnectionState::Reconnecting,
        Duration::from_secs(5),
    )
    .await;
    let stats = client.stats();
    assert_eq!(stats.timeouts, 0, "no caller timed out: {stats:?}");
    // Heartbeat after 100 ms idle, its deadline 300 ms later, then 500 ms of silence.
    assert!(
        found >= Duration::from_millis(500),
        "declared dead after only {found:?}"
    );
    proxy.resume();
    wait_for_state(&client, ConnectionState::Connected, Duration::from_secs(5)).await;
    let v: Option<String> = client.get("k").await.unwrap();
    assert_eq!(v.as_deref(), Some("v"));
    assert_eq!(client.stats().reconnects, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_command_within_its_own_timeout_keeps_the_connection() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect_with(config(&server.url())).await.unwrap();
    // A script keeps the server busy for 800 ms, answering nobody: longer than the
    // dead-link timeout (500 ms), and the heartbeat sent meanwhile waits behind it
    // past its own deadline (300 ms). The script's own timeout (5 s) has room, so
    // nothing timed out and the link is not declared dead.
    let busy = "local t = redis.call('TIME') \
        local start = t[1] * 1000000 + t[2] \
        repeat local n = redis.call('TIME') until n[1] * 1000000 + n[2] - start >= 800000 \
        return 'done'";
    let done: String = client
        .command(cmd("EVAL").arg(busy).arg(0))
        .timeout(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(done, "done");
    let echoed: String = client.echo("after").await.unwrap();
    assert_eq!(echoed, "after");
    let stats = client.stats();
    assert_eq!(stats.reconnects, 0, "{stats:?}");
    assert_eq!(client.state(), ConnectionState::Connected);
}
