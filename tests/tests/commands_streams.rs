//! Stream commands against a real server, over RESP2 and RESP3: XADD and its options,
//! XRANGE, XREVRANGE, XLEN, XTRIM, XDEL; XGROUP, XREAD and XREADGROUP (without
//! BLOCK), XACK, XPENDING, XCLAIM, XAUTOCLAIM; XINFO STREAM, GROUPS and CONSUMERS.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use redmux::{
    Client, Error, StreamEntry, StreamTrim, Value, XAddOptions, XAutoClaim, XClaim,
    XGroupCreateOptions, XPendingOptions, XReadGroupOptions, cmd,
};
use redmux_testkit::RedisServer;

async fn connect(options: &str) -> (RedisServer, Client) {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&format!("{}{options}", server.url()))
        .await
        .unwrap();
    (server, client)
}

fn server_error<T: std::fmt::Debug>(result: redmux::Result<T>) -> String {
    match result {
        Err(Error::Server(e)) => e.to_string(),
        other => panic!("expected a server error, got {other:?}"),
    }
}

fn ids(entries: &[StreamEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

/// `s`: entries 1-1 .. 1-5, each with `n` = its sequence.
async fn five(client: &Client) {
    for n in 1..=5 {
        let id = client
            .xadd_with("s", [("n", n)], XAddOptions::new().id(format!("1-{n}")))
            .await
            .unwrap();
        assert_eq!(id.as_deref(), Some(format!("1-{n}").as_str()));
    }
}

async fn add_and_read(client: &Client) {
    let id = client
        .xadd("orders", [("sku", "A-17"), ("qty", "2")])
        .await
        .unwrap();
    let (ms, seq) = id.split_once('-').expect("an ID is <ms>-<seq>");
    assert!(
        ms.parse::<u64>().is_ok() && seq.parse::<u64>().is_ok(),
        "{id}"
    );

    // Fields keep their order, repeats and bytes.
    let binary = Bytes::from_static(b"\x00\xff");
    let second = client
        .xadd(
            "orders",
            [
                (Bytes::from("sku"), Bytes::from("B-2")),
                (Bytes::from("blob"), binary.clone()),
                (Bytes::from("sku"), Bytes::from("dup")),
            ],
        )
        .await
        .unwrap();
    let all = client.xrange("orders", "-", "+").await.unwrap();
    assert_eq!(ids(&all), [id.as_str(), second.as_str()]);
    assert_eq!(
        all[0].fields,
        [
            (Bytes::from("sku"), Bytes::from("A-17")),
            (Bytes::from("qty"), Bytes::from("2"))
        ]
    );
    assert_eq!(all[0].get::<u32>("qty").unwrap(), 2);
    assert_eq!(all[0].get::<Option<String>>("note").unwrap(), None);
    assert!(matches!(
        all[0].get::<String>("note"),
        Err(Error::Conversion { .. })
    ));
    let map: HashMap<String, String> = all[0].fields_as().unwrap();
    assert_eq!(map["sku"], "A-17");
    assert_eq!(all[1].fields.len(), 3);
    assert_eq!(
        all[1].get::<String>("sku").unwrap(),
        "B-2",
        "the first wins"
    );
    assert_eq!(all[1].field("blob"), Some(&binary));

    // An explicit ID must grow; `<ms>-*` lets the server pick the sequence.
    let e = server_error(
        client
            .xadd_with("orders", [("a", "1")], XAddOptions::new().id("1-1"))
            .await,
    );
    assert!(e.contains("equal or smaller"), "{e}");
    // Past the newest entry: the second XADD may have landed a millisecond later.
    let newest_ms = all
        .iter()
        .filter_map(|e| e.id.split_once('-')?.0.parse::<u64>().ok())
        .max()
        .unwrap();
    assert!(newest_ms >= ms.parse::<u64>().unwrap());
    let next_ms = newest_ms + 1;
    let picked = client
        .xadd_with(
            "orders",
            [("a", "1")],
            XAddOptions::new().id(format!("{next_ms}-*")),
        )
        .await
        .unwrap();
    assert_eq!(picked, Some(format!("{next_ms}-0")));

    // NOMKSTREAM: nothing added to a missing stream, and nil says so.
    let none = client
        .xadd_with("nowhere", [("a", "1")], XAddOptions::new().nomkstream())
        .await
        .unwrap();
    assert_eq!(none, None);
    assert!(!client.exists("nowhere").await.unwrap());
    let some = client
        .xadd_with("orders", [("a", "2")], XAddOptions::new().nomkstream())
        .await
        .unwrap();
    assert!(some.is_some());
    assert_eq!(client.xlen("orders").await.unwrap(), 4);
    assert_eq!(client.xlen("nowhere").await.unwrap(), 0);
}

async fn ranges(client: &Client) {
    five(client).await;
    let all = client.xrange("s", "-", "+").await.unwrap();
    assert_eq!(ids(&all), ["1-1", "1-2", "1-3", "1-4", "1-5"]);
    assert_eq!(
        ids(&client.xrange("s", "1-2", "1-3").await.unwrap()),
        ["1-2", "1-3"]
    );
    assert_eq!(
        ids(&client.xrange("s", "(1-2", "+").await.unwrap()),
        ["1-3", "1-4", "1-5"],
        "an exclusive start"
    );
    assert_eq!(
        ids(&client.xrange_count("s", "-", "+", 2).await.unwrap()),
        ["1-1", "1-2"]
    );
    assert_eq!(
        ids(&client.xrevrange("s", "+", "1-4").await.unwrap()),
        ["1-5", "1-4"]
    );
    assert_eq!(
        ids(&client.xrevrange_count("s", "+", "-", 1).await.unwrap()),
        ["1-5"]
    );
    assert_eq!(all[2].get::<i64>("n").unwrap(), 3);
    assert!(client.xrange("missing", "-", "+").await.unwrap().is_empty());
    assert!(
        client
            .xrevrange("missing", "+", "-")
            .await
            .unwrap()
            .is_empty()
    );
    let e = server_error(client.xrange("s", "x", "+").await);
    assert!(e.contains("Invalid stream ID"), "{e}");
}

#[tokio::test]
async fn add_and_read_over_resp2() {
    let (_server, client) = connect("").await;
    add_and_read(&client).await;
    ranges(&client).await;
}

#[tokio::test]
async fn add_and_read_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    add_and_read(&client).await;
    ranges(&client).await;
}

#[tokio::test]
async fn trim_and_delete() {
    let (_server, client) = connect("").await;
    five(&client).await;
    assert!(client.xdel("s", "1-1").await.unwrap());
    assert!(!client.xdel("s", "1-1").await.unwrap());
    assert_eq!(client.xdel_many("s", ["1-2", "1-9"]).await.unwrap(), 1);
    assert_eq!(client.xlen("s").await.unwrap(), 3);

    // MINID removes IDs below the threshold; MAXLEN keeps the newest.
    assert_eq!(
        client.xtrim("s", StreamTrim::minid("1-4")).await.unwrap(),
        1
    );
    assert_eq!(
        client
            .xtrim("s", StreamTrim::maxlen(1).exact())
            .await
            .unwrap(),
        1
    );
    assert_eq!(ids(&client.xrange("s", "-", "+").await.unwrap()), ["1-5"]);

    // `~` only removes whole radix-tree nodes (100 entries each by default), so a
    // small stream is left alone; LIMIT caps what one call removes.
    for n in 0..250 {
        client.xadd("big", [("n", n)]).await.unwrap();
    }
    assert_eq!(
        client
            .xtrim("big", StreamTrim::maxlen(240).approx())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        client
            .xtrim("big", StreamTrim::maxlen(10).approx().limit(100))
            .await
            .unwrap(),
        100
    );
    assert_eq!(
        client
            .xtrim("big", StreamTrim::maxlen(10).approx())
            .await
            .unwrap(),
        100
    );
    assert_eq!(client.xlen("big").await.unwrap(), 50);
    let e = server_error(client.xtrim("big", StreamTrim::maxlen(1).limit(5)).await);
    assert!(e.contains("LIMIT"), "{e}");

    // XADD trims as it adds.
    let trim = StreamTrim::maxlen(3);
    for n in 0..5 {
        client
            .xadd_with("capped", [("n", n)], XAddOptions::new().trim(trim.clone()))
            .await
            .unwrap();
    }
    let kept = client.xrange("capped", "-", "+").await.unwrap();
    let ns: Vec<i64> = kept.iter().map(|e| e.get("n").unwrap()).collect();
    assert_eq!(ns, [2, 3, 4]);
}

async fn groups(client: &Client) {
    // A group needs a stream, unless MKSTREAM makes one; names are unique.
    let e = server_error(client.xgroup_create("jobs", "g", "$").await);
    assert!(e.contains("MKSTREAM"), "{e}");
    client
        .xgroup_create_with("jobs", "g", "$", XGroupCreateOptions::new().mkstream())
        .await
        .unwrap();
    let e = server_error(client.xgroup_create("jobs", "g", "0").await);
    assert!(e.starts_with("BUSYGROUP"), "{e}");
    let summary = client.xpending("jobs", "g").await.unwrap();
    assert_eq!(
        (summary.count, summary.smallest, summary.consumers.len()),
        (0, None, 0)
    );

    for n in 1..=3 {
        client
            .xadd_with("jobs", [("n", n)], XAddOptions::new().id(format!("1-{n}")))
            .await
            .unwrap();
    }

    // New entries go to the reader and become pending for it.
    let reads = client
        .xreadgroup_with(
            "g",
            "c1",
            [("jobs", ">")],
            XReadGroupOptions::new().count(2),
        )
        .await
        .unwrap();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].key, "jobs");
    assert_eq!(ids(&reads[0].entries), ["1-1", "1-2"]);
    assert_eq!(reads[0].entries[1].get::<i64>("n").unwrap(), 2);
    let summary = client.xpending("jobs", "g").await.unwrap();
    assert_eq!(summary.count, 2);
    assert_eq!(summary.smallest.as_deref(), Some("1-1"));
    assert_eq!(summary.largest.as_deref(), Some("1-2"));
    assert_eq!(summary.consumers, [("c1".to_string(), 2)]);
    let pending = client
        .xpending_with("jobs", "g", XPendingOptions::new(10))
        .await
        .unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(
        (pending[0].id.as_str(), pending[0].consumer.as_str()),
        ("1-1", "c1")
    );
    assert_eq!(pending[0].deliveries, 1);
    assert!(pending[0].idle < Duration::from_secs(5));

    // Its own history: what it holds, delivered again.
    let history = client.xreadgroup("g", "c1", [("jobs", "0")]).await.unwrap();
    assert_eq!(ids(&history[0].entries), ["1-1", "1-2"]);
    let pending = client
        .xpending_with("jobs", "g", XPendingOptions::new(10).range("1-1", "1-1"))
        .await
        .unwrap();
    assert_eq!(pending[0].deliveries, 2);

    // XACK clears an entry once.
    assert!(client.xack("jobs", "g", "1-1").await.unwrap());
    assert!(!client.xack("jobs", "g", "1-1").await.unwrap());
    assert_eq!(client.xpending("jobs", "g").await.unwrap().count, 1);

    // XAUTOCLAIM moves what idled long enough to another consumer.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let too_soon = client
        .xautoclaim(
            "jobs",
            XAutoClaim::new("g", "c2", Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    assert!(too_soon.claimed.is_empty());
    assert_eq!(too_soon.next, "0-0");
    let moved = client
        .xautoclaim(
            "jobs",
            XAutoClaim::new("g", "c2", Duration::from_millis(20)).count(10),
        )
        .await
        .unwrap();
    assert_eq!(ids(&moved.claimed), ["1-2"]);
    assert_eq!(moved.next, "0-0");
    assert!(moved.deleted.is_empty());
    let pending = client
        .xpending_with("jobs", "g", XPendingOptions::new(10).consumer("c2"))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].deliveries, 3, "a claim counts as a delivery");
    assert!(
        client
            .xpending_with("jobs", "g", XPendingOptions::new(10).consumer("c1"))
            .await
            .unwrap()
            .is_empty()
    );
    // IDLE filters out what was just claimed.
    assert!(
        client
            .xpending_with(
                "jobs",
                "g",
                XPendingOptions::new(10).idle(Duration::from_secs(3600))
            )
            .await
            .unwrap()
            .is_empty()
    );

    // XCLAIM takes it back, respecting the minimum idle time; JUSTID counts no
    // delivery and RETRYCOUNT sets the count.
    let none = client
        .xclaim(
            "jobs",
            XClaim::new("g", "c1", Duration::from_secs(3600), ["1-2"]),
        )
        .await
        .unwrap();
    assert!(none.is_empty());
    let back = client
        .xclaim("jobs", XClaim::new("g", "c1", Duration::ZERO, ["1-2"]))
        .await
        .unwrap();
    assert_eq!(ids(&back), ["1-2"]);
    assert_eq!(back[0].get::<i64>("n").unwrap(), 2);
    let just = client
        .xclaim_justid(
            "jobs",
            XClaim::new("g", "c2", Duration::ZERO, ["1-2"]).retrycount(7),
        )
        .await
        .unwrap();
    assert_eq!(just, ["1-2"]);
    let pending = client
        .xpending_with("jobs", "g", XPendingOptions::new(10))
        .await
        .unwrap();
    assert_eq!(
        (pending[0].consumer.as_str(), pending[0].deliveries),
        ("c2", 7)
    );
    // FORCE claims an entry never delivered (1-3); IDLE sets its idle time.
    let forced = client
        .xclaim(
            "jobs",
            XClaim::new("g", "c3", Duration::ZERO, ["1-3"])
                .force()
                .idle(Duration::from_secs(7200)),
        )
        .await
        .unwrap();
    assert_eq!(ids(&forced), ["1-3"]);
    let old = client
        .xpending_with(
            "jobs",
            "g",
            XPendingOptions::new(10).idle(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].consumer, "c3");

    // An entry deleted while pending: XREADGROUP history shows it without fields,
    // and XAUTOCLAIM reports it deleted and drops it from the pending list.
    client.xdel("jobs", "1-3").await.unwrap();
    let history = client.xreadgroup("g", "c3", [("jobs", "0")]).await.unwrap();
    assert_eq!(ids(&history[0].entries), ["1-3"]);
    assert!(history[0].entries[0].fields.is_empty());
    let page = client
        .xautoclaim_justid("jobs", XAutoClaim::new("g", "c1", Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(page.claimed, ["1-2"]);
    assert_eq!(page.deleted, ["1-3"]);
    assert_eq!(client.xpending("jobs", "g").await.unwrap().count, 1);

    // Nothing new: an empty Vec, not an error. NOACK reads without pending.
    assert!(
        client
            .xreadgroup("g", "c1", [("jobs", ">")])
            .await
            .unwrap()
            .is_empty()
    );
    client
        .xadd_with("jobs", [("n", 4)], XAddOptions::new().id("1-4"))
        .await
        .unwrap();
    let reads = client
        .xreadgroup_with("g", "c4", [("jobs", ">")], XReadGroupOptions::new().noack())
        .await
        .unwrap();
    assert_eq!(ids(&reads[0].entries), ["1-4"]);
    assert_eq!(client.xpending("jobs", "g").await.unwrap().count, 1);
    let e = server_error(client.xreadgroup("nogroup", "c", [("jobs", ">")]).await);
    assert!(e.starts_with("NOGROUP"), "{e}");

    // Consumers and groups come and go.
    assert!(
        client
            .xgroup_createconsumer("jobs", "g", "c9")
            .await
            .unwrap()
    );
    assert!(
        !client
            .xgroup_createconsumer("jobs", "g", "c9")
            .await
            .unwrap()
    );
    assert_eq!(
        client.xgroup_delconsumer("jobs", "g", "c9").await.unwrap(),
        0
    );
    assert_eq!(
        client.xgroup_delconsumer("jobs", "g", "c1").await.unwrap(),
        1,
        "c1 held 1-2"
    );
    assert_eq!(client.xpending("jobs", "g").await.unwrap().count, 0);
    client.xgroup_setid("jobs", "g", "0").await.unwrap();
    let replay = client.xreadgroup("g", "c1", [("jobs", ">")]).await.unwrap();
    assert_eq!(
        ids(&replay[0].entries),
        ["1-1", "1-2", "1-4"],
        "acknowledged entries stay in the stream"
    );
    assert!(client.xgroup_destroy("jobs", "g").await.unwrap());
    assert!(!client.xgroup_destroy("jobs", "g").await.unwrap());
}

#[tokio::test]
async fn groups_over_resp2() {
    let (_server, client) = connect("").await;
    groups(&client).await;
}

#[tokio::test]
async fn groups_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    groups(&client).await;
}

