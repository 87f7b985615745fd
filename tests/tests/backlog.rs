//! The backlog and the memory bound while the server is down, and the dedicated
//! connection: commands submitted during an outage go out in order after the
//! restart, a command whose timeout passes in the backlog is never sent, the count
//! and byte bounds make an awaited call wait and a fire-and-forget one fail, and
//! `client.dedicated()` connects as the client does and closes when dropped.

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use redmux::{Client, CommandStatus, Config, ConnectionState, Error, cmd};
use redmux_testkit::RedisServer;
use redmux_tests::wait_for_state;

/// A client whose commands outlive the outages below unless a test says otherwise.
/// (A killed server refuses connections at once: no short connect timeout needed.)
fn config(url: &str) -> Config {
    let mut config = Config::from_url(url).unwrap();
    config.command_timeout = Duration::from_secs(10);
    config
}

/// Kills the server and waits until the client knows.
async fn outage(server: &RedisServer, client: &Client) {
    server.kill();
    wait_for_state(
        client,
        ConnectionState::Reconnecting,
        Duration::from_secs(2),
    )
    .await;
}

/// A client whose queue holds at most `bound` commands, its server killed.
async fn bounded_and_down(bound: usize) -> (Arc<RedisServer>, Client) {
    let server = Arc::new(RedisServer::start().unwrap());
    let mut config = config(&server.url());
    config.max_queued_commands = bound;
    let client = Client::connect_with(config).await.unwrap();
    outage(&server, &client).await;
    (server, client)
}

/// Restarts the server on its port (a blocking call, so off the runtime's threads)
/// and waits until the client is back.
async fn restart(server: &Arc<RedisServer>, client: &Client) {
    let restarted = server.clone();
    tokio::task::spawn_blocking(move || restarted.restart().unwrap())
        .await
        .unwrap();
    wait_for_state(client, ConnectionState::Connected, Duration::from_secs(3)).await;
}

/// Polls the server's key count until it is `want`, for what the client writes
/// after the reconnect without anyone awaiting it.
async fn wait_for_dbsize(observer: &Client, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = observer.dbsize().await.unwrap();
        if n == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{n} keys on the server, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One caller's commands, awaited and fire-and-forget interleaved, submitted while
/// the server is down, reach it in the order they were issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlogged_commands_go_out_in_order_after_the_restart() {
    const N: u64 = 1000;
    let server = Arc::new(RedisServer::start().unwrap());
    let client = Client::connect_with(config(&server.url())).await.unwrap();
    client.set("warm", 1).await.unwrap();
    outage(&server, &client).await;

    let mut awaited = Vec::new();
    for i in 0..N {
        if i % 2 == 0 {
            awaited.push((i, client.rpush("list", i).into_future()));
        } else {
            client.rpush("list", i).fire_and_forget().unwrap();
        }
    }
    assert_eq!(client.stats().queue_depth, N as usize);
    restart(&server, &client).await;

    // The list's length after each awaited push says how many went before it.
    for (i, r) in join_all(
        awaited
            .into_iter()
            .map(|(i, f)| async move { (i, f.await) }),
    )
    .await
    {
        assert_eq!(r.unwrap(), i + 1, "RPUSH {i} ran out of order");
    }
    let list: Vec<u64> = client.lrange("list", 0, -1).await.unwrap();
    assert_eq!(list, (0..N).collect::<Vec<_>>());
}

