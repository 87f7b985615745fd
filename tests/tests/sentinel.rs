//! Sentinel: the client finds the primary through the sentinels, and after a
//! `kill -9` of the primary under load it moves to the promoted replica: what was
//! written to the dead primary fails as "may have run", nothing runs twice, and
//! every write issued after the failover lands on the new primary.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redmux::{Client, CommandStatus, Config, Error};
use redmux_testkit::{RawConnection, RedisSentinelSet, Reply};
use std::sync::Mutex as StdMutex;

const TASKS: usize = 100;

fn start_set() -> RedisSentinelSet {
    let started = Instant::now();
    let set = RedisSentinelSet::start().expect("sentinel set");
    println!(
        "sentinel set ready in {:?} (server {})",
        started.elapsed(),
        set.primary().version()
    );
    set
}

fn get(conn: &mut RawConnection, key: &str) -> Option<i64> {
    match conn.call(&["GET", key]).expect("GET") {
        Reply::Bulk(b) => String::from_utf8_lossy(&b).parse().ok(),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_url_finds_the_primary_and_every_connection_goes_there() {
    let set = start_set();
    let client = Client::connect(&set.url()).await.expect("connect");
    assert_eq!(
        client.nodes()[0].addr,
        set.primary().addr().to_string(),
        "the node named is the primary"
    );
    client.set("through-sentinel", "yes").await.expect("SET");
    let mut primary = RawConnection::connect(set.primary().addr()).expect("raw");
    assert_eq!(
        primary
            .call(&["GET", "through-sentinel"])
            .expect("GET")
            .as_str(),
        Some("yes")
    );
    // A dedicated connection asks the sentinels too.
    let dedicated = client.dedicated().await.expect("dedicated");
    let role: redmux::Value = dedicated.command(redmux::cmd("ROLE")).await.expect("ROLE");
    assert!(format!("{role:?}").contains("master"), "{role:?}");

    // A service no sentinel knows fails clearly, naming the sentinels' answers.
    let wrong = set.url().replace("/mymaster", "/nosuch");
    let error = Client::connect(&wrong).await.expect_err("unknown service");
    assert!(matches!(error, Error::Connect { .. }), "{error}");
    assert!(error.to_string().contains("nosuch"), "{error}");
}

/// What one INCR came to.
struct Outcome {
    key: String,
    /// Since the kill (negative: before it).
    issued: f64,
    done: f64,
    result: Result<i64, Error>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_under_load_fails_over_with_nothing_run_twice_or_lost() {
    let set = Arc::new(start_set());
    let mut config = Config::from_url(&set.url()).expect("url");
    config.connect_timeout = Duration::from_millis(500);
    let client = Client::connect_with(config).await.expect("connect");

    let origin = Instant::now();
    let kill_at: Arc<StdMutex<Option<Instant>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes: Arc<StdMutex<Vec<Outcome>>> = Arc::default();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (client, stop, outcomes, kill_at) = (
            client.clone(),
            stop.clone(),
            outcomes.clone(),
            kill_at.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("incr:{task}:{i}");
                i += 1;
                let issued = Instant::now();
                let result = client.incr(&key).await;
                let done = Instant::now();
                let since = |t: Instant| {
                    let kill = kill_at
                        .lock()
                        .unwrap()
                        .unwrap_or(origin + Duration::from_secs(3600));
                    t.duration_since(origin).as_secs_f64()
                        - kill.duration_since(origin).as_secs_f64()
                };
                if result.is_err() {
                    // No busy loop while the primary is gone.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                outcomes.lock().unwrap().push(Outcome {
                    key,
                    issued: since(issued),
                    done: since(done),
                    result,
                });
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let killer = set.clone();
    let mark = kill_at.clone();
    let failover = tokio::task::spawn_blocking(move || {
        *mark.lock().unwrap() = Some(Instant::now());
        killer.kill_primary()
    })
    .await
    .expect("join")
    .expect("failover");
    let agreed = failover.sentinels_agree.as_secs_f64();
    // Keep the load on for a while after the failover.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("task");
    }
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());

    // Nothing ran twice: a fresh key's INCR never answers 2.
    assert!(
        outcomes
            .iter()
            .all(|o| !matches!(o.result, Ok(n) if n != 1)),
        "an INCR of a fresh key answered something other than 1"
    );
    // Every failure is a lost connection: "sent, may have run" for what was on the
    // wire at the kill, or something not sent.
    let failures: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    for o in &failures {
        let e = o.result.as_ref().expect_err("failure");
        assert!(
            matches!(e, Error::ConnectionLost { .. } | Error::Timeout(_)),
            "unexpected error {e}"
        );
    }
    let may_have_run = failures
        .iter()
        .filter(|o| {
            matches!(
                o.result,
                Err(Error::ConnectionLost {
                    status: CommandStatus::Sent,
                    ..
                })
            )
        })
        .count();
    let first_ok_after = outcomes
        .iter()
        .filter(|o| o.result.is_ok() && o.issued >= 0.0)
        .map(|o| o.done)
        .fold(f64::INFINITY, f64::min);
    let last_failure = failures
        .iter()
        .map(|o| o.done)
        .fold(f64::NEG_INFINITY, f64::max);
    let after: Vec<&Outcome> = outcomes.iter().filter(|o| o.issued > agreed).collect();
    println!(
        "failover: replica promoted after {:.3} s, all sentinels agree after {agreed:.3} s; \
         client: first success after the kill {first_ok_after:.3} s, last failure {last_failure:.3} s; \
         {} INCRs, {} failed ({may_have_run} sent, may have run), {} issued after the failover",
        failover.promoted.as_secs_f64(),
        outcomes.len(),
        failures.len(),
        after.len()
    );
    // Recovery within the sentinels' failover time plus one second.
    assert!(
        first_ok_after <= agreed + 1.0,
        "first success {first_ok_after:.3} s after the kill, failover {agreed:.3} s"
    );
    assert!(
        last_failure <= agreed + 1.0,
        "a failure at {last_failure:.3} s, failover {agreed:.3} s"
    );
    // No lost write among those issued after the failover: each succeeded, and each
    // is on the new primary.
    assert!(after.len() > TASKS, "too few INCRs after the failover");
    let mut new_primary = RawConnection::connect(set.replica().addr()).expect("raw");
    for o in &after {
        assert!(
            matches!(o.result, Ok(1)),
            "{}: {:?}",
            o.key,
            o.result.as_ref().err()
        );
        assert_eq!(
            get(&mut new_primary, &o.key),
            Some(1),
            "{} not on the new primary",
            o.key
        );
    }
    // A write that may have run ran at most once.
    for o in &failures {
        assert!(get(&mut new_primary, &o.key).unwrap_or(0) <= 1, "{}", o.key);
    }
    assert_eq!(client.nodes().len(), 1);
    assert!(client.stats().reconnects >= 1);
}
