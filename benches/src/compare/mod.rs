//! The side-by-side comparison of redmux, redis-rs and fred: one server, one run,
//! the same code driving each client.
//!
//! - (a) throughput: C tasks share one handle (redmux `Client`, redis-rs
//!   `MultiplexedConnection`, fred `Client`, each cloned into every task), each SETs
//!   then GETs its own key and checks the value, for a fixed time;
//! - (b) latency: one caller, sequential GETs: p50, p99, mean;
//! - (c) round trips: a burst of SETs issued at once through redmux-testkit's
//!   `FaultProxy` adding 0.5 ms each way: wall time to the last reply;
//! - (d) `redis-benchmark` on the same server, for the server's own ceiling, with
//!   redmux measured right beside it, interleaved round by round;
//! - (e) and (f) on a throwaway 3 + 3 cluster (`cluster`): a burst of SETs across
//!   slots through one proxy per primary, against a floor of pre-encoded per-node
//!   streams; and (a)'s throughput and CPU per op at C = 1000.
//! - (t) TLS: (a) at C = 1000 and 1 over TLS against a throwaway TLS server, and redmux
//!   over plaintext in the same rounds, for TLS's cost per operation (`tls.rs`).
//!
//! Clients take turns within each scenario, in alternating order, so drift in the
//! machine's speed hits all alike. [`run`] returns a [`Report`]; the binary prints it
//! and writes it as JSON.

pub mod args;
pub mod clients;
pub mod cluster;
pub mod machine;
pub mod redis_benchmark;
pub mod report;
pub mod scenarios;
pub mod tls;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use redmux_testkit::{FaultProxy, RedisServer};

use clients::{ClientKind, Tuning};
use machine::ProcessCounters;
use redis_benchmark::Target;
use report::{
    BenchPair, BenchRound, Latency, LazyBurst, PerClient, Ratios, RedisBenchmark, Report,
    RoundTrips, Settings, ThroughputRow,
};
use scenarios::Form;

/// Any error, with a message that says what failed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The comparison's result type.
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

/// Which scenarios to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenarios {
    /// (a).
    pub throughput: bool,
    /// (b).
    pub latency: bool,
    /// (c).
    pub round_trips: bool,
    /// (d).
    pub redis_benchmark: bool,
    /// (e): a burst through proxies on a cluster.
    pub cluster_round_trips: bool,
    /// (f): throughput and CPU per op on a cluster.
    pub cluster_throughput: bool,
    /// (t).
    pub tls: bool,
}

impl Scenarios {
    /// Every scenario.
    pub const ALL: Scenarios = Scenarios {
        throughput: true,
        latency: true,
        round_trips: true,
        redis_benchmark: true,
        cluster_round_trips: true,
        cluster_throughput: true,
        tls: true,
    };

    /// Parses `a,b,c,d,e,f` (or the long names).
    pub fn parse(list: &str) -> Result<Scenarios> {
        let mut s = Scenarios {
            throughput: false,
            latency: false,
            round_trips: false,
            redis_benchmark: false,
            cluster_round_trips: false,
            cluster_throughput: false,
            tls: false,
        };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "a" | "throughput" => s.throughput = true,
                "b" | "latency" => s.latency = true,
                "c" | "round-trips" => s.round_trips = true,
                "d" | "redis-benchmark" => s.redis_benchmark = true,
                "e" | "cluster-round-trips" => s.cluster_round_trips = true,
                "f" | "cluster-throughput" => s.cluster_throughput = true,
                "t" | "tls" => s.tls = true,
                other => {
                    return Err(format!(
                        "--only: unknown scenario {other:?}; expected a, b, c, d, e, f or t"
                    )
                    .into());
                }
            }
        }
        if s.standalone() || s.cluster() || s.tls {
            Ok(s)
        } else {
            Err("--only: name at least one scenario of a, b, c, d, e, f, t".into())
        }
    }

    /// Whether any of (a)-(d), on the one server, runs.
    pub fn standalone(&self) -> bool {
        self.throughput || self.latency || self.round_trips || self.redis_benchmark
    }

    /// Whether (e) or (f), on a cluster, runs.
    pub fn cluster(&self) -> bool {
        self.cluster_round_trips || self.cluster_throughput
    }
}

