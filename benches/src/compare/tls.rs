//! (t) TLS: (a)'s load (C tasks share one handle, each SETs then GETs its own key and
//! checks the value) over TLS, at C = 1000 and for a lone caller (C = 1) by default: redmux
//! (`rediss://`, `TlsConfig::ca_file`) against redis-rs (`tokio-rustls-comp`) and fred
//! (`enable-rustls-ring`), all three on rustls with ring, against one throwaway TLS
//! redis-server from the test kit. redmux over plaintext runs in the same rounds
//! against a second throwaway server of the same binary, for what TLS costs redmux per
//! operation against what plaintext costs it.
//!
//! The four take turns within each round, in an order that rotates from round to
//! round, as in (a); each figure is the median round, and CPU per operation is this
//! process's CPU time (every thread) over all rounds. The server's CPU per operation
//! is beside it: the server pays for TLS too, and on a small machine it shares the
//! cores with the client.
//!
//! A redis-server built without TLS (Valkey's PyPI wheel) skips the scenario with a
//! line that says so.

use std::sync::Arc;
use std::time::Duration;

use redmux_testkit::{RedisServer, TlsMode};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Serialize;

use super::clients::{self, COMMAND_TIMEOUT, Tuning};
use super::machine::ProcessCounters;
use super::report::{PerClient, Ratios};
use super::{Options, Result, median, scenarios};

/// One of the four measured in (t).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    /// redmux over TLS.
    Redmux,
    /// redis-rs over TLS.
    RedisRs,
    /// fred over TLS.
    Fred,
    /// redmux over plaintext, on a server of the same binary.
    RedmuxPlain,
}

impl Contender {
    /// Table order.
    const ALL: [Contender; 4] = [
        Contender::Redmux,
        Contender::RedisRs,
        Contender::Fred,
        Contender::RedmuxPlain,
    ];

    /// The name in tables and JSON, also the keys' prefix.
    fn name(self) -> &'static str {
        match self {
            Contender::Redmux => "redmux",
            Contender::RedisRs => "redis-rs",
            Contender::Fred => "fred",
            Contender::RedmuxPlain => "redmux-plaintext",
        }
    }

    fn transport(self) -> &'static str {
        match self {
            Contender::RedmuxPlain => "plaintext",
            _ => "TLS",
        }
    }
}

/// One contender's figures in (t).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsRow {
    /// `redmux`, `redis-rs`, `fred` or `redmux-plaintext`.
    pub client: &'static str,
    /// `TLS` or `plaintext`.
    pub transport: &'static str,
    /// SETs plus GETs per second: the median round.
    pub ops_per_sec: f64,
    /// All operations over all measured time.
    pub mean_ops_per_sec: f64,
    /// This process's CPU time (every thread) per operation, in microseconds.
    pub cpu_us_per_op: f64,
    /// The server's CPU time per operation, in microseconds (0 where it cannot be read).
    pub server_cpu_us_per_op: f64,
    /// Commands per write syscall redmux's writer made (redmux's rows only): a TLS
    /// record is sealed per write, so this is also commands per record batch.
    pub redmux_commands_per_write: Option<f64>,
    /// Each round's rate, in the order run.
    pub slice_ops_per_sec: Vec<f64>,
}

/// (t) at one concurrency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsLevel {
    /// Tasks sharing one handle.
    pub concurrency: usize,
    /// redmux, redis-rs and fred over TLS, then redmux over plaintext.
    pub rows: Vec<TlsRow>,
    /// TLS throughput ratios; above 1 is better for redmux.
    pub ops_ratios: Ratios,
    /// TLS CPU-per-operation ratios; below 1 is better for redmux.
    pub cpu_ratios: Ratios,
    /// redmux's CPU per operation over TLS divided by its CPU per operation over
    /// plaintext, in the same rounds. The goal is at most 1.5.
    pub redmux_tls_over_plain_cpu: Option<f64>,
    /// redmux's throughput over TLS divided by its throughput over plaintext.
    pub redmux_tls_over_plain_ops: Option<f64>,
}

impl TlsLevel {
    fn row(&self, client: &str) -> Option<&TlsRow> {
        self.rows.iter().find(|r| r.client == client)
    }
}

/// (t)'s figures, or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsComparison {
    /// `ok`, or why it was skipped.
    pub status: String,
    /// Rounds at each concurrency, order rotating.
    pub rounds: usize,
    /// Measured seconds per contender at each concurrency, over all rounds.
    pub seconds: f64,
    /// `redis_version` of the TLS server (the plaintext one is the same binary).
    pub server_version: String,
    /// One per concurrency asked for, in that order.
    pub levels: Vec<TlsLevel>,
}

