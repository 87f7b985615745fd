//! [`Activity`]: when a connection last read and wrote, kept as atomics so the
//! reader, the writer and a timed-out caller can each look without a lock.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// Milliseconds since a fixed start, of the last read and the last write.
#[derive(Debug)]
pub(crate) struct Activity {
    epoch: Instant,
    last_read_ms: AtomicU64,
    last_write_ms: AtomicU64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            epoch: Instant::now(),
            last_read_ms: AtomicU64::new(0),
            last_write_ms: AtomicU64::new(0),
        }
    }
}

impl Activity {
    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn touch_read(&self) {
        self.last_read_ms.store(self.millis(), Relaxed);
    }

    pub(crate) fn touch_write(&self) {
        self.last_write_ms.store(self.millis(), Relaxed);
    }

    /// Time since the last read.
    pub(crate) fn since_read(&self) -> Duration {
        self.since(&self.last_read_ms)
    }

    /// Time since the last write.
    pub(crate) fn since_write(&self) -> Duration {
        self.since(&self.last_write_ms)
    }

    fn since(&self, at: &AtomicU64) -> Duration {
        Duration::from_millis(self.millis().saturating_sub(at.load(Relaxed)))
    }
}
