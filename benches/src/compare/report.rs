//! The figures of one run, as JSON and as Markdown tables.

use std::fmt::Write as _;

use serde::Serialize;

use super::clients::ClientKind;
use super::machine::{Machine, Versions};
use super::redis_benchmark::BenchRun;
use super::scenarios::LatencySummary;

/// One figure per client.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct PerClient<T> {
    /// redmux's.
    pub redmux: T,
    /// redis-rs's.
    #[serde(rename = "redis-rs")]
    pub redis_rs: T,
    /// fred's.
    pub fred: T,
}

impl<T> PerClient<T> {
    /// The figure of `kind`.
    pub fn get(&self, kind: ClientKind) -> &T {
        match kind {
            ClientKind::Redmux => &self.redmux,
            ClientKind::RedisRs => &self.redis_rs,
            ClientKind::Fred => &self.fred,
        }
    }

    /// The figure of `kind`, to change.
    pub fn get_mut(&mut self, kind: ClientKind) -> &mut T {
        match kind {
            ClientKind::Redmux => &mut self.redmux,
            ClientKind::RedisRs => &mut self.redis_rs,
            ClientKind::Fred => &mut self.fred,
        }
    }
}

/// redmux's figure divided by each competitor's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratios {
    /// redmux / redis-rs.
    #[serde(rename = "redmux/redis-rs")]
    pub vs_redis_rs: f64,
    /// redmux / fred.
    #[serde(rename = "redmux/fred")]
    pub vs_fred: f64,
}

impl Ratios {
    /// From three figures.
    pub fn of(f: &PerClient<f64>) -> Ratios {
        Ratios {
            vs_redis_rs: ratio(f.redmux, f.redis_rs),
            vs_fred: ratio(f.redmux, f.fred),
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// (a) at one concurrency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThroughputRow {
    /// Tasks sharing one handle.
    pub concurrency: usize,
    /// SETs plus GETs per second: the median of the rounds.
    pub ops_per_sec: PerClient<f64>,
    /// All operations over all measured time.
    pub mean_ops_per_sec: PerClient<f64>,
    /// Higher is better for redmux.
    pub ratios: Ratios,
    /// Commands per write syscall redmux's writer made in the measured windows.
    pub redmux_commands_per_write: f64,
    /// CPU time of the whole process (every thread: callers, runtime, the client's
    /// tasks) per operation while the client ran, in microseconds. Lower is better.
    pub cpu_us_per_op: PerClient<f64>,
    /// Measured seconds per client (summed over rounds).
    pub measured_seconds: PerClient<f64>,
    /// Each round's rate, in the order run: the spread shows how noisy the machine was.
    pub slice_ops_per_sec: PerClient<Vec<f64>>,
}

/// (b).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    /// Per client.
    pub summary: PerClient<LatencySummary>,
    /// p50 ratios; below 1 is better for redmux.
    pub p50_ratios: Ratios,
    /// p99 ratios; below 1 is better for redmux.
    pub p99_ratios: Ratios,
    /// Mean ratios; below 1 is better for redmux.
    pub mean_ratios: Ratios,
}

/// (c).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundTrips {
    /// SETs issued at once.
    pub sets: usize,
    /// The latency the proxy added each way, in microseconds.
    pub proxy_one_way_us: u64,
    /// Bursts per client, client order alternating.
    pub rounds: usize,
    /// The round trip the link really had: the median of 20 sequential PINGs on a
    /// bare socket through the proxy, in milliseconds (the proxy's delays and the
    /// wakeups of the proxy's and the benchmark's threads).
    pub round_trip_ms: f64,
    /// The floor: the same SETs, encoded beforehand (outside the timing, which
    /// redmux's figure includes), written as one stream on a bare socket through the
    /// same proxy, no client library; the median of the rounds, ms. It runs first in
    /// every round.
    pub raw_wall_ms: f64,
    /// Each round's floor, in milliseconds.
    pub raw_round_wall_ms: Vec<f64>,
    /// redmux's wall time over the floor's: 1.0 is all the link and server allow.
    pub redmux_over_raw: f64,
    /// Wall time to the last reply, in milliseconds: the median of the rounds.
    pub wall_ms: PerClient<f64>,
    /// Each round's wall time, in milliseconds.
    pub round_wall_ms: PerClient<Vec<f64>>,
    /// `sets` / wall time.
    pub ops_per_sec: PerClient<f64>,
    /// Wall-time ratios; below 1 is better for redmux.
    pub wall_ratios: Ratios,
    /// Commands per write syscall redmux's writer made.
    pub redmux_commands_per_write: f64,
    /// redmux's burst written the idiomatic way: lazy futures straight into
    /// `join_all`, each sent when first polled (`wall_ms.redmux` is the eager form,
    /// each request sent by `into_future` as it is made). (c) only; `None` in (e).
    pub redmux_lazy: Option<LazyBurst>,
}

