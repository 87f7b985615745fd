//! One command's trip through a cluster: to its slot's primary, following MOVED
//! and ASK, waiting out TRYAGAIN, CLUSTERDOWN and a failover within its timeout.
//!
//! A redirect is a refusal: the command did not run, so it is resent. A command
//! its node never wrote (the node's connection was down: "not sent") is routed
//! again once the map is refreshed. A command written to a node whose connection
//! was then lost fails "sent, may have run" and is never resent.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use redmux_resp::Value;
use tokio::time::Instant;

use super::Cluster;
use super::redirect::Redirect;
use super::replicas::ReadFrom;
use super::topology::NodeAddr;
use crate::command::{Command, KeySlot};
use crate::error::{CommandStatus, Error, Result};
use crate::mux::{Group, SenderDropped, Shared, Ticket};

/// Redirects (MOVED, ASK, READONLY) one command may follow before its last
/// reply is given to the caller as it is.
const MAX_REDIRECTS: u32 = 5;

/// What one attempt on one node came to.
enum Attempt {
    /// The node answered (maybe with a redirect).
    Reply(Value),
    /// The node never wrote it: safe to route again.
    NotSent(Error),
    /// It failed in a way a resend could not fix, or might repeat: the caller's.
    Failed(Error),
}

/// Sends `command` to one node, once, without following redirects: for a part
/// of a command spread over every primary.
pub(crate) async fn to_node(
    node: std::sync::Arc<Shared>,
    command: Command,
    timeout: Duration,
) -> Result<Value> {
    let deadline = crate::mux::deadline(timeout);
    match once(&node, &command, timeout, deadline, true).await {
        Attempt::Reply(reply) => Ok(reply),
        Attempt::NotSent(e) | Attempt::Failed(e) => Err(e),
    }
}

/// Sends `command` to the node that owns its slot (or, as `read` asks, one of
/// its replicas) and resolves to the reply.
pub(crate) async fn to_slot(
    cluster: std::sync::Arc<Cluster>,
    command: Command,
    timeout: Duration,
    read: ReadFrom,
) -> Result<Value> {
    let deadline = crate::mux::deadline(timeout);
    let slot = match command.slot_with(&cluster.specs) {
        KeySlot::One(slot) => Some(slot),
        KeySlot::Keyless | KeySlot::Unknown => None,
        KeySlot::Cross => {
            return Err(Error::CrossSlot {
                command: command.name().to_ascii_uppercase(),
            });
        }
    };
    if read != ReadFrom::Primary {
        // The first replica read connects the replicas (once per client).
        // Boxed, as the other rare paths below: inline it would size every
        // command's future.
        Box::pin(cluster.want_replicas(deadline)).await;
    }
    let trip = Trip {
        cluster,
        command,
        timeout,
        deadline,
        read,
    };
    follow(trip, slot, None).await
}

/// Takes over a command the fast path sent straight to its slot's primary
/// (`node`), whose first try came to `first`: a redirect, or a refusal that says
/// it was never written. It is followed from there as [`to_slot`] would have,
/// from `kept`, its bytes as the node gave them back. When it cannot be (its
/// bytes did not come back, or the client is gone), `first` is given back.
pub(crate) fn resume(
    node: &Arc<Shared>,
    kept: Option<BytesMut>,
    slot: u16,
    timeout: Duration,
    deadline: Instant,
    first: Result<Value>,
) -> std::result::Result<BoxedReply, Result<Value>> {
    let cluster = match Cluster::owning(node) {
        Some(cluster) => cluster,
        None => return Err(first),
    };
    let Some(command) = kept.and_then(Command::from_encoded) else {
        return Err(first);
    };
    let attempt = match first {
        Ok(reply) => Attempt::Reply(reply),
        Err(e) => classify(e),
    };
    let trip = Trip {
        cluster,
        command,
        timeout,
        deadline,
        read: ReadFrom::Primary,
    };
    Ok(Box::pin(follow(
        trip,
        Some(slot),
        Some((attempt, host_of(node))),
    )))
}

/// Whether a fast-path command's first outcome is one [`resume`] follows: a
/// redirect, or an error that says it was never written.
pub(crate) fn is_resumable(outcome: &Result<Value>) -> bool {
    match outcome {
        Ok(reply) => Redirect::of(reply).is_some(),
        Err(e) => is_unsent(e),
    }
}

/// Where a block of commands the cluster refused as a whole goes next. A
/// transaction cannot follow a redirect command by command: its first commands
/// were watched or queued on the node that refused it, and nothing of it ran
/// there. It is sent again, whole (see `transaction/cluster.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlockRetry {
    /// `ASK`: its keys are mid-migration and already on the importing node,
    /// which the map does not name yet (it changes only when the migration
    /// ends). The block goes there, each command sent outside MULTI after an
    /// `ASKING` of its own.
    Ask(NodeAddr),
    /// `MOVED`, `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, `READONLY`: to the slot's
    /// owner once the map is refreshed.
    Owner,
}

