//! Every typed command marks exactly the keys the server names, in order.
//!
//! A router sends a command to the node that owns its keys' slot, so a key left
//! unmarked (or a value marked as a key) would send it to the wrong node. The
//! authority is the server itself: for a representative call of every typed
//! method, `COMMAND GETKEYS` on the same arguments must give the keys the command
//! marked. The same call built raw (`cmd(name).args(..)`, nothing marked) must
//! find the same keys through the built-in key specifications and land in the same
//! slot, which checks that table and its rules for movable keys.
//!
//! Every mismatch is collected and reported at once. A second test reads the
//! command files and fails when a typed method has no line here.

use std::time::{Duration, UNIX_EPOCH};

use redmux_resp::Value;
use redmux_testkit::RedisServer;

use super::{
    BitField, BitFieldType, BitOp, BitRange, ClientKill, ClientListFilter, ClientType, Expiry,
    FlushMode, FunctionListOptions, GeoAddOptions, GeoSearch, GeoUnit, GeoWith, ScanOptions,
    SetOptions, Side, StreamTrim, XAddOptions, XAutoClaim, XClaim, XGroupCreateOptions,
    XPendingOptions, XReadGroupOptions, ZAddOptions, ZRange,
};
use crate::batch::{Item, sealed::Sealed};
use crate::command::KeySlot;
use crate::keys::{KeyPositions, KeySpecs};
use crate::{
    Client, Command, Comparison, Condition, DedicatedConnection, Error, Request, Script, cmd,
};

/// One typed call and the command it built.
struct Case {
    method: &'static str,
    command: Command,
}

fn req<T>(method: &'static str, request: Request<'_, T>) -> Case {
    let command = request
        .into_command()
        .unwrap_or_else(|e| panic!("{method}: refused before sending: {e}"));
    Case { method, command }
}

fn built(method: &'static str, command: Command) -> Case {
    Case { method, command }
}

/// Typed methods whose server and built-in table disagree, each with the reason.
/// The test fails if one of them stops disagreeing, so the list cannot go stale.
const TABLE_DIFFERS: &[(&str, &str)] = &[(
    "spublish",
    "GETKEYS leaves the shard channel out (its key spec is flagged not_key); \
     COMMAND INFO's legacy range (1, 1, 1) still names it, so the raw table routes \
     it by the channel's slot, as the marked channel does",
)];

/// Typed methods that mark an argument GETKEYS does not call a key, because its
/// slot still picks the node on a cluster; each with the reason.
const MARKS_NOT_KEY: &[(&str, &str)] = &[(
    "spublish",
    "a shard channel lives on its slot's node: SPUBLISH must go there, so the \
     channel is marked though its key spec is flagged not_key",
)];

/// `call!(c.method(args))`: a typed call, named after the method it calls (so a
/// case cannot carry another method's name).
macro_rules! call {
    ($c:ident . $method:ident $(::<$($t:ty),+>)? ($($arg:expr),* $(,)?)) => {
        req(stringify!($method), $c.$method$(::<$($t),+>)?($($arg),*))
    };
}

/// `page!(c.method(args))`: a scan, by the command of its first page.
macro_rules! page {
    ($c:ident . $method:ident $(::<$($t:ty),+>)? ($($arg:expr),* $(,)?)) => {
        built(stringify!($method), $c.$method$(::<$($t),+>)?($($arg),*).command())
    };
}