/// How to run the comparison.
#[derive(Debug, Clone)]
pub struct Options {
    /// Measured seconds per client and concurrency in (a).
    pub seconds: f64,
    /// Warm-up before each measured slice of (a).
    pub warmup: Duration,
    /// (a) and (b) are split into this many rounds, client order alternating; (a)
    /// reports the median round.
    pub rounds: usize,
    /// Concurrencies of (a).
    pub concurrency: Vec<usize>,
    /// GETs timed per client in (b).
    pub latency_ops: usize,
    /// SETs issued at once in (c) and (e).
    pub burst: usize,
    /// Bursts per client in (c) and (e), client order alternating; the median is
    /// reported.
    pub burst_rounds: usize,
    /// Latency the proxy adds each way in (c) and (e).
    pub proxy_one_way: Duration,
    /// Tasks sharing one handle in (f).
    pub cluster_concurrency: usize,
    /// The most requests per redis-benchmark test in (d); each is sized to about
    /// [`BENCH_TEST_SECONDS`] from a first short run.
    pub bench_requests: u64,
    /// The concurrency of redmux's slices beside `-P 64` in (d) (`None`: the best in
    /// (a), or 1000 when (a) does not run).
    pub d_concurrency: Option<usize>,
    /// Which scenarios run.
    pub scenarios: Scenarios,
    /// Concurrencies of (t).
    pub tls_concurrency: Vec<usize>,
    /// Set TCP_NODELAY on redis-rs's and fred's sockets too.
    pub nodelay: bool,
    /// Where to write the JSON (`None`: nowhere).
    pub json: Option<PathBuf>,
    /// How the run was started, for the record.
    pub command_line: String,
    /// A smoke run.
    pub quick: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seconds: 2.0,
            warmup: Duration::from_millis(100),
            rounds: 8,
            concurrency: vec![1, 10, 100, 1000],
            latency_ops: 20_000,
            burst: 100_000,
            burst_rounds: 3,
            proxy_one_way: Duration::from_micros(500),
            cluster_concurrency: 1000,
            bench_requests: 200_000,
            d_concurrency: None,
            scenarios: Scenarios::ALL,
            tls_concurrency: vec![1000, 1],
            nodelay: true,
            json: Some(default_json_path()),
            command_line: "compare".into(),
            quick: false,
        }
    }
}

impl Options {
    /// A smoke run's settings: a few seconds in all, even in debug builds.
    pub fn quick() -> Options {
        Options {
            seconds: 0.2,
            warmup: Duration::from_millis(20),
            rounds: 2,
            concurrency: vec![1, 10],
            latency_ops: 1_000,
            burst: 2_000,
            burst_rounds: 1,
            bench_requests: 2_000,
            cluster_concurrency: 100,
            tls_concurrency: vec![100, 1],
            quick: true,
            ..Options::default()
        }
    }
}

/// `benches/results/compare.json`.
pub fn default_json_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("results")
        .join("compare.json")
}

/// Where the server is, and the throwaway one if this run started it.
struct Server {
    url: String,
    description: String,
    _owned: Option<RedisServer>,
}

fn server() -> Result<Server> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => Ok(Server {
            description: format!("REDIS_URL {}", redact(&url)),
            url,
            _owned: None,
        }),
        _ => {
            let owned = RedisServer::start()
                .map_err(|e| format!("cannot start a throwaway redis-server (is it installed? run .ci/install-deps): {e}"))?;
            Ok(Server {
                url: owned.url().to_string(),
                description: "throwaway redis-server from redmux-testkit".into(),
                _owned: Some(owned),
            })
        }
    }
}

/// A URL without its password.
fn redact(url: &str) -> String {
    match split_url(url) {
        Some((scheme, Some(userinfo), _, rest)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@<host>{rest}").replace("<host>", &host_part(url))
        }
        _ => url.to_string(),
    }
}

fn host_part(url: &str) -> String {
    split_url(url)
        .map(|(_, _, h, _)| h.to_string())
        .unwrap_or_default()
}

/// `scheme://[userinfo@]host[:port][rest]` into its four parts.
fn split_url(url: &str) -> Option<(&str, Option<&str>, &str, &str)> {
    let (scheme, after) = url.split_once("://")?;
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => Some((scheme, Some(userinfo), host, rest)),
        None => Some((scheme, None, authority, rest)),
    }
}

