//! `FaultProxy` in front of a real `redis-server`: forwarding, latency, throughput
//! under latency, stall, cut, refuse, drop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use redmux_testkit::{CutMode, FaultProxy, RedisServer};
use support::{Conn, PING, PONG};

fn server_and_proxy() -> (RedisServer, FaultProxy) {
    let server = RedisServer::start().expect("start server");
    let proxy = FaultProxy::start(server.addr()).expect("start proxy");
    (server, proxy)
}

/// A raw connection through the proxy, proven live by one PING.
fn connected(proxy: &FaultProxy) -> TcpStream {
    let mut stream = TcpStream::connect(proxy.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    assert_eq!(ping(&mut stream), PONG);
    stream
}

fn ping(stream: &mut TcpStream) -> [u8; 7] {
    stream.write_all(PING).expect("write");
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).expect("read");
    reply
}

/// Polls `condition` for up to a second: for effects that happen on other threads.
fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn forwards_and_counts_connections() {
    let (_server, proxy) = server_and_proxy();
    assert_eq!(
        proxy.url(),
        format!("redis://127.0.0.1:{}", proxy.addr().port())
    );
    let mut conn = Conn::connect(proxy.addr());
    assert_eq!(conn.call(&["SET", "k", "v"]), "+OK");
    assert_eq!(conn.call(&["GET", "k"]), "v");
    let _second = connected(&proxy);
    assert_eq!(proxy.connection_count(), 2);
    assert_eq!(proxy.accepted_total(), 2);

    drop(conn);
    eventually("the closed connection is gone", || {
        proxy.connection_count() == 1
    });
    assert_eq!(proxy.accepted_total(), 2);
}

/// The fastest of three PING round trips: the lower bound is what the proxy adds, and
/// taking the minimum keeps one scheduling hiccup on a busy machine from failing a test.
fn fastest_round_trip(stream: &mut TcpStream) -> Duration {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(ping(stream), PONG);
            started.elapsed()
        })
        .min()
        .expect("three samples")
}

#[test]
fn latency_applies_in_both_directions() {
    let (_server, proxy) = server_and_proxy();
    let mut stream = connected(&proxy);
    proxy.set_latency(Duration::from_millis(20));
    let rtt = fastest_round_trip(&mut stream);
    assert!(rtt >= Duration::from_millis(40), "{rtt:?}");
    assert!(rtt < Duration::from_millis(100), "{rtt:?}");

    proxy.set_latency_split(Duration::from_millis(30), Duration::ZERO);
    let rtt = fastest_round_trip(&mut stream);
    assert!(rtt >= Duration::from_millis(30), "{rtt:?}");
    assert!(rtt < Duration::from_millis(60), "{rtt:?}");

    proxy.set_latency(Duration::ZERO);
    let rtt = fastest_round_trip(&mut stream);
    assert!(rtt < Duration::from_millis(20), "{rtt:?}");
}

/// Sub-millisecond latency is what it says: 300 µs each way is really added (every
/// round trip takes at least 600 µs), and is not rounded up to the runtime's 1 ms
/// timer ticks (which made every round trip 2 ms or more, 3-4 ms typically). The
/// fastest of 50 is the figure: a busy machine (this runs beside the other tests)
/// delays many round trips, but not all of them.
#[test]
#[cfg(target_os = "linux")] // elsewhere the proxy falls back to tokio's 1 ms timer
fn sub_millisecond_latency_is_precise() {
    let (_server, proxy) = server_and_proxy();
    let mut stream = connected(&proxy);
    stream.set_nodelay(true).expect("nodelay");
    proxy.set_latency(Duration::from_micros(300));
    let mut rtts: Vec<Duration> = (0..50)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(ping(&mut stream), PONG);
            started.elapsed()
        })
        .collect();
    rtts.sort();
    assert!(rtts[0] >= Duration::from_micros(600), "{rtts:?}");
    assert!(rtts[0] < Duration::from_micros(1500), "{rtts:?}");
}

#[test]
fn latency_does_not_cap_throughput() {
    const COUNT: usize = 10_000;
    let (_server, proxy) = server_and_proxy();
    let stream = connected(&proxy);
    proxy.set_latency(Duration::from_millis(5));

    let started = Instant::now();
    let mut writer = stream.try_clone().expect("clone");
    let sending = thread::spawn(move || writer.write_all(&PING.repeat(COUNT)));
    let mut replies = vec![0u8; COUNT * PONG.len()];
    (&stream)
        .read_exact(&mut replies)
        .expect("read all replies");
    let elapsed = started.elapsed();
    sending.join().expect("join").expect("write");

    assert!(replies.chunks(PONG.len()).all(|reply| reply == PONG));
    // Serialised, 10,000 round trips of 10 ms would take 100 s.
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
    assert!(elapsed >= Duration::from_millis(10), "{elapsed:?}");
}

