//! Which connections are alive, grouped by the cut generation they were born in, so
//! that [`FaultProxy::cut`](super::FaultProxy::cut) can wait until every connection
//! it cut is really closed before it returns.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Live-connection bookkeeping, shared by the handle and the proxy's thread.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    state: Mutex<State>,
    closed: Condvar,
    accepted: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    /// The current cut generation: the number of cuts so far.
    generation: u64,
    /// Live connections per birth generation; entries are removed when they reach 0.
    live: BTreeMap<u64, usize>,
}

/// Held by one live connection; dropping it (after its sockets) unregisters it.
#[derive(Debug)]
pub(crate) struct Ticket {
    registry: Arc<Registry>,
    generation: u64,
}

impl Ticket {
    /// The cut generation this connection was born in.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.registry.lock();
        if let Some(count) = state.live.get_mut(&self.generation) {
            *count -= 1;
            if *count == 0 {
                state.live.remove(&self.generation);
            }
        }
        self.registry.closed.notify_all();
    }
}

impl Registry {
    /// Counts one accepted connection, refused or not.
    pub(crate) fn count_accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections accepted since start.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Registers a live connection in the current generation.
    pub(crate) fn register(self: &Arc<Self>) -> Ticket {
        let mut state = self.lock();
        let generation = state.generation;
        *state.live.entry(generation).or_insert(0) += 1;
        Ticket {
            registry: Arc::clone(self),
            generation,
        }
    }

    /// Live connections right now.
    pub(crate) fn live(&self) -> usize {
        self.lock().live.values().sum()
    }

    /// Starts a new generation and calls `publish` with it while holding the lock, so
    /// no connection can register between the bump and the announcement (it would
    /// otherwise be born old and be cut, or be born new and be waited for in vain).
    /// Then waits up to `timeout` for every older connection to close; returns
    /// whether they all did.
    pub(crate) fn cut(&self, publish: impl FnOnce(u64), timeout: Duration) -> bool {
        let mut state = self.lock();
        state.generation += 1;
        let generation = state.generation;
        publish(generation);
        let (state, _) = self
            .closed
            .wait_timeout_while(state, timeout, |state| {
                state.live.range(..generation).next().is_some()
            })
            .unwrap_or_else(PoisonError::into_inner);
        state.live.range(..generation).next().is_none()
    }

    /// A panic cannot leave the counts half-updated, so a poisoned lock is usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_waits_only_for_older_connections() {
        let registry = Arc::new(Registry::default());
        let old = registry.register();
        assert_eq!(registry.live(), 1);

        let waiter = {
            let registry = Arc::clone(&registry);
            std::thread::spawn(move || registry.cut(|_| {}, Duration::from_secs(5)))
        };
        // A connection born after the cut must not hold the cut up.
        while registry.lock().generation == 0 {
            std::thread::yield_now();
        }
        let young = registry.register();
        assert_eq!(young.generation(), 1);
        drop(old);
        assert_eq!(waiter.join().ok(), Some(true));
        assert_eq!(registry.live(), 1);
    }

    #[test]
    fn cut_gives_up_after_the_timeout() {
        let registry = Arc::new(Registry::default());
        let _stuck = registry.register();
        assert!(!registry.cut(|_| {}, Duration::from_millis(10)));
    }
}
