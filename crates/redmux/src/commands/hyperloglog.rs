//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE. A HyperLogLog counts distinct
//! elements in at most 12 KiB, with a standard error of 0.81%.

use redmux_resp::ToArg;

use crate::{Commands, Request, cmd};

impl Commands {
    /// Adds an element to a HyperLogLog, creating it if needed: `PFADD key element`.
    /// The reply is whether the estimate changed (an element seen before, or a
    /// collision, leaves it as it was).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let changed: bool = client.pfadd("visitors:today", "203.0.113.9").await?;
    /// # Ok(()) }
    /// ```
    pub fn pfadd(&self, key: impl ToArg, element: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("PFADD").key(key).arg(element))
    }

    /// Adds elements to a HyperLogLog, creating it if needed:
    /// `PFADD key [element ...]`. The reply is whether the estimate changed: unlike
    /// other `_many` methods, PFADD answers 0 or 1, not a count. Given no elements it
    /// creates an empty HyperLogLog if there was none (and answers whether it did).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let changed: bool = client.pfadd_many("visitors:today", ["ada", "bob", "eve"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn pfadd_many(
        &self,
        key: impl ToArg,
        elements: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, bool> {
        self.request(cmd("PFADD").key(key).args(elements))
    }

    /// The estimated number of distinct elements added, 0 for a missing key:
    /// `PFCOUNT key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let visitors: u64 = client.pfcount("visitors:today").await?;
    /// # Ok(()) }
    /// ```
    pub fn pfcount(&self, key: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("PFCOUNT").key(key))
    }

    /// The estimated number of distinct elements in the union of several
    /// HyperLogLogs, without changing them: `PFCOUNT key [key ...]`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let this_week: u64 = client.pfcount_many(["visitors:mon", "visitors:tue"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn pfcount_many(&self, keys: impl IntoIterator<Item = impl ToArg>) -> Request<'_, u64> {
        self.request(cmd("PFCOUNT").keys(keys))
    }

    /// Stores the union of HyperLogLogs in `destination`, merging into what it already
    /// holds: `PFMERGE destkey [sourcekey ...]`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.pfmerge("visitors:week", ["visitors:mon", "visitors:tue"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn pfmerge(
        &self,
        destination: impl ToArg,
        sources: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, ()> {
        self.request(cmd("PFMERGE").key(destination).keys(sources))
    }
}
