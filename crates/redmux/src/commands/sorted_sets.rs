//! Sorted set commands: ZADD, ZREM, ZSCORE, ZMSCORE, ZINCRBY, ZRANK, ZREVRANK, ZCARD,
//! ZCOUNT, ZLEXCOUNT, ZPOPMIN, ZPOPMAX, ZRANDMEMBER, ZREMRANGEBYSCORE,
//! ZREMRANGEBYRANK, ZREMRANGEBYLEX. ZRANGE and its options are in `zrange.rs`, whose
//! score and lexical bounds these share: Rust ranges, `1.0..5.0` excluding 5,
//! `1.0..=5.0` including it, `..` unbounded.

use std::ops::RangeBounds;

use redmux_resp::ToArg;

use super::zrange::{lex_bound, score_bound};
use crate::{Command, Commands, FromValue, Request, cmd};

impl Commands {
    /// Adds a member with a score, or updates the score of an existing member:
    /// `ZADD key score member`. The reply is whether the member is new.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let added: bool = client.zadd("leaderboard", 1200.0, "ada").await?;
    /// # Ok(()) }
    /// ```
    pub fn zadd(&self, key: impl ToArg, score: f64, member: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("ZADD").key(key).arg(score).arg(member))
    }

    /// Adds members with scores, or updates their scores:
    /// `ZADD key score member [score member ...]`. The reply is how many are new.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let added: u64 = client.zadd_many("leaderboard", [(1200.0, "ada"), (900.0, "bob")]).await?;
    /// # Ok(()) }
    /// ```
    pub fn zadd_many(
        &self,
        key: impl ToArg,
        members: impl IntoIterator<Item = (f64, impl ToArg)>,
    ) -> Request<'_, u64> {
        self.request(scored(cmd("ZADD").key(key), members))
    }

    /// Adds or updates members under conditions:
    /// `ZADD key [NX|XX] [GT|LT] [CH] score member [score member ...]`. The reply is how
    /// many members are new, or with [`ch()`](ZAddOptions::ch) how many were added or
    /// had their score changed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::ZAddOptions;
    /// // Raise scores only, and count the raises.
    /// let raised: u64 = client
    ///     .zadd_with("best-times", [(98.5, "ada")], ZAddOptions::new().xx().gt().ch())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn zadd_with(
        &self,
        key: impl ToArg,
        members: impl IntoIterator<Item = (f64, impl ToArg)>,
        options: ZAddOptions,
    ) -> Request<'_, u64> {
        let mut command = cmd("ZADD").key(key);
        options.push_args(&mut command);
        self.request(scored(command, members))
    }

    /// Removes a member: `ZREM key member`. The reply is whether it was there.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let removed: bool = client.zrem("leaderboard", "bob").await?;
    /// # Ok(()) }
    /// ```
    pub fn zrem(&self, key: impl ToArg, member: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("ZREM").key(key).arg(member))
    }

    /// Removes members: `ZREM key member [member ...]`. The reply is how many were
    /// there.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let removed: u64 = client.zrem_many("leaderboard", ["bob", "eve"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn zrem_many(
        &self,
        key: impl ToArg,
        members: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, u64> {
        self.request(cmd("ZREM").key(key).args(members))
    }

    /// A member's score: `ZSCORE key member`. `None` when the member or key is missing.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let score: Option<f64> = client.zscore("leaderboard", "ada").await?;
    /// # Ok(()) }
    /// ```
    pub fn zscore(&self, key: impl ToArg, member: impl ToArg) -> Request<'_, Option<f64>> {
        self.request(cmd("ZSCORE").key(key).arg(member))
    }

    /// Adds to a member's score, adding the member at 0 if needed:
    /// `ZINCRBY key increment member`. The reply is the new score.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let score: f64 = client.zincrby("leaderboard", 50.0, "ada").await?;
    /// # Ok(()) }
    /// ```
    pub fn zincrby(&self, key: impl ToArg, increment: f64, member: impl ToArg) -> Request<'_, f64> {
        self.request(cmd("ZINCRBY").key(key).arg(increment).arg(member))
    }

    /// A member's rank, from 0 for the lowest score: `ZRANK key member`. `None` when
    /// the member or key is missing.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let rank: Option<u64> = client.zrank("leaderboard", "ada").await?;
    /// # Ok(()) }
    /// ```
    pub fn zrank(&self, key: impl ToArg, member: impl ToArg) -> Request<'_, Option<u64>> {
        self.request(cmd("ZRANK").key(key).arg(member))
    }

    /// A member's rank, from 0 for the highest score: `ZREVRANK key member`. `None`
    /// when the member or key is missing.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let place: Option<u64> = client.zrevrank("leaderboard", "ada").await?;
    /// # Ok(()) }
    /// ```
    pub fn zrevrank(&self, key: impl ToArg, member: impl ToArg) -> Request<'_, Option<u64>> {
        self.request(cmd("ZREVRANK").key(key).arg(member))
    }

    /// The number of members, 0 for a missing key: `ZCARD key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let players: u64 = client.zcard("leaderboard").await?;
    /// # Ok(()) }
    /// ```
    pub fn zcard(&self, key: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("ZCARD").key(key))
    }

    /// The scores of several members, in the order given, `None` for each one
    /// missing: `ZMSCORE key member [member ...]`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let scores: Vec<Option<f64>> = client.zmscore("leaderboard", ["ada", "bob"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn zmscore(
        &self,
        key: impl ToArg,
        members: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, Vec<Option<f64>>> {
        self.request(cmd("ZMSCORE").key(key).args(members))
    }

    /// The number of members whose score is in a range, 0 for a missing key:
    /// `ZCOUNT key min max`. The range is a Rust range of scores, as for
    /// [`ZRange::by_score`](crate::ZRange::by_score): `10.0..` is `10 +inf`,
    /// `..20.0` is `-inf (20`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let passed: u64 = client.zcount("grades", 50.0..).await?;
    /// let failed: u64 = client.zcount("grades", ..50.0).await?;
    /// # Ok(()) }
    /// ```
    pub fn zcount(&self, key: impl ToArg, range: impl RangeBounds<f64>) -> Request<'_, u64> {
        self.request(by_score(cmd("ZCOUNT").key(key), range))
    }

    /// The number of members in a range of lexical (byte-wise) order, 0 for a
    /// missing key: `ZLEXCOUNT key min max`. Meaningful when all members have the
    /// same score. The range is a Rust range of strings, as for
    /// [`ZRange::by_lex`](crate::ZRange::by_lex): `"a".."c"` is `[a (c`, `..` is `- +`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let starting_with_a: u64 = client.zlexcount("names", "a".."b").await?;
    /// # Ok(()) }
    /// ```
    pub fn zlexcount<'a>(
        &self,
        key: impl ToArg,
        range: impl RangeBounds<&'a str>,
    ) -> Request<'_, u64> {
        self.request(by_lex(cmd("ZLEXCOUNT").key(key), range))
    }

    /// Removes the member with the lowest score and returns it with its score:
    /// `ZPOPMIN key`. The reply has one pair, or none when the key is missing: take
    /// it with `.pop()`. RESP2's strings and RESP3's doubles read alike.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// if let Some((job, due)) = client.zpopmin::<String>("jobs:by-due-time").await?.pop() {
    ///     println!("{job} was due at {due}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn zpopmin<T: FromValue>(&self, key: impl ToArg) -> Request<'_, Vec<(T, f64)>> {
        self.request(cmd("ZPOPMIN").key(key))
    }

    /// Removes up to `count` members with the lowest scores and returns them with
    /// their scores, lowest first: `ZPOPMIN key count`. RESP2's flat array and
    /// RESP3's pairs read alike; a missing key gives an empty `Vec`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// for (job, due) in client.zpopmin_count::<String>("jobs:by-due-time", 10).await? {
    ///     println!("{job} was due at {due}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn zpopmin_count<T: FromValue>(
        &self,
        key: impl ToArg,
        count: u64,
    ) -> Request<'_, Vec<(T, f64)>> {
        self.request(cmd("ZPOPMIN").key(key).arg(count))
    }

    /// Removes the member with the highest score and returns it with its score:
    /// `ZPOPMAX key`. The reply has one pair, or none when the key is missing: take
    /// it with `.pop()`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// if let Some((bid, amount)) = client.zpopmax::<String>("bids").await?.pop() {
    ///     println!("{bid} wins with {amount}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn zpopmax<T: FromValue>(&self, key: impl ToArg) -> Request<'_, Vec<(T, f64)>> {
        self.request(cmd("ZPOPMAX").key(key))
    }

    /// Removes up to `count` members with the highest scores and returns them with
    /// their scores, highest first: `ZPOPMAX key count`. A missing key gives an
    /// empty `Vec`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let top_three: Vec<(String, f64)> = client.zpopmax_count("bids", 3).await?;
    /// # Ok(()) }
    /// ```
    pub fn zpopmax_count<T: FromValue>(
        &self,
        key: impl ToArg,
        count: u64,
    ) -> Request<'_, Vec<(T, f64)>> {
        self.request(cmd("ZPOPMAX").key(key).arg(count))
    }

    /// A random member, left in place: `ZRANDMEMBER key`. Ask for an `Option`:
    /// `None` when the key is missing.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let pick: Option<String> = client.zrandmember("leaderboard").await?;
    /// # Ok(()) }
    /// ```
    pub fn zrandmember<T: FromValue>(&self, key: impl ToArg) -> Request<'_, T> {
        self.request(cmd("ZRANDMEMBER").key(key))
    }

    /// Random members, left in place: `ZRANDMEMBER key count`. A positive `count`
    /// gives up to that many distinct members; a negative one gives exactly
    /// `-count` members, which may repeat. A missing key gives an empty `Vec`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let sample: Vec<String> = client.zrandmember_count("leaderboard", 5).await?;
    /// # Ok(()) }
    /// ```
    pub fn zrandmember_count<T: FromValue>(
        &self,
        key: impl ToArg,
        count: i64,
    ) -> Request<'_, Vec<T>> {
        self.request(cmd("ZRANDMEMBER").key(key).arg(count))
    }

    /// Random members with their scores, left in place:
    /// `ZRANDMEMBER key count WITHSCORES`. `count` works as in
    /// [`zrandmember_count`](Self::zrandmember_count). RESP2's flat array and
    /// RESP3's pairs read alike.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// for (player, score) in client.zrandmember_with_scores::<String>("leaderboard", 3).await? {
    ///     println!("{player}: {score}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn zrandmember_with_scores<T: FromValue>(
        &self,
        key: impl ToArg,
        count: i64,
    ) -> Request<'_, Vec<(T, f64)>> {
        self.request(cmd("ZRANDMEMBER").key(key).arg(count).arg("WITHSCORES"))
    }

    /// Removes the members whose score is in a range: `ZREMRANGEBYSCORE key min max`.
    /// The reply is how many were removed. The range is as for
    /// [`zcount`](Self::zcount).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client, an_hour_ago: f64) -> redmux::Result<()> {
    /// // Forget the sessions last seen before then.
    /// let expired: u64 = client.zremrangebyscore("sessions:last-seen", ..an_hour_ago).await?;
    /// # Ok(()) }
    /// ```
    pub fn zremrangebyscore(
        &self,
        key: impl ToArg,
        range: impl RangeBounds<f64>,
    ) -> Request<'_, u64> {
        self.request(by_score(cmd("ZREMRANGEBYSCORE").key(key), range))
    }

    /// Removes the members ranked `start` to `stop`, both inclusive, from 0 for the
    /// lowest score; negative ranks count from the highest (-1 is the last):
    /// `ZREMRANGEBYRANK key start stop`. The reply is how many were removed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// // Keep the 100 best scores only.
    /// let dropped: u64 = client.zremrangebyrank("leaderboard", 0, -101).await?;
    /// # Ok(()) }
    /// ```
    pub fn zremrangebyrank(&self, key: impl ToArg, start: i64, stop: i64) -> Request<'_, u64> {
        self.request(cmd("ZREMRANGEBYRANK").key(key).arg(start).arg(stop))
    }

    /// Removes the members in a range of lexical order: `ZREMRANGEBYLEX key min max`.
    /// The reply is how many were removed. The range is as for
    /// [`zlexcount`](Self::zlexcount).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let removed: u64 = client.zremrangebylex("names", "a".."b").await?;
    /// # Ok(()) }
    /// ```
    pub fn zremrangebylex<'a>(
        &self,
        key: impl ToArg,
        range: impl RangeBounds<&'a str>,
    ) -> Request<'_, u64> {
        self.request(by_lex(cmd("ZREMRANGEBYLEX").key(key), range))
    }
}

