//! A probe for `valgrind --tool=callgrind`: one caller reading one key `N` times
//! through the client-side cache (all hits after the first) on a current-thread
//! runtime, against a throwaway server from the test kit (not traced: valgrind
//! follows no child). The difference between two runs of different `N` is what
//! `N` more hits cost, start-up excluded.
//!
//! ```text
//! cargo build --release -p redmux --example cache_hits
//! valgrind --tool=callgrind target/release/examples/cache_hits 100000
//! valgrind --tool=callgrind target/release/examples/cache_hits 1100000
//! ```
//!
//! The reply is read as `Option<Bytes>`; `AS=string` reads it as `Option<String>`.

use std::env;
use std::error::Error;
use std::time::Duration;

use bytes::Bytes;
use redmux::{Client, ClientCache, Config};
use redmux_testkit::RedisServer;

fn main() -> Result<(), Box<dyn Error>> {
    let n: usize = env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let as_string = env::var("AS").is_ok_and(|v| v == "string");
    let server = RedisServer::start()?;
    let mut config = Config::from_url(&server.url())?;
    config.client_cache = Some(ClientCache::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ttl = Duration::from_secs(3600);
    runtime.block_on(async move {
        let client = Client::connect_with(config).await?;
        client.set("probe", "v".repeat(64)).await?;
        let mut found = 0usize;
        for _ in 0..n {
            if as_string {
                let v: Option<String> = client.get("probe").cached(ttl).await?;
                found += v.map_or(0, |v| v.len());
            } else {
                let v: Option<Bytes> = client.get("probe").cached(ttl).await?;
                found += v.map_or(0, |v| v.len());
            }
        }
        println!("{n} reads, {found} bytes, {:?}", client.cache_stats());
        Ok::<(), redmux::Error>(())
    })?;
    Ok(())
}
