//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP,
//! SRANDMEMBER, SMOVE, and the set algebra: SINTER, SUNION, SDIFF, their STORE
//! forms, and SINTERCARD.

use redmux_resp::ToArg;

use crate::{Command, Commands, FromValue, Request, cmd};

impl Commands {
    /// Adds a member to a set, creating it if needed: `SADD key member`. The reply is
    /// whether the member is new.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let added: bool = client.sadd("tags:42", "rust").await?;
    /// # Ok(()) }
    /// ```
    pub fn sadd(&self, key: impl ToArg, member: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("SADD").key(key).arg(member))
    }

    /// Adds members to a set: `SADD key member [member ...]`. The reply is how many
    /// are new.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let added: u64 = client.sadd_many("tags:42", ["rust", "redis"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn sadd_many(
        &self,
        key: impl ToArg,
        members: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, u64> {
        self.request(cmd("SADD").key(key).args(members))
    }

    /// Removes a member from a set: `SREM key member`. The reply is whether it was
    /// there.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let removed: bool = client.srem("tags:42", "rust").await?;
    /// # Ok(()) }
    /// ```
    pub fn srem(&self, key: impl ToArg, member: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("SREM").key(key).arg(member))
    }

    /// Removes members from a set: `SREM key member [member ...]`. The reply is how
    /// many were there.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let removed: u64 = client.srem_many("tags:42", ["rust", "redis"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn srem_many(
        &self,
        key: impl ToArg,
        members: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, u64> {
        self.request(cmd("SREM").key(key).args(members))
    }

    /// Every member of a set, in no particular order: `SMEMBERS key`. Ask for a
    /// `HashSet` or a `Vec`; a missing key gives an empty one. RESP2's array and
    /// RESP3's set convert alike.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::collections::HashSet;
    /// let tags: HashSet<String> = client.smembers("tags:42").await?;
    /// # Ok(()) }
    /// ```
    pub fn smembers<T: FromValue>(&self, key: impl ToArg) -> Request<'_, T> {
        self.request(cmd("SMEMBERS").key(key))
    }

    /// Whether a set has a member: `SISMEMBER key member`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let tagged: bool = client.sismember("tags:42", "rust").await?;
    /// # Ok(()) }
    /// ```
    pub fn sismember(&self, key: impl ToArg, member: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("SISMEMBER").key(key).arg(member))
    }

    /// The number of members of a set, 0 for a missing key: `SCARD key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let count: u64 = client.scard("tags:42").await?;
    /// # Ok(()) }
    /// ```
    pub fn scard(&self, key: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("SCARD").key(key))
    }

    /// Whether a set has each member, in the order given:
    /// `SMISMEMBER key member [member ...]`. A missing key has none of them.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let tagged: Vec<bool> = client.smismember("tags:42", ["rust", "go"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn smismember(
        &self,
        key: impl ToArg,
        members: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, Vec<bool>> {
        self.request(cmd("SMISMEMBER").key(key).args(members))
    }

    /// Removes a random member and returns it: `SPOP key`. Ask for an `Option`:
    /// `None` when the key is missing.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let winner: Option<String> = client.spop("raffle").await?;
    /// # Ok(()) }
    /// ```
    pub fn spop<T: FromValue>(&self, key: impl ToArg) -> Request<'_, T> {
        self.request(cmd("SPOP").key(key))
    }

    /// Removes up to `count` random members and returns them: `SPOP key count`. Ask
    /// for a `HashSet` or a `Vec`; a missing key gives an empty one, and RESP3's set
    /// converts like RESP2's array.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let winners: Vec<String> = client.spop_count("raffle", 3).await?;
    /// # Ok(()) }
    /// ```
    pub fn spop_count<T: FromValue>(&self, key: impl ToArg, count: u64) -> Request<'_, T> {
        self.request(cmd("SPOP").key(key).arg(count))
    }

    /// A random member, left in the set: `SRANDMEMBER key`. Ask for an `Option`:
    /// `None` when the key is missing.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let pick: Option<String> = client.srandmember("tags:42").await?;
    /// # Ok(()) }
    /// ```
    pub fn srandmember<T: FromValue>(&self, key: impl ToArg) -> Request<'_, T> {
        self.request(cmd("SRANDMEMBER").key(key))
    }

    /// Random members, left in the set: `SRANDMEMBER key count`. A positive `count`
    /// gives up to that many distinct members (all of them if the set is smaller); a
    /// negative one gives exactly `-count` members, which may repeat, so the reply
    /// is a `Vec`. A missing key gives an empty one.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let distinct: Vec<String> = client.srandmember_count("tags:42", 3).await?;
    /// // Ten draws with replacement: faces may repeat.
    /// let rolls: Vec<u16> = client.srandmember_count("die", -10).await?;
    /// # Ok(()) }
    /// ```
    pub fn srandmember_count<T: FromValue>(
        &self,
        key: impl ToArg,
        count: i64,
    ) -> Request<'_, Vec<T>> {
        self.request(cmd("SRANDMEMBER").key(key).arg(count))
    }

    /// Moves a member from one set to another, atomically:
    /// `SMOVE source destination member`. The reply is whether it was in `source`
    /// (and so was moved).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let moved: bool = client.smove("jobs:waiting", "jobs:running", "job:7").await?;
    /// # Ok(()) }
    /// ```
    pub fn smove(
        &self,
        source: impl ToArg,
        destination: impl ToArg,
        member: impl ToArg,
    ) -> Request<'_, bool> {
        self.request(cmd("SMOVE").key(source).key(destination).arg(member))
    }

    /// The members in every one of the sets: `SINTER key [key ...]`. A missing key is
    /// an empty set, so it empties the result. Ask for a `HashSet` or a `Vec`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::collections::HashSet;
    /// let both: HashSet<String> = client.sinter(["tags:42", "tags:43"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn sinter<T: FromValue>(
        &self,
        keys: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, T> {
        self.request(cmd("SINTER").keys(keys))
    }

    /// The members in any of the sets: `SUNION key [key ...]`. Ask for a `HashSet`
    /// or a `Vec`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::collections::HashSet;
    /// let either: HashSet<String> = client.sunion(["tags:42", "tags:43"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn sunion<T: FromValue>(
        &self,
        keys: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, T> {
        self.request(cmd("SUNION").keys(keys))
    }

    /// The members of the first set that are in none of the others:
    /// `SDIFF key [key ...]`. Ask for a `HashSet` or a `Vec`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::collections::HashSet;
    /// let only_42: HashSet<String> = client.sdiff(["tags:42", "tags:43"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn sdiff<T: FromValue>(
        &self,
        keys: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, T> {
        self.request(cmd("SDIFF").keys(keys))
    }

    /// Stores the intersection of the sets in `destination`, replacing what it held:
    /// `SINTERSTORE destination key [key ...]`. The reply is the size of the result;
    /// an empty result deletes `destination`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let size: u64 = client.sinterstore("tags:common", ["tags:42", "tags:43"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn sinterstore(
        &self,
        destination: impl ToArg,
        keys: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, u64> {
        self.request(cmd("SINTERSTORE").key(destination).keys(keys))
    }

    /// Stores the union of the sets in `destination`, replacing what it held:
    /// `SUNIONSTORE destination key [key ...]`. The reply is the size of the result.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let size: u64 = client.sunionstore("tags:all", ["tags:42", "tags:43"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn sunionstore(
        &self,
        destination: impl ToArg,
        keys: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, u64> {
        self.request(cmd("SUNIONSTORE").key(destination).keys(keys))
    }

    /// Stores the members of the first set that are in none of the others in
    /// `destination`, replacing what it held: `SDIFFSTORE destination key [key ...]`.
    /// The reply is the size of the result.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let size: u64 = client.sdiffstore("tags:only42", ["tags:42", "tags:43"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn sdiffstore(
        &self,
        destination: impl ToArg,
        keys: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, u64> {
        self.request(cmd("SDIFFSTORE").key(destination).keys(keys))
    }

    /// The size of the intersection of the sets, without building it:
    /// `SINTERCARD numkeys key [key ...]`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let in_common: u64 = client.sintercard(["tags:42", "tags:43"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn sintercard(&self, keys: impl IntoIterator<Item = impl ToArg>) -> Request<'_, u64> {
        self.request(sintercard(keys))
    }

    /// The size of the intersection of the sets, counting no further than `limit`:
    /// `SINTERCARD numkeys key [key ...] LIMIT limit`. The server stops as soon as
    /// it has found `limit` members, so "do they share at least 3?" stays cheap on
    /// large sets. A `limit` of 0 means no limit.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let similar = client.sintercard_limit(["tags:42", "tags:43"], 3).await? == 3;
    /// # Ok(()) }
    /// ```
    pub fn sintercard_limit(
        &self,
        keys: impl IntoIterator<Item = impl ToArg>,
        limit: u64,
    ) -> Request<'_, u64> {
        self.request(sintercard(keys).arg("LIMIT").arg(limit))
    }
}

/// `SINTERCARD numkeys key [key ...]`: the keys are counted before they are sent.
fn sintercard<K: ToArg>(keys: impl IntoIterator<Item = K>) -> Command {
    let keys: Vec<K> = keys.into_iter().collect();
    cmd("SINTERCARD").arg(keys.len()).keys(keys)
}
