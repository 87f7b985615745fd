//! List commands against a real server: LPUSH, RPUSH, LPOP, RPOP (with counts),
//! LRANGE, LINDEX, LLEN, LREM, LTRIM, LMOVE.

use redmux::{Client, Error, Side};
use redmux_testkit::RedisServer;

async fn connect(options: &str) -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&format!("{}{options}", server.url()))
        .await
        .unwrap();
    (server, client)
}

async fn all(client: &Client, key: &str) -> Vec<String> {
    client.lrange(key, 0, -1).await.unwrap()
}

#[tokio::test]
async fn push_and_range() {
    let (_server, client) = connect("").await;
    assert_eq!(client.rpush("l", "b").await.unwrap(), 1);
    assert_eq!(client.lpush("l", "a").await.unwrap(), 2);
    assert_eq!(client.rpush_many("l", ["c", "d"]).await.unwrap(), 4);
    // LPUSH of several pushes them one by one: the last ends up first.
    assert_eq!(client.lpush_many("l", ["y", "z"]).await.unwrap(), 6);
    assert_eq!(all(&client, "l").await, ["z", "y", "a", "b", "c", "d"]);
    assert_eq!(
        client.lrange::<String>("l", 1, 2).await.unwrap(),
        ["y", "a"]
    );
    assert_eq!(
        client.lrange::<String>("l", -2, -1).await.unwrap(),
        ["c", "d"]
    );
    assert!(
        client
            .lrange::<String>("l", 10, 20)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        client
            .lrange::<String>("missing", 0, -1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(client.llen("l").await.unwrap(), 6);
    assert_eq!(client.llen("missing").await.unwrap(), 0);
    assert_eq!(
        client
            .lindex::<Option<String>>("l", 0)
            .await
            .unwrap()
            .as_deref(),
        Some("z")
    );
    assert_eq!(
        client
            .lindex::<Option<String>>("l", -1)
            .await
            .unwrap()
            .as_deref(),
        Some("d")
    );
    assert_eq!(
        client.lindex::<Option<String>>("l", 99).await.unwrap(),
        None
    );

    // Numbers in, numbers out.
    client.rpush_many("n", 1..=3).await.unwrap();
    assert_eq!(client.lrange::<i64>("n", 0, -1).await.unwrap(), [1, 2, 3]);

    client.set("s", "v").await.unwrap();
    match client.lpush("s", "x").await {
        Err(Error::Server(e)) => assert_eq!(e.code(), "WRONGTYPE"),
        other => panic!("expected WRONGTYPE, got {other:?}"),
    }
}

/// Pops with and without a count, including on empty and missing lists, whose nil
/// is a null array in RESP2 and a null in RESP3.
async fn pops(client: &Client) {
    client
        .rpush_many("q", ["1", "2", "3", "4", "5", "6"])
        .await
        .unwrap();
    assert_eq!(
        client.lpop::<Option<String>>("q").await.unwrap().as_deref(),
        Some("1")
    );
    assert_eq!(
        client.rpop::<Option<String>>("q").await.unwrap().as_deref(),
        Some("6")
    );
    assert_eq!(
        client.lpop_count::<String>("q", 2).await.unwrap(),
        ["2", "3"]
    );
    assert_eq!(
        client.rpop_count::<String>("q", 10).await.unwrap(),
        ["5", "4"]
    );
    assert!(
        !client.exists("q").await.unwrap(),
        "popping the last element deletes the list"
    );
    assert_eq!(client.lpop::<Option<String>>("q").await.unwrap(), None);
    assert_eq!(client.rpop::<Option<String>>("q").await.unwrap(), None);
    assert!(
        client
            .lpop_count::<String>("q", 3)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        client
            .rpop_count::<String>("q", 3)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn pops_over_resp2() {
    let (_server, client) = connect("").await;
    pops(&client).await;
}

#[tokio::test]
async fn pops_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    pops(&client).await;
}

#[tokio::test]
async fn lpop_count_of_zero() {
    let (_server, client) = connect("").await;
    client.rpush("q", "a").await.unwrap();
    // Redis 7.0 answers LPOP key 0 with an empty array (6.2 answered nil); both read
    // as an empty vector.
    assert!(
        client
            .lpop_count::<String>("q", 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(client.llen("q").await.unwrap(), 1);
}

#[tokio::test]
async fn remove_and_trim() {
    let (_server, client) = connect("").await;
    client
        .rpush_many("l", ["a", "x", "b", "x", "c", "x"])
        .await
        .unwrap();
    assert_eq!(client.lrem("l", 1, "x").await.unwrap(), 1, "from the head");
    assert_eq!(all(&client, "l").await, ["a", "b", "x", "c", "x"]);
    assert_eq!(client.lrem("l", -1, "x").await.unwrap(), 1, "from the tail");
    assert_eq!(all(&client, "l").await, ["a", "b", "x", "c"]);
    assert_eq!(client.lrem("l", 0, "x").await.unwrap(), 1);
    assert_eq!(client.lrem("l", 0, "nothing").await.unwrap(), 0);
    assert_eq!(all(&client, "l").await, ["a", "b", "c"]);

    client.rpush_many("log", 0..10).await.unwrap();
    client.ltrim("log", -3, -1).await.unwrap();
    assert_eq!(client.lrange::<i64>("log", 0, -1).await.unwrap(), [7, 8, 9]);
    client.ltrim("log", 5, 10).await.unwrap();
    assert!(
        !client.exists("log").await.unwrap(),
        "an empty range deletes the list"
    );
}

#[tokio::test]
async fn lmove_between_ends() {
    let (_server, client) = connect("").await;
    client.rpush_many("src", ["1", "2", "3"]).await.unwrap();
    let moved: Option<String> = client
        .lmove("src", "dst", Side::Right, Side::Left)
        .await
        .unwrap();
    assert_eq!(moved.as_deref(), Some("3"));
    let moved: Option<String> = client
        .lmove("src", "dst", Side::Left, Side::Right)
        .await
        .unwrap();
    assert_eq!(moved.as_deref(), Some("1"));
    assert_eq!(all(&client, "src").await, ["2"]);
    assert_eq!(all(&client, "dst").await, ["3", "1"]);
    // Rotating a list onto itself.
    client
        .lmove::<String>("dst", "dst", Side::Left, Side::Right)
        .await
        .unwrap();
    assert_eq!(all(&client, "dst").await, ["1", "3"]);
    let none: Option<String> = client
        .lmove("empty", "dst", Side::Left, Side::Left)
        .await
        .unwrap();
    assert_eq!(none, None);
    assert_eq!(client.llen("dst").await.unwrap(), 2);
}
