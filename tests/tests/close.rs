//! Shutdown: `close_within` delivers what is owed when it can, waits for a
//! reconnect to deliver the backlog, and past its deadline tears the connection down
//! at once instead of leaving it open behind a stuck write.

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use redmux::{Client, CommandStatus, Config, ConnectionState, Error};
use redmux_testkit::{FaultProxy, RedisServer};
use redmux_tests::wait_for_state;

fn config(url: &str) -> Config {
    let mut config = Config::from_url(url).unwrap();
    config.connect_timeout = Duration::from_millis(300);
    config
}

/// How many connections the server has, leaving out `admin`'s own.
async fn other_connections(admin: &Client) -> usize {
    let list: String = admin
        .command(redmux::cmd("CLIENT").arg("LIST"))
        .await
        .unwrap();
    list.lines().count().saturating_sub(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_delivers_what_is_queued_and_answers_it() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    for _ in 0..1000 {
        client.incr("n").fire_and_forget().unwrap();
    }
    assert!(client.close_within(Duration::from_secs(5)).await);
    assert_eq!(client.state(), ConnectionState::Closed);
    assert!(matches!(client.get::<i64>("n").await, Err(Error::Closed)));
    let admin = Client::connect(&server.url()).await.unwrap();
    assert_eq!(admin.get::<i64>("n").await.unwrap(), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_while_reconnecting_delivers_the_backlog_once_the_server_returns() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect_with(config(&server.url())).await.unwrap();
    client.set("n", 0).await.unwrap();
    server.kill();
    wait_for_state(
        &client,
        ConnectionState::Reconnecting,
        Duration::from_secs(5),
    )
    .await;
    for _ in 0..10 {
        client.incr("n").fire_and_forget().unwrap();
    }
    let closing = tokio::spawn({
        let client = client.clone();
        async move { client.close_within(Duration::from_secs(10)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!closing.is_finished(), "close gave up the backlog at once");
    server.restart().unwrap();
    assert!(closing.await.unwrap(), "the backlog was not delivered");
    let admin = Client::connect(&server.url()).await.unwrap();
    assert_eq!(admin.get::<i64>("n").await.unwrap(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_deadline_close_tears_down_a_stuck_connection() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect_with(config(&proxy.url())).await.unwrap();
    let admin = Client::connect(&server.url()).await.unwrap();
    assert_eq!(other_connections(&admin).await, 1);
    // Nothing is forwarded: the large value fills the socket buffers, the writer is
    // stuck inside its write, and the GET waits behind it in the queue.
    proxy.stall();
    let big = bytes::Bytes::from(vec![b'x'; 32 << 20]);
    let set = client.set("big", big).into_future();
    let get = client.get::<Option<String>>("k").into_future();
    let started = Instant::now();
    let delivered = client.close_within(Duration::from_millis(300)).await;
    let took = started.elapsed();
    assert!(!delivered);
    assert!(
        took >= Duration::from_millis(300),
        "returned after {took:?}"
    );
    assert!(took < Duration::from_secs(3), "returned after {took:?}");
    assert_eq!(client.state(), ConnectionState::Closed);
    // The large SET was partly written: it may have run. The GET never left.
    let set = set.await;
    assert!(
        matches!(&set, Err(e @ Error::ConnectionLost { .. }) if e.status() == CommandStatus::Sent),
        "{set:?}"
    );
    let get = get.await;
    assert!(matches!(get, Err(Error::Closed)), "{get:?}");
    // The connection is really gone: the server sees it close once the proxy
    // forwards again.
    proxy.resume();
    let deadline = Instant::now() + Duration::from_secs(5);
    while other_connections(&admin).await > 0 {
        assert!(Instant::now() < deadline, "the connection was left open");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The connection breaks while a closing client is still delivering: it reconnects
/// and delivers what was never written, and says it gave up what was in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_while_closing_is_rebuilt_to_deliver_the_backlog() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect_with(config(&proxy.url())).await.unwrap();
    client.set("n", 0).await.unwrap();
    // The writer is stuck inside a large write; ten INCRs queue behind it.
    proxy.stall();
    let big = bytes::Bytes::from(vec![b'x'; 32 << 20]);
    let set = client.set("big", big).into_future();
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.stats().in_flight == 0 {
        assert!(Instant::now() < deadline, "{:?}", client.stats());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for _ in 0..10 {
        client.incr("n").fire_and_forget().unwrap();
    }
    assert_eq!(client.stats().queue_depth, 10);
    let closing = tokio::spawn({
        let client = client.clone();
        async move { client.close_within(Duration::from_secs(10)).await }
    });
    // Once the close has taken effect (the queue refuses new commands; a probe that
    // got in before it is delivered with the rest), the link breaks.
    let deadline = Instant::now() + Duration::from_secs(5);
    while client
        .command::<()>(redmux::cmd("PING"))
        .fire_and_forget()
        .is_ok()
    {
        assert!(Instant::now() < deadline, "the close never took effect");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    proxy.cut(redmux_testkit::CutMode::Reset);
    proxy.resume();
    let delivered = closing.await.unwrap();
    assert!(!delivered, "the large SET was lost in flight");
    let set = set.await;
    assert!(
        matches!(&set, Err(e @ Error::ConnectionLost { .. }) if e.status() == CommandStatus::Sent),
        "{set:?}"
    );
    let admin = Client::connect(&server.url()).await.unwrap();
    assert_eq!(admin.get::<i64>("n").await.unwrap(), 10);
}
