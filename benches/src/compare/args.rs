//! The command line, parsed by hand.

use std::path::PathBuf;
use std::time::Duration;

use super::{Options, Result, Scenarios};

/// The usage text.
pub const USAGE: &str = "\
compare: redmux, redis-rs and fred side by side, against one redis-server and one
local cluster, in one run

usage: compare [options]

  --seconds N            measured seconds per client and concurrency in (a) (default 2)
  --concurrency LIST     tasks sharing one handle in (a) (default 1,10,100,1000)
  --only LIST            scenarios to run, of a,b,c,d,e,f,t (default all):
                           a  throughput: C tasks, SET then GET of their own key
                           b  latency: one caller, sequential GETs
                           c  round trips: a burst of SETs through a 1 ms round-trip proxy
                           d  redis-benchmark on the same server (-P 1 and -P 64),
                              each with a redmux slice right beside it, interleaved
                           e  cluster round trips: a burst of SETs across slots through
                              one 1 ms round-trip proxy per primary of a 3+3 cluster
                           f  cluster throughput and CPU per op at C = 1000
                           t  TLS: (a) at each --tls-concurrency over TLS, all three clients,
                              against a throwaway TLS server, and redmux over plaintext
                              beside them (skipped when redis-server has no TLS)
  --json PATH            where to write the figures (default benches/results/compare.json)
  --latency-ops N        GETs timed per client in (b) (default 20000)
  --burst N              SETs issued at once in (c) and (e) (default 100000)
  --cluster-concurrency N  tasks sharing one handle in (f) (default 1000)
  --bench-requests N     the most requests per redis-benchmark test in (d); each is
                           sized to about 0.2 s from a first short run (default 200000)
  --d-concurrency N      redmux's concurrency beside -P 64 in (d) (default: the best
                           in (a), or 1000 when (a) does not run)
  --tls-concurrency LIST tasks sharing one handle in (t) (default 1000,1)
  --nagle                leave redis-rs and fred with their default sockets (Nagle on);
                           by default TCP_NODELAY is set on them, as redmux sets it
  --quick                a smoke run: 0.2 s, C = 1,10, 1000 GETs, 2000 SETs, 2000 requests,
                           C = 100 in (f), C = 100,1 in (t)
  -h, --help             this text

Set REDIS_URL to use a running server instead of a throwaway one for (a)-(d); (e)
and (f) always start a cluster of their own.";

/// What the command line asked for: `Ok(None)` for `--help`.
pub fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut seconds: Option<f64> = None;
    let mut concurrency: Option<Vec<usize>> = None;
    let mut scenarios = Scenarios::ALL;
    let mut json: Option<PathBuf> = None;
    let mut latency_ops: Option<usize> = None;
    let mut burst: Option<usize> = None;
    let mut bench_requests: Option<u64> = None;
    let mut d_concurrency: Option<usize> = None;
    let mut cluster_concurrency: Option<usize> = None;
    let mut tls_concurrency: Option<Vec<usize>> = None;
    let mut quick = false;
    let mut nodelay = true;

    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || -> Result<String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}").into())
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--quick" => quick = true,
            "--nagle" => nodelay = false,
            "--seconds" => {
                let v = value()?;
                let s: f64 = v
                    .parse()
                    .map_err(|_| format!("--seconds: not a number: {v}"))?;
                if !(s > 0.0 && s.is_finite()) {
                    return Err(format!("--seconds must be positive, not {v}").into());
                }
                seconds = Some(s);
            }
            "--concurrency" => {
                concurrency = Some(list(flag, &value()?)?);
            }
            "--only" => scenarios = Scenarios::parse(&value()?)?,
            "--json" => json = Some(PathBuf::from(value()?)),
            "--latency-ops" => latency_ops = Some(positive(flag, &value()?)?),
            "--burst" => burst = Some(positive(flag, &value()?)?),
            "--bench-requests" => bench_requests = Some(positive(flag, &value()?)? as u64),
            "--d-concurrency" => d_concurrency = Some(positive(flag, &value()?)?),
            "--cluster-concurrency" => cluster_concurrency = Some(positive(flag, &value()?)?),
            "--tls-concurrency" => tls_concurrency = Some(list(flag, &value()?)?),
            other => return Err(format!("unknown argument {other}\n\n{USAGE}").into()),
        }
    }

    let mut options = if quick {
        Options::quick()
    } else {
        Options::default()
    };
    if let Some(s) = seconds {
        options.seconds = s;
        options.warmup = options.warmup.min(Duration::from_secs_f64(s / 4.0));
    }
    if let Some(c) = concurrency {
        options.concurrency = c;
    }
    if let Some(n) = latency_ops {
        options.latency_ops = n;
    }
    if let Some(n) = burst {
        options.burst = n;
    }
    if let Some(n) = bench_requests {
        options.bench_requests = n;
    }
    if let Some(c) = cluster_concurrency {
        options.cluster_concurrency = c;
    }
    if d_concurrency.is_some() {
        options.d_concurrency = d_concurrency;
    }
    if let Some(n) = tls_concurrency {
        options.tls_concurrency = n;
    }
    if let Some(p) = json {
        options.json = Some(p);
    }
    options.scenarios = scenarios;
    options.nodelay = nodelay;
    options.command_line = std::iter::once("compare".to_string())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Some(options))
}

