//! HyperLogLog commands against a real server: PFADD, PFCOUNT, PFMERGE.

use redmux::{Client, Error};
use redmux_testkit::RedisServer;

async fn connect() -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&server.url()).await.unwrap();
    (server, client)
}

#[tokio::test]
async fn add_count_and_merge() {
    let (_server, client) = connect().await;
    assert!(client.pfadd("hll", "a").await.unwrap(), "a new element");
    assert!(!client.pfadd("hll", "a").await.unwrap(), "seen before");
    assert!(client.pfadd_many("hll", ["b", "c", "d"]).await.unwrap());
    assert!(!client.pfadd_many("hll", ["a", "b"]).await.unwrap());
    assert_eq!(client.pfcount("hll").await.unwrap(), 4);
    assert_eq!(client.pfcount("missing").await.unwrap(), 0);

    // Small sets are counted exactly; a large one within the 0.81% standard error
    // (2% here, about 2.5 sigma).
    let many: Vec<String> = (0..10_000).map(|i| format!("user:{i}")).collect();
    assert!(client.pfadd_many("big", &many).await.unwrap());
    let estimate = client.pfcount("big").await.unwrap() as f64;
    assert!((estimate - 10_000.0).abs() < 200.0, "{estimate}");

    // The union counts shared elements once; PFCOUNT of several keys does the same
    // without storing it.
    client.pfadd_many("other", ["c", "d", "e"]).await.unwrap();
    assert_eq!(client.pfcount_many(["hll", "other"]).await.unwrap(), 5);
    client.pfmerge("union", ["hll", "other"]).await.unwrap();
    assert_eq!(client.pfcount("union").await.unwrap(), 5);
    client.pfmerge("union", ["missing"]).await.unwrap();
    assert_eq!(
        client.pfcount("union").await.unwrap(),
        5,
        "merging adds to it"
    );

    // PFADD with no elements creates an empty HyperLogLog once.
    assert!(client.pfadd_many("empty", [""; 0]).await.unwrap());
    assert!(!client.pfadd_many("empty", [""; 0]).await.unwrap());
    assert_eq!(client.pfcount("empty").await.unwrap(), 0);

    client.set("plain", "not a hll").await.unwrap();
    match client.pfcount("plain").await {
        Err(Error::Server(e)) => assert!(e.to_string().starts_with("WRONGTYPE"), "{e}"),
        other => panic!("expected WRONGTYPE, got {other:?}"),
    }
}
