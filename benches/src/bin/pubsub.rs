//! Pub/sub and work-queue benchmarks: redmux against redis-rs and fred, one server,
//! one run.
//!
//! - (a) live: one subscriber per client library; a redmux publisher sends M
//!   messages as fast as it can (fire-and-forget PUBLISH); the time until the
//!   subscriber has all M. The server does the same work for every library, so
//!   this is the whole pipeline's rate.
//! - (b) backlog: the subscriber's connection goes through redmux-testkit's
//!   `FaultProxy`, which is stalled while M messages are published, then resumed:
//!   the time to read the backlog is the subscriber's own rate (decode, dispatch,
//!   hand to the consumer).
//! - (c) work queue, idle: one job at a time to an idle worker; push-to-pickup
//!   latency, p50 and p99, for `Worker`, `ReliableWorker`, and BLPOP on a dedicated
//!   connection for reference.
//! - (d) work queue, busy: J jobs pushed as fast as possible to 4 workers;
//!   throughput and push-to-pickup latency (queueing included).
//!
//! ```text
//! cargo run --release -p redmux-benches --bin pubsub -- [--messages M] [--payload BYTES]
//!     [--rounds R] [--samples S] [--jobs J] [--quick]
//! ```
//!
//! Each library's subscriber is its documented one: redmux `Client::subscribe`,
//! redis-rs `Client::get_async_pubsub` (an unbounded channel to its stream), fred
//! `SubscriberClient` with `message_rx()` (a broadcast channel, given room for all M
//! so that it drops none).

use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use redmux::work_queue::Job;
use redmux::{Client, WorkQueue};
use redmux_testkit::{FaultProxy, RedisServer};
use tokio::sync::mpsc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
struct Options {
    messages: usize,
    payload: usize,
    rounds: usize,
    samples: usize,
    jobs: usize,
}

const USAGE: &str = "pubsub [--messages M (200000)] [--payload BYTES (32)] [--rounds R (3)] \
[--samples S (2000)] [--jobs J (100000)] [--quick]";

fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut o = Options {
        messages: 200_000,
        payload: 32,
        rounds: 3,
        samples: 2000,
        jobs: 100_000,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || -> Result<usize> {
            let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            Ok(v.parse()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))?)
        };
        match flag.as_str() {
            "--messages" => o.messages = value()?,
            "--payload" => o.payload = value()?,
            "--rounds" => o.rounds = value()?.max(1),
            "--samples" => o.samples = value()?.max(1),
            "--jobs" => o.jobs = value()?.max(1),
            "--quick" => {
                o.messages = 20_000;
                o.rounds = 1;
                o.samples = 200;
                o.jobs = 10_000;
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown option {other:?}; usage: {USAGE}").into()),
        }
    }
    Ok(Some(o))
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&argv) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("pubsub: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pubsub: cannot build the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pubsub: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lib {
    Redmux,
    RedisRs,
    Fred,
}

const LIBS: [Lib; 3] = [Lib::Redmux, Lib::RedisRs, Lib::Fred];

impl Lib {
    fn name(self) -> &'static str {
        match self {
            Lib::Redmux => "redmux",
            Lib::RedisRs => "redis-rs",
            Lib::Fred => "fred",
        }
    }
}

/// The order clients take their turn in a round: rotated each round, so a machine
/// that speeds up or slows down during the run favours nobody.
fn order(round: usize) -> [Lib; 3] {
    let mut libs = LIBS;
    libs.rotate_left(round % 3);
    libs
}