/// A backlogged command whose timeout passes during the outage fails on time as
/// backlogged (not sent), and is not sent when the server returns; its neighbours
/// in the backlog with longer timeouts still run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_timed_out_in_the_backlog_never_runs() {
    let server = Arc::new(RedisServer::start().unwrap());
    let mut config = config(&server.url());
    config.command_timeout = Duration::from_millis(400);
    let client = Client::connect_with(config).await.unwrap();
    let long = Duration::from_secs(10);
    outage(&server, &client).await;

    let before = client.incr("before").timeout(long).into_future();
    let started = Instant::now();
    let own = client
        .incr("own-timeout")
        .timeout(Duration::from_millis(200))
        .into_future();
    // The client's own timeout: expired by the multiplexer's sweep, not a timer.
    let default = client.incr("default-timeout").into_future();
    let after = client.incr("after").timeout(long).into_future();
    assert_eq!(client.stats().queue_depth, 4);

    let expire = |r: redmux::Result<i64>, want: Duration| {
        let elapsed = started.elapsed();
        let Err(Error::Timeout(d)) = &r else {
            panic!("expected a timeout, got {r:?}")
        };
        assert_eq!(d.status, CommandStatus::Backlogged, "{d}");
        assert!(r.as_ref().unwrap_err().status().safe_to_retry());
        assert_eq!((d.command.as_str(), d.timeout), ("INCR", want), "{d}");
        assert_eq!(d.connection, "reconnecting", "{d}");
        assert!(d.queued >= 1, "{d}");
        assert!(
            d.last_connect_error.is_some(),
            "the diagnostics say why it is down: {d}"
        );
        // On time, give or take scheduling on a loaded machine.
        assert!(
            elapsed >= want && elapsed <= want + Duration::from_millis(150),
            "a {want:?} timeout fired after {elapsed:?}"
        );
    };
    expire(own.await, Duration::from_millis(200));
    expire(default.await, Duration::from_millis(400));

    restart(&server, &client).await;
    assert_eq!(before.await.unwrap(), 1);
    assert_eq!(after.await.unwrap(), 1);
    let ran: Vec<Option<i64>> = client
        .mget(["before", "own-timeout", "default-timeout", "after"])
        .await
        .unwrap();
    assert_eq!(
        ran,
        [Some(1), None, None, Some(1)],
        "an expired command ran"
    );
    assert!(client.stats().expired_unsent >= 2, "{:?}", client.stats());
}

/// With a small byte bound and a large count bound, fire-and-forget SETs of 1 KiB
/// fill the backlog to the byte bound, not short of it, then fail at once with
/// `Overloaded`; the queue never holds more than the bound; after the restart
/// exactly the accepted ones run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_bound_refuses_fire_and_forget_past_it() {
    const BOUND: usize = 64 * 1024;
    let server = Arc::new(RedisServer::start().unwrap());
    let mut config = config(&server.url());
    config.max_queued_bytes = BOUND;
    config.max_queued_commands = 100_000;
    let client = Client::connect_with(config).await.unwrap();
    let observer = Client::connect(&server.url()).await.unwrap();
    outage(&server, &client).await;

    let value = "v".repeat(1024);
    let mut accepted = 0;
    let mut refused = 0;
    for i in 0..200 {
        let started = Instant::now();
        match client.set(format!("ff:{i:03}"), &value).fire_and_forget() {
            Ok(()) => {
                assert_eq!(refused, 0, "ff:{i:03} accepted after a refusal");
                accepted += 1;
            }
            Err(e) => {
                assert!(matches!(e, Error::Overloaded(_)), "{e:?}");
                assert_eq!(e.status(), CommandStatus::NotSent);
                assert!(e.to_string().contains(&format!("{BOUND} bytes")), "{e}");
                assert!(started.elapsed() < Duration::from_millis(50), "it waited");
                refused += 1;
            }
        }
        let stats = client.stats();
        assert!(stats.queue_bytes <= BOUND, "{stats:?}");
    }
    // Each SET is a little over 1 KiB encoded: 64 fit only if they took no more,
    // and fewer than ~59 would mean a refusal before the bytes were used.
    assert!(
        (BOUND / 1100..=BOUND / 1024).contains(&accepted),
        "{accepted} SETs of 1 KiB accepted under a {BOUND}-byte bound"
    );
    let stats = client.stats();
    assert_eq!(stats.queue_depth, accepted, "{stats:?}");
    assert!(stats.queue_bytes > BOUND - 1100, "room was left: {stats:?}");

    restart(&server, &client).await;
    wait_for_dbsize(&observer, accepted as u64).await;
    let last: Option<String> = observer
        .get(format!("ff:{:03}", accepted - 1))
        .await
        .unwrap();
    assert_eq!(last.as_deref(), Some(value.as_str()));
    assert!(!observer.exists(format!("ff:{accepted:03}")).await.unwrap());
}

