//! The work queue against a real server: producers and workers on separate clients,
//! every job processed exactly once, through a worker restart (reliable mode) and
//! through cut connections, with wake-ups lost while the subscriber was down.

use std::collections::HashSet;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redmux::work_queue::{Job, ReliableWorker, Worker};
use redmux::{Client, ClientKill, ClientType, WorkQueue};
use redmux_testkit::{CutMode, FaultProxy, RedisServer};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;

const PRODUCERS: usize = 4;
const WORKERS: usize = 4;

/// What the workers did: how often each job was processed, how many distinct jobs
/// were, and how many times a job was processed in all.
struct Ledger {
    seen: Vec<AtomicU8>,
    distinct: AtomicUsize,
    total: AtomicUsize,
}

impl Ledger {
    fn new(jobs: usize) -> Arc<Ledger> {
        Arc::new(Ledger {
            seen: (0..jobs).map(|_| AtomicU8::new(0)).collect(),
            distinct: AtomicUsize::new(0),
            total: AtomicUsize::new(0),
        })
    }

    fn record(&self, job: &Job) {
        let id = job_id(job);
        if self.seen[id].fetch_add(1, SeqCst) == 0 {
            self.distinct.fetch_add(1, SeqCst);
        }
        self.total.fetch_add(1, SeqCst);
    }

    /// Waits until every job was processed, then a little longer so a duplicate
    /// would show, and checks each was processed exactly once.
    async fn wait_all_exactly_once(&self, within: Duration) {
        self.wait_all(within, |_| 1).await;
    }

    /// Waits until every job was processed and the processings add up to what
    /// `expected` says for each job, then a little longer so one more would show,
    /// and checks each job's count against `expected`.
    async fn wait_all(&self, within: Duration, expected: impl Fn(usize) -> u8) {
        let expected_total: usize = (0..self.seen.len()).map(|i| expected(i) as usize).sum();
        let deadline = Instant::now() + within;
        while self.distinct.load(SeqCst) < self.seen.len()
            || self.total.load(SeqCst) < expected_total
        {
            assert!(
                Instant::now() < deadline,
                "only {} of {} jobs processed ({} of {} processings) within {within:?}",
                self.distinct.load(SeqCst),
                self.seen.len(),
                self.total.load(SeqCst),
                expected_total,
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let wrong: Vec<(usize, u8, u8)> = (0..self.seen.len())
            .map(|i| (i, self.seen[i].load(SeqCst), expected(i)))
            .filter(|(_, seen, expected)| seen != expected)
            .collect();
        assert!(
            wrong.is_empty(),
            "{} jobs processed a wrong number of times (job, times, expected): {:?}...",
            wrong.len(),
            &wrong[..wrong.len().min(10)]
        );
    }
}

fn job_id(job: &Job) -> usize {
    job.payload_str().unwrap().parse().unwrap()
}

/// Starts producers on their own clients, each pushing its share of `0..jobs`:
/// half one job at a time, half in batches of 100. With a `gate`, a producer takes a
/// permit per job before pushing it, so the test decides how far they may go.
async fn produce(url: &str, jobs: usize, gate: Option<Arc<Semaphore>>) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for p in 0..PRODUCERS {
        let client = Client::connect(url).await.unwrap();
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let queue = WorkQueue::new(&client, "jobs");
            let ids: Vec<usize> = (p..jobs).step_by(PRODUCERS).collect();
            let chunk = if p % 2 == 0 { 1 } else { 100 };
            for chunk in ids.chunks(chunk) {
                if let Some(gate) = &gate {
                    gate.acquire_many(chunk.len() as u32)
                        .await
                        .unwrap()
                        .forget();
                }
                if let [id] = chunk {
                    push_with_room(|| queue.push(*id)).await;
                } else {
                    push_with_room(|| queue.push_many(chunk)).await;
                }
            }
            // Everything pushed has been written and run before the client goes.
            client.ping().await.unwrap();
        }));
    }
    tasks
}

/// Fire-and-forget fails fast when the client's queue is full: wait and push again.
async fn push_with_room(mut push: impl FnMut() -> redmux::Result<()>) {
    loop {
        match push() {
            Ok(()) => return,
            Err(redmux::Error::Overloaded(_)) => tokio::time::sleep(Duration::from_millis(1)).await,
            Err(e) => panic!("push failed: {e}"),
        }
    }
}

