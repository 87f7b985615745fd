//! Server and connection commands against a real server: PING, ECHO, INFO, DBSIZE,
//! FLUSHDB, TIME, PUBLISH.

use std::time::{Duration, SystemTime};

use redmux::{Client, cmd};
use redmux_testkit::RedisServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn connect(options: &str) -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&format!("{}{options}", server.url()))
        .await
        .unwrap();
    (server, client)
}

#[tokio::test]
async fn ping_and_echo() {
    let (_server, client) = connect("").await;
    assert_eq!(client.ping().await.unwrap(), "PONG");
    assert_eq!(client.echo::<String>("hello").await.unwrap(), "hello");
    assert_eq!(
        client.echo::<Vec<u8>>(&b"\x00\xff"[..]).await.unwrap(),
        b"\x00\xff"
    );
    assert_eq!(client.echo::<i64>(42).await.unwrap(), 42);
}

/// INFO is a bulk string in RESP2 and a verbatim string in RESP3; both read as text.
/// The server's real version is `valkey_version` where it exists: Valkey's
/// `redis_version` is the Redis version it is compatible with (7.2.4).
async fn info(server: &RedisServer, client: &Client) {
    let all = client.info().await.unwrap();
    assert!(all.contains("# Server"), "{all}");
    let field = |name: &str| {
        all.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
    };
    let version = field("valkey_version").or_else(|| field("redis_version"));
    assert_eq!(version, Some(server.version().as_str()), "{all}");
    let keyspace = client.info_section("keyspace").await.unwrap();
    assert!(keyspace.starts_with("# Keyspace"), "{keyspace}");
    assert!(!keyspace.contains("# Server"));
}

#[tokio::test]
async fn info_over_resp2() {
    let (server, client) = connect("").await;
    info(&server, &client).await;
}

#[tokio::test]
async fn info_over_resp3() {
    let (server, client) = connect("?protocol=resp3").await;
    let raw: redmux::Value = client.command(cmd("INFO").arg("server")).await.unwrap();
    assert!(
        matches!(raw, redmux::Value::VerbatimString { .. }),
        "{raw:?}"
    );
    info(&server, &client).await;
    assert_eq!(client.ping().await.unwrap(), "PONG");
}

#[tokio::test]
async fn dbsize_and_flushdb() {
    let (server, client) = connect("").await;
    assert_eq!(client.dbsize().await.unwrap(), 0);
    client
        .mset([("a", "1"), ("b", "2"), ("c", "3")])
        .await
        .unwrap();
    assert_eq!(client.dbsize().await.unwrap(), 3);

    // FLUSHDB empties the selected database only.
    let db1 = Client::connect(&format!("{}/1", server.url()))
        .await
        .unwrap();
    db1.set("kept", "v").await.unwrap();
    client.flushdb().await.unwrap();
    assert_eq!(client.dbsize().await.unwrap(), 0);
    assert_eq!(db1.dbsize().await.unwrap(), 1);
}

#[tokio::test]
async fn time_is_the_servers_clock() {
    let (_server, client) = connect("").await;
    let before = SystemTime::now();
    let server_now = client.time().await.unwrap();
    let after = SystemTime::now();
    // Same machine, same clock: the server's time falls between ours, give or take the
    // microseconds TIME rounds to.
    let slack = Duration::from_millis(5);
    assert!(
        server_now + slack >= before && server_now <= after + slack,
        "{server_now:?}"
    );
    let later = client.time().await.unwrap();
    assert!(later >= server_now);
}

#[tokio::test]
async fn publish_counts_receivers() {
    let (server, client) = connect("").await;
    assert_eq!(client.publish("news", "nobody listens").await.unwrap(), 0);

    // Two raw subscriber connections on one channel.
    let mut subscribers = Vec::new();
    for _ in 0..2 {
        let mut conn = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        conn.write_all(b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nnews\r\n")
            .await
            .unwrap();
        // The confirmation, `["subscribe", "news", 1]`, may come in pieces.
        let mut confirm = Vec::new();
        while !confirm.ends_with(b":1\r\n") {
            let mut chunk = [0u8; 64];
            let n = conn.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "closed early: {:?}",
                String::from_utf8_lossy(&confirm)
            );
            confirm.extend_from_slice(&chunk[..n]);
        }
        subscribers.push(conn);
    }
    assert_eq!(client.publish("news", "hello").await.unwrap(), 2);
    assert_eq!(client.publish("other", "hello").await.unwrap(), 0);
}