async fn run(o: Options) -> Result<()> {
    // Redis disconnects a subscriber whose output buffer passes 32 MB (or 8 MB for
    // 60 s): the backlog scenario holds more than that on purpose.
    let server = RedisServer::builder()
        .arg("--client-output-buffer-limit")
        .arg("pubsub 0 0 0")
        .start()?;
    let proxy = FaultProxy::start(server.addr())?;
    println!(
        "redis {} on {}; {} messages of {} bytes, {} round(s); {} cores",
        server.version(),
        server.addr(),
        o.messages,
        o.payload,
        o.rounds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let publisher = Client::connect(&server.url()).await?;
    let payload = Bytes::from(vec![b'x'; o.payload]);

    let mut live = [vec![], vec![], vec![]];
    let mut backlog = [vec![], vec![], vec![]];
    for round in 0..o.rounds {
        for lib in order(round) {
            let rate = deliver(lib, &server.url(), None, &publisher, &payload, o.messages).await?;
            live[lib as usize].push(rate);
        }
        for lib in order(round) {
            let rate = deliver(
                lib,
                &proxy.url(),
                Some(&proxy),
                &publisher,
                &payload,
                o.messages,
            )
            .await?;
            backlog[lib as usize].push(rate);
        }
    }
    println!("\n(a) live: messages/s delivered to one subscriber (median of rounds)");
    print_rates(&live);
    println!("\n(b) backlog: messages/s read by the subscriber from a stalled-then-resumed link");
    print_rates(&backlog);

    println!(
        "\n(c) work queue, idle worker: push-to-pickup latency, {} jobs one at a time",
        o.samples
    );
    println!(
        "  {:<34} {:>9} {:>9} {:>9}",
        "", "p50 µs", "p99 µs", "mean µs"
    );
    for kind in [Pickup::Worker, Pickup::Reliable, Pickup::Blpop] {
        let mut samples = idle_latency(kind, &server.url(), o.samples).await?;
        let s = summarise(&mut samples);
        println!(
            "  {:<34} {:>9.0} {:>9.0} {:>9.0}",
            kind.name(),
            s.0,
            s.1,
            s.2
        );
    }

    println!(
        "\n(d) work queue, busy: {} jobs pushed at once, 4 workers",
        o.jobs
    );
    println!(
        "  {:<34} {:>9} {:>9} {:>9}",
        "", "jobs/s", "p50 ms", "p99 ms"
    );
    for kind in [Pickup::Worker, Pickup::Reliable] {
        let (rate, mut samples) = busy(kind, &server.url(), o.jobs).await?;
        let s = summarise(&mut samples);
        println!(
            "  {:<34} {:>9.0} {:>9.1} {:>9.1}",
            kind.name(),
            rate,
            s.0 / 1000.0,
            s.1 / 1000.0
        );
    }
    Ok(())
}

fn print_rates(rates: &[Vec<f64>; 3]) {
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let redmux = median(&rates[0]);
    for lib in LIBS {
        let m = median(&rates[lib as usize]);
        let all: Vec<String> = rates[lib as usize]
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect();
        println!(
            "  {:<9} {:>10.0} msg/s   redmux/this {:>5.2}   rounds: {}",
            lib.name(),
            m,
            redmux / m,
            all.join(", ")
        );
    }
}

/// A subscriber of one of the three libraries.
enum Subscriber {
    Redmux(redmux::Subscription),
    RedisRs(redis::aio::PubSubStream),
    Fred(
        fred::clients::SubscriberClient,
        tokio::sync::broadcast::Receiver<fred::types::Message>,
    ),
}

async fn subscribe(lib: Lib, url: &str, channel: &str, capacity: usize) -> Result<Subscriber> {
    Ok(match lib {
        Lib::Redmux => {
            let client = Client::connect(url).await?;
            let sub = client.subscribe(channel).buffer(capacity).await?;
            Subscriber::Redmux(sub)
        }
        Lib::RedisRs => {
            let client = redis::Client::open(url)?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(channel).await?;
            Subscriber::RedisRs(pubsub.into_on_message())
        }
        Lib::Fred => {
            use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
            let config = fred::types::config::Config::from_url(url)?;
            let client = fred::types::Builder::from_config(config)
                .with_performance_config(|p| p.broadcast_channel_capacity = capacity)
                .build_subscriber_client()?;
            client.init().await?;
            let rx = client.message_rx();
            client.subscribe(channel).await?;
            Subscriber::Fred(client, rx)
        }
    })
}

impl Subscriber {
    /// Receives `n` messages; fails on a drop or a gap.
    async fn receive(&mut self, n: usize) -> Result<()> {
        for i in 0..n {
            if std::env::var("DEBUG_RECV").is_ok() && i % 1000 == 0 {
                eprintln!("recv {i}");
            }
            match self {
                Subscriber::Redmux(sub) => match sub.next().await {
                    Some(redmux::pubsub::Event::Message(_)) => {}
                    other => return Err(format!("redmux: {other:?}").into()),
                },
                Subscriber::RedisRs(stream) => {
                    stream.next().await.ok_or("redis-rs: the stream ended")?;
                }
                Subscriber::Fred(_, rx) => {
                    rx.recv().await.map_err(|e| format!("fred: {e}"))?;
                }
            }
        }
        Ok(())
    }

    async fn close(self) {
        if let Subscriber::Fred(client, _) = self {
            use fred::interfaces::ClientLike;
            let _ = client.quit().await;
        }
    }
}

/// Publishes `n` messages to a fresh subscriber of `lib` and returns messages per
/// second, from the first publish (or the proxy's resume) to the last delivery.
async fn deliver(
    lib: Lib,
    url: &str,
    stall: Option<&FaultProxy>,
    publisher: &Client,
    payload: &Bytes,
    n: usize,
) -> Result<f64> {
    let channel = format!("bench:{}", lib.name());
    let mut sub = subscribe(lib, url, &channel, n + 16).await?;
    // fred's subscribe() sometimes returns before the server has the subscription
    // (PUBSUB NUMSUB right after it says 0), and what is published meanwhile is lost
    // to it: wait until the server says so, for every library alike.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let counts: Vec<(String, u64)> = publisher.pubsub_numsub([&channel]).await?;
        if counts.first().is_some_and(|(_, n)| *n == 1) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("{}: not subscribed after 5 s", lib.name()).into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    if let Some(proxy) = stall {
        proxy.stall();
    }
    let receiver = tokio::spawn(async move {
        let received = sub.receive(n).await;
        let done = Instant::now();
        sub.close().await;
        received.map(|()| done)
    });
    let mut started = Instant::now();
    for _ in 0..n {
        loop {
            match publisher.publish(&channel, payload).fire_and_forget() {
                Ok(()) => break,
                Err(redmux::Error::Overloaded(_)) => tokio::task::yield_now().await,
                Err(e) => return Err(e.into()),
            }
        }
    }
    if let Some(proxy) = stall {
        // Everything published is in the server's output buffer or the proxy: wait
        // for the server to have run the last PUBLISH, then let the bytes through.
        publisher.ping().await?;
        started = Instant::now();
        proxy.resume();
    }
    let done = tokio::time::timeout(Duration::from_secs(120), receiver)
        .await
        .map_err(|_| format!("{}: not all {n} messages within 120 s", lib.name()))???;
    Ok(n as f64 / (done - started).as_secs_f64())
}

#[derive(Debug, Clone, Copy)]
enum Pickup {
    Worker,
    Reliable,
    Blpop,
}

impl Pickup {
    fn name(self) -> &'static str {
        match self {
            Pickup::Worker => "Worker (RPOP count)",
            Pickup::Reliable => "ReliableWorker (LMOVE + ack)",
            Pickup::Blpop => "BLPOP on a dedicated connection",
        }
    }
}

