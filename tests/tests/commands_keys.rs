//! Key commands against a real server: DEL, UNLINK, EXISTS, the EXPIRE family, TTL,
//! PERSIST, TYPE, RENAME, and SCAN as a stream.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use redmux::{Client, Error, KeyType, ScanOptions, cmd};
use redmux_testkit::RedisServer;

async fn connect() -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&server.url()).await.unwrap();
    (server, client)
}

/// How many times the server has run a command, from `INFO commandstats`.
async fn calls(client: &Client, command: &str) -> u64 {
    let stats = client.info_section("commandstats").await.unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test]
async fn del_unlink_exists() {
    let (_server, client) = connect().await;
    client
        .mset([("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")])
        .await
        .unwrap();
    assert!(client.exists("a").await.unwrap());
    assert!(!client.exists("nope").await.unwrap());
    assert_eq!(client.exists_many(["a", "b", "nope"]).await.unwrap(), 2);
    assert_eq!(
        client.exists_many(["a", "a"]).await.unwrap(),
        2,
        "a key named twice counts twice"
    );

    assert!(client.del("a").await.unwrap());
    assert!(!client.del("a").await.unwrap());
    assert_eq!(client.del_many(["b", "nope", "c"]).await.unwrap(), 2);
    assert!(client.unlink("d").await.unwrap());
    assert!(!client.unlink("d").await.unwrap());
    client.mset([("e", "5"), ("f", "6")]).await.unwrap();
    assert_eq!(client.unlink_many(vec!["e", "f", "g"]).await.unwrap(), 2);
    assert_eq!(client.dbsize().await.unwrap(), 0);
}

#[tokio::test]
async fn expiry_and_ttl() {
    let (_server, client) = connect().await;
    assert_eq!(client.ttl("missing").await.unwrap(), -2);
    assert_eq!(client.pttl("missing").await.unwrap(), -2);
    assert!(
        !client
            .expire("missing", Duration::from_secs(10))
            .await
            .unwrap()
    );

    client.set("k", "v").await.unwrap();
    assert_eq!(client.ttl("k").await.unwrap(), -1);
    assert_eq!(client.pttl("k").await.unwrap(), -1);
    assert!(!client.persist("k").await.unwrap(), "nothing to remove");

    assert!(client.expire("k", Duration::from_secs(100)).await.unwrap());
    assert!((99..=100).contains(&client.ttl("k").await.unwrap()));
    assert!(
        client
            .pexpire("k", Duration::from_millis(2500))
            .await
            .unwrap()
    );
    let pttl = client.pttl("k").await.unwrap();
    assert!((1..=2500).contains(&pttl), "{pttl}");

    let at = SystemTime::now() + Duration::from_secs(500);
    assert!(client.expireat("k", at).await.unwrap());
    assert!((498..=500).contains(&client.ttl("k").await.unwrap()));
    assert!(client.pexpireat("k", at).await.unwrap());
    assert!((498_000..=500_000).contains(&client.pttl("k").await.unwrap()));

    assert!(client.persist("k").await.unwrap());
    assert_eq!(client.ttl("k").await.unwrap(), -1);

    // A time in the past deletes the key.
    assert!(
        client
            .expireat("k", SystemTime::now() - Duration::from_secs(5))
            .await
            .unwrap()
    );
    assert!(!client.exists("k").await.unwrap());

    // PEXPIRE really expires.
    client.set("short", "v").await.unwrap();
    client
        .pexpire("short", Duration::from_millis(30))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(client.get::<Option<String>>("short").await.unwrap(), None);
}

#[tokio::test]
async fn key_types() {
    let (_server, client) = connect().await;
    client.set("s", "v").await.unwrap();
    client.rpush("l", "v").await.unwrap();
    client.sadd("set", "v").await.unwrap();
    client.zadd("z", 1.0, "v").await.unwrap();
    client.hset("h", "f", "v").await.unwrap();
    client
        .command::<String>(cmd("XADD").arg("x").arg("*").arg("f").arg("v"))
        .await
        .unwrap();
    let expected = [
        ("s", KeyType::String),
        ("l", KeyType::List),
        ("set", KeyType::Set),
        ("z", KeyType::ZSet),
        ("h", KeyType::Hash),
        ("x", KeyType::Stream),
        ("missing", KeyType::Missing),
    ];
    for (key, ty) in expected {
        assert_eq!(client.key_type(key).await.unwrap(), ty, "{key}");
    }
}

#[tokio::test]
async fn rename() {
    let (_server, client) = connect().await;
    client.set("a", "1").await.unwrap();
    client.set("b", "2").await.unwrap();
    client.rename("a", "c").await.unwrap();
    assert_eq!(client.get::<Option<String>>("a").await.unwrap(), None);
    assert_eq!(client.get::<String>("c").await.unwrap(), "1");
    // RENAME overwrites; RENAMENX does not.
    assert!(!client.renamenx("c", "b").await.unwrap());
    assert_eq!(client.get::<String>("b").await.unwrap(), "2");
    client.rename("c", "b").await.unwrap();
    assert_eq!(client.get::<String>("b").await.unwrap(), "1");
    assert!(client.renamenx("b", "d").await.unwrap());

    match client.rename("missing", "x").await {
        Err(Error::Server(e)) => assert!(e.to_string().contains("no such key"), "{e}"),
        other => panic!("expected ERR no such key, got {other:?}"),
    }
}

