//! Set commands against a real server, over RESP2 and RESP3: SADD, SREM, SMEMBERS,
//! SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER, SUNION, SDIFF,
//! their STORE forms, and SINTERCARD.

use std::collections::HashSet;

use redmux::{Client, Error};
use redmux_testkit::RedisServer;

async fn connect(options: &str) -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&format!("{}{options}", server.url()))
        .await
        .unwrap();
    (server, client)
}

async fn set_commands(client: &Client) {
    assert!(client.sadd("tags", "rust").await.unwrap());
    assert!(
        !client.sadd("tags", "rust").await.unwrap(),
        "already a member"
    );
    assert_eq!(
        client
            .sadd_many("tags", ["redis", "async", "rust"])
            .await
            .unwrap(),
        2
    );
    assert_eq!(client.scard("tags").await.unwrap(), 3);
    assert_eq!(client.scard("missing").await.unwrap(), 0);
    assert!(client.sismember("tags", "redis").await.unwrap());
    assert!(!client.sismember("tags", "go").await.unwrap());
    assert!(!client.sismember("missing", "go").await.unwrap());

    let members: HashSet<String> = client.smembers("tags").await.unwrap();
    assert_eq!(
        members,
        HashSet::from(["rust".into(), "redis".into(), "async".into()])
    );
    let mut as_vec: Vec<String> = client.smembers("tags").await.unwrap();
    as_vec.sort();
    assert_eq!(as_vec, ["async", "redis", "rust"]);
    let none: HashSet<String> = client.smembers("missing").await.unwrap();
    assert!(none.is_empty());

    // Integer members (an intset on the server) read back as numbers.
    client.sadd_many("ids", [3, 1, 2]).await.unwrap();
    let ids: HashSet<i64> = client.smembers("ids").await.unwrap();
    assert_eq!(ids, HashSet::from([1, 2, 3]));

    assert!(client.srem("tags", "async").await.unwrap());
    assert!(!client.srem("tags", "async").await.unwrap());
    assert_eq!(
        client
            .srem_many("tags", ["rust", "redis", "go"])
            .await
            .unwrap(),
        2
    );
    assert!(
        !client.exists("tags").await.unwrap(),
        "the last member removed the set"
    );
}

#[tokio::test]
async fn sets_over_resp2() {
    let (_server, client) = connect("").await;
    set_commands(&client).await;
}

#[tokio::test]
async fn sets_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    client.sadd("s", "x").await.unwrap();
    let raw: redmux::Value = client.smembers("s").await.unwrap();
    assert!(
        matches!(raw, redmux::Value::Set(_)),
        "RESP3 answers SMEMBERS with a set: {raw:?}"
    );
    client.del("s").await.unwrap();
    set_commands(&client).await;
}

/// SMISMEMBER, SPOP, SRANDMEMBER and SMOVE.
async fn pop_random_and_move(client: &Client) {
    client.sadd_many("tags", ["a", "b", "c"]).await.unwrap();
    assert_eq!(
        client.smismember("tags", ["a", "x", "c"]).await.unwrap(),
        [true, false, true]
    );
    assert_eq!(
        client.smismember("missing", ["a", "b"]).await.unwrap(),
        [false, false]
    );

    // SRANDMEMBER leaves the set as it was.
    let pick: Option<String> = client.srandmember("tags").await.unwrap();
    assert!(
        ["a", "b", "c"].contains(&pick.as_deref().unwrap()),
        "{pick:?}"
    );
    let mut distinct: Vec<String> = client.srandmember_count("tags", 5).await.unwrap();
    distinct.sort();
    assert_eq!(distinct, ["a", "b", "c"], "a positive count never repeats");
    let draws: Vec<String> = client.srandmember_count("tags", -10).await.unwrap();
    assert_eq!(draws.len(), 10, "a negative count gives exactly that many");
    assert!(draws.iter().all(|d| ["a", "b", "c"].contains(&d.as_str())));
    assert_eq!(client.scard("tags").await.unwrap(), 3);
    let none: Option<String> = client.srandmember("missing").await.unwrap();
    assert_eq!(none, None);
    let no_draws: Vec<String> = client.srandmember_count("missing", -3).await.unwrap();
    assert!(no_draws.is_empty());

    // SPOP takes members out.
    client.sadd_many("raffle", 1..=10).await.unwrap();
    let first: Option<i64> = client.spop("raffle").await.unwrap();
    let first = first.unwrap();
    assert!((1..=10).contains(&first));
    assert!(!client.sismember("raffle", first).await.unwrap());
    let three: HashSet<i64> = client.spop_count("raffle", 3).await.unwrap();
    assert_eq!(three.len(), 3);
    assert!(!three.contains(&first));
    assert_eq!(
        client.smismember("raffle", &three).await.unwrap(),
        [false; 3]
    );
    let rest: Vec<i64> = client.spop_count("raffle", 100).await.unwrap();
    assert_eq!(rest.len(), 6);
    let mut everyone: Vec<i64> = rest.into_iter().chain(three).chain([first]).collect();
    everyone.sort();
    assert_eq!(everyone, (1..=10).collect::<Vec<_>>());
    assert!(!client.exists("raffle").await.unwrap(), "emptied and gone");
    let none: Option<String> = client.spop("raffle").await.unwrap();
    assert_eq!(none, None);
    let nothing: Vec<String> = client.spop_count("raffle", 2).await.unwrap();
    assert!(nothing.is_empty());

    // SMOVE moves one member, and only if it is there.
    assert!(client.smove("tags", "done", "a").await.unwrap());
    assert!(!client.sismember("tags", "a").await.unwrap());
    assert!(client.sismember("done", "a").await.unwrap());
    assert!(
        !client.smove("tags", "done", "a").await.unwrap(),
        "no longer in tags"
    );
    assert!(!client.smove("missing", "done", "b").await.unwrap());
    assert_eq!(client.scard("done").await.unwrap(), 1);
}

