//! Client heap per command in flight, and what fire-and-forget allocates per command,
//! counted by a counting global allocator.
//!
//! ```text
//! cargo run --release -p redmux-benches --bin alloc -- [--commands N (10000)]
//!     [--latency-ms MS (20)] [--rounds R (5)] [--json PATH]
//! ```
//!
//! A throwaway `redis-server` sits behind a `FaultProxy` that delays every byte by
//! `--latency-ms` each way, so all N commands are written before the first reply can
//! come back. The proxy runs in a **child process** (this binary, re-run with
//! `--serve-proxy`), so its buffers are not in this process's heap: everything the
//! counter sees is the client, its tokio runtime, and this driver.
//!
//! **Awaited commands** (N GETs, then N SETs of 16-byte values, each on its own
//! client): the driver reserves one vector for the N futures *before* the first
//! snapshot (so the caller's own storage, `N × size_of::<future>()`, is never
//! counted), then turns N requests into futures (which submits them), polls every
//! one once (arming its timer, registering its waker), waits until `stats()` shows all
//! N in flight, the queue empty, every byte written and no reply read yet, and takes
//! the second snapshot. Live bytes between the two snapshots ÷ N is the client heap per
//! command in flight. Round 1 on a fresh client includes the one-off growth of the
//! client's reusable buffers (write buffer, pending FIFO, queue vectors); later rounds
//! reuse them, so they show the steady-state cost per command.
//!
//! **Fire-and-forget** (N SETs): allocator calls and bytes allocated from before the
//! first call until every byte is written, ÷ N, against the encoded command's size.
//!
//! Prints a table and writes `benches/results/alloc.json`.

// The counting allocator implements `GlobalAlloc`, an unsafe trait, and polling a
// pinned slice of futures in place needs `Pin::new_unchecked`. The workspace denies
// unsafe code; this binary alone allows it, for those two uses.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::{Future, IntoFuture, poll_fn};
use std::io::{BufRead, BufReader, Read, Write};
use std::pin::Pin;
use std::process::{Child, ExitCode, Stdio};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use redmux_benches::compare::Result;
use redmux_benches::compare::machine::{Machine, Versions, now_utc};
use redmux_benches::support::{self, Server};
use serde::Serialize;

// ---------------------------------------------------------------------------------
// The counting allocator.

/// Forwards to the system allocator and counts live bytes, allocator calls and bytes
/// handed out, separately for small blocks (per-command objects: a command's buffer,
/// its reply channel) and large ones (buffers whose size follows the burst: the
/// queue's vector, the pending FIFO, the write buffer).
struct Counting;

/// Blocks up to this size are "small".
const SMALL: usize = 4096;

/// One set of counters per size class.
struct Class {
    live: AtomicI64,
    calls: AtomicU64,
    reallocs: AtomicU64,
    allocated: AtomicU64,
}

impl Class {
    const fn new() -> Class {
        Class {
            live: AtomicI64::new(0),
            calls: AtomicU64::new(0),
            reallocs: AtomicU64::new(0),
            allocated: AtomicU64::new(0),
        }
    }
}

static SMALL_BLOCKS: Class = Class::new();
static LARGE_BLOCKS: Class = Class::new();

fn class(size: usize) -> &'static Class {
    if size <= SMALL {
        &SMALL_BLOCKS
    } else {
        &LARGE_BLOCKS
    }
}

fn allocated(size: usize) {
    let c = class(size);
    c.live.fetch_add(size as i64, Relaxed);
    c.calls.fetch_add(1, Relaxed);
    c.allocated.fetch_add(size as u64, Relaxed);
}

fn freed(size: usize) {
    class(size).live.fetch_sub(size as i64, Relaxed);
}

// SAFETY: every method forwards to `System` with the arguments it was given and only
// adds counting on atomics, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract; we pass it on unchanged.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            allocated(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            allocated(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (hence from `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        freed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and the caller upholds `realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            freed(layout.size());
            allocated(new_size);
            class(new_size).reallocs.fetch_add(1, Relaxed);
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One size class's counters at one instant.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    live: i64,
    calls: u64,
    reallocs: u64,
    allocated: u64,
}

impl Counts {
    fn of(c: &Class) -> Counts {
        Counts {
            live: c.live.load(Relaxed),
            calls: c.calls.load(Relaxed),
            reallocs: c.reallocs.load(Relaxed),
            allocated: c.allocated.load(Relaxed),
        }
    }