/// Positive numbers separated by commas.
fn list(flag: &str, v: &str) -> Result<Vec<usize>> {
    v.split(',')
        .map(|c| c.trim().parse::<usize>().ok().filter(|&n| n > 0))
        .collect::<Option<Vec<_>>>()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            format!("{flag}: expected positive numbers separated by commas, not {v}").into()
        })
}

fn positive(flag: &str, v: &str) -> Result<usize> {
    v.replace('_', "")
        .parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{flag}: expected a positive number, not {v}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Option<Options>> {
        let args: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse(&args)
    }

    #[test]
    fn defaults_and_overrides() {
        let o = parse_str("").unwrap().unwrap();
        assert_eq!(o.concurrency, vec![1, 10, 100, 1000]);
        assert_eq!(o.seconds, 2.0);
        assert!(o.scenarios.throughput && o.scenarios.redis_benchmark);

        let o = parse_str("--seconds 3 --concurrency 1,5 --only a,c --json=/tmp/x.json")
            .unwrap()
            .unwrap();
        assert_eq!(o.seconds, 3.0);
        assert_eq!(o.concurrency, vec![1, 5]);
        assert!(o.scenarios.throughput && o.scenarios.round_trips);
        assert!(!o.scenarios.latency && !o.scenarios.redis_benchmark);
        assert_eq!(o.json, Some(PathBuf::from("/tmp/x.json")));
        assert_eq!(o.d_concurrency, None);

        assert_eq!(o.cluster_concurrency, 1000);
        let o = parse_str("--cluster-concurrency 50 --only f")
            .unwrap()
            .unwrap();
        assert_eq!(o.cluster_concurrency, 50);
        assert!(o.scenarios.cluster_throughput && !o.scenarios.cluster_round_trips);

        let o = parse_str("--d-concurrency 500").unwrap().unwrap();
        assert_eq!(o.d_concurrency, Some(500));
        assert!(parse_str("--d-concurrency 0").is_err());

        let o = parse_str("--only t --tls-concurrency 50").unwrap().unwrap();
        assert!(o.scenarios.tls && !o.scenarios.throughput);
        assert_eq!(o.tls_concurrency, vec![50]);
        assert_eq!(
            parse_str("").unwrap().unwrap().tls_concurrency,
            vec![1000, 1]
        );
        assert!(parse_str("--tls-concurrency 0").is_err());
    }

    #[test]
    fn quick_then_explicit_flags_win() {
        let o = parse_str("--concurrency 7 --quick").unwrap().unwrap();
        assert_eq!(o.concurrency, vec![7]);
        assert_eq!(o.burst, Options::quick().burst);
    }

    #[test]
    fn refuses_nonsense() {
        assert!(parse_str("--seconds -1").is_err());
        assert!(parse_str("--concurrency 1,x").is_err());
        assert!(parse_str("--only g").is_err());
        assert!(parse_str("--frobnicate").is_err());
        assert!(parse_str("--seconds").is_err());
        assert!(parse_str("--help").unwrap().is_none());
    }
}
