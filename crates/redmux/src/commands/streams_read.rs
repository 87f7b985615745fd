//! XREAD and XREADGROUP without BLOCK: [`StreamRead`], [`XReadGroupOptions`].
//!
//! The shared connection refuses BLOCK, which would stall every other caller until
//! an entry arrives. For a blocking read, open a connection of your own with
//! [`Client::dedicated`] and send the command there.

use redmux_resp::{ToArg, Value};

use super::StreamEntry;
use crate::{Command, Commands, Error, FromValue, Request, Result, cmd};

impl Commands {
    /// Entries after the given IDs in one or more streams, without blocking:
    /// `XREAD STREAMS key [key ...] id [id ...]`. Pairs are `(key, id)`; `0` reads
    /// from the start, and `$` (the last ID now) reads nothing here, as there is no
    /// waiting. Streams with nothing new are left out; nothing new at all gives an
    /// empty `Vec`.
    ///
    /// There is no BLOCK on the shared connection. To wait for entries, use a
    /// dedicated connection's [`xread_block`](crate::DedicatedConnection::xread_block):
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let conn = client.dedicated().await?;
    /// let reads = conn.xread_block([("orders", "$")], Duration::from_secs(5)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// for read in client.xread([("orders", "0"), ("refunds", "0")]).await? {
    ///     for entry in read.entries {
    ///         println!("{} {}", read.key, entry.id);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn xread(
        &self,
        streams: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
    ) -> Request<'_, Vec<StreamRead>> {
        self.request(with_streams(cmd("XREAD"), streams))
    }

    /// At most `count` entries per stream after the given IDs, without blocking:
    /// `XREAD COUNT count STREAMS key [key ...] id [id ...]`. To read on, pass each
    /// stream's last ID seen.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let mut after = "0".to_string();
    /// loop {
    ///     let reads = client.xread_count([("orders", after.as_str())], 100).await?;
    ///     let Some(last) = reads.iter().flat_map(|r| &r.entries).last() else { break };
    ///     after = last.id.clone();
    /// }
    /// # Ok(()) }
    /// ```
    pub fn xread_count(
        &self,
        streams: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
        count: u64,
    ) -> Request<'_, Vec<StreamRead>> {
        self.request(with_streams(cmd("XREAD").arg("COUNT").arg(count), streams))
    }

    /// Reads as a consumer of a group, without blocking: `XREADGROUP GROUP group
    /// consumer STREAMS key [key ...] id [id ...]`. With the ID `>`, entries never
    /// delivered to the group, which become pending for this consumer until
    /// [`xack`](Self::xack)ed; with any other ID, this consumer's own pending entries
    /// after it (`0` for all of them), where one deleted meanwhile comes with no fields.
    /// Streams with nothing to give are left out; nothing at all gives an empty `Vec`.
    ///
    /// There is no BLOCK on the shared connection: see [`xread`](Self::xread) for a
    /// dedicated connection.
    ///
    /// # Errors
    ///
    /// A missing group or stream is a server error (`NOGROUP`).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// for read in client.xreadgroup("billing", "worker-1", [("orders", ">")]).await? {
    ///     for entry in read.entries {
    ///         // ... handle the order, then:
    ///         client.xack(&read.key, "billing", &entry.id).await?;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn xreadgroup(
        &self,
        group: impl ToArg,
        consumer: impl ToArg,
        streams: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
    ) -> Request<'_, Vec<StreamRead>> {
        let command = cmd("XREADGROUP").arg("GROUP").arg(group).arg(consumer);
        self.request(with_streams(command, streams))
    }

    /// Reads as a consumer of a group with options, without blocking:
    /// `XREADGROUP GROUP group consumer [COUNT count] [NOACK] STREAMS key [key ...]
    /// id [id ...]`. As [`xreadgroup`](Self::xreadgroup) otherwise.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::XReadGroupOptions;
    /// let batch = client
    ///     .xreadgroup_with("billing", "worker-1", [("orders", ">")], XReadGroupOptions::new().count(10))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn xreadgroup_with(
        &self,
        group: impl ToArg,
        consumer: impl ToArg,
        streams: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
        options: XReadGroupOptions,
    ) -> Request<'_, Vec<StreamRead>> {
        let mut command = cmd("XREADGROUP").arg("GROUP").arg(group).arg(consumer);
        options.push_args(&mut command);
        self.request(with_streams(command, streams))
    }
}

/// Appends `STREAMS key [key ...] id [id ...]`: all the keys, then all the IDs.
pub(super) fn with_streams(
    mut command: Command,
    streams: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
) -> Command {
    let streams: Vec<_> = streams.into_iter().collect();
    command.push_arg("STREAMS");
    for (key, _) in &streams {
        command.push_key(key);
    }
    for (_, id) in &streams {
        command.push_arg(id);
    }
    command
}

/// The entries one stream gave to [`Client::xread`] or [`Client::xreadgroup`].
///
/// RESP2 sends `[[key, entries], ...]`, RESP3 a map from key to entries; both read
/// as a `Vec<StreamRead>` in the server's order.
///
/// ```no_run
/// # async fn run(client: redmux::Client) -> redmux::Result<()> {
/// use redmux::StreamRead;
/// // XREAD STREAMS orders 0
/// let reads: Vec<StreamRead> = client.xread([("orders", "0")]).await?;
/// let entries = reads.into_iter().flat_map(|read| read.entries);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRead {
    /// The stream's key.
    pub key: String,
    /// Its entries, oldest first.
    pub entries: Vec<StreamEntry>,
}

impl FromValue for StreamRead {
    fn from_value(value: Value) -> Result<Self> {
        let (key, entries) = <(String, Vec<StreamEntry>)>::from_value(value)?;
        Ok(StreamRead { key, entries })
    }

    /// A reply of no stream at all is nil, in both protocols.
    fn vec_from_value(value: Value) -> Result<Vec<Self>> {
        match value {
            Value::Nil => Ok(Vec::new()),
            Value::Array(items) => items.into_iter().map(Self::from_value).collect(),
            Value::Map(pairs) => pairs
                .into_iter()
                .map(|(key, entries)| Self::from_value(Value::Array(vec![key, entries])))
                .collect(),
            other => Err(Error::conversion("streams and their entries", &other)),
        }
    }
}

/// The options of [`Client::xreadgroup_with`]. (No BLOCK: the shared connection
/// refuses it.)
///
/// ```
/// use redmux::XReadGroupOptions;
/// // XREADGROUP GROUP g c COUNT 10 NOACK STREAMS ...
/// let options = XReadGroupOptions::new().count(10).noack();
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XReadGroupOptions {
    count: Option<u64>,
    noack: bool,
}

impl XReadGroupOptions {
    /// No options: every entry there is to give.
    pub fn new() -> Self {
        XReadGroupOptions::default()
    }

    /// `COUNT count`: at most this many entries per stream.
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// Appends `[COUNT count] [NOACK]`.
    pub(super) fn push_args(&self, command: &mut Command) {
        if let Some(count) = self.count {
            command.push_arg("COUNT").push_arg(count);
        }
        if self.noack {
            command.push_arg("NOACK");
        }
    }

    /// `NOACK`: treat the entries as acknowledged at once; they never become pending.
    pub fn noack(mut self) -> Self {
        self.noack = true;
        self
    }
}
