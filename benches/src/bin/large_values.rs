//! Head-of-line blocking: how much one task writing 4 MiB values slows 100 tasks doing
//! small GETs on the same handle (one connection).
//!
//! ```text
//! cargo run --release -p redmux-benches --bin large_values -- [--tasks 100]
//!     [--value-mib 4] [--seconds 2] [--rounds 3] [--only redmux,redis-rs,fred]
//!     [--no-second-connection] [--json PATH]
//! ```
//!
//! For each client in turn (redmux `Client`, redis-rs `MultiplexedConnection`, fred
//! `Client`, each one connection, set up as in the comparison): `--tasks` tasks loop
//! `GET` of their own 16-byte key and time each call, first **alone**, then **with a
//! large writer**: one more task on the same handle looping `SET lv:big <4 MiB>`. Each
//! phase has a 0.5 s warm-up, then `--seconds` measured; the pair runs `--rounds` times
//! and the samples of each condition are pooled. The figure that matters is the ratio
//! of the GETs' p99 with the writer to their p99 alone. For redmux it also runs
//! the alternative, the large writer on a second `Client` (its own connection), unless
//! `--no-second-connection`.
//!
//! The server is a throwaway `redis-server` unless `REDIS_URL` is set. Prints a table and
//! writes `benches/results/large_values.json`.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use redmux_benches::compare::Result;
use redmux_benches::compare::clients::{self, ClientKind, Kv, Tuning};
use redmux_benches::compare::machine::{Machine, Versions, now_utc};
use redmux_benches::support::{self, Server, percentile};
use serde::Serialize;

const WARMING: u8 = 0;
const MEASURING: u8 = 1;
const STOPPING: u8 = 2;

#[derive(Debug, Clone)]
struct Options {
    tasks: usize,
    value_bytes: usize,
    seconds: f64,
    rounds: usize,
    clients: Vec<ClientKind>,
    /// Also run redmux with the large writer on its own connection.
    second_connection: bool,
    json: std::path::PathBuf,
}

const USAGE: &str = "large_values [--tasks N (100)] [--value-mib M (4)] [--seconds S (2)] \
[--rounds R (3)] [--only redmux,redis-rs,fred] [--no-second-connection] [--json PATH]";

/// The label of redmux with the large writer on a second `Client`.
const SECOND: &str = "redmux, writer on a 2nd connection";

/// The small GETs' latency in one phase.
#[derive(Debug, Clone, Serialize)]
struct Gets {
    samples: usize,
    per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
}

