//! Transactions against a real server: commits, an abort for every kind of
//! condition, a watch conflict made by another client, EXECABORT and exec-time
//! errors reported per command, no other caller's command between MULTI and EXEC
//! (seen with MONITOR), and no watch left behind by a cancelled transaction.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use redmux::{
    AbortReason, Client, Command, Comparison, Condition, Error, TransactionOutcome, Value, cmd,
};
use redmux_testkit::{CutMode, FaultProxy, RedisServer};

async fn connect(server: &RedisServer) -> Client {
    Client::connect(&server.url()).await.expect("connect")
}

/// Polls `condition` until it holds, failing the test after 10 s: for a state a
/// fixed sleep would only probably have reached on a slow or loaded machine.
async fn wait_until<F: Future<Output = bool>>(what: &str, mut condition: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(Instant::now() < deadline, "not {what} within 10 s");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Whether the server has run a WATCH yet (`INFO commandstats`, asked by `observer`).
async fn watch_ran(observer: &Client) -> bool {
    let info: String = observer
        .command(cmd("INFO").arg("commandstats"))
        .await
        .unwrap();
    info.lines().any(|line| line.starts_with("cmdstat_watch:"))
}

#[tokio::test]
async fn a_transaction_without_conditions_commits_with_each_result() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let mut tx = client.transaction();
    tx.add(client.set("a", 1));
    let a = tx.add(client.incr("a"));
    let b = tx.add::<Option<String>>(cmd("GET").arg("b"));
    let list = tx.add::<i64>(cmd("RPUSH").arg("l").arg("x").arg("y"));
    let results = tx.execute().await.unwrap().committed().expect("committed");
    assert_eq!(results.len(), 4);
    assert_eq!(results.get(a).unwrap(), 2);
    assert_eq!(results.get(b).unwrap(), None);
    assert_eq!(results.get(list).unwrap(), 2);
}

/// One kind of condition: what to set up so it holds, so it fails, and the condition.
struct Case {
    condition: Condition,
    holds_after: Vec<Command>,
    fails_after: Vec<Command>,
}

fn case(condition: Condition, holds_after: Vec<Command>, fails_after: Vec<Command>) -> Case {
    Case {
        condition,
        holds_after,
        fails_after,
    }
}

fn cases() -> Vec<Case> {
    let set = |k: &str, v: &str| cmd("SET").arg(k).arg(v);
    let hset = |f: &str, v: &str| cmd("HSET").arg("h").arg(f).arg(v);
    let rpush = |n: usize| cmd("RPUSH").arg("l").args((0..n).map(|i| i.to_string()));
    let sadd = |m: &[&str]| cmd("SADD").arg("s").args(m.to_vec());
    let zadd = |m: &str| cmd("ZADD").arg("z").arg(1).arg(m);
    let xadd = || cmd("XADD").arg("x").arg("*").arg("f").arg("v");
    vec![
        case(Condition::key_exists("k"), vec![set("k", "v")], vec![]),
        case(Condition::key_not_exists("k"), vec![], vec![set("k", "v")]),
        case(
            Condition::string_equal("k", "v"),
            vec![set("k", "v")],
            vec![set("k", "w")],
        ),
        case(Condition::string_equal("k", 7), vec![set("k", "7")], vec![]),
        case(
            Condition::string_not_equal("k", "v"),
            vec![set("k", "w")],
            vec![set("k", "v")],
        ),
        case(
            Condition::string_not_equal("k", "v"),
            vec![],
            vec![set("k", "v")],
        ),
        case(
            Condition::hash_field_exists("h", "f"),
            vec![hset("f", "1")],
            vec![hset("g", "1")],
        ),
        case(
            Condition::hash_field_not_exists("h", "f"),
            vec![hset("g", "1")],
            vec![hset("f", "1")],
        ),
        case(
            Condition::hash_field_equal("h", "f", "v"),
            vec![hset("f", "v")],
            vec![hset("f", "w")],
        ),
        case(
            Condition::hash_field_not_equal("h", "f", "v"),
            vec![hset("f", "w")],
            vec![hset("f", "v")],
        ),
        case(
            Condition::string_length("k", Comparison::Equal(3)),
            vec![set("k", "abc")],
            vec![set("k", "ab")],
        ),
        case(
            Condition::hash_length("h", Comparison::GreaterThan(1)),
            vec![hset("a", "1"), hset("b", "2")],
            vec![hset("a", "1")],
        ),
        case(
            Condition::list_length("l", Comparison::LessThan(2)),
            vec![rpush(1)],
            vec![rpush(2)],
        ),
        case(
            Condition::list_length("l", Comparison::Equal(0)),
            vec![],
            vec![rpush(1)],
        ),
        case(
            Condition::list_length("l", Comparison::GreaterThan(2)),
            vec![rpush(3)],
            vec![rpush(2)],
        ),
        case(
            Condition::set_length("s", Comparison::Equal(2)),
            vec![sadd(&["a", "b"])],
            vec![sadd(&["a"])],
        ),
        case(
            Condition::sorted_set_length("z", Comparison::GreaterThan(0)),
            vec![zadd("a")],
            vec![],
        ),
        case(
            Condition::stream_length("x", Comparison::Equal(1)),
            vec![xadd()],
            vec![xadd(), xadd()],
        ),
        case(
            Condition::set_contains("s", "m"),
            vec![sadd(&["m"])],
            vec![sadd(&["n"])],
        ),
        case(
            Condition::set_not_contains("s", "m"),
            vec![sadd(&["n"])],
            vec![sadd(&["m"])],
        ),
        case(
            Condition::sorted_set_contains("z", "m"),
            vec![zadd("m")],
            vec![zadd("n")],
        ),
        case(
            Condition::sorted_set_not_contains("z", "m"),
            vec![zadd("n")],
            vec![zadd("m")],
        ),
    ]
}

