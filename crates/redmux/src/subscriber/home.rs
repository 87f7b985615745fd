//! [`Home`]: where a subscription's names are registered, so that dropping it (or
//! `unsubscribe`) finds them. Usually one subscriber; a cluster's shard channels
//! live on their slots' nodes and move with them, so the shard subscribers say
//! where each one is now.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::frame::Kind;
use super::shards::ShardSubscribers;
use super::{Queued, Subscriber};

/// Where a subscription is registered.
#[derive(Debug, Clone)]
pub(crate) enum Home {
    /// One subscriber: a standalone server's, or a cluster's classic one.
    One(Arc<Subscriber>),
    /// A cluster's shard channels, wherever their slots are now.
    Shards(Arc<ShardSubscribers>),
}

impl Home {
    /// Removes subscription `id` from `names`, queueing an unsubscribe where it was
    /// the last listener. With `confirm`, each queued unsubscribe comes with a
    /// receiver told once the server confirms it.
    pub(crate) fn unregister(
        &self,
        kind: Kind,
        names: &[Bytes],
        id: u64,
        confirm: bool,
    ) -> Vec<Queued> {
        match self {
            Home::One(subscriber) => {
                let (done, confirmed) = match confirm {
                    true => {
                        let (tx, rx) = oneshot::channel();
                        (Some(tx), Some(rx))
                    }
                    false => (None, None),
                };
                let queued = subscriber.registry.lock().unregister(kind, names, id, done);
                if !queued {
                    return Vec::new();
                }
                subscriber.wake();
                vec![(subscriber.clone(), confirmed)]
            }
            Home::Shards(shards) => shards.unregister(names, id, confirm),
        }
    }
}
