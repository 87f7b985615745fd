//! Hash commands against a real server, over RESP2 and RESP3: HGET, HSET, HMGET,
//! HGETALL, HKEYS, HVALS, HDEL, HINCRBY, HINCRBYFLOAT, HEXISTS, HLEN.

use std::collections::{BTreeMap, HashMap};

use redmux::{Client, Error};
use redmux_testkit::RedisServer;

async fn connect(options: &str) -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&format!("{}{options}", server.url()))
        .await
        .unwrap();
    (server, client)
}

#[tokio::test]
async fn set_get_and_delete_fields() {
    let (_server, client) = connect("").await;
    assert!(
        client.hset("user", "name", "Ada").await.unwrap(),
        "a new field"
    );
    assert!(
        !client.hset("user", "name", "Ada L.").await.unwrap(),
        "an overwrite"
    );
    assert_eq!(
        client
            .hget::<Option<String>>("user", "name")
            .await
            .unwrap()
            .as_deref(),
        Some("Ada L.")
    );
    assert_eq!(
        client
            .hget::<Option<String>>("user", "missing")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        client
            .hget::<Option<String>>("nobody", "name")
            .await
            .unwrap(),
        None
    );

    let created = client
        .hset_many("user", [("name", "Ada"), ("lang", "en"), ("born", "1815")])
        .await
        .unwrap();
    assert_eq!(created, 2, "name existed");
    assert_eq!(client.hlen("user").await.unwrap(), 3);
    assert_eq!(client.hlen("nobody").await.unwrap(), 0);
    assert!(client.hexists("user", "lang").await.unwrap());
    assert!(!client.hexists("user", "email").await.unwrap());

    let values: Vec<Option<String>> = client
        .hmget("user", ["born", "email", "name"])
        .await
        .unwrap();
    assert_eq!(values, [Some("1815".into()), None, Some("Ada".into())]);
    let born: Vec<Option<u16>> = client.hmget("user", ["born"]).await.unwrap();
    assert_eq!(born, [Some(1815)]);

    let mut fields: Vec<String> = client.hkeys("user").await.unwrap();
    fields.sort();
    assert_eq!(fields, ["born", "lang", "name"]);
    let mut values: Vec<String> = client.hvals("user").await.unwrap();
    values.sort();
    assert_eq!(values, ["1815", "Ada", "en"]);

    assert!(client.hdel("user", "lang").await.unwrap());
    assert!(!client.hdel("user", "lang").await.unwrap());
    assert_eq!(
        client
            .hdel_many("user", ["born", "name", "nope"])
            .await
            .unwrap(),
        2
    );
    assert!(
        !client.exists("user").await.unwrap(),
        "the last field deleted the hash"
    );
}

#[tokio::test]
async fn increments() {
    let (_server, client) = connect("").await;
    assert_eq!(client.hincrby("page", "visits", 1).await.unwrap(), 1);
    assert_eq!(client.hincrby("page", "visits", 41).await.unwrap(), 42);
    assert_eq!(client.hincrby("page", "visits", -2).await.unwrap(), 40);
    assert_eq!(
        client.hincrbyfloat("page", "score", 1.5).await.unwrap(),
        1.5
    );
    assert_eq!(
        client.hincrbyfloat("page", "score", 0.25).await.unwrap(),
        1.75
    );
    client.hset("page", "title", "Home").await.unwrap();
    match client.hincrby("page", "title", 1).await {
        Err(Error::Server(e)) => assert!(e.message().contains("not an integer"), "{e}"),
        other => panic!("expected a server error, got {other:?}"),
    }
    client.set("plain", "v").await.unwrap();
    match client.hset("plain", "f", "v").await {
        Err(Error::Server(e)) => assert_eq!(e.code(), "WRONGTYPE"),
        other => panic!("expected WRONGTYPE, got {other:?}"),
    }
}

/// HGETALL into the shapes a caller may ask for, on either protocol.
async fn hgetall_shapes(client: &Client) {
    client
        .hset_many("h", [("a", "1"), ("b", "2"), ("c", "3")])
        .await
        .unwrap();
    let map: HashMap<String, String> = client.hgetall("h").await.unwrap();
    assert_eq!(map.len(), 3);
    assert_eq!(map["b"], "2");
    let numbers: BTreeMap<String, i64> = client.hgetall("h").await.unwrap();
    assert_eq!(
        numbers.into_iter().collect::<Vec<_>>(),
        [("a".into(), 1), ("b".into(), 2), ("c".into(), 3)]
    );
    let mut pairs: Vec<(String, String)> = client.hgetall("h").await.unwrap();
    pairs.sort();
    assert_eq!(pairs[0], ("a".to_string(), "1".to_string()));
    let empty: HashMap<String, String> = client.hgetall("missing").await.unwrap();
    assert!(empty.is_empty());
    let values: Vec<Option<String>> = client.hmget("h", ["c", "x"]).await.unwrap();
    assert_eq!(values, [Some("3".into()), None]);
    assert_eq!(client.hincrbyfloat("h", "f", 0.5).await.unwrap(), 0.5);
}

#[tokio::test]
async fn hgetall_over_resp2() {
    let (_server, client) = connect("").await;
    hgetall_shapes(&client).await;
}

#[tokio::test]
async fn hgetall_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    let raw: redmux::Value = client.hgetall("nothing").await.unwrap();
    assert!(
        matches!(raw, redmux::Value::Map(_)),
        "RESP3 answers HGETALL with a map: {raw:?}"
    );
    hgetall_shapes(&client).await;
}
