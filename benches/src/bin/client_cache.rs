//! Client-side caching: cache hits against uncached GETs, for redmux and for
//! redis-rs's own client-side cache (`cache-aio`), one server, one run.
//!
//! - throughput: T tasks share one client and read K keys (64-byte values) round
//!   robin, N reads in all; reads per second.
//! - latency: one caller, S reads one after another; p50 and p99 per read.
//!
//! The cached runs are warmed first (every key read once), so they measure hits.
//!
//! ```text
//! cargo run --release -p redmux-benches --bin client_cache -- [--reads N] [--tasks T]
//!     [--keys K] [--samples S] [--quick]
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use redmux::{Client, ClientCache, Config};
use redmux_testkit::RedisServer;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

const TTL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy)]
struct Options {
    reads: usize,
    tasks: usize,
    keys: usize,
    samples: usize,
}

const USAGE: &str = "client_cache [--reads N (400000)] [--tasks T (64)] [--keys K (1000)] [--samples S (20000)] [--quick]";

fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut o = Options {
        reads: 400_000,
        tasks: 64,
        keys: 1_000,
        samples: 20_000,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || -> Result<usize> {
            let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            Ok(v.parse()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))?)
        };
        match flag.as_str() {
            "--reads" => o.reads = value()?.max(1),
            "--tasks" => o.tasks = value()?.max(1),
            "--keys" => o.keys = value()?.max(1),
            "--samples" => o.samples = value()?.max(1),
            "--quick" => {
                o.reads = 40_000;
                o.samples = 2_000;
            }
            "--help" | "-h" => return Ok(None),
            other => return Err(format!("unknown flag {other:?}\n{USAGE}").into()),
        }
    }
    Ok(Some(o))
}

fn key(i: usize) -> String {
    format!("cc:{i}")
}

/// One way of reading a key.
#[derive(Clone)]
enum Reader {
    Redmux(Client, bool),
    RedisRs(redis::aio::MultiplexedConnection),
}

impl Reader {
    async fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(match self {
            Reader::Redmux(client, false) => client.get(key).await?,
            Reader::Redmux(client, true) => client.get(key).cached(TTL).await?,
            Reader::RedisRs(conn) => conn.get(key).await?,
        })
    }
}

/// Reads per second with `o.tasks` tasks sharing `reader`.
async fn throughput(reader: &Reader, o: Options) -> Result<f64> {
    let per_task = o.reads / o.tasks;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(o.tasks);
    for t in 0..o.tasks {
        let mut reader = reader.clone();
        let keys = o.keys;
        tasks.push(tokio::spawn(async move {
            for i in 0..per_task {
                let v = reader.get(&key((t * 7919 + i) % keys)).await?;
                if v.is_none() {
                    return Err::<(), BoxError>("a key is missing".into());
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((per_task * o.tasks) as f64 / started.elapsed().as_secs_f64())
}

/// p50 and p99 of one caller's reads, one after another.
async fn latency(reader: &Reader, o: Options) -> Result<(Duration, Duration)> {
    let mut reader = reader.clone();
    let mut samples = Vec::with_capacity(o.samples);
    for i in 0..o.samples {
        let k = key(i % o.keys);
        let started = Instant::now();
        reader.get(&k).await?;
        samples.push(started.elapsed());
    }
    samples.sort();
    Ok((
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100],
    ))
}

async fn warm(reader: &Reader, o: Options) -> Result<()> {
    let mut reader = reader.clone();
    for i in 0..o.keys {
        reader.get(&key(i)).await?;
    }
    Ok(())
}

async fn run(o: Options) -> Result<()> {
    let server = RedisServer::start()?;
    let url = server.url();
    let plain = Client::connect(&url).await?;
    let value = "v".repeat(64);
    for i in 0..o.keys {
        plain.set(key(i), value.as_str()).await?;
    }
    let mut config = Config::from_url(&url)?;
    config.client_cache = Some(ClientCache::default());
    let cached = Client::connect_with(config).await?;
    let rs = redis::Client::open(format!("{url}/?protocol=resp3"))?;
    let rs_plain = rs.get_multiplexed_async_connection().await?;
    let rs_cached = rs
        .get_multiplexed_async_connection_with_config(
            &redis::AsyncConnectionConfig::new()
                .set_cache_config(redis::caching::CacheConfig::new()),
        )
        .await?;
    let readers = [
        ("redmux GET", Reader::Redmux(plain.clone(), false)),
        (
            "redmux GET .cached (hits)",
            Reader::Redmux(cached.clone(), true),
        ),
        ("redis-rs GET", Reader::RedisRs(rs_plain)),
        (
            "redis-rs GET, cache-aio (hits)",
            Reader::RedisRs(rs_cached.clone()),
        ),
    ];
    println!(
        "client_cache: {} reads by {} tasks over {} keys of 64 bytes; latency over {} reads by one caller; server {}",
        o.reads,
        o.tasks,
        o.keys,
        o.samples,
        server.version()
    );
    println!(
        "{:<32} {:>14} {:>10} {:>10}",
        "reader", "reads/s", "p50", "p99"
    );
    let mut rows = Vec::new();
    for (name, reader) in &readers {
        warm(reader, o).await?;
        let rate = throughput(reader, o).await?;
        let (p50, p99) = latency(reader, o).await?;
        println!("{name:<32} {rate:>14.0} {p50:>10.2?} {p99:>10.2?}");
        rows.push((name, rate, p50));
    }
    let ratio = |a: usize, b: usize| rows[a].1 / rows[b].1;
    println!(
        "redmux hits / redmux GETs: {:.1}x throughput, {:.1}x lower p50",
        ratio(1, 0),
        rows[0].2.as_secs_f64() / rows[1].2.as_secs_f64()
    );
    println!(
        "redmux hits / redis-rs cache-aio hits: {:.2}x throughput",
        ratio(1, 3)
    );
    if let Some(s) = cached.cache_stats() {
        println!("redmux cache: {s:?}");
    }
    if let Some(s) = rs_cached.get_cache_statistics() {
        println!(
            "redis-rs cache: {} hits, {} misses, {} invalidations",
            s.hit, s.miss, s.invalidate
        );
    }
    Ok(())
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
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("client_cache failed: {e}");
            ExitCode::FAILURE
        }
    }
}
