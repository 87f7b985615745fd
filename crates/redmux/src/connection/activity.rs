//! [`Activity`]: when a connection last read and wrote, kept as atomics so the
//! reader, the writer and a timed-out caller can each look without a lock.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, Instant};

/// Milliseconds since a fixed start, of the last read and the last write.
///
/// A read or write is recorded either with its time ([`touch_read`](Self::touch_read),
/// a clock read) or, on a path that runs once per command, only noted
/// ([`mark_read`](Self::mark_read), one store) and dated at the next look at the
/// activity: the heartbeat looks at every tick (at most 250 ms apart), so such a
/// time is late by at most a tick. For a lone caller the two clock reads per
/// command were ~180 of its ~6,100 instructions (callgrind).
#[derive(Debug)]
pub(crate) struct Activity {
    epoch: Instant,
    last_read_ms: AtomicU64,
    last_write_ms: AtomicU64,
    /// A read or write noted and not yet dated.
    read_unseen: AtomicBool,
    write_unseen: AtomicBool,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            epoch: Instant::now(),
            last_read_ms: AtomicU64::new(0),
            last_write_ms: AtomicU64::new(0),
            read_unseen: AtomicBool::new(false),
            write_unseen: AtomicBool::new(false),
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

    /// Notes a read, dated at the next look (see [`Activity`]).
    #[inline]
    pub(crate) fn mark_read(&self) {
        self.read_unseen.store(true, Relaxed);
    }

    /// Notes a write, dated at the next look (see [`Activity`]).
    #[inline]
    pub(crate) fn mark_write(&self) {
        self.write_unseen.store(true, Relaxed);
    }

    /// Time since the last read.
    pub(crate) fn since_read(&self) -> Duration {
        let now = self.settle();
        Self::since(now, &self.last_read_ms)
    }

    /// Time since the last write.
    pub(crate) fn since_write(&self) -> Duration {
        let now = self.settle();
        Self::since(now, &self.last_write_ms)
    }

    /// Dates the reads and writes noted since the last look as now; returns now.
    fn settle(&self) -> u64 {
        let now = self.millis();
        for (unseen, last) in [
            (&self.read_unseen, &self.last_read_ms),
            (&self.write_unseen, &self.last_write_ms),
        ] {
            if unseen.load(Relaxed) && unseen.swap(false, Relaxed) {
                last.fetch_max(now, Relaxed);
            }
        }
        now
    }

    fn since(now: u64, at: &AtomicU64) -> Duration {
        Duration::from_millis(now.saturating_sub(at.load(Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_noted_write_is_dated_at_the_next_look() {
        let activity = Activity::default();
        std::thread::sleep(Duration::from_millis(30));
        assert!(activity.since_write() >= Duration::from_millis(30));
        activity.mark_write();
        assert!(activity.since_write() < Duration::from_millis(30));
        // Dated once: it does not stay "now" at later looks.
        std::thread::sleep(Duration::from_millis(30));
        assert!(activity.since_write() >= Duration::from_millis(30));
        assert!(activity.since_read() >= Duration::from_millis(60));
        activity.mark_read();
        assert!(activity.since_read() < Duration::from_millis(30));
    }
}
