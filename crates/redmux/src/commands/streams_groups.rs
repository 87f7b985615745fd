//! Consumer groups: XGROUP ([`XGroupCreateOptions`]), XACK, XPENDING
//! ([`PendingSummary`], [`XPendingOptions`], [`PendingEntry`]), XCLAIM ([`XClaim`]) and
//! XAUTOCLAIM ([`XAutoClaim`], [`AutoClaim`]). Reading as a consumer, XREADGROUP, is in
//! `streams_read.rs`.

use std::time::{Duration, SystemTime};

use redmux_resp::{ToArg, Value};

use super::{StreamEntry, millis, since_epoch};
use crate::{Client, Command, Error, FromValue, Request, Result, cmd};

impl Client {
    /// Creates a consumer group that will deliver entries after `id` (`$` for only new
    /// ones, `0` for the whole stream): `XGROUP CREATE key group id|$`.
    ///
    /// # Errors
    ///
    /// A missing stream is a server error (see
    /// [`mkstream()`](XGroupCreateOptions::mkstream)), and so is an existing group
    /// (`BUSYGROUP Consumer Group name already exists`).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.xgroup_create("orders", "billing", "$").await?;
    /// # Ok(()) }
    /// ```
    pub fn xgroup_create(
        &self,
        key: impl ToArg,
        group: impl ToArg,
        id: impl ToArg,
    ) -> Request<'_, ()> {
        self.request(cmd("XGROUP").arg("CREATE").arg(key).arg(group).arg(id))
    }

    /// Creates a consumer group with options: `XGROUP CREATE key group id|$
    /// [MKSTREAM] [ENTRIESREAD entries-read]`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::XGroupCreateOptions;
    /// client.xgroup_create_with("orders", "billing", "0", XGroupCreateOptions::new().mkstream()).await?;
    /// # Ok(()) }
    /// ```
    pub fn xgroup_create_with(
        &self,
        key: impl ToArg,
        group: impl ToArg,
        id: impl ToArg,
        options: XGroupCreateOptions,
    ) -> Request<'_, ()> {
        let mut command = cmd("XGROUP").arg("CREATE").arg(key).arg(group).arg(id);
        if options.mkstream {
            command.push_arg("MKSTREAM");
        }
        if let Some(entries_read) = options.entries_read {
            command.push_arg("ENTRIESREAD").push_arg(entries_read);
        }
        self.request(command)
    }

    /// Deletes a consumer group, its consumers and its pending entries:
    /// `XGROUP DESTROY key group`. The reply is whether it existed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let destroyed: bool = client.xgroup_destroy("orders", "billing").await?;
    /// # Ok(()) }
    /// ```
    pub fn xgroup_destroy(&self, key: impl ToArg, group: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("XGROUP").arg("DESTROY").arg(key).arg(group))
    }

    /// Creates a consumer in a group ahead of its first read:
    /// `XGROUP CREATECONSUMER key group consumer`. The reply is whether it is new.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let created: bool = client.xgroup_createconsumer("orders", "billing", "worker-3").await?;
    /// # Ok(()) }
    /// ```
    pub fn xgroup_createconsumer(
        &self,
        key: impl ToArg,
        group: impl ToArg,
        consumer: impl ToArg,
    ) -> Request<'_, bool> {
        let command = cmd("XGROUP").arg("CREATECONSUMER").arg(key).arg(group);
        self.request(command.arg(consumer))
    }

    /// Deletes a consumer from a group: `XGROUP DELCONSUMER key group consumer`. Its
    /// pending entries are dropped with it, not handed to anyone: claim them first.
    /// The reply is how many it had.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let dropped: u64 = client.xgroup_delconsumer("orders", "billing", "worker-3").await?;
    /// # Ok(()) }
    /// ```
    pub fn xgroup_delconsumer(
        &self,
        key: impl ToArg,
        group: impl ToArg,
        consumer: impl ToArg,
    ) -> Request<'_, u64> {
        let command = cmd("XGROUP").arg("DELCONSUMER").arg(key).arg(group);
        self.request(command.arg(consumer))
    }

    /// Moves a group's last-delivered ID, to replay (`0`) or skip (`$`) entries:
    /// `XGROUP SETID key group id|$`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.xgroup_setid("orders", "billing", "0").await?;
    /// # Ok(()) }
    /// ```
    pub fn xgroup_setid(
        &self,
        key: impl ToArg,
        group: impl ToArg,
        id: impl ToArg,
    ) -> Request<'_, ()> {
        self.request(cmd("XGROUP").arg("SETID").arg(key).arg(group).arg(id))
    }

    /// Acknowledges an entry, removing it from the group's pending list:
    /// `XACK key group id`. The reply is whether it was pending.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let was_pending: bool = client.xack("orders", "billing", "1700000000000-0").await?;
    /// # Ok(()) }
    /// ```
    pub fn xack(&self, key: impl ToArg, group: impl ToArg, id: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("XACK").arg(key).arg(group).arg(id))
    }

    /// Acknowledges entries: `XACK key group id [id ...]`. The reply is how many were
    /// pending.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let acked: u64 = client.xack_many("orders", "billing", ["1-0", "2-0"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn xack_many(
        &self,
        key: impl ToArg,
        group: impl ToArg,
        ids: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, u64> {
        self.request(cmd("XACK").arg(key).arg(group).args(ids))
    }

    /// A summary of a group's pending entries: `XPENDING key group`.
    ///
    /// # Errors
    ///
    /// A missing group or stream is a server error (`NOGROUP`).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let pending = client.xpending("orders", "billing").await?;
    /// for (consumer, count) in &pending.consumers {
    ///     println!("{consumer} holds {count}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn xpending(&self, key: impl ToArg, group: impl ToArg) -> Request<'_, PendingSummary> {
        self.request(cmd("XPENDING").arg(key).arg(group))
    }

    /// A group's pending entries one by one, oldest first: `XPENDING key group [IDLE
    /// min-idle-time] start end count [consumer]`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// use redmux::XPendingOptions;
    /// let stuck = client
    ///     .xpending_with("orders", "billing", XPendingOptions::new(100).idle(Duration::from_secs(60)))
    ///     .await?;
    /// for entry in stuck {
    ///     println!("{} held by {} for {:?}", entry.id, entry.consumer, entry.idle);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn xpending_with(
        &self,
        key: impl ToArg,
        group: impl ToArg,
        options: XPendingOptions,
    ) -> Request<'_, Vec<PendingEntry>> {
        let mut command = cmd("XPENDING").arg(key).arg(group);
        if let Some(idle) = options.idle {
            command.push_arg("IDLE").push_arg(millis(idle));
        }
        command
            .push_arg(&options.start)
            .push_arg(&options.end)
            .push_arg(options.count);
        if let Some(consumer) = &options.consumer {
            command.push_arg(consumer);
        }
        self.request(command)
    }

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

