//! Consumer groups: XGROUP ([`XGroupCreateOptions`]), XACK, XPENDING
//! ([`PendingSummary`], [`XPendingOptions`], [`PendingEntry`]). Reading as a consumer,
//! XREADGROUP, is in `streams_read.rs`; taking entries over, XCLAIM and XAUTOCLAIM, in
//! `streams_claim.rs`.

use std::time::Duration;

use redmux_resp::{ToArg, Value};

use super::millis;
use crate::{Commands, FromValue, Request, Result, cmd};

impl Commands {
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
        self.request(cmd("XGROUP").arg("CREATE").key(key).arg(group).arg(id))
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
        let mut command = cmd("XGROUP").arg("CREATE").key(key).arg(group).arg(id);
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
        self.request(cmd("XGROUP").arg("DESTROY").key(key).arg(group))
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
        let command = cmd("XGROUP").arg("CREATECONSUMER").key(key).arg(group);
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
        let command = cmd("XGROUP").arg("DELCONSUMER").key(key).arg(group);
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
        self.request(cmd("XGROUP").arg("SETID").key(key).arg(group).arg(id))
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
        self.request(cmd("XACK").key(key).arg(group).arg(id))
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
        self.request(cmd("XACK").key(key).arg(group).args(ids))
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
        self.request(cmd("XPENDING").key(key).arg(group))
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
        let mut command = cmd("XPENDING").key(key).arg(group);
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
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// // XPENDING orders billing
/// let pending = client.xpending("orders", "billing").await?;
/// if let Some(oldest) = &pending.smallest {
///     println!("{} pending, the oldest {oldest}", pending.count);
/// }
/// # Ok(()) }
/// ```
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
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use redmux::XPendingOptions;
/// // XPENDING orders billing - + 10
/// for entry in client.xpending_with("orders", "billing", XPendingOptions::new(10)).await? {
///     if entry.deliveries > 5 {
///         println!("{} keeps failing", entry.id);
///     }
/// }
/// # Ok(()) }
/// ```
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
