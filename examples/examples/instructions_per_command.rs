//! A probe for `valgrind --tool=callgrind`: one caller awaiting `N` GETs in a row
//! on a current-thread runtime, so the difference between two runs of different
//! `N` is what `N` more commands cost, start-up excluded (see
//! `docs/observability.md`, Cost).
//!
//! ```text
//! valgrind --tool=callgrind target/release/examples/instructions_per_command 1000
//! valgrind --tool=callgrind target/release/examples/instructions_per_command 11000
//! TRACING=1 valgrind --tool=callgrind ...    # spans on (no subscriber installed)
//! ```

use std::env;
use std::error::Error;

use redmux::{Client, Config};

fn main() -> Result<(), Box<dyn Error>> {
    let n: usize = env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let url = env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut config = Config::from_url(&url)?;
    config.tracing = env::var_os("TRACING").is_some();
    if env::var_os("SUBSCRIBER").is_some() {
        // The least a subscriber does: a registry keeps each span's data.
        tracing::subscriber::set_global_default(tracing_subscriber::registry())?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let client = Client::connect_with(config).await?;
        client.set("probe", "value").await?;
        for _ in 0..n {
            let _: Option<String> = client.get("probe").await?;
        }
        Ok::<(), redmux::Error>(())
    })?;
    Ok(())
}