impl TlsComparison {
    fn skipped(status: String) -> TlsComparison {
        TlsComparison {
            status,
            rounds: 0,
            seconds: 0.0,
            server_version: String::new(),
            levels: Vec::new(),
        }
    }
}

/// Runs (t): starts the two throwaway servers (outside the runtime: the test kit
/// blocks while they start), then measures on `runtime`.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    options: &Options,
    tuning: Tuning,
) -> Result<TlsComparison> {
    let tls_server = match RedisServer::builder().tls(TlsMode::ServerOnly).start() {
        Ok(server) => server,
        Err(redmux_testkit::Error::TlsUnsupported { .. }) => {
            let status = "the redis-server binary has no TLS built in (Debian's redis-server 7.0 \
                          has; Valkey's PyPI wheel has not); (t) skipped"
                .to_string();
            eprintln!("(t) {status}");
            return Ok(TlsComparison::skipped(status));
        }
        Err(e) => {
            return Err(format!("(t): cannot start a throwaway TLS redis-server: {e}").into());
        }
    };
    let plain_server = RedisServer::start()
        .map_err(|e| format!("(t): cannot start a throwaway redis-server: {e}"))?;
    let ca_path = tls_server
        .tls_files()
        .ok_or("(t): the TLS server has no certificates")?
        .ca();
    let ca_pem = std::fs::read(&ca_path)
        .map_err(|e| format!("(t): cannot read the CA {}: {e}", ca_path.display()))?;
    // redis-rs builds its rustls configuration from the process's default provider
    // and fails without one; ring is the provider redmux and fred use here. An Err
    // means one is installed already, which serves as well.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let servers = Servers {
        tls_url: tls_server.url(),
        plain_url: plain_server.url(),
        ca_path,
        ca_pem,
        tls_pid: tls_server.pid(),
        plain_pid: plain_server.pid(),
    };
    let figures = runtime.block_on(measure(&servers, options, tuning, tls_server.version()));
    drop((tls_server, plain_server));
    figures
}

/// Where the two servers are.
struct Servers {
    tls_url: String,
    plain_url: String,
    ca_path: std::path::PathBuf,
    ca_pem: Vec<u8>,
    tls_pid: Option<u32>,
    plain_pid: Option<u32>,
}

async fn measure(
    servers: &Servers,
    options: &Options,
    tuning: Tuning,
    server_version: String,
) -> Result<TlsComparison> {
    let clients = Clients {
        redmux: connect_redmux_tls(&servers.tls_url, &servers.ca_path).await?,
        redis_rs: connect_redis_rs_tls(&servers.tls_url, &servers.ca_pem, tuning).await?,
        fred: connect_fred_tls(&servers.tls_url, &servers.ca_pem, tuning).await?,
        plain: clients::connect_redmux(&servers.plain_url).await?,
    };
    let mut levels = Vec::with_capacity(options.tls_concurrency.len());
    for &c in &options.tls_concurrency {
        let level = measure_level(&clients, servers, options, c).await;
        if level.is_err() {
            clients::close_fred(&clients.fred).await;
        }
        levels.push(level?);
    }
    clients::close_fred(&clients.fred).await;
    Ok(TlsComparison {
        status: "ok".into(),
        rounds: options.rounds.max(1),
        seconds: options.seconds,
        server_version,
        levels,
    })
}

/// The four handles, each shared by every task of a slice.
struct Clients {
    redmux: redmux::Client,
    redis_rs: redis::aio::MultiplexedConnection,
    fred: fred::clients::Client,
    plain: redmux::Client,
}

