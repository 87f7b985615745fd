//! [`ShardSubscribers`]: a cluster's shard channels (`SSUBSCRIBE`). A shard message
//! is sent only to the node that owns its channel's slot, so each channel is
//! subscribed on that node: one subscriber connection per node that has some.
//!
//! When a slot moves, its node drops the channel (an `SUNSUBSCRIBE` nobody asked
//! for) or refuses it (`MOVED`); when a node fails, its connection is lost and a
//! replica takes its slots. Each of these wakes one task, which refreshes the map
//! and moves every channel whose slot is now another node's: its subscriptions are
//! taken off the old node's registry and adopted by the new one's, which subscribes
//! it there. The `Subscription` never notices, but for an [`Event::Gap`]: messages
//! published between the loss and the new `SSUBSCRIBE` are not delivered.
//!
//! [`Event::Gap`]: crate::pubsub::Event::Gap

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Weak};
use std::task::Waker;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{Notify, oneshot, watch};

use super::frame::Kind;
use super::mailbox::Mailbox;
use super::{NodeList, Queued, Subscriber, config_at};
use crate::config::{Addr, Config};
use crate::error::{CommandStatus, Error, Result};
use crate::keys::hash_slot;
use crate::mux::ConnectionState;
use crate::router::Cluster;

/// A primary as the cluster shows it: address, multiplexer, slot ranges owned.
type PrimaryView = (String, Arc<crate::mux::Shared>, Vec<(u16, u16)>);

/// How long a move waits for the map to be read again before it looks.
const REFRESH_WAIT: Duration = Duration::from_secs(1);
/// The pause before looking again while a channel has no reachable owner or its
/// node is down (a failover takes a second or two): each look asks for a refresh.
const RETRY: Duration = Duration::from_millis(250);
/// The least time between two looks, so that a node that keeps refusing (a map a
/// step behind) cannot make the task spin.
const MIN_INTERVAL: Duration = Duration::from_millis(50);

/// A subscription waiting for its channels' confirmations, each from its node.
pub(crate) type Pending = Vec<(Arc<Subscriber>, oneshot::Receiver<Result<()>>)>;

/// The shard channels of one client on a cluster, each on its slot's node.
#[derive(Debug)]
pub(crate) struct ShardSubscribers {
    cluster: Arc<Cluster>,
    /// The client's configuration; each node's subscriber gets its address.
    config: Config,
    client_state: watch::Receiver<ConnectionState>,
    placement: Mutex<Placement>,
    /// Wakes the task that moves channels.
    relocate: Arc<Notify>,
    next_id: AtomicU64,
    closed: watch::Sender<bool>,
}

/// Which node each channel is registered on, and the node subscribers.
#[derive(Debug, Default)]
struct Placement {
    /// By `host:port`, as the cluster map names them.
    nodes: HashMap<String, Arc<Subscriber>>,
    /// Every shard channel some subscription listens to, and its node.
    at: HashMap<Bytes, String>,
}

impl ShardSubscribers {
    /// Starts the task that moves channels; no connection is opened before a
    /// channel needs one.
    pub(crate) fn start(
        cluster: Arc<Cluster>,
        config: Config,
        client_state: watch::Receiver<ConnectionState>,
    ) -> Arc<ShardSubscribers> {
        let shards = Arc::new(ShardSubscribers {
            cluster,
            config,
            client_state,
            placement: Mutex::new(Placement::default()),
            relocate: Arc::new(Notify::new()),
            next_id: AtomicU64::new(1),
            closed: watch::channel(false).0,
        });
        tokio::spawn(relocate_task(Arc::downgrade(&shards)));
        shards
    }