/// (c) for redmux's lazy futures, each burst on a fresh connection beside the eager one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LazyBurst {
    /// Wall time to the last reply, median of the rounds, ms.
    pub wall_ms: f64,
    /// Each round's wall time, ms.
    pub round_wall_ms: Vec<f64>,
    /// `wall_ms` over the floor's.
    pub over_raw: f64,
    /// Commands per write syscall.
    pub commands_per_write: f64,
}

/// (e) and (f), on a throwaway cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterFigures {
    /// The nodes' server version.
    pub server_version: String,
    /// Primaries in the cluster.
    pub primaries: usize,
    /// Replicas in the cluster.
    pub replicas: usize,
    /// How (e)'s SETs fall on the primaries, in the order of their proxies.
    pub sets_per_primary: Vec<usize>,
    /// (e), if run: a burst of SETs across slots through one proxy per primary. The
    /// floor is one pre-encoded stream per primary, written on bare sockets in
    /// parallel; `round_trip_ms` is the median of every socket's PING round trips.
    pub round_trips: Option<RoundTrips>,
    /// (f), if run: (a)'s measurement on the cluster, straight to the nodes.
    pub throughput: Option<ThroughputRow>,
}

/// redis-benchmark's figures, or why there are none.
///
/// redis-benchmark and redmux run interleaved, right beside each other, round after
/// round: a shared machine's speed drifts by several times over minutes, so a
/// percentage is only fair between figures measured at the same moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RedisBenchmark {
    /// `ok`, or why it was skipped.
    pub status: String,
    /// `-P 1` and `-P 64`: each figure is the median of the rounds (the mix: the median
    /// of the rounds' mixes); `command` and `requests` are each round's.
    pub runs: Vec<BenchRun>,
    /// redmux at C = 1 as a percentage of the `-P 1` SET/GET mix (both have one
    /// connection and one command in flight): the median redmux slice over the median
    /// mix, of the same rounds.
    pub redmux_c1_pct_of_p1: Option<f64>,
    /// redmux at its best concurrency as a percentage of the `-P 64` SET/GET mix: the
    /// median redmux slice over the median mix, of the same rounds.
    pub redmux_best_pct_of_p64: Option<f64>,
    /// The concurrency of redmux's "best" slices.
    pub redmux_best_concurrency: Option<usize>,
    /// Where that concurrency came from: `(a)` (its best redmux rate),
    /// `--d-concurrency`, or the default 1000 when (a) did not run.
    pub redmux_best_concurrency_from: Option<String>,
    /// redmux's median rate at C = 1 beside `-P 1`, SETs plus GETs per second.
    pub redmux_c1_ops_per_sec: Option<f64>,
    /// redmux's median rate at the best concurrency beside `-P 64`.
    pub redmux_best_ops_per_sec: Option<f64>,
    /// Every round, in the order run.
    pub rounds: Vec<BenchRound>,
}

