//! A dedicated connection has the typed commands a client has, and the blocking ones
//! a shared connection must refuse: each against a real server, with a second
//! connection supplying the data a blocking call waits for.

use std::time::{Duration, Instant};

use redmux::{Client, Error, Side, XReadGroupOptions, cmd};
use redmux_testkit::RedisServer;

async fn client() -> (RedisServer, Client) {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    (server, client)
}

#[tokio::test]
async fn typed_commands_work_on_a_dedicated_connection() {
    let (_server, client) = client().await;
    let conn = client.dedicated().await.unwrap();
    conn.set("k", "v").await.unwrap();
    let v: Option<String> = conn.get("k").await.unwrap();
    assert_eq!(v.as_deref(), Some("v"));
    assert_eq!(conn.incr("n").await.unwrap(), 1);
    conn.hset_many("h", [("a", 1), ("b", 2)]).await.unwrap();
    let all: std::collections::BTreeMap<String, i64> = conn.hgetall("h").await.unwrap();
    assert_eq!(all.len(), 2);
    // The shared client sees the same data: one server.
    let n: i64 = client.get::<Option<i64>>("n").await.unwrap().unwrap_or(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn blpop_and_brpop_wait_for_a_push_from_elsewhere() {
    let (_server, client) = client().await;
    let conn = client.dedicated().await.unwrap();
    let pusher = client.clone();
    let push = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        pusher.rpush_many("jobs", ["a", "b"]).await.unwrap();
    });
    let started = Instant::now();
    let first: Option<(String, String)> = conn
        .blpop(["empty", "jobs"], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(first, Some(("jobs".to_string(), "a".to_string())));
    assert!(
        started.elapsed() >= Duration::from_millis(90),
        "it waited for the push"
    );
    push.await.unwrap();
    let last: Option<(String, String)> =
        conn.brpop(["jobs"], Duration::from_secs(1)).await.unwrap();
    assert_eq!(last, Some(("jobs".to_string(), "b".to_string())));
    // Nothing left: the server's timeout ends the wait with nil.
    let none: Option<(String, String)> = conn
        .blpop(["jobs"], Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(none, None);
}

#[tokio::test]
async fn blmove_and_the_sorted_set_pops() {
    let (_server, client) = client().await;
    let conn = client.dedicated().await.unwrap();
    client.rpush("src", "x").await.unwrap();
    let moved: Option<String> = conn
        .blmove(
            "src",
            "dst",
            Side::Left,
            Side::Right,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(moved.as_deref(), Some("x"));
    assert_eq!(client.lrange::<String>("dst", 0, -1).await.unwrap(), ["x"]);
    client
        .zadd_many("z", [(1.0, "low"), (9.0, "high")])
        .await
        .unwrap();
    let min: Option<(String, String, f64)> =
        conn.bzpopmin(["z"], Duration::from_secs(1)).await.unwrap();
    assert_eq!(min, Some(("z".into(), "low".into(), 1.0)));
    let max: Option<(String, String, f64)> =
        conn.bzpopmax(["z"], Duration::from_secs(1)).await.unwrap();
    assert_eq!(max, Some(("z".into(), "high".into(), 9.0)));
    let none: Option<(String, String, f64)> = conn
        .bzpopmin(["z"], Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(none, None);
}

#[tokio::test]
async fn xread_and_xreadgroup_block_until_an_entry_arrives() {
    let (_server, client) = client().await;
    let conn = client.dedicated().await.unwrap();
    let adder = client.clone();
    let add = tokio::spawn(async move {
        redmux_tests::wait_for_blocked_client(&adder).await;
        adder.xadd("orders", [("item", "book")]).await.unwrap();
    });
    let reads = conn
        .xread_block([("orders", "$")], Duration::from_secs(5))
        .await
        .unwrap();
    add.await.unwrap();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].key, "orders");
    assert_eq!(reads[0].entries.len(), 1);
    // Nothing new: the wait runs out and the read is empty.
    let empty = conn
        .xread_block([("orders", "$")], Duration::from_millis(50))
        .await
        .unwrap();
    assert!(empty.is_empty());

    client
        .xgroup_create("orders", "billing", "0")
        .await
        .unwrap();
    let group = conn
        .xreadgroup_block(
            "billing",
            "w1",
            [("orders", ">")],
            XReadGroupOptions::new().count(10),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(group[0].entries.len(), 1);
    let empty = conn
        .xreadgroup_block(
            "billing",
            "w1",
            [("orders", ">")],
            XReadGroupOptions::new(),
            Duration::from_millis(50),
        )
        .await
        .unwrap();
    assert!(empty.is_empty());
}

#[tokio::test]
async fn wait_answers_with_the_replica_count() {
    let (_server, client) = client().await;
    let conn = client.dedicated().await.unwrap();
    conn.set("k", "v").await.unwrap();
    // No replicas: WAIT returns 0 once its timeout passes.
    assert_eq!(conn.wait(1, Duration::from_millis(50)).await.unwrap(), 0);
}

#[tokio::test]
async fn the_shared_client_still_refuses_blocking_commands() {
    let (_server, client) = client().await;
    for command in [
        cmd("BLPOP").arg("q").arg(1),
        cmd("BZPOPMIN").arg("z").arg(1),
        cmd("XREAD")
            .arg("BLOCK")
            .arg(10)
            .arg("STREAMS")
            .arg("s")
            .arg("$"),
        cmd("WAIT").arg(1).arg(10),
    ] {
        let e = client.command::<redmux::Value>(command).await.unwrap_err();
        assert!(matches!(e, Error::BlockingCommandRefused { .. }), "{e}");
    }
}

#[tokio::test]
async fn a_timeout_on_a_blocking_call_breaks_only_that_connection() {
    let (_server, client) = client().await;
    let conn = client.dedicated().await.unwrap();
    let e = conn
        .blpop::<String>(["never"], Duration::ZERO)
        .timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e}");
    // Its reply would be read as the next command's: the connection refuses more.
    assert!(matches!(
        conn.get::<Option<String>>("k").await,
        Err(Error::ConnectionLost { .. })
    ));
    // The client and a new dedicated connection are unharmed.
    client.set("k", "v").await.unwrap();
    let fresh = client.dedicated().await.unwrap();
    assert_eq!(
        fresh.get::<Option<String>>("k").await.unwrap().as_deref(),
        Some("v")
    );
}

#[tokio::test]
async fn fire_and_forget_on_a_dedicated_connection_keeps_its_place() {
    let (_server, client) = client().await;
    let conn = client.dedicated().await.unwrap();
    for i in 0..100 {
        conn.rpush("order", i).fire_and_forget().unwrap();
    }
    // Sent after the hundred: it runs after them.
    let all: Vec<i64> = conn.lrange("order", 0, -1).await.unwrap();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
}
