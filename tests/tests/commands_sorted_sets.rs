//! Sorted set commands against a real server, over RESP2 and RESP3: ZADD and its
//! options, ZREM, ZSCORE, ZMSCORE, ZINCRBY, ZRANK, ZREVRANK, ZCARD, ZCOUNT,
//! ZLEXCOUNT, ZPOPMIN, ZPOPMAX, ZRANDMEMBER, ZREMRANGEBYSCORE, ZREMRANGEBYRANK,
//! ZREMRANGEBYLEX, and ZRANGE by index, score and lexical order, reversed, paged and
//! with scores.

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

#[tokio::test]
async fn zcount_and_zlexcount() {
    let (_server, client) = connect("").await;
    five(&client).await;
    assert_eq!(client.zcount("z", ..).await.unwrap(), 5);
    assert_eq!(client.zcount("z", 2.0..=4.0).await.unwrap(), 3);
    assert_eq!(client.zcount("z", 2.0..4.0).await.unwrap(), 2);
    let exclusive = (Bound::Excluded(2.0), Bound::Excluded(5.0));
    assert_eq!(client.zcount("z", exclusive).await.unwrap(), 2);
    assert_eq!(client.zcount("z", 4.0..).await.unwrap(), 2);
    assert_eq!(client.zcount("z", ..=1.5).await.unwrap(), 1);
    assert_eq!(
        client
            .zcount("z", f64::NEG_INFINITY..=f64::INFINITY)
            .await
            .unwrap(),
        5
    );
    assert_eq!(client.zcount("z", 2.5..2.9).await.unwrap(), 0);
    assert_eq!(client.zcount("missing", ..).await.unwrap(), 0);
    let e = server_error(client.zcount("z", f64::NAN..).await);
    assert!(e.contains("not a float"), "{e}");

    let members = ["apple", "banana", "cherry", "date", "fig"].map(|m| (0.0, m));
    client.zadd_many("names", members).await.unwrap();
    assert_eq!(client.zlexcount("names", "b".."d").await.unwrap(), 2);
    assert_eq!(
        client.zlexcount("names", "banana"..="date").await.unwrap(),
        3
    );
    let after_banana = (Bound::Excluded("banana"), Bound::Unbounded);
    assert_eq!(client.zlexcount("names", after_banana).await.unwrap(), 3);
    assert_eq!(client.zlexcount("names", ..).await.unwrap(), 5);
    assert_eq!(client.zlexcount("names", .."c").await.unwrap(), 2);
    assert_eq!(client.zlexcount("names", "x"..).await.unwrap(), 0);
    assert_eq!(client.zlexcount("missing", ..).await.unwrap(), 0);
}

#[tokio::test]
async fn remove_ranges_by_score_rank_and_lex() {
    let (_server, client) = connect("").await;
    five(&client).await;
    assert_eq!(client.zremrangebyscore("z", 2.0..4.0).await.unwrap(), 2);
    assert_eq!(range(&client, ZRange::index(0, -1)).await, ["a", "d", "e"]);
    let above_four = (Bound::Excluded(4.0), Bound::Unbounded);
    assert_eq!(client.zremrangebyscore("z", above_four).await.unwrap(), 1);
    assert_eq!(range(&client, ZRange::index(0, -1)).await, ["a", "d"]);
    assert_eq!(client.zremrangebyscore("z", 10.0..).await.unwrap(), 0);
    assert_eq!(client.zremrangebyscore("missing", ..).await.unwrap(), 0);

    client.del("z").await.unwrap();
    five(&client).await;
    assert_eq!(client.zremrangebyrank("z", 0, 1).await.unwrap(), 2);
    assert_eq!(range(&client, ZRange::index(0, -1)).await, ["c", "d", "e"]);
    assert_eq!(client.zremrangebyrank("z", -1, -1).await.unwrap(), 1);
    assert_eq!(range(&client, ZRange::index(0, -1)).await, ["c", "d"]);
    assert_eq!(client.zremrangebyrank("z", 5, 10).await.unwrap(), 0);
    assert_eq!(client.zremrangebyrank("z", 0, -1).await.unwrap(), 2);
    assert!(
        !client.exists("z").await.unwrap(),
        "the last member took the key"
    );

    let members = ["apple", "banana", "cherry", "date", "fig"].map(|m| (0.0, m));
    client.zadd_many("z", members).await.unwrap();
    assert_eq!(client.zremrangebylex("z", "b".."d").await.unwrap(), 2);
    assert_eq!(
        range(&client, ZRange::index(0, -1)).await,
        ["apple", "date", "fig"]
    );
    let after_date = (Bound::Excluded("date"), Bound::Unbounded);
    assert_eq!(client.zremrangebylex("z", after_date).await.unwrap(), 1);
    assert_eq!(client.zremrangebylex("z", ..="apple").await.unwrap(), 1);
    assert_eq!(range(&client, ZRange::index(0, -1)).await, ["date"]);
    assert_eq!(client.zremrangebylex("missing", ..).await.unwrap(), 0);
}

