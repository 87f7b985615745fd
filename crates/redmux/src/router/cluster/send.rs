//! One command's trip through a cluster: to its slot's primary, following MOVED
//! and ASK, waiting out TRYAGAIN, CLUSTERDOWN and a failover within its timeout.
//!
//! A redirect is a refusal: the command did not run, so it is resent. A command
//! its node never wrote (the node's connection was down: "not sent") is routed
//! again once the map is refreshed. A command written to a node whose connection
//! was then lost fails "sent, may have run" and is never resent.

use std::time::Duration;

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
    match once(&node, &command, timeout, deadline).await {
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
    let mut slot = match command.slot_with(&cluster.specs) {
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
        cluster.want_replicas(deadline).await;
    }
    let mut ask: Option<NodeAddr> = None;
    let mut redirects = 0;
    let mut pause = Duration::from_millis(10);
    // A replica demanded and none up: a refresh (which also follows a MOVED) may
    // name new ones, so one is waited for, once, before giving up.
    let mut awaited_map = false;
    loop {
        let generation = cluster.generation();
        let mut asked: Option<String> = None;
        let attempt = match ask.take() {
            Some(to) => match cluster.node_at(&to).await {
                Ok(node) => {
                    asked = host_of(&node);
                    asking(&node, &command, deadline).await
                }
                Err(e) => Attempt::NotSent(e),
            },
            None => match cluster.pick(slot, read) {
                Ok(Some(node)) => {
                    asked = host_of(&node);
                    once(&node, &command, timeout, deadline).await
                }
                Ok(None) => Attempt::NotSent(Error::ConnectionLost {
                    status: CommandStatus::NotSent,
                    reason: "no cluster node serves this slot now".into(),
                }),
                Err(_) if !awaited_map => {
                    awaited_map = true;
                    cluster.request_refresh();
                    cluster.refreshed_since(generation, deadline).await;
                    continue;
                }
                Err(reason) => {
                    return Err(Error::NoReplica {
                        command: command.name().to_ascii_uppercase(),
                        reason,
                    });
                }
            },
        };
        let unsent = match attempt {
            Attempt::Failed(e) => return Err(e),
            Attempt::NotSent(e) => e,
            Attempt::Reply(reply) => {
                let Some(redirect) = Redirect::of(&reply) else {
                    return Ok(reply);
                };
                match redirect {
                    Redirect::Retry => {
                        if !wait(&mut pause, deadline).await {
                            return Ok(reply);
                        }
                        continue;
                    }
                    _ if redirects >= MAX_REDIRECTS => return Ok(reply),
                    Redirect::Moved { slot: moved, to } => {
                        let to = answered_by(to, &asked);
                        tracing::debug!(slot = moved, node = ?to, "MOVED");
                        cluster.moved(moved, &to).await;
                        cluster.request_refresh();
                        // A command whose keys could not be read (a large key kept
                        // by reference) follows the slot the server named.
                        slot = slot.or(Some(moved));
                    }
                    Redirect::Ask { to } => ask = Some(answered_by(to, &asked)),
                    Redirect::Stale => {
                        cluster.request_refresh();
                        cluster.refreshed_since(generation, deadline).await;
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
        cluster.refreshed_since(generation, deadline).await;
        if Instant::now() >= deadline || !wait(&mut pause, deadline).await {
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

/// One try on `node`.
async fn once(node: &Shared, command: &Command, timeout: Duration, deadline: Instant) -> Attempt {
    let name = command.name();
    // What is left of the timeout: a retried command's deadline is earlier than
    // those of commands queued with it, so it keeps a timer of its own (the
    // multiplexer's sweep relies on deadlines growing in queue order).
    let left = deadline.saturating_duration_since(Instant::now());
    match node.send(command.clone().into_parts(), left, deadline) {
        Ok(ticket) => received(node, &name, timeout, deadline, ticket).await,
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
        Ok(mut replies) => match replies.pop().flatten() {
            Some(Ok(reply)) => Attempt::Reply(reply),
            Some(Err(e)) => classify(e),
            None => Attempt::Failed(Error::protocol("no reply to a command sent after ASKING")),
        },
        Err(_) => Attempt::Failed(node.timeout_error_as(
            &command.name(),
            deadline.saturating_duration_since(Instant::now()),
            CommandStatus::Sent,
        )),
    }
}

/// Waits for a sent command's reply.
async fn received(
    node: &Shared,
    name: &str,
    timeout: Duration,
    deadline: Instant,
    ticket: Ticket,
) -> Attempt {
    match tokio::time::timeout_at(deadline, ticket.rx).await {
        Ok(Ok(Ok(reply))) => Attempt::Reply(reply),
        Ok(Ok(Err(Error::Timeout(expired)))) => {
            Attempt::Failed(node.timeout_error_as(name, timeout, expired.status))
        }
        Ok(Ok(Err(e))) => classify(e),
        Ok(Err(SenderDropped)) => Attempt::Failed(Error::ConnectionLost {
            status: node.status_of(ticket.seq),
            reason: "the client shut down before the reply came".into(),
        }),
        Err(_) => Attempt::Failed(node.deadline_error(name, timeout, ticket.seq)),
    }
}

/// An error from a node: one that says the command was never written may be
/// routed again; anything else is the caller's.
fn classify(error: Error) -> Attempt {
    match &error {
        Error::ConnectionLost {
            status: CommandStatus::NotSent | CommandStatus::Backlogged,
            ..
        } => Attempt::NotSent(error),
        _ => Attempt::Failed(error),
    }
}
