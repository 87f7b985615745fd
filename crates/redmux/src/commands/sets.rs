//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SCARD.

use redmux_resp::ToArg;

use crate::{Client, FromValue, Request, cmd};

impl Client {
    /// Adds a member to a set, creating it if needed: `SADD key member`. The reply is
    /// whether the member is new.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let added: bool = client.sadd("tags:42", "rust").await?;
    /// # Ok(()) }
    /// ```
    pub fn sadd(&self, key: impl ToArg, member: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("SADD").arg(key).arg(member))
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
        self.request(cmd("SADD").arg(key).args(members))
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
        self.request(cmd("SREM").arg(key).arg(member))
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
        self.request(cmd("SREM").arg(key).args(members))
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
        self.request(cmd("SMEMBERS").arg(key))
    }

    /// Whether a set has a member: `SISMEMBER key member`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let tagged: bool = client.sismember("tags:42", "rust").await?;
    /// # Ok(()) }
    /// ```
    pub fn sismember(&self, key: impl ToArg, member: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("SISMEMBER").arg(key).arg(member))
    }

    /// The number of members of a set, 0 for a missing key: `SCARD key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let count: u64 = client.scard("tags:42").await?;
    /// # Ok(()) }
    /// ```
    pub fn scard(&self, key: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("SCARD").arg(key))
    }
}
