//! Draws the comparison's throughput against concurrency as an SVG: one line per client,
//! and horizontal lines for `redis-benchmark -c 1 -P 64` (the server's ceiling for one
//! connection) and `-P 1`. Both axes are logarithmic.
//!
//! ```text
//! cargo run --release -p redmux-benches --bin plot -- [COMPARE_JSON] [OUT_SVG]
//! ```
//!
//! Defaults: `benches/results/compare.json` (written by `scripts/compare`) and
//! `docs/throughput.svg`. Hand-written SVG, no plotting dependency.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use redmux_benches::compare::Result;
use redmux_benches::support;
use serde_json::Value;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 460.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 58.0;
const BOTTOM: f64 = 56.0;

/// One client's points: (concurrency, ops/s).
struct Series {
    name: String,
    color: &'static str,
    points: Vec<(f64, f64)>,
}

/// A horizontal reference line.
struct Ceiling {
    label: String,
    ops: f64,
    dash: &'static str,
}

fn color(name: &str) -> &'static str {
    match name {
        "redmux" => "#d62728",
        "redis-rs" => "#1f77b4",
        "fred" => "#2ca02c",
        _ => "#7f7f7f",
    }
}

fn read(json: &Value) -> Result<(Vec<Series>, Vec<Ceiling>, String)> {
    let rows = json["throughput"]
        .as_array()
        .ok_or("no \"throughput\" array: run the comparison's scenario (a)")?;
    let mut series: Vec<Series> = ["redmux", "redis-rs", "fred"]
        .into_iter()
        .map(|name| Series {
            name: name.into(),
            color: color(name),
            points: Vec::new(),
        })
        .collect();
    for row in rows {
        let c = row["concurrency"]
            .as_f64()
            .ok_or("a row without concurrency")?;
        for s in &mut series {
            if let Some(ops) = row["ops_per_sec"][s.name.as_str()].as_f64() {
                s.points.push((c, ops));
            }
        }
    }
    series.retain(|s| !s.points.is_empty());
    let mut ceilings = Vec::new();
    if let Some(runs) = json["redis_benchmark"]["runs"].as_array() {
        for run in runs {
            if let (Some(p), Some(ops)) = (run["pipeline"].as_u64(), run["mix_ops"].as_f64()) {
                ceilings.push(Ceiling {
                    label: format!("redis-benchmark -c 1 -P {p}"),
                    ops,
                    dash: if p > 1 { "8 4" } else { "2 4" },
                });
            }
        }
    }
    let caption = format!(
        "{} · {} · redis-server {} · {} vCPU {}",
        json["date"].as_str().unwrap_or("?"),
        json["versions"]["redmux_git"].as_str().unwrap_or("?"),
        json["redis_server_version"].as_str().unwrap_or("?"),
        json["machine"]["nproc"].as_u64().unwrap_or(0),
        json["machine"]["cpu_model"].as_str().unwrap_or("?"),
    );
    Ok((series, ceilings, caption))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// "20k", "1M", "1.5M".
fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", (v / 1e5).round() / 10.0)
    } else if v >= 1e3 {
        format!("{}k", (v / 1e2).round() / 10.0)
    } else {
        format!("{v}")
    }
}

