//! Batch throughput: N SETs sent as one batch, redmux against redis-rs's pipeline and
//! fred's pipeline, one server, one run.
//!
//! ```text
//! cargo run --release -p redmux-benches --bin batch -- [--commands N] [--value BYTES]
//!     [--rounds R] [--url redis://...] [--quick]
//! ```
//!
//! Each round times, for each library in turn (the order rotates between rounds),
//! building and sending N `SET batch:<i> <value>` and collecting one result per
//! command, on a freshly flushed database:
//!
//! - redmux `Client::batch` (`add` each `client.set`, `execute`), chunks of 1,000 with
//!   4 in flight; and `Client::batch_iter` over the same commands, streamed;
//! - redis-rs `redis::pipe()` on a `MultiplexedConnection`, `query_async` into
//!   `Vec<redis::Value>` (redis-rs sends the whole pipeline at once);
//! - fred `Client::pipeline`, `try_all::<Value>()` (one result per command).
//!
//! Then redmux alone with windows of 1 to 16 chunks, to show why the default is 4.
//! Figures are the median of the rounds, in commands per second.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use fred::interfaces::KeysInterface;
use futures::StreamExt;
use redmux_benches::compare::clients::{self, Tuning};
use redmux_testkit::RedisServer;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
struct Options {
    commands: usize,
    value: usize,
    rounds: usize,
    url: Option<String>,
}

const USAGE: &str = "batch [--commands N (100000)] [--value BYTES (32)] [--rounds R (7)] \
[--url redis://host:port] [--quick]";

fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut o = Options {
        commands: 100_000,
        value: 32,
        rounds: 7,
        url: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut text = || -> Result<String> {
            Ok(it
                .next()
                .ok_or_else(|| format!("{flag} needs a value"))?
                .clone())
        };
        let number = |v: String| -> Result<usize> {
            Ok(v.parse()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))?)
        };
        match flag.as_str() {
            "--commands" => o.commands = number(text()?)?.max(1),
            "--value" => o.value = number(text()?)?,
            "--rounds" => o.rounds = number(text()?)?.max(1),
            "--url" => o.url = Some(text()?),
            "--quick" => {
                o.commands = 10_000;
                o.rounds = 1;
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}; usage: {USAGE}").into()),
        }
    }
    Ok(Some(o))
}

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    RedmuxBatch,
    RedmuxStream,
    RedisRsPipeline,
    FredPipeline,
}

impl Contender {
    const ALL: [Contender; 4] = [
        Contender::RedmuxBatch,
        Contender::RedmuxStream,
        Contender::RedisRsPipeline,
        Contender::FredPipeline,
    ];

    fn name(self) -> &'static str {
        match self {
            Contender::RedmuxBatch => "redmux `batch()` + `execute()`",
            Contender::RedmuxStream => "redmux `batch_iter()` (streamed)",
            Contender::RedisRsPipeline => "redis-rs `pipe()` + `query_async`",
            Contender::FredPipeline => "fred `pipeline()` + `try_all`",
        }
    }
}

struct Clients {
    redmux: redmux::Client,
    redis_rs: redis::aio::MultiplexedConnection,
    fred: fred::clients::Client,
}

fn key(i: usize) -> String {
    format!("batch:{i}")
}

