//! [`ReliableWorker`]: takes jobs with `LMOVE key processing RIGHT LEFT` and removes
//! them on acknowledgement, so a dead worker's jobs can be taken back.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use super::{Job, MOVES_PER_ROUND_TRIP, RETRY_DELAY, Wakeups, WorkQueue};
use crate::commands::Side;
use crate::error::{CommandStatus, Result};
use crate::request::Response;

/// Acknowledgements whose replies are not checked yet, past which `next()` waits
/// for the oldest: bounds the memory a worker that acks faster than the server
/// answers can hold.
const MAX_UNCONFIRMED_ACKS: usize = 1024;

/// A worker whose jobs stay in Redis until it acknowledges them, from
/// [`WorkQueue::reliable_worker`].
///
/// Each job is moved atomically from the queue to the worker's processing list
/// (`LMOVE name {name}:processing:<id> RIGHT LEFT`, several per round trip) and
/// removed from there by [`ack`](Self::ack) (`LREM`, sent at once without waiting;
/// the worker checks each reply and sends again an ack a lost connection may have
/// swallowed). A job is therefore always in the queue or in exactly one processing
/// list until it is acknowledged:
///
/// - a worker restarted under the same id takes back its unacknowledged jobs when
///   it starts;
/// - [`WorkQueue::recover`] moves a dead worker's jobs back to the queue;
/// - if the connection breaks while a move's reply is on its way, the worker reads
///   its processing list after the reconnect and takes the jobs it did not know it
///   had.
///
/// Delivery is at least once: a job whose work was done but whose ack never reached
/// the server (the process died first) is done again. Acknowledge right after the
/// work, and make the work idempotent where a repeat would hurt.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// let queue = redmux::WorkQueue::new(&client, "payments");
/// let mut worker = queue.reliable_worker("pod-7").await?;
/// loop {
///     let job = worker.next().await?;
///     // ... charge the card ...
///     worker.ack(&job);
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct ReliableWorker {
    queue: WorkQueue,
    processing: String,
    wakeups: Wakeups,
    /// Moved to the processing list and not handed out yet, oldest first.
    moved: VecDeque<Bytes>,
    /// Handed out and not acknowledged: a multiset, since payloads may repeat.
    unacked: HashMap<Bytes, usize>,
    /// Moves whose replies are still coming, kept across a cancelled `next()`.
    in_flight: VecDeque<Pin<Box<Response<Option<Bytes>>>>>,
    /// Acknowledgements sent and not confirmed yet, oldest first.
    acks: VecDeque<(Bytes, Pin<Box<Response<u64>>>)>,
    /// The processing list may hold jobs this worker does not know of: at start
    /// (a previous worker with this id) and after a move's reply was lost.
    must_reconcile: bool,
    batch: usize,
}

impl ReliableWorker {
    pub(super) fn new(queue: WorkQueue, processing: String, wakeups: Wakeups) -> Self {
        ReliableWorker {
            queue,
            processing,
            wakeups,
            moved: VecDeque::new(),
            unacked: HashMap::new(),
            in_flight: VecDeque::new(),
            acks: VecDeque::new(),
            must_reconcile: true,
            batch: MOVES_PER_ROUND_TRIP / 4,
        }
    }

    /// Moves sent per round trip (default 16, at least 1). Jobs moved and not yet
    /// handed out sit in this worker's processing list, so other workers cannot take
    /// them: smaller batches share jobs more evenly.
    ///
    /// ```no_run
    /// # async fn run(queue: redmux::WorkQueue) -> redmux::Result<()> {
    /// let worker = queue.reliable_worker("pod-7").await?.batch_size(4);
    /// # Ok(()) }
    /// ```
    pub fn batch_size(mut self, jobs: usize) -> Self {
        self.batch = jobs.max(1);
        self
    }