impl RedisBenchmark {
    /// No figures, and why.
    pub fn skipped(status: String) -> RedisBenchmark {
        RedisBenchmark {
            status,
            runs: Vec::new(),
            redmux_c1_pct_of_p1: None,
            redmux_best_pct_of_p64: None,
            redmux_best_concurrency: None,
            redmux_best_concurrency_from: None,
            redmux_c1_ops_per_sec: None,
            redmux_best_ops_per_sec: None,
            rounds: Vec::new(),
        }
    }
}

/// One round of (d): `-P 1` and redmux at C = 1, then `-P 64` and redmux at its best
/// concurrency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchRound {
    /// Whether redis-benchmark ran before redmux in both pairs of this round (rounds
    /// alternate).
    pub redis_benchmark_first: bool,
    /// `-P 1` beside redmux at C = 1.
    pub p1: BenchPair,
    /// `-P 64` beside redmux at the best concurrency.
    pub p64: BenchPair,
}

/// A redis-benchmark run and the redmux slice right beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchPair {
    /// redis-benchmark's run.
    pub redis_benchmark: BenchRun,
    /// Tasks sharing redmux's one handle, each SETting then GETting its own key as in (a).
    pub redmux_concurrency: usize,
    /// redmux's SETs plus GETs per second in its slice.
    pub redmux_ops_per_sec: f64,
    /// The slice's measured seconds (sized to the redis-benchmark run's length).
    pub redmux_seconds: f64,
    /// `redmux_ops_per_sec` as a percentage of redis-benchmark's SET/GET mix.
    pub redmux_pct: f64,
}

/// The settings a run used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Measured seconds per client and concurrency in (a).
    pub seconds: f64,
    /// Rounds (a) and (b) are split into, client order alternating.
    pub rounds: usize,
    /// Warm-up before each measured slice of (a), in seconds.
    pub warmup_seconds: f64,
    /// Concurrencies of (a).
    pub concurrency: Vec<usize>,
    /// GETs timed per client in (b).
    pub latency_ops: usize,
    /// SETs at once in (c).
    pub burst: usize,
    /// The most requests per redis-benchmark test in (d); each is sized to about 0.2 s.
    pub bench_requests: u64,
    /// Whether redis-rs and fred had TCP_NODELAY set (redmux always sets it).
    pub competitors_nodelay: bool,
    /// The command timeout given to redmux and redis-rs, in seconds.
    pub command_timeout_seconds: u64,
    /// tokio worker threads.
    pub tokio_workers: usize,
    /// Tasks sharing one handle in (f).
    pub cluster_concurrency: usize,
    /// Whether this was a `--quick` smoke run.
    pub quick: bool,
}

/// Everything one run measured, and where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// How the run was started.
    pub command_line: String,
    /// When, in UTC.
    pub date: String,
    /// On what.
    pub machine: Machine,
    /// `redis_version` from INFO.
    pub redis_server_version: String,
    /// A throwaway server from redmux-testkit, or REDIS_URL (without its password).
    pub server: String,
    /// Library versions.
    pub versions: Versions,
    /// The settings used.
    pub settings: Settings,
    /// (a), if run.
    pub throughput: Option<Vec<ThroughputRow>>,
    /// (b), if run.
    pub latency: Option<Latency>,
    /// (c), if run.
    pub round_trips: Option<RoundTrips>,
    /// redis-benchmark, if run.
    pub redis_benchmark: Option<RedisBenchmark>,
    /// (e) and (f), if either ran.
    pub cluster: Option<ClusterFigures>,
    /// (t), if run.
    pub tls: Option<super::tls::TlsComparison>,
}

/// Picks one figure of a latency summary.
type Pick = fn(&LatencySummary) -> f64;

