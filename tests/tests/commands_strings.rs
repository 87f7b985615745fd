//! String commands against a real server: GET, SET and its options, MGET, MSET,
//! INCR/DECR, APPEND, GETDEL, GETEX, STRLEN, GETRANGE, SETRANGE.

use std::time::{Duration, SystemTime};

use redmux::{Client, Error, Expiry, SetOptions};
use redmux_testkit::RedisServer;

async fn connect() -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&server.url()).await.unwrap();
    (server, client)
}

fn server_error<T: std::fmt::Debug>(result: redmux::Result<T>) -> String {
    match result {
        Err(Error::Server(e)) => e.to_string(),
        other => panic!("expected a server error, got {other:?}"),
    }
}

#[tokio::test]
async fn get_and_set() {
    let (_server, client) = connect().await;
    assert_eq!(client.get::<Option<String>>("k").await.unwrap(), None);
    client.set("k", "v").await.unwrap();
    assert_eq!(
        client.get::<Option<String>>("k").await.unwrap().as_deref(),
        Some("v")
    );
    // Binary-safe both ways, and numbers as arguments.
    client
        .set(b"bin\x00key", &b"\xff\x00\x01"[..])
        .await
        .unwrap();
    assert_eq!(
        client.get::<Vec<u8>>(b"bin\x00key").await.unwrap(),
        b"\xff\x00\x01"
    );
    client.set("n", 42).await.unwrap();
    assert_eq!(client.get::<i64>("n").await.unwrap(), 42);
}

#[tokio::test]
async fn set_with_conditions() {
    let (_server, client) = connect().await;
    // NX: only when missing.
    assert!(
        client
            .set_with("k", "first", SetOptions::new().nx())
            .await
            .unwrap()
    );
    assert!(
        !client
            .set_with("k", "second", SetOptions::new().nx())
            .await
            .unwrap()
    );
    assert_eq!(client.get::<String>("k").await.unwrap(), "first");
    // XX: only when present.
    assert!(
        !client
            .set_with("missing", "x", SetOptions::new().xx())
            .await
            .unwrap()
    );
    assert!(!client.exists("missing").await.unwrap());
    assert!(
        client
            .set_with("k", "third", SetOptions::new().xx())
            .await
            .unwrap()
    );
    // Sent and forgotten, with no type to name: the write happens.
    client
        .set_with("forgotten", "x", SetOptions::new().nx())
        .fire_and_forget()
        .unwrap();
    assert_eq!(client.get::<String>("forgotten").await.unwrap(), "x");
    // GET returns the old value, or nil.
    let old: Option<String> = client
        .set_with_get("k", "fourth", SetOptions::new())
        .await
        .unwrap();
    assert_eq!(old.as_deref(), Some("third"));
    let old: Option<String> = client
        .set_with_get("new", "v", SetOptions::new())
        .await
        .unwrap();
    assert_eq!(old, None);
    // NX with GET (allowed since 7.0): the old value, and no write.
    let old: Option<String> = client
        .set_with_get("k", "fifth", SetOptions::new().nx())
        .await
        .unwrap();
    assert_eq!(old.as_deref(), Some("fourth"));
    assert_eq!(client.get::<String>("k").await.unwrap(), "fourth");
    // GET on a key of another type is the server's WRONGTYPE.
    client.lpush("list", "a").await.unwrap();
    let e = server_error(
        client
            .set_with_get::<Option<String>>("list", "v", SetOptions::new())
            .await,
    );
    assert!(e.contains("WRONGTYPE"), "{e}");
}

#[tokio::test]
async fn set_with_expiry() {
    let (_server, client) = connect().await;
    client
        .set_with("ex", "v", SetOptions::new().ex(Duration::from_secs(100)))
        .await
        .unwrap();
    let ttl = client.ttl("ex").await.unwrap();
    assert!((99..=100).contains(&ttl), "{ttl}");

    client
        .set_with("px", "v", SetOptions::new().px(Duration::from_millis(1500)))
        .await
        .unwrap();
    let pttl = client.pttl("px").await.unwrap();
    assert!((1..=1500).contains(&pttl), "{pttl}");

    let in_an_hour = SystemTime::now() + Duration::from_secs(3600);
    client
        .set_with("exat", "v", SetOptions::new().exat(in_an_hour))
        .await
        .unwrap();
    let ttl = client.ttl("exat").await.unwrap();
    assert!((3598..=3600).contains(&ttl), "{ttl}");
    client
        .set_with("pxat", "v", SetOptions::new().pxat(in_an_hour))
        .await
        .unwrap();
    let pttl = client.pttl("pxat").await.unwrap();
    assert!((3_598_000..=3_600_000).contains(&pttl), "{pttl}");

    // KEEPTTL keeps it; a plain SET clears it.
    client
        .set_with("ex", "w", SetOptions::new().keep_ttl())
        .await
        .unwrap();
    assert!(client.ttl("ex").await.unwrap() > 0);
    assert_eq!(client.get::<String>("ex").await.unwrap(), "w");
    client.set("ex", "x").await.unwrap();
    assert_eq!(client.ttl("ex").await.unwrap(), -1);

    // A time in the past expires the key at once.
    let past = SystemTime::now() - Duration::from_secs(60);
    client
        .set_with("gone", "v", SetOptions::new().pxat(past))
        .await
        .unwrap();
    assert!(!client.exists("gone").await.unwrap());

    // Under a second goes as PX, not as EX 0 (which the server refuses).
    client
        .set_with("k", "v", SetOptions::new().ex(Duration::from_millis(500)))
        .await
        .unwrap();
    let pttl = client.pttl("k").await.unwrap();
    assert!((1..=500).contains(&pttl), "{pttl}");

    // Everything at once: NX GET PX.
    let old: Option<String> = client
        .set_with_get(
            "lock",
            "me",
            SetOptions::new().nx().px(Duration::from_secs(10)),
        )
        .await
        .unwrap();
    assert_eq!(old, None);
    assert!(client.pttl("lock").await.unwrap() > 9000);
}

