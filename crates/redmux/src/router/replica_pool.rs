//! The replica connections of a cluster or of a sentinel-found primary, by
//! address: kept as they connect (in background tasks), closed when the client
//! has closed or when a connection for the address is kept already, so none is
//! ever left running with no owner.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::mux::Shared;

/// A replica's address and its multiplexer.
type Replica<A> = (A, Arc<Shared>);

/// Replica connections by address (`A`: a cluster's `NodeAddr`, a sentinel's
/// `Addr`), and whether the client has closed.
#[derive(Debug)]
pub(crate) struct ReplicaPool<A> {
    nodes: Mutex<(Vec<Replica<A>>, bool)>,
}

impl<A> Default for ReplicaPool<A> {
    fn default() -> Self {
        ReplicaPool {
            nodes: Mutex::new((Vec::new(), false)),
        }
    }
}

impl<A: PartialEq + Clone> ReplicaPool<A> {
    /// Keeps `node` for `addr`, unless one is kept already or the client closed:
    /// then it is closed.
    pub(crate) fn keep(&self, addr: A, node: Arc<Shared>) {
        let mut guard = self.nodes.lock();
        let (nodes, closed) = &mut *guard;
        if *closed || nodes.iter().any(|(a, _)| *a == addr) {
            drop(guard);
            node.close(Duration::ZERO);
            return;
        }
        nodes.push((addr, node));
    }

    /// The connection kept for `addr`, if any.
    pub(crate) fn get(&self, addr: &A) -> Option<Arc<Shared>> {
        let nodes = self.nodes.lock();
        nodes
            .0
            .iter()
            .find(|(a, _)| a == addr)
            .map(|(_, n)| n.clone())
    }

    /// Every connection, with its address, for closing and stats.
    pub(crate) fn all(&self) -> Vec<Replica<A>> {
        self.nodes.lock().0.clone()
    }

    /// The client is closing: no connection kept from now on.
    pub(crate) fn mark_closed(&self) {
        self.nodes.lock().1 = true;
    }

    /// Closes the connections whose address `listed` no longer names; returns
    /// the addresses kept.
    pub(crate) fn retain(&self, listed: impl Fn(&A) -> bool) -> Vec<A> {
        let (gone, known) = {
            let mut guard = self.nodes.lock();
            let (kept, gone): (Vec<_>, Vec<_>) = guard.0.drain(..).partition(|(a, _)| listed(a));
            guard.0 = kept;
            let known: Vec<A> = guard.0.iter().map(|(a, _)| a.clone()).collect();
            (gone, known)
        };
        for (_, node) in gone {
            node.close(Duration::ZERO);
        }
        known
    }

    /// The first connection, from the `start`-th in turn, that `serves` accepts.
    pub(crate) fn find_from(
        &self,
        start: usize,
        serves: impl Fn(&Shared) -> bool,
    ) -> Option<Arc<Shared>> {
        let nodes = self.nodes.lock();
        let nodes = &nodes.0;
        (0..nodes.len())
            .map(|i| &nodes[(start + i) % nodes.len()].1)
            .find(|node| serves(node))
            .cloned()
    }
}