/// A representative call of every typed method, one line each (a table, so
/// rustfmt leaves it alone). Multi-key calls use one hash tag, so their keys
/// share a slot and the slot check compares one slot, not two "cross-slot"
/// answers.
#[rustfmt::skip]
fn cases(c: &Client, b: &DedicatedConnection) -> Vec<Case> {
    let t = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    let d = Duration::from_secs(5);
    let search = || GeoSearch::from_member("m").by_radius(1.0, GeoUnit::Kilometers);
    let claim = || XClaim::new("g", "c", d, ["1-0", "2-0"]);
    let autoclaim = || XAutoClaim::new("g", "c", d).count(5);
    let library = "#!lua name=lib\nredis.register_function('f', function() return 1 end)";
    let script = Script::new("return 1");
    let script_call = |eval: bool| -> Command {
        let call = script.call::<Value>().key("{s}a").keys(["{s}b"]).arg("x");
        match call.into_item().0 {
            Item::Script(call) => call.command(eval),
            other => panic!("a script call queued as {other:?}"),
        }
    };
    vec![
        // strings
        call!(c.get::<Value>("k")),
        call!(c.set("k", "v")),
        call!(c.set_with("k", "v", SetOptions::new().nx().ex(d))),
        call!(c.set_with_get::<Value>("k", "v", SetOptions::new().nx().ex(d))),
        call!(c.mget::<Value>(["{m}a", "{m}b", "{m}c"])),
        call!(c.mset([("{m}a", "va"), ("{m}b", "vb")])),
        call!(c.msetnx([("{m}a", "va"), ("{m}b", "vb")])),
        call!(c.incr("k")),
        call!(c.incrby("k", 2)),
        call!(c.incrbyfloat("k", 2.5)),
        call!(c.decr("k")),
        call!(c.decrby("k", 2)),
        call!(c.append("k", "v")),
        call!(c.getdel::<Value>("k")),
        call!(c.getex::<Value>("k", Expiry::PxAt(t))),
        call!(c.strlen("k")),
        call!(c.getrange::<Value>("k", 0, -1)),
        call!(c.setrange("k", 3, "v")),
        // keys
        call!(c.del("k")),
        call!(c.del_many(["{m}a", "{m}b"])),
        call!(c.unlink("k")),
        call!(c.unlink_many(["{m}a", "{m}b"])),
        call!(c.exists("k")),
        call!(c.exists_many(["{m}a", "{m}b"])),
        call!(c.expire("k", d)),
        call!(c.pexpire("k", d)),
        call!(c.expireat("k", t)),
        call!(c.pexpireat("k", t)),
        call!(c.ttl("k")),
        call!(c.pttl("k")),
        call!(c.persist("k")),
        call!(c.key_type("k")),
        call!(c.rename("{r}old", "{r}new")),
        call!(c.renamenx("{r}old", "{r}new")),
        // hashes
        call!(c.hget::<Value>("h", "f")),
        call!(c.hset("h", "f", "v")),
        call!(c.hset_many("h", [("f1", "v1"), ("f2", "v2")])),
        call!(c.hmget::<Value>("h", ["f1", "f2"])),
        call!(c.hgetall::<Value>("h")),
        call!(c.hkeys::<Value>("h")),
        call!(c.hvals::<Value>("h")),
        call!(c.hdel("h", "f")),
        call!(c.hdel_many("h", ["f1", "f2"])),
        call!(c.hincrby("h", "f", 2)),
        call!(c.hincrbyfloat("h", "f", 2.5)),
        call!(c.hexists("h", "f")),
        call!(c.hlen("h")),
        // lists
        call!(c.lpush("l", "v")),
        call!(c.lpush_many("l", ["v1", "v2"])),
        call!(c.rpush("l", "v")),
        call!(c.rpush_many("l", ["v1", "v2"])),
        call!(c.lpop::<Value>("l")),
        call!(c.lpop_count::<Value>("l", 2)),
        call!(c.rpop::<Value>("l")),
        call!(c.rpop_count::<Value>("l", 2)),
        call!(c.lrange::<Value>("l", 0, -1)),
        call!(c.lindex::<Value>("l", 1)),
        call!(c.llen("l")),
        call!(c.lrem("l", 1, "v")),
        call!(c.ltrim("l", 0, 9)),
        call!(c.lmove::<Value>("{l}src", "{l}dst", Side::Left, Side::Right)),
        // sets
        call!(c.sadd("s", "m")),
        call!(c.sadd_many("s", ["m1", "m2"])),
        call!(c.srem("s", "m")),
        call!(c.srem_many("s", ["m1", "m2"])),
        call!(c.smembers::<Value>("s")),
        call!(c.sismember("s", "m")),
        call!(c.scard("s")),
        call!(c.smismember("s", ["m1", "m2"])),
        call!(c.spop::<Value>("s")),
        call!(c.spop_count::<Value>("s", 2)),
        call!(c.srandmember::<Value>("s")),
        call!(c.srandmember_count::<Value>("s", -2)),
        call!(c.smove("{s}src", "{s}dst", "m")),
        call!(c.sinter::<Value>(["{s}a", "{s}b"])),
        call!(c.sunion::<Value>(["{s}a", "{s}b"])),
        call!(c.sdiff::<Value>(["{s}a", "{s}b"])),
        call!(c.sinterstore("{s}dst", ["{s}a", "{s}b"])),
        call!(c.sunionstore("{s}dst", ["{s}a", "{s}b"])),
        call!(c.sdiffstore("{s}dst", ["{s}a", "{s}b"])),
        call!(c.sintercard(["{s}a", "{s}b"])),
        call!(c.sintercard_limit(["{s}a", "{s}b"], 3)),
        // sorted sets
        call!(c.zadd("z", 1.5, "m")),
        call!(c.zadd_many("z", [(1.0, "m1"), (2.0, "m2")])),
        call!(c.zadd_with("z", [(1.0, "m1")], ZAddOptions::new().xx().ch())),
        call!(c.zrem("z", "m")),
        call!(c.zrem_many("z", ["m1", "m2"])),
        call!(c.zscore("z", "m")),
        call!(c.zincrby("z", 2.0, "m")),
        call!(c.zrank("z", "m")),
        call!(c.zrevrank("z", "m")),
        call!(c.zcard("z")),
        call!(c.zmscore("z", ["m1", "m2"])),
        call!(c.zcount("z", 1.0..=2.0)),
        call!(c.zlexcount("z", "a".."c")),
        call!(c.zpopmin::<Value>("z")),
        call!(c.zpopmin_count::<Value>("z", 2)),
        call!(c.zpopmax::<Value>("z")),
        call!(c.zpopmax_count::<Value>("z", 2)),
        call!(c.zrandmember::<Value>("z")),
        call!(c.zrandmember_count::<Value>("z", 2)),
        call!(c.zrandmember_with_scores::<Value>("z", 2)),
        call!(c.zremrangebyscore("z", ..3.0)),
        call!(c.zremrangebyrank("z", 0, 1)),
        call!(c.zremrangebylex("z", "a"..)),
        call!(c.zrange::<Value>("z", ZRange::by_score(1.0..).rev().limit(0, 5))),
        call!(c.zrange_with_scores::<Value>("z", ZRange::index(0, -1))),
        // scans
        page!(c.scan::<Value>(ScanOptions::new().count(5))),
        page!(c.hscan::<Value, Value>("h", ScanOptions::new().pattern("f*"))),
        page!(c.sscan::<Value>("s", ScanOptions::new().count(5))),
        page!(c.zscan::<Value>("z", ScanOptions::new())),
        // streams
        call!(c.xadd("x", [("f", "v")])),
        call!(c.xadd_with("x", [("f", "v")], XAddOptions::new().nomkstream().trim(StreamTrim::maxlen(10).approx()))),
        call!(c.xrange("x", "-", "+")),
        call!(c.xrange_count("x", "-", "+", 5)),
        call!(c.xrevrange("x", "+", "-")),
        call!(c.xrevrange_count("x", "+", "-", 5)),
        call!(c.xlen("x")),
        call!(c.xtrim("x", StreamTrim::minid("1-0").limit(5).approx())),
        call!(c.xdel("x", "1-0")),
        call!(c.xdel_many("x", ["1-0", "2-0"])),
        call!(c.xread([("{x}a", "0"), ("{x}b", "$")])),
        call!(c.xread_count([("{x}a", "0"), ("{x}b", "0")], 5)),
        call!(c.xreadgroup("g", "c", [("{x}a", ">"), ("{x}b", ">")])),
        call!(c.xreadgroup_with("g", "c", [("{x}a", ">")], XReadGroupOptions::new().count(2).noack())),
        call!(c.xgroup_create("x", "g", "$")),
        call!(c.xgroup_create_with("x", "g", "0", XGroupCreateOptions::new().mkstream().entries_read(3))),
        call!(c.xgroup_destroy("x", "g")),
        call!(c.xgroup_createconsumer("x", "g", "c")),
        call!(c.xgroup_delconsumer("x", "g", "c")),
        call!(c.xgroup_setid("x", "g", "0")),
        call!(c.xack("x", "g", "1-0")),
        call!(c.xack_many("x", "g", ["1-0", "2-0"])),
        call!(c.xpending("x", "g")),
        call!(c.xpending_with("x", "g", XPendingOptions::new(5).idle(d).consumer("c"))),
        call!(c.xclaim("x", claim().retrycount(2).force().lastid("2-0"))),
        call!(c.xclaim_justid("x", claim().time(t))),
        call!(c.xautoclaim("x", autoclaim())),
        call!(c.xautoclaim_justid("x", autoclaim().start("1-0"))),
        call!(c.xinfo_stream("x")),
        call!(c.xinfo_groups("x")),
        call!(c.xinfo_consumers("x", "g")),
        // hyperloglog
        call!(c.pfadd("p", "e")),
        call!(c.pfadd_many("p", ["e1", "e2"])),
        call!(c.pfcount("p")),
        call!(c.pfcount_many(["{p}a", "{p}b"])),
        call!(c.pfmerge("{p}dst", ["{p}a", "{p}b"])),
        // geo
        call!(c.geoadd("g", 13.36, 38.11, "m")),
        call!(c.geoadd_many("g", [(13.36, 38.11, "m1"), (15.08, 37.50, "m2")])),
        call!(c.geoadd_with("g", [(13.36, 38.11, "m")], GeoAddOptions::new().nx().ch())),
        call!(c.geodist("g", "m1", "m2", GeoUnit::Miles)),
        call!(c.geopos("g", ["m1", "m2"])),
        call!(c.geohash("g", ["m1", "m2"])),
        call!(c.geosearch::<Value>("g", search().asc().count(3))),
        call!(c.geosearch_with::<Value>("g", search(), GeoWith::new().coord().dist().hash())),
        call!(c.geosearchstore("{g}dst", "{g}src", search().count_any(2))),
        call!(c.geosearchstore_storedist("{g}dst", "{g}src", search())),
        // bitmaps
        call!(c.setbit("b", 7, true)),
        call!(c.getbit("b", 7)),
        call!(c.bitcount("b")),
        call!(c.bitcount_range("b", BitRange::bits(0, 9))),
        call!(c.bitpos("b", true)),
        call!(c.bitpos_range("b", false, BitRange::bytes(1, 2))),
        call!(c.bitop(BitOp::And, "{b}dst", ["{b}a", "{b}b"])),
        call!(c.bitfield("b", BitField::new().get(BitFieldType::signed(8), 0).incrby(BitFieldType::unsigned(4), 8, 1))),
        // server
        call!(c.ping()),
        call!(c.echo::<Value>("hello")),
        call!(c.info()),
        call!(c.info_section("server")),
        call!(c.dbsize()),
        call!(c.flushdb()),
        call!(c.time()),
        call!(c.publish("ch", "message")),
        call!(c.info_parsed()),
        call!(c.info_parsed_many(["server", "clients"])),
        call!(c.client_id()),
        call!(c.client_getname()),
        call!(c.client_setname("name")),
        call!(c.client_list()),
        call!(c.client_list_with(ClientListFilter::Type(ClientType::Normal))),
        call!(c.client_info()),
        call!(c.client_kill(ClientKill::new().id(12345).skipme(true))),
        call!(c.config_get::<Value>("maxmemory")),
        call!(c.config_get_many::<Value>(["maxmemory", "timeout"])),
        call!(c.config_set("timeout", 0)),
        call!(c.config_set_many([("timeout", "0"), ("maxmemory", "0")])),
        call!(c.flushall()),
        call!(c.flushall_with(FlushMode::Async)),
        call!(c.flushdb_with(FlushMode::Sync)),
        // scripts and functions
        call!(c.script_exists([script.sha1()])),
        call!(c.script_flush()),
        call!(c.script_flush_with(FlushMode::Async)),
        call!(c.script_kill()),
        call!(c.function_list()),
        call!(c.function_list_with(FunctionListOptions::new().library_name("lib*").with_code())),
        call!(c.function_flush()),
        call!(c.function_flush_with(FlushMode::Sync)),
        call!(c.function_load(library)),
        call!(c.function_load_replace(library)),
        call!(c.function_delete("lib")),
        built("fcall", c.fcall::<Value>("f").key("{f}a").keys(["{f}b"]).arg(1).command()),
        built("fcall_ro", c.fcall_ro::<Value>("f").key("{f}a").arg(1).args(["x"]).command()),
        built("Script::call as EVALSHA", script_call(false)),
        built("Script::call as EVAL", script_call(true)),
        req("Script::load", script.load(c)),
        // pub/sub
        call!(c.spublish("{room}chat", "message")),
        call!(c.pubsub_channels::<Value>(Some("news.*"))),
        call!(c.pubsub_numsub::<Value>(["ch1", "ch2"])),
        call!(c.pubsub_numpat()),
        call!(c.pubsub_shardchannels::<Value>(None::<&str>)),
        call!(c.pubsub_shardnumsub::<Value>(["{room}chat"])),
        // a transaction's checks
        built("Condition::key_exists", Condition::key_exists("k").check()),
        built("Condition::string_equal", Condition::string_equal("k", "v").check()),
        built("Condition::hash_field_exists", Condition::hash_field_exists("h", "f").check()),
        built("Condition::hash_field_equal", Condition::hash_field_equal("h", "f", "v").check()),
        built("Condition::string_length", Condition::string_length("k", Comparison::Equal(1)).check()),
        built("Condition::hash_length", Condition::hash_length("h", Comparison::LessThan(1)).check()),
        built("Condition::list_length", Condition::list_length("l", Comparison::GreaterThan(1)).check()),
        built("Condition::set_length", Condition::set_length("s", Comparison::Equal(1)).check()),
        built("Condition::sorted_set_length", Condition::sorted_set_length("z", Comparison::Equal(1)).check()),
        built("Condition::stream_length", Condition::stream_length("x", Comparison::Equal(1)).check()),
        built("Condition::set_contains", Condition::set_contains("s", "m").check()),
        built("Condition::sorted_set_contains", Condition::sorted_set_contains("z", "m").check()),
        // Blocking commands, on a dedicated connection only.
        call!(b.blpop::<String>(["{q}a", "{q}b"], d)),
        call!(b.brpop::<String>(["{q}a", "{q}b"], d)),
        call!(b.blmove::<String>("{q}a", "{q}b", Side::Left, Side::Right, d)),
        call!(b.bzpopmin::<String>(["{q}a", "{q}b"], d)),
        call!(b.bzpopmax::<String>(["{q}a", "{q}b"], d)),
        call!(b.xread_block([("{q}a", "0"), ("{q}b", "0")], d)),
        call!(b.xreadgroup_block("g", "c", [("{q}a", ">")], XReadGroupOptions::new().count(1), d)),
        call!(b.wait(1, d)),
    ]
}