/// The options of [`Client::xgroup_create_with`].
///
/// ```
/// use redmux::XGroupCreateOptions;
/// // XGROUP CREATE key group id MKSTREAM ENTRIESREAD 0
/// let options = XGroupCreateOptions::new().mkstream().entries_read(0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XGroupCreateOptions {
    mkstream: bool,
    entries_read: Option<u64>,
}

impl XGroupCreateOptions {
    /// No options: the stream must exist.
    pub fn new() -> Self {
        XGroupCreateOptions::default()
    }

    /// `MKSTREAM`: create an empty stream if there is none.
    pub fn mkstream(mut self) -> Self {
        self.mkstream = true;
        self
    }

    /// `ENTRIESREAD entries-read`: how many entries the group counts as already read,
    /// so that its lag in XINFO GROUPS is right from the start. Needs Redis 7.0.
    pub fn entries_read(mut self, entries_read: u64) -> Self {
        self.entries_read = Some(entries_read);
        self
    }
}

/// A [`Client::xpending`] reply: how many entries are pending, the smallest and
/// largest of their IDs, and how many each consumer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSummary {
    /// How many entries are pending.
    pub count: u64,
    /// The smallest pending ID; `None` when nothing is pending.
    pub smallest: Option<String>,
    /// The largest pending ID; `None` when nothing is pending.
    pub largest: Option<String>,
    /// Each consumer holding entries and how many, in no particular order.
    pub consumers: Vec<(String, u64)>,
}

/// Reads `[count, smallest, largest, [[consumer, "n"], ...]]`, with nils when nothing
/// is pending; the same in RESP2 and RESP3.
impl FromValue for PendingSummary {
    fn from_value(value: Value) -> Result<Self> {
        let (count, smallest, largest, consumers) = FromValue::from_value(value)?;
        Ok(PendingSummary {
            count,
            smallest,
            largest,
            consumers,
        })
    }
}

/// Which pending entries [`Client::xpending_with`] lists: at most `count`, in a range
/// of IDs (every ID unless [`range`](Self::range) says otherwise), optionally only
/// those idle long enough or held by one consumer.
///
/// ```
/// use std::time::Duration;
/// use redmux::XPendingOptions;
/// // XPENDING key group IDLE 60000 - + 10 worker-1
/// let options = XPendingOptions::new(10).idle(Duration::from_secs(60)).consumer("worker-1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XPendingOptions {
    idle: Option<Duration>,
    start: String,
    end: String,
    count: u64,
    consumer: Option<String>,
}

impl XPendingOptions {
    /// At most `count` entries, from the whole range `- +`.
    pub fn new(count: u64) -> Self {
        XPendingOptions {
            idle: None,
            start: "-".into(),
            end: "+".into(),
            count,
            consumer: None,
        }
    }

    /// `start end`: only IDs in this range (`-` and `+` are the extremes; a `(` in
    /// front excludes a bound).
    pub fn range(mut self, start: impl Into<String>, end: impl Into<String>) -> Self {
        self.start = start.into();
        self.end = end.into();
        self
    }

    /// `IDLE min-idle-time`: only entries not delivered for at least this long.
    pub fn idle(mut self, min_idle: Duration) -> Self {
        self.idle = Some(min_idle);
        self
    }

    /// `consumer`: only entries this consumer holds.
    pub fn consumer(mut self, consumer: impl Into<String>) -> Self {
        self.consumer = Some(consumer.into());
        self
    }
}

/// One pending entry from [`Client::xpending_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    /// The entry's ID.
    pub id: String,
    /// The consumer holding it.
    pub consumer: String,
    /// How long since it was last delivered.
    pub idle: Duration,
    /// How many times it has been delivered.
    pub deliveries: u64,
}

impl FromValue for PendingEntry {
    fn from_value(value: Value) -> Result<Self> {
        let (id, consumer, idle, deliveries) = <(String, String, u64, u64)>::from_value(value)?;
        Ok(PendingEntry {
            id,
            consumer,
            idle: Duration::from_millis(idle),
            deliveries,
        })
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
            .arg(key)
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
            .arg(key)
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