async fn xread(client: &Client) {
    five(client).await;
    client
        .xadd_with("t", [("k", "v")], XAddOptions::new().id("2-1"))
        .await
        .unwrap();
    let reads = client
        .xread([("s", "1-3"), ("t", "0"), ("missing", "0")])
        .await
        .unwrap();
    let shape: Vec<(&str, Vec<&str>)> = reads
        .iter()
        .map(|r| (r.key.as_str(), ids(&r.entries)))
        .collect();
    assert_eq!(shape, [("s", vec!["1-4", "1-5"]), ("t", vec!["2-1"])]);
    let reads = client.xread_count([("s", "0")], 2).await.unwrap();
    assert_eq!(ids(&reads[0].entries), ["1-1", "1-2"]);
    assert!(
        client.xread([("s", "$")]).await.unwrap().is_empty(),
        "no BLOCK: `$` has nothing to wait for"
    );
    assert!(client.xread([("s", "1-5")]).await.unwrap().is_empty());
}

#[tokio::test]
async fn xread_over_resp2() {
    let (_server, client) = connect("").await;
    xread(&client).await;
}

#[tokio::test]
async fn xread_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    let raw: redmux::Value = client
        .command(cmd("XREAD").arg("STREAMS").arg("missing").arg("0"))
        .await
        .unwrap();
    assert_eq!(raw, redmux::Value::Nil);
    client.xadd("probe", [("a", "1")]).await.unwrap();
    let raw: redmux::Value = client
        .command(cmd("XREAD").arg("STREAMS").arg("probe").arg("0"))
        .await
        .unwrap();
    assert!(
        matches!(raw, redmux::Value::Map(_)),
        "RESP3 maps each stream to its entries: {raw:?}"
    );
    xread(&client).await;
}

