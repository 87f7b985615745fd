//! HSCAN, SSCAN and ZSCAN as streams against a real server, over RESP2 and RESP3:
//! every field or member exactly once, small (listpack, intset) and large
//! (hashtable, skiplist) encodings, MATCH, missing keys and wrong types. SCAN itself
//! is tested in `commands_keys.rs`.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use redmux::{Client, Error, KeyType, ScanOptions, Value, cmd};
use redmux_testkit::RedisServer;

async fn connect(options: &str) -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&format!("{}{options}", server.url()))
        .await
        .unwrap();
    (server, client)
}

/// How many times the server has run a command, from INFO commandstats.
async fn calls(client: &Client, command: &str) -> u64 {
    let info = client.info_parsed_many(["commandstats"]).await.unwrap();
    info.get("commandstats", &format!("cmdstat_{command}"))
        .and_then(|s| s.strip_prefix("calls="))
        .and_then(|s| s.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

async fn encoding(client: &Client, key: &str) -> String {
    client
        .command(cmd("OBJECT").arg("ENCODING").arg(key))
        .await
        .unwrap()
}

async fn hscan(client: &Client) {
    let fields: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("field:{i}"), format!("value:{i}")))
        .collect();
    client
        .hset_many("big", fields.iter().map(|(f, v)| (f, v)))
        .await
        .unwrap();
    assert_eq!(encoding(client, "big").await, "hashtable");
    let before = calls(client, "hscan").await;
    let seen: Vec<(String, String)> = client
        .hscan("big", ScanOptions::new().count(100))
        .try_collect()
        .await
        .unwrap();
    let pages = calls(client, "hscan").await - before;
    assert!(pages > 5, "{pages} pages");
    assert_eq!(seen.len(), 1000, "each field exactly once");
    let seen: HashMap<String, String> = seen.into_iter().collect();
    assert_eq!(seen, fields.into_iter().collect::<HashMap<_, _>>());

    // MATCH filters on the field name; values come along.
    let tens: HashMap<String, String> = client
        .hscan("big", ScanOptions::new().pattern("field:1?").count(1000))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tens.len(), 10);
    assert_eq!(tens["field:17"], "value:17");

    // A small hash is one page whatever COUNT says; values convert as asked.
    client
        .hset_many("small", [("a", 1), ("b", 2), ("c", 3)])
        .await
        .unwrap();
    assert_eq!(encoding(client, "small").await, "listpack");
    let before = calls(client, "hscan").await;
    let mut small: Vec<(Vec<u8>, i64)> = client
        .hscan("small", ScanOptions::new().count(1))
        .try_collect()
        .await
        .unwrap();
    small.sort();
    assert_eq!(
        small,
        [(b"a".to_vec(), 1), (b"b".to_vec(), 2), (b"c".to_vec(), 3)]
    );
    assert_eq!(calls(client, "hscan").await - before, 1);
}

