//! XINFO STREAM, GROUPS and CONSUMERS as typed structs: [`StreamInfo`],
//! [`StreamGroupInfo`], [`StreamConsumerInfo`].
//!
//! RESP2 sends each as a flat array of name/value pairs, RESP3 as a map; both read
//! alike. Fields a newer server adds are ignored, and fields an older one lacks are
//! `None`: each struct says which server brought which field.

use std::time::Duration;

use redmux_resp::{ToArg, Value};

use super::{Fields, StreamEntry};
use crate::{Commands, FromValue, Request, Result, cmd};

impl Commands {
    /// A stream's length, IDs, groups and first and last entries: `XINFO STREAM key`.
    ///
    /// # Errors
    ///
    /// A missing key is a server error (`ERR no such key`).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let info = client.xinfo_stream("orders").await?;
    /// println!("{} entries, last {}", info.length, info.last_generated_id);
    /// # Ok(()) }
    /// ```
    pub fn xinfo_stream(&self, key: impl ToArg) -> Request<'_, StreamInfo> {
        self.request(cmd("XINFO").arg("STREAM").key(key))
    }

    /// A stream's consumer groups: `XINFO GROUPS key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// for group in client.xinfo_groups("orders").await? {
    ///     println!("{}: {} pending, lag {:?}", group.name, group.pending, group.lag);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn xinfo_groups(&self, key: impl ToArg) -> Request<'_, Vec<StreamGroupInfo>> {
        self.request(cmd("XINFO").arg("GROUPS").key(key))
    }

    /// A group's consumers: `XINFO CONSUMERS key group`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// for consumer in client.xinfo_consumers("orders", "billing").await? {
    ///     println!("{}: {} pending, idle {:?}", consumer.name, consumer.pending, consumer.idle);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn xinfo_consumers(
        &self,
        key: impl ToArg,
        group: impl ToArg,
    ) -> Request<'_, Vec<StreamConsumerInfo>> {
        self.request(cmd("XINFO").arg("CONSUMERS").key(key).arg(group))
    }
}

/// An [`XINFO STREAM`](Client::xinfo_stream) reply.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// // XINFO STREAM orders
/// let info = client.xinfo_stream("orders").await?;
/// if let Some(newest) = info.last_entry {
///     println!("{} entries, newest {}", info.length, newest.id);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// `length`: the number of entries.
    pub length: u64,
    /// `radix-tree-keys`: the number of keys in the stream's radix tree.
    pub radix_tree_keys: u64,
    /// `radix-tree-nodes`: the number of nodes in the stream's radix tree.
    pub radix_tree_nodes: u64,
    /// `last-generated-id`: the largest ID ever added, even if since deleted.
    pub last_generated_id: String,
    /// `max-deleted-entry-id`: the largest ID deleted (Redis 7.0).
    pub max_deleted_entry_id: Option<String>,
    /// `entries-added`: how many entries were ever added (Redis 7.0).
    pub entries_added: Option<u64>,
    /// `recorded-first-entry-id`: the first entry's ID as recorded, `0-0` when empty
    /// (Redis 7.0).
    pub recorded_first_entry_id: Option<String>,
    /// `groups`: the number of consumer groups.
    pub groups: u64,
    /// `first-entry`: `None` when the stream is empty.
    pub first_entry: Option<StreamEntry>,
    /// `last-entry`: `None` when the stream is empty.
    pub last_entry: Option<StreamEntry>,
}

impl FromValue for StreamInfo {
    fn from_value(value: Value) -> Result<Self> {
        let mut f = Fields::read(value, "an XINFO STREAM reply")?;
        Ok(StreamInfo {
            length: f.take("length")?,
            radix_tree_keys: f.take("radix-tree-keys")?,
            radix_tree_nodes: f.take("radix-tree-nodes")?,
            last_generated_id: f.take("last-generated-id")?,
            max_deleted_entry_id: f.take("max-deleted-entry-id")?,
            entries_added: f.take("entries-added")?,
            recorded_first_entry_id: f.take("recorded-first-entry-id")?,
            groups: f.take("groups")?,
            first_entry: f.take("first-entry")?,
            last_entry: f.take("last-entry")?,
        })
    }
}

/// One group in an [`XINFO GROUPS`](Client::xinfo_groups) reply.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// // XINFO GROUPS orders
/// let behind: Vec<String> = client
///     .xinfo_groups("orders")
///     .await?
///     .into_iter()
///     .filter(|g| g.lag.is_none_or(|lag| lag > 1000))
///     .map(|g| g.name)
///     .collect();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamGroupInfo {
    /// `name`
    pub name: String,
    /// `consumers`: how many consumers it has.
    pub consumers: u64,
    /// `pending`: how many entries were delivered and not acknowledged.
    pub pending: u64,
    /// `last-delivered-id`: the ID of the last entry delivered to it.
    pub last_delivered_id: String,
    /// `entries-read`: how many entries it has read, `None` when the server cannot
    /// tell, as for a group created at `$` before any read (Redis 7.0).
    pub entries_read: Option<u64>,
    /// `lag`: how many entries it has yet to read, `None` when the server cannot tell
    /// (Redis 7.0).
    pub lag: Option<u64>,
}

impl FromValue for StreamGroupInfo {
    fn from_value(value: Value) -> Result<Self> {
        let mut f = Fields::read(value, "an XINFO GROUPS entry")?;
        Ok(StreamGroupInfo {
            name: f.take("name")?,
            consumers: f.take("consumers")?,
            pending: f.take("pending")?,
            last_delivered_id: f.take("last-delivered-id")?,
            entries_read: f.take("entries-read")?,
            lag: f.take("lag")?,
        })
    }
}

/// One consumer in an [`XINFO CONSUMERS`](Client::xinfo_consumers) reply.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use std::time::Duration;
/// // XINFO CONSUMERS orders billing
/// for consumer in client.xinfo_consumers("orders", "billing").await? {
///     if consumer.pending == 0 && consumer.idle > Duration::from_secs(3600) {
///         client.xgroup_delconsumer("orders", "billing", &consumer.name).await?;
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConsumerInfo {
    /// `name`
    pub name: String,
    /// `pending`: how many entries it holds unacknowledged.
    pub pending: u64,
    /// `idle`: since its last attempt to read or claim, successful or not.
    pub idle: Duration,
    /// `inactive`: since its last successful read or claim; `None` before Redis 7.2,
    /// or when it never had one.
    pub inactive: Option<Duration>,
}

impl FromValue for StreamConsumerInfo {
    fn from_value(value: Value) -> Result<Self> {
        let mut f = Fields::read(value, "an XINFO CONSUMERS entry")?;
        let inactive: Option<i64> = f.take("inactive")?;
        Ok(StreamConsumerInfo {
            name: f.take("name")?,
            pending: f.take("pending")?,
            idle: Duration::from_millis(f.take("idle")?),
            // -1 means never.
            inactive: inactive
                .and_then(|ms| u64::try_from(ms).ok())
                .map(Duration::from_millis),
        })
    }
}
