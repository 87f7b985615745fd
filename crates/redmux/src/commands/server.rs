//! Server and connection commands: PING, ECHO, INFO, DBSIZE, FLUSHDB, TIME, PUBLISH.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redmux_resp::{ToArg, Value};

use crate::{Commands, Error, FromValue, Request, Result, cmd};

impl Commands {
    /// Checks the server answers: `PING`. The reply is `PONG`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let pong: String = client.ping().timeout(Duration::from_millis(200)).await?;
    /// # Ok(()) }
    /// ```
    pub fn ping(&self) -> Request<'_, String> {
        self.request(cmd("PING"))
    }

    /// Asks the server to send a message back: `ECHO message`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let back: String = client.echo("hello").await?;
    /// # Ok(()) }
    /// ```
    pub fn echo<T: FromValue>(&self, message: impl ToArg) -> Request<'_, T> {
        self.request(cmd("ECHO").arg(message))
    }

    /// The server's default report, as text: `INFO`. Lines of `field:value` under
    /// `# Section` headings.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let info = client.info().await?;
    /// let uptime = info.lines().find_map(|l| l.strip_prefix("uptime_in_seconds:"));
    /// # Ok(()) }
    /// ```
    pub fn info(&self) -> Request<'_, String> {
        self.request(cmd("INFO"))
    }

    /// One section of the server's report (`server`, `memory`, `keyspace`, `all`, ...),
    /// as text: `INFO section`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let memory = client.info_section("memory").await?;
    /// # Ok(()) }
    /// ```
    pub fn info_section(&self, section: impl ToArg) -> Request<'_, String> {
        self.request(cmd("INFO").arg(section))
    }

    /// The number of keys in the selected database: `DBSIZE`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let keys: u64 = client.dbsize().await?;
    /// # Ok(()) }
    /// ```
    pub fn dbsize(&self) -> Request<'_, u64> {
        self.request(cmd("DBSIZE"))
    }

    /// Deletes every key of the selected database: `FLUSHDB`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.flushdb().await?;
    /// # Ok(()) }
    /// ```
    pub fn flushdb(&self) -> Request<'_, ()> {
        self.request(cmd("FLUSHDB"))
    }

    /// The server's clock, to the microsecond: `TIME`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let now = client.time().await?;
    /// let skew = now.duration_since(std::time::SystemTime::now());
    /// # Ok(()) }
    /// ```
    pub fn time(&self) -> Request<'_, SystemTime> {
        self.request(cmd("TIME"))
    }

    /// Sends a message to a channel's subscribers: `PUBLISH channel message`. The reply
    /// is how many subscribers received it (on this node, in a cluster).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let receivers: u64 = client.publish("jobs:wake", "").await?;
    /// # Ok(()) }
    /// ```
    pub fn publish(&self, channel: impl ToArg, message: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("PUBLISH").arg(channel).arg(message))
    }
}

/// A `TIME` reply, `[unix seconds, microseconds]`, as a point in time.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use redmux::{FromValue, Value};
/// let t = SystemTime::from_value(Value::Array(vec!["1700000000".into(), "250".into()])).unwrap();
/// assert_eq!(t, UNIX_EPOCH + Duration::new(1_700_000_000, 250_000));
/// ```
impl FromValue for SystemTime {
    fn from_value(value: Value) -> Result<Self> {
        let (secs, micros) = <(u64, u32)>::from_value(value)?;
        if micros >= 1_000_000 {
            return Err(Error::conversion(
                "microseconds below 1000000",
                &Value::Integer(i64::from(micros)),
            ));
        }
        UNIX_EPOCH
            .checked_add(Duration::new(secs, micros * 1000))
            .ok_or_else(|| {
                let secs = i64::try_from(secs).unwrap_or(i64::MAX);
                Error::conversion("a representable time", &Value::Integer(secs))
            })
    }
}
