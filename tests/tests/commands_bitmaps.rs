//! Bitmap commands against a real server: SETBIT, GETBIT, BITCOUNT and BITPOS with
//! byte and bit ranges, BITOP, BITFIELD with each overflow mode.

use redmux::{BitField, BitFieldType, BitOp, BitRange, Client, Error, Overflow};
use redmux_testkit::RedisServer;

async fn connect() -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&server.url()).await.unwrap();
    (server, client)
}

#[tokio::test]
async fn set_get_count_and_find_bits() {
    let (_server, client) = connect().await;
    assert!(!client.setbit("b", 7, true).await.unwrap(), "was 0");
    assert!(client.setbit("b", 7, true).await.unwrap(), "now 1");
    assert!(client.getbit("b", 7).await.unwrap());
    assert!(!client.getbit("b", 6).await.unwrap());
    assert!(!client.getbit("b", 10_000).await.unwrap(), "past the end");
    assert!(!client.getbit("missing", 0).await.unwrap());
    // Offset 0 is the most significant bit of the first byte.
    assert_eq!(client.get::<Vec<u8>>("b").await.unwrap(), [0x01]);

    // "\xff\xf0\x00": twelve ones, then zeros.
    client.set("s", &b"\xff\xf0\x00"[..]).await.unwrap();
    assert_eq!(client.bitcount("s").await.unwrap(), 12);
    assert_eq!(client.bitcount("missing").await.unwrap(), 0);
    assert_eq!(
        client
            .bitcount_range("s", BitRange::bytes(1, 1))
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        client
            .bitcount_range("s", BitRange::bytes(-2, -1))
            .await
            .unwrap(),
        4
    );
    // By bit (Redis 7.0): bits 5..=13 are 1,1,1,1,1,1,1,0,0 from the 6th on.
    assert_eq!(
        client
            .bitcount_range("s", BitRange::bits(5, 13))
            .await
            .unwrap(),
        7
    );
    assert_eq!(
        client
            .bitcount_range("s", BitRange::bits(-12, -1))
            .await
            .unwrap(),
        0,
        "the last twelve bits are zero"
    );

    assert_eq!(client.bitpos("s", false).await.unwrap(), 12);
    assert_eq!(client.bitpos("s", true).await.unwrap(), 0);
    assert_eq!(client.bitpos("b", true).await.unwrap(), 7);
    assert_eq!(client.bitpos("missing", true).await.unwrap(), -1);
    assert_eq!(client.bitpos("missing", false).await.unwrap(), 0);
    client.set("ones", &b"\xff"[..]).await.unwrap();
    assert_eq!(
        client.bitpos("ones", false).await.unwrap(),
        8,
        "the first bit past the end"
    );
    assert_eq!(
        client
            .bitpos_range("ones", false, BitRange::bytes(0, 0))
            .await
            .unwrap(),
        -1,
        "an explicit end looks no further"
    );
    assert_eq!(
        client
            .bitpos_range("s", true, BitRange::bytes(2, -1))
            .await
            .unwrap(),
        -1
    );
    assert_eq!(
        client
            .bitpos_range("s", true, BitRange::bits(3, 20))
            .await
            .unwrap(),
        3,
        "positions count from the start of the string"
    );
    assert_eq!(
        client
            .bitpos_range("s", false, BitRange::bits(3, 20))
            .await
            .unwrap(),
        12
    );
}

#[tokio::test]
async fn bitop() {
    let (_server, client) = connect().await;
    client.set("a", &b"\xf0\x0f"[..]).await.unwrap();
    client.set("b", &b"\xff"[..]).await.unwrap();
    let get = |key: &'static str| {
        let client = client.clone();
        async move { client.get::<Vec<u8>>(key).await.unwrap() }
    };
    assert_eq!(
        client.bitop(BitOp::And, "and", ["a", "b"]).await.unwrap(),
        2
    );
    assert_eq!(get("and").await, [0xf0, 0x00], "b padded with zeros");
    client.bitop(BitOp::Or, "or", ["a", "b"]).await.unwrap();
    assert_eq!(get("or").await, [0xff, 0x0f]);
    client.bitop(BitOp::Xor, "xor", ["a", "b"]).await.unwrap();
    assert_eq!(get("xor").await, [0x0f, 0x0f]);
    client.bitop(BitOp::Not, "not", ["a"]).await.unwrap();
    assert_eq!(get("not").await, [0x0f, 0xf0]);
    match client.bitop(BitOp::Not, "not", ["a", "b"]).await {
        Err(Error::Server(e)) => assert!(e.to_string().contains("single"), "{e}"),
        other => panic!("NOT takes one key: {other:?}"),
    }
}

#[tokio::test]
async fn bitfield() {
    let (_server, client) = connect().await;
    let u8_ = BitFieldType::unsigned(8);
    let i4 = BitFieldType::signed(4);

    // SET replies with the old value, INCRBY with the new, GET with the current.
    let replies = client
        .bitfield(
            "bf",
            BitField::new()
                .set(u8_, 0, 200)
                .get(u8_, 0)
                .incrby(u8_, 8, 5)
                .get(i4, 0),
        )
        .await
        .unwrap();
    assert_eq!(replies, [Some(0), Some(200), Some(5), Some(-4)]);
    assert_eq!(client.get::<Vec<u8>>("bf").await.unwrap(), [200, 5]);

    // Overflow: WRAP (the default), SAT, FAIL, each for the operations after it.
    let replies = client
        .bitfield(
            "bf",
            BitField::new()
                .incrby(u8_, 0, 100)
                .overflow(Overflow::Sat)
                .incrby(u8_, 8, 1000)
                .incrby(u8_, 8, -1000)
                .overflow(Overflow::Fail)
                .incrby(u8_, 0, 250)
                .set(i4, 16, 9)
                .overflow(Overflow::Wrap)
                .incrby(i4, 16, 9),
        )
        .await
        .unwrap();
    assert_eq!(
        replies,
        [Some(44), Some(255), Some(0), None, None, Some(-7)],
        "200+100 wraps to 44; SAT stops at 255 and 0; FAIL does nothing; 0+9 wraps to -7 in i4"
    );
    assert_eq!(client.get::<Vec<u8>>("bf").await.unwrap(), [44, 0, 0x90]);

    // Wide types, and the server's limits.
    let replies = client
        .bitfield(
            "wide",
            BitField::new()
                .set(BitFieldType::signed(64), 0, i64::MIN)
                .get(BitFieldType::signed(64), 0),
        )
        .await
        .unwrap();
    assert_eq!(replies, [Some(0), Some(i64::MIN)]);
    match client
        .bitfield("wide", BitField::new().get(BitFieldType::unsigned(64), 0))
        .await
    {
        Err(Error::Server(e)) => assert!(e.to_string().contains("type"), "{e}"),
        other => panic!("u64 is refused: {other:?}"),
    }
    assert!(
        client
            .bitfield("wide", BitField::new())
            .await
            .unwrap()
            .is_empty()
    );
}