    fn per_command(self, earlier: Counts, n: usize) -> PerCommand {
        let n = n as f64;
        PerCommand {
            live_bytes: (self.live - earlier.live) as f64 / n,
            allocator_calls: (self.calls - earlier.calls) as f64 / n,
            reallocs: (self.reallocs - earlier.reallocs) as f64 / n,
            allocated_bytes: (self.allocated - earlier.allocated) as f64 / n,
        }
    }
}

/// The counters at one instant.
#[derive(Debug, Clone, Copy)]
struct Heap {
    small: Counts,
    large: Counts,
}

impl Heap {
    fn now() -> Heap {
        Heap {
            small: Counts::of(&SMALL_BLOCKS),
            large: Counts::of(&LARGE_BLOCKS),
        }
    }

    /// Per-command figures from `earlier` to `self`: all blocks, small, large.
    fn per_command(self, earlier: Heap, n: usize) -> Split {
        let small = self.small.per_command(earlier.small, n);
        let large = self.large.per_command(earlier.large, n);
        Split {
            all: PerCommand {
                live_bytes: small.live_bytes + large.live_bytes,
                allocator_calls: small.allocator_calls + large.allocator_calls,
                reallocs: small.reallocs + large.reallocs,
                allocated_bytes: small.allocated_bytes + large.allocated_bytes,
            },
            small,
            large,
        }
    }
}

/// Counter deltas divided by the number of commands.
#[derive(Debug, Clone, Copy, Serialize)]
struct PerCommand {
    /// Growth of live heap bytes.
    live_bytes: f64,
    /// `alloc` + `alloc_zeroed` + `realloc` calls.
    allocator_calls: f64,
    /// Of which `realloc`.
    reallocs: f64,
    /// Bytes handed out by those calls (a `realloc` counts its whole new size).
    allocated_bytes: f64,
}

/// The same deltas for all blocks, for blocks ≤ 4 KiB (per-command objects) and for
/// larger ones (buffers that grew with the burst).
#[derive(Debug, Clone, Copy, Serialize)]
struct Split {
    all: PerCommand,
    small: PerCommand,
    large: PerCommand,
}

// ---------------------------------------------------------------------------------
// The proxy, in a child process.

/// This binary re-run as `--serve-proxy UPSTREAM ONE_WAY_MS`: a `FaultProxy` that
/// prints its URL and runs until its stdin closes.
fn serve_proxy(upstream: &str, one_way_ms: &str) -> Result<()> {
    let proxy = redmux_testkit::FaultProxy::start(upstream.parse()?)?;
    proxy.set_latency(Duration::from_millis(one_way_ms.parse()?));
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", proxy.url())?;
    out.flush()?;
    drop(out);
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink)?;
    Ok(())
}

/// The proxy child; closing its stdin ends it.
struct ProxyProcess {
    child: Child,
    url: String,
}