/// Runs a transaction guarded by an always-true condition and `condition`; returns
/// the outcome and whether its command ran.
async fn run_guarded(client: &Client, condition: &Condition) -> (TransactionOutcome, bool) {
    let mut tx = client.transaction();
    tx.add_condition(Condition::key_not_exists("never-set"));
    tx.add_condition(condition.clone());
    tx.add(client.set("marker", 1));
    let outcome = tx.execute().await.unwrap();
    let ran: bool = client.command(cmd("EXISTS").arg("marker")).await.unwrap();
    (outcome, ran)
}

async fn every_condition_kind_commits_when_it_holds_and_aborts_when_not(url: &str) {
    let client = Client::connect(url).await.unwrap();
    let kinds = cases();
    assert!(kinds.len() >= 12);
    for Case {
        condition,
        holds_after,
        fails_after,
    } in kinds
    {
        for (setup, should_hold) in [(holds_after, true), (fails_after, false)] {
            client.command::<()>(cmd("FLUSHDB")).await.unwrap();
            for command in setup {
                client.command::<Value>(command).await.unwrap();
            }
            let (outcome, ran) = run_guarded(&client, &condition).await;
            assert_eq!(ran, should_hold, "{condition} (should hold: {should_hold})");
            match outcome {
                TransactionOutcome::Committed(results) => {
                    assert!(should_hold, "{condition} committed");
                    assert_eq!(results.len(), 1);
                }
                TransactionOutcome::Aborted(AbortReason::ConditionFailed {
                    index,
                    condition: failed,
                    error,
                }) => {
                    assert!(!should_hold, "{condition} aborted");
                    assert_eq!((index, &failed, error), (1, &condition, None));
                }
                other => panic!("{condition}: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn every_condition_kind_over_resp2() {
    let server = RedisServer::start().unwrap();
    every_condition_kind_commits_when_it_holds_and_aborts_when_not(&server.url()).await;
}

#[tokio::test]
async fn every_condition_kind_over_resp3() {
    let server = RedisServer::start().unwrap();
    let url = format!("{}?protocol=resp3", server.url());
    every_condition_kind_commits_when_it_holds_and_aborts_when_not(&url).await;
}

#[tokio::test]
async fn a_check_against_the_wrong_type_aborts_and_says_why() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    client.set("k", "a string").await.unwrap();
    let condition = Condition::list_length("k", Comparison::LessThan(10));
    let (outcome, ran) = run_guarded(&client, &condition).await;
    assert!(!ran);
    let why = outcome.aborted().expect("aborted").clone();
    let AbortReason::ConditionFailed { index, error, .. } = &why else {
        panic!("{why:?}");
    };
    assert_eq!(*index, 1);
    assert_eq!(error.as_ref().map(|e| e.code()), Some("WRONGTYPE"));
    assert!(why.to_string().contains("could not be checked"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_write_between_watch_and_exec_aborts() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect(&proxy.url()).await.unwrap();
    let other = connect(&server).await;
    client.set("balance", 100).await.unwrap();

    // Commands reach the server at once; replies take 300 ms to come back. So the
    // WATCH and the checks run, and EXEC cannot arrive for 300 ms: the other
    // client writes in that window, as soon as the server has run the WATCH
    // (a fixed 50 ms after writing it was a guess at how long that takes).
    proxy.set_latency_split(Duration::ZERO, Duration::from_millis(300));
    let mut tx = client.transaction();
    tx.add_condition(Condition::key_exists("balance"));
    tx.add::<i64>(cmd("DECRBY").arg("balance").arg(10));
    let exec = tokio::spawn(tx.execute());
    wait_until("the WATCH ran", || watch_ran(&other)).await;
    other.set("balance", 500).await.unwrap();

    let outcome = exec.await.unwrap().unwrap();
    assert!(
        matches!(
            outcome,
            TransactionOutcome::Aborted(AbortReason::WatchConflict)
        ),
        "{outcome:?}"
    );
    let balance: i64 = other.get("balance").await.unwrap();
    assert_eq!(balance, 500, "the DECRBY must not have run");

    // The aborted EXEC cleared the watch: the next transaction commits.
    proxy.set_latency(Duration::ZERO);
    let mut tx = client.transaction();
    tx.add_condition(Condition::key_exists("balance"));
    let after = tx.add::<i64>(cmd("DECRBY").arg("balance").arg(10));
    let results = tx.execute().await.unwrap().committed().expect("committed");
    assert_eq!(results.get(after).unwrap(), 490);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_transaction_leaves_no_watch_behind() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect(&proxy.url()).await.unwrap();
    let other = connect(&server).await;
    client.set("w", 1).await.unwrap();

    proxy.set_latency_split(Duration::ZERO, Duration::from_millis(200));
    let mut tx = client.transaction();
    tx.add_condition(Condition::key_exists("w"));
    tx.add(client.set("ran", 1));
    let written = client.stats().commands_sent;
    let exec = tokio::spawn(tx.execute());
    while client.stats().commands_sent < written + 2 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Dropped after WATCH was written and before its checks' replies came back.
    exec.abort();
    assert!(exec.await.unwrap_err().is_cancelled());
    // Written, so it runs; once it has, this SET touches a watched key.
    wait_until("the WATCH ran", || watch_ran(&other)).await;
    other.set("w", 2).await.unwrap();

    // Were "w" still watched on the shared connection, this EXEC would come back
    // nil though this transaction watches nothing.
    let mut tx = client.transaction();
    let set = tx.add(client.set("after", 1));
    let outcome = tx.execute().await.unwrap();
    assert!(outcome.is_committed(), "{outcome:?}");
    outcome.committed().unwrap().get(set).unwrap();
    let ran: bool = other.command(cmd("EXISTS").arg("ran")).await.unwrap();
    assert!(!ran);
}

#[tokio::test]
async fn a_command_refused_as_it_is_queued_discards_the_transaction() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let mut tx = client.transaction();
    tx.add(client.set("a", 1));
    let wrong_arity = tx.add::<()>(cmd("SET").arg("only-a-key"));
    let unknown = tx.add::<()>(cmd("NO-SUCH-COMMAND"));
    tx.add(client.incr("n"));
    let outcome = tx.execute().await.unwrap();
    let Some(AbortReason::Rejected(results)) = outcome.aborted() else {
        panic!("{outcome:?}");
    };
    let codes: Vec<String> = results
        .iter()
        .map(|r| match r {
            Err(e) => e.server_error().map_or("?", |s| s.code()).to_string(),
            Ok(v) => format!("ok {v:?}"),
        })
        .collect();
    assert_eq!(codes, ["EXECABORT", "ERR", "ERR", "EXECABORT"]);
    let arity = results.get(wrong_arity).unwrap_err().to_string();
    assert!(arity.contains("wrong number of arguments"), "{arity}");
    assert!(
        results
            .get(unknown)
            .unwrap_err()
            .to_string()
            .contains("unknown command")
    );
    let reason = outcome.aborted().unwrap().to_string();
    assert!(reason.contains("command 1"), "{reason}");
    let dbsize: i64 = client.command(cmd("DBSIZE")).await.unwrap();
    assert_eq!(dbsize, 0, "nothing ran");
}

#[tokio::test]
async fn an_error_as_a_command_runs_stays_with_that_command() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    client.set("text", "not a list").await.unwrap();
    let mut tx = client.transaction();
    let before = tx.add(client.set("before", 1));
    let wrong = tx.add::<i64>(cmd("LPUSH").arg("text").arg("x"));
    let after = tx.add(client.incr("after"));
    let results = tx.execute().await.unwrap().committed().expect("committed");
    results.get(before).unwrap();
    let error = results.get(wrong).unwrap_err();
    assert_eq!(error.server_error().map(|e| e.code()), Some("WRONGTYPE"));
    assert_eq!(results.get(after).unwrap(), 1);
    assert_eq!(results.errors().count(), 1);
}

#[tokio::test]
async fn a_blocking_command_refuses_the_whole_transaction() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let mut tx = client.transaction();
    tx.add(client.set("a", 1));
    tx.add::<Value>(cmd("BLPOP").arg("q").arg(0));
    let e = tx.execute().await.unwrap_err();
    assert!(matches!(e, Error::BlockingCommandRefused { .. }), "{e}");
    let a: Option<i64> = client.get("a").await.unwrap();
    assert_eq!(a, None);
}

/// Echoed after the commands under test: MONITOR shows commands in the order they
/// ran, so once the feed shows this one it has shown every earlier one.
const MONITOR_END: &str = "monitor:end";

/// Reads a MONITOR feed on its own thread until it shows `ECHO` of [`MONITOR_END`]
/// (or, if that never comes, until 10 s after it is told to stop).
fn monitor(server: &RedisServer) -> (Arc<AtomicBool>, std::thread::JoinHandle<Vec<String>>) {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.write_all(b"*1\r\n$7\r\nMONITOR\r\n").unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut ok = String::new();
    reader.read_line(&mut ok).unwrap();
    assert_eq!(ok, "+OK\r\n");
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let handle = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut stopped_at: Option<Instant> = None;
        loop {
            match reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) if line.contains(MONITOR_END) => break,
                Ok(_) => lines.push(std::mem::take(&mut line)),
                Err(_) if stopped.load(Ordering::Relaxed) => {
                    if stopped_at.get_or_insert_with(Instant::now).elapsed()
                        > Duration::from_secs(10)
                    {
                        break;
                    }
                }
                Err(_) => {}
            }
        }
        lines
    });
    (stop, handle)
}