/// The keys the server names for `name args...`; none when it refuses. That is
/// a keyless command, or a keyed one with malformed arguments: the built-in table
/// still finds the keys of such a call, so its mismatch shows below.
async fn server_keys(client: &Client, name: &str, args: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let getkeys = cmd("COMMAND").arg("GETKEYS").arg(name).args(args);
    match client.command::<Vec<Vec<u8>>>(getkeys).await {
        Ok(keys) => keys,
        Err(Error::Server(_)) => Vec::new(),
        Err(e) => panic!("COMMAND GETKEYS {name}: {e}"),
    }
}

/// The keys the built-in key specifications find in `name args...`.
fn table_keys(name: &str, args: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, String> {
    let all: Vec<&[u8]> = std::iter::once(name.as_bytes())
        .chain(args.iter().map(Vec::as_slice))
        .collect();
    match KeySpecs::builtin().positions(&all) {
        KeyPositions::None => Ok(Vec::new()),
        KeyPositions::At(at) => Ok(at
            .iter()
            .filter_map(|&i| all.get(i))
            .map(|k| k.to_vec())
            .collect()),
        KeyPositions::Unknown => Err("the built-in table does not know the command".into()),
    }
}

fn show(keys: &[Vec<u8>]) -> Vec<String> {
    keys.iter()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect()
}

/// What is wrong with one case, if anything.
async fn check(client: &Client, case: &Case) -> Vec<String> {
    let mut wrong = Vec::new();
    let name = case.command.name();
    let args = case.command.arg_bytes();
    let marked = case.command.marked_keys();
    let server = server_keys(client, &name, &args).await;
    let call = format!("{} {}", name, show(&args).join(" "));
    if marked.len() != case.command.key_count() {
        wrong.push(format!(
            "{}: a key was kept by reference and cannot be read back",
            case.method
        ));
    }
    let marks_not_key = MARKS_NOT_KEY.iter().any(|(m, _)| *m == case.method);
    if marks_not_key && marked.is_empty() {
        wrong.push(format!(
            "{}: listed in MARKS_NOT_KEY but marks nothing",
            case.method
        ));
    }
    if marked != server && !marks_not_key {
        wrong.push(format!(
            "{}: `{call}` marks {:?}, the server's COMMAND GETKEYS says {:?}",
            case.method,
            show(&marked),
            show(&server)
        ));
    }
    let specs = KeySpecs::builtin();
    let raw = cmd(&name).args(&args);
    let (raw_slot, marked_slot) = (raw.slot_with(&specs), case.command.slot());
    // Marking a key changes nothing on the wire.
    if raw.into_bytes() != case.command.clone().into_bytes() {
        wrong.push(format!(
            "{}: `{call}` encodes differently once marked",
            case.method
        ));
    }
    let table = table_keys(&name, &args);
    let known_difference = TABLE_DIFFERS.iter().any(|(m, _)| *m == case.method);
    let agrees = table.as_ref() == Ok(&server) && raw_slot == marked_slot;
    if known_difference {
        if agrees {
            wrong.push(format!(
                "{}: listed in TABLE_DIFFERS but now agrees; remove it",
                case.method
            ));
        }
        return wrong;
    }
    match table {
        Ok(keys) if keys != server => wrong.push(format!(
            "{}: `{call}`: the built-in table finds {:?}, the server says {:?}",
            case.method,
            show(&keys),
            show(&server)
        )),
        Ok(_) => {}
        Err(why) => wrong.push(format!("{}: `{call}`: {why}", case.method)),
    }
    if raw_slot != marked_slot {
        wrong.push(format!(
            "{}: `{call}`: raw slot {raw_slot:?}, marked slot {marked_slot:?}",
            case.method
        ));
    }
    if !matches!(marked_slot, KeySlot::Keyless | KeySlot::One(_)) {
        wrong.push(format!(
            "{}: `{call}`: the keys should share a slot, got {marked_slot:?}",
            case.method
        ));
    }
    wrong
}

#[tokio::test]
async fn every_typed_command_marks_the_keys_the_server_names() {
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&server.url()).await.expect("connect");
    let dedicated = client.dedicated().await.expect("dedicated");
    let cases = cases(&client, &dedicated);
    let mut wrong = Vec::new();
    let mut keyed = 0;
    for case in &cases {
        wrong.extend(check(&client, case).await);
        keyed += usize::from(case.command.key_count() > 0);
    }
    assert!(
        wrong.is_empty(),
        "{} of {} typed calls disagree with the server:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    eprintln!(
        "{} typed calls checked, {keyed} of them with keys",
        cases.len()
    );
    // Guards against a silent pass: most calls here do take keys.
    assert!(keyed > 150, "only {keyed} calls marked keys");
}