/// Appends `min max` for a range of scores, as ZCOUNT and ZREMRANGEBYSCORE take them.
fn by_score(command: Command, range: impl RangeBounds<f64>) -> Command {
    command
        .arg(score_bound(range.start_bound(), "-inf"))
        .arg(score_bound(range.end_bound(), "+inf"))
}

/// Appends `min max` for a lexical range, as ZLEXCOUNT and ZREMRANGEBYLEX take them.
fn by_lex<'a>(command: Command, range: impl RangeBounds<&'a str>) -> Command {
    command
        .arg(lex_bound(range.start_bound(), b'-'))
        .arg(lex_bound(range.end_bound(), b'+'))
}

/// Appends `score member` for each pair.
fn scored(mut command: Command, members: impl IntoIterator<Item = (f64, impl ToArg)>) -> Command {
    for (score, member) in members {
        command.push_arg(score).push_arg(member);
    }
    command
}

/// The conditions of [`Client::zadd_with`]. Each setter replaces an earlier choice of
/// the same kind (`nx()` then `xx()` sends `XX`); the server refuses `NX` together
/// with `GT` or `LT`.
///
/// ```
/// use redmux::ZAddOptions;
/// // ZADD key XX GT CH score member ...
/// let raise_only = ZAddOptions::new().xx().gt().ch();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZAddOptions {
    existence: Option<&'static str>,
    comparison: Option<&'static str>,
    ch: bool,
}

impl ZAddOptions {
    /// No conditions: add new members and update existing ones.
    pub fn new() -> Self {
        ZAddOptions::default()
    }

    /// `NX`: only add new members; never update existing ones.
    pub fn nx(mut self) -> Self {
        self.existence = Some("NX");
        self
    }

    /// `XX`: only update existing members; never add new ones.
    pub fn xx(mut self) -> Self {
        self.existence = Some("XX");
        self
    }

    /// `GT`: update an existing member only if the new score is greater.
    pub fn gt(mut self) -> Self {
        self.comparison = Some("GT");
        self
    }

    /// `LT`: update an existing member only if the new score is less.
    pub fn lt(mut self) -> Self {
        self.comparison = Some("LT");
        self
    }

    /// `CH`: reply with how many members were added or changed score, not only added.
    pub fn ch(mut self) -> Self {
        self.ch = true;
        self
    }

    fn push_args(self, command: &mut Command) {
        if let Some(existence) = self.existence {
            command.push_arg(existence);
        }
        if let Some(comparison) = self.comparison {
            command.push_arg(comparison);
        }
        if self.ch {
            command.push_arg("CH");
        }
    }
}