#[tokio::test]
async fn mget_and_mset() {
    let (_server, client) = connect().await;
    client.mset([("a", "1"), ("b", "2")]).await.unwrap();
    client.rpush("list", "x").await.unwrap();
    let values: Vec<Option<String>> = client.mget(["a", "missing", "b", "list"]).await.unwrap();
    assert_eq!(values, [Some("1".into()), None, Some("2".into()), None]);
    let numbers: Vec<Option<i64>> = client
        .mget(vec!["b".to_string(), "a".to_string()])
        .await
        .unwrap();
    assert_eq!(numbers, [Some(2), Some(1)]);

    assert!(client.msetnx([("c", "3"), ("d", "4")]).await.unwrap());
    assert!(!client.msetnx([("d", "x"), ("e", "5")]).await.unwrap());
    assert!(
        !client.exists("e").await.unwrap(),
        "MSETNX sets all or none"
    );
    assert_eq!(client.get::<String>("d").await.unwrap(), "4");

    // Pairs built at run time, values of other types.
    let pairs: Vec<(String, i64)> = (0..5).map(|i| (format!("n{i}"), i * 10)).collect();
    client.mset(pairs).await.unwrap();
    assert_eq!(client.get::<i64>("n4").await.unwrap(), 40);

    let e = server_error(client.mget::<String>(Vec::<&str>::new()).await);
    assert!(e.contains("wrong number of arguments"), "{e}");
}

#[tokio::test]
async fn counters() {
    let (_server, client) = connect().await;
    assert_eq!(client.incr("c").await.unwrap(), 1);
    assert_eq!(client.incrby("c", 10).await.unwrap(), 11);
    assert_eq!(client.incrby("c", -20).await.unwrap(), -9);
    assert_eq!(client.decr("c").await.unwrap(), -10);
    assert_eq!(client.decrby("c", 5).await.unwrap(), -15);
    assert_eq!(client.incrbyfloat("f", 2.5).await.unwrap(), 2.5);
    assert_eq!(client.incrbyfloat("f", -0.25).await.unwrap(), 2.25);
    assert_eq!(client.get::<f64>("f").await.unwrap(), 2.25);

    client.set("text", "abc").await.unwrap();
    let e = server_error(client.incr("text").await);
    assert!(e.contains("not an integer"), "{e}");
    client.set("max", i64::MAX).await.unwrap();
    let e = server_error(client.incr("max").await);
    assert!(e.contains("overflow"), "{e}");
}

#[tokio::test]
async fn append_strlen_and_ranges() {
    let (_server, client) = connect().await;
    assert_eq!(client.strlen("s").await.unwrap(), 0);
    assert_eq!(client.append("s", "Hello").await.unwrap(), 5);
    assert_eq!(client.append("s", " World").await.unwrap(), 11);
    assert_eq!(client.strlen("s").await.unwrap(), 11);
    assert_eq!(client.getrange::<String>("s", 0, 4).await.unwrap(), "Hello");
    assert_eq!(
        client.getrange::<String>("s", -5, -1).await.unwrap(),
        "World"
    );
    assert_eq!(client.getrange::<String>("s", 100, 200).await.unwrap(), "");
    assert_eq!(
        client.getrange::<String>("missing", 0, -1).await.unwrap(),
        ""
    );

    assert_eq!(client.setrange("s", 6, "Redis").await.unwrap(), 11);
    assert_eq!(client.get::<String>("s").await.unwrap(), "Hello Redis");
    // Past the end pads with zero bytes.
    assert_eq!(client.setrange("pad", 3, "x").await.unwrap(), 4);
    assert_eq!(client.get::<Vec<u8>>("pad").await.unwrap(), b"\0\0\0x");
}

#[tokio::test]
async fn getdel_and_getex() {
    let (_server, client) = connect().await;
    client.set("token", "t-1").await.unwrap();
    assert_eq!(
        client
            .getdel::<Option<String>>("token")
            .await
            .unwrap()
            .as_deref(),
        Some("t-1")
    );
    assert!(!client.exists("token").await.unwrap());
    assert_eq!(
        client.getdel::<Option<String>>("token").await.unwrap(),
        None
    );

    client.set("s", "v").await.unwrap();
    let v: Option<String> = client
        .getex("s", Expiry::Ex(Duration::from_secs(50)))
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("v"));
    assert!((49..=50).contains(&client.ttl("s").await.unwrap()));

    client
        .getex::<String>("s", Expiry::Px(Duration::from_millis(20_000)))
        .await
        .unwrap();
    assert!((19_000..=20_000).contains(&client.pttl("s").await.unwrap()));

    let at = SystemTime::now() + Duration::from_secs(1000);
    client.getex::<String>("s", Expiry::ExAt(at)).await.unwrap();
    assert!((998..=1000).contains(&client.ttl("s").await.unwrap()));
    client.getex::<String>("s", Expiry::PxAt(at)).await.unwrap();
    assert!((998_000..=1_000_000).contains(&client.pttl("s").await.unwrap()));

    let v: String = client.getex("s", Expiry::Persist).await.unwrap();
    assert_eq!(v, "v");
    assert_eq!(
        client.ttl("s").await.unwrap(),
        -1,
        "PERSIST removed the expiry"
    );

    assert_eq!(
        client
            .getex::<Option<String>>("missing", Expiry::Persist)
            .await
            .unwrap(),
        None
    );
}
