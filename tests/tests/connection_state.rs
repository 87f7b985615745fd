//! Commands that change a connection's state (CLIENT REPLY, MULTI, SELECT, AUTH, ...)
//! are refused on the shared connection, however they come: directly,
//! fire-and-forget, in a batch, in a transaction. A dedicated connection takes them
//! all. Without the refusal, one caller's CLIENT REPLY SKIP or MULTI hands the other
//! callers wrong replies: the two tests that show it are here too.

use std::time::Duration;

use futures::future::join_all;
use redmux::{Client, Error, Value, cmd};
use redmux_testkit::RedisServer;

async fn connect(server: &RedisServer) -> Client {
    Client::connect(&server.url()).await.expect("connect")
}

/// Every command the shared connection refuses for changing its state, with
/// arguments a server would take.
const STATE_COMMANDS: &[&[&str]] = &[
    &["CLIENT", "REPLY", "OFF"],
    &["CLIENT", "REPLY", "SKIP"],
    &["CLIENT", "REPLY", "ON"],
    &["MULTI"],
    &["EXEC"],
    &["DISCARD"],
    &["WATCH", "k"],
    &["UNWATCH"],
    &["SELECT", "1"],
    &["HELLO", "3"],
    &["HELLO", "2", "SETNAME", "x"],
    &["AUTH", "secret"],
    &["RESET"],
    &["QUIT"],
    &["CLIENT", "TRACKING", "ON"],
    &["CLIENT", "CACHING", "YES"],
    &["CLIENT", "NO-TOUCH", "ON"],
    &["READONLY"],
    &["READWRITE"],
    &["ASKING"],
    &["SUBSCRIBE", "ch"],
    &["PSUBSCRIBE", "ch*"],
    &["SSUBSCRIBE", "ch"],
    &["UNSUBSCRIBE"],
    &["PUNSUBSCRIBE"],
    &["SUNSUBSCRIBE", "ch"],
    &["MONITOR"],
    &["SYNC"],
    &["PSYNC", "?", "-1"],
    &["REPLCONF", "listening-port", "6380"],
    &["SCRIPT", "DEBUG", "YES"],
];

fn build(words: &[&str]) -> redmux::Command {
    cmd(words[0]).args(&words[1..])
}

fn is_state_refusal<T: std::fmt::Debug>(outcome: &redmux::Result<T>) -> bool {
    matches!(outcome, Err(Error::StateCommandRefused { .. }))
}

/// The server's count of calls of `name` (from `INFO commandstats`), to show a
/// refused command never reached it.
async fn calls(client: &Client, name: &str) -> u64 {
    let stats: String = client
        .command(cmd("INFO").arg("commandstats"))
        .await
        .unwrap();
    let prefix = format!("cmdstat_{}:calls=", name.to_ascii_lowercase());
    stats
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test]
async fn refused_directly_fire_and_forget_in_a_batch_and_in_a_transaction() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    for words in STATE_COMMANDS {
        let direct = client.command::<Value>(build(words)).await;
        assert!(is_state_refusal(&direct), "{words:?} direct: {direct:?}");
        let e = direct.unwrap_err();
        assert!(e.status().safe_to_retry() && !e.is_retryable(), "{e}");
        // The message names the command and an alternative.
        let text = e.to_string();
        assert!(
            text.contains(&words[0].to_ascii_uppercase()) && text.contains("use "),
            "{text}"
        );

        let forgotten = client.command::<()>(build(words)).fire_and_forget();
        assert!(is_state_refusal(&forgotten), "{words:?} fire-and-forget");
        let flagged = client
            .command::<()>(build(words))
            .flags(redmux::Flags::FIRE_AND_FORGET)
            .await;
        assert!(is_state_refusal(&flagged), "{words:?} FIRE_AND_FORGET flag");

        // In a batch: that command alone fails, the others run.
        let mut batch = client.batch();
        let before = batch.add(client.incr("batch:n"));
        let refused = batch.add::<Value>(build(words));
        let refused_request = batch.add(client.command::<Value>(build(words)));
        let after = batch.add(client.incr("batch:n"));
        let results = batch.execute().await;
        let (n0, n1) = (results.get(before).unwrap(), results.get(after).unwrap());
        assert_eq!(n1, n0 + 1, "{words:?}");
        assert!(is_state_refusal(&results.get(refused)), "{words:?} batch");
        assert!(
            is_state_refusal(&results.get(refused_request)),
            "{words:?} batch"
        );

        // In a transaction: refused as a whole, nothing runs.
        let mut tx = client.transaction();
        tx.add(client.incr("tx:n"));
        tx.add::<Value>(build(words));
        let outcome = tx.execute().await;
        assert!(is_state_refusal(&outcome), "{words:?} transaction");
    }
    assert_eq!(client.get::<Option<i64>>("tx:n").await.unwrap(), None);

    // None of them reached the server, and the connection is as it was.
    for name in [
        "select",
        "multi",
        "exec",
        "watch",
        "client|reply",
        "auth",
        "reset",
        "quit",
    ] {
        assert_eq!(calls(&client, name).await, 0, "{name} reached the server");
    }
    let info: redmux::ClientInfo = client.client_info().await.unwrap();
    assert_eq!(info.db(), Some(0));
    client.set("still", "fine").await.unwrap();
    assert_eq!(client.get::<String>("still").await.unwrap(), "fine");
}

