//! List commands: LPUSH, RPUSH, LPOP, RPOP, LRANGE, LLEN, LREM, LTRIM, LMOVE, ...
//!
//! The blocking pops (BLPOP, BRPOP, BLMOVE) have no method here: on the shared
//! connection one of them would stall every caller. Use `client.dedicated()` for them,
//! or the work-queue pattern (LPUSH plus a PUBLISH wake-up).

use redmux_resp::ToArg;

use crate::{Commands, FromValue, Request, cmd};

/// An end of a list, for [`Client::lmove`].
///
/// ```
/// use redmux::Side;
/// assert_eq!(Side::Left.as_str(), "LEFT");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// `LEFT`: the head, where LPUSH pushes and LPOP pops.
    Left,
    /// `RIGHT`: the tail, where RPUSH pushes and RPOP pops.
    Right,
}

impl Side {
    /// The word Redis uses for the side.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Left => "LEFT",
            Side::Right => "RIGHT",
        }
    }
}

impl Commands {
    /// Pushes a value onto the head of a list, creating it if needed:
    /// `LPUSH key element`. The reply is the list's new length.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let len: u64 = client.lpush("jobs", "job-1").await?;
    /// # Ok(()) }
    /// ```
    pub fn lpush(&self, key: impl ToArg, value: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("LPUSH").key(key).arg(value))
    }

    /// Pushes values onto the head of a list, one after another (so the last ends up
    /// first): `LPUSH key element [element ...]`. The reply is the list's new length.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let len: u64 = client.lpush_many("jobs", ["job-1", "job-2"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn lpush_many(
        &self,
        key: impl ToArg,
        values: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, u64> {
        self.request(cmd("LPUSH").key(key).args(values))
    }

    /// Appends a value to the tail of a list, creating it if needed:
    /// `RPUSH key element`. The reply is the list's new length.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let len: u64 = client.rpush("log", "started").await?;
    /// # Ok(()) }
    /// ```
    pub fn rpush(&self, key: impl ToArg, value: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("RPUSH").key(key).arg(value))
    }

    /// Appends values to the tail of a list, in order:
    /// `RPUSH key element [element ...]`. The reply is the list's new length.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let len: u64 = client.rpush_many("log", ["a", "b", "c"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn rpush_many(
        &self,
        key: impl ToArg,
        values: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, u64> {
        self.request(cmd("RPUSH").key(key).args(values))
    }

    /// Removes and returns the head of a list: `LPOP key`. Nil (an empty or missing
    /// list) converts to `None`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let job: Option<String> = client.lpop("jobs").await?;
    /// # Ok(()) }
    /// ```
    pub fn lpop<T: FromValue>(&self, key: impl ToArg) -> Request<'_, T> {
        self.request(cmd("LPOP").key(key))
    }

    /// Removes and returns up to `count` elements from the head of a list:
    /// `LPOP key count`. An empty or missing list gives an empty vector.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let batch: Vec<String> = client.lpop_count("jobs", 100).await?;
    /// # Ok(()) }
    /// ```
    pub fn lpop_count<T: FromValue>(&self, key: impl ToArg, count: u64) -> Request<'_, Vec<T>> {
        self.request(cmd("LPOP").key(key).arg(count))
    }

    /// Removes and returns the tail of a list: `RPOP key`. Nil (an empty or missing
    /// list) converts to `None`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let last: Option<String> = client.rpop("log").await?;
    /// # Ok(()) }
    /// ```
    pub fn rpop<T: FromValue>(&self, key: impl ToArg) -> Request<'_, T> {
        self.request(cmd("RPOP").key(key))
    }

    /// Removes and returns up to `count` elements from the tail of a list, last first:
    /// `RPOP key count`. An empty or missing list gives an empty vector.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let newest: Vec<String> = client.rpop_count("log", 10).await?;
    /// # Ok(()) }
    /// ```
    pub fn rpop_count<T: FromValue>(&self, key: impl ToArg, count: u64) -> Request<'_, Vec<T>> {
        self.request(cmd("RPOP").key(key).arg(count))
    }

    /// Elements of a list by index, both ends inclusive; negative indexes count from
    /// the tail (`0, -1` is the whole list): `LRANGE key start stop`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let first_ten: Vec<String> = client.lrange("log", 0, 9).await?;
    /// # Ok(()) }
    /// ```
    pub fn lrange<T: FromValue>(
        &self,
        key: impl ToArg,
        start: i64,
        stop: i64,
    ) -> Request<'_, Vec<T>> {
        self.request(cmd("LRANGE").key(key).arg(start).arg(stop))
    }

    /// The element at an index (negative counts from the tail): `LINDEX key index`.
    /// Nil (out of range) converts to `None`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let newest: Option<String> = client.lindex("log", -1).await?;
    /// # Ok(()) }
    /// ```
    pub fn lindex<T: FromValue>(&self, key: impl ToArg, index: i64) -> Request<'_, T> {
        self.request(cmd("LINDEX").key(key).arg(index))
    }

    /// The length of a list, 0 for a missing key: `LLEN key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let backlog: u64 = client.llen("jobs").await?;
    /// # Ok(()) }
    /// ```
    pub fn llen(&self, key: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("LLEN").key(key))
    }

    /// Removes elements equal to `value`: `LREM key count element`. A positive `count`
    /// removes that many from the head on, a negative one from the tail on, 0 removes
    /// all. The reply is how many were removed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let removed: u64 = client.lrem("jobs", 0, "job-1").await?;
    /// # Ok(()) }
    /// ```
    pub fn lrem(&self, key: impl ToArg, count: i64, value: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("LREM").key(key).arg(count).arg(value))
    }

    /// Keeps only the elements from `start` to `stop`, both inclusive; negative
    /// indexes count from the tail: `LTRIM key start stop`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.ltrim("log", -1000, -1).fire_and_forget()?; // keep the newest 1000
    /// # Ok(()) }
    /// ```
    pub fn ltrim(&self, key: impl ToArg, start: i64, stop: i64) -> Request<'_, ()> {
        self.request(cmd("LTRIM").key(key).arg(start).arg(stop))
    }

    /// Pops an element from one end of `source` and pushes it onto one end of
    /// `destination`, atomically: `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`.
    /// The reply is the element; nil (an empty source) converts to `None`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::Side;
    /// // Take the oldest job and keep it in a processing list until it is done.
    /// let job: Option<String> = client.lmove("jobs", "processing", Side::Right, Side::Left).await?;
    /// // For the move alone, name a type to send and forget it: rotate a list.
    /// client.lmove::<()>("ring", "ring", Side::Left, Side::Right).fire_and_forget()?;
    /// # Ok(()) }
    /// ```
    pub fn lmove<T: FromValue>(
        &self,
        source: impl ToArg,
        destination: impl ToArg,
        from: Side,
        to: Side,
    ) -> Request<'_, T> {
        self.request(
            cmd("LMOVE")
                .key(source)
                .key(destination)
                .arg(from.as_str())
                .arg(to.as_str()),
        )
    }
}