/// The shared connection refuses BLOCK; a dedicated connection reads the same reply
/// into the same types.
#[tokio::test]
async fn blocking_reads_belong_on_a_dedicated_connection() {
    let (_server, client) = connect("").await;
    let refused = client
        .command::<redmux::Value>(
            cmd("XREAD")
                .arg("BLOCK")
                .arg(10)
                .arg("STREAMS")
                .arg("s")
                .arg("$"),
        )
        .await;
    assert!(
        matches!(refused, Err(Error::BlockingCommandRefused { .. })),
        "{refused:?}"
    );
    let conn = client.dedicated().await.unwrap();
    let writer = client.clone();
    let add = tokio::spawn(async move {
        redmux_tests::wait_for_blocked_client(&writer).await;
        writer.xadd("s", [("late", "1")]).await.unwrap()
    });
    let reads: Vec<redmux::StreamRead> = conn
        .command(
            cmd("XREAD")
                .arg("BLOCK")
                .arg(2000)
                .arg("STREAMS")
                .arg("s")
                .arg("$"),
        )
        .await
        .unwrap();
    let id = add.await.unwrap();
    assert_eq!(ids(&reads[0].entries), [id.as_str()]);
    let timed_out: Vec<redmux::StreamRead> = conn
        .command(
            cmd("XREAD")
                .arg("BLOCK")
                .arg(10)
                .arg("STREAMS")
                .arg("s")
                .arg("$"),
        )
        .await
        .unwrap();
    assert!(timed_out.is_empty());
}

