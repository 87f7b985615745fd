//! The multiplexer's invariants against a real server: replies reach their callers,
//! one caller's order holds, fire-and-forget returns at once, cancellation is safe,
//! errors stay with their command, blocking commands are refused.

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use futures::future::join_all;
use redmux::{Client, Error, Value, cmd};
use redmux_testkit::{FaultProxy, RedisServer};

async fn connect(server: &RedisServer) -> Client {
    Client::connect(&server.url()).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tasks_each_get_their_own_values() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let tasks: Vec<_> = (0..1000)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    let key = format!("task:{t}:{i}");
                    let value = format!("value-{t}-{i}-{}", "x".repeat((t * 7 + i) % 50));
                    client.set(&key, &value).await.unwrap();
                    let back: Option<String> = client.get(&key).await.unwrap();
                    assert_eq!(back.as_deref(), Some(value.as_str()), "{key}");
                }
            })
        })
        .collect();
    for t in join_all(tasks).await {
        t.unwrap();
    }
    let stats = client.stats();
    assert_eq!(stats.commands_sent, stats.replies);
    assert!(stats.commands_sent >= 40_000);
    // Under this load the writer must have batched: far fewer writes than commands.
    assert!(stats.commands_per_write() > 1.5, "{stats:?}");
}

#[tokio::test]
async fn one_callers_commands_keep_their_order() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    for i in 0..200 {
        // Issued without awaiting in between: the push must reach the server first.
        let push = client
            .command::<i64>(cmd("LPUSH").arg("list").arg(i))
            .into_future();
        let pop = client
            .command::<Option<i64>>(cmd("LPOP").arg("list"))
            .into_future();
        // Polled in the opposite order: what counts is the order they were issued in.
        let (popped, length) = tokio::join!(pop, push);
        assert_eq!((popped.unwrap(), length.unwrap()), (Some(i), 1));
    }
}

#[tokio::test]
async fn fire_and_forget_returns_before_any_reply() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect(&proxy.url()).await.unwrap();
    client.set("session", "data").await.unwrap();
    let replies_before = client.stats().replies;

    // Nothing is forwarded while stalled, so no reply can come: the call must return anyway.
    proxy.stall();
    client
        .expire("session", Duration::from_secs(300))
        .fire_and_forget()
        .unwrap();
    assert_eq!(client.stats().replies, replies_before);
    proxy.resume();

    let ttl: i64 = client.command(cmd("TTL").arg("session")).await.unwrap();
    assert!((290..=300).contains(&ttl), "ttl {ttl}");
    assert_eq!(client.stats().fire_and_forget_errors, 0);
}

/// A time to live under a second, or with a fraction of one, keeps the key: it is
/// never cut to `EXPIRE key 0`, which deletes it, nor to the whole second below.
#[tokio::test]
async fn sub_second_expiries_keep_the_key() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let pttl = |key: &'static str| {
        let client = client.clone();
        async move { client.pttl(key).await.unwrap() }
    };
    // When a key expires, in Unix milliseconds (Redis 7.0+).
    let expires_at = |key: &'static str| {
        let client = client.clone();
        async move {
            client
                .command::<i64>(cmd("PEXPIRETIME").arg(key))
                .await
                .unwrap()
        }
    };
    // A time to the millisecond: what a fractional time must be sent as.
    let unix_millis = |at: std::time::SystemTime| {
        let d = at.duration_since(std::time::UNIX_EPOCH).unwrap();
        d.as_millis() as i64
    };

    client.set("half", "v").await.unwrap();
    assert!(
        client
            .expire("half", Duration::from_millis(500))
            .await
            .unwrap()
    );
    let left = pttl("half").await;
    assert!(0 < left && left <= 500, "pttl {left}");
    assert!(client.exists("half").await.unwrap());

    // A fraction over whole seconds is kept too: 2.9 s, not 2.
    client.set("fraction", "v").await.unwrap();
    client
        .expire("fraction", Duration::from_millis(2900))
        .fire_and_forget()
        .unwrap();
    let left = pttl("fraction").await;
    assert!(2000 < left && left <= 2900, "pttl {left}");

    // Under a millisecond rounds up to one, not down to PEXPIRE key 0.
    client.set("tiny", "v").await.unwrap();
    let set = client
        .pexpire("tiny", Duration::from_micros(300))
        .await
        .unwrap();
    assert!(set, "PEXPIRE 1 on an existing key sets a timeout");

    // An absolute time is kept to the millisecond, not moved to the second before.
    client.set("at", "v").await.unwrap();
    let at = std::time::SystemTime::now() + Duration::from_millis(2500);
    client.expireat("at", at).await.unwrap();
    assert_eq!(expires_at("at").await, unix_millis(at));

    // The same for the expiries SET and GETEX take.
    client
        .set_with(
            "set-ex",
            "v",
            redmux::SetOptions::new().ex(Duration::from_millis(500)),
        )
        .await
        .unwrap();
    let left = pttl("set-ex").await;
    assert!(0 < left && left <= 500, "pttl {left}");
    let v: Option<String> = client
        .getex("set-ex", redmux::Expiry::Ex(Duration::from_millis(2900)))
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("v"));
    let left = pttl("set-ex").await;
    assert!(2000 < left && left <= 2900, "pttl {left}");
    let at = std::time::SystemTime::now() + Duration::from_millis(2500);
    client
        .getex::<String>("set-ex", redmux::Expiry::ExAt(at))
        .await
        .unwrap();
    assert_eq!(expires_at("set-ex").await, unix_millis(at));
}