fn run_worker(mut worker: Worker, ledger: Arc<Ledger>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let job = worker.next().await.unwrap();
            ledger.record(&job);
        }
    })
}

/// A reliable worker's loop: record, then acknowledge. Both happen with no await
/// between them, so a worker aborted mid-job has either done neither or both, and a
/// restarted worker redoes exactly the unacknowledged jobs.
fn run_reliable(mut worker: ReliableWorker, ledger: Arc<Ledger>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let job = worker.next().await.unwrap();
            ledger.record(&job);
            worker.ack(&job);
        }
    })
}

/// As [`run_reliable`], until `stop` is told: then the worker waits for the server to
/// confirm its acks (sending again those a cut swallowed) and ends, as a worker
/// shutting down should. Aborted instead, the last acks a cut swallowed could be
/// left unsent: their jobs wait in its processing list for a restart, by design.
fn run_reliable_until(
    mut worker: ReliableWorker,
    ledger: Arc<Ledger>,
    stop: Arc<tokio::sync::Notify>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                job = worker.next() => {
                    let job = job.unwrap();
                    ledger.record(&job);
                    worker.ack(&job);
                }
                () = stop.notified() => break,
            }
        }
        worker.flush_acks().await.unwrap();
    })
}

async fn assert_drained(url: &str, worker_ids: &[String]) {
    let client = Client::connect(url).await.unwrap();
    let queue = WorkQueue::new(&client, "jobs");
    assert_eq!(queue.len().await.unwrap(), 0, "jobs left in the queue");
    // The last acks were sent (fire-and-forget) on the workers' own connections just
    // before the workers stopped: they may still be on their way when this
    // connection looks. Given a moment they land; a lost one never would.
    let deadline = Instant::now() + Duration::from_secs(5);
    for id in worker_ids {
        loop {
            let left = client.llen(queue.processing_key(id)).await.unwrap();
            if left == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{left} jobs left unacknowledged in {id}'s processing list"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_producers_four_workers_a_hundred_thousand_jobs_each_processed_once() {
    const JOBS: usize = 100_000;
    let server = RedisServer::start().unwrap();
    let ledger = Ledger::new(JOBS);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let client = Client::connect(&server.url()).await.unwrap();
        let worker = WorkQueue::new(&client, "jobs").worker().await.unwrap();
        workers.push(run_worker(worker, ledger.clone()));
    }
    for producer in produce(&server.url(), JOBS, None).await {
        producer.await.unwrap();
    }
    ledger.wait_all_exactly_once(Duration::from_secs(60)).await;
    eprintln!("{JOBS} jobs through 4 workers in {:?}", started.elapsed());
    workers.iter().for_each(JoinHandle::abort);
    assert_drained(&server.url(), &[]).await;
}

/// How the doomed worker of the restart test ends: with one job done and its ack
/// on its way, and one more job taken and not started.
struct Doomed {
    /// Every job it did.
    done: Arc<Mutex<HashSet<usize>>>,
    /// Told `(done, held)` once it has done the one and holds the other.
    ready: oneshot::Sender<(usize, usize)>,
    /// Awaited before it acknowledges the job done.
    go: oneshot::Receiver<()>,
    /// Told once the ack is sent.
    acked: oneshot::Sender<()>,
}

/// A reliable worker's loop that works normally until `after` jobs are done (by all
/// workers). Then it does one more job (`J`), takes the next (`K`), says so, waits
/// for the go to acknowledge `J`, and hangs with `K` until aborted: a crash comes
/// after the work of `J` and before the work of `K`.
fn run_reliable_until_killed(
    mut worker: ReliableWorker,
    ledger: Arc<Ledger>,
    after: usize,
    doomed: Doomed,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let last = loop {
            let job = worker.next().await.unwrap();
            if ledger.distinct.load(SeqCst) >= after {
                break job;
            }
            ledger.record(&job);
            doomed.done.lock().unwrap().insert(job_id(&job));
            worker.ack(&job);
        };
        let held = worker.next().await.unwrap();
        ledger.record(&last);
        doomed.done.lock().unwrap().insert(job_id(&last));
        doomed.ready.send((job_id(&last), job_id(&held))).unwrap();
        doomed.go.await.unwrap();
        worker.ack(&last);
        doomed.acked.send(()).unwrap();
        std::future::pending::<()>().await;
        drop((worker, held));
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reliable_worker_restarted_mid_run_loses_no_job() {
    const JOBS: usize = 100_000;
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let admin = Client::connect(&url).await.unwrap();
    // w1 reaches the server through a proxy, so that its link can go dark and its
    // connections be cut all at once, as a crash cuts a process's connections.
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let ledger = Ledger::new(JOBS);
    let ids: Vec<String> = (0..WORKERS).map(|w| format!("w{w}")).collect();
    let done_by_w1 = Arc::new(Mutex::new(HashSet::new()));
    let (ready_tx, ready_rx) = oneshot::channel();
    let (go_tx, go_rx) = oneshot::channel();
    let (acked_tx, acked_rx) = oneshot::channel();
    let mut doomed = Some(Doomed {
        done: done_by_w1.clone(),
        ready: ready_tx,
        go: go_rx,
        acked: acked_tx,
    });
    let mut workers = Vec::new();
    for id in &ids {
        let doomed = if id == "w1" { doomed.take() } else { None };
        let client = match doomed {
            Some(_) => Client::connect(&format!("{}?client_name=doomed-w1", proxy.url())).await,
            None => Client::connect(&url).await,
        }
        .unwrap();
        let worker = WorkQueue::new(&client, "jobs")
            .reliable_worker(id)
            .await
            .unwrap();
        workers.push(match doomed {
            Some(doomed) => run_reliable_until_killed(worker, ledger.clone(), JOBS / 4, doomed),
            None => run_reliable(worker, ledger.clone()),
        });
    }
    let producers = produce(&url, JOBS, None).await;

    // A quarter of the way in, w1 has done a job J and holds another, K. Its link
    // goes dark, it acknowledges J (the ack stays in the proxy), and it is killed as
    // a crash would kill it: its handler stops and its connections die with
    // whatever its client had not got through to the server. The proxy turns the
    // dead client's reconnects away, so nothing of it reaches the server later.
    let (last_done, held) = tokio::time::timeout(Duration::from_secs(30), ready_rx)
        .await
        .expect("w1 took two jobs after a quarter of the run")
        .unwrap();
    proxy.stall();
    go_tx.send(()).unwrap();
    acked_rx.await.unwrap();
    let task = workers.remove(1);
    task.abort();
    proxy.refuse(true);
    proxy.cut(CutMode::Reset);
    let _ = task.await;
    // Once the server has dropped w1's connections, its processing list is what
    // the crash left there.
    let deadline = Instant::now() + Duration::from_secs(5);
    while admin
        .client_list()
        .await
        .unwrap()
        .iter()
        .any(|c| c.name() == Some("doomed-w1"))
    {
        assert!(
            Instant::now() < deadline,
            "the server kept w1's connections"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let queue = WorkQueue::new(&admin, "jobs");
    let stranded: Vec<usize> = admin
        .lrange::<String>(queue.processing_key("w1"), 0, -1)
        .await
        .unwrap()
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    // J's ack was lost, K was never acknowledged: both wait in w1's processing
    // list, with whatever else w1 had moved and not handed out yet.
    assert!(
        stranded.contains(&last_done) && stranded.contains(&held),
        "J = {last_done} and K = {held} wait in w1's processing list: {stranded:?}"
    );
    // Those of them w1 did (J at least) are done again after the restart: the one
    // case docs/pubsub.md allows ("A job is done twice only if the process dies
    // after the work and before its ack reaches the server"). The others (K and the
    // rest of w1's batch) are done once, by the restarted w1.
    let done_by_w1 = done_by_w1.lock().unwrap().clone();
    let redone: HashSet<usize> = stranded
        .iter()
        .copied()
        .filter(|id| done_by_w1.contains(id))
        .collect();
    eprintln!(
        "w1 killed after doing {} jobs, with {} in its processing list, {} of them done",
        done_by_w1.len(),
        stranded.len(),
        redone.len()
    );

    // Restarted under the same id, w1 takes back its processing list first.
    let client = Client::connect(&url).await.unwrap();
    let worker = WorkQueue::new(&client, "jobs")
        .reliable_worker("w1")
        .await
        .unwrap();
    workers.insert(1, run_reliable(worker, ledger.clone()));

    for producer in producers {
        producer.await.unwrap();
    }
    ledger
        .wait_all(Duration::from_secs(60), |id| {
            if redone.contains(&id) { 2 } else { 1 }
        })
        .await;
    workers.iter().for_each(JoinHandle::abort);
    assert_drained(&url, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_jobs_are_recovered_by_the_others() {
    const JOBS: usize = 5_000;
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    let queue = WorkQueue::new(&client, "jobs");
    let ledger = Ledger::new(JOBS);
    queue.push_many(0..JOBS).unwrap();

    // A worker takes a few jobs and dies without acknowledging them.
    let mut doomed = queue.reliable_worker("doomed").await.unwrap().batch_size(8);
    for _ in 0..5 {
        doomed.next().await.unwrap();
    }
    assert_eq!(doomed.unacknowledged(), 5);
    drop(doomed);
    let stranded = client.llen(queue.processing_key("doomed")).await.unwrap();
    assert_eq!(stranded, 8, "a whole batch was moved");

    let survivor = queue.reliable_worker("survivor").await.unwrap();
    let task = run_reliable(survivor, ledger.clone());
    // The survivor drains the queue; the dead worker's jobs wait in its list...
    let deadline = Instant::now() + Duration::from_secs(30);
    while ledger.distinct.load(SeqCst) < JOBS - 8 {
        assert!(
            Instant::now() < deadline,
            "survivor stuck at {}",
            ledger.distinct.load(SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(ledger.distinct.load(SeqCst), JOBS - 8);
    // ... until recovered, which wakes the survivor.
    assert_eq!(queue.recover("doomed").await.unwrap(), 8);
    ledger.wait_all_exactly_once(Duration::from_secs(10)).await;
    task.abort();
    assert_drained(&server.url(), &["doomed".into(), "survivor".into()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_connections_lose_no_job_in_reliable_mode() {
    const JOBS: usize = 100_000;
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let ledger = Ledger::new(JOBS);
    let ids: Vec<String> = (0..WORKERS).map(|w| format!("w{w}")).collect();
    let mut workers = Vec::new();
    let mut clients = Vec::new();
    let stop = Arc::new(tokio::sync::Notify::new());
    for id in &ids {
        // The workers' connections, the subscriber's included, go through the proxy.
        let client = Client::connect(&proxy.url()).await.unwrap();
        let worker = WorkQueue::new(&client, "jobs")
            .reliable_worker(id)
            .await
            .unwrap();
        workers.push(run_reliable_until(worker, ledger.clone(), stop.clone()));
        clients.push(client);
    }
    let producers = produce(&server.url(), JOBS, None).await;
    for fraction in [5, 2] {
        while ledger.distinct.load(SeqCst) < JOBS / fraction {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        proxy.cut(CutMode::Reset);
    }
    for producer in producers {
        producer.await.unwrap();
    }
    ledger.wait_all_exactly_once(Duration::from_secs(60)).await;
    // notify_waiters reaches only a worker waiting right now: tell until all end.
    for worker in workers {
        while !worker.is_finished() {
            stop.notify_waiters();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        worker.await.unwrap();
    }
    assert_drained(&server.url(), &ids).await;
    for client in &clients {
        // Both cuts reached both connections of every worker.
        assert!(client.stats().reconnects >= 2, "{:?}", client.stats());
        assert!(client.subscriber_stats().reconnects >= 2);
    }
}

/// A plain worker's loop that also publishes how many gaps the worker has lived
/// through. `next()` gets at most 20 ms at a time (it is cancel-safe), so the count
/// is published while the worker is idle too.
fn run_worker_counting_gaps(
    mut worker: Worker,
    ledger: Arc<Ledger>,
    gaps: Arc<AtomicU64>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Ok(job) = tokio::time::timeout(Duration::from_millis(20), worker.next()).await {
                ledger.record(&job.unwrap());
            }
            gaps.store(worker.gaps(), SeqCst);
        }
    })
}

/// Polls `done` every 5 ms until it holds, failing the test after 10 s.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "still waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_subscriber_connections_lose_no_job() {
    for protocol in ["resp2", "resp3"] {
        let server = RedisServer::start().unwrap();
        kill_subscribers_mid_run(&server.url(), protocol).await;
    }
}

/// 4 producers and 4 plain workers, 100,000 jobs; the server kills the workers'
/// subscriber connections twice mid-run (`CLIENT KILL TYPE pubsub`) and nothing
/// else. Every job is processed once, and every subscriber comes back each time.
async fn kill_subscribers_mid_run(url: &str, protocol: &str) {
    const JOBS: usize = 100_000;
    let admin = Client::connect(url).await.unwrap();
    let ledger = Ledger::new(JOBS);
    let mut workers = Vec::new();
    let mut watched = Vec::new();
    for _ in 0..WORKERS {
        let client = Client::connect(&format!("{url}?protocol={protocol}"))
            .await
            .unwrap();
        let worker = WorkQueue::new(&client, "jobs").worker().await.unwrap();
        let gaps = Arc::new(AtomicU64::new(0));
        workers.push(run_worker_counting_gaps(
            worker,
            ledger.clone(),
            gaps.clone(),
        ));
        watched.push((client, gaps));
    }
    // The producers may push 40% of the jobs at first, and 30% more after each
    // kill: both kills come with jobs still to push, whatever the machine's speed.
    let gate = Arc::new(Semaphore::new(JOBS * 2 / 5));
    let producers = produce(url, JOBS, Some(gate.clone())).await;
    for (kills_before, kill_at) in [(0, JOBS / 5), (1, JOBS / 2)] {
        wait_until("jobs to be processed", || {
            ledger.distinct.load(SeqCst) >= kill_at
        })
        .await;
        // Every subscriber is back from the kills before, and its worker was told
        // the gap: this kill reaches all four, and its gap is not folded into an
        // earlier one.
        wait_until("the subscribers to be back", || {
            watched.iter().all(|(client, gaps)| {
                let stats = client.subscriber_stats();
                stats.connected
                    && stats.reconnects >= kills_before
                    && gaps.load(SeqCst) >= kills_before
            })
        })
        .await;
        // The real fault, through the server: only subscriber connections go.
        let killed = admin
            .client_kill(ClientKill::new().type_(ClientType::PubSub))
            .await
            .unwrap();
        assert_eq!(
            killed, WORKERS as u64,
            "{protocol}: one subscriber per worker killed"
        );
        // Pushed while the subscribers are down or resubscribing: their wake-ups
        // reach nobody, and a later wake-up or the drain after the gap must find
        // the jobs.
        gate.add_permits(JOBS * 3 / 10);
    }
    for producer in producers {
        producer.await.unwrap();
    }
    ledger.wait_all_exactly_once(Duration::from_secs(60)).await;
    // Each subscriber came back from both kills and told its worker both gaps.
    wait_until("every worker to see two gaps", || {
        watched.iter().all(|(_, gaps)| gaps.load(SeqCst) >= 2)
    })
    .await;
    for (client, _) in &watched {
        let stats = client.subscriber_stats();
        assert!(
            stats.connected && stats.reconnects >= 2,
            "{protocol}: {stats:?}"
        );
        assert_eq!(
            client.stats().reconnects,
            0,
            "the shared connections were never touched"
        );
    }
    workers.iter().for_each(JoinHandle::abort);
    assert_drained(url, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wake_ups_lost_while_the_subscriber_is_down_are_made_up_by_the_gap() {
    const JOBS: usize = 1_000;
    let server = RedisServer::start().unwrap();
    let proxy = FaultProxy::start(server.addr()).unwrap();
    let ledger = Ledger::new(JOBS);
    let processed = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    let mut gap_watch = Vec::new();
    for _ in 0..WORKERS {
        let client = Client::connect(&proxy.url()).await.unwrap();
        let worker = WorkQueue::new(&client, "jobs").worker().await.unwrap();
        let (ledger, processed) = (ledger.clone(), processed.clone());
        let (gaps_tx, gaps_rx) = tokio::sync::watch::channel(0);
        gap_watch.push(gaps_rx);
        workers.push(tokio::spawn(async move {
            let mut worker = worker;
            loop {
                let job = worker.next().await.unwrap();
                ledger.record(&job);
                processed.fetch_add(1, Relaxed);
                gaps_tx.send_replace(worker.gaps());
            }
        }));
    }
    // Let the workers find the list empty and wait for wake-ups; then cut them off
    // and keep them off.
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.refuse(true);
    proxy.cut(CutMode::Reset);
    let producer = Client::connect(&server.url()).await.unwrap();
    let queue = WorkQueue::new(&producer, "jobs");
    for id in 0..JOBS {
        queue.push(id).unwrap();
    }
    // Nobody was subscribed: every one of those wake-ups is gone.
    let receivers: u64 = producer.publish(queue.wake_channel(), "").await.unwrap();
    assert_eq!(receivers, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(processed.load(Relaxed), 0);

    // Back: each subscriber resubscribes, tells its worker of the gap, and the worker
    // drains the list, with no new wake-up published.
    proxy.resume();
    ledger.wait_all_exactly_once(Duration::from_secs(30)).await;
    workers.iter().for_each(JoinHandle::abort);
    assert_eq!(queue.len().await.unwrap(), 0);
    let saw_gap = gap_watch.iter().filter(|rx| *rx.borrow() > 0).count();
    assert!(
        saw_gap >= 1,
        "the workers that took jobs did so after a gap"
    );
}

#[tokio::test]
async fn blocking_pops_are_refused_and_the_error_names_the_work_queue() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    let e = client
        .command::<redmux::Value>(redmux::cmd("BLPOP").arg("jobs").arg(0))
        .await
        .unwrap_err();
    assert!(matches!(e, redmux::Error::BlockingCommandRefused { .. }));
    assert!(e.to_string().contains("WorkQueue"), "{e}");
}

#[tokio::test]
async fn jobs_come_out_oldest_first_and_the_keys_are_where_the_docs_say() {
    let server = RedisServer::start().unwrap();
    let client = Client::connect(&server.url()).await.unwrap();
    let queue = WorkQueue::new(&client, "mail");
    assert_eq!((queue.key(), queue.wake_channel()), ("mail", "mail:wake"));
    assert_eq!(queue.processing_key("a"), "{mail}:processing:a");
    assert_eq!(
        WorkQueue::new(&client, "q{x}").processing_key("a"),
        "q{x}:processing:a"
    );

    let mut worker = queue.worker().await.unwrap().batch_size(2);
    queue.push("first").unwrap();
    queue.push_many(["second", "third"]).unwrap();
    queue.push_many(Vec::<String>::new()).unwrap();
    for want in ["first", "second", "third"] {
        let job = tokio::time::timeout(Duration::from_secs(5), worker.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.payload_str(), Some(want));
    }

    let mut reliable = queue.reliable_worker("a").await.unwrap();
    queue.push_many(["x", "y"]).unwrap();
    let x = tokio::time::timeout(Duration::from_secs(5), reliable.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(x.payload_str(), Some("x"));
    assert_eq!(
        client.llen("{mail}:processing:a").await.unwrap(),
        2,
        "both moved in one batch"
    );
    reliable.ack(&x);
    reliable.ack(&x); // a second ack does nothing more
    reliable.flush_acks().await.unwrap();
    assert_eq!(client.llen("{mail}:processing:a").await.unwrap(), 1);
    let y = reliable.next().await.unwrap();
    assert_eq!((y.payload_str(), reliable.unacknowledged()), (Some("y"), 1));

    // Cancelling next() in a select! loses nothing: the pop in flight is kept.
    let mut worker = queue.worker().await.unwrap();
    for _ in 0..50 {
        tokio::select! {
            biased;
            _ = tokio::task::yield_now() => {}
            _ = worker.next() => panic!("the queue is empty"),
        }
    }
    queue.push("late").unwrap();
    let job = tokio::time::timeout(Duration::from_secs(5), worker.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.payload_str(), Some("late"));
}
