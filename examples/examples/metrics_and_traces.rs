//! What a service exports: a span per command (OpenTelemetry's database
//! conventions) printed by `tracing-subscriber`, and the counters of
//! `Client::stats()` printed as a metrics exporter would read them.
//!
//! ```text
//! redis-server &                                   # or point REDIS_URL at one
//! cargo run -p redmux-examples --example metrics_and_traces
//! ```
//!
//! Each closed span prints its fields (`db.system.name`, `db.operation.name`,
//! `db.namespace`, `server.address`, `server.port`, `error.type`, ...). In a real
//! service, `tracing-opentelemetry` turns the same spans into OpenTelemetry ones:
//! `otel.name` becomes the span's name and `otel.kind` its kind.

use std::env;
use std::error::Error;

use redmux::{Client, Config, Stats};
use tracing_subscriber::fmt::format::FmtSpan;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_target(false)
        .with_span_events(FmtSpan::CLOSE)
        .init();

    let url = env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut config = Config::from_url(&url)?;
    // Off by default: off, a command pays one branch for it.
    config.tracing = true;
    let client = Client::connect_with(config).await?;

    client.set("example:greeting", "hello").await?;
    let _: Option<String> = client.get("example:greeting").await?;
    // A server error: its span carries `error.type` (the error's code).
    let _ = client.incr("example:greeting").await;
    // One span for the whole batch, with `db.operation.batch.size`.
    let mut batch = client.batch();
    for i in 0..10 {
        batch.add(client.set(format!("example:{i}"), i));
    }
    batch.execute().await;
    let mut tx = client.transaction();
    tx.add(client.incr("example:counter"));
    tx.add(client.expire("example:counter", std::time::Duration::from_secs(60)));
    tx.execute().await?;

    print_metrics(&client.stats());
    Ok(())
}

/// The counters as a Prometheus exporter would expose them: monotonic ones as
/// counters, the rest as gauges.
fn print_metrics(stats: &Stats) {
    let counters = [
        ("redmux_commands_sent_total", stats.commands_sent),
        ("redmux_replies_total", stats.replies),
        ("redmux_error_replies_total", stats.error_replies),
        (
            "redmux_fire_and_forget_errors_total",
            stats.fire_and_forget_errors,
        ),
        ("redmux_timeouts_total", stats.timeouts),
        ("redmux_overloaded_total", stats.overloaded),
        ("redmux_lost_in_flight_total", stats.lost_in_flight),
        ("redmux_expired_unsent_total", stats.expired_unsent),
        ("redmux_replies_too_large_total", stats.replies_too_large),
        ("redmux_reconnects_total", stats.reconnects),
        ("redmux_writes_total", stats.writes),
        ("redmux_bytes_in_total", stats.bytes_in),
        ("redmux_bytes_out_total", stats.bytes_out),
        ("redmux_push_frames_total", stats.push_frames),
    ];
    for (name, value) in counters {
        println!("# TYPE {name} counter\n{name} {value}");
    }
    let gauges = [
        ("redmux_queue_depth", stats.queue_depth),
        ("redmux_queue_bytes", stats.queue_bytes),
        ("redmux_backlog", stats.backlog),
        ("redmux_waiting_for_room", stats.waiting_for_room),
        ("redmux_in_flight", stats.in_flight),
    ];
    for (name, value) in gauges {
        println!("# TYPE {name} gauge\n{name} {value}");
    }
    println!(
        "# TYPE redmux_connected gauge\nredmux_connected {}",
        u8::from(stats.state == redmux::ConnectionState::Connected)
    );
}
