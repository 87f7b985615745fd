//! Sorted set commands against a real server, over RESP2 and RESP3: ZADD and its
//! options, ZREM, ZSCORE, ZINCRBY, ZRANK, ZREVRANK, ZCARD, and ZRANGE by index, score
//! and lexical order, reversed, paged and with scores.

use std::ops::Bound;

use redmux::{Client, Error, ZAddOptions, ZRange};
use redmux_testkit::RedisServer;

async fn connect(options: &str) -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&format!("{}{options}", server.url()))
        .await
        .unwrap();
    (server, client)
}

fn server_error<T: std::fmt::Debug>(result: redmux::Result<T>) -> String {
    match result {
        Err(Error::Server(e)) => e.to_string(),
        other => panic!("expected a server error, got {other:?}"),
    }
}

/// `z`: a=1 b=2 c=3 d=4 e=5.
async fn five(client: &Client) {
    let members = [(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d"), (5.0, "e")];
    assert_eq!(client.zadd_many("z", members).await.unwrap(), 5);
}

async fn range(client: &Client, r: ZRange) -> Vec<String> {
    client.zrange("z", r).await.unwrap()
}

#[tokio::test]
async fn add_score_rank_and_remove() {
    let (_server, client) = connect("").await;
    assert!(client.zadd("z", 10.0, "ada").await.unwrap());
    assert!(
        !client.zadd("z", 12.5, "ada").await.unwrap(),
        "an update, not an add"
    );
    assert_eq!(client.zscore("z", "ada").await.unwrap(), Some(12.5));
    assert_eq!(client.zscore("z", "nobody").await.unwrap(), None);
    assert_eq!(client.zscore("missing", "ada").await.unwrap(), None);
    assert_eq!(
        client
            .zadd_many("z", [(5.0, "bob"), (20.0, "eve"), (1.0, "ada")])
            .await
            .unwrap(),
        2
    );
    assert_eq!(client.zcard("z").await.unwrap(), 3);
    assert_eq!(client.zcard("missing").await.unwrap(), 0);
    assert_eq!(client.zrank("z", "ada").await.unwrap(), Some(0));
    assert_eq!(client.zrank("z", "eve").await.unwrap(), Some(2));
    assert_eq!(client.zrevrank("z", "eve").await.unwrap(), Some(0));
    assert_eq!(client.zrank("z", "nobody").await.unwrap(), None);

    assert_eq!(client.zincrby("z", 2.5, "ada").await.unwrap(), 3.5);
    assert_eq!(client.zincrby("z", -10.0, "new").await.unwrap(), -10.0);
    assert_eq!(client.zrank("z", "new").await.unwrap(), Some(0));

    // Scores at the extremes survive the round trip.
    client.zadd("z", f64::INFINITY, "top").await.unwrap();
    client.zadd("z", f64::NEG_INFINITY, "bottom").await.unwrap();
    client.zadd("z", 1e-300, "tiny").await.unwrap();
    assert_eq!(
        client.zscore("z", "top").await.unwrap(),
        Some(f64::INFINITY)
    );
    assert_eq!(
        client.zscore("z", "bottom").await.unwrap(),
        Some(f64::NEG_INFINITY)
    );
    assert_eq!(client.zscore("z", "tiny").await.unwrap(), Some(1e-300));

    assert!(client.zrem("z", "top").await.unwrap());
    assert!(!client.zrem("z", "top").await.unwrap());
    assert_eq!(
        client
            .zrem_many("z", ["bottom", "tiny", "nobody"])
            .await
            .unwrap(),
        2
    );
    assert_eq!(client.zcard("z").await.unwrap(), 4);

    let e = server_error(client.zadd("z", f64::NAN, "nan").await);
    assert!(e.contains("not a valid float"), "{e}");
}

#[tokio::test]
async fn zadd_options() {
    let (_server, client) = connect("").await;
    client
        .zadd_many("z", [(10.0, "a"), (10.0, "b")])
        .await
        .unwrap();

    // NX: new members only.
    let added = client
        .zadd_with("z", [(1.0, "a"), (1.0, "c")], ZAddOptions::new().nx())
        .await
        .unwrap();
    assert_eq!(added, 1);
    assert_eq!(
        client.zscore("z", "a").await.unwrap(),
        Some(10.0),
        "NX left a alone"
    );

    // XX: existing members only; without CH the count of new members is 0.
    let added = client
        .zadd_with("z", [(11.0, "a"), (1.0, "d")], ZAddOptions::new().xx())
        .await
        .unwrap();
    assert_eq!(added, 0);
    assert_eq!(client.zscore("z", "a").await.unwrap(), Some(11.0));
    assert_eq!(
        client.zscore("z", "d").await.unwrap(),
        None,
        "XX added nothing"
    );

    // CH counts changed scores too.
    let changed = client
        .zadd_with(
            "z",
            [(12.0, "a"), (10.0, "b"), (2.0, "e")],
            ZAddOptions::new().ch(),
        )
        .await
        .unwrap();
    assert_eq!(changed, 2, "a changed, e added, b unchanged");

    // GT/LT: only raise or only lower; GT still adds new members.
    let changed = client
        .zadd_with(
            "z",
            [(5.0, "a"), (20.0, "b"), (3.0, "f")],
            ZAddOptions::new().gt().ch(),
        )
        .await
        .unwrap();
    assert_eq!(changed, 2, "b raised and f added; a not lowered");
    assert_eq!(client.zscore("z", "a").await.unwrap(), Some(12.0));
    assert_eq!(client.zscore("z", "b").await.unwrap(), Some(20.0));
    let changed = client
        .zadd_with(
            "z",
            [(5.0, "a"), (30.0, "b")],
            ZAddOptions::new().xx().lt().ch(),
        )
        .await
        .unwrap();
    assert_eq!(changed, 1);
    assert_eq!(client.zscore("z", "a").await.unwrap(), Some(5.0));

    // The server refuses contradictions.
    let e = server_error(
        client
            .zadd_with("z", [(1.0, "a")], ZAddOptions::new().nx().gt())
            .await,
    );
    assert!(e.contains("not compatible"), "{e}");
}

#[tokio::test]
async fn zrange_by_index() {
    let (_server, client) = connect("").await;
    five(&client).await;
    assert_eq!(
        range(&client, ZRange::index(0, -1)).await,
        ["a", "b", "c", "d", "e"]
    );
    assert_eq!(range(&client, ZRange::index(1, 2)).await, ["b", "c"]);
    assert_eq!(range(&client, ZRange::index(-2, -1)).await, ["d", "e"]);
    assert_eq!(range(&client, ZRange::index(0, 1).rev()).await, ["e", "d"]);
    assert!(range(&client, ZRange::index(10, 20)).await.is_empty());
    assert!(
        client
            .zrange::<String>("missing", ZRange::index(0, -1))
            .await
            .unwrap()
            .is_empty()
    );
    let e = server_error(
        client
            .zrange::<String>("z", ZRange::index(0, -1).limit(0, 1))
            .await,
    );
    assert!(e.contains("LIMIT"), "{e}");
}

#[tokio::test]
async fn zrange_by_score() {
    let (_server, client) = connect("").await;
    five(&client).await;
    assert_eq!(
        range(&client, ZRange::by_score(2.0..=4.0)).await,
        ["b", "c", "d"]
    );
    assert_eq!(range(&client, ZRange::by_score(2.0..4.0)).await, ["b", "c"]);
    let exclusive = (Bound::Excluded(2.0), Bound::Excluded(5.0));
    assert_eq!(
        range(&client, ZRange::by_score(exclusive)).await,
        ["c", "d"]
    );
    assert_eq!(
        range(&client, ZRange::by_score(..)).await,
        ["a", "b", "c", "d", "e"]
    );
    assert_eq!(range(&client, ZRange::by_score(4.0..)).await, ["d", "e"]);
    assert_eq!(range(&client, ZRange::by_score(..=1.5)).await, ["a"]);
    assert_eq!(
        range(&client, ZRange::by_score(f64::NEG_INFINITY..=f64::INFINITY))
            .await
            .len(),
        5
    );
    assert!(range(&client, ZRange::by_score(2.5..2.9)).await.is_empty());

    // LIMIT pages through the range; REV walks it down, bounds still given low to high.
    assert_eq!(
        range(&client, ZRange::by_score(exclusive).limit(1, 5)).await,
        ["d"]
    );
    assert_eq!(
        range(&client, ZRange::by_score(1.0..=5.0).limit(1, 2)).await,
        ["b", "c"]
    );
    assert_eq!(
        range(&client, ZRange::by_score(2.0..=4.0).rev()).await,
        ["d", "c", "b"]
    );
    assert_eq!(
        range(&client, ZRange::by_score(exclusive).rev()).await,
        ["d", "c"]
    );
    assert_eq!(
        range(&client, ZRange::by_score(..).rev().limit(0, 2)).await,
        ["e", "d"]
    );
    assert_eq!(
        range(&client, ZRange::by_score(..).rev().limit(4, 10)).await,
        ["a"]
    );
}

#[tokio::test]
async fn zrange_by_lex() {
    let (_server, client) = connect("").await;
    let members = ["apple", "banana", "cherry", "date", "fig"].map(|m| (0.0, m));
    client.zadd_many("z", members).await.unwrap();
    assert_eq!(
        range(&client, ZRange::by_lex("b".."d")).await,
        ["banana", "cherry"]
    );
    assert_eq!(
        range(&client, ZRange::by_lex("banana"..="date")).await,
        ["banana", "cherry", "date"]
    );
    let exclusive = (Bound::Excluded("banana"), Bound::Unbounded);
    assert_eq!(
        range(&client, ZRange::by_lex(exclusive)).await,
        ["cherry", "date", "fig"]
    );
    assert_eq!(range(&client, ZRange::by_lex(..)).await.len(), 5);
    assert_eq!(
        range(&client, ZRange::by_lex(.."c")).await,
        ["apple", "banana"]
    );
    assert_eq!(
        range(&client, ZRange::by_lex("c"..).rev().limit(0, 2)).await,
        ["fig", "date"]
    );
    let e = server_error(
        client
            .zrange_with_scores::<String>("z", ZRange::by_lex(..))
            .await,
    );
    assert!(e.contains("WITHSCORES"), "{e}");
}

/// ZSCORE and ZRANGE ... WITHSCORES read the same whatever the protocol: RESP2
/// sends scores as strings in a flat array, RESP3 as doubles in pairs.
async fn scores(client: &Client) {
    client
        .zadd_many("z", [(1.5, "a"), (2.0, "b"), (-3.25, "c")])
        .await
        .unwrap();
    assert_eq!(client.zscore("z", "a").await.unwrap(), Some(1.5));
    assert_eq!(client.zscore("z", "c").await.unwrap(), Some(-3.25));
    assert_eq!(client.zscore("z", "x").await.unwrap(), None);
    assert_eq!(client.zincrby("z", 0.5, "a").await.unwrap(), 2.0);
    let all: Vec<(String, f64)> = client
        .zrange_with_scores("z", ZRange::index(0, -1))
        .await
        .unwrap();
    assert_eq!(
        all,
        [("c".into(), -3.25), ("a".into(), 2.0), ("b".into(), 2.0)]
    );
    let top: Vec<(String, f64)> = client
        .zrange_with_scores(
            "z",
            ZRange::by_score((Bound::Excluded(-3.25), Bound::Unbounded))
                .rev()
                .limit(0, 1),
        )
        .await
        .unwrap();
    assert_eq!(top, [("b".into(), 2.0)]);
    let one: Vec<(String, f64)> = client
        .zrange_with_scores("z", ZRange::index(0, 0))
        .await
        .unwrap();
    assert_eq!(one, [("c".into(), -3.25)]);
    let none: Vec<(String, f64)> = client
        .zrange_with_scores("missing", ZRange::index(0, -1))
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(
        client
            .zrange::<String>("z", ZRange::index(0, -1))
            .await
            .unwrap(),
        ["c", "a", "b"]
    );
}

#[tokio::test]
async fn scores_over_resp2() {
    let (_server, client) = connect("").await;
    scores(&client).await;
}

#[tokio::test]
async fn scores_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    client.zadd("probe", 1.0, "m").await.unwrap();
    let raw: redmux::Value = client
        .command(redmux::cmd("ZSCORE").arg("probe").arg("m"))
        .await
        .unwrap();
    assert!(
        matches!(raw, redmux::Value::Double(_)),
        "RESP3 answers ZSCORE with a double: {raw:?}"
    );
    let raw: redmux::Value = client
        .command(
            redmux::cmd("ZRANGE")
                .arg("probe")
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES"),
        )
        .await
        .unwrap();
    let redmux::Value::Array(pairs) = &raw else {
        panic!("{raw:?}")
    };
    assert!(
        matches!(&pairs[..], [redmux::Value::Array(_)]),
        "RESP3 pairs each member with its score: {raw:?}"
    );
    scores(&client).await;
}