/// The same URL pointed at another address (the proxy), keeping credentials and db.
fn with_addr(url: &str, addr: SocketAddr) -> Result<String> {
    let (scheme, userinfo, _, rest) =
        split_url(url).ok_or_else(|| format!("not a URL: {}", redact(url)))?;
    Ok(match userinfo {
        Some(u) => format!("{scheme}://{u}@{addr}{rest}"),
        None => format!("{scheme}://{addr}{rest}"),
    })
}

/// Runs the comparison: starts a throwaway server unless `REDIS_URL` is set, runs the
/// scenarios asked for on a multi-thread tokio runtime with the default worker count,
/// writes the JSON if asked, and returns the figures.
///
/// Progress goes to stderr.
pub fn run(options: &Options) -> Result<Report> {
    let server = server()?;
    let config = redmux::Config::from_url(&server.url)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
    let tokio_workers = runtime.metrics().num_workers();
    let tuning = Tuning {
        nodelay: options.nodelay,
    };
    let url = server.url.as_str();
    let redis_server_version = runtime.block_on(server_version(url))?;
    eprintln!(
        "comparing against redis-server {redis_server_version} ({}), {tokio_workers} tokio workers",
        server.description
    );

    let throughput = if options.scenarios.throughput {
        Some(runtime.block_on(run_throughput(url, options, tuning))?)
    } else {
        None
    };
    let latency = if options.scenarios.latency {
        Some(runtime.block_on(run_latency(url, options, tuning))?)
    } else {
        None
    };
    let round_trips = if options.scenarios.round_trips {
        let upstream = match &config.addr {
            redmux::Addr::Tcp { host, port } => (host.as_str(), *port)
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| format!("{host}:{port} resolves to no address"))?,
            redmux::Addr::Unix(path) => {
                return Err(format!(
                    "(c) needs a TCP server for its proxy, not the Unix socket {}; skip it with --only a,b,d",
                    path.display()
                )
                .into());
            }
        };
        // The proxy runs on its own thread: start and drop it outside the runtime.
        let proxy =
            FaultProxy::start(upstream).map_err(|e| format!("cannot start the FaultProxy: {e}"))?;
        proxy.set_latency(options.proxy_one_way);
        let proxied = with_addr(url, proxy.addr())?;
        let figures = runtime.block_on(run_round_trips(&proxied, proxy.addr(), options, tuning));
        drop(proxy);
        Some(figures?)
    } else {
        None
    };
    let redis_benchmark = if options.scenarios.redis_benchmark {
        Some(run_redis_benchmark(
            &runtime,
            url,
            &config,
            options,
            throughput.as_deref(),
        )?)
    } else {
        None
    };
    let cluster = if options.scenarios.cluster() {
        Some(cluster::run(&runtime, options, tuning)?)
    } else {
        None
    };
    let tls = if options.scenarios.tls {
        Some(tls::run(&runtime, options, tuning)?)
    } else {
        None
    };
    drop(runtime);

    let report = Report {
        command_line: options.command_line.clone(),
        date: machine::now_utc(),
        machine: machine::Machine::detect(),
        redis_server_version,
        server: server.description.clone(),
        versions: machine::Versions::detect(),
        settings: Settings {
            seconds: options.seconds,
            rounds: options.rounds,
            warmup_seconds: options.warmup.as_secs_f64(),
            concurrency: options.concurrency.clone(),
            latency_ops: options.latency_ops,
            burst: options.burst,
            bench_requests: options.bench_requests,
            competitors_nodelay: options.nodelay,
            command_timeout_seconds: clients::COMMAND_TIMEOUT.as_secs(),
            tokio_workers,
            cluster_concurrency: options.cluster_concurrency,
            quick: options.quick,
        },
        throughput,
        latency,
        round_trips,
        redis_benchmark,
        cluster,
        tls,
    };
    if let Some(path) = &options.json {
        write_json(&report, path)?;
    }
    Ok(report)
}