/// Nanoseconds since the run started: pushed in the job, read at pickup.
fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn latency_of(job: &[u8]) -> Result<u64> {
    let pushed: u64 = std::str::from_utf8(job)?.parse()?;
    Ok(now_ns().saturating_sub(pushed))
}

/// Runs workers of `kind` on their own clients, each sending the latency of every
/// job it picks up.
async fn start_workers(
    kind: Pickup,
    url: &str,
    queue_name: &str,
    workers: usize,
) -> Result<(
    mpsc::UnboundedReceiver<u64>,
    Vec<tokio::task::JoinHandle<()>>,
)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let client = Client::connect(url).await?;
        let tx = tx.clone();
        let queue = WorkQueue::new(&client, queue_name);
        let task = match kind {
            Pickup::Worker => {
                let mut worker = queue.worker().await?;
                tokio::spawn(async move {
                    while let Ok(job) = worker.next().await {
                        send_latency(&tx, &job);
                    }
                })
            }
            Pickup::Reliable => {
                let mut worker = queue.reliable_worker(&format!("w{w}")).await?;
                tokio::spawn(async move {
                    while let Ok(job) = worker.next().await {
                        send_latency(&tx, &job);
                        worker.ack(&job);
                    }
                })
            }
            Pickup::Blpop => {
                let conn = client.dedicated().await?;
                let key = queue_name.to_string();
                tokio::spawn(async move {
                    let blpop = || redmux::cmd("BLPOP").arg(&key).arg(0);
                    while let Ok((_, job)) = conn.command::<(Bytes, Bytes)>(blpop()).await {
                        if let Ok(ns) = latency_of(&job) {
                            let _ = tx.send(ns);
                        }
                    }
                })
            }
        };
        tasks.push(task);
    }
    Ok((rx, tasks))
}