/// SINTER, SUNION, SDIFF, their STORE forms and SINTERCARD.
async fn algebra(client: &Client) {
    let set = |members: &[&str]| {
        members
            .iter()
            .map(|m| m.to_string())
            .collect::<HashSet<_>>()
    };
    client.sadd_many("s1", ["a", "b", "c", "d"]).await.unwrap();
    client.sadd_many("s2", ["c", "d", "e"]).await.unwrap();
    client.sadd_many("s3", ["d", "e", "f"]).await.unwrap();

    let both: HashSet<String> = client.sinter(["s1", "s2"]).await.unwrap();
    assert_eq!(both, set(&["c", "d"]));
    let all_three: Vec<String> = client.sinter(["s1", "s2", "s3"]).await.unwrap();
    assert_eq!(all_three, ["d"]);
    let with_missing: HashSet<String> = client.sinter(["s1", "missing"]).await.unwrap();
    assert!(with_missing.is_empty(), "a missing key is an empty set");
    let either: HashSet<String> = client.sunion(["s1", "s2"]).await.unwrap();
    assert_eq!(either, set(&["a", "b", "c", "d", "e"]));
    let mut sorted: Vec<String> = client.sunion(["s2", "s3", "missing"]).await.unwrap();
    sorted.sort();
    assert_eq!(sorted, ["c", "d", "e", "f"]);
    let only_first: HashSet<String> = client.sdiff(["s1", "s2"]).await.unwrap();
    assert_eq!(only_first, set(&["a", "b"]));
    let only_third: HashSet<String> = client.sdiff(["s3", "s1", "s2"]).await.unwrap();
    assert_eq!(only_third, set(&["f"]));

    // The STORE forms replace what the destination held.
    client.sadd("dst", "old").await.unwrap();
    assert_eq!(client.sinterstore("dst", ["s1", "s2"]).await.unwrap(), 2);
    let stored: HashSet<String> = client.smembers("dst").await.unwrap();
    assert_eq!(stored, set(&["c", "d"]));
    assert_eq!(
        client.sunionstore("dst", ["s1", "s2", "s3"]).await.unwrap(),
        6
    );
    let stored: HashSet<String> = client.smembers("dst").await.unwrap();
    assert_eq!(stored, set(&["a", "b", "c", "d", "e", "f"]));
    assert_eq!(client.sdiffstore("dst", ["s2", "s1"]).await.unwrap(), 1);
    let stored: HashSet<String> = client.smembers("dst").await.unwrap();
    assert_eq!(stored, set(&["e"]));
    assert_eq!(
        client.sinterstore("dst", ["s1", "missing"]).await.unwrap(),
        0
    );
    assert!(
        !client.exists("dst").await.unwrap(),
        "an empty result deletes it"
    );

    // SINTERCARD counts, and with LIMIT stops early.
    client.sadd_many("low", 0..100).await.unwrap();
    client.sadd_many("high", 50..150).await.unwrap();
    assert_eq!(client.sintercard(["low", "high"]).await.unwrap(), 50);
    assert_eq!(client.sintercard(["s1", "s2", "s3"]).await.unwrap(), 1);
    assert_eq!(client.sintercard(["low", "missing"]).await.unwrap(), 0);
    assert_eq!(
        client.sintercard_limit(["low", "high"], 10).await.unwrap(),
        10
    );
    assert_eq!(
        client
            .sintercard_limit(["low", "high"], 1000)
            .await
            .unwrap(),
        50
    );
    assert_eq!(
        client.sintercard_limit(["low", "high"], 0).await.unwrap(),
        50,
        "0 is no limit"
    );
    match client.sintercard(Vec::<String>::new()).await {
        Err(Error::Server(e)) => {
            assert!(e.to_string().contains("wrong number of arguments"), "{e}")
        }
        other => panic!("expected the server to refuse no keys, got {other:?}"),
    }
}

#[tokio::test]
async fn pop_random_and_move_over_resp2() {
    let (_server, client) = connect("").await;
    pop_random_and_move(&client).await;
}

#[tokio::test]
async fn pop_random_and_move_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    client.sadd_many("s", ["x", "y"]).await.unwrap();
    let raw: redmux::Value = client.spop_count("s", 1).await.unwrap();
    assert!(
        matches!(raw, redmux::Value::Set(_)),
        "RESP3 answers SPOP with a count with a set: {raw:?}"
    );
    client.del("s").await.unwrap();
    pop_random_and_move(&client).await;
}

#[tokio::test]
async fn algebra_over_resp2() {
    let (_server, client) = connect("").await;
    algebra(&client).await;
}

#[tokio::test]
async fn algebra_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    client.sadd("probe", "x").await.unwrap();
    let raw: redmux::Value = client.sunion(["probe"]).await.unwrap();
    assert!(
        matches!(raw, redmux::Value::Set(_)),
        "RESP3 answers SUNION with a set: {raw:?}"
    );
    algebra(&client).await;
}

#[tokio::test]
async fn wrong_type() {
    let (_server, client) = connect("").await;
    client.set("plain", "v").await.unwrap();
    match client.sadd("plain", "x").await {
        Err(Error::Server(e)) => assert_eq!(e.code(), "WRONGTYPE"),
        other => panic!("expected WRONGTYPE, got {other:?}"),
    }
}