async fn measure_level(
    clients: &Clients,
    servers: &Servers,
    options: &Options,
    c: usize,
) -> Result<TlsLevel> {
    let rounds = options.rounds.max(1);
    let slice = Duration::from_secs_f64(options.seconds / rounds as f64);
    let mut slices: [Vec<f64>; 4] = Default::default();
    let mut ops = [0u64; 4];
    let mut secs = [0f64; 4];
    let mut cpu = [ProcessCounters::default(); 4];
    let mut server_cpu = [0u64; 4];
    let mut sent_writes = [(0u64, 0u64); 4];
    for round in 0..rounds {
        for step in 0..Contender::ALL.len() {
            let i = (round + step) % Contender::ALL.len();
            let who = Contender::ALL[i];
            let (pid, stats) = match who {
                Contender::RedmuxPlain => (servers.plain_pid, Some(&clients.plain)),
                Contender::Redmux => (servers.tls_pid, Some(&clients.redmux)),
                _ => (servers.tls_pid, None),
            };
            let mut marks = Vec::with_capacity(2);
            let between = || {
                marks.push((
                    ProcessCounters::now(),
                    pid.and_then(server_cpu_ns),
                    stats.map(redmux::Client::stats),
                ));
            };
            let label = who.name();
            let (warmup, s) = (options.warmup, slice);
            // Each arm awaits its own client's future (they are of different types).
            let got = match who {
                Contender::Redmux => {
                    scenarios::throughput(&clients.redmux, label, c, warmup, s, between).await
                }
                Contender::RedisRs => {
                    scenarios::throughput(&clients.redis_rs, label, c, warmup, s, between).await
                }
                Contender::Fred => {
                    scenarios::throughput(&clients.fred, label, c, warmup, s, between).await
                }
                Contender::RedmuxPlain => {
                    scenarios::throughput(&clients.plain, label, c, warmup, s, between).await
                }
            }
            .map_err(|e| format!("(t) {label}: {e}"))?;
            if let [(before, b, bs), (after, a, as_)] = &marks[..] {
                if let (Some(before), Some(after)) = (before, after) {
                    cpu[i].add(after.since(*before));
                }
                if let (Some(b), Some(a)) = (b, a) {
                    server_cpu[i] += a.saturating_sub(*b);
                }
                if let (Some(bs), Some(as_)) = (bs, as_) {
                    sent_writes[i].0 += as_.commands_sent - bs.commands_sent;
                    sent_writes[i].1 += as_.writes - bs.writes;
                }
            }
            ops[i] += got.ops;
            secs[i] += got.elapsed.as_secs_f64();
            slices[i].push((got.ops as f64 / got.elapsed.as_secs_f64().max(1e-9)).round());
        }
    }

    let rows: Vec<TlsRow> = Contender::ALL
        .iter()
        .enumerate()
        .map(|(i, who)| {
            let n = ops[i].max(1) as f64;
            let (sent, writes) = sent_writes[i];
            TlsRow {
                client: who.name(),
                transport: who.transport(),
                ops_per_sec: median(&slices[i]).round(),
                mean_ops_per_sec: (ops[i] as f64 / secs[i].max(1e-9)).round(),
                cpu_us_per_op: cpu[i].cpu_ns as f64 / 1000.0 / n,
                server_cpu_us_per_op: server_cpu[i] as f64 / 1000.0 / n,
                redmux_commands_per_write: (writes > 0).then(|| sent as f64 / writes as f64),
                slice_ops_per_sec: std::mem::take(&mut slices[i]),
            }
        })
        .collect();
    let per = |f: fn(&TlsRow) -> f64| PerClient {
        redmux: f(&rows[0]),
        redis_rs: f(&rows[1]),
        fred: f(&rows[2]),
    };
    let ratio = |a: f64, b: f64| if b > 0.0 { Some(a / b) } else { None };
    let level = TlsLevel {
        concurrency: c,
        ops_ratios: Ratios::of(&per(|r| r.ops_per_sec)),
        cpu_ratios: Ratios::of(&per(|r| r.cpu_us_per_op)),
        redmux_tls_over_plain_cpu: ratio(rows[0].cpu_us_per_op, rows[3].cpu_us_per_op),
        redmux_tls_over_plain_ops: ratio(rows[0].ops_per_sec, rows[3].ops_per_sec),
        rows,
    };
    eprintln!(
        "(t) C = {c} over TLS: redmux {:.0}  redis-rs {:.0}  fred {:.0} ops/s; redmux plaintext {:.0} ops/s; \
         redmux TLS/plaintext CPU per op {:.2}x",
        level.rows[0].ops_per_sec,
        level.rows[1].ops_per_sec,
        level.rows[2].ops_per_sec,
        level.rows[3].ops_per_sec,
        level.redmux_tls_over_plain_cpu.unwrap_or_default()
    );
    Ok(level)
}

/// redmux over TLS, trusting the test CA, otherwise as [`clients::connect_redmux`].
async fn connect_redmux_tls(url: &str, ca: &std::path::Path) -> Result<redmux::Client> {
    let mut config = redmux::Config::from_url(url)?;
    config.tls = Some(redmux::TlsConfig::new().ca_file(ca));
    config.command_timeout = COMMAND_TIMEOUT;
    redmux::Client::connect_with(config)
        .await
        .map_err(|e| format!("redmux: cannot connect to {url}: {e}").into())
}