async fn xinfo(client: &Client) {
    let e = server_error(client.xinfo_stream("missing").await);
    assert!(e.contains("no such key"), "{e}");
    five(client).await;
    client.xgroup_create("s", "early", "0").await.unwrap();
    client.xgroup_create("s", "late", "$").await.unwrap();
    client
        .xreadgroup_with(
            "early",
            "c1",
            [("s", ">")],
            XReadGroupOptions::new().count(2),
        )
        .await
        .unwrap();
    client
        .xgroup_createconsumer("s", "early", "c2")
        .await
        .unwrap();

    let groups = client.xinfo_groups("s").await.unwrap();
    let early = groups.iter().find(|g| g.name == "early").unwrap();
    assert_eq!((early.consumers, early.pending), (2, 2));
    assert_eq!(early.last_delivered_id, "1-2");
    assert_eq!(early.entries_read, Some(2));
    assert_eq!(early.lag, Some(3), "1-3, 1-4 and 1-5 are left to read");
    let late = groups.iter().find(|g| g.name == "late").unwrap();
    assert_eq!((late.consumers, late.pending), (0, 0));
    assert_eq!(late.last_delivered_id, "1-5");
    assert_eq!(
        late.entries_read, None,
        "nil: a group made at $ has read nothing"
    );
    assert_eq!(late.lag, Some(0));

    let mut consumers = client.xinfo_consumers("s", "early").await.unwrap();
    consumers.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(consumers.len(), 2);
    assert_eq!(
        (consumers[0].name.as_str(), consumers[0].pending),
        ("c1", 2)
    );
    assert_eq!(
        (consumers[1].name.as_str(), consumers[1].pending),
        ("c2", 0)
    );
    assert!(consumers[0].idle < Duration::from_secs(5));
    // `inactive` came with Redis 7.2 (Valkey has it, Redis 7.0 does not): when the
    // server sends it, c1 (which read) has a recent one and c2 (which never read) is
    // -1, read as never; when it does not, both are None.
    let raw: Vec<HashMap<String, Value>> = client
        .command(cmd("XINFO").arg("CONSUMERS").arg("s").arg("early"))
        .await
        .unwrap();
    if raw.iter().all(|consumer| consumer.contains_key("inactive")) {
        assert!(
            consumers[0]
                .inactive
                .is_some_and(|d| d < Duration::from_secs(5)),
            "{consumers:?}"
        );
    } else {
        assert!(raw.iter().all(|c| !c.contains_key("inactive")), "{raw:?}");
        assert_eq!(consumers[0].inactive, None, "{consumers:?}");
    }
    assert_eq!(consumers[1].inactive, None, "never read: {consumers:?}");
    assert!(
        client
            .xinfo_consumers("s", "late")
            .await
            .unwrap()
            .is_empty()
    );

    // A deletion past a group's position makes its lag unknowable.
    client.xdel("s", "1-5").await.unwrap();
    let info = client.xinfo_stream("s").await.unwrap();
    assert_eq!(info.length, 4);
    assert_eq!(info.groups, 2);
    assert_eq!(info.last_generated_id, "1-5");
    assert_eq!(info.max_deleted_entry_id.as_deref(), Some("1-5"));
    assert_eq!(info.entries_added, Some(5));
    assert_eq!(info.recorded_first_entry_id.as_deref(), Some("1-1"));
    assert!(info.radix_tree_keys >= 1 && info.radix_tree_nodes >= 1);
    let first = info.first_entry.expect("a first entry");
    assert_eq!(
        (first.id.as_str(), first.get::<i64>("n").unwrap()),
        ("1-1", 1)
    );
    assert_eq!(info.last_entry.map(|e| e.id).as_deref(), Some("1-4"));
    let groups = client.xinfo_groups("s").await.unwrap();
    let early = groups.iter().find(|g| g.name == "early").unwrap();
    assert_eq!(early.lag, None, "nil: 1-5 was deleted after 1-2");

    client.xtrim("s", StreamTrim::maxlen(0)).await.unwrap();
    let empty = client.xinfo_stream("s").await.unwrap();
    assert_eq!(empty.length, 0);
    assert_eq!((empty.first_entry, empty.last_entry), (None, None));
}

