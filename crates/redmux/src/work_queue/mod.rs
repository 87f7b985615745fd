//! [`WorkQueue`]: the notifier pattern in place of blocking pops.
//!
//! A blocking pop (`BLPOP`, `BRPOP`, `BLMOVE`) holds its connection until an item
//! comes, so on the shared connection it would stall every other caller; redmux
//! refuses it ([`crate::Error::BlockingCommandRefused`]). The work queue gets the same
//! result without blocking anything: the list holds the jobs, and a pub/sub message
//! only says "look again".
//!
//! - **Producers** `LPUSH` the job and `PUBLISH` an empty wake-up to `<name>:wake`,
//!   both fire-and-forget, in that order on one connection.
//! - **Workers** subscribe to the wake-ups, then drain the list: at start, on every
//!   wake-up and after every reconnect ([`crate::pubsub::Event::Gap`]), popping in
//!   batches until it is empty. The list holds the data, so a lost or coalesced
//!   wake-up never loses a job: the next drain finds it.
//!
//! Two kinds of worker:
//!
//! | | pops with | a job is gone from Redis | if the worker dies |
//! |---|---|---|---|
//! | [`Worker`] | `RPOP key count` | when popped | the jobs it popped and had not finished are lost (at most once) |
//! | [`ReliableWorker`] | `LMOVE key processing RIGHT LEFT` | when acknowledged (`LREM`) | they wait in its processing list; a restart with the same id, or [`WorkQueue::recover`], brings them back (at least once) |
//!
//! | file | owns |
//! |---|---|
//! | this file | [`WorkQueue`] (keys, `push`, `recover`), [`Job`], the wake-up listener |
//! | `worker.rs` | [`Worker`] |
//! | `reliable.rs` | [`ReliableWorker`] |

mod reliable;
mod worker;

use std::time::Duration;

use bytes::Bytes;
use redmux_resp::ToArg;

pub use reliable::ReliableWorker;
pub use worker::Worker;

use crate::client::Client;
use crate::commands::Side;
use crate::error::{Error, Result};
use crate::pubsub::{Event, Subscription};
use crate::request::{Request, Response};

/// Wake-ups a worker keeps unread: one is as good as a thousand (each means "drain"),
/// so a small buffer that drops the rest costs nothing.
const WAKEUP_BUFFER: usize = 64;

/// How long a worker waits before trying again after a failed pop, unless a wake-up
/// or the reconnect's gap comes first.
const RETRY_DELAY: Duration = Duration::from_millis(100);

/// LMOVEs sent back to back per round trip (when recovering, and by default per
/// reliable pop).
const MOVES_PER_ROUND_TRIP: usize = 64;

/// A job queue on a Redis list, woken by pub/sub instead of blocking pops.
///
/// Clone it freely: it is a client and three key names. The list is `name`; the
/// wake-up channel is `<name>:wake`; a reliable worker's processing list is
/// `{name}:processing:<id>` (or `<name>:processing:<id>` when `name` already has a
/// `{hash tag}`), in the list's cluster slot so `LMOVE` between them works on a
/// cluster too.
///
/// ```no_run
/// # async fn run() -> redmux::Result<()> {
/// let client = redmux::Client::connect("redis://127.0.0.1:6379").await?;
/// let queue = redmux::WorkQueue::new(&client, "emails");
///
/// // Producer: returns at once.
/// queue.push("to=alice@example.com")?;
///
/// // Worker: waits for jobs without blocking the shared connection.
/// let mut worker = queue.worker().await?;
/// loop {
///     let job = worker.next().await?;
///     println!("sending {:?}", job.payload_str());
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct WorkQueue {
    client: Client,
    key: String,
    wake_channel: String,
    processing_prefix: String,
}

impl WorkQueue {
    /// A queue on the list `name`, through `client` (cloned).
    ///
    /// ```no_run
    /// # fn run(client: redmux::Client) {
    /// let queue = redmux::WorkQueue::new(&client, "thumbnails");
    /// assert_eq!(queue.wake_channel(), "thumbnails:wake");
    /// # }
    /// ```
    pub fn new(client: &Client, name: &str) -> WorkQueue {
        let processing_prefix = if has_hash_tag(name) {
            format!("{name}:processing:")
        } else {
            format!("{{{name}}}:processing:")
        };
        WorkQueue {
            client: client.clone(),
            key: name.to_string(),
            wake_channel: format!("{name}:wake"),
            processing_prefix,
        }
    }

    /// The list's key.
    ///
    /// ```no_run
    /// # fn run(client: redmux::Client) {
    /// assert_eq!(redmux::WorkQueue::new(&client, "jobs").key(), "jobs");
    /// # }
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The channel wake-ups are published to.
    ///
    /// ```no_run
    /// # fn run(client: redmux::Client) {
    /// assert_eq!(redmux::WorkQueue::new(&client, "jobs").wake_channel(), "jobs:wake");
    /// # }
    /// ```
    pub fn wake_channel(&self) -> &str {
        &self.wake_channel
    }

