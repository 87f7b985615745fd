//! The router seam on a standalone server: where a command's keys are, and so which
//! hash slot it goes to, from the keys typed commands mark and from the server's own
//! key specifications for raw commands. A cluster picks its node by this slot.

use redmux::{Client, KeySlot, cmd, hash_slot};
use redmux_testkit::RedisServer;

fn one(key: &str) -> KeySlot {
    KeySlot::One(hash_slot(key.as_bytes()))
}

#[tokio::test]
async fn raw_commands_find_their_keys_from_the_servers_key_specs() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    let cases = [
        (cmd("GET").arg("foo"), one("foo")),
        (cmd("SET").arg("{u1}.a").arg("value"), one("u1")),
        (
            cmd("MSET").arg("{t}a").arg("1").arg("{t}b").arg("2"),
            one("t"),
        ),
        (
            cmd("MSET").arg("a").arg("1").arg("b").arg("2"),
            KeySlot::Cross,
        ),
        (cmd("OBJECT").arg("ENCODING").arg("k"), one("k")),
        (
            cmd("EVAL").arg("return 1").arg(1).arg("k").arg("not-a-key"),
            one("k"),
        ),
        (
            cmd("XREAD")
                .arg("COUNT")
                .arg(1)
                .arg("STREAMS")
                .arg("s")
                .arg("0"),
            one("s"),
        ),
        (
            cmd("ZUNIONSTORE")
                .arg("{z}d")
                .arg(2)
                .arg("{z}a")
                .arg("{z}b"),
            one("z"),
        ),
        (cmd("PING"), KeySlot::Keyless),
        (
            cmd("PUBLISH").arg("channel").arg("message"),
            KeySlot::Keyless,
        ),
        (cmd("NO-SUCH-COMMAND").arg("x"), KeySlot::Unknown),
    ];
    let mut wrong = Vec::new();
    for (command, want) in cases {
        let got = client.slot_of(&command).await;
        if got != want {
            wrong.push(format!("{}: {got:?}, want {want:?}", command.name()));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn marked_keys_decide_without_asking_the_server() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    // Marked keys win over the specifications: a key marked on a command the
    // server does not know still routes.
    let command = cmd("MYMODULE.GET").key("{m}k");
    assert_eq!(client.slot_of(&command).await, one("m"));
    assert_eq!(command.hash_slot(), Some(hash_slot(b"m")));
    assert_eq!(
        client.stats().commands_sent,
        0,
        "no COMMAND INFO was needed"
    );
    let cross = cmd("COPY").key("a").key("b");
    assert_eq!(client.slot_of(&cross).await, KeySlot::Cross);
}
