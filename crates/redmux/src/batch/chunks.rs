//! The batch engine: pulls commands from a source, cuts them into chunks, keeps a
//! window of chunks in flight, and hands back their results in order.
//!
//! Each chunk goes to the multiplexer as one [`Group`], so its
//! commands are written back to back; every command's slot points into the chunk's
//! [`Collector`], one allocation per chunk rather than a channel per command.
//! Memory is bounded by the window: at most `window` chunks are queued, in flight,
//! or waiting to be read by the consumer.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use redmux_resp::Value;
use tokio::time::{Instant, Sleep};

use super::{Item, Options, ScriptsSent};
use crate::cache::OwnWrite;
use crate::client::Client;
use crate::error::{Error, Result, ServerError};
use crate::mux::{Collector, Group};

/// A chunk queued or in flight.
struct Chunk {
    collector: Arc<Collector>,
    /// On a cluster: the commands, kept to send again those a node refused.
    resend: super::cluster::Resend,
    /// The replies, held while the refused commands are sent again.
    held: Option<(Vec<Option<Result<Value>>>, super::cluster::Fixing)>,
    /// The first command's sequence number in the queue (0 when nothing was queued).
    first_seq: u64,
    /// The position in the batch of the chunk's first command.
    base: usize,
    deadline: Instant,
}

impl std::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunk")
            .field("first_seq", &self.first_seq)
            .field("base", &self.base)
            .field("resending", &self.held.is_some())
            .finish_non_exhaustive()
    }
}

/// Waiting for room in a full queue.
type Room = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The engine behind [`super::Batch`] and [`super::BatchStream`].
pub(crate) struct Chunks {
    client: Client,
    options: Options,
    timeout: Duration,
    /// Commands pulled from the source for the next chunk.
    staged: Vec<Item>,
    staged_bytes: usize,
    /// The source has no more commands.
    exhausted: bool,
    in_flight: VecDeque<Chunk>,
    /// The results of the oldest finished chunk, not yet handed out.
    ready: std::vec::IntoIter<Result<Value>>,
    /// Fires at the oldest chunk's deadline.
    timer: Option<(Instant, Pin<Box<Sleep>>)>,
    /// Waiting for room, until the deadline the first wait set.
    room: Option<(Instant, Room)>,
    /// The position in the batch of the next command pulled.
    next_index: usize,
    /// On a cluster: a chunk needed commands sent again, so no new chunk goes out
    /// until every chunk in flight is answered and put right.
    resending: bool,
    /// On a cluster: the map the newest chunk was routed with. A chunk is not
    /// routed on another while older ones are in flight (see `batch::cluster`).
    routed_with: Option<crate::router::MapSeen>,
    /// The client has a client-side cache: each chunk's writes drop their keys'
    /// entries once queued. Looked up once per batch.
    own_writes: bool,
}

impl std::fmt::Debug for Chunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunks")
            .field("options", &self.options)
            .field("in_flight", &self.in_flight.len())
            .field("ready", &self.ready.len())
            .field("staged", &self.staged.len())
            .field("exhausted", &self.exhausted)
            .finish_non_exhaustive()
    }
}

impl Chunks {
    pub(crate) fn new(client: Client, options: Options) -> Self {
        let timeout = options.timeout.unwrap_or(client.config().command_timeout);
        Chunks {
            options,
            timeout,
            staged: Vec::new(),
            staged_bytes: 0,
            exhausted: false,
            in_flight: VecDeque::new(),
            ready: Vec::new().into_iter(),
            timer: None,
            room: None,
            next_index: 0,
            resending: false,
            routed_with: None,
            own_writes: client.config().client_cache.is_some(),
            client,
        }
    }

    pub(crate) fn set_options(&mut self, options: Options) {
        self.timeout = options
            .timeout
            .unwrap_or(self.client.config().command_timeout);
        self.options = options;
    }

