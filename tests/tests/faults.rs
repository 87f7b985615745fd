//! Faults injected for real: the server killed and restarted, the proxy cutting,
//! stalling and refusing, a long outage, a new password. Every request succeeds or
//! fails with a clear error in time, nothing runs twice, and the client comes back.

use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use redmux::{BacklogPolicy, Client, CommandStatus, Config, ConnectionState, Error, cmd};
use redmux_testkit::{CutMode, FaultProxy, RedisServer};
use redmux_tests::wait_for_state;

/// The tests that hold timeouts to 50 ms take this exclusively; the ones that keep
/// both cores busy for many seconds (the torture runs, the long outage) share it.
/// On a 2-core machine a timing test beside them measures the scheduler's backlog,
/// not the client's timers.
static CORES: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn config(url: &str) -> Config {
    let mut config = Config::from_url(url).unwrap();
    config.connect_timeout = Duration::from_millis(500);
    config
}

/// Polls `condition` until it holds, failing the test after `within`: for a state a
/// fixed sleep would only probably have reached on a slow or loaded machine.
async fn wait_until(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "not {what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// An error a person can act on: one of the kinds a fault may produce.
fn assert_clear(e: &Error) {
    assert!(
        matches!(
            e,
            Error::ConnectionLost { .. } | Error::Timeout(_) | Error::Overloaded(_)
        ),
        "unexpected error kind: {e:?}"
    );
    assert!(!e.to_string().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_and_restarted_under_load() {
    let server = Arc::new(RedisServer::start().unwrap());
    let mut config = config(&server.url());
    config.command_timeout = Duration::from_millis(500);
    let client = Client::connect_with(config).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let tasks: Vec<_> = (0..200)
        .map(|t| {
            let (client, stop, ok, failed) =
                (client.clone(), stop.clone(), ok.clone(), failed.clone());
            tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let started = Instant::now();
                    let r = client.set(format!("k{t}"), i).await;
                    // Nothing hangs past its timeout (with a little slack for scheduling).
                    assert!(
                        started.elapsed() < Duration::from_millis(800),
                        "{:?}",
                        started.elapsed()
                    );
                    match r {
                        Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            assert_clear(&e);
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    wait_for_state(
        &client,
        ConnectionState::Reconnecting,
        Duration::from_secs(2),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let restarted = server.clone();
    tokio::task::spawn_blocking(move || restarted.restart().unwrap())
        .await
        .unwrap();
    let back = wait_for_state(&client, ConnectionState::Connected, Duration::from_secs(3)).await;
    assert!(
        back < Duration::from_secs(1),
        "back {back:?} after the server's return"
    );
    let ok_at_return = ok.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for t in join_all(tasks).await {
        t.unwrap();
    }
    assert!(
        failed.load(Ordering::Relaxed) > 0,
        "the kill must have failed something"
    );
    assert!(
        ok.load(Ordering::Relaxed) > ok_at_return,
        "work resumed after the restart"
    );
    client.set("after", "restart").await.unwrap();
    assert!(client.stats().reconnects >= 1);
}

/// The scenario, made exact: 1,000 INCRs are written and have run on the
/// server, their replies held up by the proxy; a large SET blocks the writer on a
/// full socket, and 200 more INCRs queue behind it, provably unwritten. Then the
/// proxy resets the connection. Every written INCR fails as sent-may-have-run and is
/// not resent (its counter stays 1); every unwritten one goes out after the
/// reconnect and runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_mid_flight_runs_nothing_twice() {
    const WRITTEN: usize = 1000;
    const UNWRITTEN: usize = 200;
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let mut config = config(&proxy.url());
    config.command_timeout = Duration::from_secs(20);
    // No heartbeat PING among the counted commands.
    config.heartbeat_interval = Duration::MAX;
    let client = Client::connect_with(config).await.unwrap();
    let observer = Client::connect(&server.url()).await.unwrap();
    client.set("warm", 1).await.unwrap();

    // Requests reach the server at once; replies come back only after the cut.
    proxy.set_latency_split(Duration::ZERO, Duration::from_secs(60));
    let replies_before = client.stats().replies;
    let written: Vec<_> = (0..WRITTEN)
        .map(|i| client.incr(format!("written:{i}")).into_future())
        .collect();
    wait_until("1,000 INCRs in flight", Duration::from_secs(10), || {
        client.stats().in_flight >= WRITTEN
    })
    .await;
    // They have run on the server: the keys exist (plus "warm").
    let deadline = Instant::now() + Duration::from_secs(10);
    while observer.dbsize().await.unwrap() < WRITTEN as u64 + 1 {
        assert!(
            Instant::now() < deadline,
            "the INCRs never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // More than the socket buffers hold, with nothing forwarded: the writer is stuck
    // inside this write, so what comes next stays queued.
    proxy.stall();
    let sent_before = client.stats().commands_sent;
    let big = client.set("big", vec![b'x'; 32 << 20]).into_future();
    wait_until(
        "the big SET taken for writing",
        Duration::from_secs(10),
        || client.stats().commands_sent > sent_before,
    )
    .await;
    let unwritten: Vec<_> = (0..UNWRITTEN)
        .map(|i| client.incr(format!("unwritten:{i}")).into_future())
        .collect();
    let stats = client.stats();
    assert_eq!(stats.queue_depth, UNWRITTEN, "{stats:?}");
    assert_eq!(stats.in_flight, WRITTEN + 1, "{stats:?}");
    assert_eq!(
        stats.replies, replies_before,
        "no reply may come before the cut"
    );

    proxy.set_latency(Duration::ZERO);
    proxy.cut(CutMode::Reset);
    proxy.resume();

    for (i, r) in join_all(written).await.into_iter().enumerate() {
        assert!(
            matches!(
                r,
                Err(Error::ConnectionLost {
                    status: CommandStatus::Sent,
                    ..
                })
            ),
            "written:{i}: {r:?}"
        );
    }
    let r = big.await;
    assert!(
        matches!(
            r,
            Err(Error::ConnectionLost {
                status: CommandStatus::Sent,
                ..
            })
        ),
        "the big SET: {r:?}"
    );
    for (i, r) in join_all(unwritten).await.into_iter().enumerate() {
        assert_eq!(r.unwrap(), 1, "unwritten:{i} ran once, after the reconnect");
    }
    // Read on the server: each written INCR ran once (before the cut) and was not
    // resent; each unwritten one ran once (after it).
    let written_counts: Vec<Option<i64>> = observer
        .mget((0..WRITTEN).map(|i| format!("written:{i}")))
        .await
        .unwrap();
    for (i, n) in written_counts.iter().enumerate() {
        assert_eq!(*n, Some(1), "written:{i}");
    }
    let unwritten_counts: Vec<Option<i64>> = observer
        .mget((0..UNWRITTEN).map(|i| format!("unwritten:{i}")))
        .await
        .unwrap();
    for (i, n) in unwritten_counts.iter().enumerate() {
        assert_eq!(*n, Some(1), "unwritten:{i}");
    }
    assert_eq!(client.stats().reconnects, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritten_commands_wait_in_the_backlog_and_go_after_the_reconnect() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let mut config = config(&proxy.url());
    config.command_timeout = Duration::from_secs(3);
    let client = Client::connect_with(config).await.unwrap();
    client.set("warm", 1).await.unwrap();
    proxy.refuse(true);
    proxy.cut(CutMode::Reset);
    wait_for_state(
        &client,
        ConnectionState::Reconnecting,
        Duration::from_secs(2),
    )
    .await;
    // Submitted while down: backlogged, in order.
    let pending: Vec<_> = (0..100)
        .map(|i| client.incr(format!("b:{i}")).into_future())
        .collect();
    assert!(client.stats().queue_depth >= 100);
    tokio::time::sleep(Duration::from_millis(200)).await;
    proxy.refuse(false);
    for r in join_all(pending).await {
        assert_eq!(r.unwrap(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_times_out_on_time_and_the_dead_link_is_found() {
    let _alone = CORES.write().await;
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let mut config = config(&proxy.url());
    config.command_timeout = Duration::from_millis(200);
    config.dead_link_timeout = Duration::from_millis(600);
    config.heartbeat_interval = Duration::from_millis(200);
    let client = Client::connect_with(config).await.unwrap();
    client.set("k", "v").await.unwrap();
    // The runtime is busy: tasks that compute for 200 µs at a time keep both
    // workers occupied while the timeouts are due.
    let spinning = Arc::new(AtomicBool::new(true));
    let spinners: Vec<_> = (0..8)
        .map(|_| {
            let spinning = spinning.clone();
            tokio::spawn(async move {
                while spinning.load(Ordering::Relaxed) {
                    let until = Instant::now() + Duration::from_micros(200);
                    while Instant::now() < until {
                        std::hint::spin_loop();
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    proxy.stall();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let r = client.get::<Option<String>>("k").await;
                (started.elapsed(), r)
            })
        })
        .collect();
    let outcomes = join_all(tasks).await;
    spinning.store(false, Ordering::Relaxed);
    join_all(spinners).await;
    for joined in outcomes {
        let (elapsed, r) = joined.unwrap();
        assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
        // Late by scheduling only, far less than a heartbeat (200 ms) or the
        // dead-link timeout (600 ms).
        assert!(
            elapsed >= Duration::from_millis(200) && elapsed <= Duration::from_millis(250),
            "timed out after {elapsed:?}, not within 50 ms of 200 ms"
        );
    }
    // The monitor sees timeouts and no reply for the dead-link timeout, and rebuilds.
    wait_for_state(
        &client,
        ConnectionState::Reconnecting,
        Duration::from_secs(3),
    )
    .await;
    proxy.resume();
    wait_for_state(&client, ConnectionState::Connected, Duration::from_secs(3)).await;
    let v: Option<String> = client.get("k").await.unwrap();
    assert_eq!(v.as_deref(), Some("v"));
    assert!(client.stats().reconnects >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_outage_stays_within_the_memory_bound() {
    let _busy = CORES.read().await;
    let outage = Duration::from_secs(
        std::env::var("REDMUX_OUTAGE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let server = Arc::new(RedisServer::start().unwrap());
    let mut config = config(&server.url());
    config.command_timeout = Duration::from_millis(500);
    config.max_queued_commands = 5_000;
    config.max_queued_bytes = 1024 * 1024;
    let (max_commands, max_bytes) = (config.max_queued_commands, config.max_queued_bytes);
    let client = Client::connect_with(config).await.unwrap();
    server.kill();
    wait_for_state(
        &client,
        ConnectionState::Reconnecting,
        Duration::from_secs(2),
    )
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let overloaded = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..1000)
        .map(|t| {
            let (client, stop, overloaded) = (client.clone(), stop.clone(), overloaded.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    for i in 0..5 {
                        if let Err(e) = client
                            .set(format!("ff:{t}:{i}"), "x".repeat(64))
                            .fire_and_forget()
                        {
                            assert!(matches!(e, Error::Overloaded(_)), "{e:?}");
                            overloaded.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if let Err(e) = client.get::<Option<String>>(format!("k{t}")).await {
                        assert_clear(&e);
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    let (mut peak, mut peak_waiting) = ((0, 0), 0);
    while started.elapsed() < outage {
        let stats = client.stats();
        peak = (peak.0.max(stats.queue_depth), peak.1.max(stats.queue_bytes));
        peak_waiting = peak_waiting.max(stats.waiting_for_room);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        peak.0 <= max_commands && peak.1 <= max_bytes,
        "peak {peak:?}"
    );
    // Awaited calls beyond the bound wait parked, at most one more bound's worth.
    assert!(peak_waiting <= max_commands, "{peak_waiting} parked");
    assert!(
        overloaded.load(Ordering::Relaxed) > 0,
        "fire-and-forget never hit the bound"
    );
    let restarted = server.clone();
    tokio::task::spawn_blocking(move || restarted.restart().unwrap())
        .await
        .unwrap();
    wait_for_state(&client, ConnectionState::Connected, Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for t in join_all(tasks).await {
        t.unwrap();
    }
    client.set("flowing", "again").await.unwrap();
    let v: Option<String> = client.get("flowing").await.unwrap();
    assert_eq!(v.as_deref(), Some("again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torture_no_reply_ever_reaches_the_wrong_caller() {
    let ops: u64 = std::env::var("REDMUX_TORTURE_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    torture(500, ops, Duration::from_millis(300)).await;
}

/// A few callers: the connection is often idle, so most commands take the lone-caller
/// fast path (the caller writes its own command), and the cuts land in the middle of
/// those writes and of the writer's finishing of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torture_with_few_callers_on_the_fast_path() {
    torture(3, 60_000, Duration::from_millis(100)).await;
}

async fn torture(tasks_n: u64, ops: u64, cut_every: Duration) {
    let _busy = CORES.read().await;
    let server = RedisServer::start().unwrap();
    let proxy = Arc::new(FaultProxy::start(server.addr()).unwrap());
    let mut config = config(&proxy.url());
    config.command_timeout = Duration::from_millis(500);
    let client = Client::connect_with(config).await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let cutter = {
        let (proxy, done) = (proxy.clone(), done.clone());
        tokio::spawn(async move {
            let mut cuts = 0;
            while !done.load(Ordering::Relaxed) {
                tokio::time::sleep(cut_every).await;
                proxy.cut(if cuts % 2 == 0 {
                    CutMode::Reset
                } else {
                    CutMode::Close
                });
                cuts += 1;
            }
            cuts
        })
    };
    let successes = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..tasks_n)
        .map(|t| {
            let (client, successes) = (client.clone(), successes.clone());
            tokio::spawn(async move {
                let mut rng = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for i in 0..ops / tasks_n {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let mine = format!("t{t}:{i}");
                    match rng % 8 {
                        0 => {
                            // Cancelled mid-flight.
                            let f = client
                                .command::<String>(cmd("ECHO").arg(&mine))
                                .into_future();
                            let _ = tokio::time::timeout(Duration::from_micros(rng % 300), f).await;
                        }
                        1 => {
                            let r = client
                                .command::<String>(cmd("ECHO").arg(&mine))
                                .timeout(Duration::from_micros(rng % 2000))
                                .await;
                            if let Ok(v) = r {
                                assert_eq!(v, mine);
                            }
                        }
                        2 | 3 => {
                            if client.set(format!("key:{t}"), &mine).await.is_ok() {
                                successes.fetch_add(1, Ordering::Relaxed);
                            }
                            if let Ok(Some(v)) =
                                client.get::<Option<String>>(format!("key:{t}")).await
                            {
                                assert!(v.starts_with(&format!("t{t}:")), "task {t} read {v}");
                            }
                        }
                        _ => {
                            if let Ok(v) = client.command::<String>(cmd("ECHO").arg(&mine)).await {
                                assert_eq!(v, mine, "task {t} got another caller's reply");
                                successes.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for t in join_all(tasks).await {
        t.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let cuts = cutter.await.unwrap();
    eprintln!("torture: {cuts} cuts, {:?}", client.stats());
    assert!(cuts >= 1, "no cut happened");
    assert!(
        successes.load(Ordering::Relaxed) > ops / 4,
        "too few successes: {successes:?}"
    );
    assert!(client.stats().reconnects >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_gives_an_auth_error_and_backs_off() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let client = Client::connect_with(config(&proxy.url())).await.unwrap();
    client.set("k", "v").await.unwrap();
    let admin = Client::connect(&server.url()).await.unwrap();
    admin
        .command::<()>(cmd("CONFIG").arg("SET").arg("requirepass").arg("rotated"))
        .await
        .unwrap();
    let accepted_before = proxy.accepted_total();
    proxy.cut(CutMode::Reset);
    wait_for_state(
        &client,
        ConnectionState::Reconnecting,
        Duration::from_secs(2),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = client.get::<Option<String>>("k").await.unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err:?}");
    assert!(err.to_string().contains("authentication failed"), "{err}");
    assert!(err.status().safe_to_retry());
    // Backing off: a handful of attempts in two seconds, not a spin.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let attempts = proxy.accepted_total() - accepted_before;
    assert!(
        (2..=20).contains(&attempts),
        "{attempts} connection attempts in ~2.3 s"
    );
}

#[tokio::test]
async fn fail_fast_backlog_policy() {
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let mut config = config(&proxy.url());
    config.backlog = BacklogPolicy::FailFast;
    let client = Client::connect_with(config).await.unwrap();
    proxy.refuse(true);
    proxy.cut(CutMode::Reset);
    wait_for_state(
        &client,
        ConnectionState::Reconnecting,
        Duration::from_secs(2),
    )
    .await;
    let started = Instant::now();
    let err = client.get::<Option<String>>("k").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(
        matches!(
            err,
            Error::ConnectionLost {
                status: CommandStatus::NotSent,
                ..
            }
        ),
        "{err:?}"
    );
    proxy.refuse(false);
    wait_for_state(&client, ConnectionState::Connected, Duration::from_secs(3)).await;
    client.set("k", "v").await.unwrap();
}

#[tokio::test]
async fn dedicated_connection_runs_blocking_commands() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    let conn = client.dedicated().await.unwrap();
    let producer = client.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        producer
            .command::<i64>(cmd("RPUSH").arg("jobs").arg("job-1"))
            .await
            .unwrap();
    });
    // The shared client keeps serving while the dedicated one blocks.
    let blpop = conn.command::<Option<(String, String)>>(cmd("BLPOP").arg("jobs").arg(2));
    let shared = async {
        client.set("meanwhile", 1).await.unwrap();
    };
    let (popped, ()) = tokio::join!(blpop, shared);
    assert_eq!(popped.unwrap(), Some(("jobs".into(), "job-1".into())));
    let list: String = conn.command(cmd("CLIENT").arg("LIST")).await.unwrap();
    assert!(list.lines().count() >= 2);
}

/// A dedicated connection's methods take `&self`: tasks sharing one take turns, one
/// command at a time, each getting its own reply. A call cancelled after it sent
/// its command leaves the reply unread, so the connection is broken from then on
/// (never read as the next caller's reply); one cancelled while it waited for its
/// turn sent nothing and breaks nothing.
#[tokio::test]
async fn a_dedicated_connection_shared_by_tasks_takes_turns() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    let conn = std::sync::Arc::new(client.dedicated().await.unwrap());
    let blocked = {
        let conn = conn.clone();
        tokio::spawn(async move {
            conn.command::<Option<(String, String)>>(cmd("BLPOP").arg("turns").arg(5))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Waits behind the BLPOP; given up on before its turn comes: nothing sent.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(20),
        conn.command::<String>(cmd("ECHO").arg("never")),
    )
    .await;
    assert!(gave_up.is_err());
    let echo = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.command::<String>(cmd("ECHO").arg("second")).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    client
        .command::<i64>(cmd("RPUSH").arg("turns").arg("first"))
        .await
        .unwrap();
    assert_eq!(
        blocked.await.unwrap().unwrap(),
        Some(("turns".into(), "first".into()))
    );
    assert_eq!(echo.await.unwrap().unwrap(), "second");

    // Cancelled mid-command: broken, and says why.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        conn.command::<Option<(String, String)>>(cmd("BLPOP").arg("turns").arg(1)),
    )
    .await;
    assert!(cancelled.is_err());
    let err = conn
        .command::<String>(cmd("ECHO").arg("after"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ConnectionLost {
                status: CommandStatus::NotSent,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn close_sends_what_is_queued_then_refuses() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    for i in 0..1000 {
        client.set(format!("c{i}"), i).fire_and_forget().unwrap();
    }
    let clone = client.clone();
    client.close().await;
    assert_eq!(client.state(), ConnectionState::Closed);
    assert!(matches!(
        clone.get::<Option<String>>("c1").await,
        Err(Error::Closed)
    ));
    assert!(matches!(
        clone.set("x", 1).fire_and_forget(),
        Err(Error::Closed)
    ));
    let observer = Client::connect(&server.url()).await.unwrap();
    assert_eq!(observer.command::<u64>(cmd("DBSIZE")).await.unwrap(), 1000);
}

/// Commands with the client's timeout are expired by one sweep per client, those
/// with their own by their own timer: mixed in any order, each times out on time,
/// and the late replies are discarded so the connection stays in step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_and_own_timeouts_mixed_each_fire_on_time() {
    let _alone = CORES.write().await;
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let mut config = config(&proxy.url());
    config.command_timeout = Duration::from_millis(300);
    config.dead_link_timeout = Duration::from_secs(30);
    let client = Client::connect_with(config).await.unwrap();
    client.set("k", "v").await.unwrap();
    proxy.stall();
    let get = |timeout: Option<u64>| {
        let client = client.clone();
        async move {
            let started = Instant::now();
            let request = client.get::<Option<String>>("k");
            let r = match timeout {
                Some(ms) => request.timeout(Duration::from_millis(ms)).await,
                None => request.await,
            };
            (timeout.unwrap_or(300), started.elapsed(), r)
        }
    };
    // A long own timeout ahead of the default ones must not hold them up, and a
    // short one behind them must not wait for them.
    let mut calls = vec![tokio::spawn(get(Some(1_000)))];
    tokio::time::sleep(Duration::from_millis(5)).await;
    calls.extend((0..20).map(|_| tokio::spawn(get(None))));
    tokio::time::sleep(Duration::from_millis(5)).await;
    calls.push(tokio::spawn(get(Some(100))));
    for joined in join_all(calls).await {
        let (want, elapsed, r) = joined.unwrap();
        let Err(Error::Timeout(d)) = &r else {
            panic!("expected a timeout, got {r:?}")
        };
        assert_eq!(d.timeout, Duration::from_millis(want));
        let want = Duration::from_millis(want);
        // Late by scheduling at most.
        assert!(
            elapsed >= want && elapsed <= want + Duration::from_millis(50),
            "timeout {want:?} fired after {elapsed:?}, not within 50 ms"
        );
    }
    assert_eq!(client.stats().timeouts, 22);
    proxy.resume();
    // The 22 late replies are read and dropped; the next caller gets its own.
    client.set("k", "w").await.unwrap();
    let v: Option<String> = client.get("k").await.unwrap();
    assert_eq!(v.as_deref(), Some("w"));
    let stats = client.stats();
    assert_eq!(stats.commands_sent, stats.replies, "{stats:?}");
}

/// A command still in the queue when its (default) deadline passes is failed as
/// not sent, and never written afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_expired_in_the_queue_never_runs() {
    let _alone = CORES.write().await;
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let mut config = config(&proxy.url());
    config.command_timeout = Duration::from_millis(300);
    config.dead_link_timeout = Duration::from_secs(30);
    let client = Client::connect_with(config).await.unwrap();
    client.del_many(["big", "counter"]).await.unwrap();
    proxy.stall();
    // More than the socket buffers hold: the writer is stuck inside this write, so
    // what comes next stays queued.
    let big = vec![b'x'; 32 << 20];
    let sent_before = client.stats().commands_sent;
    let big_set = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .set("big", big)
                .timeout(Duration::from_secs(30))
                .await
        })
    };
    // Once the SET counts as sent it has been taken for writing: the INCRs queue
    // behind it. (A fixed 100 ms was not always enough under load: INCRs queued
    // before the writer took the SET went out with it, as sent.)
    wait_until(
        "the big SET taken for writing",
        Duration::from_secs(10),
        || client.stats().commands_sent > sent_before,
    )
    .await;
    let started = Instant::now();
    let incrs = join_all((0..10).map(|_| client.incr("counter").into_future())).await;
    let elapsed = started.elapsed();
    for r in incrs {
        let Err(Error::Timeout(d)) = &r else {
            panic!("expected a timeout, got {r:?}")
        };
        assert!(d.status.safe_to_retry(), "still queued, so not sent: {d}");
    }
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed <= Duration::from_millis(350),
        "{elapsed:?}, not within 50 ms of 300 ms"
    );
    proxy.resume();
    big_set.await.unwrap().unwrap();
    let n: Option<i64> = client.get("counter").await.unwrap();
    assert_eq!(n, None, "an expired command was written after all");
    assert!(client.stats().expired_unsent >= 10, "{:?}", client.stats());
}