/// The quoted command name and first argument of a MONITOR line:
/// `+1700000000.123 [0 127.0.0.1:5000] "SET" "k" "v"`.
fn name_and_key(line: &str) -> (String, String) {
    let after = line.split_once("] ").map_or("", |(_, rest)| rest);
    let mut words = after
        .split(' ')
        .map(|w| w.trim().trim_matches('"').to_string());
    (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_other_callers_command_lands_between_watch_and_exec() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let (stop, feed) = monitor(&server);

    const TRANSACTIONS: usize = 200;
    let mut tasks = Vec::new();
    for t in 0..4 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..TRANSACTIONS / 4 {
                let mut tx = client.transaction();
                if i % 2 == 0 {
                    tx.add_condition(Condition::key_not_exists("tx:never"));
                    tx.add_condition(Condition::list_length(
                        "tx:list",
                        Comparison::GreaterThan(-1),
                    ));
                }
                tx.add::<i64>(cmd("INCR").arg("tx:counter"));
                tx.add::<i64>(cmd("RPUSH").arg("tx:list").arg(format!("{t}:{i}")));
                assert!(tx.execute().await.unwrap().is_committed());
            }
        }));
    }
    // Other callers hammer the same client meanwhile, as single commands and batches.
    for _ in 0..4 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..300 {
                let n: i64 = client.incr("plain:counter").await.unwrap();
                assert!(n > 0);
                if i % 50 == 0 {
                    let mut batch = client.batch();
                    for j in 0..100 {
                        batch.add::<i64>(cmd("INCR").arg(format!("plain:{j}")));
                    }
                    assert_eq!(batch.execute().await.errors().count(), 0);
                }
            }
        }));
    }
    for t in join_all(tasks).await {
        t.unwrap();
    }
    let counter: i64 = client.get("tx:counter").await.unwrap();
    assert_eq!(counter, TRANSACTIONS as i64);
    let plain: i64 = client.get("plain:counter").await.unwrap();
    assert_eq!(plain, 1200, "a plain INCR answered QUEUED would not count");
    // Not a fixed wait for the feed to catch up: read up to a marker.
    let _: String = client.command(cmd("ECHO").arg(MONITOR_END)).await.unwrap();
    stop.store(true, Ordering::Relaxed);
    let lines = feed.join().unwrap();

    // Between WATCH (or MULTI) and EXEC only the transaction's own commands appear.
    let mut inside: Option<String> = None;
    let (mut multis, mut watches) = (0, 0);
    for line in &lines {
        let (name, key) = name_and_key(line);
        let name = name.to_ascii_uppercase();
        match (inside.as_deref(), name.as_str()) {
            (None, "WATCH") => {
                watches += 1;
                inside = Some(name);
            }
            (None | Some("WATCH"), "MULTI") => {
                multis += 1;
                inside = Some(name);
            }
            (Some(_), "EXEC" | "UNWATCH") => inside = None,
            (Some(_), _) => assert!(
                key.starts_with("tx:"),
                "{line:?} landed inside a transaction"
            ),
            (None, _) => {}
        }
    }
    assert_eq!(multis, TRANSACTIONS, "MONITOR saw every MULTI");
    assert_eq!(watches, TRANSACTIONS / 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_cut_off_mid_write_never_runs_part_of_itself() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect(&proxy.url()).await.unwrap();
    let direct = connect(&server).await;
    client.set("warm", 1).await.unwrap();

    // Values far larger than the socket buffers: with the proxy stalled, the
    // writer blocks inside the first one, after MULTI went out.
    let big = vec![b'x'; 32 << 20];
    proxy.stall();
    let mut tx = client.transaction().timeout(Duration::from_secs(20));
    tx.add(client.set("a", &big[..]));
    tx.add(client.set("b", &big[..]));
    let sent_before = client.stats().commands_sent;
    let exec = tokio::spawn(tx.execute());
    // MULTI, then "a" counted as sent: the writer is inside "a". (Not a fixed 500 ms:
    // cut before MULTI went out, the whole transaction would wait in the backlog and
    // run after the reconnect.)
    wait_until("MULTI and the first SET taken for writing", || async {
        client.stats().commands_sent >= sent_before + 2
    })
    .await;
    proxy.cut(CutMode::Reset);
    proxy.resume();

    let outcome = exec.await.unwrap();
    assert!(
        matches!(outcome, Err(Error::ConnectionLost { .. })),
        "{outcome:?}"
    );
    // The client reconnects; whatever it sends next must not include the rest
    // of the transaction outside MULTI.
    let pong: String = client.command(cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let exists: i64 = direct
        .command(cmd("EXISTS").arg("a").arg("b"))
        .await
        .unwrap();
    assert_eq!(exists, 0, "part of the transaction ran on its own");
}

/// A transaction whose deadline passes while its MULTI waits behind a large write in
/// the same batch: once MULTI is on the wire its commands and EXEC follow whatever
/// the time, or the connection would stay inside MULTI and answer every other caller
/// `+QUEUED`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_late_behind_a_large_write_is_never_left_open() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect(&proxy.url()).await.unwrap();
    client.set("plain", "value").await.unwrap();
    let big = bytes::Bytes::from(vec![b'x'; 48 << 20]);
    let set_big = |key: &'static str| {
        let (client, big) = (client.clone(), big.clone());
        tokio::spawn(async move { client.set(key, big).await })
    };
    // Nothing is forwarded: the first large value fills the socket buffers and the
    // writer waits inside its write.
    proxy.stall();
    let first = set_big("big1");
    wait_until("the writer to be inside the first large write", || async {
        let stats = client.stats();
        stats.in_flight == 1 && stats.queue_depth == 0
    })
    .await;
    // Queued behind it, to be taken in one batch: a second large value, then MULTI.
    let second = set_big("big2");
    wait_until("the second large SET to be queued", || async {
        client.stats().queue_depth == 1
    })
    .await;
    let mut tx = client.transaction().timeout(Duration::from_millis(300));
    tx.add(client.incr("counter"));
    let late = tokio::spawn(tx.execute());
    // Let the first value through until the writer takes the batch, then stall
    // again while the second is going out: MULTI waits behind it past its deadline.
    proxy.resume();
    wait_until("the writer to take the second SET and MULTI", || async {
        client.stats().queue_depth == 0
    })
    .await;
    proxy.stall();
    let outcome = late.await.unwrap();
    assert!(matches!(outcome, Err(Error::Timeout(_))), "{outcome:?}");
    proxy.resume();
    first.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    // Whatever became of the transaction, the connection is not inside a MULTI:
    // every later command gets its own reply.
    for i in 0..20 {
        let v: Option<String> = client.get("plain").await.unwrap();
        assert_eq!(v.as_deref(), Some("value"), "reply {i}");
        let echoed: String = client.echo(format!("e{i}")).await.unwrap();
        assert_eq!(echoed, format!("e{i}"));
    }
    // It ran whole or not at all.
    let counter: Option<i64> = client.get("counter").await.unwrap();
    assert!(matches!(counter, None | Some(1)), "{counter:?}");
}