fn send_latency(tx: &mpsc::UnboundedSender<u64>, job: &Job) {
    if let Ok(ns) = latency_of(job.payload()) {
        let _ = tx.send(ns);
    }
}

/// One job at a time to one idle worker.
async fn idle_latency(kind: Pickup, url: &str, samples: usize) -> Result<Vec<u64>> {
    let name = format!("bench:idle:{}", kind.name().len());
    let producer = Client::connect(url).await?;
    producer.del(&name).await?;
    let (mut rx, tasks) = start_workers(kind, url, &name, 1).await?;
    let queue = WorkQueue::new(&producer, &name);
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples {
        // Let the worker find the list empty and wait again.
        tokio::time::sleep(Duration::from_micros(300)).await;
        match kind {
            Pickup::Blpop => producer.lpush(&name, now_ns()).fire_and_forget()?,
            Pickup::Worker | Pickup::Reliable => queue.push(now_ns())?,
        }
        let ns = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .map_err(|_| format!("{}: a job was not picked up within 10 s", kind.name()))?
            .ok_or("the worker stopped")?;
        out.push(ns);
    }
    tasks.iter().for_each(tokio::task::JoinHandle::abort);
    Ok(out)
}

/// `jobs` jobs pushed at once to four workers: jobs per second and the latencies.
async fn busy(kind: Pickup, url: &str, jobs: usize) -> Result<(f64, Vec<u64>)> {
    let name = format!("bench:busy:{}", kind.name().len());
    let producer = Client::connect(url).await?;
    producer.del(&name).await?;
    let (mut rx, tasks) = start_workers(kind, url, &name, 4).await?;
    let queue = WorkQueue::new(&producer, &name);
    let started = Instant::now();
    for _ in 0..jobs {
        loop {
            match queue.push(now_ns()) {
                Ok(()) => break,
                Err(redmux::Error::Overloaded(_)) => tokio::task::yield_now().await,
                Err(e) => return Err(e.into()),
            }
        }
    }
    let mut out = Vec::with_capacity(jobs);
    while out.len() < jobs {
        let ns = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .map_err(|_| format!("{}: {} of {jobs} jobs in 60 s", kind.name(), out.len()))?
            .ok_or("the workers stopped")?;
        out.push(ns);
    }
    let rate = jobs as f64 / started.elapsed().as_secs_f64();
    tasks.iter().for_each(tokio::task::JoinHandle::abort);
    Ok((rate, out))
}

/// p50, p99 and mean in microseconds (nearest rank).
fn summarise(samples: &mut [u64]) -> (f64, f64, f64) {
    samples.sort_unstable();
    let n = samples.len();
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let at = |q: f64| samples[((q * n as f64).ceil() as usize).clamp(1, n) - 1] as f64 / 1000.0;
    let mean = samples.iter().map(|&s| s as f64).sum::<f64>() / n as f64 / 1000.0;
    (at(0.50), at(0.99), mean)
}