/// Writes the report as pretty JSON, creating the directory.
pub fn write_json(report: &Report, path: &std::path::Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(path, json + "\n")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

async fn server_version(url: &str) -> Result<String> {
    let client = clients::connect_redmux(url).await?;
    let info: String = client.command(redmux::cmd("INFO").arg("server")).await?;
    Ok(info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .map_or_else(|| "unknown".into(), |v| v.trim().to_string()))
}

/// Client order for round `round`: forwards, then backwards.
fn order(round: usize) -> [ClientKind; 3] {
    let mut o = ClientKind::ALL;
    if round % 2 == 1 {
        o.reverse();
    }
    o
}

async fn run_throughput(
    url: &str,
    options: &Options,
    tuning: Tuning,
) -> Result<Vec<ThroughputRow>> {
    let redmux = clients::connect_redmux(url).await?;
    let redis_rs = clients::connect_redis_rs(url, tuning).await?;
    let fred = clients::connect_fred(url, tuning).await?;
    let mut rows = Vec::new();
    for &c in &options.concurrency {
        let row = throughput_row(&redmux, &redis_rs, &fred, c, options).await?;
        eprintln!(
            "(a) C = {c:>4}: redmux {:>9.0}  redis-rs {:>9.0}  fred {:>9.0} ops/s",
            row.ops_per_sec.redmux, row.ops_per_sec.redis_rs, row.ops_per_sec.fred
        );
        rows.push(row);
    }
    clients::close_fred(&fred).await;
    Ok(rows)
}

/// (a)'s measurement at one concurrency, for any redis-rs handle (the multiplexed
/// connection, or the cluster connection in (f)): `options.seconds` per client, cut
/// into `options.rounds` slices in alternating client order, each after a warm-up;
/// the median slice's rate, and the process's CPU time per op over all slices.
pub(crate) async fn throughput_row<R: clients::Kv>(
    redmux: &redmux::Client,
    redis_rs: &R,
    fred: &fred::clients::Client,
    c: usize,
    options: &Options,
) -> Result<ThroughputRow> {
    let rounds = options.rounds.max(1);
    let slice = Duration::from_secs_f64(options.seconds / rounds as f64);
    let mut ops = PerClient::<u64>::default();
    let mut secs = PerClient::<f64>::default();
    let mut slices = PerClient::<Vec<f64>>::default();
    let mut costs = PerClient::<ProcessCounters>::default();
    let (mut sent, mut writes) = (0u64, 0u64);
    for round in 0..rounds {
        for kind in order(round) {
            let label = kind.name();
            let mut marks = Vec::with_capacity(2);
            let mut stats = Vec::with_capacity(2);
            let s = match kind {
                ClientKind::Redmux => {
                    scenarios::throughput(redmux, label, c, options.warmup, slice, || {
                        marks.push(ProcessCounters::now());
                        stats.push(redmux_counts(redmux));
                    })
                    .await?
                }
                ClientKind::RedisRs => {
                    scenarios::throughput(redis_rs, label, c, options.warmup, slice, || {
                        marks.push(ProcessCounters::now());
                    })
                    .await?
                }
                ClientKind::Fred => {
                    scenarios::throughput(fred, label, c, options.warmup, slice, || {
                        marks.push(ProcessCounters::now());
                    })
                    .await?
                }
            };
            if let [before, after] = stats[..] {
                sent += after.0 - before.0;
                writes += after.1 - before.1;
            }
            if let [Some(before), Some(after)] = marks[..] {
                costs.get_mut(kind).add(after.since(before));
            }
            *ops.get_mut(kind) += s.ops;
            *secs.get_mut(kind) += s.elapsed.as_secs_f64();
            slices
                .get_mut(kind)
                .push((s.ops as f64 / s.elapsed.as_secs_f64().max(1e-9)).round());
        }
    }
    // The median round: a burst of load from elsewhere on the machine spoils a
    // round or two of each client, not the figure.
    let mut rate = PerClient::<f64>::default();
    let mut mean = PerClient::<f64>::default();
    let mut cpu_us_per_op = PerClient::<f64>::default();
    for kind in ClientKind::ALL {
        *rate.get_mut(kind) = median(slices.get(kind)).round();
        *mean.get_mut(kind) = (*ops.get(kind) as f64 / secs.get(kind).max(1e-9)).round();
        let n = (*ops.get(kind)).max(1) as f64;
        *cpu_us_per_op.get_mut(kind) = costs.get(kind).cpu_ns as f64 / 1000.0 / n;
    }
    Ok(ThroughputRow {
        concurrency: c,
        cpu_us_per_op,
        ratios: Ratios::of(&rate),
        ops_per_sec: rate,
        mean_ops_per_sec: mean,
        redmux_commands_per_write: per_write(sent, writes),
        measured_seconds: secs,
        slice_ops_per_sec: slices,
    })
}

/// Commands sent and write syscalls made by every one of redmux's multiplexers (the
/// one server's, or each cluster node's).
pub(crate) fn redmux_counts(client: &redmux::Client) -> (u64, u64) {
    client.nodes().iter().fold((0, 0), |(sent, writes), node| {
        (sent + node.stats.commands_sent, writes + node.stats.writes)
    })
}

/// Commands per write, 0 when nothing was written.
pub(crate) fn per_write(sent: u64, writes: u64) -> f64 {
    if writes == 0 {
        0.0
    } else {
        sent as f64 / writes as f64
    }
}

async fn run_latency(url: &str, options: &Options, tuning: Tuning) -> Result<Latency> {
    let redmux = clients::connect_redmux(url).await?;
    let redis_rs = clients::connect_redis_rs(url, tuning).await?;
    let fred = clients::connect_fred(url, tuning).await?;
    // Twice (a)'s rounds: latency runs are short, and more turns spread drift better.
    let rounds = (options.rounds * 2).max(1);
    let per_round = options.latency_ops.div_ceil(rounds);
    let warmup = (options.latency_ops / 10).clamp(10, 2_000);
    let mut samples = PerClient::<Vec<u64>>::default();
    for round in 0..rounds {
        let warm = if round == 0 { warmup } else { 0 };
        for kind in order(round) {
            let label = kind.name();
            let got = match kind {
                ClientKind::Redmux => scenarios::latency(&redmux, label, warm, per_round).await?,
                ClientKind::RedisRs => {
                    scenarios::latency(&redis_rs, label, warm, per_round).await?
                }
                ClientKind::Fred => scenarios::latency(&fred, label, warm, per_round).await?,
            };
            samples.get_mut(kind).extend(got);
        }
    }
    clients::close_fred(&fred).await;
    let summary = PerClient {
        redmux: scenarios::summarise(&mut samples.redmux),
        redis_rs: scenarios::summarise(&mut samples.redis_rs),
        fred: scenarios::summarise(&mut samples.fred),
    };
    let pick = |f: fn(&scenarios::LatencySummary) -> f64| {
        Ratios::of(&PerClient {
            redmux: f(&summary.redmux),
            redis_rs: f(&summary.redis_rs),
            fred: f(&summary.fred),
        })
    };
    eprintln!(
        "(b) GET p50: redmux {:.1} µs  redis-rs {:.1} µs  fred {:.1} µs",
        summary.redmux.p50_us, summary.redis_rs.p50_us, summary.fred.p50_us
    );
    Ok(Latency {
        p50_ratios: pick(|s| s.p50_us),
        p99_ratios: pick(|s| s.p99_us),
        mean_ratios: pick(|s| s.mean_us),
        summary,
    })
}

async fn run_round_trips(
    proxied: &str,
    proxy: SocketAddr,
    options: &Options,
    tuning: Tuning,
) -> Result<RoundTrips> {
    let mut walls = PerClient::<Vec<f64>>::default();
    let (mut raw_walls, mut pings) = (Vec::new(), Vec::new());
    let (mut sent, mut writes) = (0u64, 0u64);
    let mut lazy_walls = Vec::new();
    let (mut lazy_sent, mut lazy_writes) = (0u64, 0u64);
    for round in 0..options.burst_rounds.max(1) {
        // The floor first: the same SETs on a bare socket through the same proxy.
        let keys: Vec<Vec<u8>> = (0..options.burst)
            .map(|i| format!("compare:raw:burst:{i}").into_bytes())
            .collect();
        let (took, ping) = scenarios::raw_burst(proxy, &keys, u32::try_from(round)?).await?;
        eprintln!(
            "(c) raw socket: {} SETs at once through the proxy in {:.1} ms (PING round trip {:.2} ms)",
            options.burst,
            took.as_secs_f64() * 1000.0,
            ping.as_secs_f64() * 1000.0
        );
        raw_walls.push(took.as_secs_f64() * 1000.0);
        pings.push(ping.as_secs_f64() * 1000.0);
        for kind in order(round) {
            let label = kind.name();
            let keys: Vec<Vec<u8>> = (0..options.burst)
                .map(|i| format!("compare:{label}:burst:{i}").into_bytes())
                .collect();
            let salt = u32::try_from(round)?;
            // A fresh connection through the proxy for each burst, warmed by a few
            // sequential round trips first.
            let took = match kind {
                ClientKind::Redmux => {
                    // Both forms, each on a fresh connection, which goes first
                    // alternating by round; the eager one is redmux's figure.
                    let mut forms = [Form::Issued, Form::Lazy];
                    if round % 2 == 1 {
                        forms.reverse();
                    }
                    let mut eager = Duration::ZERO;
                    for form in forms {
                        let client = clients::connect_redmux(proxied).await?;
                        warm(&client, label).await?;
                        let before = client.stats();
                        let took = scenarios::burst(&client, label, &keys, salt, form).await?;
                        let after = client.stats();
                        let (sent, writes) = match form {
                            Form::Issued => {
                                eager = took;
                                (&mut sent, &mut writes)
                            }
                            Form::Lazy => {
                                eprintln!(
                                    "(c) redmux, lazy futures: {} SETs at once through the proxy in {:.1} ms",
                                    options.burst,
                                    took.as_secs_f64() * 1000.0
                                );
                                lazy_walls.push(took.as_secs_f64() * 1000.0);
                                (&mut lazy_sent, &mut lazy_writes)
                            }
                        };
                        *sent += after.commands_sent - before.commands_sent;
                        *writes += after.writes - before.writes;
                    }
                    eager
                }
                ClientKind::RedisRs => {
                    let client = clients::connect_redis_rs(proxied, tuning).await?;
                    warm(&client, label).await?;
                    scenarios::burst(&client, label, &keys, salt, Form::Issued).await?
                }
                ClientKind::Fred => {
                    let client = clients::connect_fred(proxied, tuning).await?;
                    warm(&client, label).await?;
                    let took = scenarios::burst(&client, label, &keys, salt, Form::Issued).await;
                    clients::close_fred(&client).await;
                    took?
                }
            };
            eprintln!(
                "(c) {label}: {} SETs at once through the proxy in {:.1} ms",
                options.burst,
                took.as_secs_f64() * 1000.0
            );
            walls.get_mut(kind).push(took.as_secs_f64() * 1000.0);
        }
    }
    let raw_wall_ms = median(&raw_walls);
    let lazy_wall_ms = median(&lazy_walls);
    let mut round_trips =
        RoundTrips::from_rounds(options, walls, raw_walls, &pings, per_write(sent, writes));
    round_trips.redmux_lazy = Some(LazyBurst {
        wall_ms: lazy_wall_ms,
        over_raw: lazy_wall_ms / raw_wall_ms.max(1e-9),
        round_wall_ms: lazy_walls,
        commands_per_write: per_write(lazy_sent, lazy_writes),
    });
    Ok(round_trips)
}

impl RoundTrips {
    /// (c)'s or (e)'s figures from each round's wall times (per client and the
    /// floor's) and the link's PINGs; no lazy form.
    pub(crate) fn from_rounds(
        options: &Options,
        walls: PerClient<Vec<f64>>,
        raw_walls: Vec<f64>,
        pings: &[f64],
        redmux_commands_per_write: f64,
    ) -> RoundTrips {
        let mut wall = PerClient::<f64>::default();
        let mut rate = PerClient::<f64>::default();
        for kind in ClientKind::ALL {
            let m = median(walls.get(kind));
            *wall.get_mut(kind) = m;
            *rate.get_mut(kind) = options.burst as f64 / (m / 1000.0).max(1e-9);
        }
        let raw_wall_ms = median(&raw_walls);
        RoundTrips {
            sets: options.burst,
            round_trip_ms: median(pings),
            raw_wall_ms,
            raw_round_wall_ms: raw_walls,
            redmux_over_raw: wall.redmux / raw_wall_ms.max(1e-9),
            proxy_one_way_us: u64::try_from(options.proxy_one_way.as_micros()).unwrap_or(u64::MAX),
            rounds: options.burst_rounds.max(1),
            wall_ratios: Ratios::of(&wall),
            wall_ms: wall,
            round_wall_ms: walls,
            ops_per_sec: rate,
            redmux_commands_per_write,
            redmux_lazy: None,
        }
    }
}

/// The median (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

async fn warm<K: clients::Kv>(client: &K, label: &str) -> Result<()> {
    let mut client = client.clone();
    let key = format!("compare:{label}:warm");
    for i in 0..5 {
        client
            .set(key.as_bytes(), &scenarios::value_for(0, i))
            .await?;
    }
    Ok(())
}

/// How long each redis-benchmark test (SET, then GET) should take in (d), in seconds:
/// a run is two tests, and redmux's slice beside it is as long as the run.
pub const BENCH_TEST_SECONDS: f64 = 0.2;

/// The pipeline depths of (d).
const PIPELINES: [u32; 2] = [1, 64];

/// (d): `redis-benchmark -c 1 -P 1` and `-P 64`, each with a redmux slice of about the
/// same length right beside it (C = 1 beside `-P 1`, the best concurrency of (a) beside
/// `-P 64`), in `options.rounds` rounds (at least 3), which of each pair goes first
/// alternating. redis-benchmark runs as a child process between the runtime's
/// `block_on`s, never inside one.
fn run_redis_benchmark(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    config: &redmux::Config,
    options: &Options,
    throughput: Option<&[ThroughputRow]>,
) -> Result<RedisBenchmark> {
    let target = match &config.addr {
        redmux::Addr::Tcp { host, port } => Target::Tcp(host.clone(), *port),
        redmux::Addr::Unix(path) => Target::Unix(path.display().to_string()),
    };
    let bench = |pipeline: u32, requests: u64| {
        redis_benchmark::run(&target, config.password.as_deref(), pipeline, requests)
    };

    // A short first run of each sizes the rounds' runs (and warms the server): about
    // BENCH_TEST_SECONDS per test, at most --bench-requests.
    let most = options.bench_requests.max(1);
    let mut requests = [0u64; 2];
    // The length of the latest run of each, in seconds: the next redmux slice's length.
    let mut length = [0f64; 2];
    for (i, &pipeline) in PIPELINES.iter().enumerate() {
        let probe = most.min(if pipeline == 1 { 2_000 } else { 20_000 });
        let Some(run) = bench(pipeline, probe)? else {
            let status = "redis-benchmark is not installed (it ships in redis-tools; run .ci/install-deps); skipped".to_string();
            eprintln!("(d) {status}");
            return Ok(RedisBenchmark::skipped(status));
        };
        requests[i] =
            ((run.mix_ops * BENCH_TEST_SECONDS).round() as u64).clamp(most.min(1_000), most);
        length[i] = run.seconds() * requests[i] as f64 / probe as f64;
        eprintln!(
            "(d) sizing: redis-benchmark -P {pipeline} -n {probe}: SET/GET mix {:.0}/s; rounds use -n {}",
            run.mix_ops, requests[i]
        );
    }

    let rows = throughput.unwrap_or_default();
    let best = rows
        .iter()
        .max_by(|a, b| a.ops_per_sec.redmux.total_cmp(&b.ops_per_sec.redmux));
    let (best_c, best_from) = match (options.d_concurrency, best) {
        (Some(c), _) => (c, "--d-concurrency"),
        (None, Some(row)) => (row.concurrency, "(a)"),
        (None, None) => (1000, "default; (a) did not run"),
    };
    let concurrency = [1, best_c];

    let redmux = runtime.block_on(clients::connect_redmux(url))?;
    let rounds = options.rounds.max(3);
    // One pair: redis-benchmark at `PIPELINES[i]` and a redmux slice as long as its
    // latest run, in the order asked.
    let run_bench = |i: usize| -> Result<redis_benchmark::BenchRun> {
        Ok(bench(PIPELINES[i], requests[i])?.ok_or("redis-benchmark disappeared during (d)")?)
    };
    let mut measure = |i: usize, bench_first: bool| -> Result<BenchPair> {
        let earlier = if bench_first {
            Some(run_bench(i)?)
        } else {
            None
        };
        if let Some(run) = &earlier {
            length[i] = run.seconds();
        }
        let slice = runtime.block_on(scenarios::throughput(
            &redmux,
            ClientKind::Redmux.name(),
            concurrency[i],
            options.warmup,
            Duration::from_secs_f64(length[i].clamp(0.05, 2.0)),
            || {},
        ))?;
        let run = match earlier {
            Some(run) => run,
            None => run_bench(i)?,
        };
        length[i] = run.seconds();
        let seconds = slice.elapsed.as_secs_f64().max(1e-9);
        let rate = (slice.ops as f64 / seconds).round();
        Ok(BenchPair {
            redmux_concurrency: concurrency[i],
            redmux_ops_per_sec: rate,
            redmux_seconds: seconds,
            redmux_pct: pct(rate, run.mix_ops),
            redis_benchmark: run,
        })
    };
    let mut figures = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let bench_first = round % 2 == 0;
        let p1 = measure(0, bench_first)?;
        let p64 = measure(1, bench_first)?;
        eprintln!(
            "(d) round {}/{rounds} ({} first): -P 1 mix {:.0}/s, redmux C = 1 {:.0}/s ({:.0}%); \
             -P 64 mix {:.0}/s, redmux C = {best_c} {:.0}/s ({:.0}%)",
            round + 1,
            if bench_first {
                "redis-benchmark"
            } else {
                "redmux"
            },
            p1.redis_benchmark.mix_ops,
            p1.redmux_ops_per_sec,
            p1.redmux_pct,
            p64.redis_benchmark.mix_ops,
            p64.redmux_ops_per_sec,
            p64.redmux_pct,
        );
        figures.push(BenchRound {
            redis_benchmark_first: bench_first,
            p1,
            p64,
        });
    }

    // Medians of the same rounds, on both sides.
    let mut runs = Vec::with_capacity(2);
    let mut ours = [0f64; 2];
    for (i, &pipeline) in PIPELINES.iter().enumerate() {
        let of = |f: fn(&BenchPair) -> f64| {
            median(&figures.iter().map(|r| f(pair(r, i))).collect::<Vec<_>>())
        };
        ours[i] = of(|p| p.redmux_ops_per_sec);
        let first = &figures[0];
        runs.push(redis_benchmark::BenchRun {
            pipeline,
            command: pair(first, i).redis_benchmark.command.clone(),
            requests: requests[i],
            set_ops: of(|p| p.redis_benchmark.set_ops),
            get_ops: of(|p| p.redis_benchmark.get_ops),
            mix_ops: of(|p| p.redis_benchmark.mix_ops),
        });
    }
    let c1_pct = Some(pct(ours[0], runs[0].mix_ops)).filter(|_| runs[0].mix_ops > 0.0);
    let best_pct = Some(pct(ours[1], runs[1].mix_ops)).filter(|_| runs[1].mix_ops > 0.0);
    eprintln!(
        "(d) medians of {rounds} rounds: redmux C = 1 at {:.0}% of -P 1, C = {best_c} at {:.0}% of -P 64",
        c1_pct.unwrap_or_default(),
        best_pct.unwrap_or_default()
    );
    Ok(RedisBenchmark {
        status: "ok".into(),
        runs,
        redmux_c1_pct_of_p1: c1_pct,
        redmux_best_pct_of_p64: best_pct,
        redmux_best_concurrency: Some(best_c),
        redmux_best_concurrency_from: Some(best_from.into()),
        redmux_c1_ops_per_sec: Some(ours[0]),
        redmux_best_ops_per_sec: Some(ours[1]),
        rounds: figures,
    })
}

