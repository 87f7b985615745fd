//! A job queue without blocking pops: producers push jobs and publish an empty
//! wake-up; workers drain the list when woken (see `redmux::work_queue`).
//!
//! ```text
//! redis-server &                                   # or point REDIS_URL at one
//! cargo run -p redmux-examples --example work_queue
//! cargo run -p redmux-examples --example work_queue -- 100000 8   # jobs, workers
//! ```
//!
//! It runs two producers and a few reliable workers, each on its own client as
//! separate processes would be. Halfway through, one worker "crashes" with jobs taken
//! and not acknowledged; it is restarted under the same id and takes them back, so
//! every job is done. `BLPOP` on the shared client is refused, and the error says
//! what to use instead: this.

use std::collections::HashMap;
use std::env;
use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use redmux::{Client, WorkQueue};
use tokio::task::JoinHandle;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut args = env::args().skip(1);
    let jobs: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000);
    let workers: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(4);

    let admin = Client::connect(&url).await?;
    admin.del("example:jobs").await?;
    // The reason this example exists.
    if let Err(e) = admin
        .command::<redmux::Value>(redmux::cmd("BLPOP").arg("example:jobs").arg(0))
        .await
    {
        println!("BLPOP on the shared client: {e}\n");
    }

    // Workers first: each subscribes to the wake-ups, then drains the list.
    let done = Arc::new(AtomicU64::new(0));
    let mut running: HashMap<String, JoinHandle<()>> = HashMap::new();
    for w in 0..workers {
        let id = format!("worker-{w}");
        running.insert(id.clone(), start_worker(&url, &id, done.clone()).await?);
    }

    // Two producers, each on its own client; push() returns at once.
    let started = Instant::now();
    for p in 0..2 {
        let client = Client::connect(&url).await?;
        tokio::spawn(async move {
            let queue = WorkQueue::new(&client, "example:jobs");
            for n in (p..jobs).step_by(2) {
                while queue.push(format!("job {n}")).is_err() {
                    // Overloaded: the client's queue is full; let it drain.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        });
    }

    // Halfway, a worker dies with jobs in its processing list, and comes back.
    while done.load(Relaxed) < jobs / 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if let Some(task) = running.remove("worker-0") {
        task.abort();
        let _ = task.await;
        let queue = WorkQueue::new(&admin, "example:jobs");
        let stranded = admin.llen(queue.processing_key("worker-0")).await?;
        println!("worker-0 died with {stranded} jobs taken and not acknowledged; restarting it");
        running.insert(
            "worker-0".into(),
            start_worker(&url, "worker-0", done.clone()).await?,
        );
    }

    // Jobs redone after the crash count twice, so wait for the queue and the
    // processing lists to be empty rather than for a count.
    let queue = WorkQueue::new(&admin, "example:jobs");
    loop {
        let mut left = queue.len().await?;
        for id in running.keys() {
            left += admin.llen(queue.processing_key(id)).await?;
        }
        if left == 0 && done.load(Relaxed) >= jobs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "{jobs} jobs done by {workers} workers in {elapsed:.2?} ({:.0} jobs/s); {} done twice after the crash",
        jobs as f64 / elapsed.as_secs_f64(),
        done.load(Relaxed) - jobs,
    );
    Ok(())
}

/// A reliable worker on its own client: take a job, do it, acknowledge it.
async fn start_worker(
    url: &str,
    id: &str,
    done: Arc<AtomicU64>,
) -> Result<JoinHandle<()>, redmux::Error> {
    let client = Client::connect(url).await?;
    let mut worker = WorkQueue::new(&client, "example:jobs")
        .reliable_worker(id)
        .await?;
    let id = id.to_string();
    Ok(tokio::spawn(async move {
        loop {
            match worker.next().await {
                Ok(job) => {
                    // The work: here, nothing. Acknowledge right after it.
                    let _ = job.payload_str();
                    worker.ack(&job);
                    done.fetch_add(1, Relaxed);
                }
                Err(e) => {
                    eprintln!("{id}: {e}");
                    return;
                }
            }
        }
    }))
}
