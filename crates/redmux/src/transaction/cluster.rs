//! A transaction the cluster refused as a whole, sent again.
//!
//! A cluster node refuses a transaction's block, and runs none of it, when the
//! keys' slot is not served there. The refusal comes at `WATCH` or at a
//! condition's check (the block stops there and sends `UNWATCH`), as a command is
//! queued (`EXEC` then answers `EXECABORT`), or at `EXEC` itself (the server
//! checks every queued command's keys again at `EXEC` and discards the
//! transaction). The block is then sent again, whole:
//!
//! | refusal | where the block goes |
//! |---|---|
//! | `ASK` | the node the slot is moving to, which it names: every key of the block watched there first, and `ASKING` before each command sent outside MULTI |
//! | `MOVED`, `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, `READONLY` | the slot's owner, once the map is refreshed |
//!
//! **Every key watched on the importing node.** An ASK says only that the
//! refused command's keys are not on the old owner. With `ASKING` the importing
//! node serves a command whose one key it lacks (it refuses, TRYAGAIN, only a
//! command naming several keys some of which it lacks), and neither WATCH nor
//! EXEC looks at the other's keys: a condition's key still on the old owner
//! would read as missing there, and a command's key not yet moved would be
//! written there beside the real one. So the block begins there with
//! `ASKING WATCH` of **every** key it names, the conditions' and the commands',
//! even when the caller set no condition. Naming one key, it is served (the ASK
//! proved the key is not on the old owner, and a missing key of a migrating slot
//! is created only on the importing node). Naming several, the node refuses it
//! (TRYAGAIN) unless it holds them all, and the block goes back to the old owner
//! (after a refresh), up to the resends' bound; once it holds them all, none
//! arrives later. The price: a block naming several keys, one of which exists on
//! neither node (a `key_not_exists` guard, a counter created by the block),
//! cannot commit until the migration ends, as a multi-key command cannot. That
//! watch tripping (another client wrote one of the keys there) sends a block
//! without conditions again; with conditions it is the caller's `WatchConflict`.
//! A block with a command whose keys cannot be read back (a key kept by
//! reference, a raw command with any argument of 64 KiB or more, a command the
//! key specifications cannot place) is not followed to the importing node: it
//! is refused like TRYAGAIN.
//!
//! **One ASKING per command outside MULTI, one for the whole MULTI.** A server
//! forgets `ASKING` after the next command, except inside MULTI: once MULTI is
//! entered the flag holds until `EXEC` is done (Redis's `resetClient` keeps
//! `CLIENT_ASKING` while `CLIENT_MULTI` is set; Valkey's does the same), so every
//! queued command, and `EXEC`'s second look at their keys, are served. `WATCH`
//! and each check run outside MULTI and get one each:
//! `ASKING WATCH k...`, `ASKING <check>`..., then `ASKING MULTI cmd... EXEC`. The
//! map is not refreshed for an ASK: it changes only once the migration ends.
//!
//! **Never a refusal inside EXEC's results.** Once `EXEC` has passed its keys'
//! check, the commands run one after another with nothing in between (no
//! `MIGRATE` either), so none of them is refused. Only a script forging such an
//! error could put one there, and then the rest of the block ran: a committed
//! transaction is never sent again.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{AbortReason, Run, Transaction, TransactionOutcome};
use crate::batch::Item;
use crate::client::Client;
use crate::error::{Error, Result, ServerError};
use crate::mux::Shared;
use crate::router::{BlockRetry, Cluster};

/// How many times a refused block is sent again before the last refusal is the
/// caller's error: as many as a single command's redirects (`send.rs`).
const MAX_RESENDS: u32 = 5;

/// What a transaction on a cluster keeps to be sent again.
pub(super) struct Again {
    cluster: Arc<Cluster>,
    client: Client,
    conditions: Vec<super::Condition>,
    items: Vec<Item>,
    timeout: Duration,
}

impl Again {
    /// A copy of `transaction`, on a cluster (`None` elsewhere: nothing redirects).
    pub(super) fn of(transaction: &Transaction, timeout: Duration) -> Option<Again> {
        let cluster = transaction.client.router().as_cluster()?.clone();
        Some(Again {
            cluster,
            client: transaction.client.clone(),
            conditions: transaction.conditions.clone(),
            items: transaction.items.clone(),
            timeout,
        })
    }

