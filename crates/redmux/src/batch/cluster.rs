//! A batch chunk on a cluster: split by node, one group per node sent at once
//! (the nodes work in parallel), every reply landing at its command's place in
//! the chunk's one collector; then the commands a node refused (MOVED, ASK,
//! TRYAGAIN, or "not sent" because its connection was down) sent again, one by one
//! and in batch order, through the cluster layer, which follows the redirect.
//!
//! Order: a node runs its group in batch order. A command sent again runs after
//! the chunk's others; for one key that keeps the order, since a redirect refuses
//! every later command on that key too (MOVED refuses the whole slot, ASK the key,
//! and they are all sent again in order).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use redmux_resp::Value;
use tokio::time::Instant;

use super::{Item, ScriptsSent};
use crate::command::Command;
use crate::error::{CommandStatus, Error, Result};
use crate::mux::{Collector, Group, Shared};
use crate::router::{Cluster, is_refusal, to_slot};

/// The chunk's commands kept to be sent again, by their place in the chunk.
pub(crate) type Resend = Vec<Option<Command>>;

/// Replies put right after a resend, by their place in the chunk.
pub(crate) type Fixing = Pin<Box<dyn Future<Output = Vec<(usize, Result<Value>)>> + Send>>;

/// Sends a chunk's items to their nodes; returns what a resend would need.
pub(crate) fn submit(
    cluster: &Arc<Cluster>,
    items: Vec<Item>,
    collector: &Arc<Collector>,
    deadline: Instant,
) -> Resend {
    let mut groups: Vec<(Arc<Shared>, Group)> = Vec::new();
    let mut resend = Vec::with_capacity(items.len());
    let mut scripts = ScriptsSent::default();
    for (i, item) in items.into_iter().enumerate() {
        let slot = match item.slot(&cluster.specs) {
            crate::KeySlot::One(slot) => Some(slot),
            crate::KeySlot::Cross => {
                let command =
                    String::from_utf8_lossy(item.name().unwrap_or(b"?")).to_ascii_uppercase();
                collector.replace(i, Err(Error::CrossSlot { command }));
                resend.push(None);
                continue;
            }
            _ => None,
        };
        // Kept to send again; a script goes again as EVAL, which needs no cache.
        resend.push(match &item {
            Item::Encoded(command) => Some(command.clone()),
            Item::Script(call) => Some(call.command(true)),
            Item::Refused(_) => None,
        });
        let bytes = match item.encode(&mut scripts) {
            Ok(bytes) => bytes,
            Err(e) => {
                collector.replace(i, Err(e));
                continue;
            }
        };
        let Some(node) = cluster.node_for(slot) else {
            // No owner now: left unanswered here, it is sent again below.
            collector.replace(
                i,
                Err(Error::ConnectionLost {
                    status: CommandStatus::NotSent,
                    reason: "no cluster node serves this slot now".into(),
                }),
            );
            continue;
        };
        match groups.iter_mut().find(|(n, _)| Arc::ptr_eq(n, &node)) {
            Some((_, group)) => group.push(i, bytes),
            None => {
                let mut group = Group::sharing(collector, deadline);
                group.push(i, bytes);
                groups.push((node, group));
            }
        }
    }
    for (node, group) in groups {
        // A refused group's slots record "not sent" as they drop: sent again below.
        let _ = node.send_group(group);
    }
    resend
}

/// Whether a chunk's replies hold any to send again.
pub(crate) fn needs_fixing(replies: &[Option<Result<Value>>], resend: &Resend) -> bool {
    replies
        .iter()
        .zip(resend)
        .any(|(reply, command)| command.is_some() && refused(reply))
}

/// Sends again, in order, the commands a node refused, and gives their replies.
pub(crate) fn fix(
    cluster: Arc<Cluster>,
    replies: &[Option<Result<Value>>],
    resend: &mut Resend,
    timeout: Duration,
) -> Fixing {
    let again: Vec<(usize, Command)> = replies
        .iter()
        .zip(resend.iter_mut())
        .enumerate()
        .filter(|(_, (reply, command))| command.is_some() && refused(reply))
        .filter_map(|(i, (_, command))| command.take().map(|c| (i, c)))
        .collect();
    Box::pin(async move {
        let mut fixed = Vec::with_capacity(again.len());
        for (i, command) in again {
            fixed.push((i, to_slot(cluster.clone(), command, timeout).await));
        }
        fixed
    })
}

/// A redirect, or a command its node never wrote.
fn refused(reply: &Option<Result<Value>>) -> bool {
    match reply {
        Some(Ok(value)) => is_refusal(value),
        Some(Err(Error::ConnectionLost {
            status: CommandStatus::NotSent | CommandStatus::Backlogged,
            ..
        })) => true,
        _ => false,
    }
}
