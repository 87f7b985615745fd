//! Scripts and functions against a real server: EVALSHA with an invisible reload
//! that survives SCRIPT FLUSH (alone, in batches and in transactions), script
//! errors, FUNCTION LOAD / FCALL / FCALL_RO, and the admin commands: SCRIPT EXISTS,
//! FLUSH and KILL, FUNCTION LIST and FLUSH.

use std::time::{Duration, Instant};

use redmux::{Client, Error, FlushMode, FunctionInfo, FunctionListOptions, Script, cmd};
use redmux_testkit::RedisServer;

async fn connect(server: &RedisServer) -> Client {
    Client::connect(&server.url()).await.expect("connect")
}

fn incr_by() -> Script {
    Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])")
}

async fn script_flush(client: &Client) {
    client.script_flush().await.unwrap();
}

async fn cached(client: &Client, script: &Script) -> bool {
    let exists = client.script_exists([script.sha1()]).await.unwrap();
    exists == [true]
}

async fn commands_run(client: &Client, name: &str) -> u64 {
    let info: String = client
        .command(cmd("INFO").arg("commandstats"))
        .await
        .unwrap();
    let prefix = format!("cmdstat_{name}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_sha1_is_the_one_the_server_computes() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let script = incr_by();
    let loaded: String = script.load(&client).await.unwrap();
    assert_eq!(loaded, script.sha1());
    assert!(cached(&client, &script).await);
}

#[tokio::test]
async fn a_script_survives_script_flush() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let script = incr_by();
    // Never loaded: the first call finds NOSCRIPT and reloads by itself.
    let n: i64 = script.invoke(&client).key("n").arg(5).await.unwrap();
    assert_eq!(n, 5);
    assert!(cached(&client, &script).await);
    let n: i64 = script.invoke(&client).key("n").arg(1).await.unwrap();
    assert_eq!(n, 6);

    script_flush(&client).await;
    assert!(!cached(&client, &script).await);
    let n: i64 = script.invoke(&client).key("n").arg(1).await.unwrap();
    assert_eq!(n, 7, "ran exactly once after the flush");
    assert!(cached(&client, &script).await);
    // Three EVALSHAs, two of them missing (the first call, the one after the
    // flush), and one EVAL per miss.
    assert_eq!(commands_run(&client, "evalsha").await, 3);
    assert_eq!(commands_run(&client, "eval").await, 2);
}

#[tokio::test]
async fn scripts_in_a_batch_survive_script_flush() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let script = incr_by();
    let other = Script::new("return ARGV[1] .. KEYS[1]");
    script_flush(&client).await;
    let mut batch = client.batch().chunk_size(100);
    let mut sums = Vec::new();
    for i in 0..250 {
        sums.push(batch.add(script.call::<i64>().key("n").arg(1)));
        if i % 100 == 50 {
            batch.add(other.call::<String>().key("k").arg("a"));
        }
    }
    let results = batch.execute().await;
    assert_eq!(results.errors().count(), 0, "{:?}", results.errors().next());
    let last = *sums.last().unwrap();
    assert_eq!(results.get(last).unwrap(), 250);
    // One EVAL per script per chunk of 100 (the first script in three chunks,
    // the second in the two it appears in), EVALSHA for the rest.
    assert_eq!(commands_run(&client, "eval").await, 3 + 2);
    assert_eq!(commands_run(&client, "evalsha").await, 252 - 5);
}

#[tokio::test]
async fn scripts_in_a_transaction_survive_script_flush() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let script = incr_by();
    script_flush(&client).await;
    let mut tx = client.transaction();
    tx.add_condition(redmux::Condition::key_not_exists("lock"));
    let first = tx.add(script.call::<i64>().key("n").arg(2));
    let second = tx.add(script.call::<i64>().key("n").arg(3));
    let results = tx.execute().await.unwrap().committed().expect("committed");
    assert_eq!(results.get(first).unwrap(), 2);
    assert_eq!(results.get(second).unwrap(), 5);
}

#[tokio::test]
async fn a_failing_script_reports_the_servers_error() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    // The script runs and fails inside: the caller gets the script's own error, not
    // the NOSCRIPT of the EVALSHA tried first (which the fallback to EVAL hides).
    // Redis and Valkey word the message differently, so only the code is read.
    let broken = Script::new("return redis.call('NO-SUCH-COMMAND')");
    let e = broken.invoke::<()>(&client).await.unwrap_err();
    let Error::Server(server_error) = &e else {
        panic!("{e:?}");
    };
    assert_eq!(server_error.code(), "ERR", "{e}");
    // A script that does not compile: the same, and the connection still serves.
    let bad_lua = Script::new("this is not lua");
    let e = bad_lua.invoke::<()>(&client).await.unwrap_err();
    let Error::Server(server_error) = &e else {
        panic!("{e:?}");
    };
    assert_eq!(server_error.code(), "ERR", "{e}");
    let fine = Script::new("return 1");
    assert_eq!(fine.invoke::<i64>(&client).await.unwrap(), 1);
}

const LIBRARY: &str = "#!lua name=counters
redis.register_function('bump', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)
redis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}";