    /// An id for a new subscription, unique over every node (subscriptions move).
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Relaxed)
    }

    /// Registers subscription `id` on each channel's node, queueing an `SSUBSCRIBE`
    /// (one per slot) for the channels new there. Returns what to wait for.
    pub(crate) fn register(
        &self,
        names: &[Bytes],
        id: u64,
        mailbox: &Arc<Mailbox>,
    ) -> Result<Pending> {
        if *self.closed.borrow() {
            return Err(Error::Closed);
        }
        let primaries = self.cluster.primaries();
        let mut placement = self.placement.lock();
        let mut groups: Vec<(String, Vec<Bytes>)> = Vec::new();
        for name in names {
            // A channel already listened to stays where it is (the task moves it if
            // it must); a new one goes to its slot's owner, or, with none known,
            // to any primary, whose refusal the task follows.
            let addr = match placement.at.get(name) {
                Some(addr) => addr.clone(),
                None => owner_of(hash_slot(name), &primaries)
                    .or_else(|| primaries.first().map(|(a, _, _)| a.clone()))
                    .ok_or_else(no_primary)?,
            };
            match groups.iter_mut().find(|(a, _)| *a == addr) {
                Some((_, group)) => group.push(name.clone()),
                None => groups.push((addr, vec![name.clone()])),
            }
        }
        let mut pending = Vec::new();
        for (index, (addr, group)) in groups.iter().enumerate() {
            let node = self.node(&mut placement, addr)?;
            let registered = node
                .registry
                .lock()
                .register(Kind::Shard, group, id, mailbox);
            match registered {
                Ok(waiting) => pending.extend(waiting.into_iter().map(|rx| (node.clone(), rx))),
                Err(e) => {
                    // Undo the nodes done so far: the subscription will not exist.
                    for (addr, group) in &groups[..index] {
                        unregister_on(&mut placement, addr, group, id, false);
                    }
                    return Err(e);
                }
            }
            node.wake();
            for name in group {
                placement.at.insert(name.clone(), addr.clone());
            }
        }
        Ok(pending)
    }

    /// Removes subscription `id` from `names` wherever each is now.
    pub(crate) fn unregister(&self, names: &[Bytes], id: u64, confirm: bool) -> Vec<Queued> {
        let mut placement = self.placement.lock();
        let mut groups: Vec<(String, Vec<Bytes>)> = Vec::new();
        for name in names {
            let Some(addr) = placement.at.get(name) else {
                continue;
            };
            match groups.iter_mut().find(|(a, _)| a == addr) {
                Some((_, group)) => group.push(name.clone()),
                None => groups.push((addr.clone(), vec![name.clone()])),
            }
        }
        groups
            .iter()
            .filter_map(|(addr, group)| unregister_on(&mut placement, addr, group, id, confirm))
            .collect()
    }

    /// Closes every node's subscriber and stops the task.
    pub(crate) fn close(&self) {
        self.closed.send_replace(true);
        for node in self.placement.lock().nodes.values() {
            node.close();
        }
    }

    /// Every node subscriber now.
    pub(crate) fn subscribers(&self) -> Vec<Arc<Subscriber>> {
        self.placement.lock().nodes.values().cloned().collect()
    }

    /// The subscriber for the node at `addr`, started now if there is none.
    fn node(&self, placement: &mut Placement, addr: &str) -> Result<Arc<Subscriber>> {
        if let Some(node) = placement.nodes.get(addr) {
            return Ok(node.clone());
        }
        let Some(node_addr) = parse_addr(addr) else {
            return Err(Error::protocol(format!(
                "the cluster map names a node as {addr:?}, which is no host:port"
            )));
        };
        let announced = match &node_addr {
            Addr::Tcp { host, port } => self.cluster.announced_hostname(host, *port),
            _ => None,
        };
        let config = config_at(&self.config, node_addr, announced);
        let node = Subscriber::start_node(config, self.client_state.clone(), self.relocate.clone());
        placement.nodes.insert(addr.to_string(), node.clone());
        Ok(node)
    }

    /// Moves every channel whose slot is now another node's (reading the map again
    /// first if a node dropped or refused a channel, or is down), subscribes again
    /// those refused where the map still puts them, and closes the subscribers of
    /// nodes left with no channel. Returns whether to look again soon.
    async fn rebalance(&self) -> bool {
        let nodes = self.subscribers();
        let mut misplaced: HashSet<Bytes> = HashSet::new();
        let mut down = false;
        for node in &nodes {
            let mut registry = node.registry.lock();
            misplaced.extend(registry.take_misplaced());
            down |= !node.is_connected() && registry.topic_counts()[Kind::Shard.index()] > 0;
        }
        if !misplaced.is_empty() || down {
            let generation = self.cluster.generation();
            self.cluster.request_refresh();
            self.cluster
                .refreshed_since(generation, crate::mux::deadline(REFRESH_WAIT))
                .await;
        }
        let primaries = self.cluster.primaries();
        let mut placement = self.placement.lock();
        let mut unsettled = false;
        let mut wakers: Vec<Waker> = Vec::new();
        let channels: Vec<(Bytes, String)> = placement
            .at
            .iter()
            .map(|(n, a)| (n.clone(), a.clone()))
            .collect();
        for (name, at) in channels {
            let Some(owner) = owner_of(hash_slot(&name), &primaries) else {
                unsettled = true;
                continue;
            };
            let Some(from) = placement.nodes.get(&at).cloned() else {
                placement.at.remove(&name);
                continue;
            };
            if owner == at {
                if misplaced.contains(&name) {
                    // A refusal here again comes back as misplaced, and the next
                    // look reads a newer map.
                    from.registry.lock().subscribe_again(&name);
                    from.wake();
                }
                continue;
            }
            let Ok(to) = self.node(&mut placement, &owner) else {
                unsettled = true;
                continue;
            };
            let moving = from.registry.lock().take_topic(&name);
            from.wake();
            let Some(moving) = moving else {
                placement.at.remove(&name);
                continue;
            };
            tracing::debug!(channel = ?name, from = %at, to = %owner, "shard channel moved");
            to.registry.lock().adopt(name.clone(), moving, &mut wakers);
            to.wake();
            placement.at.insert(name, owner);
        }
        let Placement { nodes, at } = &mut *placement;
        nodes.retain(|addr, node| {
            let used = at.values().any(|a| a == addr);
            if !used {
                node.close();
            }
            used
        });
        let still_down = nodes.values().any(|node| !node.is_connected());
        drop(placement);
        wakers.into_iter().for_each(Waker::wake);
        unsettled || still_down
    }
}