#[tokio::test]
async fn scan_yields_every_matching_key_once() {
    let (_server, client) = connect().await;
    let users: Vec<(String, String)> = (0..300)
        .map(|i| (format!("user:{i}"), i.to_string()))
        .collect();
    let others: Vec<(String, String)> = (0..700)
        .map(|i| (format!("other:{i}"), i.to_string()))
        .collect();
    client
        .mset(users.iter().map(|(k, v)| (k, v)))
        .await
        .unwrap();
    client
        .mset(others.iter().map(|(k, v)| (k, v)))
        .await
        .unwrap();
    assert_eq!(client.dbsize().await.unwrap(), 1000);

    let mut seen = Vec::new();
    let mut keys = client.scan::<String>(ScanOptions::new().pattern("user:*").count(100));
    while let Some(key) = keys.next().await {
        seen.push(key.unwrap());
    }
    assert!(keys.next().await.is_none(), "the stream stays ended");
    let unique: HashSet<String> = seen.iter().cloned().collect();
    let expected: HashSet<String> = users.into_iter().map(|(k, _)| k).collect();
    // SCAN may repeat a key if the table is resized mid-iteration; nothing writes here.
    assert_eq!(seen.len(), unique.len(), "no key repeated");
    assert_eq!(unique, expected);

    // No filters at all: every key, as bytes this time.
    let all: Vec<Vec<u8>> = client
        .scan::<Vec<u8>>(ScanOptions::new())
        .map(|k| k.unwrap())
        .collect()
        .await;
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 1000);
}

#[tokio::test]
async fn scan_filters_by_type() {
    let (_server, client) = connect().await;
    for i in 0..50 {
        client.hset(format!("h:{i}"), "f", "v").await.unwrap();
        client.set(format!("s:{i}"), "v").await.unwrap();
        client.sadd(format!("set:{i}"), "v").await.unwrap();
    }
    let hashes: HashSet<String> = client
        .scan::<String>(ScanOptions::new().type_(KeyType::Hash).count(1000))
        .map(|k| k.unwrap())
        .collect()
        .await;
    assert_eq!(hashes, (0..50).map(|i| format!("h:{i}")).collect());
    let strings: Vec<String> = client
        .scan::<String>(ScanOptions::new().type_("string").pattern("s:1*"))
        .map(|k| k.unwrap())
        .collect()
        .await;
    // s:1 and s:10 ... s:19
    assert_eq!(strings.len(), 11, "{strings:?}");
    assert!(strings.iter().all(|k| k.starts_with("s:1")));
}

#[tokio::test]
async fn scan_of_an_empty_database_ends_at_once() {
    let (_server, client) = connect().await;
    let mut keys = client.scan::<String>(ScanOptions::new());
    assert!(keys.next().await.is_none());
    assert_eq!(calls(&client, "scan").await, 1);
}

#[tokio::test]
async fn scan_fetches_pages_only_as_the_consumer_pulls() {
    let (_server, client) = connect().await;
    let pairs: Vec<(String, i32)> = (0..500).map(|i| (format!("k{i}"), i)).collect();
    client.mset(pairs).await.unwrap();

    let keys = client.scan::<String>(ScanOptions::new().count(100));
    assert_eq!(
        calls(&client, "scan").await,
        0,
        "nothing is sent before the first poll"
    );
    let first: Vec<String> = keys.take(5).map(|k| k.unwrap()).collect().await;
    assert_eq!(first.len(), 5);
    assert_eq!(
        calls(&client, "scan").await,
        1,
        "one page was enough for five keys"
    );

    // The stream owns its client clone: it can move to another task. Pages of about
    // 50 slots over a table of 512 take several calls.
    let keys = client.scan::<String>(ScanOptions::new().count(50));
    let count = tokio::spawn(keys.count()).await.unwrap();
    assert_eq!(count, 500);
    let pages = calls(&client, "scan").await - 1;
    assert!(pages > 5, "{pages} pages");
}

#[tokio::test]
async fn scan_yields_a_failed_page_then_ends() {
    let (_server, client) = connect().await;
    client.set("k", "v").await.unwrap();
    client
        .command::<()>(cmd("ACL").arg("SETUSER").arg("default").arg("-scan"))
        .await
        .unwrap();
    let mut keys = client.scan::<String>(ScanOptions::new());
    match keys.next().await {
        Some(Err(Error::Server(e))) => assert_eq!(e.code(), "NOPERM", "{e}"),
        other => panic!("expected NOPERM, got {other:?}"),
    }
    assert!(keys.next().await.is_none());
}