/// The command files, read for the names of the typed methods they define.
const SOURCES: &[(&str, &str)] = &[
    ("bitmaps.rs", include_str!("bitmaps.rs")),
    ("blocking.rs", include_str!("blocking.rs")),
    ("geo.rs", include_str!("geo.rs")),
    ("hashes.rs", include_str!("hashes.rs")),
    ("hyperloglog.rs", include_str!("hyperloglog.rs")),
    ("keys.rs", include_str!("keys.rs")),
    ("lists.rs", include_str!("lists.rs")),
    ("scan.rs", include_str!("scan.rs")),
    ("scripting.rs", include_str!("scripting.rs")),
    ("server.rs", include_str!("server.rs")),
    ("server_admin.rs", include_str!("server_admin.rs")),
    ("sets.rs", include_str!("sets.rs")),
    ("sorted_sets.rs", include_str!("sorted_sets.rs")),
    ("streams.rs", include_str!("streams.rs")),
    ("streams_claim.rs", include_str!("streams_claim.rs")),
    ("streams_groups.rs", include_str!("streams_groups.rs")),
    ("streams_info.rs", include_str!("streams_info.rs")),
    ("streams_read.rs", include_str!("streams_read.rs")),
    ("strings.rs", include_str!("strings.rs")),
    ("zrange.rs", include_str!("zrange.rs")),
    ("pubsub/commands.rs", include_str!("../pubsub/commands.rs")),
    ("script.rs", include_str!("../script.rs")),
];

