//! The burst of the comparison's (c) and (e), without their proxies, for counting
//! instructions per command under callgrind: `N` SETs issued at once from one task on
//! a current-thread runtime, the way a Rust user writes it (issue 18):
//!
//! ```text
//! join_all((0..n).map(|i| async move { client.set(format!("b:{i}"), &value).await })).await
//! ```
//!
//! `lazy` is that form (each request sent when `join_all` first polls it); `eager`
//! calls each request's `into_future()` as it is made, then joins them.
//!
//! ```text
//! cargo build --release -p redmux-tests --example profile_burst
//! REDIS_URL=redis://127.0.0.1:6379 valgrind --tool=callgrind \
//!     target/release/examples/profile_burst lazy|eager N [cold]
//! ```
//!
//! Start-up (runtime, connect, close) is removed by running two sizes and dividing
//! the difference of their totals by the difference of their `commands: N`, e.g.
//! 100,000 and 50,000: what is left is what the 50,000 more commands cost, with
//! 50,000-100,000 futures alive at once (the server's own work is in its own process
//! and not counted).

use std::future::IntoFuture;
use std::time::Duration;

use futures::future::join_all;
use redmux::{Client, Config};

const VALUE: [u8; 16] = *b"profile-load-val";

async fn lazy(client: &Client, n: usize) {
    // `Request` is `IntoFuture`, not a `Future`: `join_all` needs the async block,
    // and with it nothing is sent until `join_all` first polls each one.
    let results =
        join_all((0..n).map(|i| async move { client.set(format!("b:{i}"), &VALUE[..]).await }))
            .await;
    assert!(results.iter().all(Result::is_ok), "a SET failed");
}

async fn eager(client: &Client, n: usize) {
    let futures: Vec<_> = (0..n)
        .map(|i| client.set(format!("b:{i}"), &VALUE[..]).into_future())
        .collect();
    let results = join_all(futures).await;
    assert!(results.iter().all(Result::is_ok), "a SET failed");
}

fn main() {
    let form = std::env::args().nth(1).unwrap_or_else(|| "lazy".into());
    let n: usize = std::env::args()
        .nth(2)
        .map_or(100_000, |s| s.parse().expect("N is a number"));
    let url = std::env::var("REDIS_URL").expect("REDIS_URL names the server");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut config = Config::from_url(&url).unwrap();
        config.command_timeout = Duration::from_secs(60);
        let client = Client::connect_with(config).await.unwrap();
        // One command first, as a program's first burst usually is not its first
        // command: on a current-thread runtime the connection task may not have
        // handed its socket over yet, and a burst then queues whole for the writer.
        // `cold` (a third argument) skips it, to measure that case.
        if std::env::args().nth(3).as_deref() != Some("cold") {
            client.set("b:warm", &VALUE[..]).await.unwrap();
        }
        match form.as_str() {
            "lazy" => lazy(&client, n).await,
            "eager" => eager(&client, n).await,
            other => panic!("unknown form {other}: lazy or eager"),
        }
        client.close().await;
        println!("commands: {n}");
    });
}