#[tokio::test]
async fn the_fire_and_forget_flag_resolves_at_once_with_an_empty_value() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let n: i64 = client
        .incr("hits")
        .flags(redmux::Flags::FIRE_AND_FORGET)
        .await
        .unwrap();
    assert_eq!(
        n, 0,
        "no reply is awaited, so the value is the type's empty one"
    );
    let v: Option<String> = client
        .get("hits")
        .flags(redmux::Flags::FIRE_AND_FORGET)
        .await
        .unwrap();
    assert_eq!(v, None);
    // Both were sent: the INCR ran.
    assert_eq!(client.get::<i64>("hits").await.unwrap(), 1);
}

#[tokio::test]
async fn fire_and_forget_errors_are_counted_not_delivered() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    client.set("s", "text").await.unwrap();
    client.incr("s").fire_and_forget().unwrap();
    // A later awaited command proves the earlier reply was read.
    let _: Value = client.command(cmd("PING")).await.unwrap();
    assert_eq!(client.stats().fire_and_forget_errors, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_requests_leave_other_answers_right() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    proxy.set_latency(Duration::from_millis(2));
    let client = Client::connect(&proxy.url()).await.unwrap();
    for i in 0..100 {
        client.set(format!("k{i}"), format!("v{i}")).await.unwrap();
    }
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                for round in 0..20 {
                    match round % 4 {
                        // Dropped mid-flight.
                        0 => {
                            let f = client
                                .get::<String>(format!("k{}", (i + 1) % 100))
                                .into_future();
                            let _ = tokio::time::timeout(Duration::from_micros(500), f).await;
                        }
                        // A zero timeout.
                        1 => {
                            let r = client
                                .get::<String>(format!("k{}", (i + 2) % 100))
                                .timeout(Duration::ZERO)
                                .await;
                            // A timeout; or, if this task was preempted for a whole
                            // round trip before its first poll, the reply already in
                            // (the reply is there before the timer is looked at). Never
                            // someone else's value.
                            let own = format!("v{}", (i + 2) % 100);
                            assert!(
                                matches!(&r, Err(Error::Timeout(_)))
                                    || r.as_deref().is_ok_and(|v| v == own),
                                "{r:?}"
                            );
                        }
                        // Never polled at all.
                        2 => drop(
                            client
                                .get::<String>(format!("k{}", (i + 3) % 100))
                                .into_future(),
                        ),
                        _ => {}
                    }
                    let v: String = client.get(format!("k{i}")).await.unwrap();
                    assert_eq!(v, format!("v{i}"));
                }
            })
        })
        .collect();
    for t in join_all(tasks).await {
        t.unwrap();
    }
}