/// The `pub fn` names inside `impl Client`, `impl Commands` and
/// `impl DedicatedConnection` blocks of one file.
fn client_methods(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in source.lines() {
        if [
            "impl Client {",
            "impl Commands {",
            "impl DedicatedConnection {",
        ]
        .iter()
        .any(|i| line.starts_with(i))
        {
            inside = true;
        } else if line == "}" {
            inside = false;
        } else if let Some(rest) = line.strip_prefix("    pub fn ").filter(|_| inside) {
            let end = rest.find(['<', '(']).unwrap_or(rest.len());
            names.push(rest[..end].to_string());
        }
    }
    names
}

#[tokio::test]
async fn every_typed_method_has_a_case() {
    // Building the cases needs a client; nothing is sent.
    let server = RedisServer::start().expect("redis-server");
    let client = Client::connect(&server.url()).await.expect("connect");
    let dedicated = client.dedicated().await.expect("dedicated");
    let covered: Vec<&str> = cases(&client, &dedicated)
        .iter()
        .map(|c| c.method)
        .collect();
    let mut missing = Vec::new();
    let mut total = 0;
    for (file, source) in SOURCES {
        for method in client_methods(source) {
            total += 1;
            if !covered.contains(&method.as_str()) {
                missing.push(format!("{file}: {method}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "typed methods with no case in key_check.rs:\n{}",
        missing.join("\n")
    );
    assert!(
        total > 200,
        "found only {total} typed methods: is the parser still right?"
    );
}