    /// The next job, waiting as long as it takes. Acknowledge it with
    /// [`ack`](Self::ack) once done.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Closed`] once the client is closed; a server error such as
    /// `WRONGTYPE` if a key is not a list, of a move or of an earlier ack. A lost
    /// connection is waited out.
    ///
    /// ```no_run
    /// # async fn run(mut worker: redmux::work_queue::ReliableWorker) -> redmux::Result<()> {
    /// let job = worker.next().await?;
    /// worker.ack(&job);
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: moves in flight are kept and their replies taken by the next
    /// call. Even if the worker itself is dropped, the jobs it moved stay in its
    /// processing list for a restarted worker or [`WorkQueue::recover`].
    pub async fn next(&mut self) -> Result<Job> {
        self.check_acks()?;
        if self.acks.len() > MAX_UNCONFIRMED_ACKS {
            self.settle_acks(MAX_UNCONFIRMED_ACKS / 2).await?;
        }
        loop {
            if let Some(payload) = self.moved.pop_front() {
                *self.unacked.entry(payload.clone()).or_default() += 1;
                return Ok(Job { payload });
            }
            if self.in_flight.is_empty() {
                // Only with no move in flight: a move answered after the list was
                // read would hand its job out twice.
                if self.must_reconcile {
                    // Every ack confirmed first, so the list shows only jobs not done.
                    let settled = self.settle_acks(0).await;
                    match settled.and(self.reconcile().await) {
                        Ok(()) => continue,
                        Err(e) if e.is_retryable() => {
                            self.wakeups.wait_at_most(RETRY_DELAY).await?;
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
                self.wakeups.clear();
                for _ in 0..self.batch {
                    let request = self.queue.client.lmove(
                        &self.queue.key,
                        &self.processing,
                        Side::Right,
                        Side::Left,
                    );
                    self.in_flight.push_back(Box::pin(request.into_future()));
                }
            }
            let mut emptied = false;
            let mut failure = None;
            while let Some(reply) = self.in_flight.front_mut() {
                let reply = reply.as_mut().await;
                self.in_flight.pop_front();
                match reply {
                    Ok(Some(payload)) => self.moved.push_back(payload),
                    Ok(None) => emptied = true,
                    Err(e) => {
                        // Sent and unanswered: the job may be in the processing list.
                        if e.status() == CommandStatus::Sent {
                            self.must_reconcile = true;
                        }
                        failure = Some(e);
                    }
                }
            }
            if !self.moved.is_empty() || self.must_reconcile {
                continue;
            }
            match failure {
                Some(e) if e.is_retryable() => self.wakeups.wait_at_most(RETRY_DELAY).await?,
                Some(e) => return Err(e),
                None if emptied => {
                    // Idle: make sure every ack landed before waiting, so none
                    // swallowed by a lost connection waits for the next job.
                    self.settle_acks(0).await?;
                    self.wakeups.wait().await?;
                }
                None => {}
            }
        }
    }

    /// Acknowledges a job: removes it from the processing list with
    /// `LREM {name}:processing:<id> -1 job`, sent at once; returns without waiting.
    ///
    /// The worker checks the reply on later calls and sends the ack again if a lost
    /// connection may have swallowed it, so an acknowledged job is never handed out
    /// again by this worker. (Sending an ack twice removes one more copy of the
    /// payload only if the same payload was queued twice.) Call
    /// [`flush_acks`](Self::flush_acks) before shutting down to be sure every ack
    /// landed. Acknowledging a job twice does nothing more.
    ///
    /// ```no_run
    /// # async fn run(mut worker: redmux::work_queue::ReliableWorker) -> redmux::Result<()> {
    /// let job = worker.next().await?;
    /// // ... the work ...
    /// worker.ack(&job);
    /// # Ok(()) }
    /// ```
    pub fn ack(&mut self, job: &Job) {
        let Some(count) = self.unacked.get_mut(&job.payload) else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            self.unacked.remove(&job.payload);
        }
        let reply = self.send_ack(&job.payload);
        self.acks.push_back((job.payload.clone(), reply));
    }

    /// Waits until the server has confirmed every acknowledgement.
    ///
    /// # Errors
    ///
    /// The first ack refused by the server (`WRONGTYPE`), or [`crate::Error::Closed`].
    /// Lost connections are waited out and the acks sent again.
    ///
    /// ```no_run
    /// # async fn run(mut worker: redmux::work_queue::ReliableWorker) -> redmux::Result<()> {
    /// worker.flush_acks().await?;
    /// drop(worker); // nothing acknowledged is left in the processing list
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: unconfirmed acks stay with the worker.
    pub async fn flush_acks(&mut self) -> Result<()> {
        self.settle_acks(0).await
    }

    fn send_ack(&self, payload: &Bytes) -> Pin<Box<Response<u64>>> {
        // From the tail: the oldest jobs are there, and they are acked first.
        Box::pin(
            self.queue
                .client
                .lrem(&self.processing, -1, payload)
                .into_future(),
        )
    }

    /// Drops the confirmed acks at the front without waiting, and sends again the
    /// ones a lost connection swallowed.
    fn check_acks(&mut self) -> Result<()> {
        let mut cx = Context::from_waker(Waker::noop());
        while let Some((payload, reply)) = self.acks.front_mut() {
            match reply.as_mut().poll(&mut cx) {
                Poll::Pending => return Ok(()),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) if e.is_retryable() => {
                    let payload = payload.clone();
                    let retry = self.send_ack(&payload);
                    if let Some((_, reply)) = self.acks.front_mut() {
                        *reply = retry;
                    }
                    return Ok(());
                }
                Poll::Ready(Err(e)) => {
                    self.acks.pop_front();
                    return Err(e);
                }
            }
            self.acks.pop_front();
        }
        Ok(())
    }

    /// Waits until at most `keep` acks are unconfirmed, sending again the ones a
    /// lost connection swallowed.
    async fn settle_acks(&mut self, keep: usize) -> Result<()> {
        while self.acks.len() > keep {
            let Some((payload, reply)) = self.acks.front_mut() else {
                break;
            };
            match reply.as_mut().await {
                Ok(_) => {}
                Err(e) if e.is_retryable() => {
                    let payload = payload.clone();
                    let retry = self.send_ack(&payload);
                    if let Some((_, reply)) = self.acks.front_mut() {
                        *reply = retry;
                    }
                    // A plain sleep: a wake-up taken here would be lost to the
                    // caller, who may be about to wait for one.
                    tokio::time::sleep(RETRY_DELAY).await;
                    continue;
                }
                Err(e) => {
                    self.acks.pop_front();
                    return Err(e);
                }
            }
            self.acks.pop_front();
        }
        Ok(())
    }

    /// Reads the processing list and takes every job in it that this worker does
    /// not hold: a previous worker's with the same id, or moved by a command whose
    /// reply was lost.
    async fn reconcile(&mut self) -> Result<()> {
        let held: Vec<Bytes> = self.queue.client.lrange(&self.processing, 0, -1).await?;
        let mut known: HashMap<&Bytes, usize> = HashMap::new();
        for payload in self.moved.iter().chain(
            self.unacked
                .iter()
                .flat_map(|(p, n)| std::iter::repeat_n(p, *n)),
        ) {
            *known.entry(payload).or_default() += 1;
        }
        // The list's tail holds the oldest: take them in that order.
        let mut found = Vec::new();
        for payload in held.into_iter().rev() {
            match known.get_mut(&payload) {
                Some(n) if *n > 0 => *n -= 1,
                _ => found.push(payload),
            }
        }
        if !found.is_empty() {
            tracing::info!(
                jobs = found.len(),
                list = %self.processing,
                "took back unacknowledged jobs from the processing list"
            );
        }
        self.moved.extend(found);
        self.must_reconcile = false;
        Ok(())
    }

    /// Jobs handed out and not acknowledged yet.
    ///
    /// ```no_run
    /// # async fn run(mut worker: redmux::work_queue::ReliableWorker) -> redmux::Result<()> {
    /// let job = worker.next().await?;
    /// assert_eq!(worker.unacknowledged(), 1);
    /// worker.ack(&job);
    /// assert_eq!(worker.unacknowledged(), 0);
    /// # Ok(()) }
    /// ```
    pub fn unacknowledged(&self) -> usize {
        self.unacked.values().sum()
    }

    /// The processing list's key.
    ///
    /// ```no_run
    /// # async fn run(queue: redmux::WorkQueue) -> redmux::Result<()> {
    /// let worker = queue.reliable_worker("pod-7").await?;
    /// assert_eq!(worker.processing_key(), queue.processing_key("pod-7"));
    /// # Ok(()) }
    /// ```
    pub fn processing_key(&self) -> &str {
        &self.processing
    }

    /// Reconnects (gaps) the worker lived through: each one made it drain the list.
    ///
    /// ```no_run
    /// # fn run(worker: redmux::work_queue::ReliableWorker) {
    /// println!("drained after {} reconnects", worker.gaps());
    /// # }
    /// ```
    pub fn gaps(&self) -> u64 {
        self.wakeups.gaps
    }

    /// The queue this worker takes from.
    ///
    /// ```no_run
    /// # async fn run(worker: redmux::work_queue::ReliableWorker) -> redmux::Result<()> {
    /// let waiting = worker.queue().len().await?;
    /// # Ok(()) }
    /// ```
    pub fn queue(&self) -> &WorkQueue {
        &self.queue
    }
}