#[tokio::test]
async fn server_errors_and_type_mismatches_stay_with_their_command() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    client.set("s", "not a number").await.unwrap();

    match client.incr("s").await {
        Err(Error::Server(e)) => assert_eq!(e.code(), "ERR"),
        other => panic!("expected a server error, got {other:?}"),
    }
    client
        .command::<i64>(cmd("LPUSH").arg("l").arg("x"))
        .await
        .unwrap();
    match client.get::<String>("l").await {
        Err(Error::Server(e)) => assert_eq!(e.code(), "WRONGTYPE"),
        other => panic!("expected WRONGTYPE, got {other:?}"),
    }
    // A conversion error: the reply came and was read, so the stream stays aligned.
    match client.get::<i64>("s").await {
        Err(Error::Conversion { expected, got, .. }) => {
            assert_eq!(expected, "integer");
            assert!(got.contains("not a number"), "{got}");
        }
        other => panic!("expected a conversion error, got {other:?}"),
    }
    let v: String = client.get("s").await.unwrap();
    assert_eq!(v, "not a number");
    match client.command::<Value>(cmd("NOSUCHCOMMAND")).await {
        Err(e @ Error::Server(_)) => assert!(e.to_string().contains("unknown command"), "{e}"),
        other => panic!("{other:?}"),
    }
}

/// Every blocking command is refused before it is sent, with an error naming the
/// alternative, while the shared connection goes on serving everyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_commands_are_refused_at_once() {
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    // Other callers keep using the connection throughout.
    let others: Vec<_> = (0..20)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    let value = format!("{t}-{i}");
                    client.set(format!("other:{t}"), &value).await.unwrap();
                    let back: String = client.get(format!("other:{t}")).await.unwrap();
                    assert_eq!(back, value);
                }
            })
        })
        .collect();
    let refused = [
        cmd("BLPOP").arg("q").arg(0),
        cmd("brpop").arg("q").arg(0),
        cmd("BLMOVE")
            .arg("a")
            .arg("b")
            .arg("LEFT")
            .arg("RIGHT")
            .arg(0),
        cmd("BRPOPLPUSH").arg("a").arg("b").arg(0),
        cmd("BZPOPMIN").arg("z").arg(0),
        cmd("bzpopmax").arg("z").arg(0),
        cmd("BLMPOP").arg(0).arg(1).arg("q").arg("LEFT"),
        cmd("BZMPOP").arg(0).arg(1).arg("z").arg("MIN"),
        cmd("XREAD").args(["BLOCK", "0", "STREAMS", "s", "$"]),
        cmd("XREAD").args(["COUNT", "1", "block", "0", "STREAMS", "s", "$"]),
        cmd("XREADGROUP").args(["GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"]),
        // A group named like the STREAMS keyword does not hide the BLOCK after it.
        cmd("XREADGROUP").args([
            "GROUP", "streams", "streams", "BLOCK", "0", "STREAMS", "s", ">",
        ]),
        cmd("WAIT").arg(1).arg(0),
        cmd("WAITAOF").arg(1).arg(0).arg(0),
    ];
    let started = Instant::now();
    for c in refused {
        let name = c.name().to_ascii_uppercase();
        match client.command::<Value>(c).await {
            Err(e @ Error::BlockingCommandRefused { .. }) => {
                let text = e.to_string();
                assert!(
                    text.starts_with(&name) && text.contains("client.dedicated()"),
                    "{text}"
                );
                assert!(e.status().safe_to_retry());
            }
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    for t in join_all(others).await {
        t.unwrap();
    }
    // None of them reached the server.
    let stats: String = client
        .command(cmd("INFO").arg("commandstats"))
        .await
        .unwrap();
    for name in [
        "blpop",
        "brpop",
        "blmove",
        "brpoplpush",
        "bzpopmin",
        "bzpopmax",
        "blmpop",
        "bzmpop",
        "xread",
        "xreadgroup",
        "wait",
        "waitaof",
    ] {
        assert!(
            !stats.contains(&format!("cmdstat_{name}:")),
            "{name} was sent: {stats}"
        );
    }

    // Non-blocking reads go through, whatever their group, consumer and streams
    // are called.
    let r: Value = client
        .command(cmd("XREAD").args(["COUNT", "1", "STREAMS", "s", "0"]))
        .await
        .unwrap();
    assert_eq!(r, Value::Nil);
    client
        .command::<()>(cmd("XGROUP").args(["CREATE", "block", "block", "$", "MKSTREAM"]))
        .await
        .unwrap();
    let id: String = client
        .command(cmd("XADD").args(["block", "*", "f", "v"]))
        .await
        .unwrap();
    let read: Value = client
        .command(cmd("XREADGROUP").args([
            "GROUP", "block", "block", "COUNT", "1", "STREAMS", "block", ">",
        ]))
        .await
        .unwrap();
    assert!(format!("{read:?}").contains(&id), "{read:?}");
    let stats = client.stats();
    assert_eq!(stats.commands_sent, stats.replies, "{stats:?}");
}

#[tokio::test]
async fn timeouts_say_whether_the_command_was_sent() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect(&proxy.url()).await.unwrap();
    proxy.stall();
    let started = Instant::now();
    let err = client
        .get::<Option<String>>("k")
        .timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(100) && elapsed < Duration::from_millis(400),
        "{elapsed:?}"
    );
    let Error::Timeout(d) = &err else {
        panic!("expected a timeout, got {err:?}")
    };
    assert_eq!(d.command, "GET");
    assert!(
        !d.status.safe_to_retry(),
        "written to the socket, so it may have run: {d}"
    );
    assert!(err.to_string().contains("in flight"), "{err}");
    proxy.resume();
    // The late reply to the timed-out GET is discarded; the next answer is right.
    client.set("k", "v").await.unwrap();
    let v: Option<String> = client.get("k").await.unwrap();
    assert_eq!(v.as_deref(), Some("v"));
}