#[tokio::test]
async fn what_stays_allowed_on_the_shared_connection() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    // HELLO with no arguments only reports.
    let hello: Value = client.command(cmd("HELLO")).await.unwrap();
    assert!(!matches!(hello, Value::Nil));
    // A label, not state any command or reply depends on.
    client
        .command::<()>(cmd("CLIENT").args(["SETNAME", "allowed"]))
        .await
        .unwrap();
    client
        .command::<()>(cmd("CLIENT").args(["NO-EVICT", "ON"]))
        .await
        .unwrap();
    let id: i64 = client.command(cmd("CLIENT").arg("ID")).await.unwrap();
    assert!(id > 0);
    let _: Value = client
        .command(cmd("CLIENT").arg("TRACKINGINFO"))
        .await
        .unwrap();
    assert_eq!(
        client.client_getname().await.unwrap().as_deref(),
        Some("allowed")
    );
}

/// Each command is sent on a dedicated connection of its own, and reaches the server:
/// it is answered (perhaps with an error, as `EXEC` without `MULTI` is), or, for
/// the ones that silence or take over the connection, not answered at all. Never
/// refused.
#[tokio::test]
async fn every_one_is_accepted_on_a_dedicated_connection() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    for words in STATE_COMMANDS {
        let conn = client.dedicated().await.unwrap();
        let outcome = tokio::time::timeout(
            Duration::from_millis(300),
            conn.command::<Value>(build(words)),
        )
        .await;
        if let Ok(reply) = outcome {
            assert!(
                !matches!(
                    reply,
                    Err(Error::StateCommandRefused { .. } | Error::BlockingCommandRefused { .. })
                ),
                "{words:?} refused on a dedicated connection: {reply:?}"
            );
        }
    }
    // The shared connection saw none of it.
    assert_eq!(client.get::<Option<String>>("k").await.unwrap(), None);
    assert_eq!(client.client_info().await.unwrap().db(), Some(0));
}

#[tokio::test]
async fn select_on_a_dedicated_connection_moves_only_it() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let conn = client.dedicated().await.unwrap();
    conn.command::<()>(cmd("SELECT").arg(1)).await.unwrap();
    conn.command::<()>(cmd("SET").arg("where").arg("db1"))
        .await
        .unwrap();
    // The shared client is still on database 0.
    assert_eq!(client.get::<Option<String>>("where").await.unwrap(), None);
    let db1 = Client::connect(&format!("{}/1", server.url()))
        .await
        .unwrap();
    assert_eq!(db1.get::<String>("where").await.unwrap(), "db1");
}

