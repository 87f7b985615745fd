//! redmux's side of `benches/src/bin/profile_clients.rs`, without the benches (which
//! pull redis-rs and fred): the same workloads on the same current-thread runtime, for
//! counting instructions per command under callgrind on a shared machine.
//!
//! ```text
//! cargo build --release -p redmux-tests --example profile_redmux
//! REDIS_URL=redis://127.0.0.1:6379 valgrind --tool=callgrind \
//!     target/release/examples/profile_redmux c1|c100|c1000|baseline
//! ```
//!
//! Subtract `baseline`'s total from a workload's and divide by the `commands: N` it
//! prints, as `scripts/callgrind-clients` does.

use std::time::Duration;

use bytes::Bytes;
use redmux::{Client, Config};

const GETS: usize = 20_000;
const COMMANDS: usize = 100_000;
const VALUE: [u8; 16] = *b"profile-load-val";

async fn concurrent(client: &Client, tasks: usize) -> u64 {
    let pairs = COMMANDS / tasks / 2;
    let mut handles = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let client = client.clone();
        handles.push(tokio::spawn(async move {
            let key = format!("profile:{task}").into_bytes();
            for _ in 0..pairs {
                client.set(&key[..], &VALUE[..]).await.unwrap();
                let got: Option<Bytes> = client.get(&key[..]).await.unwrap();
                assert_eq!(got.as_deref(), Some(&VALUE[..]));
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    (tasks * pairs * 2) as u64
}

async fn single(client: &Client) -> u64 {
    for _ in 0..GETS {
        let got: Option<Bytes> = client.get(&b"profile:single"[..]).await.unwrap();
        assert_eq!(got.as_deref(), Some(&VALUE[..]));
    }
    GETS as u64
}

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "baseline".into());
    let url = std::env::var("REDIS_URL").expect("REDIS_URL names the server");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut config = Config::from_url(&url).unwrap();
        config.command_timeout = Duration::from_secs(60);
        let client = Client::connect_with(config).await.unwrap();
        client
            .set(&b"profile:single"[..], &VALUE[..])
            .await
            .unwrap();
        let n = match name.as_str() {
            "c1" => single(&client).await,
            "c100" => concurrent(&client, 100).await,
            "c1000" => concurrent(&client, 1000).await,
            _ => 0,
        };
        client.close().await;
        println!("commands: {n}");
    });
}
