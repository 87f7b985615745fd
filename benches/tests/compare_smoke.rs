//! The comparison in miniature, so CI runs the same code `scripts/compare` runs: every
//! scenario, all three clients, against a throwaway server (or `REDIS_URL`) and a
//! throwaway cluster ((t) always starts its own TLS and plaintext servers), in a few seconds even in a debug build.

use std::time::Duration;

use redmux_benches::compare::{self, Options};

#[test]
fn quick_comparison_runs_every_scenario_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("nested").join("compare.json");
    let options = Options {
        seconds: 0.2,
        warmup: Duration::from_millis(20),
        concurrency: vec![1, 10],
        latency_ops: 400,
        burst: 2_000,
        bench_requests: 2_000,
        json: Some(json.clone()),
        command_line: "compare_smoke".into(),
        ..Options::quick()
    };
    assert_eq!(options.rounds, 2);
    let report = compare::run(&options).unwrap();

    let rows = report.throughput.as_ref().unwrap();
    assert_eq!(
        rows.iter().map(|r| r.concurrency).collect::<Vec<_>>(),
        vec![1, 10]
    );
    for row in rows {
        let f = &row.ops_per_sec;
        assert!(
            f.redmux > 0.0 && f.redis_rs > 0.0 && f.fred > 0.0,
            "{row:?}"
        );
        assert!(
            row.ratios.vs_redis_rs > 0.0 && row.ratios.vs_fred > 0.0,
            "{row:?}"
        );
        // Not `>= 1.0`: a command is counted as sent just before its write, so a
        // snapshot taken between the two puts the write in the next window, and a
        // partial write is two syscalls for one command (CI saw 0.9997 at C = 1).
        assert!(row.redmux_commands_per_write > 0.9, "{row:?}");
        let cpu = &row.cpu_us_per_op;
        assert!(
            cpu.redmux > 0.0 && cpu.redis_rs > 0.0 && cpu.fred > 0.0,
            "{row:?}"
        );
        assert_eq!(row.slice_ops_per_sec.fred.len(), options.rounds);
    }

    let latency = report.latency.as_ref().unwrap();
    for s in [
        &latency.summary.redmux,
        &latency.summary.redis_rs,
        &latency.summary.fred,
    ] {
        assert_eq!(s.samples, 400);
        assert!(s.p50_us > 0.0 && s.p50_us <= s.p99_us, "{s:?}");
    }

    let rt = report.round_trips.as_ref().unwrap();
    assert_eq!(rt.sets, 2_000);
    assert_eq!(rt.round_wall_ms.redis_rs.len(), rt.rounds);
    // The idiomatic form ran beside the eager one, every round.
    let lazy = rt.redmux_lazy.as_ref().unwrap();
    assert_eq!(lazy.round_wall_ms.len(), rt.rounds);
    assert!(lazy.commands_per_write > 0.9, "{rt:?}");
    for ms in [
        rt.wall_ms.redmux,
        lazy.wall_ms,
        rt.wall_ms.redis_rs,
        rt.wall_ms.fred,
    ] {
        // At least one 1 ms round trip through the proxy, and far less than a timeout.
        assert!((1.0..30_000.0).contains(&ms), "{rt:?}");
    }

    let rb = report.redis_benchmark.as_ref().unwrap();
    if rb.status == "ok" {
        assert_eq!(rb.runs.len(), 2);
        assert!(
            rb.runs
                .iter()
                .all(|r| r.set_ops > 0.0 && r.get_ops > 0.0 && r.mix_ops > 0.0),
            "{rb:?}"
        );
        assert!(rb.redmux_c1_pct_of_p1.unwrap() > 0.0, "{rb:?}");
        assert!(rb.redmux_best_pct_of_p64.unwrap() > 0.0, "{rb:?}");
        assert!(rb.redmux_c1_ops_per_sec.unwrap() > 0.0, "{rb:?}");
        assert!(rb.redmux_best_ops_per_sec.unwrap() > 0.0, "{rb:?}");
        // The best concurrency comes from (a), which ran at C = 1 and 10.
        let best = rb.redmux_best_concurrency.unwrap();
        assert!([1, 10].contains(&best), "{rb:?}");
        assert_eq!(rb.redmux_best_concurrency_from.as_deref(), Some("(a)"));
        // At least 3 interleaved rounds, which of each pair goes first alternating.
        assert_eq!(rb.rounds.len(), options.rounds.max(3));
        for (i, round) in rb.rounds.iter().enumerate() {
            assert_eq!(round.redis_benchmark_first, i % 2 == 0, "{round:?}");
            for (pair, pipeline, c) in [(&round.p1, 1, 1), (&round.p64, 64, best)] {
                assert_eq!(pair.redis_benchmark.pipeline, pipeline, "{round:?}");
                assert_eq!(pair.redmux_concurrency, c, "{round:?}");
                assert!(pair.redis_benchmark.mix_ops > 0.0, "{round:?}");
                assert!(pair.redmux_ops_per_sec > 0.0, "{round:?}");
                assert!(pair.redmux_seconds > 0.0, "{round:?}");
                assert!(pair.redmux_pct > 0.0, "{round:?}");
            }
        }
    } else {
        assert!(rb.status.contains("not installed"), "{rb:?}");
    }

    // (e) and (f), on a cluster of the run's own.
    let cluster = report.cluster.as_ref().unwrap();
    assert_eq!((cluster.primaries, cluster.replicas), (3, 3), "{cluster:?}");
    // Keys spread over the slots: every primary gets a share of the burst.
    assert_eq!(cluster.sets_per_primary.iter().sum::<usize>(), 2_000);
    assert!(
        cluster.sets_per_primary.iter().all(|&n| n > 400),
        "{cluster:?}"
    );
    let rt = cluster.round_trips.as_ref().unwrap();
    assert_eq!(rt.sets, 2_000);
    assert!(rt.raw_wall_ms >= 1.0 && rt.round_trip_ms >= 1.0, "{rt:?}");
    for ms in [rt.wall_ms.redmux, rt.wall_ms.redis_rs, rt.wall_ms.fred] {
        assert!((1.0..30_000.0).contains(&ms), "{rt:?}");
    }
    let row = cluster.throughput.as_ref().unwrap();
    assert_eq!(row.concurrency, options.cluster_concurrency);
    let (f, cpu) = (&row.ops_per_sec, &row.cpu_us_per_op);
    assert!(
        f.redmux > 0.0 && f.redis_rs > 0.0 && f.fred > 0.0,
        "{row:?}"
    );
    assert!(
        cpu.redmux > 0.0 && cpu.redis_rs > 0.0 && cpu.fred > 0.0,
        "{row:?}"
    );
    // (t): the quick run's C = 100 and 1, over TLS and, for redmux, plaintext too;
    // or a skip that says the server has no TLS (Valkey's wheel).
    let tls = report.tls.as_ref().unwrap();
    if tls.status == "ok" {
        let levels: Vec<_> = tls.levels.iter().map(|l| l.concurrency).collect();
        assert_eq!(levels, [100, 1], "{tls:?}");
        for level in &tls.levels {
            let names: Vec<_> = level.rows.iter().map(|r| r.client).collect();
            assert_eq!(
                names,
                ["redmux", "redis-rs", "fred", "redmux-plaintext"],
                "{level:?}"
            );
            for row in &level.rows {
                assert!(row.ops_per_sec > 0.0 && row.cpu_us_per_op > 0.0, "{row:?}");
                assert_eq!(row.slice_ops_per_sec.len(), options.rounds, "{row:?}");
                let redmux = row.client.starts_with("redmux");
                assert_eq!(row.redmux_commands_per_write.is_some(), redmux, "{row:?}");
            }
            assert!(level.redmux_tls_over_plain_cpu.unwrap() > 0.0, "{level:?}");
            assert!(level.ops_ratios.vs_fred > 0.0, "{level:?}");
        }
    } else {
        assert!(tls.status.contains("no TLS"), "{tls:?}");
        assert!(tls.levels.is_empty(), "{tls:?}");
    }

    let rendered = report.render();
    for needle in [
        "(a) Throughput",
        "(b) Latency",
        "(c) Round trips",
        "(d) redis-benchmark",
        "(e) Round trips on the cluster",
        "(f) Throughput on the cluster",
        "(t) TLS",
    ] {
        assert!(
            rendered.contains(needle),
            "{needle} missing from:\n{rendered}"
        );
    }

    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(written["command_line"], "compare_smoke");
    assert!(
        written["redis_server_version"]
            .as_str()
            .unwrap()
            .contains('.')
    );
    assert!(written["machine"]["nproc"].as_u64().unwrap() >= 1);
    assert!(
        written["throughput"][0]["ops_per_sec"]["redis-rs"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        written["latency"]["summary"]["fred"]["p99_us"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        written["round_trips"]["wall_ms"]["redmux"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        written["cluster"]["round_trips"]["raw_wall_ms"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        written["cluster"]["throughput"]["cpu_us_per_op"]["fred"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    if rb.status == "ok" {
        let d = &written["redis_benchmark"];
        assert!(d["redmux_c1_pct_of_p1"].as_f64().unwrap() > 0.0);
        assert!(d["runs"][1]["mix_ops"].as_f64().unwrap() > 0.0);
        let rounds = d["rounds"].as_array().unwrap();
        assert_eq!(rounds.len(), rb.rounds.len());
        assert!(rounds[0]["p64"]["redmux_pct"].as_f64().unwrap() > 0.0);
        assert!(
            rounds[1]["p1"]["redis_benchmark"]["mix_ops"]
                .as_f64()
                .unwrap()
                > 0.0
        );
        assert!(rendered.contains("redmux C = 1"), "{rendered}");
    }
}

#[test]
fn command_line_parses_into_the_same_options() {
    let args: Vec<String> = ["--quick", "--only", "a,c", "--json", "/tmp/x.json"]
        .map(String::from)
        .to_vec();
    let o = compare::args::parse(&args).unwrap().unwrap();
    assert!(o.quick && o.scenarios.throughput && o.scenarios.round_trips);
    assert!(!o.scenarios.latency && !o.scenarios.redis_benchmark);
    assert_eq!(
        o.command_line,
        "compare --quick --only a,c --json /tmp/x.json"
    );
}