/// What the large writer did in its phase.
#[derive(Debug, Clone, Serialize)]
struct Writer {
    sets: u64,
    sets_per_sec: f64,
    mib_per_sec: f64,
    mean_set_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
struct ClientResult {
    client: &'static str,
    alone: Gets,
    with_writer: Gets,
    /// The large writer, over all rounds.
    writer: Writer,
    /// p99 with the writer ÷ p99 alone (target for redmux: ≤ 10).
    p99_ratio: f64,
    p50_ratio: f64,
    /// Each round's p99, alone and with the writer, µs.
    round_p99_us: RoundP99s,
    /// redmux only: commands per write syscall while the writer ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    commands_per_write: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
struct RoundP99s {
    alone: Vec<f64>,
    with_writer: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    date: String,
    command_line: String,
    machine: Machine,
    versions: Versions,
    tasks: usize,
    value_bytes: usize,
    seconds: f64,
    rounds: usize,
    results: Vec<ClientResult>,
}

/// What one phase measured.
struct PhaseOut {
    /// GET latencies, nanoseconds.
    samples: Vec<u64>,
    seconds: f64,
    /// The large writer's SETs and the time they took, if it ran.
    writer: Option<(u64, Duration)>,
}

impl Gets {
    fn of(mut samples: Vec<u64>, seconds: f64) -> Gets {
        samples.sort_unstable();
        let us = |q: f64| percentile(&samples, q) as f64 / 1e3;
        Gets {
            samples: samples.len(),
            per_sec: samples.len() as f64 / seconds,
            p50_us: us(0.50),
            p99_us: us(0.99),
            p999_us: us(0.999),
            max_us: us(1.0),
        }
    }
}

/// One phase: `tasks` GET loops on `client`, plus the large writer on `writer_client`
/// if `big` is given.
async fn phase<K: Kv>(
    client: &K,
    writer_client: &K,
    label: &str,
    tasks: usize,
    measure: Duration,
    big: Option<Bytes>,
) -> Result<PhaseOut> {
    let state = Arc::new(AtomicU8::new(WARMING));
    let value = [b'v'; 16];
    let mut getters = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let mut client = client.clone();
        let state = state.clone();
        let key = format!("lv:{label}:{task}").into_bytes();
        client.set(&key, &value).await?;
        getters.push(tokio::spawn(async move {
            let mut samples: Vec<u64> = Vec::with_capacity(1 << 14);
            while state.load(Relaxed) != STOPPING {
                let started = Instant::now();
                let got = client.get(&key).await?;
                let took = started.elapsed();
                if got.as_ref().map(AsRef::as_ref) != Some(&value[..]) {
                    return Err("a GET returned the wrong value".into());
                }
                if state.load(Relaxed) == MEASURING {
                    samples.push(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
                }
            }
            Ok::<_, redmux_benches::compare::BoxError>(samples)
        }));
    }
    let writer = big.map(|big| {
        let mut client = writer_client.clone();
        let state = state.clone();
        let key = format!("lv:{label}:big").into_bytes();
        tokio::spawn(async move {
            let (mut sets, mut busy) = (0u64, Duration::ZERO);
            while state.load(Relaxed) != STOPPING {
                let started = Instant::now();
                // Held as `Bytes`: each client sends it as cheaply as it can.
                client.set_bytes(&key, big.clone()).await?;
                if state.load(Relaxed) == MEASURING {
                    sets += 1;
                    busy += started.elapsed();
                }
            }
            Ok::<_, redmux_benches::compare::BoxError>((sets, busy))
        })
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    state.store(MEASURING, Relaxed);
    let started = Instant::now();
    tokio::time::sleep(measure).await;
    state.store(STOPPING, Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let mut samples = Vec::new();
    for getter in getters {
        samples.extend(getter.await??);
    }
    let writer = match writer {
        Some(w) => Some(w.await??),
        None => None,
    };
    Ok(PhaseOut {
        samples,
        seconds,
        writer,
    })
}

/// `--rounds` × (alone, with the writer) for one client, samples pooled per
/// condition; the large writer uses `writer_client` (the same handle, or a second
/// connection to show the alternative).
async fn measure<K: Kv>(
    client: &K,
    writer_client: &K,
    label: &'static str,
    options: &Options,
    stats: impl Fn() -> Option<(u64, u64)>,
) -> Result<ClientResult> {
    let measure = Duration::from_secs_f64(options.seconds);
    let big = Bytes::from(vec![b'x'; options.value_bytes]);
    let (mut alone, mut with) = (Vec::new(), Vec::new());
    let (mut alone_s, mut with_s) = (0.0, 0.0);
    let (mut sets, mut busy) = (0u64, Duration::ZERO);
    let (mut commands, mut writes) = (0u64, 0u64);
    let mut round_p99_us = RoundP99s::default();
    for round in 1..=options.rounds {
        eprintln!(
            "{label}, round {round}: {} GET tasks alone, then with the writer",
            options.tasks
        );
        let out = phase(client, writer_client, label, options.tasks, measure, None).await?;
        alone_s += out.seconds;
        round_p99_us
            .alone
            .push(Gets::of(out.samples.clone(), out.seconds).p99_us);
        alone.extend(out.samples);
        let before = stats();
        let out = phase(
            client,
            writer_client,
            label,
            options.tasks,
            measure,
            Some(big.clone()),
        )
        .await?;
        if let (Some((c0, w0)), Some((c1, w1))) = (before, stats()) {
            commands += c1 - c0;
            writes += w1 - w0;
        }
        with_s += out.seconds;
        round_p99_us
            .with_writer
            .push(Gets::of(out.samples.clone(), out.seconds).p99_us);
        with.extend(out.samples);
        let (s, b) = out.writer.ok_or("the writer did not report")?;
        sets += s;
        busy += b;
    }
    let alone = Gets::of(alone, alone_s);
    let with_writer = Gets::of(with, with_s);
    let sets_per_sec = sets as f64 / with_s;
    Ok(ClientResult {
        client: label,
        p99_ratio: with_writer.p99_us / alone.p99_us.max(f64::MIN_POSITIVE),
        p50_ratio: with_writer.p50_us / alone.p50_us.max(f64::MIN_POSITIVE),
        alone,
        with_writer,
        writer: Writer {
            sets,
            sets_per_sec,
            mib_per_sec: sets_per_sec * options.value_bytes as f64 / (1024.0 * 1024.0),
            mean_set_ms: busy.as_secs_f64() * 1e3 / sets.max(1) as f64,
        },
        round_p99_us,
        commands_per_write: (writes > 0).then(|| commands as f64 / writes as f64),
    })
}

fn run(options: &Options) -> Result<Report> {
    let server = Server::from_env_or_start()?;
    let url = server.url.as_str();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let tuning = Tuning { nodelay: true };
    let results = runtime.block_on(async {
        let mut results = Vec::new();
        for &kind in &options.clients {
            let result = match kind {
                ClientKind::Redmux => {
                    let client = clients::connect_redmux(url).await?;
                    let stats = || {
                        let s = client.stats();
                        Some((s.commands_sent, s.writes))
                    };
                    results.push(measure(&client, &client, kind.name(), options, stats).await?);
                    if options.second_connection {
                        // The alternative: large values on a connection of their own.
                        let other = clients::connect_redmux(url).await?;
                        measure(&client, &other, SECOND, options, stats).await?
                    } else {
                        continue;
                    }
                }
                ClientKind::RedisRs => {
                    let client = clients::connect_redis_rs(url, tuning).await?;
                    measure(&client, &client, kind.name(), options, || None).await?
                }
                ClientKind::Fred => {
                    let client = clients::connect_fred(url, tuning).await?;
                    let r = measure(&client, &client, kind.name(), options, || None).await?;
                    clients::close_fred(&client).await;
                    r
                }
            };
            results.push(result);
        }
        Ok::<_, redmux_benches::compare::BoxError>(results)
    })?;
    Ok(Report {
        date: now_utc(),
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        machine: Machine::detect(),
        versions: Versions::detect(),
        tasks: options.tasks,
        value_bytes: options.value_bytes,
        seconds: options.seconds,
        rounds: options.rounds,
        results,
    })
}

fn render(report: &Report) -> String {
    let mut out = format!(
        "{} tasks doing GETs of 16 B on one handle, alone and beside one task writing {} MiB values; \
µs; {} rounds of {} s per phase, samples pooled.\n\n",
        report.tasks,
        report.value_bytes as f64 / (1024.0 * 1024.0),
        report.rounds,
        report.seconds
    );
    out += "| client | p50 alone | p99 alone | p50 with writer | p99 with writer | p99 ratio | GETs/s alone | GETs/s with writer | 4 MiB SETs/s | writer MiB/s |\n";
    out += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for r in &report.results {
        out += &format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {:.1} | {:.0} |\n",
            r.client,
            r.alone.p50_us,
            r.alone.p99_us,
            r.with_writer.p50_us,
            r.with_writer.p99_us,
            r.p99_ratio,
            r.alone.per_sec,
            r.with_writer.per_sec,
            r.writer.sets_per_sec,
            r.writer.mib_per_sec,
        );
    }
    for r in &report.results {
        if let Some(cpw) = r.commands_per_write {
            out += &format!(
                "\n{}: {cpw:.1} commands per write while the large writer ran; mean 4 MiB SET {:.2} ms; GET p99.9 {:.0} µs, max {:.0} µs with the writer.\n",
                r.client, r.writer.mean_set_ms, r.with_writer.p999_us, r.with_writer.max_us
            );
        }
    }
    out += "\nEach round's p99, µs (alone → with the writer):\n";
    for r in &report.results {
        let pairs: Vec<String> = r
            .round_p99_us
            .alone
            .iter()
            .zip(&r.round_p99_us.with_writer)
            .map(|(a, w)| format!("{a:.0} → {w:.0}"))
            .collect();
        out += &format!("- {}: {}\n", r.client, pairs.join(", "));
    }
    out
}

fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut o = Options {
        tasks: 100,
        value_bytes: 4 * 1024 * 1024,
        seconds: 2.0,
        rounds: 3,
        clients: ClientKind::ALL.to_vec(),
        second_connection: true,
        json: support::results_path("large_values.json"),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--tasks" => o.tasks = value()?.parse::<usize>()?.max(1),
            "--value-mib" => o.value_bytes = (value()?.parse::<f64>()? * 1048576.0) as usize,
            "--seconds" => o.seconds = value()?.parse::<f64>()?.max(0.1),
            "--rounds" => o.rounds = value()?.parse::<usize>()?.max(1),
            "--only" => {
                let list = value()?;
                o.clients = ClientKind::ALL
                    .into_iter()
                    .filter(|k| list.split(',').any(|n| n.trim() == k.name()))
                    .collect();
                if o.clients.is_empty() {
                    return Err(format!("--only {list:?}: no known client").into());
                }
            }
            "--no-second-connection" => o.second_connection = false,
            "--json" => o.json = value()?.into(),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}; usage: {USAGE}").into()),
        }
    }
    Ok(Some(o))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("large_values: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&options).and_then(|report| {
        println!("{}", render(&report));
        support::write_json(&options.json, &report)?;
        println!("figures written to {}", options.json.display());
        Ok(())
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("large_values: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
