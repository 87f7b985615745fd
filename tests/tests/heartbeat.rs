//! The heartbeat and the dead-link rule on a link nobody is using: a connection that
//! dies silently while idle is found by the unanswered `PING` alone, without a
//! caller's command having to time out first; and a long command whose own timeout
//! has room is not mistaken for a dead link, however long it runs.

use std::time::{Duration, Instant};

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
    // DEBUG SLEEP keeps the server busy for 800 ms, answering nobody: longer than the
    // dead-link timeout (500 ms), and the heartbeat sent meanwhile waits behind it
    // past its own deadline (300 ms). The command's own timeout (5 s) has room, so
    // nothing timed out and the link is not declared dead. (A Lua loop on
    // redis.call('TIME') would not do: Valkey freezes TIME inside a script until the
    // 5 s busy threshold, so that loop ran 5 s there.)
    let started = Instant::now();
    let done: String = client
        .command(cmd("DEBUG").arg("SLEEP").arg("0.8"))
        .timeout(Duration::from_secs(5))
        .await
        .unwrap();
    let stalled = started.elapsed();
    assert_eq!(done, "OK");
    // The stall must really outlast the dead-link timeout, or this proves nothing.
    assert!(
        stalled >= Duration::from_millis(800) && stalled < Duration::from_secs(4),
        "the server stalled for {stalled:?}"
    );
    let echoed: String = client.echo("after").await.unwrap();
    assert_eq!(echoed, "after");
    let stats = client.stats();
    assert_eq!(stats.reconnects, 0, "{stats:?}");
    assert_eq!(client.state(), ConnectionState::Connected);
}
