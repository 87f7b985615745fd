//! A long burst from one task: it reaches the wire while the task is still issuing
//! it, even though the writer task cannot run until the burst's task yields, and
//! every reply still reaches its own caller, in order.

use std::future::IntoFuture;

use futures::future::join_all;
use redmux::{Client, cmd};
use redmux_testkit::RedisServer;

const VALUE: usize = 1024;

/// On a single-threaded runtime the writer task cannot run while this task issues
/// its burst: before the callers wrote what queued up themselves, not one of these
/// 2,000 SETs (2 MiB) reached the server until the task awaited.
#[tokio::test]
async fn a_burst_goes_out_while_its_task_is_still_issuing_it() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    client.set("warm", 0).await.unwrap();
    let before = client.stats();
    let value = |i: usize| format!("{i:06}{}", "v".repeat(VALUE - 6));
    let sets: Vec<_> = (0..2_000)
        .map(|i| client.set(format!("burst:{i}"), value(i)).into_future())
        .collect();
    let sent_before_awaiting = client.stats().commands_sent - before.commands_sent;
    assert!(
        sent_before_awaiting >= 1_000,
        "only {sent_before_awaiting} of 2,000 commands were written before the task awaited: {:?}",
        client.stats()
    );
    for r in join_all(sets).await {
        r.unwrap();
    }
    for i in [0, 1, 999, 1_000, 1_999] {
        let v: String = client.get(format!("burst:{i}")).await.unwrap();
        assert!(v == value(i), "burst:{i} came back different");
    }
    let stats = client.stats();
    assert_eq!(stats.commands_sent, stats.replies, "{stats:?}");
}

/// One caller's commands keep their order across the writes the callers make and
/// the ones the writer task makes, and every reply reaches its own command: lazy
/// futures in `join_all`, the way a burst is usually written (each sends its one
/// command when first polled, in order), on a runtime of two workers. Every other
/// one is an INCR of one key, whose replies must count up in issue order; the rest
/// are large ECHOs, so the queue passes what a caller writes itself many times over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_burst_keeps_one_callers_order_and_every_reply_with_its_command() {
    const COMMANDS: i64 = 40_000;
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    let task = {
        let client = client.clone();
        tokio::spawn(async move {
            let padding = "p".repeat(200);
            let (client, padding) = (&client, &padding);
            join_all((0..COMMANDS).map(|i| async move {
                if i % 2 == 0 {
                    let message = format!("{i}{padding}");
                    let echoed: String = client.command(cmd("ECHO").arg(&message)).await.unwrap();
                    assert!(echoed == message, "ECHO {i} got another command's reply");
                    None
                } else {
                    Some(client.incr("burst:counter").await.unwrap())
                }
            }))
            .await
        })
    };
    let counts: Vec<i64> = task.await.unwrap().into_iter().flatten().collect();
    assert_eq!(counts, (1..=COMMANDS / 2).collect::<Vec<i64>>());
    let stats = client.stats();
    assert_eq!(stats.commands_sent, stats.replies, "{stats:?}");
}