pub(super) fn thousands(v: f64) -> String {
    let n = v.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Report {
    /// The figures as Markdown tables, readable in a terminal as they are.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let s = &self.settings;
        let _ = writeln!(
            o,
            "redis-server {} ({}); {} CPUs, {}; redmux {} ({}), redis-rs {}, fred {}, tokio {} ({} workers); {}",
            self.redis_server_version,
            self.server,
            self.machine.nproc,
            self.machine.cpu_model,
            self.versions.redmux,
            self.versions.redmux_git,
            self.versions.redis_rs,
            self.versions.fred,
            self.versions.tokio,
            s.tokio_workers,
            self.date
        );
        let _ = writeln!(o, "command: {}", self.command_line);

        if let Some(rows) = &self.throughput {
            let _ = writeln!(
                o,
                "\n(a) Throughput: C tasks share one handle, each SETs then GETs its own key \
                 (16-byte value, checked); ops/s, SET and GET one op each; {} s per client, \
                 in {} rounds in alternating client order, median round. Ratio > 1: redmux faster.\n",
                s.seconds, s.rounds
            );
            let _ = writeln!(
                o,
                "| C | redmux | redis-rs | fred | redmux/redis-rs | redmux/fred | redmux cmds/write |"
            );
            let _ = writeln!(o, "|---:|---:|---:|---:|---:|---:|---:|");
            for r in rows {
                let f = &r.ops_per_sec;
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {:.2} | {:.2} | {:.1} |",
                    r.concurrency,
                    thousands(f.redmux),
                    thousands(f.redis_rs),
                    thousands(f.fred),
                    r.ratios.vs_redis_rs,
                    r.ratios.vs_fred,
                    r.redmux_commands_per_write
                );
            }
        }

        if let Some(rows) = &self.throughput {
            let _ = writeln!(
                o,
                "\nCPU cost per op in (a): CPU time of the whole process (every thread) while \
                 that client ran, in µs per op. Ratio < 1: redmux cheaper.\n"
            );
            let _ = writeln!(
                o,
                "| C | redmux | redis-rs | fred | redmux/redis-rs | redmux/fred |"
            );
            let _ = writeln!(o, "|---:|---:|---:|---:|---:|---:|");
            for r in rows {
                let c = &r.cpu_us_per_op;
                let ratios = Ratios::of(c);
                let _ = writeln!(
                    o,
                    "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                    r.concurrency, c.redmux, c.redis_rs, c.fred, ratios.vs_redis_rs, ratios.vs_fred
                );
            }
        }

        if let Some(l) = &self.latency {
            let _ = writeln!(
                o,
                "\n(b) Latency: one caller, sequential GETs, {} per client; microseconds. \
                 Ratio < 1: redmux faster.\n",
                l.summary.redmux.samples
            );
            let _ = writeln!(
                o,
                "| | redmux | redis-rs | fred | redmux/redis-rs | redmux/fred |"
            );
            let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|");
            let rows: [(&str, Pick, &Ratios); 3] = [
                ("p50", |x| x.p50_us, &l.p50_ratios),
                ("p99", |x| x.p99_us, &l.p99_ratios),
                ("mean", |x| x.mean_us, &l.mean_ratios),
            ];
            for (name, pick, ratios) in rows {
                let _ = writeln!(
                    o,
                    "| {name} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} |",
                    pick(&l.summary.redmux),
                    pick(&l.summary.redis_rs),
                    pick(&l.summary.fred),
                    ratios.vs_redis_rs,
                    ratios.vs_fred
                );
            }
        }

        if let Some(rt) = &self.round_trips {
            let _ = writeln!(
                o,
                "\n(c) Round trips: {} SETs issued at once through a proxy adding {} µs each way \
                 ({:.1} ms round trip); wall time to the last reply, median of {} bursts per \
                 client, each on a fresh connection. Ratio < 1: redmux faster.\n",
                thousands(rt.sets as f64),
                rt.proxy_one_way_us,
                rt.proxy_one_way_us as f64 * 2.0 / 1000.0,
                rt.rounds
            );
            render_round_trips(
                &mut o,
                rt,
                "the same SETs encoded beforehand and written as one stream on a bare socket \
                 through the same proxy",
            );
            if let Some(lazy) = &rt.redmux_lazy {
                let _ = writeln!(
                    o,
                    "\nThe same burst written the idiomatic way (lazy futures straight into \
                 `join_all`, each sent when first polled), on a fresh connection beside the \
                 eager one: redmux took {:.1} ms (rounds: {}), {:.2}x the floor, {:.1} \
                 commands per write.",
                    lazy.wall_ms,
                    lazy.round_wall_ms
                        .iter()
                        .map(|ms| format!("{ms:.1}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    lazy.over_raw,
                    lazy.commands_per_write
                );
            }
        }

        if let Some(rb) = &self.redis_benchmark {
            let _ = writeln!(
                o,
                "\n(d) redis-benchmark on the same server, one connection (-c 1): the server's ceiling."
            );
            if rb.runs.is_empty() {
                let _ = writeln!(o, "\n{}", rb.status);
            } else {
                render_redis_benchmark(&mut o, rb);
            }
        }
        if let Some(c) = &self.cluster {
            render_cluster(&mut o, c, s);
        }
        if let Some(t) = &self.tls {
            super::tls::render(&mut o, t);
        }
        o
    }
}

/// (c)'s or (e)'s table and the floor below it.
fn render_round_trips(o: &mut String, rt: &RoundTrips, floor: &str) {
    let _ = writeln!(
        o,
        "| | redmux | redis-rs | fred | redmux/redis-rs | redmux/fred |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        o,
        "| wall ms | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} |",
        rt.wall_ms.redmux,
        rt.wall_ms.redis_rs,
        rt.wall_ms.fred,
        rt.wall_ratios.vs_redis_rs,
        rt.wall_ratios.vs_fred
    );
    let _ = writeln!(
        o,
        "| SETs/s | {} | {} | {} | | |",
        thousands(rt.ops_per_sec.redmux),
        thousands(rt.ops_per_sec.redis_rs),
        thousands(rt.ops_per_sec.fred)
    );
    let _ = writeln!(
        o,
        "\nredmux wrote {:.1} commands per write. The floor, {floor}, took {:.1} ms (median; \
         rounds: {}): redmux took {:.2}x the floor. The link's measured round trip: {:.2} ms.",
        rt.redmux_commands_per_write,
        rt.raw_wall_ms,
        rt.raw_round_wall_ms
            .iter()
            .map(|ms| format!("{ms:.1}"))
            .collect::<Vec<_>>()
            .join(", "),
        rt.redmux_over_raw,
        rt.round_trip_ms
    );
}

/// (e) and (f).
fn render_cluster(o: &mut String, c: &ClusterFigures, s: &Settings) {
    let _ = writeln!(
        o,
        "\nCluster: a throwaway {} + {} cluster of redis-server {} (redmux-testkit); \
         redis-rs's cluster async connection, fred in clustered mode.",
        c.primaries, c.replicas, c.server_version
    );
    if let Some(r) = &c.throughput {
        let _ = writeln!(
            o,
            "\n(f) Throughput on the cluster: C = {} tasks share one handle, each SETs then GETs \
             its own key (keys over every slot), straight to the nodes; {} s per client in {} \
             rounds, median round; CPU time of the whole process per op over all rounds. \
             redmux wrote {:.1} commands per write.\n",
            r.concurrency, s.seconds, s.rounds, r.redmux_commands_per_write
        );
        let cpu = Ratios::of(&r.cpu_us_per_op);
        let _ = writeln!(
            o,
            "| | redmux | redis-rs | fred | redmux/redis-rs | redmux/fred |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|");
        let f = &r.ops_per_sec;
        let _ = writeln!(
            o,
            "| ops/s | {} | {} | {} | {:.2} | {:.2} |",
            thousands(f.redmux),
            thousands(f.redis_rs),
            thousands(f.fred),
            r.ratios.vs_redis_rs,
            r.ratios.vs_fred
        );
        let c = &r.cpu_us_per_op;
        let _ = writeln!(
            o,
            "| CPU µs/op | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            c.redmux, c.redis_rs, c.fred, cpu.vs_redis_rs, cpu.vs_fred
        );
        let _ = writeln!(
            o,
            "\nTarget: redmux ahead of both in CPU per op: {}.",
            verdict(cpu.vs_redis_rs < 1.0 && cpu.vs_fred < 1.0)
        );
    }
    if let Some(rt) = &c.round_trips {
        let _ = writeln!(
            o,
            "\n(e) Round trips on the cluster: {} SETs across slots ({} per primary) issued at \
             once through one proxy per primary adding {} µs each way ({:.1} ms round trip), \
             each primary announcing its proxy's port; wall time to the last reply, median of \
             {} bursts per client, each on a fresh connection. Ratio < 1: redmux faster.\n",
            thousands(rt.sets as f64),
            c.sets_per_primary
                .iter()
                .map(|n| thousands(*n as f64))
                .collect::<Vec<_>>()
                .join(" / "),
            rt.proxy_one_way_us,
            rt.proxy_one_way_us as f64 * 2.0 / 1000.0,
            rt.rounds
        );
        render_round_trips(
            o,
            rt,
            "the same SETs encoded beforehand into one stream per primary (by hash slot) and \
             written on bare sockets in parallel through the same proxies",
        );
        let _ = writeln!(
            o,
            "\nTarget: redmux within 1.3x the floor: {}; ahead of both peers: {}.",
            verdict(rt.redmux_over_raw <= 1.3),
            verdict(rt.wall_ratios.vs_redis_rs < 1.0 && rt.wall_ratios.vs_fred < 1.0)
        );
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// (d)'s tables: the medians, then every round.
fn render_redis_benchmark(o: &mut String, rb: &RedisBenchmark) {
    let best_c = rb.redmux_best_concurrency.unwrap_or_default();
    let _ = writeln!(
        o,
        "redmux ran right beside it, interleaved, in {} rounds: redis-benchmark -P 1, then \
         redmux at C = 1 for about as long, then -P 64, then redmux at C = {best_c} ({}); \
         which of each pair goes first alternates by round. Medians of the rounds; \
         \"redmux as %\" is redmux's median over the median SET/GET mix of the same rounds.\n",
        rb.rounds.len(),
        rb.redmux_best_concurrency_from.as_deref().unwrap_or("?"),
    );
    let _ = writeln!(
        o,
        "| command | SET/s | GET/s | SET/GET mix/s | redmux C | redmux ops/s | redmux as % |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|");
    for run in &rb.runs {
        let (c, ops, pct) = match run.pipeline {
            1 => (1, rb.redmux_c1_ops_per_sec, rb.redmux_c1_pct_of_p1),
            _ => (
                best_c,
                rb.redmux_best_ops_per_sec,
                rb.redmux_best_pct_of_p64,
            ),
        };
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} | {c} | {} | {} |",
            run.command,
            thousands(run.set_ops),
            thousands(run.get_ops),
            thousands(run.mix_ops),
            ops.map(thousands).unwrap_or_default(),
            pct.map(|p| format!("{p:.0}%")).unwrap_or_default()
        );
    }
    let _ = writeln!(
        o,
        "\nEach round: redis-benchmark's SET/GET mix/s and redmux's ops/s beside it.\n"
    );
    let _ = writeln!(
        o,
        "| round | first | -P 1 mix/s | redmux C = 1 | % | -P 64 mix/s | redmux C = {best_c} | % |"
    );
    let _ = writeln!(o, "|---:|---|---:|---:|---:|---:|---:|---:|");
    for (i, r) in rb.rounds.iter().enumerate() {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {:.0}% | {} | {} | {:.0}% |",
            i + 1,
            if r.redis_benchmark_first {
                "redis-benchmark"
            } else {
                "redmux"
            },
            thousands(r.p1.redis_benchmark.mix_ops),
            thousands(r.p1.redmux_ops_per_sec),
            r.p1.redmux_pct,
            thousands(r.p64.redis_benchmark.mix_ops),
            thousands(r.p64.redmux_ops_per_sec),
            r.p64.redmux_pct,
        );
    }
    let _ = writeln!(
        o,
        "\nThe mix is the harmonic mean of the SET and GET rates, the rate of (a)'s even \
         SET/GET mix. In the first table each column is its own median over the rounds, so \
         the mix need not lie between SET and GET."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }
}