#[tokio::test]
async fn xinfo_over_resp2() {
    let (_server, client) = connect("").await;
    xinfo(&client).await;
}

#[tokio::test]
async fn xinfo_over_resp3() {
    let (_server, client) = connect("?protocol=resp3").await;
    client.xadd("probe", [("a", "1")]).await.unwrap();
    let raw: redmux::Value = client
        .command(cmd("XINFO").arg("STREAM").arg("probe"))
        .await
        .unwrap();
    assert!(matches!(raw, redmux::Value::Map(_)), "{raw:?}");
    xinfo(&client).await;
}

/// Redis 7.0's XCLAIM drops an entry deleted while pending from the pending list and
/// leaves it out of the reply.
#[tokio::test]
async fn xclaim_leaves_out_deleted_entries() {
    let (_server, client) = connect("").await;
    five(&client).await;
    client.xgroup_create("s", "g", "0").await.unwrap();
    client
        .xreadgroup_with("g", "c1", [("s", ">")], XReadGroupOptions::new().count(2))
        .await
        .unwrap();
    client.xdel("s", "1-1").await.unwrap();
    let claimed = client
        .xclaim("s", XClaim::new("g", "c2", Duration::ZERO, ["1-1", "1-2"]))
        .await
        .unwrap();
    assert_eq!(ids(&claimed), ["1-2"]);
    let summary = client.xpending("s", "g").await.unwrap();
    assert_eq!(summary.count, 1);
    assert_eq!(summary.consumers, [("c2".to_string(), 1)]);
}

