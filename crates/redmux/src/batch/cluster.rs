//! A batch chunk on a cluster: split by node, one group per node sent at once
//! (the nodes work in parallel), every reply landing at its command's place in
//! the chunk's one collector; then the commands a node refused (MOVED, ASK,
//! TRYAGAIN, or "not sent" because its connection was down) sent again, one by one
//! and in batch order, through the cluster layer, which follows the redirect.
//!
//! Order, for one key: a chunk's commands are routed from one look at the map, so
//! all of a key's commands in a chunk go to one node, which runs them in batch
//! order; a redirect refuses every later command on that key too (MOVED the whole
//! slot, ASK the key), and they are all sent again in batch order. Once a chunk has
//! commands to send again, no new chunk goes out until every chunk in flight is
//! answered and put right (`Chunks::resending`), so a later chunk cannot run on the
//! new owner ahead of them. Nor does a chunk go out on a map other than the one
//! the chunks in flight were routed with (another caller's MOVED, or a refresh,
//! changed it) until they are all answered and put right: routed on the new map, a
//! later command could reach the new owner before an earlier one's redirect is
//! followed. Not covered: a multi-key command refused with TRYAGAIN
//! while a later single-key command on one of its keys ran.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use redmux_resp::Value;
use tokio::time::Instant;

use super::{Item, ScriptsSent};
use crate::cache::{OwnWrite, track_cluster_write};
use crate::command::Command;
use crate::error::{CommandStatus, Error, Result};
use crate::mux::{Collector, Group, Shared};
use crate::router::{Cluster, MapSeen, ReadFrom, is_refusal, to_slot};

/// The chunk's commands kept to be sent again, by their place in the chunk.
pub(crate) type Resend = Vec<Option<Command>>;

/// Replies put right after a resend, by their place in the chunk.
pub(crate) type Fixing = Pin<Box<dyn Future<Output = Vec<(usize, Result<Value>)>> + Send>>;

/// Sends a chunk's items to their nodes as `map` has them; returns what a resend
/// would need. With
/// `own_writes` (the client has a cache), each node's group drops the keys it
/// writes from that node's cache once queued.
pub(crate) fn submit(
    cluster: &Arc<Cluster>,
    items: Vec<Item>,
    collector: &Arc<Collector>,
    deadline: Instant,
    own_writes: bool,
    map: &MapSeen,
) -> Resend {
    // Every item routed from one look at the map (see `Cluster::nodes_for`).
    let slots: Vec<Option<u16>> = items
        .iter()
        .map(|item| match item.slot(&cluster.specs) {
            crate::KeySlot::One(slot) => Some(slot),
            _ => None,
        })
        .collect();
    let owners = cluster.nodes_for(&slots, map);
    // One group per node, each with its own record of the scripts it has sent as
    // EVAL: a script first seen by another node must go to this one as EVAL too.
    let mut groups: Vec<(Arc<Shared>, Group, ScriptsSent, Option<OwnWrite>)> = Vec::new();
    let mut resend = Vec::with_capacity(items.len());
    for ((i, item), owner) in items.into_iter().enumerate().zip(owners) {
        if item.slot(&cluster.specs) == crate::KeySlot::Cross {
            let command = String::from_utf8_lossy(item.name().unwrap_or(b"?")).to_ascii_uppercase();
            collector.replace(i, Err(Error::CrossSlot { command }));
            resend.push(None);
            continue;
        }
        // Kept to send again; a script goes again as EVAL, which needs no cache.
        resend.push(match &item {
            Item::Encoded(command) => Some(command.clone()),
            Item::Script(call) => Some(call.command(true)),
            Item::Refused(_) => None,
        });
        let Some(node) = owner else {
            // No owner now: answered "not sent" here, it is sent again below.
            collector.replace(
                i,
                Err(Error::ConnectionLost {
                    status: CommandStatus::NotSent,
                    reason: "no cluster node serves this slot now".into(),
                }),
            );
            continue;
        };
        let at = match groups.iter().position(|(n, ..)| Arc::ptr_eq(n, &node)) {
            Some(at) => at,
            None => {
                let own_write = if own_writes {
                    OwnWrite::group(&node)
                } else {
                    None
                };
                groups.push((
                    node,
                    Group::sharing(collector, deadline),
                    ScriptsSent::default(),
                    own_write,
                ));
                groups.len() - 1
            }
        };
        let (_, group, scripts, own_write) = &mut groups[at];
        if let Some(own_write) = own_write {
            item.note_write(own_write);
        }
        match item.encode(scripts) {
            Ok(bytes) => group.push(i, bytes),
            Err(e) => collector.replace(i, Err(e)),
        }
    }
    for (node, group, _, own_write) in groups {
        // A refused group's slots record "not sent" as they drop: sent again below.
        let _ = node.send_group(group);
        // Once queued, as a single command's (`crate::cache`).
        if let Some(own_write) = own_write {
            own_write.apply();
        }
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
    deadline: Instant,
) -> Fixing {
    let again: Vec<(usize, Command)> = replies
        .iter()
        .zip(resend.iter_mut())
        .enumerate()
        .filter(|(_, (reply, command))| command.is_some() && refused(reply))
        .filter_map(|(i, (_, command))| command.take().map(|c| (i, c)))
        .collect();
    Box::pin(async move {
        // Within the chunk's own deadline, all of them together: past it, those
        // not yet sent again fail as the chunk's timeout would have them.
        let mut fixed = Vec::with_capacity(again.len());
        for (i, command) in again {
            let left = deadline.saturating_duration_since(Instant::now());
            let reply = if left.is_zero() {
                Err(Error::ConnectionLost {
                    status: CommandStatus::NotSent,
                    reason: "the batch's timeout passed before this command could be sent again to its slot's new owner".into(),
                })
            } else {
                // A client-side cache drops what it writes on its new owner,
                // once queued there and once answered (`crate::cache`).
                let own_write = track_cluster_write(&cluster, &command);
                let trip = Box::pin(to_slot(cluster.clone(), command, left, ReadFrom::Primary));
                match own_write {
                    Some(own_write) => own_write.wrap(trip).await,
                    None => trip.await,
                }
            };
            fixed.push((i, reply));
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
