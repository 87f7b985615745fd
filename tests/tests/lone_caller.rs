//! A lone caller reads its own reply from the socket (`mux/reader.rs`): what it must
//! never do to the others. A caller that holds the read side and stops polling, or
//! drops its future, must not hold up anyone else's reply; a connection that breaks
//! or a client that closes while it holds it must end as they would without it.

use std::future::{Future, IntoFuture};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use redmux::{Client, Config, ConnectionState, Error};
use redmux_testkit::{CutMode, FaultProxy, RedisServer};
use redmux_tests::wait_for_state;

/// A client whose commands time out long after any bound these tests assert, so a
/// reply held up by the lone caller shows as slow, not as a timeout.
async fn client(url: &str) -> Client {
    let mut config = Config::from_url(url).unwrap();
    config.command_timeout = Duration::from_secs(10);
    config.connect_timeout = Duration::from_millis(500);
    Client::connect_with(config).await.unwrap()
}

/// Polls `future` once, with a waker that does nothing: a caller that started
/// waiting for its reply and then never looked again.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    std::pin::Pin::new(future).poll(&mut cx)
}

/// Waits until the connection is idle again, so the next command goes out on the
/// fast path, as a lone caller's does.
async fn settle(client: &Client) {
    let _: String = client.ping().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[tokio::test]
async fn a_lone_caller_that_stops_polling_holds_up_no_one() {
    let server = RedisServer::start().unwrap();
    let client = client(&server.url()).await;
    client.set("k", "v").await.unwrap();
    settle(&client).await;

    // Sent alone, polled once: it holds the read side, and its waker wakes nobody.
    let mut stalled = Box::pin(client.get::<Option<String>>("k").into_future());
    assert!(poll_once(&mut stalled).is_pending());
    // Its reply arrives, and is left in the socket.
    tokio::time::sleep(Duration::from_millis(50)).await;

    // Another caller's command is served at once all the same.
    let started = Instant::now();
    let other = tokio::spawn({
        let client = client.clone();
        async move { client.incr("n").await }
    });
    let n = tokio::time::timeout(Duration::from_secs(2), other)
        .await
        .expect("another caller's reply was held up by a stalled lone caller")
        .unwrap()
        .unwrap();
    assert_eq!(n, 1);
    assert!(started.elapsed() < Duration::from_secs(2));

    // The stalled one still gets its own reply, in its place, when it looks again.
    assert_eq!(stalled.await.unwrap().as_deref(), Some("v"));
    assert_eq!(
        client.get::<Option<String>>("k").await.unwrap().as_deref(),
        Some("v")
    );
}

#[tokio::test]
async fn a_lone_caller_dropped_while_it_reads_leaves_the_connection_in_step() {
    let server = RedisServer::start().unwrap();
    let client = client(&server.url()).await;
    for i in 0..50u64 {
        client.set(format!("k{i}"), i).await.unwrap();
    }
    for i in 0..50u64 {
        settle(&client).await;
        // Sent alone and dropped after one poll: its reply is read and discarded.
        let mut dropped = Box::pin(client.get::<Option<u64>>(format!("k{i}")).into_future());
        let _ = poll_once(&mut dropped);
        drop(dropped);
        // Every next reply is the right one, whoever reads it.
        let next: Option<u64> = client.get(format!("k{}", 49 - i)).await.unwrap();
        assert_eq!(next, Some(49 - i));
    }
}

#[tokio::test]
async fn a_cut_while_a_lone_caller_waits_fails_it_and_the_client_reconnects() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = client(&proxy.url()).await;
    client.set("k", "v").await.unwrap();
    settle(&client).await;

    proxy.stall();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.get::<Option<String>>("k").await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    proxy.cut(CutMode::Reset);
    let outcome = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("a lone caller must hear of the cut, not wait out its timeout")
        .unwrap();
    assert!(
        matches!(outcome, Err(Error::ConnectionLost { .. })),
        "{outcome:?}"
    );
    proxy.resume();
    wait_for_state(&client, ConnectionState::Connected, Duration::from_secs(5)).await;
    assert_eq!(
        client.get::<Option<String>>("k").await.unwrap().as_deref(),
        Some("v")
    );
}

#[tokio::test]
async fn close_while_a_lone_caller_waits_delivers_its_reply_and_ends_promptly() {
    let server = RedisServer::start().unwrap();
    let client = client(&server.url()).await;
    client.set("k", "v").await.unwrap();
    settle(&client).await;

    // A slow command, sent alone: its caller holds the read side while it runs.
    let slow = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .command::<String>(redmux::cmd("DEBUG").arg("SLEEP").arg("0.2"))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    client.close().await;
    assert_eq!(slow.await.unwrap().unwrap(), "OK");
    // Well under the 10 s command timeout the reader would otherwise wait out.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "close took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_lone_caller_dropped_while_it_reads_leaves_the_socket_watched() {
    let server = RedisServer::start().unwrap();
    let mut config = Config::from_url(&server.url()).unwrap();
    // No heartbeat PING for the length of the test: only a reader watching the
    // socket can see the server go.
    config.heartbeat_interval = Duration::from_secs(60);
    config.connect_timeout = Duration::from_millis(500);
    let client = Client::connect_with(config).await.unwrap();
    settle(&client).await;

    let mut dropped = Box::pin(client.get::<Option<String>>("k").into_future());
    assert!(poll_once(&mut dropped).is_pending());
    drop(dropped);
    tokio::time::sleep(Duration::from_millis(50)).await;

    // Nothing else is sent: the server's going is seen from the socket alone.
    server.kill();
    wait_for_state(
        &client,
        ConnectionState::Reconnecting,
        Duration::from_secs(3),
    )
    .await;
}

#[tokio::test]
async fn after_lone_callers_the_reader_watches_the_socket_again() {
    let server = RedisServer::start().unwrap();
    let mut config = Config::from_url(&server.url()).unwrap();
    config.heartbeat_interval = Duration::from_secs(60);
    config.connect_timeout = Duration::from_millis(500);
    let client = Client::connect_with(config).await.unwrap();
    // Sequential commands: each goes out alone and its caller reads the reply.
    for _ in 0..20 {
        let _: Option<String> = client.get("k").await.unwrap();
    }
    // Idle, nothing sent: the server's going is seen from the socket alone.
    server.kill();
    wait_for_state(
        &client,
        ConnectionState::Reconnecting,
        Duration::from_secs(3),
    )
    .await;
}

/// The other caller's command was queued before the lone caller claimed the read
/// side (its pusher could not see a claim yet): it still takes the socket back once
/// its slot is pending. Found by review: a check at submit alone missed this order.
#[tokio::test]
async fn a_command_queued_before_the_claim_is_not_held_up_by_it() {
    let server = RedisServer::start().unwrap();
    let mut config = Config::from_url(&server.url()).unwrap();
    // No heartbeat PING to rescue the held-up reply.
    config.heartbeat_interval = Duration::from_secs(60);
    config.command_timeout = Duration::from_secs(10);
    let client = Client::connect_with(config).await.unwrap();
    client.set("k", "v").await.unwrap();
    settle(&client).await;

    let mut lone = Box::pin(client.get::<Option<String>>("k").into_future());
    let other = client.incr("n").into_future();
    // Claims the read side, then is never polled again (until the end).
    assert!(poll_once(&mut lone).is_pending());
    let n = tokio::time::timeout(Duration::from_secs(3), other)
        .await
        .expect("a command queued before the claim was held up by it")
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(lone.await.unwrap().as_deref(), Some("v"));
}
