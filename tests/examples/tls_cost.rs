//! What TLS costs per command, without the benches: run the same load over plaintext
//! and over TLS, and compare instructions (under callgrind) or CPU time.
//!
//! ```text
//! cargo build --release -p redmux-tests --example tls_cost
//! # CPU time per command, both transports, one run:
//! target/release/examples/tls_cost compare 200000
//! # Instructions: run each mode twice under callgrind and difference the totals,
//! # which cancels start-up (certificates, handshake):
//! valgrind --tool=callgrind target/release/examples/tls_cost plain 20000 [lone|many]
//! valgrind --tool=callgrind target/release/examples/tls_cost tls 20000 [lone|many]
//! ```
//!
//! Each run does `ops` SET+GET pairs: half from one lone caller (the fast path), half
//! from 100 concurrent tasks (the writer's batches); `lone` or `many` runs only one
//! of the two, with all `ops`.

use std::time::{Duration, Instant};

use redmux::{Client, Config, TlsConfig};
use redmux_testkit::{RedisServer, ServerCertificate, TlsMode};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("compare", String::as_str);
    let ops: u64 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let (lone, many) = match args.get(3).map(String::as_str) {
        Some("lone") => (ops, 0),
        Some("many") => (0, ops),
        _ => (ops / 2, ops / 2),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let plain = RedisServer::start().expect("a redis-server");
    let tls = match RedisServer::builder()
        .tls(TlsMode::ServerOnly)
        .tls_certificate(ServerCertificate::Valid)
        .start()
    {
        Ok(server) => server,
        Err(e) => {
            eprintln!("no TLS server: {e}");
            return;
        }
    };
    let ca = tls.tls_files().expect("TLS files").ca();
    let tls_config = || {
        let mut config = Config::from_url(&tls.url()).expect("a URL");
        config.tls = Some(TlsConfig::new().ca_file(&ca));
        config
    };
    runtime.block_on(async {
        let plain_config = Config::from_url(&plain.url()).expect("a URL");
        match mode {
            "plain" => drop(run(plain_config, plain.pid(), lone, many).await),
            "tls" => drop(run(tls_config(), tls.pid(), lone, many).await),
            _ => {
                let p = run(plain_config, plain.pid(), lone, many).await;
                let t = run(tls_config(), tls.pid(), lone, many).await;
                let per = |d: Duration| d.as_nanos() as f64 / (2 * ops) as f64;
                println!(
                    "CPU per command: plaintext {:.0} ns, TLS {:.0} ns: TLS costs {:.2}x",
                    per(p),
                    per(t),
                    per(t) / per(p)
                );
            }
        }
    });
}

/// Runs `lone` pairs from one caller, then `many` from 100 tasks; returns this
/// process's CPU time (user + system) it took. Prints the server's too: a TLS
/// server busier than the client batches less, and costs the client more per
/// command.
async fn run(config: Config, server: Option<u32>, lone: u64, many: u64) -> Duration {
    let server = server.map_or("self".to_string(), |pid| pid.to_string());
    let client = Client::connect_with(config).await.expect("connect");
    client.set("warm", "up").await.expect("SET");
    let cpu = cpu_time("self");
    let server_cpu = cpu_time(&server);
    let wall = Instant::now();
    for i in 0..lone {
        client.set("lone", i).await.expect("SET");
        let _: Option<String> = client.get("lone").await.expect("GET");
    }
    let tasks: Vec<_> = (0..100)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..many / 100 {
                    let key = format!("k{t}");
                    client.set(&key, i).await.expect("SET");
                    let _: Option<String> = client.get(&key).await.expect("GET");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a task");
    }
    let used = cpu_time("self").saturating_sub(cpu);
    let server_used = cpu_time(&server).saturating_sub(server_cpu);
    let stats = client.stats();
    eprintln!(
        "{} SET+GET pairs in {:?} wall, {used:?} CPU (server {server_used:?}), {:.1} commands per write",
        lone + many,
        wall.elapsed(),
        stats.commands_per_write()
    );
    used
}

/// User + system CPU time of a process (`self` or a pid), from /proc (Linux); zero
/// elsewhere.
fn cpu_time(pid: &str) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces): utime is the 12th,
    // stime the 13th, in clock ticks (100 per second on Linux).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}