    /// The processing list of the reliable worker with this id.
    ///
    /// ```no_run
    /// # fn run(client: redmux::Client) {
    /// let queue = redmux::WorkQueue::new(&client, "jobs");
    /// assert_eq!(queue.processing_key("w1"), "{jobs}:processing:w1");
    /// # }
    /// ```
    pub fn processing_key(&self, worker_id: &str) -> String {
        format!("{}{worker_id}", self.processing_prefix)
    }

    /// The client the queue uses.
    ///
    /// ```no_run
    /// # async fn run(queue: redmux::WorkQueue) -> redmux::Result<()> {
    /// let waiting: u64 = queue.client().llen(queue.key()).await?;
    /// # Ok(()) }
    /// ```
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Adds a job and wakes the workers: `LPUSH name job` then `PUBLISH name:wake ""`,
    /// both fire-and-forget. Returns at once.
    ///
    /// # Errors
    ///
    /// [`Error::Overloaded`] when the client's queue is full, [`Error::Closed`] when
    /// the client is closed: the job was not queued. Once the LPUSH is queued the
    /// call succeeds; should the wake-up then be refused, the job is still found by
    /// the next drain.
    ///
    /// ```no_run
    /// # fn run(queue: redmux::WorkQueue) -> redmux::Result<()> {
    /// for n in 0..1000 {
    ///     queue.push(format!("resize image {n}"))?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn push(&self, job: impl ToArg) -> Result<()> {
        self.client.lpush(&self.key, job).fire_and_forget()?;
        self.wake();
        Ok(())
    }

    /// Adds several jobs with one `LPUSH` and one wake-up; the first given is
    /// processed first. Does nothing for no jobs.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push).
    ///
    /// ```no_run
    /// # fn run(queue: redmux::WorkQueue) -> redmux::Result<()> {
    /// queue.push_many(["a", "b", "c"])?;
    /// # Ok(()) }
    /// ```
    pub fn push_many<J: ToArg>(&self, jobs: impl IntoIterator<Item = J>) -> Result<()> {
        let mut jobs = jobs.into_iter().peekable();
        if jobs.peek().is_none() {
            return Ok(());
        }
        self.client.lpush_many(&self.key, jobs).fire_and_forget()?;
        self.wake();
        Ok(())
    }

    /// Publishes a wake-up with no payload.
    fn wake(&self) {
        // Fire-and-forget after the LPUSH on the same connection: the server runs it
        // after the push, so a worker it wakes finds the job. If it cannot even be
        // queued (overload), the job is in the list and the next drain finds it.
        if let Err(e) = self
            .client
            .publish(&self.wake_channel, "")
            .fire_and_forget()
        {
            tracing::debug!(error = %e, "work queue wake-up not sent");
        }
    }

    /// Jobs waiting (not taken by any worker): `LLEN name`.
    ///
    /// ```no_run
    /// # async fn run(queue: redmux::WorkQueue) -> redmux::Result<()> {
    /// let backlog: u64 = queue.len().await?;
    /// # Ok(()) }
    /// ```
    #[allow(clippy::len_without_is_empty)] // a request, not a collection
    pub fn len(&self) -> Request<'_, u64> {
        self.client.llen(&self.key)
    }

    /// A worker that pops jobs with `RPOP name count` (at most once: see [`Worker`]).
    /// It is subscribed to the wake-ups when this returns.
    ///
    /// # Errors
    ///
    /// As [`Client::subscribe`].
    ///
    /// ```no_run
    /// # async fn run(queue: redmux::WorkQueue) -> redmux::Result<()> {
    /// let mut worker = queue.worker().await?;
    /// let job = worker.next().await?;
    /// # Ok(()) }
    /// ```
    pub async fn worker(&self) -> Result<Worker> {
        Ok(Worker::new(self.clone(), self.listen().await?))
    }

    /// A reliable worker with a stable id (a host name, a pod name, "worker-3"): it
    /// moves each job to its processing list `{name}:processing:<id>` and removes it
    /// when acknowledged. On start it takes back whatever a previous worker with the
    /// same id left there unacknowledged, so restarting a crashed worker under its
    /// old id loses nothing. Two live workers must never share an id.
    ///
    /// # Errors
    ///
    /// As [`Client::subscribe`].
    ///
    /// ```no_run
    /// # async fn run(queue: redmux::WorkQueue) -> redmux::Result<()> {
    /// let mut worker = queue.reliable_worker("host-a").await?;
    /// let job = worker.next().await?;
    /// // ... do the work, then:
    /// worker.ack(&job);
    /// # Ok(()) }
    /// ```
    pub async fn reliable_worker(&self, id: &str) -> Result<ReliableWorker> {
        let processing = self.processing_key(id);
        Ok(ReliableWorker::new(
            self.clone(),
            processing,
            self.listen().await?,
        ))
    }

    /// Moves everything in a dead worker's processing list back to the queue (to the
    /// end that is popped next, oldest first) and wakes the workers. Returns how
    /// many jobs were moved.
    ///
    /// Only for a worker that is gone for good: a live worker's jobs would be
    /// processed twice. (A worker restarted under its old id takes its jobs back by
    /// itself.)
    ///
    /// # Errors
    ///
    /// Any error of the `LMOVE`s; the jobs moved before it stay moved.
    ///
    /// ```no_run
    /// # async fn run(queue: redmux::WorkQueue) -> redmux::Result<()> {
    /// let moved = queue.recover("host-b").await?;
    /// println!("{moved} jobs of host-b are back in the queue");
    /// # Ok(()) }
    /// ```
    pub async fn recover(&self, worker_id: &str) -> Result<u64> {
        let processing = self.processing_key(worker_id);
        let mut moved = 0;
        loop {
            // Sent back to back, answered in one round trip. The newest job goes
            // first to the tail, so the oldest ends up where RPOP takes from.
            let batch: Vec<Response<Option<Bytes>>> = (0..MOVES_PER_ROUND_TRIP)
                .map(|_| {
                    self.client
                        .lmove(&processing, &self.key, Side::Left, Side::Right)
                        .into_future()
                })
                .collect();
            let mut emptied = false;
            for reply in batch {
                match reply.await? {
                    Some(_) => moved += 1,
                    None => emptied = true,
                }
            }
            if emptied {
                break;
            }
        }
        if moved > 0 {
            self.wake();
        }
        Ok(moved)
    }

    /// Subscribes to the wake-ups.
    async fn listen(&self) -> Result<Wakeups> {
        let subscription = self
            .client
            .subscribe(&self.wake_channel)
            .buffer(WAKEUP_BUFFER)
            .await?;
        Ok(Wakeups {
            subscription,
            gaps: 0,
        })
    }
}

