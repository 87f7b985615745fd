//! Sorted set commands: ZADD, ZREM, ZSCORE, ZINCRBY, ZRANK, ZCARD. ZRANGE and its
//! options are in `zrange.rs`.

use redmux_resp::ToArg;

use crate::{Client, Command, Request, cmd};

impl Client {
    /// Adds a member with a score, or updates the score of an existing member:
    /// `ZADD key score member`. The reply is whether the member is new.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let added: bool = client.zadd("leaderboard", 1200.0, "ada").await?;
    /// # Ok(()) }
    /// ```
    pub fn zadd(&self, key: impl ToArg, score: f64, member: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("ZADD").arg(key).arg(score).arg(member))
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
        self.request(scored(cmd("ZADD").arg(key), members))
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
        let mut command = cmd("ZADD").arg(key);
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
        self.request(cmd("ZREM").arg(key).arg(member))
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
        self.request(cmd("ZREM").arg(key).args(members))
    }

    /// A member's score: `ZSCORE key member`. `None` when the member or key is missing.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let score: Option<f64> = client.zscore("leaderboard", "ada").await?;
    /// # Ok(()) }
    /// ```
    pub fn zscore(&self, key: impl ToArg, member: impl ToArg) -> Request<'_, Option<f64>> {
        self.request(cmd("ZSCORE").arg(key).arg(member))
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
        self.request(cmd("ZINCRBY").arg(key).arg(increment).arg(member))
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
        self.request(cmd("ZRANK").arg(key).arg(member))
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
        self.request(cmd("ZREVRANK").arg(key).arg(member))
    }

    /// The number of members, 0 for a missing key: `ZCARD key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let players: u64 = client.zcard("leaderboard").await?;
    /// # Ok(()) }
    /// ```
    pub fn zcard(&self, key: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("ZCARD").arg(key))
    }
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
