//! A fixed redmux workload for instruction counting: `scripts/callgrind` runs it under
//! `valgrind --tool=callgrind` and divides the instructions by the commands.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379 profile_load concurrent|single|baseline
//! ```
//!
//! - `concurrent`: 100 tasks share one `Client`; each does 2,000 × (SET of a 16-byte
//!   value, then GET of it, checked): 400,000 commands.
//! - `single`: one caller, 20,000 sequential GETs of one key: 20,000 commands (plus
//!   one SET before them).
//! - `burst`: (c) of the comparison without its proxy: 100,000 SETs issued at once
//!   (every future created, then `join_all`), 100,000 commands.
//! - `baseline`: the same start-up (runtime, connect, one PING) and nothing else, so
//!   the script can subtract what every run pays once.
//!
//! The server comes from `REDIS_URL` so its instructions are not counted. The last
//! line printed is `commands: N` for the script.

use std::process::ExitCode;

use bytes::Bytes;
use redmux_benches::compare::{BoxError, Result, clients};

/// Tasks in `concurrent`.
const TASKS: usize = 100;
/// SET+GET pairs per task in `concurrent`.
const PAIRS: usize = 2_000;
/// GETs in `single`.
const GETS: usize = 20_000;
/// SETs in `burst`.
const BURST: usize = 100_000;

const VALUE: [u8; 16] = *b"profile-load-val";

async fn concurrent(client: &redmux::Client) -> Result<u64> {
    // PROFILE_TASKS overrides the task count for a native profile (perf) at another
    // concurrency; scripts/callgrind leaves it unset.
    let tasks_wanted = match std::env::var("PROFILE_TASKS") {
        Err(_) => TASKS,
        Ok(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("PROFILE_TASKS={v:?}: a task count of 1 or more").into()),
        },
    };
    let mut tasks = Vec::with_capacity(tasks_wanted);
    for task in 0..tasks_wanted {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("profile:{task}");
            for _ in 0..PAIRS {
                client.set(key.as_str(), VALUE).await?;
                let got: Option<Bytes> = client.get(key.as_str()).await?;
                if got.as_deref() != Some(&VALUE[..]) {
                    return Err::<(), BoxError>(format!("wrong value for {key}").into());
                }
            }
            Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok((tasks_wanted * PAIRS * 2) as u64)
}

async fn single(client: &redmux::Client) -> Result<u64> {
    client.set("profile:single", VALUE).await?;
    for _ in 0..GETS {
        let got: Option<Bytes> = client.get("profile:single").await?;
        if got.as_deref() != Some(&VALUE[..]) {
            return Err("wrong value for profile:single".into());
        }
    }
    Ok(GETS as u64 + 1)
}

async fn burst(client: &redmux::Client) -> Result<u64> {
    let keys: Vec<String> = (0..BURST).map(|i| format!("profile:burst:{i}")).collect();
    let futures: Vec<_> = keys
        .iter()
        .map(|key| {
            let client = client.clone();
            async move { client.set(key.as_str(), VALUE).await }
        })
        .collect();
    for outcome in futures::future::join_all(futures).await {
        outcome?;
    }
    Ok(BURST as u64)
}

fn run(workload: &str) -> Result<u64> {
    let url = std::env::var("REDIS_URL")
        .map_err(|_| "REDIS_URL must name the server (scripts/callgrind starts one)")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = clients::connect_redmux(&url).await?;
        let _: String = client.command(redmux::cmd("PING")).await?;
        let commands = match workload {
            "concurrent" => concurrent(&client).await?,
            "single" => single(&client).await?,
            "burst" => burst(&client).await?,
            "baseline" => 0,
            other => return Err(format!("unknown workload {other:?}").into()),
        };
        let stats = client.stats();
        eprintln!(
            "{workload}: {} commands sent, {:.1} commands per write",
            stats.commands_sent,
            stats.commands_per_write()
        );
        client.close().await;
        Ok(commands)
    })
}

fn main() -> ExitCode {
    let workload = std::env::args().nth(1).unwrap_or_default();
    if !matches!(
        workload.as_str(),
        "concurrent" | "single" | "burst" | "baseline"
    ) {
        eprintln!(
            "usage: REDIS_URL=redis://host:port profile_load concurrent|single|burst|baseline"
        );
        return ExitCode::from(2);
    }
    match run(&workload) {
        Ok(commands) => {
            println!("commands: {commands}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("profile_load: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