#[tokio::test]
async fn watch_multi_exec_by_hand_on_a_dedicated_connection() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    client.set("balance", 10).await.unwrap();
    let conn = client.dedicated().await.unwrap();

    // Untouched: EXEC runs.
    conn.command::<()>(cmd("WATCH").arg("balance"))
        .await
        .unwrap();
    conn.command::<()>(cmd("MULTI")).await.unwrap();
    let queued: String = conn
        .command(cmd("DECRBY").arg("balance").arg(3))
        .await
        .unwrap();
    assert_eq!(queued, "QUEUED");
    let ran: Vec<i64> = conn.command(cmd("EXEC")).await.unwrap();
    assert_eq!(ran, [7]);

    // Changed by the shared client in between: EXEC answers nil and nothing runs.
    conn.command::<()>(cmd("WATCH").arg("balance"))
        .await
        .unwrap();
    client.set("balance", 100).await.unwrap();
    conn.command::<()>(cmd("MULTI")).await.unwrap();
    let _: String = conn
        .command(cmd("DECRBY").arg("balance").arg(3))
        .await
        .unwrap();
    let aborted: Option<Vec<i64>> = conn.command(cmd("EXEC")).await.unwrap();
    assert_eq!(aborted, None);
    assert_eq!(client.get::<i64>("balance").await.unwrap(), 100);
    // The shared client's GETs were never queued into that transaction.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reply_off_on_a_dedicated_connection_leaves_the_shared_one_alone() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let conn = client.dedicated().await.unwrap();
    // CLIENT REPLY OFF has no reply: the call waits until it is given up.
    let silenced = tokio::time::timeout(
        Duration::from_millis(200),
        conn.command::<Value>(cmd("CLIENT").args(["REPLY", "OFF"])),
    )
    .await;
    assert!(
        silenced.is_err(),
        "CLIENT REPLY OFF was answered: {silenced:?}"
    );
    let mine: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client.set(format!("k:{i}"), i).await.unwrap();
                client.get::<i64>(format!("k:{i}")).await.unwrap()
            })
        })
        .collect();
    for (i, got) in join_all(mine).await.into_iter().enumerate() {
        assert_eq!(got.unwrap(), i as i64);
    }
}

/// Callers each read their own key over and over, on one client, while one of them
/// tries `refused` (fire-and-forget and awaited). Returns the reads that came back
/// with someone else's value (or failed), and what the `refused` attempts gave.
async fn bystanders_while_one_sends(
    client: &Client,
    refused: &'static [&'static str],
) -> (Vec<String>, Vec<redmux::Result<Value>>) {
    const CALLERS: usize = 8;
    const READS: usize = 200;
    for owner in 0..CALLERS {
        client
            .set(format!("owner:{owner}"), format!("value of {owner}"))
            .await
            .unwrap();
    }
    let readers: Vec<_> = (0..CALLERS)
        .map(|owner| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut wrong = Vec::new();
                for _ in 0..READS {
                    let got = client
                        .get::<String>(format!("owner:{owner}"))
                        .timeout(Duration::from_secs(2))
                        .await;
                    match got {
                        Ok(v) if v == format!("value of {owner}") => {}
                        other => wrong.push(format!("owner:{owner} got {other:?}")),
                    }
                    tokio::task::yield_now().await;
                }
                wrong
            })
        })
        .collect();
    let sender = {
        let client = client.clone();
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(2)).await;
                let forgotten = client.command::<Value>(build(refused)).fire_and_forget();
                outcomes.push(forgotten.map(|()| Value::Nil));
                let awaited = client
                    .command::<Value>(build(refused))
                    .timeout(Duration::from_secs(2))
                    .await;
                outcomes.push(awaited);
            }
            outcomes
        })
    };
    let mut wrong = Vec::new();
    for reader in join_all(readers).await {
        wrong.extend(reader.unwrap());
    }
    (wrong, sender.await.unwrap())
}