/// At the count bound an awaited call waits for room (a short timeout gives up
/// unsent, a long one completes after the restart) while a fire-and-forget call
/// fails with `Overloaded` at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_count_bound_awaited_calls_wait_and_fire_and_forget_fails() {
    const BOUND: usize = 10;
    let (server, client) = bounded_and_down(BOUND).await;

    let queued: Vec<_> = (0..BOUND)
        .map(|i| client.incr(format!("queued:{i}")).into_future())
        .collect();
    assert_eq!(client.stats().queue_depth, BOUND);

    let started = Instant::now();
    let err = client
        .incr("fire-and-forget")
        .fire_and_forget()
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(50), "it waited");
    assert!(matches!(err, Error::Overloaded(_)), "{err:?}");
    assert!(err.to_string().contains("10 commands"), "{err}");

    let waiting = |key: &'static str, timeout: Duration| {
        let client = client.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let r = client.incr(key).timeout(timeout).await;
            (started.elapsed(), r)
        })
    };
    let patient = waiting("patient", Duration::from_secs(5));
    let (elapsed, r) = waiting("impatient", Duration::from_millis(300))
        .await
        .unwrap();
    let e = r.unwrap_err();
    assert!(
        matches!(e, Error::Overloaded(_) | Error::Timeout(_)),
        "{e:?}"
    );
    assert!(e.status().safe_to_retry(), "{e:?}");
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed <= Duration::from_millis(450),
        "waited {elapsed:?} for room, with a 300 ms timeout"
    );
    assert!(!patient.is_finished(), "{:?}", patient.await);
    assert_eq!(client.stats().queue_depth, BOUND);

    restart(&server, &client).await;
    let (elapsed, r) = patient.await.unwrap();
    assert_eq!(r.unwrap(), 1);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    for r in join_all(queued).await {
        assert_eq!(r.unwrap(), 1);
    }
    let refused: Vec<Option<i64>> = client.mget(["fire-and-forget", "impatient"]).await.unwrap();
    assert_eq!(refused, [None, None], "a refused command ran");
}

/// `client.dedicated()` authenticates, selects the database, names itself and
/// speaks the protocol as the client does, and dropping it closes its connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedicated_connection_is_configured_like_the_client_and_closes_when_dropped() {
    let server = RedisServer::builder().password("s3cret").start().unwrap();
    let url = format!(
        "redis://:s3cret@127.0.0.1:{}/3?protocol=resp3&name=worker-7",
        server.port()
    );
    let client = Client::connect(&url).await.unwrap();
    let observer = Client::connect(&format!("redis://:s3cret@127.0.0.1:{}/0", server.port()))
        .await
        .unwrap();
    let shared_id = client.client_id().await.unwrap();

    let conn = client.dedicated().await.unwrap();
    let info: redmux::ClientInfo = conn.command(cmd("CLIENT").arg("INFO")).await.unwrap();
    let id = info.id().unwrap();
    assert_ne!(id, shared_id, "not the shared connection");
    assert_eq!(info.db(), Some(3), "{info:?}");
    assert_eq!(info.name(), Some("worker-7"), "{info:?}");
    assert_eq!(info.get("resp"), Some("3"), "{info:?}");
    // Its writes land in the client's database, not in 0.
    conn.command::<()>(cmd("SET").arg("from-dedicated").arg("x"))
        .await
        .unwrap();
    let v: Option<String> = client.get("from-dedicated").await.unwrap();
    assert_eq!(v.as_deref(), Some("x"));
    assert!(!observer.exists("from-dedicated").await.unwrap());

    let ids =
        |list: Vec<redmux::ClientInfo>| list.iter().filter_map(|c| c.id()).collect::<Vec<_>>();
    assert!(ids(observer.client_list().await.unwrap()).contains(&id));
    drop(conn);
    // The server notices the close on its next event loop turn: poll for it.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let live = ids(observer.client_list().await.unwrap());
        if !live.contains(&id) {
            assert!(live.contains(&shared_id), "the shared connection went too");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "connection {id} still open after drop"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    client.set("still", "serving").await.unwrap();
}

