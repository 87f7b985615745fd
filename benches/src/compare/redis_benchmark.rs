//! The server's own ceiling: `redis-benchmark` against the same server, one
//! connection, SET and GET of 16-byte values (as in (a)), without pipelining (`-P 1`)
//! and with 64 commands in flight (`-P 64`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Result;

/// One `redis-benchmark` run's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchRun {
    /// The `-P` value.
    pub pipeline: u32,
    /// The exact command run.
    pub command: String,
    /// Requests per test (`-n`): that many SETs, then that many GETs.
    pub requests: u64,
    /// SET requests per second.
    pub set_ops: f64,
    /// GET requests per second.
    pub get_ops: f64,
    /// The rate of an even SET/GET mix (the harmonic mean), comparable with (a).
    pub mix_ops: f64,
}

impl BenchRun {
    /// How long its two tests took, in seconds, by its own rates.
    pub fn seconds(&self) -> f64 {
        if self.set_ops > 0.0 && self.get_ops > 0.0 {
            self.requests as f64 / self.set_ops + self.requests as f64 / self.get_ops
        } else {
            0.0
        }
    }
}

/// Where `redis-benchmark` should connect.
#[derive(Debug, Clone)]
pub enum Target {
    /// Host and port.
    Tcp(String, u16),
    /// A Unix socket path.
    Unix(String),
}

/// Runs `redis-benchmark` with `-P pipeline`. `Ok(None)` when it is not installed.
pub fn run(
    target: &Target,
    password: Option<&str>,
    pipeline: u32,
    requests: u64,
) -> Result<Option<BenchRun>> {
    let mut args: Vec<String> = match target {
        Target::Tcp(host, port) => vec!["-h".into(), host.clone(), "-p".into(), port.to_string()],
        Target::Unix(path) => vec!["-s".into(), path.clone()],
    };
    args.extend(
        [
            "-c",
            "1",
            "-P",
            &pipeline.to_string(),
            "-t",
            "set,get",
            "-n",
            &requests.to_string(),
            "-d",
            &super::scenarios::VALUE_LEN.to_string(),
            "-q",
            "--csv",
        ]
        .map(String::from),
    );
    let shown = format!("redis-benchmark {}", args.join(" "));
    if let Some(password) = password {
        args.extend(["-a".into(), password.into()]);
    }
    let mut child = match Command::new("redis-benchmark")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot run redis-benchmark: {e}").into()),
    };
    // redis-benchmark retries a refused connection forever, at full speed: bound it.
    let limit = Duration::from_secs(30 + requests / 2000);
    let started = Instant::now();
    while child.try_wait()?.is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{shown} did not finish within {} s; killed it",
                limit.as_secs()
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(format!(
            "{shown} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (set_ops, get_ops) = parse_csv(&stdout)
        .ok_or_else(|| format!("cannot read SET and GET rates from {shown}'s output:\n{stdout}"))?;
    Ok(Some(BenchRun {
        pipeline,
        command: shown,
        requests,
        set_ops,
        get_ops,
        mix_ops: mix(set_ops, get_ops),
    }))
}

/// The rate of an even mix of two operations with these rates.
pub fn mix(a: f64, b: f64) -> f64 {
    if a <= 0.0 || b <= 0.0 {
        return 0.0;
    }
    2.0 / (1.0 / a + 1.0 / b)
}

/// Reads the SET and GET requests per second from `--csv` output:
///
/// ```text
/// "test","rps","avg_latency_ms",...
/// "SET","166666.67","0.175",...
/// "GET","172413.80","0.170",...
/// ```
///
/// Older versions print no header and put the rate in the second column.
pub fn parse_csv(output: &str) -> Option<(f64, f64)> {
    let rows: Vec<Vec<String>> = output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|f| f.trim().trim_matches('"').to_string())
                .collect()
        })
        .collect();
    let rps_column = rows
        .iter()
        .find(|r| r.first().is_some_and(|f| f == "test"))
        .and_then(|h| h.iter().position(|f| f == "rps"))
        .unwrap_or(1);
    let rate = |name: &str| -> Option<f64> {
        rows.iter()
            .find(|r| r.first().is_some_and(|f| f.eq_ignore_ascii_case(name)))
            .and_then(|r| r.get(rps_column))
            .and_then(|f| f.parse().ok())
    };
    Some((rate("SET")?, rate("GET")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_csv_with_and_without_header() {
        let v7 = "\"test\",\"rps\",\"avg_latency_ms\"\n\"SET\",\"100000.00\",\"0.1\"\n\"GET\",\"50000.00\",\"0.2\"\n";
        assert_eq!(parse_csv(v7), Some((100000.0, 50000.0)));
        let v6 = "\"SET\",\"1000.5\"\n\"GET\",\"2000\"\n";
        assert_eq!(parse_csv(v6), Some((1000.5, 2000.0)));
        assert_eq!(parse_csv("nothing"), None);
    }

    #[test]
    fn mix_is_the_harmonic_mean() {
        assert_eq!(mix(100.0, 100.0), 100.0);
        assert!((mix(100.0, 300.0) - 150.0).abs() < 1e-9);
    }
}
