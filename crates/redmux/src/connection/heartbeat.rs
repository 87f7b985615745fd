//! [`Heartbeat`]: the one heartbeat and dead-link rule, for every connection that
//! comes back by itself. What counts as a reply, as idle, and how a PING is sent
//! differ between the multiplexer and the subscriber; each says so through [`Link`].
//!
//! The rule: PING a link idle for `heartbeat_interval`. Declare it dead when nothing
//! has come back for `dead_link_timeout` while something waits for a reply, *and*
//! either commands timed out meanwhile, or a PING sent on an otherwise idle link is
//! past its deadline unanswered. The second finds a link that died while idle: no
//! caller is waiting to time out, only the PING. Neither fires for a server that is
//! merely slow to answer one long command whose own timeout has not passed (a PING
//! queued behind it does not count): replies stopping alone is not a dead link.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{CommandStatus, Error};

/// What the heartbeat observes of a connection, and how it sends a PING.
pub(crate) trait Link {
    /// Replies so far: whatever this link takes as proof that the server answers.
    fn replies(&self) -> u64;
    /// Whether anything written still awaits its reply.
    fn waiting(&self) -> bool;
    /// Commands timed out so far (0 for a link whose callers have no timeouts).
    fn timeouts(&self) -> u64;
    /// How long the link has been idle, by its own measure.
    fn idle(&self) -> Duration;
    /// Sends a PING, answered by `deadline`, unless traffic enough flows or one is
    /// already owed. Returns whether one went out on a link with nothing else in
    /// flight: only such a PING's deadline says anything about the link.
    fn ping(&mut self, deadline: Instant) -> bool;
}

/// The heartbeat's state between two looks at a link.
#[derive(Debug)]
pub(crate) struct Heartbeat {
    interval: Duration,
    dead_after: Duration,
    /// How long a PING has to be answered.
    ping_within: Duration,
    /// Since when replies have stopped coming while something waits, and how many
    /// timeouts there were then.
    stalled: Option<(Instant, u64)>,
    replies_seen: u64,
    /// The last PING's deadline and the reply count when it was sent: any reply
    /// since (its own or one before it) shows the link alive.
    ping: Option<(Instant, u64)>,
}

impl Heartbeat {
    pub(crate) fn new(config: &Config, link: &impl Link) -> Self {
        Heartbeat {
            interval: config.heartbeat_interval,
            dead_after: config.dead_link_timeout,
            ping_within: config
                .heartbeat_interval
                .max(config.command_timeout)
                .min(super::FOREVER),
            stalled: None,
            replies_seen: link.replies(),
            ping: None,
        }
    }

    /// A timer to call [`Heartbeat::check`] by: often enough for the rule's
    /// precision, rarely enough to cost nothing.
    pub(crate) fn ticker(&self) -> tokio::time::Interval {
        let period = (self.interval.min(self.dead_after) / 4)
            .clamp(Duration::from_millis(10), Duration::from_millis(250));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    }

    /// Looks at the link: PINGs it if idle; `Err` with the reason when it is dead.
    pub(crate) fn check(&mut self, link: &mut impl Link) -> Result<(), Error> {
        let now = Instant::now();
        let replies = link.replies();
        if self.ping.is_some_and(|(_, sent_at)| replies != sent_at) {
            self.ping = None;
        }
        if !link.waiting() || replies != self.replies_seen {
            self.stalled = None;
        } else {
            let timeouts = link.timeouts();
            let (since, timeouts_then) = *self.stalled.get_or_insert((now, timeouts));
            let timed_out = timeouts > timeouts_then;
            let ping_missed = self.ping.is_some_and(|(deadline, _)| now >= deadline);
            if now - since >= self.dead_after && (timed_out || ping_missed) {
                let what = if timed_out {
                    "commands timed out"
                } else {
                    "the heartbeat PING went unanswered"
                };
                return Err(Error::ConnectionLost {
                    status: CommandStatus::Sent,
                    reason: format!(
                        "dead link: {what} and no reply came for {:?} (dead_link_timeout)",
                        now - since
                    )
                    .into(),
                });
            }
        }
        self.replies_seen = replies;
        if link.idle() >= self.interval {
            let deadline = now + self.ping_within;
            if link.ping(deadline) && self.ping.is_none() {
                self.ping = Some((deadline, replies));
            }
        }
        Ok(())
    }
}

/// Runs the heartbeat over `link` until the link is dead; returns why.
pub(crate) async fn monitor(config: &Config, link: &mut impl Link) -> Error {
    let mut heartbeat = Heartbeat::new(config, link);
    let mut tick = heartbeat.ticker();
    loop {
        tick.tick().await;
        if let Err(dead) = heartbeat.check(link) {
            return dead;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link whose server never answers.
    #[derive(Default)]
    struct Silent {
        pings: u32,
        waiting: bool,
    }

    impl Link for Silent {
        fn replies(&self) -> u64 {
            0
        }
        fn waiting(&self) -> bool {
            self.waiting
        }
        fn timeouts(&self) -> u64 {
            0
        }
        fn idle(&self) -> Duration {
            Duration::from_secs(3600)
        }
        fn ping(&mut self, _deadline: Instant) -> bool {
            self.pings += 1;
            // The PING is now owed a reply.
            self.waiting = true;
            self.pings == 1
        }
    }

    #[test]
    fn an_unanswered_ping_makes_a_dead_link_only_after_both_timeouts() {
        let config = Config {
            heartbeat_interval: Duration::from_millis(1),
            command_timeout: Duration::from_millis(30),
            dead_link_timeout: Duration::from_millis(60),
            ..Config::default()
        };
        let mut link = Silent::default();
        let mut heartbeat = Heartbeat::new(&config, &link);
        let started = Instant::now();
        let dead = loop {
            if let Err(e) = heartbeat.check(&mut link) {
                break e;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        assert!(started.elapsed() >= Duration::from_millis(60));
        assert!(dead.to_string().contains("PING"), "{dead}");
        assert!(link.pings >= 1);
    }
}