    /// The next result in order, once its chunk is answered; `None` when the
    /// source is exhausted and every result was handed out.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        pull: &mut (impl FnMut(&mut Context<'_>) -> Poll<Option<Item>> + ?Sized),
    ) -> Poll<Option<Result<Value>>> {
        loop {
            // Keep the window full before handing anything out, so the server works
            // on the next chunks while the consumer deals with this one.
            self.fill(cx, pull);
            if let Some(result) = self.ready.next() {
                return Poll::Ready(Some(result));
            }
            let Some(front) = self.in_flight.front() else {
                let done = self.exhausted && self.staged.is_empty();
                return if done {
                    Poll::Ready(None)
                } else {
                    Poll::Pending
                };
            };
            let collector = front.collector.clone();
            let replies = if let Some(front) = self.in_flight.front_mut()
                && let Some((_, fixing)) = &mut front.held
            {
                // Commands a cluster node refused, sent again: their replies go
                // in their places.
                let Poll::Ready(fixed) = fixing.as_mut().poll(cx) else {
                    return Poll::Pending;
                };
                let mut replies = front.held.take().map(|(r, _)| r).unwrap_or_default();
                for (i, reply) in fixed {
                    if let Some(place) = replies.get_mut(i) {
                        *place = Some(reply);
                    }
                }
                replies
            } else {
                let replies = match collector.poll_complete(cx) {
                    Poll::Ready(replies) => replies,
                    Poll::Pending => {
                        if !self.deadline_passed(cx) {
                            return Poll::Pending;
                        }
                        collector.take_partial()
                    }
                };
                if let Some(cluster) = self.client.router().as_cluster()
                    && let Some(front) = self.in_flight.front_mut()
                    && super::cluster::needs_fixing(&replies, &front.resend)
                {
                    let fixing = super::cluster::fix(
                        cluster.clone(),
                        &replies,
                        &mut front.resend,
                        front.deadline,
                    );
                    front.held = Some((replies, fixing));
                    // Until every chunk already sent is answered and put right, no
                    // new one goes out: its commands could otherwise run before
                    // this chunk's, sent again, on the same key.
                    self.resending = true;
                    continue;
                }
                replies
            };
            let chunk = self.in_flight.pop_front();
            if let Some(chunk) = chunk {
                let results: Vec<Result<Value>> = replies
                    .into_iter()
                    .enumerate()
                    .map(|(i, outcome)| self.resolve(&chunk, i, outcome))
                    .collect();
                self.ready = results.into_iter();
            }
        }
    }

    /// Pulls commands and queues chunks until the window is full or the source
    /// has nothing ready.
    pub(crate) fn fill(
        &mut self,
        cx: &mut Context<'_>,
        pull: &mut (impl FnMut(&mut Context<'_>) -> Poll<Option<Item>> + ?Sized),
    ) {
        loop {
            let occupied = self.in_flight.len() + usize::from(self.ready.len() > 0);
            if occupied >= self.options.window {
                return;
            }
            if self.resending {
                if !self.in_flight.is_empty() {
                    return;
                }
                self.resending = false;
            }
            while !self.exhausted
                && self.staged.len() < self.options.chunk_commands
                && self.staged_bytes < self.options.chunk_bytes
            {
                match pull(cx) {
                    Poll::Ready(Some(item)) => {
                        self.staged_bytes += item.size();
                        self.staged.push(item);
                    }
                    Poll::Ready(None) => self.exhausted = true,
                    // A part chunk goes out now: holding it back for more would
                    // only add latency.
                    Poll::Pending => break,
                }
            }
            if self.staged.is_empty() {
                return;
            }
            // On a cluster, the chunk is routed with the map as it is now; if that
            // changed since the chunks in flight were routed, they are answered
            // (and their redirects followed) first, or a later command could
            // overtake an earlier one being redirected to the same node.
            let map = self.client.router().as_cluster().map(|c| c.map_seen());
            if let (Some(now), Some(seen)) = (&map, &self.routed_with)
                && !self.in_flight.is_empty()
                && !now.same(seen)
            {
                return;
            }
            if !self.has_room(cx) {
                return;
            }
            self.submit_staged(map);
        }
    }

    /// Whether the client's queue can take a chunk; if not, arranges a wakeup when
    /// it can (or when the batch's timeout has passed, and the chunk is queued anyway
    /// to fail as overloaded).
    fn has_room(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            let deadline = match &mut self.room {
                Some((deadline, room)) => {
                    if room.as_mut().poll(cx).is_pending() {
                        return false;
                    }
                    let deadline = *deadline;
                    self.room = None;
                    if Instant::now() >= deadline {
                        return true;
                    }
                    deadline
                }
                None => crate::mux::deadline(self.timeout),
            };
            // On a cluster a chunk is split over the primaries, so it waits while
            // any of them is at its bound: a group sent to a full queue would be
            // refused as overloaded. Room on the node waited for says nothing of
            // the others (nor of that node by now), so all are looked at again.
            let full = match self.client.router().as_cluster() {
                Some(cluster) => cluster.full_primary(),
                None => Some(self.client.node().clone()).filter(|node| !node.has_room()),
            };
            let Some(node) = full else {
                return true;
            };
            let room: Room = Box::pin(async move { node.wait_for_room(deadline).await });
            self.room = Some((deadline, room));
        }
    }

    /// Queues the staged commands as one chunk.
    fn submit_staged(&mut self, map: Option<crate::router::MapSeen>) {
        let items = std::mem::take(&mut self.staged);
        self.staged_bytes = 0;
        let count = items.len();
        let deadline = crate::mux::deadline(self.timeout);
        if let (Some(cluster), Some(map)) = (self.client.router().as_cluster(), map) {
            let collector = Collector::new(count);
            let resend =
                super::cluster::submit(cluster, items, &collector, deadline, self.own_writes, &map);
            self.routed_with = Some(map);
            self.in_flight.push_back(Chunk {
                collector,
                resend,
                held: None,
                first_seq: 0,
                base: self.next_index,
                deadline,
            });
            self.next_index += count;
            return;
        }
        let mut group = Group::new(count, deadline);
        let collector = group.collector().clone();
        let mut refused = Vec::new();
        let mut scripts = ScriptsSent::default();
        let mut own_write = if self.own_writes {
            OwnWrite::group(self.client.node())
        } else {
            None
        };
        for (i, item) in items.into_iter().enumerate() {
            if let Some(own_write) = &mut own_write {
                item.note_write(own_write);
            }
            match item.encode(&mut scripts) {
                Ok(bytes) => group.push(i, bytes),
                Err(e) => refused.push((i, e)),
            }
        }
        let mut first_seq = 0;
        if !group.is_empty() {
            match self.client.node().send_group(group) {
                Ok(seq) => first_seq = seq,
                Err(e) => collector.fail_all(&e),
            }
        }
        // Once queued: a fill registered before is made stale, one registered
        // after is queued after the chunk (`crate::cache`).
        if let Some(own_write) = own_write {
            own_write.apply();
        }
        for (i, e) in refused {
            collector.replace(i, Err(e));
        }
        self.in_flight.push_back(Chunk {
            collector,
            resend: Vec::new(),
            held: None,
            first_seq,
            base: self.next_index,
            deadline,
        });
        self.next_index += count;
    }

    /// Whether the oldest chunk's deadline has passed; if not, the timer is set
    /// to wake the task then.
    fn deadline_passed(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(front) = self.in_flight.front() else {
            return false;
        };
        let deadline = front.deadline;
        let timer = match &mut self.timer {
            Some((at, sleep)) => {
                if *at != deadline {
                    sleep.as_mut().reset(deadline);
                    *at = deadline;
                }
                sleep
            }
            none => {
                &mut none
                    .insert((deadline, Box::pin(tokio::time::sleep_until(deadline))))
                    .1
            }
        };
        timer.as_mut().poll(cx).is_ready()
    }

    /// One command's outcome as the batch reports it: error replies become errors,
    /// and a missing or expired reply a timeout with this client's diagnostics.
    fn resolve(&self, chunk: &Chunk, i: usize, outcome: Option<Result<Value>>) -> Result<Value> {
        match outcome {
            Some(Ok(value)) => match value.as_error() {
                Some(line) => Err(Error::Server(ServerError::parse(line))),
                None => Ok(value),
            },
            Some(Err(Error::Timeout(_))) | None => {
                let seq = if chunk.first_seq == 0 {
                    0
                } else {
                    chunk.first_seq + i as u64
                };
                Err(self.client.node().timeout_error(
                    &format!("command {} of a batch", chunk.base + i),
                    self.timeout,
                    seq,
                ))
            }
            Some(Err(e)) => Err(e),
        }
    }
}