impl ProxyProcess {
    fn start(upstream: std::net::SocketAddr, one_way: Duration) -> Result<ProxyProcess> {
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .arg("--serve-proxy")
            .arg(upstream.to_string())
            .arg(one_way.as_millis().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("the proxy child has no stdout")?;
        let mut url = String::new();
        BufReader::new(stdout).read_line(&mut url)?;
        let url = url.trim().to_string();
        if !url.starts_with("redis://") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the proxy child did not start (said {url:?})").into());
        }
        Ok(ProxyProcess { child, url })
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------
// Driving N futures without boxing them one by one.

/// Polls every future still pending in a pinned slice, dropping each as it
/// completes; returns how many are still pending, and counts errors.
fn poll_all<T, F>(futures: Pin<&mut [Option<F>]>, cx: &mut Context<'_>, errors: &mut usize) -> usize
where
    F: Future<Output = redmux::Result<T>>,
{
    // SAFETY: the slice is pinned and we never move its elements: each one is only
    // re-pinned where it is, and dropped in place by `Pin::set`.
    let slots = unsafe { futures.get_unchecked_mut() };
    let mut pending = 0;
    for slot in slots {
        // SAFETY: see above; `slot` points into the pinned slice.
        let mut slot = unsafe { Pin::new_unchecked(slot) };
        let Some(future) = slot.as_mut().as_pin_mut() else {
            continue;
        };
        match future.poll(cx) {
            Poll::Ready(outcome) => {
                if outcome.is_err() {
                    *errors += 1;
                }
                slot.set(None);
            }
            Poll::Pending => pending += 1,
        }
    }
    pending
}

// ---------------------------------------------------------------------------------
// The measurements.

#[derive(Debug, Clone)]
struct Options {
    commands: usize,
    latency: Duration,
    rounds: usize,
    json: std::path::PathBuf,
}

const USAGE: &str =
    "alloc [--commands N (10000)] [--latency-ms MS (20)] [--rounds R (5)] [--json PATH]";

const VALUE: [u8; 16] = *b"0123456789abcdef";

fn key(i: usize) -> String {
    format!("alloc:{i:06}")
}

/// One round of N awaited commands.
#[derive(Debug, Clone, Serialize)]
struct InFlightRound {
    round: usize,
    /// From the first snapshot to "all N in flight": the client heap per command.
    in_flight: Split,
    /// From the first snapshot to every reply received and every future dropped: what
    /// the round left behind (reusable buffers that grew), per command.
    after_replies: Split,
    /// The commands were all in flight, with no reply read, at the second snapshot.
    valid: bool,
    /// Milliseconds from the first submission to the second snapshot.
    ms_to_all_in_flight: f64,
    commands_per_write: f64,
    errors: usize,
}

#[derive(Debug, Clone, Serialize)]
struct InFlight {
    command: &'static str,
    /// Bytes of one encoded command.
    encoded_bytes: usize,
    /// `size_of` the future the caller holds per command (not counted above: its
    /// storage was reserved before the first snapshot).
    future_bytes: usize,
    /// Median over the rounds of the live bytes in blocks ≤ 4 KiB per command in
    /// flight: the objects each command keeps alive (steady state).
    per_command_objects_bytes: f64,
    /// Round 1 (fresh client), all blocks: per-command objects plus the growth of the
    /// client's buffers to hold N commands at once.
    first_burst_bytes: f64,
    rounds: Vec<InFlightRound>,
}

impl InFlight {
    fn new(
        command: &'static str,
        encoded_bytes: usize,
        future_bytes: usize,
        rounds: Vec<InFlightRound>,
    ) -> InFlight {
        let mut small: Vec<f64> = rounds
            .iter()
            .map(|r| r.in_flight.small.live_bytes)
            .collect();
        small.sort_by(f64::total_cmp);
        InFlight {
            command,
            encoded_bytes,
            future_bytes,
            per_command_objects_bytes: small.get(small.len() / 2).copied().unwrap_or(0.0),
            first_burst_bytes: rounds.first().map_or(0.0, |r| r.in_flight.all.live_bytes),
            rounds,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct FireAndForgetRound {
    round: usize,
    /// From before the first call until every byte was written.
    to_written: Split,
    /// From before the first call until every reply was read.
    to_replies: Split,
    ms_to_written: f64,
}

#[derive(Debug, Clone, Serialize)]
struct FireAndForget {
    command: &'static str,
    encoded_bytes: usize,
    rounds: Vec<FireAndForgetRound>,
}

#[derive(Debug, Clone, Serialize)]
struct AllocReport {
    date: String,
    command_line: String,
    machine: Machine,
    versions: Versions,
    commands: usize,
    proxy_one_way_ms: u64,
    target_bytes_per_command_in_flight: f64,
    what_is_counted: &'static str,
    awaited: Vec<InFlight>,
    fire_and_forget: FireAndForget,
}

const WHAT_IS_COUNTED: &str = "Live heap bytes of the whole process (client, its tokio runtime, the driver) \
from just before the first request becomes a future to the moment all N are in flight (written, no reply read), \
divided by N. The proxy runs in a child process and is not counted. The driver's vector of N futures is reserved \
before the first snapshot and not counted; nothing else of the driver allocates in the window (keys are built \
beforehand). Fire-and-forget: allocator calls and bytes allocated from before the first call until every byte is written.";

/// Waits until `done(stats)` holds, checking every millisecond, up to 30 s.
async fn wait_for(
    client: &redmux::Client,
    what: &str,
    done: impl Fn(&redmux::Stats) -> bool,
) -> Result<()> {
    let started = Instant::now();
    while !done(&client.stats()) {
        if started.elapsed() > Duration::from_secs(30) {
            return Err(format!("gave up waiting for {what}: {:?}", client.stats()).into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// One round of N awaited commands made by `make`.
async fn in_flight_round<T, F>(
    client: &redmux::Client,
    round: usize,
    n: usize,
    encoded: usize,
    make: impl Fn(usize) -> F,
) -> Result<InFlightRound>
where
    F: Future<Output = redmux::Result<T>>,
{
    wait_for(client, "an idle connection", |s| {
        s.in_flight == 0 && s.queue_depth == 0
    })
    .await?;
    // The caller's storage for the futures: reserved before the first snapshot.
    let mut futures: Vec<Option<F>> = Vec::with_capacity(n);
    let stats0 = client.stats();
    let before = Heap::now();
    let started = Instant::now();
    for i in 0..n {
        futures.push(Some(make(i)));
    }
    // len == capacity, so this neither allocates nor moves the futures' storage.
    let mut futures = Box::into_pin(futures.into_boxed_slice());
    let mut errors = 0;
    poll_fn(|cx| {
        poll_all(futures.as_mut(), cx, &mut errors);
        Poll::Ready(())
    })
    .await;
    let wire = (n * encoded) as u64;
    wait_for(client, "every command in flight", |s| {
        s.in_flight >= n && s.queue_depth == 0 && s.bytes_out - stats0.bytes_out >= wire
    })
    .await?;
    let mid = Heap::now();
    let stats1 = client.stats();
    let ms_to_all_in_flight = started.elapsed().as_secs_f64() * 1e3;
    poll_fn(|cx| {
        if poll_all(futures.as_mut(), cx, &mut errors) == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    drop(futures);
    let after = Heap::now();
    Ok(InFlightRound {
        round,
        in_flight: mid.per_command(before, n),
        after_replies: after.per_command(before, n),
        valid: stats1.replies == stats0.replies && stats1.in_flight == n,
        ms_to_all_in_flight,
        commands_per_write: (stats1.commands_sent - stats0.commands_sent) as f64
            / (stats1.writes - stats0.writes).max(1) as f64,
        errors,
    })
}

async fn fire_and_forget_round(
    client: &redmux::Client,
    round: usize,
    keys: &[String],
    encoded: usize,
) -> Result<FireAndForgetRound> {
    let n = keys.len();
    wait_for(client, "an idle connection", |s| {
        s.in_flight == 0 && s.queue_depth == 0
    })
    .await?;
    let stats0 = client.stats();
    let before = Heap::now();
    let started = Instant::now();
    for key in keys {
        client.set(key.as_str(), VALUE).fire_and_forget()?;
    }
    let wire = (n * encoded) as u64;
    wait_for(client, "every command written", |s| {
        s.queue_depth == 0 && s.bytes_out - stats0.bytes_out >= wire
    })
    .await?;
    let written = Heap::now();
    let ms_to_written = started.elapsed().as_secs_f64() * 1e3;
    wait_for(client, "every reply", |s| {
        s.replies - stats0.replies >= n as u64
    })
    .await?;
    let replied = Heap::now();
    Ok(FireAndForgetRound {
        round,
        to_written: written.per_command(before, n),
        to_replies: replied.per_command(before, n),
        ms_to_written,
    })
}

fn run(options: &Options) -> Result<AllocReport> {
    let server = Server::start()?;
    let upstream = server
        .owned
        .as_ref()
        .map(|s| s.addr())
        .ok_or("no throwaway server")?;
    let proxy = ProxyProcess::start(upstream, options.latency)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let n = options.commands;
    let keys: Vec<String> = (0..n).map(key).collect();
    let get_len = support::resp_len(&[b"GET", keys[0].as_bytes()]);
    let set_len = support::resp_len(&[b"SET", keys[0].as_bytes(), &VALUE]);

    runtime.block_on(async {
        let mut awaited = Vec::new();

        let client = redmux::Client::connect(&proxy.url).await?;
        let mut rounds = Vec::new();
        for round in 1..=options.rounds {
            let r = in_flight_round(&client, round, n, get_len, |i| {
                client.get::<Option<Bytes>>(keys[i].as_str()).into_future()
            })
            .await?;
            eprintln!(
                "GET round {round}: {:.1} B/command in flight",
                r.in_flight.all.live_bytes
            );
            rounds.push(r);
        }
        awaited.push(InFlight::new(
            "GET (reply read as Option<Bytes>)",
            get_len,
            size_of::<Option<redmux::Response<Option<Bytes>>>>(),
            rounds,
        ));
        drop(client);

        let client = redmux::Client::connect(&proxy.url).await?;
        let mut rounds = Vec::new();
        for round in 1..=options.rounds {
            let r = in_flight_round(&client, round, n, set_len, |i| {
                client.set(keys[i].as_str(), VALUE).into_future()
            })
            .await?;
            eprintln!(
                "SET round {round}: {:.1} B/command in flight",
                r.in_flight.all.live_bytes
            );
            rounds.push(r);
        }
        awaited.push(InFlight::new(
            "SET, 16-byte value",
            set_len,
            size_of::<Option<redmux::Response<()>>>(),
            rounds,
        ));
        drop(client);

        let client = redmux::Client::connect(&proxy.url).await?;
        let mut rounds = Vec::new();
        for round in 1..=options.rounds {
            let r = fire_and_forget_round(&client, round, &keys, set_len).await?;
            eprintln!(
                "fire-and-forget round {round}: {:.2} allocator calls/command",
                r.to_written.all.allocator_calls
            );
            rounds.push(r);
        }
        drop(client);

        Ok(AllocReport {
            date: now_utc(),
            command_line: std::env::args().collect::<Vec<_>>().join(" "),
            machine: Machine::detect(),
            versions: Versions::detect(),
            commands: n,
            proxy_one_way_ms: options.latency.as_millis() as u64,
            target_bytes_per_command_in_flight: 150.0,
            what_is_counted: WHAT_IS_COUNTED,
            awaited,
            fire_and_forget: FireAndForget {
                command: "SET, 16-byte value, fire_and_forget()",
                encoded_bytes: set_len,
                rounds,
            },
        })
    })
}

fn render(report: &AllocReport) -> String {
    let mut out = String::new();
    let n = report.commands;
    out += &format!(
        "Client heap per command in flight: N = {n}, proxy {} ms each way, target ≤ {} B.\n\
         Live bytes from before the first request to all N in flight, ÷ N; blocks ≤ 4 KiB are the\n\
         commands' own objects, larger ones are client buffers that grew to hold the burst.\n\n",
        report.proxy_one_way_ms, report.target_bytes_per_command_in_flight
    );
    out += "| command | round | live B/cmd | in blocks ≤ 4 KiB | in larger blocks | allocs/cmd | B allocated/cmd (≤ 4 KiB) | live B/cmd after replies | cmds/write | all in flight, no reply yet |\n";
    out += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
    for a in &report.awaited {
        for r in &a.rounds {
            let f = &r.in_flight;
            out += &format!(
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.0} | {} |\n",
                a.command,
                r.round,
                f.all.live_bytes,
                f.small.live_bytes,
                f.large.live_bytes,
                f.all.allocator_calls,
                f.small.allocated_bytes,
                r.after_replies.all.live_bytes,
                r.commands_per_write,
                if r.valid { "yes" } else { "NO" },
            );
        }
    }
    out += "\n";
    for a in &report.awaited {
        out += &format!(
            "- {}: {:.1} B per command in flight in its own objects (median of rounds), {:.1} B in the \
             first burst on a fresh client; {} B on the wire; the caller's future is {} B (not counted)\n",
            a.command,
            a.per_command_objects_bytes,
            a.first_burst_bytes,
            a.encoded_bytes,
            a.future_bytes
        );
    }
    let f = &report.fire_and_forget;
    out += &format!(
        "\nFire-and-forget, {} ({} B encoded), from before the first call until every byte is written:\n\n",
        f.command, f.encoded_bytes
    );
    out += "| round | allocs/cmd (≤ 4 KiB) | B allocated/cmd (≤ 4 KiB) | allocs/cmd (larger) | B allocated/cmd (larger) | live B/cmd when written | live B/cmd after replies |\n";
    out += "|---:|---:|---:|---:|---:|---:|---:|\n";
    for r in &f.rounds {
        let w = &r.to_written;
        out += &format!(
            "| {} | {:.3} | {:.1} | {:.4} | {:.1} | {:.1} | {:.1} |\n",
            r.round,
            w.small.allocator_calls,
            w.small.allocated_bytes,
            w.large.allocator_calls,
            w.large.allocated_bytes,
            w.all.live_bytes,
            r.to_replies.all.live_bytes,
        );
    }
    out
}

fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut o = Options {
        commands: 10_000,
        latency: Duration::from_millis(20),
        rounds: 5,
        json: support::results_path("alloc.json"),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--commands" => o.commands = value()?.parse::<usize>()?.max(1),
            "--latency-ms" => o.latency = Duration::from_millis(value()?.parse()?),
            "--rounds" => o.rounds = value()?.parse::<usize>()?.max(1),
            "--json" => o.json = value()?.into(),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}; usage: {USAGE}").into()),
        }
    }
    Ok(Some(o))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, upstream, ms] = args.as_slice()
        && flag == "--serve-proxy"
    {
        return match serve_proxy(upstream, ms) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("alloc --serve-proxy: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let options = match parse(&args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("alloc: {e}");
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
            eprintln!("alloc: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
