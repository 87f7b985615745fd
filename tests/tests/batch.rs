//! Batches against a real server: one result per command, failures kept to their own
//! command, typed access, chunking by count and by bytes that lets other callers
//! through, streaming, and timeouts. The memory bound of a streamed million-command job is in
//! `batch_memory.rs` (its own binary, for its counting allocator).

use std::time::{Duration, Instant};

use futures::StreamExt;
use redmux::{Client, Error, Value, cmd};
use redmux_testkit::{FaultProxy, RedisServer};

async fn connect(server: &RedisServer) -> Client {
    Client::connect(&server.url()).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_commands_with_one_wrong_type_in_the_middle() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    client.set("text", "not a list").await.unwrap();

    const N: usize = 100_000;
    // In the middle of a chunk, not at its start: small SETs go 1,000 to a chunk, so
    // this is command 500 of the chunk from 50,000 to 50,999. A wrong offset inside
    // a chunk or a wrong chunk base would both move the error.
    const BAD: usize = 50_500;
    let mut batch = client.batch();
    for i in 0..N {
        if i == BAD {
            batch.add::<i64>(cmd("LPUSH").arg("text").arg("x"));
        } else {
            batch.add(client.set(format!("key:{i}"), i));
        }
    }
    let started = Instant::now();
    let results = batch.execute().await;
    let elapsed = started.elapsed();

    assert_eq!(results.len(), N);
    let errors: Vec<(usize, &Error)> = results.errors().collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (at, error) = errors[0];
    assert_eq!(at, BAD);
    assert_eq!(error.server_error().map(|e| e.code()), Some("WRONGTYPE"));
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), N - 1);
    assert!(results.get_at::<()>(BAD - 1).is_ok());
    assert!(results.get_at::<()>(BAD + 1).is_ok());
    // The commands after the failure ran too, its neighbours in its chunk included.
    for i in [BAD - 1, BAD + 1] {
        let v: Option<i64> = client.get(format!("key:{i}")).await.unwrap();
        assert_eq!(v, Some(i as i64));
    }
    let dbsize: i64 = client.command(cmd("DBSIZE")).await.unwrap();
    assert_eq!(dbsize as usize, N); // N - 1 keys plus "text"
    let last: Option<i64> = client.get(format!("key:{}", N - 1)).await.unwrap();
    assert_eq!(last, Some(N as i64 - 1));
    eprintln!("100,000-command batch: {elapsed:?}");
}

#[tokio::test]
async fn results_are_typed_by_their_index() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let mut batch = client.batch();
    batch.add(client.set("n", 41));
    let incremented = batch.add(client.incr("n"));
    let raw = batch.add::<Value>(cmd("GET").arg("n"));
    let missing = batch.add(client.get::<Option<String>>("missing"));
    let list = batch.add::<Vec<String>>(cmd("LRANGE").arg("nothing").arg(0).arg(-1));
    assert_eq!(batch.len(), 5);
    let mut results = batch.execute().await;

    assert_eq!(results.get(incremented).unwrap(), 42);
    assert_eq!(results.get(raw).unwrap(), Value::BulkString("42".into()));
    assert_eq!(results.get(missing).unwrap(), None);
    assert!(results.get(list).unwrap().is_empty());
    // Any position, as any type.
    assert_eq!(results.get_at::<String>(2).unwrap(), "42");
    assert!(matches!(
        results.get_at::<i64>(99),
        Err(Error::Conversion { .. })
    ));
    // A reply of the wrong type is that command's conversion error.
    assert!(matches!(
        results.get_at::<Vec<i64>>(3),
        Ok(v) if v.is_empty()
    ));
    assert_eq!(results.take(incremented).unwrap(), 42);
}

#[tokio::test]
async fn blocking_commands_are_refused_in_a_batch_and_the_rest_run() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let mut batch = client.batch();
    let before = batch.add(client.set("a", 1));
    let blocking = batch.add::<Value>(cmd("BLPOP").arg("q").arg(0));
    let after = batch.add(client.incr("a"));
    let results = batch.execute().await;
    results.get(before).unwrap();
    assert!(matches!(
        results.get(blocking),
        Err(Error::BlockingCommandRefused { .. })
    ));
    assert_eq!(results.get(after).unwrap(), 2);
}

#[tokio::test]
async fn an_empty_batch_has_no_results() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let results = client.batch().execute().await;
    assert!(results.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_callers_get_through_between_chunks() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect(&proxy.url()).await.unwrap();
    // 5 ms each way: 200 chunks of 1,000 take at least a second end to end.
    proxy.set_latency(Duration::from_millis(5));
    let mut batch = client.batch().window(2).timeout(Duration::from_secs(30));
    for i in 0..200_000 {
        batch.add(client.set(format!("k:{i}"), i));
    }
    let big = tokio::spawn(batch.execute());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let pong: String = client.command(cmd("PING")).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(pong, "PONG");
    eprintln!("PING behind a 200,000-command batch: {waited:?}");
    assert!(!big.is_finished(), "the batch finished too fast to tell");
    // It waited behind at most the window (two chunks), not the whole batch.
    assert!(waited < Duration::from_millis(500), "{waited:?}");
    let results = big.await.unwrap();
    assert_eq!(results.errors().count(), 0);
}

