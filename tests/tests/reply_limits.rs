//! A reply over `Config::limits` fails only the command it answers: the decoder skips
//! it whole, the caller gets `Error::ReplyTooLarge`, and every other command in
//! flight on the same connection gets its own answer. No reconnect.

use std::future::IntoFuture;
use std::time::Duration;

use futures::StreamExt;
use futures::future::join_all;
use redmux::{Client, Config, Error, Limits, Oversize, Protocol, Result, cmd};
use redmux_testkit::RedisServer;

const BULK_LIMIT: usize = 64 * 1024;
const AGGREGATE_LIMIT: usize = 1000;

async fn client_with_small_limits(server: &RedisServer, protocol: Protocol) -> Client {
    let mut config = Config::from_url(&server.url()).unwrap();
    config.protocol = protocol;
    config.limits = Limits {
        max_bulk_len: BULK_LIMIT,
        max_aggregate_len: AGGREGATE_LIMIT,
        ..Limits::default()
    };
    Client::connect_with(config).await.unwrap()
}

/// Command `i` of the bystanders: a GET of its own key or an ECHO of its own text,
/// and the answer it must get.
async fn bystander(client: Client, i: usize) -> (Result<String>, String) {
    if i.is_multiple_of(2) {
        (client.get(format!("k:{i}")).await, format!("value-{i}"))
    } else {
        let text = format!("echo-{i}");
        (client.command(cmd("ECHO").arg(&text)).await, text)
    }
}

/// Runs 50 bystanders, `oversized`, then 50 more, all in flight at once on the shared
/// connection; checks every bystander's answer and returns the oversized one's error.
async fn among_100_bystanders<T: std::fmt::Debug>(
    client: &Client,
    oversized: impl IntoFuture<Output = Result<T>>,
) -> Error {
    for i in (0..100).step_by(2) {
        client
            .set(format!("k:{i}"), format!("value-{i}"))
            .await
            .unwrap();
    }
    let before = join_all((0..50).map(|i| bystander(client.clone(), i)));
    let after = join_all((50..100).map(|i| bystander(client.clone(), i)));
    let (before, result, after) = tokio::join!(before, oversized.into_future(), after);
    for (i, (got, want)) in before.into_iter().chain(after).enumerate() {
        assert_eq!(
            got.as_deref().ok(),
            Some(want.as_str()),
            "bystander {i}: {got:?}"
        );
    }
    result.unwrap_err()
}

#[tokio::test]
async fn a_bulk_over_the_limit_fails_its_caller_alone() {
    let server = RedisServer::start().unwrap();
    let client = client_with_small_limits(&server, Protocol::Resp3).await;
    client.set("big", "x".repeat(1 << 20)).await.unwrap();
    let reconnects = client.stats().reconnects;

    let err = among_100_bystanders(&client, client.get::<String>("big")).await;
    match &err {
        Error::ReplyTooLarge { what, len, limit } => {
            assert_eq!((*what, *len, *limit), (Oversize::Bulk, 1 << 20, BULK_LIMIT));
        }
        other => panic!("expected ReplyTooLarge, got {other:?}"),
    }
    assert!(!err.status().safe_to_retry(), "the GET ran");
    // The message names the limit and where to raise it.
    let text = err.to_string();
    assert!(
        text.contains("max_bulk_len") && text.contains("Config::limits"),
        "{text}"
    );

    // A value over the limit nested in an aggregate fails that whole reply alone.
    client.set("small", "s").await.unwrap();
    let err = among_100_bystanders(&client, client.mget::<String>(["small", "big"])).await;
    assert!(
        matches!(
            err,
            Error::ReplyTooLarge {
                what: Oversize::Bulk,
                ..
            }
        ),
        "{err:?}"
    );

    let stats = client.stats();
    assert_eq!(stats.reconnects, reconnects, "the connection was rebuilt");
    assert_eq!(stats.replies_too_large, 2);
    // Later commands on the same connection work.
    assert_eq!(client.get::<String>("k:42").await.unwrap(), "value-42");
    assert_eq!(client.strlen("big").await.unwrap(), 1 << 20);
}

#[tokio::test]
async fn an_aggregate_over_the_limit_fails_its_caller_alone() {
    let server = RedisServer::start().unwrap();
    // RESP2 as well: the limit does not depend on the protocol.
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let client = client_with_small_limits(&server, protocol).await;
        let items: Vec<String> = (0..3 * AGGREGATE_LIMIT).map(|i| i.to_string()).collect();
        client.del("long").await.unwrap();
        client.rpush_many("long", items).await.unwrap();
        let reconnects = client.stats().reconnects;

        let lrange = client.lrange::<String>("long", 0, -1);
        let err = among_100_bystanders(&client, lrange).await;
        match err {
            Error::ReplyTooLarge { what, len, limit } => {
                assert_eq!(
                    (what, len, limit),
                    (
                        Oversize::Aggregate,
                        3 * AGGREGATE_LIMIT as u64,
                        AGGREGATE_LIMIT
                    )
                );
            }
            other => panic!("{protocol:?}: expected ReplyTooLarge, got {other:?}"),
        }
        assert_eq!(client.stats().reconnects, reconnects, "{protocol:?}");
        // Within the limit, the same list reads fine.
        let head: Vec<String> = client.lrange("long", 0, 9).await.unwrap();
        assert_eq!(head.len(), 10);
    }
}

#[tokio::test]
async fn a_reply_over_the_limit_fails_one_command_of_a_batch() {
    let server = RedisServer::start().unwrap();
    let client = client_with_small_limits(&server, Protocol::Resp3).await;
    client.set("big", "x".repeat(1 << 20)).await.unwrap();
    client.set("small", "s").await.unwrap();
    let mut batch = client.batch();
    let first = batch.add(client.get::<String>("small"));
    let big = batch.add(client.get::<String>("big"));
    let last = batch.add(client.get::<String>("small"));
    let results = batch.execute().await;
    assert_eq!(results.get(first).unwrap(), "s");
    assert!(matches!(results.get(big), Err(Error::ReplyTooLarge { .. })));
    assert_eq!(results.get(last).unwrap(), "s");
    assert_eq!(client.stats().reconnects, 0);
}

#[tokio::test]
async fn a_dedicated_connection_survives_a_reply_over_the_limit() {
    let server = RedisServer::start().unwrap();
    let client = client_with_small_limits(&server, Protocol::Resp3).await;
    client.set("big", "x".repeat(1 << 20)).await.unwrap();
    let conn = client.dedicated().await.unwrap();
    let err = conn
        .command::<String>(cmd("GET").arg("big"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ReplyTooLarge { .. }), "{err:?}");
    let pong: String = conn.command(cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn a_message_over_the_limit_is_dropped_and_the_subscription_goes_on() {
    let server = RedisServer::start().unwrap();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let client = client_with_small_limits(&server, protocol).await;
        let mut sub = client.subscribe("news").await.unwrap();
        client.publish("news", "x".repeat(1 << 20)).await.unwrap();
        client.publish("news", "after").await.unwrap();
        // The next event is the next message: not the big one, and no gap (which
        // would mean the connection was rebuilt).
        let event = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap();
        let message = event.into_message().unwrap();
        assert_eq!(&message.payload()[..], b"after", "{protocol:?}");
        assert_eq!(client.subscriber_stats().reconnects, 0, "{protocol:?}");
    }
}
