//! Taking pending entries over for another consumer: XCLAIM ([`XClaim`]) and
//! XAUTOCLAIM ([`XAutoClaim`], [`AutoClaim`]).

use std::time::{Duration, SystemTime};

use redmux_resp::{ToArg, Value};

use super::{StreamEntry, millis, since_epoch};
use crate::{Command, Commands, Error, FromValue, Request, Result, cmd};

impl Commands {
    /// Takes pending entries over for another consumer, those idle at least the
    /// claim's minimum: `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms]
    /// [TIME unix-time-ms] [RETRYCOUNT count] [FORCE] [LASTID id]`. The reply is the
    /// entries claimed; an entry deleted from the stream meanwhile is dropped from the
    /// pending list and left out.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// use redmux::XClaim;
    /// let taken = client
    ///     .xclaim("orders", XClaim::new("billing", "worker-2", Duration::from_secs(60), ["1700000000000-0"]))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn xclaim(&self, key: impl ToArg, claim: XClaim) -> Request<'_, Vec<StreamEntry>> {
        self.request(claim.command(key, false))
    }

    /// As [`xclaim`](Self::xclaim), replying with the IDs claimed only, and without
    /// counting a delivery: `XCLAIM ... JUSTID`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// use redmux::XClaim;
    /// let ids: Vec<String> = client
    ///     .xclaim_justid("orders", XClaim::new("billing", "worker-2", Duration::ZERO, ["1-0", "2-0"]).force())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn xclaim_justid(&self, key: impl ToArg, claim: XClaim) -> Request<'_, Vec<String>> {
        self.request(claim.command(key, true))
    }

    /// Scans a group's pending list from an ID and takes over the entries idle at
    /// least the claim's minimum: `XAUTOCLAIM key group consumer min-idle-time start
    /// [COUNT count]`. Call it again from [`AutoClaim::next`] until that is `0-0`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// use redmux::XAutoClaim;
    /// let mut start = "0-0".to_string();
    /// loop {
    ///     let claim = XAutoClaim::new("billing", "worker-2", Duration::from_secs(60)).start(&start).count(50);
    ///     let page = client.xautoclaim("orders", claim).await?;
    ///     for entry in page.claimed {
    ///         // ... handle, then XACK
    ///     }
    ///     if page.next == "0-0" { break }
    ///     start = page.next;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn xautoclaim(
        &self,
        key: impl ToArg,
        claim: XAutoClaim,
    ) -> Request<'_, AutoClaim<StreamEntry>> {
        self.request(claim.command(key, false))
    }

    /// As [`xautoclaim`](Self::xautoclaim), replying with the IDs claimed only, and
    /// without counting a delivery: `XAUTOCLAIM ... JUSTID`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// use redmux::XAutoClaim;
    /// let page = client.xautoclaim_justid("orders", XAutoClaim::new("billing", "worker-2", Duration::from_secs(60))).await?;
    /// let ids: Vec<String> = page.claimed;
    /// # Ok(()) }
    /// ```
    pub fn xautoclaim_justid(
        &self,
        key: impl ToArg,
        claim: XAutoClaim,
    ) -> Request<'_, AutoClaim<String>> {
        self.request(claim.command(key, true))
    }
}

/// Which entries [`Client::xclaim`] takes over, for whom, and how.
///
/// ```
/// use std::time::Duration;
/// use redmux::XClaim;
/// // XCLAIM key billing worker-2 60000 1-0 2-0 RETRYCOUNT 3 FORCE
/// let claim = XClaim::new("billing", "worker-2", Duration::from_secs(60), ["1-0", "2-0"]).retrycount(3).force();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XClaim {
    group: String,
    consumer: String,
    min_idle: Duration,
    ids: Vec<String>,
    idle: Option<Duration>,
    time: Option<SystemTime>,
    retrycount: Option<u64>,
    force: bool,
    lastid: Option<String>,
}

impl XClaim {
    /// Entries `ids` of `group`, for `consumer`, if each has been idle at least
    /// `min_idle` (zero claims them whatever their idle time).
    pub fn new(
        group: impl Into<String>,
        consumer: impl Into<String>,
        min_idle: Duration,
        ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        XClaim {
            group: group.into(),
            consumer: consumer.into(),
            min_idle,
            ids: ids.into_iter().map(Into::into).collect(),
            idle: None,
            time: None,
            retrycount: None,
            force: false,
            lastid: None,
        }
    }

    /// `IDLE ms`: set the claimed entries' idle time to this (0 otherwise).
    pub fn idle(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
    }

    /// `TIME unix-time-ms`: as [`idle`](Self::idle), as the time of the last delivery.
    pub fn time(mut self, delivered_at: SystemTime) -> Self {
        self.time = Some(delivered_at);
        self
    }

    /// `RETRYCOUNT count`: set the delivery count (otherwise incremented, except with
    /// JUSTID).
    pub fn retrycount(mut self, count: u64) -> Self {
        self.retrycount = Some(count);
        self
    }