/// A batch of large values is cut by bytes as well as by count: 300 SETs of 8 KiB
/// (2.4 MiB, far fewer than 1,000 commands) go out in chunks of about 1 MiB. A user
/// sees it as another caller's command, sent on the same connection while the first
/// chunk is being answered, running right after that chunk rather than after the
/// whole batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_large_values_is_cut_into_chunks_of_about_a_mebibyte() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect(&proxy.url()).await.unwrap();
    let observer = connect(&server).await;
    // Commands reach the server at once; replies take 300 ms to come back. With one
    // chunk in flight (the default window of 4 would queue all three chunks at
    // once), the second is sent only once the first one's replies are in, which
    // leaves the caller below 300 ms to slip its command in between.
    proxy.set_latency_split(Duration::ZERO, Duration::from_millis(300));

    const N: usize = 300;
    const MIB: usize = 1024 * 1024;
    let value = vec![b'v'; 8 * 1024];
    // `*3 $3 SET $5 k:000 $8192 vvv...` with its CRLFs: 8,225 bytes on the wire.
    let wire = 4 + (4 + 5) + (4 + 7) + (7 + value.len() + 2);
    let mut batch = client.batch().window(1).timeout(Duration::from_secs(30));
    for i in 0..N {
        batch.add(client.set(format!("k:{i:03}"), value.as_slice()));
    }
    let big = tokio::spawn(batch.execute());

    // The first chunk is reaching the server.
    let started = Instant::now();
    while observer.dbsize().await.unwrap() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the batch never started"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Behind the first chunk on the shared connection, ahead of the second.
    let seen = client.dbsize().await.unwrap() as usize;
    assert!(
        (MIB / wire..=MIB / wire + 1).contains(&seen),
        "{seen} keys were set when another caller's DBSIZE ran: one whole chunk of \
         about 1 MiB is {} or {} SETs of {wire} bytes (all {N} means no byte limit)",
        MIB / wire,
        MIB / wire + 1,
    );

    let results = big.await.unwrap();
    assert_eq!(results.len(), N);
    assert_eq!(results.errors().count(), 0, "{:?}", results.errors().next());
    assert_eq!(observer.dbsize().await.unwrap() as usize, N);
    let last: Option<Vec<u8>> = observer.get(format!("k:{:03}", N - 1)).await.unwrap();
    assert_eq!(last, Some(value));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_commands_yields_results_in_order() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    for i in 0..50 {
        client.set(format!("k:{i}"), i).await.unwrap();
    }
    // A source that is not always ready: partial chunks go out at once.
    let (tx, rx) = tokio::sync::mpsc::channel::<usize>(8);
    tokio::spawn(async move {
        for i in 0..100 {
            tx.send(i).await.unwrap();
            if i % 10 == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
    let source = futures::stream::unfold(rx, |mut rx| async move {
        let i = rx.recv().await?;
        Some((cmd("GET").arg(format!("k:{i}")), rx))
    });
    let results: Vec<Option<i64>> = client
        .batch_stream::<Option<i64>, _>(source)
        .map(|r| r.unwrap())
        .collect()
        .await;
    let expected: Vec<Option<i64>> = (0..100).map(|i| (i < 50).then_some(i)).collect();
    assert_eq!(results, expected);
}

#[tokio::test]
async fn a_streamed_batch_reports_each_error_in_its_place() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    client.set("text", "x").await.unwrap();
    let commands = (0..5000).map(|i| {
        if i % 1000 == 999 {
            cmd("INCR").arg("text")
        } else {
            cmd("INCR").arg("counter")
        }
    });
    let results: Vec<redmux::Result<i64>> =
        client.batch_iter(commands).chunk_size(300).collect().await;
    let failed: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, [999, 1999, 2999, 3999, 4999]);
    assert_eq!(*results[4998].as_ref().unwrap(), 4995);
}

#[tokio::test]
async fn a_stalled_batch_times_out_per_chunk_instead_of_hanging() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect(&proxy.url()).await.unwrap();
    proxy.stall();
    let mut batch = client.batch().timeout(Duration::from_millis(200));
    for i in 0..2500 {
        batch.add(client.set(format!("k:{i}"), i));
    }
    let started = Instant::now();
    let results = batch.execute().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(results.errors().count(), 2500);
    assert!(
        results
            .errors()
            .all(|(_, e)| matches!(e, Error::Timeout(_))),
        "{:?}",
        results.errors().next()
    );
    proxy.resume();
}

/// `Client::stats` is one snapshot: a command is never both queued and in flight in
/// it, so a streamed batch never appears to exceed its window. (Read one after the
/// other, queue then FIFO or FIFO then queue, a sampler spinning on another thread
/// saw twice the window within a second; `batch_memory.rs` once failed on it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_never_show_a_streamed_batch_beyond_its_window() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

    const CHUNK: usize = 100;
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let done = Arc::new(AtomicBool::new(false));
    let sampler = std::thread::spawn({
        let (client, done) = (client.clone(), done.clone());
        move || {
            let mut most = 0;
            while !done.load(Relaxed) {
                let stats = client.stats();
                most = most.max(stats.queue_depth + stats.in_flight);
            }
            most
        }
    });
    let gets = (0..200_000).map(|i| cmd("GET").arg(format!("k:{}", i % 1000)));
    let mut results = client
        .batch_iter::<Option<String>, _>(gets)
        .chunk_size(CHUNK)
        .window(1);
    while let Some(value) = results.next().await {
        assert_eq!(value.unwrap(), None);
    }
    done.store(true, Relaxed);
    let most = sampler.join().unwrap();
    assert!(most <= CHUNK, "{most} outstanding in a window of {CHUNK}");
}