/// A round's pair at `PIPELINES[i]`.
fn pair(round: &BenchRound, i: usize) -> &BenchPair {
    if i == 0 { &round.p1 } else { &round.p64 }
}

/// `part` as a percentage of `whole` (0 when `whole` is not positive).
fn pct(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        100.0 * part / whole
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_credentials_and_db_when_readdressed() {
        let addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert_eq!(
            with_addr("redis://localhost:6379", addr).unwrap(),
            "redis://127.0.0.1:4000"
        );
        assert_eq!(
            with_addr("redis://u:p@h:1/2?protocol=resp3", addr).unwrap(),
            "redis://u:p@127.0.0.1:4000/2?protocol=resp3"
        );
        assert_eq!(redact("redis://u:secret@h:1/2"), "redis://u:***@h:1/2");
        assert_eq!(redact("redis://h:1"), "redis://h:1");
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn scenario_lists() {
        let s = Scenarios::parse("a,d").unwrap();
        assert!(s.throughput && s.redis_benchmark && !s.latency && !s.round_trips);
        assert!(!s.cluster());
        let s = Scenarios::parse("e,cluster-throughput").unwrap();
        assert!(s.cluster_round_trips && s.cluster_throughput && !s.standalone());
        assert!(Scenarios::parse("t").unwrap().tls && !Scenarios::parse("a").unwrap().tls);
        assert!(Scenarios::parse("").is_err());
        assert!(Scenarios::parse("x").is_err());
    }
}