impl BlockRetry {
    /// What `refusal`, answered by `answered`, asks for; `None` when it is not a
    /// cluster's refusal.
    pub(crate) fn of(refusal: &crate::ServerError, answered: &Shared) -> Option<BlockRetry> {
        Some(match Redirect::of_line(refusal.line())? {
            Redirect::Ask { to } => BlockRetry::Ask(answered_by(to, &host_of(answered))),
            Redirect::Moved { .. } | Redirect::Retry | Redirect::Stale => BlockRetry::Owner,
        })
    }
}

type BoxedReply = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value>> + Send>>;

/// One command's trip through the cluster, what stays the same from try to try.
struct Trip {
    cluster: Arc<Cluster>,
    command: Command,
    timeout: Duration,
    deadline: Instant,
    read: ReadFrom,
}

/// Tries `trip`'s command (on `slot`'s node, any primary's for `None`) until it
/// gets a reply that is not a redirect, fails in a way a resend could not fix,
/// or runs out of time; `done` is a first try made already, with the host it
/// went to.
async fn follow(
    trip: Trip,
    mut slot: Option<u16>,
    mut done: Option<(Attempt, Option<String>)>,
) -> Result<Value> {
    let Trip {
        cluster,
        command,
        timeout,
        deadline,
        read,
    } = trip;
    let mut ask: Option<NodeAddr> = None;
    let mut redirects = 0;
    let mut pause = Duration::from_millis(10);
    // A replica demanded and none up: a refresh (which also follows a MOVED) may
    // name new ones, so one is waited for, once, before giving up.
    let mut awaited_map = false;
    // The first try is queued right after its deadline was set, in the caller's
    // order, so the multiplexer's sweep can time it (see `once`).
    let mut first = done.is_none();
    loop {
        let generation = cluster.generation();
        let (attempt, asked) = match done.take() {
            Some(done) => done,
            None => match ask.take() {
                // The rare paths' futures are boxed where they are awaited: inline,
                // the largest of them (a connection to a new node) would size the
                // state of every command's future, which is boxed whole per command.
                Some(to) => match Box::pin(cluster.node_at(&to)).await {
                    Ok(node) => (
                        Box::pin(asking(&node, &command, deadline)).await,
                        host_of(&node),
                    ),
                    Err(e) => (Attempt::NotSent(e), None),
                },
                None => match cluster.pick(slot, read) {
                    Ok(Some(node)) => (
                        once(&node, &command, timeout, deadline, first).await,
                        host_of(&node),
                    ),
                    Ok(None) => (
                        Attempt::NotSent(Error::ConnectionLost {
                            status: CommandStatus::NotSent,
                            reason: "no cluster node serves this slot now".into(),
                        }),
                        None,
                    ),
                    Err(_) if !awaited_map => {
                        awaited_map = true;
                        cluster.request_refresh();
                        Box::pin(cluster.refreshed_since(generation, deadline)).await;
                        continue;
                    }
                    Err(reason) => {
                        return Err(Error::NoReplica {
                            command: command.name().to_ascii_uppercase(),
                            reason,
                        });
                    }
                },
            },
        };
        first = false;
        let unsent = match attempt {
            Attempt::Failed(e) => return Err(e),
            Attempt::NotSent(e) => e,
            Attempt::Reply(reply) => {
                let Some(redirect) = Redirect::of(&reply) else {
                    return Ok(reply);
                };
                match redirect {
                    Redirect::Retry => {
                        if !Box::pin(wait(&mut pause, deadline)).await {
                            return Ok(reply);
                        }
                        continue;
                    }
                    _ if redirects >= MAX_REDIRECTS => return Ok(reply),
                    Redirect::Moved { slot: moved, to } => {
                        let to = answered_by(to, &asked);
                        tracing::debug!(slot = moved, node = ?to, "MOVED");
                        Box::pin(cluster.moved(moved, &to)).await;
                        cluster.request_refresh();
                        // A command whose keys could not be read (a large key kept
                        // by reference) follows the slot the server named.
                        slot = slot.or(Some(moved));
                    }
                    Redirect::Ask { to } => ask = Some(answered_by(to, &asked)),
                    Redirect::Stale => {
                        cluster.request_refresh();
                        Box::pin(cluster.refreshed_since(generation, deadline)).await;
                    }
                }
                redirects += 1;
                continue;
            }
        };
        // Its node was down or had no owner for the slot: a failover, most likely.
        // The map is asked for again, and the command waits for the new owner
        // within its own timeout.
        cluster.request_refresh();
        Box::pin(cluster.refreshed_since(generation, deadline)).await;
        if Instant::now() >= deadline || !Box::pin(wait(&mut pause, deadline)).await {
            return Err(unsent);
        }
    }
}