/// One timed batch of SETs; returns the elapsed time after checking every result.
async fn run(
    clients: &mut Clients,
    contender: Contender,
    o: &Options,
    value: &[u8],
    window: usize,
) -> Result<Duration> {
    let n = o.commands;
    let started = Instant::now();
    let ok = match contender {
        Contender::RedmuxBatch => {
            let client = &clients.redmux;
            let mut batch = client.batch().window(window);
            for i in 0..n {
                batch.add(client.set(key(i), value));
            }
            let results = batch.execute().await;
            results.len() == n && results.errors().next().is_none()
        }
        Contender::RedmuxStream => {
            let client = &clients.redmux;
            let sets = (0..n).map(|i| client.set(key(i), value));
            let mut results = client.batch_iter(sets).window(window);
            let mut ok = 0;
            while let Some(r) = results.next().await {
                r?;
                ok += 1;
            }
            ok == n
        }
        Contender::RedisRsPipeline => {
            let mut pipe = redis::pipe();
            for i in 0..n {
                pipe.set(key(i), value);
            }
            let results: Vec<redis::Value> = pipe.query_async(&mut clients.redis_rs).await?;
            results.len() == n
        }
        Contender::FredPipeline => {
            let pipe = clients.fred.pipeline();
            for i in 0..n {
                // Returns once queued in memory.
                let () = pipe.set(key(i), value, None, None, false).await?;
            }
            let results = pipe.try_all::<fred::types::Value>().await;
            results.len() == n && results.iter().all(|r| r.is_ok())
        }
    };
    let elapsed = started.elapsed();
    if !ok {
        return Err(format!("{}: not every SET succeeded", contender.name()).into());
    }
    Ok(elapsed)
}

async fn flush(client: &redmux::Client) -> Result<()> {
    client.command::<()>(redmux::cmd("FLUSHDB")).await?;
    Ok(())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

async fn main_async(o: Options) -> Result<()> {
    // A server of our own unless one is given: the same one for every library.
    let server = match &o.url {
        Some(_) => None,
        None => Some(RedisServer::start()?),
    };
    let url = match (&o.url, &server) {
        (Some(url), _) => url.clone(),
        (None, Some(server)) => server.url(),
        (None, None) => return Err("no server".into()),
    };
    let tuning = Tuning { nodelay: true };
    let mut clients = Clients {
        redmux: clients::connect_redmux(&url).await?,
        redis_rs: clients::connect_redis_rs(&url, tuning).await?,
        fred: clients::connect_fred(&url, tuning).await?,
    };
    let value = vec![b'v'; o.value];
    let version = server
        .as_ref()
        .map_or_else(|| "?".to_string(), |s| s.version());

    // One warm-up round, not counted: connections, allocator, server dict growth.
    for contender in Contender::ALL {
        flush(&clients.redmux).await?;
        run(&mut clients, contender, &o, &value, 4).await?;
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); Contender::ALL.len()];
    for round in 0..o.rounds {
        for k in 0..Contender::ALL.len() {
            let which = (k + round) % Contender::ALL.len();
            flush(&clients.redmux).await?;
            let t = run(&mut clients, Contender::ALL[which], &o, &value, 4).await?;
            times[which].push(t);
        }
    }
    let windows = [1, 2, 4, 8, 16];
    let mut window_times: Vec<Vec<Duration>> = vec![Vec::new(); windows.len()];
    for round in 0..o.rounds {
        for k in 0..windows.len() {
            let which = (k + round) % windows.len();
            flush(&clients.redmux).await?;
            let t = run(
                &mut clients,
                Contender::RedmuxBatch,
                &o,
                &value,
                windows[which],
            )
            .await?;
            window_times[which].push(t);
        }
    }

    println!(
        "{} SETs of {}-byte values per batch, median of {} rounds, redis {version}, {} cores\n",
        o.commands,
        o.value,
        o.rounds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| client | commands/s | time per batch | vs redmux `batch()` |");
    println!("|---|---:|---:|---:|");
    let base = rate(o.commands, median(times[0].clone()));
    for (contender, t) in Contender::ALL.iter().zip(&times) {
        let m = median(t.clone());
        let r = rate(o.commands, m);
        println!(
            "| {} | {:.0} | {:.1} ms | {:.2}× |",
            contender.name(),
            r,
            m.as_secs_f64() * 1e3,
            r / base
        );
    }
    println!("\nredmux `batch()` by window (chunks of 1,000 in flight):\n");
    println!("| window | commands/s |");
    println!("|---:|---:|");
    for (w, t) in windows.iter().zip(&window_times) {
        println!("| {w} | {:.0} |", rate(o.commands, median(t.clone())));
    }
    clients::close_fred(&clients.fred).await;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("usage: {USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(main_async(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("batch benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}