/// Unregisters `id` from `names` on the node at `addr`; forgets the channels no
/// subscription listens to any more. Returns the unsubscribe queued, if any.
fn unregister_on(
    placement: &mut Placement,
    addr: &str,
    names: &[Bytes],
    id: u64,
    confirm: bool,
) -> Option<Queued> {
    let node = placement.nodes.get(addr)?.clone();
    let (done, confirmed) = match confirm {
        true => {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        }
        false => (None, None),
    };
    let queued = {
        let mut registry = node.registry.lock();
        let queued = registry.unregister(Kind::Shard, names, id, done);
        for name in names {
            if !registry.has_topic(Kind::Shard, name) {
                placement.at.remove(name);
            }
        }
        queued
    };
    if !queued {
        return None;
    }
    node.wake();
    Some((node, confirmed))
}

/// Moves channels when woken (a node dropped or refused one, or lost its
/// connection), when the map changes, and every `RETRY` while something is
/// unsettled; ends with the client.
async fn relocate_task(shards: Weak<ShardSubscribers>) {
    let Some((wake, mut changes, mut closed, mut client_state)) = shards.upgrade().map(|s| {
        (
            s.relocate.clone(),
            s.cluster.watch_changes(),
            s.closed.subscribe(),
            s.client_state.clone(),
        )
    }) else {
        return;
    };
    let mut retry = false;
    loop {
        // Waits holding no strong handle: a dropped client must be able to go.
        tokio::select! {
            _ = wake.notified() => {}
            changed = changes.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(RETRY), if retry => {}
            _ = closed.wait_for(|c| *c) => return,
            _ = client_state.wait_for(|s| *s == ConnectionState::Closed) => return,
        }
        let Some(strong) = shards.upgrade() else {
            return;
        };
        retry = strong.rebalance().await;
        drop(strong);
        tokio::time::sleep(MIN_INTERVAL).await;
    }
}

/// The address (`host:port`) of the primary that owns `slot`.
fn owner_of(slot: u16, primaries: &[PrimaryView]) -> Option<String> {
    primaries
        .iter()
        .find(|(_, _, ranges)| ranges.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
        .map(|(addr, _, _)| addr.clone())
}

/// `host:port` as an address.
fn parse_addr(addr: &str) -> Option<Addr> {
    let (host, port) = addr.rsplit_once(':')?;
    Some(Addr::Tcp {
        host: host.to_string(),
        port: port.parse().ok()?,
    })
}

fn no_primary() -> Error {
    Error::ConnectionLost {
        status: CommandStatus::NotSent,
        reason: "no cluster primary is known to subscribe on".into(),
    }
}

/// The nodes a cluster's classic subscriber may move to: the primaries in the map
/// now. Holds the cluster weakly: the subscriber must not keep a dropped client's
/// router alive.
pub(crate) fn classic_failover(cluster: &Arc<Cluster>) -> NodeList {
    let cluster = Arc::downgrade(cluster);
    NodeList(Arc::new(move || {
        cluster
            .upgrade()
            .map(|c| {
                c.primaries()
                    .iter()
                    .filter_map(|(addr, _, _)| parse_addr(addr))
                    .map(|addr| {
                        let announced = match &addr {
                            Addr::Tcp { host, port } => c.announced_hostname(host, *port),
                            _ => None,
                        };
                        (addr, announced)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }))
}
