//! A web service whose handlers share one redmux `Client`: a cached item lookup with
//! a sliding expiry, and a hit counter (see `redmux_examples::app`).
//!
//! Run it against a local server, then ask for an item twice and see the cache work:
//!
//! ```text
//! redis-server &                                   # or point REDIS_URL at one
//! cargo run -p redmux-examples --example web_service
//! curl -i http://127.0.0.1:3000/items/42           # x-cache: miss (loaded, ~20 ms)
//! curl -i http://127.0.0.1:3000/items/42           # x-cache: hit
//! curl http://127.0.0.1:3000/hits/42               # 2
//! ```
//!
//! `REDIS_URL` (default `redis://127.0.0.1:6379`) names the server and `LISTEN`
//! (default `127.0.0.1:3000`) the address to serve on.

use std::env;
use std::error::Error;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let redis_url = env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let listen = env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());

    let client = redmux::Client::connect(&redis_url).await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!(
        "serving http://{} with Redis at {redis_url}",
        listener.local_addr()?
    );
    axum::serve(listener, redmux_examples::app(client))
        .with_graceful_shutdown(async {
            // An error here means no signal handler: then run until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await?;
    Ok(())
}
