//! Reconnecting: one policy ([`Backoff`]) and one loop ([`redial`]) for every
//! connection that comes back by itself (the multiplexer's and the subscriber's).
//!
//! A dedicated connection never does: its server-side state (a WATCH, a SELECT, a
//! blocking pop half done) would be lost without a word, so it breaks instead and
//! its owner opens a new one.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use super::{Connection, connect};
use crate::config::{Config, ReconnectPolicy};
use crate::error::Error;

/// Exponential backoff with jitter: each failed attempt doubles the pause (up to
/// `max_delay`), and each pause is taken between half and all of its value, so the
/// clients that lost one server do not all come back in the same millisecond.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    delay: Duration,
    max_delay: Duration,
    attempts: u32,
    max_attempts: Option<u32>,
}

impl Backoff {
    pub(crate) fn new(policy: &ReconnectPolicy) -> Self {
        Backoff {
            delay: policy.initial_delay.min(policy.max_delay),
            max_delay: policy.max_delay,
            attempts: 0,
            max_attempts: policy.max_attempts,
        }
    }

    /// Counts a failed attempt; returns the pause before the next one, or `None`
    /// once `max_attempts` are spent.
    pub(crate) fn failed(&mut self) -> Option<Duration> {
        self.attempts = self.attempts.saturating_add(1);
        if self.max_attempts.is_some_and(|max| self.attempts >= max) {
            return None;
        }
        let pause = jitter(self.delay, random_permille());
        // Saturating: a `max_delay` of `Duration::MAX` must not overflow the doubling.
        self.delay = self.delay.saturating_mul(2).min(self.max_delay);
        Some(pause)
    }

    /// Attempts so far.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// `delay` scaled to between half and all of itself, by `permille` (0 to 1000), in
/// integer arithmetic: `Duration::mul_f64` panics near `Duration::MAX`.
fn jitter(delay: Duration, permille: u32) -> Duration {
    let half = delay / 2;
    (delay - half) + (half / 1000) * permille.min(1000)
}

/// A number from 0 to 999 that differs between processes and calls.
fn random_permille() -> u32 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    (hasher.finish() % 1000) as u32
}

/// What a connection that comes back by itself tells [`redial`], and is told.
pub(crate) trait Redial {
    /// Whether to stop trying (the owner was closed).
    fn done(&self) -> bool;

    /// Resolves once [`Redial::done`] turns true; an attempt or a pause in
    /// progress then ends at once.
    fn wait_done(&mut self) -> impl Future<Output = ()> + Send;

    /// An attempt failed: keep `error` for diagnostics and refusals.
    fn failed(&mut self, error: Error);

    /// The server rejected the credentials. Waiting will not fix that, so whatever
    /// waits for the connection should fail with `error` now rather than wait out
    /// its timeout; new work should be refused with it until a connection is made.
    /// Attempts go on (with backoff): the password may be fixed on the server.
    fn rejected(&mut self, error: &Error);

    /// A pause between attempts ended (to purge what expired meanwhile).
    fn paused(&mut self) {}

    /// Where the next attempt goes, if not where `config` says: a cluster's
    /// classic pub/sub connection tries the other nodes in turn (any node will
    /// do), each with its own TLS server name.
    fn elsewhere(&mut self, _config: &Config) -> Option<Config> {
        None
    }
}

/// Connects with `config`, again and again under its [`ReconnectPolicy`], until it
/// works (the connection), the owner is done, or the attempts run out (`None`).
pub(crate) async fn redial(config: &Config, owner: &mut impl Redial) -> Option<Connection> {
    let mut backoff = Backoff::new(&config.reconnect);
    loop {
        if owner.done() {
            return None;
        }
        let elsewhere = owner.elsewhere(config);
        let target = elsewhere.as_ref().unwrap_or(config);
        let attempt = tokio::select! {
            biased;
            _ = owner.wait_done() => return None,
            attempt = connect(target) => attempt,
        };
        let error = match attempt {
            Ok(conn) => {
                tracing::info!(attempts = backoff.attempts() + 1, addr = %target.addr, "reconnected");
                return Some(conn);
            }
            Err(e) => e,
        };
        tracing::debug!(error = %error, attempts = backoff.attempts() + 1, "reconnect failed");
        if let Error::Auth(_) = error {
            owner.rejected(&error);
        }
        owner.failed(error);
        let Some(pause) = backoff.failed() else {
            tracing::warn!(attempts = backoff.attempts(), addr = %config.addr, "giving up reconnecting");
            return None;
        };
        tokio::select! {
            _ = tokio::time::sleep_until(super::deadline(pause)) => {}
            _ = owner.wait_done() => {}
        }
        owner.paused();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(initial: Duration, max: Duration, attempts: Option<u32>) -> ReconnectPolicy {
        ReconnectPolicy {
            initial_delay: initial,
            max_delay: max,
            max_attempts: attempts,
        }
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_delay() {
        for delay in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_millis(20),
            Duration::from_secs(3),
            Duration::MAX,
        ] {
            for permille in [0, 1, 500, 999, 1000, 5000] {
                let j = jitter(delay, permille);
                assert!(
                    j >= delay / 2 && j <= delay,
                    "{delay:?} at {permille}: {j:?}"
                );
            }
        }
        // The random factor really spreads pauses.
        let spread: std::collections::HashSet<_> = (0..50)
            .map(|_| jitter(Duration::from_secs(1), random_permille()))
            .collect();
        assert!(spread.len() > 5, "{spread:?}");
    }

    #[test]
    fn backoff_doubles_up_to_the_max_without_overflow() {
        let mut b = Backoff::new(&policy(Duration::from_secs(1), Duration::MAX, None));
        let mut last = Duration::ZERO;
        for _ in 0..200 {
            let pause = b.failed().unwrap_or_default();
            // Jitter takes at least half: the floor doubles until it saturates.
            assert!(pause >= last / 2, "{pause:?} after {last:?}");
            last = pause;
        }
        assert!(last >= Duration::MAX / 4, "{last:?}");

        let mut b = Backoff::new(&policy(
            Duration::from_millis(20),
            Duration::from_millis(500),
            None,
        ));
        let pauses: Vec<_> = (0..10).filter_map(|_| b.failed()).collect();
        assert!(pauses.iter().all(|p| *p <= Duration::from_millis(500)));
        assert!(pauses[9] >= Duration::from_millis(250), "{pauses:?}");
    }

    #[test]
    fn backoff_gives_up_after_max_attempts() {
        let mut b = Backoff::new(&policy(Duration::ZERO, Duration::ZERO, Some(3)));
        assert!(b.failed().is_some());
        assert!(b.failed().is_some());
        assert!(b.failed().is_none());
        assert_eq!(b.attempts(), 3);
    }
}