/// ZMSCORE, ZRANDMEMBER and ZPOPMIN/ZPOPMAX read the same whatever the protocol:
/// RESP2 sends scores as strings in flat arrays, RESP3 as doubles, paired when a
/// count is given.
async fn pops_and_random_members(client: &Client) {
    let all = [(1.5, "a"), (2.0, "b"), (-3.25, "c"), (10.0, "d")];
    client.zadd_many("z", all).await.unwrap();
    assert_eq!(
        client.zmscore("z", ["a", "x", "c"]).await.unwrap(),
        [Some(1.5), None, Some(-3.25)]
    );
    assert_eq!(client.zmscore("missing", ["a"]).await.unwrap(), [None]);

    // ZRANDMEMBER leaves the set as it was.
    let pick: Option<String> = client.zrandmember("z").await.unwrap();
    assert!(["a", "b", "c", "d"].contains(&pick.as_deref().unwrap()));
    let none: Option<String> = client.zrandmember("missing").await.unwrap();
    assert_eq!(none, None);
    let mut distinct: Vec<String> = client.zrandmember_count("z", 10).await.unwrap();
    distinct.sort();
    assert_eq!(
        distinct,
        ["a", "b", "c", "d"],
        "a positive count never repeats"
    );
    let draws: Vec<String> = client.zrandmember_count("z", -6).await.unwrap();
    assert_eq!(draws.len(), 6, "a negative count gives exactly that many");
    let nothing: Vec<String> = client.zrandmember_count("missing", -3).await.unwrap();
    assert!(nothing.is_empty());
    let mut scored: Vec<(String, f64)> = client.zrandmember_with_scores("z", 10).await.unwrap();
    scored.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        scored,
        [
            ("a".into(), 1.5),
            ("b".into(), 2.0),
            ("c".into(), -3.25),
            ("d".into(), 10.0)
        ]
    );
    let one: Vec<(String, f64)> = client.zrandmember_with_scores("z", 1).await.unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(
        client.zscore("z", &one[0].0).await.unwrap(),
        Some(one[0].1),
        "each member comes with its own score"
    );
    let repeated: Vec<(String, f64)> = client.zrandmember_with_scores("z", -9).await.unwrap();
    assert_eq!(repeated.len(), 9);
    for (member, score) in &repeated {
        assert_eq!(client.zscore("z", member).await.unwrap(), Some(*score));
    }
    let nothing: Vec<(String, f64)> = client.zrandmember_with_scores("missing", 2).await.unwrap();
    assert!(nothing.is_empty());
    assert_eq!(client.zcard("z").await.unwrap(), 4);

    // ZPOPMIN and ZPOPMAX take members out, with their scores.
    let lowest: Vec<(String, f64)> = client.zpopmin("z").await.unwrap();
    assert_eq!(lowest, [("c".into(), -3.25)]);
    let highest: Vec<(String, f64)> = client.zpopmax("z").await.unwrap();
    assert_eq!(highest, [("d".into(), 10.0)]);
    let next: Vec<(String, f64)> = client.zpopmin_count("z", 1).await.unwrap();
    assert_eq!(next, [("a".into(), 1.5)]);
    client
        .zadd_many("z", [(7.0, "e"), (0.5, "f")])
        .await
        .unwrap();
    let two: Vec<(String, f64)> = client.zpopmin_count("z", 2).await.unwrap();
    assert_eq!(two, [("f".into(), 0.5), ("b".into(), 2.0)], "lowest first");
    client
        .zadd_many("z", [(3.0, "g"), (f64::INFINITY, "h")])
        .await
        .unwrap();
    let rest: Vec<(String, f64)> = client.zpopmax_count("z", 10).await.unwrap();
    assert_eq!(
        rest,
        [
            ("h".into(), f64::INFINITY),
            ("e".into(), 7.0),
            ("g".into(), 3.0)
        ],
        "highest first"
    );
    assert!(!client.exists("z").await.unwrap(), "emptied and gone");
    let empty: Vec<(String, f64)> = client.zpopmin("z").await.unwrap();
    assert!(empty.is_empty());
    let empty: Vec<(String, f64)> = client.zpopmax("z").await.unwrap();
    assert!(empty.is_empty());
    let empty: Vec<(String, f64)> = client.zpopmax_count("z", 3).await.unwrap();
    assert!(empty.is_empty());
    client.set("plain", "v").await.unwrap();
    let e = server_error(client.zpopmin::<String>("plain").await);
    assert!(e.contains("WRONGTYPE"), "{e}");
}

#[tokio::test]
async fn pops_and_random_members_over_resp2() {
    let (_server, client) = connect("").await;
    pops_and_random_members(&client).await;
}

#[tokio::test]
async fn pops_and_random_members_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    client
        .zadd_many("probe", [(1.0, "m"), (2.0, "n"), (3.0, "o")])
        .await
        .unwrap();
    // Without a count ZPOPMIN answers one flat pair; with one, an array of pairs.
    let raw: redmux::Value = client
        .command(redmux::cmd("ZPOPMIN").arg("probe"))
        .await
        .unwrap();
    assert!(
        matches!(&raw, redmux::Value::Array(items)
            if matches!(&items[..], [redmux::Value::BulkString(_), redmux::Value::Double(_)])),
        "RESP3 answers ZPOPMIN with a flat member and double: {raw:?}"
    );
    let raw: redmux::Value = client
        .command(redmux::cmd("ZPOPMIN").arg("probe").arg(1))
        .await
        .unwrap();
    assert!(
        matches!(&raw, redmux::Value::Array(items) if matches!(&items[..], [redmux::Value::Array(_)])),
        "RESP3 answers ZPOPMIN with a count with pairs: {raw:?}"
    );
    let raw: redmux::Value = client
        .command(
            redmux::cmd("ZRANDMEMBER")
                .arg("probe")
                .arg(1)
                .arg("WITHSCORES"),
        )
        .await
        .unwrap();
    assert!(
        matches!(&raw, redmux::Value::Array(items) if matches!(&items[..], [redmux::Value::Array(_)])),
        "RESP3 answers ZRANDMEMBER ... WITHSCORES with pairs: {raw:?}"
    );
    client.del("probe").await.unwrap();
    pops_and_random_members(&client).await;
}