/// The host of the node a command went to.
fn host_of(node: &Shared) -> Option<String> {
    match &node.config().addr {
        crate::Addr::Tcp { host, .. } => Some(host.clone()),
        crate::Addr::Unix(_) => None,
    }
}

/// A redirect's target; an empty host (`:port`) is the host of the node that
/// answered.
fn answered_by((host, port): NodeAddr, asked: &Option<String>) -> NodeAddr {
    match (host.is_empty(), asked) {
        (true, Some(asked)) => (asked.clone(), port),
        _ => (host, port),
    }
}

/// Sleeps `pause` (doubling it, up to 200 ms) unless that passes `deadline`;
/// returns whether there is time left to try again.
async fn wait(pause: &mut Duration, deadline: Instant) -> bool {
    if Instant::now() + *pause >= deadline {
        return false;
    }
    tokio::time::sleep(*pause).await;
    *pause = (*pause * 2).min(Duration::from_millis(200));
    true
}

/// One try on `node`; `first` when nothing has been tried since `deadline` was
/// set from `timeout`.
async fn once(
    node: &Shared,
    command: &Command,
    timeout: Duration,
    deadline: Instant,
    first: bool,
) -> Attempt {
    // A first try is queued as a standalone command is: with the client's own
    // timeout the multiplexer's sweep fails it at its deadline, and no timer is
    // set per command. A retried command's deadline is earlier than those of
    // commands queued with it: given what is left of its timeout, it keeps a timer
    // of its own (the sweep relies on deadlines growing in queue order).
    let left = if first {
        timeout
    } else {
        deadline.saturating_duration_since(Instant::now())
    };
    match node.send(command.clone().into_parts(), left, deadline) {
        Ok(ticket) => received(node, command, timeout, deadline, ticket).await,
        Err(e) => classify(e),
    }
}

/// `ASKING` and the command back to back on the node a slot is moving to.
async fn asking(node: &Shared, command: &Command, deadline: Instant) -> Attempt {
    let mut group = Group::new(2, deadline);
    group.push(0, crate::cmd("ASKING").into_bytes());
    group.push(1, command.clone().into_bytes());
    let collector = group.collector().clone();
    if let Err(e) = node.send_group(group) {
        return classify(e);
    }
    let replies = std::future::poll_fn(|cx| collector.poll_complete(cx));
    match tokio::time::timeout_at(deadline, replies).await {
        Ok(mut replies) => {
            let reply = replies.pop().flatten();
            let asking = replies.pop().flatten();
            match reply {
                Some(Ok(reply)) => match asking {
                    // ASKING itself refused (a user whose ACL lacks it, say): the
                    // command's redirect is only its consequence, and followed it
                    // would bounce between the two nodes until the redirects run
                    // out; the refusal says what is wrong.
                    Some(Ok(refused))
                        if refused.as_error().is_some() && super::is_refusal(&reply) =>
                    {
                        Attempt::Reply(refused)
                    }
                    _ => Attempt::Reply(reply),
                },
                Some(Err(e)) => classify(e),
                None => Attempt::Failed(Error::protocol("no reply to a command sent after ASKING")),
            }
        }
        Err(_) => Attempt::Failed(node.timeout_error_as(
            &command.name(),
            deadline.saturating_duration_since(Instant::now()),
            CommandStatus::Sent,
        )),
    }
}

/// Waits for a sent command's reply: on a timer only when the multiplexer does
/// not enforce the deadline (`Ticket::timed`). The name is made only for an error.
async fn received(
    node: &Shared,
    command: &Command,
    timeout: Duration,
    deadline: Instant,
    ticket: Ticket,
) -> Attempt {
    let Ticket { rx, seq, timed, .. } = ticket;
    let received = if timed {
        Ok(rx.await)
    } else {
        // Boxed: a timer is rare here, and inline it would grow every future.
        Box::pin(tokio::time::timeout_at(deadline, rx)).await
    };
    match received {
        Ok(Ok(Ok(reply))) => Attempt::Reply(reply),
        Ok(Ok(Err(Error::Timeout(expired)))) => {
            Attempt::Failed(node.timeout_error_as(&command.name(), timeout, expired.status))
        }
        Ok(Ok(Err(e))) => classify(e),
        Ok(Err(SenderDropped)) => Attempt::Failed(Error::ConnectionLost {
            status: node.status_of(seq),
            reason: "the client shut down before the reply came".into(),
        }),
        Err(_) => Attempt::Failed(node.deadline_error(&command.name(), timeout, seq)),
    }
}

/// An error from a node: one that says the command was never written may be
/// routed again; anything else is the caller's.
fn classify(error: Error) -> Attempt {
    if is_unsent(&error) {
        Attempt::NotSent(error)
    } else {
        Attempt::Failed(error)
    }
}

/// Whether `error` says the command was never written.
fn is_unsent(error: &Error) -> bool {
    matches!(
        error,
        Error::ConnectionLost {
            status: CommandStatus::NotSent | CommandStatus::Backlogged,
            ..
        }
    )
}
