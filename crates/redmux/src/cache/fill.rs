//! A fill: the one read of a miss, sent in a group nothing can come between
//! (`CLIENT CACHING YES` in OPTIN mode, the read, `PTTL key`), and what becomes of
//! its replies: kept (unless the flight went stale), or not (an error, a refused
//! `CLIENT CACHING`, an unreadable `PTTL`); a cluster node's refusal (MOVED, ASK)
//! sends the read again through the cluster layer, uncached. It runs as a task of
//! its own, so a caller that gives up does not strand the others on the flight.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use redmux_resp::Value;

use super::Cache;
use super::commands::bulk_args;
use super::store::Flight;
use super::value::owned;
use crate::command::{Command, cmd};
use crate::error::{CommandStatus, Error, Result};
use crate::mux::{Collector, Group, Shared};
use crate::router::{Cluster, is_refusal, send_clustered};

/// One fill: the leader's read and what becomes of its reply.
pub(super) struct Fill {
    pub(super) cache: Arc<Cache>,
    pub(super) node: Arc<Shared>,
    pub(super) cluster: Option<Arc<Cluster>>,
    pub(super) flight: Arc<Flight>,
    pub(super) ttl: Duration,
    pub(super) timeout: Duration,
    pub(super) deadline: tokio::time::Instant,
    pub(super) name: String,
}

/// A fill dropped before it published (its task cancelled: the runtime shut down
/// mid-read) must not stay registered: every later miss of its key would join it
/// and wait for an outcome that never comes.
impl Drop for Fill {
    fn drop(&mut self) {
        if !self.flight.published() {
            self.cache.store.fill(&self.flight, None);
            self.flight.publish(Err(Error::protocol(
                "a cached read's fill was cancelled before its reply (its runtime shut down)",
            )));
        }
    }
}

/// A fill's group: sent, waiting for room, or refused.
pub(super) enum Sending {
    Sent(Arc<Collector>, Instant),
    Waiting(Group, Arc<Collector>),
    Refused(Error),
}

impl Fill {
    /// Where the read's reply is in the group (after `CLIENT CACHING YES` in OPTIN
    /// mode); `PTTL`'s follows it.
    fn read_at(&self) -> usize {
        usize::from(self.cache.settings.opt_in())
    }

    /// Builds the group and queues it now if there is room: the fill is already
    /// registered, so an invalidation from here on is seen.
    pub(super) fn send(&self, encoded: BytesMut) -> Sending {
        let at = self.read_at();
        let pttl = match bulk_args(&encoded).nth(1) {
            Some(key) => cmd("PTTL").arg(key).into_bytes(),
            None => return Sending::Refused(Error::protocol("a cached read lost its key")),
        };
        let mut group = Group::new(at + 2, self.deadline);
        if at == 1 {
            group.push(0, cmd("CLIENT").arg("CACHING").arg("YES").into_bytes());
        }
        group.push(at, encoded);
        group.push(at + 1, pttl);
        let collector = group.collector().clone();
        if !self.node.has_room() {
            return Sending::Waiting(group, collector);
        }
        let sent_at = Instant::now();
        match self.node.send_group(group) {
            Ok(_) => Sending::Sent(collector, sent_at),
            Err(e) => Sending::Refused(e),
        }
    }

    /// Waits for the replies, keeps what may be kept, and tells every waiter.
    pub(super) async fn finish(self, sending: Sending) {
        let outcome = self.gather(sending).await;
        self.flight.publish(outcome);
    }

    async fn gather(&self, sending: Sending) -> Result<Value> {
        let (collector, sent_at) = match sending {
            Sending::Sent(collector, sent_at) => (collector, sent_at),
            Sending::Waiting(group, collector) => {
                self.node.wait_for_room(self.deadline).await;
                let sent_at = Instant::now();
                if let Err(e) = self.node.send_group(group) {
                    self.cache.store.fill(&self.flight, None);
                    return Err(e);
                }
                (collector, sent_at)
            }
            Sending::Refused(e) => {
                self.cache.store.fill(&self.flight, None);
                return Err(e);
            }
        };
        let replies = std::future::poll_fn(|cx| collector.poll_complete(cx));
        let Ok(mut replies) = tokio::time::timeout_at(self.deadline, replies).await else {
            self.cache.store.fill(&self.flight, None);
            return Err(self
                .node
                .timeout_error_as(&self.name, self.timeout, CommandStatus::Sent));
        };
        let at = self.read_at();
        let pttl = replies.get_mut(at + 1).and_then(Option::take);
        let caching = if at == 1 {
            replies.first_mut().and_then(Option::take)
        } else {
            Some(Ok(Value::Nil))
        };
        let read = replies.get_mut(at).and_then(Option::take);
        let read = match read {
            Some(Ok(value)) => value,
            Some(Err(e)) => {
                self.cache.store.fill(&self.flight, None);
                return Err(e);
            }
            None => {
                self.cache.store.fill(&self.flight, None);
                return Err(Error::protocol("no reply to a cached read"));
            }
        };
        if read.as_error().is_some() {
            self.cache.store.fill(&self.flight, None);
            if let Some(cluster) = &self.cluster
                && is_refusal(&read)
            {
                return self.resend(cluster.clone()).await;
            }
            return Ok(read);
        }
        let tracked = matches!(caching, Some(Ok(ref v)) if v.as_error().is_none());
        let expires = match pttl {
            // The key's own life, counted from before the read was sent: the
            // server's clock started later, so the entry never outlives the key.
            Some(Ok(Value::Integer(ms))) if ms >= 0 => {
                Some(sent_at + self.ttl.min(Duration::from_millis(ms.unsigned_abs())))
            }
            Some(Ok(Value::Integer(_))) => Some(sent_at + self.ttl),
            _ => None,
        };
        let keep = match expires {
            Some(expires) if tracked => Some((owned(read.clone()), expires)),
            _ => None,
        };
        self.cache.store.fill(&self.flight, keep);
        Ok(read)
    }

    /// A cluster node refused the read (MOVED, ASK, ...): the cluster layer sends
    /// it again where it belongs, uncached.
    async fn resend(&self, cluster: Arc<Cluster>) -> Result<Value> {
        let left = self
            .deadline
            .saturating_duration_since(tokio::time::Instant::now());
        let Some(command) = self.command() else {
            return Err(Error::protocol("a cached read could not be rebuilt"));
        };
        send_clustered(cluster, command, Some(left), crate::Flags::NONE).await
    }

    /// The read as a command again, from the flight's encoded form.
    fn command(&self) -> Option<Command> {
        let encoded = self.flight.request();
        let mut args = bulk_args(encoded);
        let name = std::str::from_utf8(args.next()?).ok()?;
        let mut command = cmd(name).key(args.next()?);
        for arg in args {
            command = command.arg(arg);
        }
        Some(command)
    }
}