    /// Sends the block again for as long as the cluster refuses it whole (up to
    /// [`MAX_RESENDS`] times, within `deadline`); `outcome` is the first try's,
    /// from `node`.
    pub(super) async fn follow(
        self,
        mut outcome: Result<TransactionOutcome>,
        mut node: Arc<Shared>,
        deadline: Instant,
    ) -> Result<TransactionOutcome> {
        let mut resends = 0;
        // The ASK the last run followed to an importing node, if it did.
        let mut asked: Option<BlockRetry> = None;
        loop {
            let (refusal, next) = match refused(&outcome, &node) {
                Some(refused) => refused,
                // The WATCH added on the importing node tripped (another client
                // wrote one of the block's keys there): nothing ran, and the
                // caller asked for no watch of its own, so it goes again (past
                // the bound, an error: such a caller never sees WatchConflict).
                None if asked.is_some()
                    && self.conditions.is_empty()
                    && matches!(
                        outcome,
                        Ok(TransactionOutcome::Aborted(AbortReason::WatchConflict))
                    ) =>
                {
                    (watch_tripped(), asked.take().unwrap_or(BlockRetry::Owner))
                }
                None => return outcome,
            };
            if resends >= MAX_RESENDS || Instant::now() >= deadline {
                // Nothing ran; the refusal says why (a Rejected full of ASK
                // errors, or a condition "failing" with one, would not).
                return Err(Error::Server(refusal));
            }
            resends += 1;
            let transaction = Transaction {
                client: self.client.clone(),
                conditions: self.conditions.clone(),
                items: self.items.clone(),
                timeout: Some(self.timeout),
            };
            // An ASK is followed only for a block whose every key is known: they
            // are all watched on the importing node (see the module's comment).
            let keys = self.keys().filter(|keys| !keys.is_empty());
            let target = match (&next, keys) {
                (BlockRetry::Ask(to), Some(keys)) => match self.cluster.node_at(to).await {
                    Ok(target) => Some((target, keys)),
                    Err(_) => None,
                },
                _ => None,
            };
            asked = None;
            let mut run = match target {
                Some((target, keys)) => {
                    asked = Some(next);
                    Run::on(transaction, target, Some(keys), deadline)?
                }
                None => {
                    // The target of an ASK that cannot be reached goes this way
                    // too: the migration may have ended, or been given up.
                    let generation = self.cluster.generation();
                    self.cluster.request_refresh();
                    self.cluster.refreshed_since(generation, deadline).await;
                    if Instant::now() >= deadline {
                        return Err(Error::Server(refusal));
                    }
                    Run::new(transaction, deadline)?
                }
            };
            run.shared().wait_for_room(deadline).await;
            let seq = run.queue_first()?;
            node = run.shared().clone();
            outcome = run.finish(seq, self.timeout).await;
        }
    }

    /// Every key of the block, the conditions' and the commands', each once:
    /// `None` when a command's keys cannot all be read back.
    fn keys(&self) -> Option<Vec<Vec<u8>>> {
        let mut keys: Vec<Vec<u8>> = self.conditions.iter().map(|c| c.key().to_vec()).collect();
        for item in &self.items {
            keys.extend(item.keys(&self.cluster.specs)?);
        }
        keys.sort_unstable();
        keys.dedup();
        Some(keys)
    }
}

/// The refusal reported when the watch added on an importing node keeps
/// tripping until the resends run out.
fn watch_tripped() -> ServerError {
    ServerError::parse(b"TRYAGAIN a key of the transaction changed on the node its slot is moving to while it was watched there")
}

/// The cluster's refusal of the whole block in `outcome`, from `node`, and
/// where the block goes next; `None` when the block ran, or failed otherwise.
fn refused(
    outcome: &Result<TransactionOutcome>,
    node: &Shared,
) -> Option<(ServerError, BlockRetry)> {
    let refusal = |e: &ServerError| BlockRetry::of(e, node).map(|next| (e.clone(), next));
    match outcome {
        // At WATCH or EXEC.
        Err(e) => e.server_error().and_then(refusal),
        // As a command was queued (the others' errors are EXECABORT).
        Ok(TransactionOutcome::Aborted(AbortReason::Rejected(results))) => results
            .errors()
            .find_map(|(_, e)| e.server_error().and_then(refusal)),
        // A check refused, not false: the condition was never looked at.
        Ok(TransactionOutcome::Aborted(AbortReason::ConditionFailed {
            error: Some(e), ..
        })) => refusal(e),
        Ok(_) => None,
    }
}
