//! [`Worker`]: takes jobs with `RPOP key count`, woken by pub/sub.

use std::collections::VecDeque;
use std::pin::Pin;

use bytes::Bytes;

use super::{Job, RETRY_DELAY, Wakeups, WorkQueue};
use crate::error::{CommandStatus, Result};
use crate::request::Response;

/// Jobs popped per round trip unless told otherwise.
const DEFAULT_BATCH: u64 = 100;

/// A worker that pops jobs in batches with `RPOP key count`, from
/// [`WorkQueue::worker`].
///
/// It drains the list when it starts, after each wake-up, and after each reconnect,
/// so no job waits for a wake-up that was lost. Jobs come out oldest first; several
/// workers share the list, each job going to one of them.
///
/// A job is gone from Redis once popped: if the worker dies with popped jobs not
/// done, or the connection breaks while a pop's reply is on its way, those jobs are
/// lost (at most once). Use a [`ReliableWorker`](super::ReliableWorker) when that
/// matters.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// let queue = redmux::WorkQueue::new(&client, "emails");
/// let mut worker = queue.worker().await?.batch_size(50);
/// loop {
///     let job = worker.next().await?;
///     println!("{:?}", job.payload_str());
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Worker {
    queue: WorkQueue,
    wakeups: Wakeups,
    /// Popped and not handed out yet.
    popped: VecDeque<Bytes>,
    /// A pop whose reply is still coming, kept across a cancelled `next()`.
    in_flight: Option<Pin<Box<Response<Vec<Bytes>>>>>,
    batch: u64,
}

impl Worker {
    pub(super) fn new(queue: WorkQueue, wakeups: Wakeups) -> Self {
        Worker {
            queue,
            wakeups,
            popped: VecDeque::new(),
            in_flight: None,
            batch: DEFAULT_BATCH,
        }
    }

    /// Jobs to pop per round trip (default 100, at least 1). Bigger batches pop
    /// faster; smaller ones spread jobs more evenly over workers and lose fewer if
    /// the worker dies.
    ///
    /// ```no_run
    /// # async fn run(queue: redmux::WorkQueue) -> redmux::Result<()> {
    /// let worker = queue.worker().await?.batch_size(10);
    /// # Ok(()) }
    /// ```
    pub fn batch_size(mut self, jobs: u64) -> Self {
        self.batch = jobs.max(1);
        self
    }

    /// The next job, waiting as long as it takes.
    ///
    /// Pops a batch when it has none left; on an empty list it waits for a wake-up.
    /// A failed pop (connection lost, timeout) is tried again after the reconnect.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Closed`] once the client is closed; a server error such as
    /// `WRONGTYPE` if the key is not a list.
    ///
    /// ```no_run
    /// # async fn run(mut worker: redmux::work_queue::Worker) -> redmux::Result<()> {
    /// let job = worker.next().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: a pop in flight when the future is dropped is kept, and the next
    /// call takes its reply, so using `next()` in a `select!` loses no job.
    pub async fn next(&mut self) -> Result<Job> {
        loop {
            if let Some(payload) = self.popped.pop_front() {
                return Ok(Job { payload });
            }
            let pop = match &mut self.in_flight {
                Some(pop) => pop,
                None => {
                    self.wakeups.clear();
                    let pop = self
                        .queue
                        .client
                        .rpop_count(&self.queue.key, self.batch)
                        .into_future();
                    self.in_flight.insert(Box::pin(pop))
                }
            };
            let popped = pop.as_mut().await;
            self.in_flight = None;
            match popped {
                // RPOP with a count gives the tail first: the oldest job first.
                Ok(jobs) if !jobs.is_empty() => self.popped.extend(jobs),
                Ok(_) => self.wakeups.wait().await?,
                Err(e) if e.is_retryable() => {
                    if e.status() == CommandStatus::Sent {
                        tracing::warn!(error = %e, "a pop's reply was lost: the jobs it took, if any, are lost");
                    }
                    self.wakeups.wait_at_most(RETRY_DELAY).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reconnects (gaps) the worker lived through: each one made it drain the list.
    ///
    /// ```no_run
    /// # fn run(worker: redmux::work_queue::Worker) {
    /// println!("drained after {} reconnects", worker.gaps());
    /// # }
    /// ```
    pub fn gaps(&self) -> u64 {
        self.wakeups.gaps
    }

    /// The queue this worker takes from.
    ///
    /// ```no_run
    /// # async fn run(worker: redmux::work_queue::Worker) -> redmux::Result<()> {
    /// let waiting = worker.queue().len().await?;
    /// # Ok(()) }
    /// ```
    pub fn queue(&self) -> &WorkQueue {
        &self.queue
    }
}