#[tokio::test]
async fn dropping_the_last_clone_closes_the_connection() {
    let server = RedisServer::start().unwrap();
    let observer = connect(&server).await;
    let count = |list: String| list.lines().count();
    let before = count(observer.command(cmd("CLIENT").arg("LIST")).await.unwrap());
    let client = connect(&server).await;
    let clone = client.clone();
    client.set("last", "words").fire_and_forget().unwrap();
    drop(client);
    // Still one clone alive: still connected.
    clone.get::<Option<String>>("x").await.unwrap();
    assert_eq!(
        count(observer.command(cmd("CLIENT").arg("LIST")).await.unwrap()),
        before + 1
    );
    drop(clone);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = count(observer.command(cmd("CLIENT").arg("LIST")).await.unwrap());
        if now == before {
            break;
        }
        assert!(Instant::now() < deadline, "connection still open");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The fire-and-forget queued just before the drop was still sent.
    let v: Option<String> = observer.get("last").await.unwrap();
    assert_eq!(v.as_deref(), Some("words"));
}

#[test]
fn public_handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync + 'static>() {}
    fn send<T: Send + 'static>() {}
    send_sync::<Client>();
    send_sync::<Error>();
    send::<redmux::Response<Option<String>>>();
    send_sync::<redmux::Stats>();
}

/// What awaiting a request builds is `Send` for every reply type that is, so a
/// request can be awaited inside `tokio::spawn`. Checked when this file compiles.
#[test]
fn request_futures_are_send() {
    fn into_future_is_send<'a, T>()
    where
        T: redmux::FromValue + Send + 'static,
        redmux::Request<'a, T>: Send,
        <redmux::Request<'a, T> as IntoFuture>::IntoFuture: Send,
    {
    }
    fn is_send<F: Send>(_: &F) {}
    into_future_is_send::<Value>();
    into_future_is_send::<Option<String>>();
    into_future_is_send::<Vec<bytes::Bytes>>();
    // As a user writes it: a request built, configured and awaited in one task.
    let spawned = |client: Client| async move {
        let v: Option<String> = client.get("k").timeout(Duration::from_millis(50)).await?;
        client.set("k", v.unwrap_or_default()).await
    };
    let _ = |client: Client| is_send(&spawned(client));
}

/// `Duration::MAX` means "never time out" wherever a timeout is taken: nothing
/// overflows computing a deadline from it.
#[tokio::test]
async fn timeouts_of_duration_max_mean_never() {
    let server = RedisServer::start().unwrap();
    let mut config = redmux::Config::from_url(&server.url()).unwrap();
    config.command_timeout = Duration::MAX;
    let client = Client::connect_with(config).await.unwrap();
    client.set("k", "v").await.unwrap();
    let v: Option<String> = client.get("k").timeout(Duration::MAX).await.unwrap();
    assert_eq!(v.as_deref(), Some("v"));
    client.set("f", 1).fire_and_forget().unwrap();
    let mut batch = client.batch().timeout(Duration::MAX);
    let n = batch.add(client.incr("f"));
    let results = batch.execute().await;
    assert_eq!(results.get(n).unwrap(), 2);
    let mut tx = client.transaction().timeout(Duration::MAX);
    let m = tx.add(client.incr("f"));
    let results = tx.execute().await.unwrap().committed().expect("committed");
    assert_eq!(results.get(m).unwrap(), 3);
    client.close().await;
}