/// ENTRIESREAD, XACK of several IDs, and XCLAIM's TIME and LASTID.
#[tokio::test]
async fn acks_and_claim_options() {
    let (_server, client) = connect("").await;
    five(&client).await;
    client
        .xgroup_create_with("s", "g", "1-2", XGroupCreateOptions::new().entries_read(2))
        .await
        .unwrap();
    let groups = client.xinfo_groups("s").await.unwrap();
    assert_eq!(
        (groups[0].entries_read, groups[0].lag),
        (Some(2), Some(3)),
        "the server knows how far behind the group is"
    );

    let reads = client.xreadgroup("g", "c1", [("s", ">")]).await.unwrap();
    assert_eq!(ids(&reads[0].entries), ["1-3", "1-4", "1-5"]);
    assert_eq!(
        client
            .xack_many("s", "g", ["1-3", "1-4", "1-9"])
            .await
            .unwrap(),
        2,
        "1-9 was never pending"
    );

    // TIME backdates the last delivery; LASTID moves the group's position.
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
    let claimed = client
        .xclaim_justid(
            "s",
            XClaim::new("g", "c2", Duration::ZERO, ["1-5"])
                .time(two_hours_ago)
                .lastid("1-9"),
        )
        .await
        .unwrap();
    assert_eq!(claimed, ["1-5"]);
    let stale = client
        .xpending_with(
            "s",
            "g",
            XPendingOptions::new(10).idle(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].consumer, "c2");
    assert!(
        stale[0].idle >= Duration::from_secs(7190),
        "{:?}",
        stale[0].idle
    );
    let groups = client.xinfo_groups("s").await.unwrap();
    assert_eq!(groups[0].last_delivered_id, "1-9");
}
