//! Blocking commands, for a [`DedicatedConnection`] only: BLPOP, BRPOP, BLMOVE,
//! BZPOPMIN, BZPOPMAX, XREAD and XREADGROUP with BLOCK, WAIT.
//!
//! Each waits on the server until data arrives or its own timeout passes, which
//! would stall every other caller of a shared connection: that is why they are
//! methods of a connection of one's own and not of [`crate::Client`] (whose
//! [`crate::Client::command`] refuses them too). Their requests wait as long as the
//! server does; give one a [`Request::timeout`] to bound it from this side too (a
//! call that times out after its command was sent breaks the connection, as its
//! reply would be read as the next command's).
//!
//! A blocking timeout is sent in seconds with millisecond precision (`0.5`); zero
//! waits forever.

use std::time::Duration;

use redmux_resp::ToArg;

use super::lists::Side;
use super::streams_read::{StreamRead, XReadGroupOptions, with_streams};
use crate::{DedicatedConnection, FromValue, Request, cmd};

/// Seconds as the server reads a blocking timeout: a decimal with up to three
/// places.
fn seconds(timeout: Duration) -> f64 {
    timeout.as_millis() as f64 / 1000.0
}

/// Milliseconds, saturating.
fn millis(timeout: Duration) -> u64 {
    u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)
}

impl DedicatedConnection {
    /// Pops from the head of the first non-empty list, waiting up to `timeout` for
    /// one: `BLPOP key [key ...] timeout`. `Some((key, value))`, or `None` when the
    /// timeout passed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let conn = client.dedicated().await?;
    /// let job: Option<(String, String)> = conn.blpop(["jobs:high", "jobs:low"], Duration::from_secs(5)).await?;
    /// # Ok(()) }
    /// ```
    pub fn blpop<T: FromValue>(
        &self,
        keys: impl IntoIterator<Item = impl ToArg>,
        timeout: Duration,
    ) -> Request<'_, Option<(String, T)>> {
        self.request(cmd("BLPOP").keys(keys).arg(seconds(timeout)))
    }

    /// Pops from the tail of the first non-empty list, waiting up to `timeout`:
    /// `BRPOP key [key ...] timeout`. As [`blpop`](Self::blpop) otherwise.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let conn = client.dedicated().await?;
    /// let job: Option<(String, String)> = conn.brpop(["jobs"], Duration::from_secs(5)).await?;
    /// # Ok(()) }
    /// ```
    pub fn brpop<T: FromValue>(
        &self,
        keys: impl IntoIterator<Item = impl ToArg>,
        timeout: Duration,
    ) -> Request<'_, Option<(String, T)>> {
        self.request(cmd("BRPOP").keys(keys).arg(seconds(timeout)))
    }

    /// Moves an element from one list to another, waiting up to `timeout` for the
    /// source to have one: `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT
    /// timeout`. The element moved, or `None` when the timeout passed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// use redmux::Side;
    /// let conn = client.dedicated().await?;
    /// let job: Option<String> = conn
    ///     .blmove("jobs", "jobs:working", Side::Left, Side::Right, Duration::from_secs(5))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn blmove<T: FromValue>(
        &self,
        source: impl ToArg,
        destination: impl ToArg,
        from: Side,
        to: Side,
        timeout: Duration,
    ) -> Request<'_, Option<T>> {
        self.request(
            cmd("BLMOVE")
                .key(source)
                .key(destination)
                .arg(from.as_str())
                .arg(to.as_str())
                .arg(seconds(timeout)),
        )
    }

    /// Pops the lowest-scored member of the first non-empty sorted set, waiting up
    /// to `timeout`: `BZPOPMIN key [key ...] timeout`. `Some((key, member,
    /// score))`, or `None` when the timeout passed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let conn = client.dedicated().await?;
    /// let next: Option<(String, String, f64)> = conn.bzpopmin(["deadlines"], Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn bzpopmin<T: FromValue>(
        &self,
        keys: impl IntoIterator<Item = impl ToArg>,
        timeout: Duration,
    ) -> Request<'_, Option<(String, T, f64)>> {
        self.request(cmd("BZPOPMIN").keys(keys).arg(seconds(timeout)))
    }

    /// Pops the highest-scored member of the first non-empty sorted set, waiting up
    /// to `timeout`: `BZPOPMAX key [key ...] timeout`. As
    /// [`bzpopmin`](Self::bzpopmin) otherwise.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let conn = client.dedicated().await?;
    /// let top: Option<(String, String, f64)> = conn.bzpopmax(["bids"], Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn bzpopmax<T: FromValue>(
        &self,
        keys: impl IntoIterator<Item = impl ToArg>,
        timeout: Duration,
    ) -> Request<'_, Option<(String, T, f64)>> {
        self.request(cmd("BZPOPMAX").keys(keys).arg(seconds(timeout)))
    }

    /// Reads entries after the given IDs, waiting up to `block` for one to arrive:
    /// `XREAD BLOCK ms STREAMS key [key ...] id [id ...]` (`$` as an ID means
    /// "only what arrives from now"). Empty when the wait ran out.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let conn = client.dedicated().await?;
    /// let reads = conn.xread_block([("orders", "$")], Duration::from_secs(5)).await?;
    /// # Ok(()) }
    /// ```
    pub fn xread_block(
        &self,
        streams: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
        block: Duration,
    ) -> Request<'_, Vec<StreamRead>> {
        let command = cmd("XREAD").arg("BLOCK").arg(millis(block));
        self.request(with_streams(command, streams))
    }

    /// Reads as a consumer of a group, waiting up to `block` for new entries:
    /// `XREADGROUP GROUP group consumer [COUNT n] [NOACK] BLOCK ms STREAMS key
    /// [key ...] id [id ...]`. Empty when the wait ran out.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// use redmux::XReadGroupOptions;
    /// let conn = client.dedicated().await?;
    /// let reads = conn
    ///     .xreadgroup_block("billing", "worker-1", [("orders", ">")], XReadGroupOptions::new().count(10), Duration::from_secs(5))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn xreadgroup_block(
        &self,
        group: impl ToArg,
        consumer: impl ToArg,
        streams: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
        options: XReadGroupOptions,
        block: Duration,
    ) -> Request<'_, Vec<StreamRead>> {
        let mut command = cmd("XREADGROUP").arg("GROUP").arg(group).arg(consumer);
        options.push_args(&mut command);
        command.push_arg("BLOCK").push_arg(millis(block));
        self.request(with_streams(command, streams))
    }

    /// Waits until the writes this connection made before are on at least
    /// `replicas` replicas, or `timeout` passes: `WAIT numreplicas timeout`.
    /// Replies with how many replicas have them.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let conn = client.dedicated().await?;
    /// conn.set("balance", 10).await?;
    /// let replicas: u64 = conn.wait(1, Duration::from_millis(100)).await?;
    /// # Ok(()) }
    /// ```
    pub fn wait(&self, replicas: u64, timeout: Duration) -> Request<'_, u64> {
        self.request(cmd("WAIT").arg(replicas).arg(millis(timeout)))
    }
}