/// Large `Bytes` arguments go out from their own buffers (never copied into the
/// command's): whole and in order, among other callers' small commands, through a
/// proxy that stalls mid-write so the gathered write resumes part-way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bytes_arguments_arrive_whole_and_in_order() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect(&proxy.url()).await.unwrap();
    let pattern = |seed: u8, len: usize| -> bytes::Bytes {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    };
    let a = pattern(1, 3 << 20);
    let b = pattern(2, redmux_resp::SHARED_ARG_MIN);
    let c = pattern(3, (1 << 20) + 7);
    // Small commands from other tasks interleave with the large ones.
    let small: Vec<_> = (0..200)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client.set(format!("s{i}"), i).await.unwrap();
                let v: i64 = client.get(format!("s{i}")).await.unwrap();
                assert_eq!(v, i);
            })
        })
        .collect();
    proxy.stall();
    // Submitted now, while the proxy forwards nothing: the socket buffers fill and
    // the gathered write has to resume part-way.
    let mset = client
        .command::<()>(
            cmd("MSET")
                .arg("a")
                .arg(a.clone())
                .arg("small")
                .arg("x")
                .arg("b")
                .arg(&b),
        )
        .into_future();
    let c_task = tokio::spawn({
        let client = client.clone();
        let c = c.clone();
        async move {
            client.set("c", c).fire_and_forget().unwrap();
            // The same caller's next command sees it.
            client.get::<bytes::Bytes>("c").await.unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    proxy.resume();
    mset.await.unwrap();
    assert!(c_task.await.unwrap() == c, "c came back different");
    for t in join_all(small).await {
        t.unwrap();
    }
    let got_a: bytes::Bytes = client.get("a").await.unwrap();
    let got_b: bytes::Bytes = client.get("b").await.unwrap();
    assert!(
        got_a == a && got_b == b,
        "a large argument came back different"
    );
    let small: String = client.get("small").await.unwrap();
    assert_eq!(small, "x");
    let stats = client.stats();
    assert_eq!(stats.commands_sent, stats.replies, "{stats:?}");
}

/// RESP3 push frames on the shared connection (here: client-side caching's
/// invalidations) are counted and kept out of the reply FIFO: every caller still
/// gets its own reply, while pushes arrive between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp3_pushes_on_the_shared_connection_leave_replies_in_step() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&format!("{}?protocol=resp3", server.url()))
        .await
        .unwrap();
    let other = connect(&server).await;
    // CLIENT TRACKING is refused on the shared connection (it changes its state), so
    // a dedicated connection tracks the reads and redirects the invalidations to it.
    let id: i64 = client.command(cmd("CLIENT").arg("ID")).await.unwrap();
    let tracker = client.dedicated().await.unwrap();
    tracker
        .command::<()>(cmd("CLIENT").args(["TRACKING", "ON", "REDIRECT"]).arg(id))
        .await
        .unwrap();
    // Reading the key makes the server track it, for the shared connection.
    let read: Option<i64> = tracker.command(cmd("GET").arg("tracked")).await.unwrap();
    assert_eq!(read, None);

    // 200 callers keep ECHOs in flight while the invalidations come in.
    let echoes: Vec<_> = (0..200)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    let message = format!("echo-{t}-{i}-{}", "x".repeat((t + i) % 40));
                    let back: String = client.command(cmd("ECHO").arg(&message)).await.unwrap();
                    assert_eq!(back, message);
                }
            })
        })
        .collect();
    let rounds = 30;
    for round in 0..rounds {
        // Another client changes the key: the server pushes `invalidate` to ours...
        other.set("tracked", round).await.unwrap();
        // ...and reading it again returns the new value and tracks it anew.
        let v: i64 = tracker.command(cmd("GET").arg("tracked")).await.unwrap();
        assert_eq!(v, round);
        assert_eq!(client.get::<i64>("tracked").await.unwrap(), round);
    }
    for t in join_all(echoes).await {
        t.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.stats().push_frames < rounds as u64 {
        assert!(
            Instant::now() < deadline,
            "expected {rounds} invalidation pushes: {:?}",
            client.stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stats = client.stats();
    assert_eq!(stats.push_frames, rounds as u64, "{stats:?}");
    // Pushes are not replies: every command got exactly one.
    assert_eq!(stats.commands_sent, stats.replies, "{stats:?}");
    let v: String = client.command(cmd("ECHO").arg("after")).await.unwrap();
    assert_eq!(v, "after");
}

/// `max_write_bytes` caps one write: a burst of 4 MiB of SETs, each small enough to
/// be copied into the batch, goes out in many writes instead of one huge buffer,
/// and every SET succeeds.
#[tokio::test]
async fn the_write_cap_splits_a_burst_into_many_writes() {
    const CAP: usize = 64 * 1024;
    const SETS: usize = 256;
    const VALUE: usize = 16 * 1024;
    let server = RedisServer::start().unwrap();
    let mut config = redmux::Config::from_url(&server.url()).unwrap();
    config.max_write_bytes = CAP;
    let client = Client::connect_with(config).await.unwrap();
    let value = |i: usize| format!("{i:05}{}", "v".repeat(VALUE - 5));
    let before = client.stats();
    // Built and polled together: on this single-threaded runtime all of them are
    // queued before the writer task runs, so without the cap they would go out in a
    // handful of writes.
    let sets: Vec<_> = (0..SETS)
        .map(|i| client.set(format!("big:{i}"), value(i)).into_future())
        .collect();
    for r in join_all(sets).await {
        r.unwrap();
    }
    let after = client.stats();
    let writes = after.writes - before.writes;
    let bytes = after.bytes_out - before.bytes_out;
    assert!(bytes >= (SETS * VALUE) as u64, "{after:?}");
    // One write stops taking commands once it holds CAP bytes, so it carries at
    // most four of these (4 x 16 KiB and their headers pass 64 KiB).
    assert!(
        writes >= (SETS / 4) as u64,
        "{writes} writes for {bytes} bytes: {after:?}"
    );
    for i in [0, 1, SETS / 2, SETS - 1] {
        let v: String = client.get(format!("big:{i}")).await.unwrap();
        assert!(v == value(i), "big:{i} came back different");
    }
    let keys: u64 = client.command(cmd("DBSIZE")).await.unwrap();
    assert_eq!(keys, SETS as u64);
}

#[tokio::test]
async fn a_response_polled_again_after_its_reply_says_so() {
    use futures::FutureExt;
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    client.set("again", "v").await.unwrap();
    let mut reply = Box::pin(client.get::<Option<String>>("again").into_future());
    assert_eq!((&mut reply).await.unwrap().as_deref(), Some("v"));
    // Not a made-up "connection lost, may have run": the caller's own mistake.
    match reply.as_mut().now_or_never() {
        Some(Err(Error::Protocol(message))) => {
            assert!(message.contains("polled after completion"), "{message}")
        }
        other => panic!("expected the polled-after-completion error, got {other:?}"),
    }
    // The same for a timeout of its own, whose timer is let go with the reply.
    let mut timed = Box::pin(
        client
            .get::<Option<String>>("again")
            .timeout(Duration::from_secs(5))
            .into_future(),
    );
    assert_eq!((&mut timed).await.unwrap().as_deref(), Some("v"));
    assert!(matches!(
        timed.as_mut().now_or_never(),
        Some(Err(Error::Protocol(_)))
    ));
}

/// Replies already in are taken at once, without tokio's cooperative budget: under
/// it, once a task had taken 128 in one poll, a ready reply answered "not yet" (so
/// `now_or_never` dropped it, and `futures::executor::block_on` inside a tokio task
/// hung on a wake deferred to a scheduler that could not run), and `join_all` over
/// many ready replies went quadratic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_replies_are_taken_without_the_cooperative_budget() {
    use futures::FutureExt;
    let server = RedisServer::start().unwrap();
    let client = connect(&server).await;
    let replies: Vec<_> = (0..1000)
        .map(|i| client.echo::<i64>(i).into_future())
        .collect();
    // Once this is answered, every reply before it is in.
    let _: String = client.command(cmd("PING")).await.unwrap();
    for (i, reply) in replies.into_iter().enumerate() {
        match reply.now_or_never() {
            Some(Ok(n)) => assert_eq!(n, i as i64),
            other => panic!("reply {i}, already in, was not taken: {other:?}"),
        }
    }
}