#[tokio::test]
async fn functions_load_replace_and_call() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let library: String = client.function_load(LIBRARY).await.unwrap();
    assert_eq!(library, "counters");
    let again = client.function_load(LIBRARY).await.unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");
    let replaced: String = client.function_load_replace(LIBRARY).await.unwrap();
    assert_eq!(replaced, "counters");

    let n: i64 = client.fcall("bump").key("hits").arg(3).await.unwrap();
    assert_eq!(n, 3);
    let peeked: Option<i64> = client.fcall_ro("peek").key("hits").await.unwrap();
    assert_eq!(peeked, Some(3));
    let refused = client
        .fcall_ro::<i64>("bump")
        .key("hits")
        .arg(1)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("write flag using *_ro"),
        "{refused}"
    );

    let mut batch = client.batch();
    let bumped = batch.add(client.fcall::<i64>("bump").key("hits").arg(10));
    let read = batch.add(client.fcall_ro::<String>("peek").key("hits"));
    let results = batch.execute().await;
    assert_eq!(results.get(bumped).unwrap(), 13);
    assert_eq!(results.get(read).unwrap(), "13");

    client.function_delete("counters").await.unwrap();
    let gone = client
        .fcall::<i64>("bump")
        .key("hits")
        .arg(1)
        .await
        .unwrap_err();
    assert!(gone.to_string().contains("Function not found"), "{gone}");
}

#[tokio::test]
async fn script_exists_answers_for_each_script_in_order() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let loaded = incr_by();
    let never = Script::new("return 'never loaded'");
    loaded.load(&client).await.unwrap();
    assert_eq!(
        client
            .script_exists([never.sha1(), loaded.sha1(), never.sha1()])
            .await
            .unwrap(),
        [false, true, false]
    );
    let e = client
        .script_exists(Vec::<String>::new())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("wrong number of arguments"), "{e}");
}

#[tokio::test]
async fn script_flush_sync_and_async_empty_the_cache() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let script = incr_by();
    for mode in [FlushMode::Sync, FlushMode::Async] {
        script.load(&client).await.unwrap();
        assert!(cached(&client, &script).await);
        client.script_flush_with(mode).await.unwrap();
        assert!(!cached(&client, &script).await, "{mode:?}");
        // And the script still runs, reloaded by itself.
        let n: i64 = script.invoke(&client).key("n").arg(1).await.unwrap();
        assert!(n > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_kill_stops_a_running_script_from_another_client() {
    let server = RedisServer::start().unwrap();
    let busy = connect(&server).await;
    let admin = connect(&server).await;
    let e = admin.script_kill().await.unwrap_err();
    assert_eq!(
        e.server_error().map(|e| e.code()),
        Some("NOTBUSY"),
        "nothing runs yet: {e}"
    );
    // The server takes other connections' commands while a script runs only past
    // this threshold (5 s by default).
    admin.config_set("busy-reply-threshold", 100).await.unwrap();

    let forever = Script::new("while true do end");
    let running = tokio::spawn(async move {
        let outcome = forever.invoke::<()>(&busy).await;
        (outcome, busy)
    });
    // NOTBUSY until the script has started; then the kill waits out the threshold
    // and succeeds.
    let started = Instant::now();
    loop {
        match admin.script_kill().await {
            Ok(()) => break,
            Err(e) if e.server_error().map(|e| e.code()) == Some("NOTBUSY") => {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "the script never started"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    let (outcome, busy) = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the script's caller got its answer")
        .unwrap();
    let e = outcome.unwrap_err();
    assert!(e.to_string().contains("killed"), "{e}");
    // Its connection works again.
    let pong: String = busy.command(cmd("PING")).await.unwrap();
    assert_eq!(pong, "PONG");
}

/// FUNCTION LIST and FUNCTION FLUSH, typed, alike over RESP2 and RESP3.
async fn function_list_and_flush(client: &Client) {
    assert!(client.function_list().await.unwrap().is_empty());
    client.function_load(LIBRARY).await.unwrap();

    let libraries = client.function_list().await.unwrap();
    assert_eq!(libraries.len(), 1, "{libraries:?}");
    let library = &libraries[0];
    assert_eq!(library.name, "counters");
    assert_eq!(library.engine, "LUA");
    assert_eq!(library.code, None, "no code without WITHCODE");
    let mut functions = library.functions.clone();
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        functions,
        [
            FunctionInfo {
                name: "bump".into(),
                description: None,
                flags: vec![],
            },
            FunctionInfo {
                name: "peek".into(),
                description: None,
                flags: vec!["no-writes".into()],
            },
        ]
    );

    let with_code = client
        .function_list_with(
            FunctionListOptions::new()
                .library_name("count*")
                .with_code(),
        )
        .await
        .unwrap();
    assert_eq!(with_code.len(), 1);
    assert_eq!(with_code[0].code.as_deref(), Some(LIBRARY));
    let none = client
        .function_list_with(FunctionListOptions::new().library_name("other*"))
        .await
        .unwrap();
    assert!(none.is_empty());

    client.function_flush().await.unwrap();
    assert!(client.function_list().await.unwrap().is_empty());
    let gone = client
        .fcall::<i64>("bump")
        .key("n")
        .arg(1)
        .await
        .unwrap_err();
    assert!(gone.to_string().contains("Function not found"), "{gone}");

    client.function_load(LIBRARY).await.unwrap();
    client.function_flush_with(FlushMode::Async).await.unwrap();
    assert!(client.function_list().await.unwrap().is_empty());
    client.function_load(LIBRARY).await.unwrap();
    client.function_flush_with(FlushMode::Sync).await.unwrap();
    assert!(client.function_list().await.unwrap().is_empty());
}

#[tokio::test]
async fn function_list_and_flush_over_resp2() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    function_list_and_flush(&client).await;
}

#[tokio::test]
async fn function_list_and_flush_over_resp3() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&format!("{}?protocol=resp3", server.url()))
        .await
        .unwrap();
    function_list_and_flush(&client).await;
}