fn render(series: &[Series], ceilings: &[Ceiling], caption: &str) -> String {
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(ceilings.iter().map(|c| c.ops))
        .filter(|v| *v > 0.0)
        .collect();
    let (x_min, x_max) = (
        xs.iter().copied().fold(f64::INFINITY, f64::min).max(1.0),
        xs.iter().copied().fold(1.0, f64::max),
    );
    let (y_lo, y_hi) = (
        ys.iter().copied().fold(f64::INFINITY, f64::min),
        ys.iter().copied().fold(1.0, f64::max),
    );
    // Log axes with a little room around the data.
    let (lx0, lx1) = (
        x_min.log10() - 0.15,
        x_max.log10().max(x_min.log10() + 1.0) + 0.15,
    );
    let (ly0, ly1) = ((y_lo / 1.6).log10(), (y_hi * 1.6).log10());
    let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let x = |c: f64| LEFT + (c.log10() - lx0) / (lx1 - lx0) * pw;
    let y = |v: f64| TOP + ph - (v.log10() - ly0) / (ly1 - ly0) * ph;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="22" font-size="15" font-weight="bold">SET+GET ops/s on one shared connection, by concurrent tasks</text>"#
    );
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="40" fill="#555">{}</text>"##,
        escape(caption)
    );
    // Horizontal grid: 1, 2, 5 × 10^k.
    let mut decade = 10f64.powf(ly0.floor());
    while decade <= 10f64.powf(ly1) {
        for m in [1.0, 2.0, 5.0] {
            let v = decade * m;
            if v.log10() < ly0 || v.log10() > ly1 {
                continue;
            }
            let yy = y(v);
            let stroke = if m == 1.0 { "#ccc" } else { "#eee" };
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="{stroke}"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                yy + 4.0,
                short(v)
            );
        }
        decade *= 10.0;
    }
    // Vertical grid at each concurrency measured.
    let mut cs = xs.clone();
    cs.sort_by(f64::total_cmp);
    cs.dedup();
    for c in &cs {
        let xx = x(*c);
        let _ = writeln!(
            svg,
            r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="#eee"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle" fill="#444">{c}</text>"##,
            TOP + ph,
            TOP + ph + 18.0
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">concurrent tasks sharing one handle (C, log scale)</text>"#,
        LEFT + pw / 2.0,
        HEIGHT - 14.0
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">ops/s (log scale)</text>"#,
        TOP + ph / 2.0
    );
    let mut legend_y = TOP + 10.0;
    let legend_x = LEFT + pw + 16.0;
    for c in ceilings {
        let yy = y(c.ops);
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#222" stroke-width="1.5" stroke-dasharray="{}"/>"##,
            LEFT + pw,
            c.dash
        );
        let _ = writeln!(
            svg,
            r##"<line x1="{legend_x}" y1="{legend_y:.1}" x2="{:.1}" y2="{legend_y:.1}" stroke="#222" stroke-width="1.5" stroke-dasharray="{}"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text><text x="{:.1}" y="{:.1}" font-size="11" fill="#555">{} ops/s (SET/GET mix)</text>"##,
            legend_x + 24.0,
            c.dash,
            legend_x + 30.0,
            legend_y + 4.0,
            escape(&c.label),
            legend_x + 30.0,
            legend_y + 18.0,
            short(c.ops)
        );
        legend_y += 36.0;
    }
    for s in series {
        let path: Vec<String> = s
            .points
            .iter()
            .map(|&(c, v)| format!("{:.1},{:.1}", x(c), y(v)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"/>"#,
            path.join(" "),
            s.color
        );
        for &(c, v) in &s.points {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}"><title>{} C = {c}: {v:.0} ops/s</title></circle>"#,
                x(c),
                y(v),
                s.color,
                s.name
            );
        }
        let _ = writeln!(
            svg,
            r#"<line x1="{legend_x}" y1="{legend_y:.1}" x2="{:.1}" y2="{legend_y:.1}" stroke="{}" stroke-width="2.5"/><circle cx="{:.1}" cy="{legend_y:.1}" r="3.5" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            legend_x + 24.0,
            s.color,
            legend_x + 12.0,
            s.color,
            legend_x + 30.0,
            legend_y + 4.0,
            escape(&s.name)
        );
        legend_y += 22.0;
    }
    svg.push_str("</svg>\n");
    svg
}

fn run(input: PathBuf, output: PathBuf) -> Result<()> {
    let text = std::fs::read_to_string(&input)
        .map_err(|e| format!("cannot read {} (run scripts/compare): {e}", input.display()))?;
    let json: Value = serde_json::from_str(&text)?;
    let (series, ceilings, caption) = read(&json)?;
    if series.is_empty() {
        return Err(format!("{}: no throughput figures", input.display()).into());
    }
    std::fs::write(&output, render(&series, &ceilings, &caption))
        .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    println!("{} -> {}", input.display(), output.display());
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if matches!(first.as_deref(), Some("-h" | "--help")) {
        println!(
            "plot [COMPARE_JSON (benches/results/compare.json)] [OUT_SVG (docs/throughput.svg)]"
        );
        return ExitCode::SUCCESS;
    }
    let input = first.map_or_else(|| support::results_path("compare.json"), PathBuf::from);
    let output = args
        .next()
        .map_or_else(|| support::docs_path("throughput.svg"), PathBuf::from);
    match run(input, output) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plot: {e}");
            ExitCode::FAILURE
        }
    }
}
