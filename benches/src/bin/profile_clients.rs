//! One fixed workload for each of the three clients, for instruction counting:
//! `scripts/callgrind-clients` runs it under `valgrind --tool=callgrind` and divides
//! the instructions by the commands, for redmux, redis-rs and fred side by side.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379 profile_clients redmux|redis-rs|fred c1|c1t|c100|c1000|baseline
//! ```
//!
//! - `c1`: one caller, 20,000 sequential GETs of one key (plus one SET before them);
//! - `c1t`: the same caller in a spawned task, as a web handler is, rather than the
//!   `block_on` future (which tokio wakes through its driver, with one more
//!   non-blocking `epoll_wait` per wakeup);
//! - `c100`: 100 tasks share one handle, each 500 × (SET of a 16-byte value, then GET
//!   of it, checked): 100,000 commands;
//! - `c1000`: 1,000 tasks, each 50 × the same: 100,000 commands;
//! - `baseline`: the same start-up (runtime, connect, one SET) and nothing else, so
//!   the script can subtract what every run pays once.
//!
//! Each client is set up as in the comparison (`compare::clients`: one shared
//! handle, one connection, `TCP_NODELAY`), on a current-thread tokio runtime: with
//! one thread, no figure depends on how the workers happened to park and steal. The
//! last line printed is `commands: N` for the script.

use std::process::ExitCode;

use redmux_benches::compare::clients::{self, Kv, Tuning};
use redmux_benches::compare::{BoxError, Result};

/// GETs in `c1`.
const GETS: usize = 20_000;
/// Commands in `c100` and `c1000`.
const COMMANDS: usize = 100_000;

const VALUE: [u8; 16] = *b"profile-load-val";

/// `tasks` tasks, each SET then GET of its own key, checked, until `COMMANDS` are done.
async fn concurrent<K: Kv>(client: &K, tasks: usize) -> Result<u64> {
    let pairs = COMMANDS / tasks / 2;
    let mut handles = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let mut client = client.clone();
        handles.push(tokio::spawn(async move {
            let key = format!("profile:{task}").into_bytes();
            for _ in 0..pairs {
                client.set(&key, &VALUE).await?;
                let got = client.get(&key).await?;
                if got.as_ref().map(AsRef::as_ref) != Some(&VALUE[..]) {
                    return Err::<(), BoxError>(
                        format!("wrong value for {}", String::from_utf8_lossy(&key)).into(),
                    );
                }
            }
            Ok(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    Ok((tasks * pairs * 2) as u64)
}

/// One caller, sequential GETs.
async fn single<K: Kv>(client: &K) -> Result<u64> {
    let mut client = client.clone();
    for _ in 0..GETS {
        let got = client.get(b"profile:single").await?;
        if got.as_ref().map(AsRef::as_ref) != Some(&VALUE[..]) {
            return Err("wrong value for profile:single".into());
        }
    }
    Ok(GETS as u64)
}

async fn workload<K: Kv>(client: &K, name: &str) -> Result<u64> {
    // Every run, the baseline too, starts with this SET: the connection is up and
    // has carried one command before anything is counted.
    client.clone().set(b"profile:single", &VALUE).await?;
    match name {
        "c1" => single(client).await,
        "c1t" => {
            let client = client.clone();
            tokio::spawn(async move { single(&client).await.map_err(|e| e.to_string()) })
                .await?
                .map_err(Into::into)
        }
        "c100" => concurrent(client, 100).await,
        "c1000" => concurrent(client, 1000).await,
        _ => Ok(0),
    }
}

fn run(client: &str, name: &str) -> Result<u64> {
    let url = std::env::var("REDIS_URL")
        .map_err(|_| "REDIS_URL must name the server (scripts/callgrind-clients starts one)")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let tuning = Tuning { nodelay: true };
    runtime.block_on(async {
        match client {
            "redmux" => {
                let c = clients::connect_redmux(&url).await?;
                let n = workload(&c, name).await?;
                let stats = c.stats();
                eprintln!(
                    "redmux {name}: {} commands sent, {:.1} commands per write",
                    stats.commands_sent,
                    stats.commands_per_write()
                );
                c.close().await;
                Ok(n)
            }
            "redis-rs" => {
                let c = clients::connect_redis_rs(&url, tuning).await?;
                workload(&c, name).await
            }
            "fred" => {
                let c = clients::connect_fred(&url, tuning).await?;
                let n = workload(&c, name).await;
                clients::close_fred(&c).await;
                n
            }
            other => Err(format!("unknown client {other:?}").into()),
        }
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (client, name) = match args.as_slice() {
        [c, w]
            if matches!(c.as_str(), "redmux" | "redis-rs" | "fred")
                && matches!(w.as_str(), "c1" | "c1t" | "c100" | "c1000" | "baseline") =>
        {
            (c.as_str(), w.as_str())
        }
        _ => {
            eprintln!(
                "usage: REDIS_URL=redis://host:port profile_clients redmux|redis-rs|fred c1|c1t|c100|c1000|baseline"
            );
            return ExitCode::from(2);
        }
    };
    match run(client, name) {
        Ok(commands) => {
            println!("commands: {commands}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("profile_clients: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