/// The desync the refusal prevents: CLIENT REPLY SKIP silences itself and the next
/// command, whoever sent it, and every later reply then goes to the caller before
/// its owner (a GET for `owner:1` answered with `owner:2`'s value).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reply_skip_cannot_give_other_callers_wrong_replies() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let (wrong, outcomes) = bystanders_while_one_sends(&client, &["CLIENT", "REPLY", "SKIP"]).await;
    assert!(
        wrong.is_empty(),
        "{} reads got a wrong reply, first: {:?}",
        wrong.len(),
        wrong.first()
    );
    for outcome in &outcomes {
        assert!(is_state_refusal(outcome), "{outcome:?}");
    }
    let stats = client.stats();
    assert_eq!(stats.commands_sent, stats.replies, "{stats:?}");
}

/// A raw MULTI would make every other caller's command answer `QUEUED`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_multi_cannot_queue_other_callers_commands() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let (wrong, outcomes) = bystanders_while_one_sends(&client, &["MULTI"]).await;
    assert!(
        wrong.is_empty(),
        "{} reads got a wrong reply, first: {:?}",
        wrong.len(),
        wrong.first()
    );
    for outcome in &outcomes {
        assert!(is_state_refusal(outcome), "{outcome:?}");
    }
}

/// A user's argument type that tries its worst: bytes that look like the end of the
/// argument and the start of a new command, an empty argument, one large one.
#[derive(Clone)]
enum Hostile {
    Smuggler,
    Empty,
    Huge(usize),
}

impl Hostile {
    fn payload(&self) -> Vec<u8> {
        match self {
            Hostile::Smuggler => {
                b"\r\n$3\r\nfoo\r\n*2\r\n$4\r\nINCR\r\n$8\r\nsmuggled\r\n".to_vec()
            }
            Hostile::Empty => Vec::new(),
            Hostile::Huge(len) => (0..*len).map(|i| b"\r\n*$"[i % 4]).collect(),
        }
    }
}

impl redmux::ToArg for Hostile {
    fn to_arg(&self) -> redmux::Arg<'_> {
        redmux::Arg::owned(self.payload())
    }
}

/// Implementing `ToArg` needs nothing but redmux, and whatever bytes an impl hands
/// over, the library frames them: the value round-trips byte for byte, and every
/// other caller on the same client gets its own replies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_to_arg_cannot_break_other_callers_replies() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let hostile = [
        Hostile::Smuggler,
        Hostile::Empty,
        Hostile::Huge(100_000),
        Hostile::Huge(3),
    ];
    let bystanders: Vec<_> = (0..16)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..100 {
                    let mine = format!("bystander {t} round {i}");
                    let back: String = client.command(cmd("ECHO").arg(&mine)).await.unwrap();
                    assert_eq!(back, mine);
                }
            })
        })
        .collect();
    let users: Vec<_> = hostile
        .iter()
        .enumerate()
        .map(|(k, value)| {
            let client = client.clone();
            let value = value.clone();
            tokio::spawn(async move {
                for round in 0..20 {
                    let key = format!("hostile:{k}:{round}");
                    client.set(&key, value.clone()).await.unwrap();
                    // As a key too, in a command of its own making.
                    client
                        .command::<()>(cmd("SET").arg(value.clone()).arg(&key))
                        .await
                        .unwrap();
                    let back: Vec<u8> = client.get(&key).await.unwrap();
                    assert_eq!(back, value.payload(), "value {k} round {round}");
                    let back: Vec<u8> = client.get(value.clone()).await.unwrap();
                    assert_eq!(back, key.as_bytes(), "key {k} round {round}");
                }
            })
        })
        .collect();
    for task in join_all(bystanders.into_iter().chain(users)).await {
        task.unwrap();
    }
    // Nothing was smuggled in as a command of its own: one reply per command.
    let stats = client.stats();
    assert_eq!(stats.commands_sent, stats.replies, "{stats:?}");
    assert!(!client.exists("smuggled").await.unwrap());
}