/// redis-rs over TLS (`Client::build_with_tls` with the test CA as its root),
/// otherwise as [`clients::connect_redis_rs`].
async fn connect_redis_rs_tls(
    url: &str,
    ca_pem: &[u8],
    tuning: Tuning,
) -> Result<redis::aio::MultiplexedConnection> {
    use redis::IntoConnectionInfo;
    let info = url
        .into_connection_info()?
        .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(tuning.nodelay));
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(ca_pem.to_vec()),
    };
    let client = redis::Client::build_with_tls(info, certificates)?;
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(COMMAND_TIMEOUT));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| format!("redis-rs: cannot connect to {url}: {e}").into())
}

/// fred over TLS (a rustls `ClientConfig` with ring and the test CA, as fred's docs
/// show), otherwise as [`clients::connect_fred`].
async fn connect_fred_tls(
    url: &str,
    ca_pem: &[u8],
    tuning: Tuning,
) -> Result<fred::clients::Client> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(certificate.map_err(|e| format!("fred: the test CA: {e:?}"))?)?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    // fred's `rediss://` parsing would build a connector from the system's roots
    // first; the plaintext form and our connector say the same with the test CA.
    let plain_url = url.replacen("rediss://", "redis://", 1);
    let mut config = fred::types::config::Config::from_url(&plain_url)?;
    config.tls = Some(fred::types::config::TlsConnector::from(tls).into());
    clients::connect_fred_with(config, url, tuning).await
}

/// A process's CPU time over all its threads, in nanoseconds, from
/// `/proc/<pid>/task/*/schedstat`; `None` where /proc cannot be read.
fn server_cpu_ns(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
            total += stat
                .split_whitespace()
                .next()
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Some(total)
}

/// (t) as Markdown, appended to the report.
pub fn render(o: &mut String, t: &TlsComparison) {
    use std::fmt::Write as _;
    if t.levels.is_empty() {
        let _ = writeln!(o, "\n(t) TLS: {}", t.status);
        return;
    }
    let _ = writeln!(
        o,
        "\n(t) TLS: (a)'s load over TLS (rustls with ring in all three), against a throwaway \
         TLS redis-server {}; redmux over plaintext in the same rounds against a second \
         throwaway server of the same binary. {} s per client and concurrency in {} rounds, \
         order rotating, median round; CPU is this process's (every thread) per op over all \
         rounds, the server's beside it.",
        t.server_version, t.seconds, t.rounds
    );
    let _ = writeln!(
        o,
        "\n| C | client | transport | ops/s | CPU µs/op | server CPU µs/op | cmds/write |"
    );
    let _ = writeln!(o, "|---:|---|---|---:|---:|---:|---:|");
    for level in &t.levels {
        for r in &level.rows {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {:.2} | {:.2} | {} |",
                level.concurrency,
                r.client,
                r.transport,
                super::report::thousands(r.ops_per_sec),
                r.cpu_us_per_op,
                r.server_cpu_us_per_op,
                r.redmux_commands_per_write
                    .map(|n| format!("{n:.1}"))
                    .unwrap_or_default()
            );
        }
    }
    let _ = writeln!(o);
    for level in &t.levels {
        let (ops, cpu) = (&level.ops_ratios, &level.cpu_ratios);
        let _ = write!(
            o,
            "C = {}: over TLS, redmux/redis-rs {:.2}x the throughput at {:.2}x the CPU per op, \
             redmux/fred {:.2}x at {:.2}x.",
            level.concurrency, ops.vs_redis_rs, cpu.vs_redis_rs, ops.vs_fred, cpu.vs_fred
        );
        if let (Some(cpu), Some(ops), Some(tls), Some(plain)) = (
            level.redmux_tls_over_plain_cpu,
            level.redmux_tls_over_plain_ops,
            level.row("redmux"),
            level.row("redmux-plaintext"),
        ) {
            let _ = write!(
                o,
                " redmux's TLS costs {cpu:.2}x its plaintext CPU per op ({:.2} against {:.2} µs; \
                 goal: at most 1.5x), at {ops:.2}x its plaintext throughput.",
                tls.cpu_us_per_op, plain.cpu_us_per_op
            );
        }
        let _ = writeln!(o);
    }
}