/// One job taken from a [`WorkQueue`].
///
/// ```no_run
/// # async fn run(mut worker: redmux::work_queue::Worker) -> redmux::Result<()> {
/// let job = worker.next().await?;
/// let text = job.payload_str().unwrap_or("(binary)");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    payload: Bytes,
}

impl Job {
    /// The job as pushed.
    ///
    /// ```no_run
    /// # async fn run(mut worker: redmux::work_queue::Worker) -> redmux::Result<()> {
    /// let bytes: &[u8] = worker.next().await?.payload();
    /// # Ok(()) }
    /// ```
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The job, as UTF-8 text if it is.
    ///
    /// ```no_run
    /// # async fn run(mut worker: redmux::work_queue::Worker) -> redmux::Result<()> {
    /// let job = worker.next().await?;
    /// let text = job.payload_str().unwrap_or("(binary)");
    /// # Ok(()) }
    /// ```
    pub fn payload_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }

    /// Takes the payload out.
    ///
    /// ```no_run
    /// # async fn run(mut worker: redmux::work_queue::Worker) -> redmux::Result<()> {
    /// let payload: bytes::Bytes = worker.next().await?.into_payload();
    /// # Ok(()) }
    /// ```
    pub fn into_payload(self) -> Bytes {
        self.payload
    }
}

/// A worker's subscription to the wake-ups. Every event means the same thing: the
/// list may hold jobs now. A gap (reconnect) in particular means wake-ups may have
/// been lost, so the worker drains, as it does at start.
#[derive(Debug)]
struct Wakeups {
    subscription: Subscription,
    gaps: u64,
}

impl Wakeups {
    /// Forgets the wake-ups received so far: the drain about to start answers them
    /// (each was published after its job was pushed, so the drain will see the job).
    fn clear(&mut self) {
        while let Some(event) = self.subscription.try_next() {
            self.count(&event);
        }
    }

    /// Waits for the next wake-up (or gap). Cancel-safe.
    async fn wait(&mut self) -> Result<()> {
        match self.subscription.recv().await {
            Some(event) => {
                self.count(&event);
                Ok(())
            }
            None => Err(Error::Closed),
        }
    }

    /// Waits for a wake-up, or `delay`, whichever comes first.
    async fn wait_at_most(&mut self, delay: Duration) -> Result<()> {
        match tokio::time::timeout(delay, self.wait()).await {
            Ok(result) => result,
            Err(_) => Ok(()),
        }
    }

    fn count(&mut self, event: &Event) {
        if matches!(event, Event::Gap) {
            self.gaps += 1;
        }
    }
}

/// Whether a key has a non-empty `{hash tag}` that decides its cluster slot.
fn has_hash_tag(key: &str) -> bool {
    key.find('{')
        .and_then(|open| key[open + 1..].find('}'))
        .is_some_and(|len| len > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tags() {
        assert!(has_hash_tag("{jobs}"));
        assert!(has_hash_tag("q{x}y"));
        assert!(!has_hash_tag("jobs"));
        assert!(!has_hash_tag("{}jobs"));
        assert!(!has_hash_tag("jobs{"));
    }
}
