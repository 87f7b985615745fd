//! Set commands against a real server, over RESP2 and RESP3: SADD, SREM, SMEMBERS,
//! SISMEMBER, SCARD.

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

#[tokio::test]
async fn wrong_type() {
    let (_server, client) = connect("").await;
    client.set("plain", "v").await.unwrap();
    match client.sadd("plain", "x").await {
        Err(Error::Server(e)) => assert_eq!(e.code(), "WRONGTYPE"),
        other => panic!("expected WRONGTYPE, got {other:?}"),
    }
}