#[test]
fn stall_holds_data_until_resume() {
    let (_server, proxy) = server_and_proxy();
    let mut stream = connected(&proxy);
    proxy.stall();
    stream.write_all(PING).expect("write");
    stream.write_all(PING).expect("write");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut reply = [0u8; 14];
    let err = stream.read(&mut reply).expect_err("no reply while stalled");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    assert_eq!(proxy.connection_count(), 1, "the socket stays open");

    proxy.resume();
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let started = Instant::now();
    stream.read_exact(&mut reply).expect("replies after resume");
    assert_eq!(&reply, b"+PONG\r\n+PONG\r\n");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn cut_reset_makes_the_client_see_a_reset_and_closes_upstream() {
    let (server, proxy) = server_and_proxy();
    let mut stream = connected(&proxy);
    assert_eq!(support::connected_clients(server.addr()), 2);

    let started = Instant::now();
    proxy.cut(CutMode::Reset);
    let mut buf = [0u8; 8];
    let err = stream.read(&mut buf).expect_err("reset, not EOF");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(proxy.connection_count(), 0);
    eventually("redis sees its side closed", || {
        support::connected_clients(server.addr()) == 1
    });

    // New connections are not affected by an earlier cut.
    let _fresh = connected(&proxy);
}

#[test]
fn cut_close_makes_the_client_read_eof() {
    let (server, proxy) = server_and_proxy();
    let mut stream = connected(&proxy);
    let started = Instant::now();
    proxy.cut(CutMode::Close);
    let mut buf = [0u8; 8];
    assert_eq!(stream.read(&mut buf).expect("EOF, not an error"), 0);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    eventually("redis sees its side closed", || {
        support::connected_clients(server.addr()) == 1
    });
}

#[test]
fn cut_works_while_stalled() {
    let (_server, proxy) = server_and_proxy();
    let mut stream = connected(&proxy);
    proxy.stall();
    proxy.cut(CutMode::Reset);
    let mut buf = [0u8; 8];
    assert!(!matches!(stream.read(&mut buf), Ok(n) if n > 0));
    assert_eq!(proxy.connection_count(), 0);
}

#[test]
fn refuse_closes_new_connections_until_lifted() {
    let (_server, proxy) = server_and_proxy();
    let mut existing = connected(&proxy);
    proxy.refuse(true);

    let mut refused = TcpStream::connect(proxy.addr()).expect("the OS still accepts");
    refused
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    let started = Instant::now();
    let _ = refused.write_all(PING);
    let mut buf = [0u8; 8];
    match refused.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("expected the refused connection to close, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(proxy.accepted_total(), 2);
    assert_eq!(
        ping(&mut existing),
        PONG,
        "existing connections are untouched"
    );

    proxy.refuse(false);
    let _allowed = connected(&proxy);
    proxy.refuse(true);
    proxy.resume(); // also lifts refuse
    let _allowed_again = connected(&proxy);
    assert_eq!(proxy.connection_count(), 3);
}

#[test]
fn upstream_down_closes_the_client() {
    let (server, proxy) = server_and_proxy();
    let mut stream = connected(&proxy);
    server.kill();
    let mut buf = [0u8; 8];
    assert!(!matches!(stream.read(&mut buf), Ok(n) if n > 0));

    let mut new_client = TcpStream::connect(proxy.addr()).expect("proxy still listens");
    new_client
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    assert!(!matches!(new_client.read(&mut buf), Ok(n) if n > 0));

    server.restart().expect("restart");
    let _back = connected(&proxy);
}

#[test]
fn drop_closes_every_connection() {
    let (_server, proxy) = server_and_proxy();
    let addr = proxy.addr();
    let mut stream = connected(&proxy);
    drop(proxy);
    let mut buf = [0u8; 8];
    assert!(!matches!(stream.read(&mut buf), Ok(n) if n > 0));
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<FaultProxy>();
    assert_send_sync::<CutMode>();
    assert_send_sync::<RedisServer>();
    assert_send_sync::<redmux_testkit::RedisServerBuilder>();
    assert_send_sync::<redmux_testkit::Error>();
}

/// The proxy runs on its own runtime, so a single-threaded test runtime that is busy
/// awaiting the proxy cannot starve it.
#[tokio::test]
async fn works_from_an_async_test() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (_server, proxy) = server_and_proxy();
    proxy.set_latency(Duration::from_millis(5));
    let mut stream = tokio::net::TcpStream::connect(proxy.addr())
        .await
        .expect("connect");
    stream.write_all(PING).await.expect("write");
    let mut reply = [0u8; 7];
    tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut reply))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(&reply, PONG);
}