    /// `FORCE`: claim IDs that are in the stream but not pending in the group.
    pub fn force(mut self) -> Self {
        self.force = true;
        self
    }

    /// `LASTID id`: also move the group's last-delivered ID forward to this one.
    pub fn lastid(mut self, id: impl Into<String>) -> Self {
        self.lastid = Some(id.into());
        self
    }

    fn command(self, key: impl ToArg, justid: bool) -> Command {
        let mut command = cmd("XCLAIM")
            .key(key)
            .arg(self.group)
            .arg(self.consumer)
            .arg(millis(self.min_idle))
            .args(self.ids);
        if let Some(idle) = self.idle {
            command.push_arg("IDLE").push_arg(millis(idle));
        }
        if let Some(time) = self.time {
            command.push_arg("TIME").push_arg(millis(since_epoch(time)));
        }
        if let Some(count) = self.retrycount {
            command.push_arg("RETRYCOUNT").push_arg(count);
        }
        if self.force {
            command.push_arg("FORCE");
        }
        if justid {
            command.push_arg("JUSTID");
        }
        if let Some(id) = self.lastid {
            command.push_arg("LASTID").push_arg(id);
        }
        command
    }
}

/// Where [`Client::xautoclaim`] scans a group's pending list, for whom, and how far.
///
/// ```
/// use std::time::Duration;
/// use redmux::XAutoClaim;
/// // XAUTOCLAIM key billing worker-2 60000 0-0 COUNT 25
/// let claim = XAutoClaim::new("billing", "worker-2", Duration::from_secs(60)).count(25);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XAutoClaim {
    group: String,
    consumer: String,
    min_idle: Duration,
    start: String,
    count: Option<u64>,
}

impl XAutoClaim {
    /// Entries of `group` idle at least `min_idle`, for `consumer`, from the start of
    /// the pending list, 100 at most (the server's default).
    pub fn new(group: impl Into<String>, consumer: impl Into<String>, min_idle: Duration) -> Self {
        XAutoClaim {
            group: group.into(),
            consumer: consumer.into(),
            min_idle,
            start: "0-0".into(),
            count: None,
        }
    }

    /// `start`: scan from this ID (the previous call's [`AutoClaim::next`]).
    pub fn start(mut self, id: impl Into<String>) -> Self {
        self.start = id.into();
        self
    }

    /// `COUNT count`: claim at most this many; the server scans at most ten times as
    /// many pending entries per call.
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    fn command(self, key: impl ToArg, justid: bool) -> Command {
        let mut command = cmd("XAUTOCLAIM")
            .key(key)
            .arg(self.group)
            .arg(self.consumer)
            .arg(millis(self.min_idle))
            .arg(self.start);
        if let Some(count) = self.count {
            command.push_arg("COUNT").push_arg(count);
        }
        if justid {
            command.push_arg("JUSTID");
        }
        command
    }
}

/// A [`Client::xautoclaim`] reply: where to continue, what was claimed (entries, or
/// IDs with JUSTID), and what was found deleted.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use std::time::Duration;
/// use redmux::{AutoClaim, StreamEntry, XAutoClaim};
/// // XAUTOCLAIM orders billing worker-2 60000 0-0
/// let page: AutoClaim<StreamEntry> = client
///     .xautoclaim("orders", XAutoClaim::new("billing", "worker-2", Duration::from_secs(60)))
///     .await?;
/// println!("took {}, {} were deleted, next {}", page.claimed.len(), page.deleted.len(), page.next);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoClaim<T> {
    /// The ID to start the next call from; `0-0` when the scan is complete.
    pub next: String,
    /// The entries (or IDs) now held by the claiming consumer.
    pub claimed: Vec<T>,
    /// Pending IDs whose entries had been deleted from the stream: the server dropped
    /// them from the pending list. Always empty before Redis 7.0, which does not say.
    pub deleted: Vec<String>,
}

/// Reads `[next, claimed, deleted]` (Redis 7.0) or `[next, claimed]` (6.2).
impl<T: FromValue> FromValue for AutoClaim<T> {
    fn from_value(value: Value) -> Result<Self> {
        let Value::Array(items) = value else {
            return Err(Error::conversion("an XAUTOCLAIM reply", &value));
        };
        if !(2..=3).contains(&items.len()) {
            return Err(Error::conversion(
                "an XAUTOCLAIM reply",
                &Value::Array(items),
            ));
        }
        let mut items = items.into_iter();
        let next = String::from_value(items.next().unwrap_or(Value::Nil))?;
        let claimed = Vec::<T>::from_value(items.next().unwrap_or(Value::Nil))?;
        let deleted = Vec::<String>::from_value(items.next().unwrap_or(Value::Nil))?;
        Ok(AutoClaim {
            next,
            claimed,
            deleted,
        })
    }
}