/// One caller's commands keep their order across the count bound: a command that
/// had to wait for room is not overtaken by one the same caller issued after it.
/// (`Request`'s docs: commands reach the server "in the order the caller turned
/// them into futures, even if it awaits them later".)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn a_command_waiting_for_room_is_not_overtaken_by_the_callers_next() {
    const BOUND: usize = 10;
    let (server, client) = bounded_and_down(BOUND).await;

    let fill: Vec<_> = (0..BOUND)
        .map(|i| client.rpush("list", format!("fill-{i}")).into_future())
        .collect();
    // The queue is full: this one waits for room.
    let first = client.rpush("list", "first").into_future();
    restart(&server, &client).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.stats().queue_depth > 0 {
        assert!(Instant::now() < deadline, "{:?}", client.stats());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Room now; issued after `first`, so it must reach the server after it.
    let second = client.rpush("list", "second").into_future();
    let (first, second) = tokio::join!(first, second);
    let (first, second) = (first.unwrap(), second.unwrap());
    for r in join_all(fill).await {
        r.unwrap();
    }
    let list: Vec<String> = client.lrange("list", BOUND as i64, -1).await.unwrap();
    assert_eq!(
        list,
        ["first", "second"],
        "RPUSH first returned {first}, RPUSH second {second}"
    );
}

/// A command that expired in the backlog still says it was not sent when its
/// future is first polled after the reconnect, once later commands have gone out:
/// "sent and may have run" would be false, and stop a caller from a safe retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_expired_in_the_backlog_says_so_when_polled_late() {
    let server = Arc::new(RedisServer::start().unwrap());
    let client = Client::connect_with(config(&server.url())).await.unwrap();
    outage(&server, &client).await;

    // Issued now, polled only after the server is back and other commands ran.
    let own = client
        .incr("own-timeout")
        .timeout(Duration::from_millis(100))
        .into_future();
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.stats().expired_unsent < 1 {
        assert!(Instant::now() < deadline, "{:?}", client.stats());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    restart(&server, &client).await;
    client.set("later", 1).await.unwrap();

    let r = own.await;
    let Err(Error::Timeout(d)) = &r else {
        panic!("expected a timeout, got {r:?}")
    };
    assert!(d.status.safe_to_retry(), "it never left the process: {d}");
    assert!(!client.exists("own-timeout").await.unwrap());
}

/// A caller that gives up on a command waiting for room (its future dropped by its
/// own timeout) and tries again must not have both copies run: the abandoned one is
/// dropped unsent when room comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_command_waiting_for_room_never_runs() {
    const BOUND: usize = 10;
    let (server, client) = bounded_and_down(BOUND).await;
    let queued: Vec<_> = (0..BOUND)
        .map(|i| client.incr(format!("queued:{i}")).into_future())
        .collect();
    // Five tries, each given up after 20 ms while parked beyond the bound.
    for _ in 0..5 {
        let tried = tokio::time::timeout(Duration::from_millis(20), client.incr("retried")).await;
        assert!(tried.is_err(), "{tried:?}");
    }
    // The sixth is awaited to the end.
    let last = client.incr("retried").into_future();
    restart(&server, &client).await;
    assert_eq!(last.await.unwrap(), 1, "an abandoned try ran as well");
    for r in join_all(queued).await {
        assert_eq!(r.unwrap(), 1);
    }
    assert_eq!(client.stats().waiting_for_room, 0);
}

/// A batch queued behind commands parked at the bound waits for room through as
/// many wakeups as it takes, instead of failing at the first that leaves the queue
/// still full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_behind_parked_commands_waits_for_room() {
    const BOUND: usize = 10;
    let (server, client) = bounded_and_down(BOUND).await;
    // A full queue, and as many again parked beyond it (the most that may park).
    let queued: Vec<_> = (0..BOUND)
        .map(|i| client.incr(format!("queued:{i}")).into_future())
        .collect();
    let parked: Vec<_> = (0..BOUND)
        .map(|i| client.incr(format!("parked:{i}")).into_future())
        .collect();
    assert_eq!(client.stats().waiting_for_room, BOUND);
    let mut batch = client.batch();
    let indexes: Vec<_> = (0..25)
        .map(|i| batch.add(client.incr(format!("b:{i}"))))
        .collect();
    let executing = tokio::spawn(batch.execute());
    tokio::time::sleep(Duration::from_millis(50)).await;
    restart(&server, &client).await;
    let results = executing.await.unwrap();
    for index in indexes {
        assert_eq!(results.get(index).unwrap(), 1);
    }
    for r in join_all(queued)
        .await
        .into_iter()
        .chain(join_all(parked).await)
    {
        assert_eq!(r.unwrap(), 1);
    }
}