async fn sscan(client: &Client) {
    let members: HashSet<String> = (0..1000).map(|i| format!("m:{i}")).collect();
    client.sadd_many("big", &members).await.unwrap();
    assert_eq!(encoding(client, "big").await, "hashtable");
    let seen: Vec<String> = client
        .sscan("big", ScanOptions::new().count(50))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(seen.len(), 1000, "each member exactly once");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), members);

    client.sadd_many("ints", 0..100).await.unwrap();
    assert_eq!(encoding(client, "ints").await, "intset");
    let mut ints: Vec<u16> = client
        .sscan::<u16>("ints", ScanOptions::new())
        .try_collect()
        .await
        .unwrap();
    ints.sort_unstable();
    assert_eq!(ints, (0..100).collect::<Vec<u16>>());
    let nines: HashSet<String> = client
        .sscan::<String>("ints", ScanOptions::new().pattern("*9"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(nines.len(), 10);
}

async fn zscan(client: &Client) {
    let members: Vec<(f64, String)> = (0..1000)
        .map(|i| (f64::from(i) * 0.5 - 100.0, format!("p:{i}")))
        .collect();
    client
        .zadd_many("big", members.iter().map(|(s, m)| (*s, m)))
        .await
        .unwrap();
    assert_eq!(encoding(client, "big").await, "skiplist");
    let seen: Vec<(String, f64)> = client
        .zscan("big", ScanOptions::new().count(100))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(seen.len(), 1000, "each member exactly once");
    let seen: HashMap<String, f64> = seen.into_iter().collect();
    for (score, member) in &members {
        assert_eq!(seen[member], *score, "{member}");
    }

    client
        .zadd_many(
            "small",
            [
                (f64::INFINITY, "top"),
                (f64::NEG_INFINITY, "bottom"),
                (1.5, "mid"),
            ],
        )
        .await
        .unwrap();
    let mut small: Vec<(String, f64)> = client
        .zscan("small", ScanOptions::new())
        .try_collect()
        .await
        .unwrap();
    small.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(
        small,
        [
            ("bottom".into(), f64::NEG_INFINITY),
            ("mid".into(), 1.5),
            ("top".into(), f64::INFINITY)
        ]
    );
    let matched: Vec<(String, f64)> = client
        .zscan("small", ScanOptions::new().pattern("t*"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(matched, [("top".into(), f64::INFINITY)]);
}

async fn edges(client: &Client) {
    // A missing key is an empty stream after one call.
    let before = calls(client, "zscan").await;
    let none: Vec<(String, f64)> = client
        .zscan("missing", ScanOptions::new())
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(calls(client, "zscan").await - before, 1);
    assert_eq!(
        client
            .hscan::<String, String>("missing", ScanOptions::new())
            .count()
            .await,
        0
    );

    // A wrong type, or TYPE outside SCAN: one error, then the stream ends.
    client.set("string", "v").await.unwrap();
    let mut wrong = client.sscan::<String>("string", ScanOptions::new());
    match wrong.next().await {
        Some(Err(Error::Server(e))) => assert!(e.to_string().starts_with("WRONGTYPE"), "{e}"),
        other => panic!("expected WRONGTYPE, got {other:?}"),
    }
    assert!(wrong.next().await.is_none());
    client.hset("h", "f", "v").await.unwrap();
    let mut typed = client.hscan::<String, String>("h", ScanOptions::new().type_(KeyType::Hash));
    assert!(matches!(typed.next().await, Some(Err(Error::Server(_)))));
    assert!(typed.next().await.is_none());

    let stream = client.zscan::<String>("z", ScanOptions::new().count(5));
    let debug = format!("{stream:?}");
    assert!(debug.contains("ZSCAN"), "{debug}");
}

#[tokio::test]
async fn hscan_over_resp2() {
    let (_server, client) = connect("").await;
    hscan(&client).await;
}

#[tokio::test]
async fn hscan_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    hscan(&client).await;
}

#[tokio::test]
async fn sscan_over_resp2() {
    let (_server, client) = connect("").await;
    sscan(&client).await;
}

#[tokio::test]
async fn sscan_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    sscan(&client).await;
}

#[tokio::test]
async fn zscan_over_resp2() {
    let (_server, client) = connect("").await;
    zscan(&client).await;
    edges(&client).await;
}

/// RESP3 leaves ZSCAN's reply as RESP2's: a flat array, scores as strings.
#[tokio::test]
async fn zscan_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    client.zadd("probe", 2.5, "m").await.unwrap();
    let raw: Value = client
        .command(cmd("ZSCAN").arg("probe").arg(0))
        .await
        .unwrap();
    let expected = Value::Array(vec![
        "0".into(),
        Value::Array(vec!["m".into(), "2.5".into()]),
    ]);
    assert_eq!(raw, expected);
    zscan(&client).await;
    edges(&client).await;
}
