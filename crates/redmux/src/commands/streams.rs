//! Stream commands that write and read a stream directly: XADD ([`XAddOptions`],
//! [`StreamTrim`]), XRANGE, XREVRANGE, XLEN, XTRIM, XDEL, and the entry type they
//! return, [`StreamEntry`]. XREAD and XREADGROUP are in `streams_read.rs`, consumer
//! groups and XPENDING in `streams_groups.rs`, XCLAIM and XAUTOCLAIM in
//! `streams_claim.rs`, XINFO in `streams_info.rs`.

use bytes::Bytes;
use redmux_resp::{ToArg, Value};

use super::strings::pairs_args;
use crate::{Command, Commands, Error, FromValue, Request, Result, cmd};

impl Commands {
    /// Appends an entry with an ID the server makes up (`<milliseconds>-<sequence>`):
    /// `XADD key * field value [field value ...]`. The reply is the new entry's ID.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let id: String = client.xadd("orders", [("sku", "A-17"), ("qty", "2")]).await?;
    /// # Ok(()) }
    /// ```
    pub fn xadd(
        &self,
        key: impl ToArg,
        fields: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
    ) -> Request<'_, String> {
        self.request(pairs_args(cmd("XADD").key(key).arg("*"), fields))
    }

    /// Appends an entry with options: `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~]
    /// threshold [LIMIT count]] *|id field value [field value ...]`. The reply is the
    /// new entry's ID, or `None` when [`nomkstream()`](XAddOptions::nomkstream) found
    /// no stream.
    ///
    /// # Errors
    ///
    /// An explicit ID not greater than the stream's last is a server error (`ERR The ID
    /// specified in XADD is equal or smaller than the target stream top item`).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::{StreamTrim, XAddOptions};
    /// // Keep about the last 10,000 readings.
    /// let id: Option<String> = client
    ///     .xadd_with("readings", [("t", "21.5")], XAddOptions::new().trim(StreamTrim::maxlen(10_000).approx()))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn xadd_with(
        &self,
        key: impl ToArg,
        fields: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
        options: XAddOptions,
    ) -> Request<'_, Option<String>> {
        let mut command = cmd("XADD").key(key);
        if options.nomkstream {
            command.push_arg("NOMKSTREAM");
        }
        if let Some(trim) = &options.trim {
            trim.push_args(&mut command);
        }
        command.push_arg(options.id.as_deref().unwrap_or("*"));
        self.request(pairs_args(command, fields))
    }

    /// Entries from `start` to `end`, oldest first: `XRANGE key start end`. `-` and
    /// `+` are the smallest and largest IDs; a bound may be a whole ID (`1700000000000-3`),
    /// a time alone (`1700000000000`, every sequence), or since Redis 6.2 exclusive
    /// (`(1700000000000-3`). A missing key gives no entries.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// for entry in client.xrange("orders", "-", "+").await? {
    ///     let sku: String = entry.get("sku")?;
    ///     println!("{}: {sku}", entry.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn xrange(
        &self,
        key: impl ToArg,
        start: impl ToArg,
        end: impl ToArg,
    ) -> Request<'_, Vec<StreamEntry>> {
        self.request(cmd("XRANGE").key(key).arg(start).arg(end))
    }

    /// At most `count` entries from `start` to `end`, oldest first:
    /// `XRANGE key start end COUNT count`. To page, start the next call exclusively
    /// after the last ID seen: `format!("({}", last.id)`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let first_ten = client.xrange_count("orders", "-", "+", 10).await?;
    /// if let Some(last) = first_ten.last() {
    ///     let next_ten = client.xrange_count("orders", format!("({}", last.id), "+", 10).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn xrange_count(
        &self,
        key: impl ToArg,
        start: impl ToArg,
        end: impl ToArg,
        count: u64,
    ) -> Request<'_, Vec<StreamEntry>> {
        self.request(
            cmd("XRANGE")
                .key(key)
                .arg(start)
                .arg(end)
                .arg("COUNT")
                .arg(count),
        )
    }

    /// Entries from `end` down to `start`, newest first: `XREVRANGE key end start`.
    /// The bounds come in the wire's order, the larger first (`"+", "-"`).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let newest_first = client.xrevrange("orders", "+", "-").await?;
    /// # Ok(()) }
    /// ```
    pub fn xrevrange(
        &self,
        key: impl ToArg,
        end: impl ToArg,
        start: impl ToArg,
    ) -> Request<'_, Vec<StreamEntry>> {
        self.request(cmd("XREVRANGE").key(key).arg(end).arg(start))
    }

    /// At most `count` entries from `end` down to `start`, newest first:
    /// `XREVRANGE key end start COUNT count`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let latest = client.xrevrange_count("orders", "+", "-", 1).await?;
    /// # Ok(()) }
    /// ```
    pub fn xrevrange_count(
        &self,
        key: impl ToArg,
        end: impl ToArg,
        start: impl ToArg,
        count: u64,
    ) -> Request<'_, Vec<StreamEntry>> {
        self.request(
            cmd("XREVRANGE")
                .key(key)
                .arg(end)
                .arg(start)
                .arg("COUNT")
                .arg(count),
        )
    }

    /// The number of entries, 0 for a missing key: `XLEN key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let backlog: u64 = client.xlen("orders").await?;
    /// # Ok(()) }
    /// ```
    pub fn xlen(&self, key: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("XLEN").key(key))
    }

    /// Removes the oldest entries: `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT
    /// count]`. The reply is how many were removed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::StreamTrim;
    /// let removed: u64 = client.xtrim("orders", StreamTrim::maxlen(1000)).await?;
    /// let older: u64 = client.xtrim("readings", StreamTrim::minid("1700000000000").approx().limit(500)).await?;
    /// # Ok(()) }
    /// ```
    pub fn xtrim(&self, key: impl ToArg, trim: StreamTrim) -> Request<'_, u64> {
        let mut command = cmd("XTRIM").key(key);
        trim.push_args(&mut command);
        self.request(command)
    }

    /// Removes an entry: `XDEL key id`. The reply is whether it was there. Consumer
    /// groups still list it as pending until acknowledged.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let removed: bool = client.xdel("orders", "1700000000000-0").await?;
    /// # Ok(()) }
    /// ```
    pub fn xdel(&self, key: impl ToArg, id: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("XDEL").key(key).arg(id))
    }

    /// Removes entries: `XDEL key id [id ...]`. The reply is how many were there.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let removed: u64 = client.xdel_many("orders", ["1-0", "2-0"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn xdel_many(
        &self,
        key: impl ToArg,
        ids: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, u64> {
        self.request(cmd("XDEL").key(key).args(ids))
    }
}

/// One entry of a stream: its ID and its field/value pairs, in the order they were
/// added (a field may repeat).
///
/// An entry deleted while still pending in a consumer group comes back from
/// XREADGROUP with no fields at all.
///
/// ```
/// use bytes::Bytes;
/// use redmux::StreamEntry;
/// let entry = StreamEntry {
///     id: "1700000000000-0".into(),
///     fields: vec![(Bytes::from("sku"), Bytes::from("A-17")), (Bytes::from("qty"), Bytes::from("2"))],
/// };
/// let qty: u32 = entry.get("qty")?;
/// let note: Option<String> = entry.get("note")?;
/// assert_eq!((qty, note), (2, None));
/// let all: std::collections::HashMap<String, String> = entry.fields_as()?;
/// assert_eq!(all["sku"], "A-17");
/// # Ok::<(), redmux::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    /// The entry's ID, `<milliseconds>-<sequence>`.
    pub id: String,
    /// The field/value pairs, as sent.
    pub fields: Vec<(Bytes, Bytes)>,
}

impl StreamEntry {
    /// The value of a field (the first, if it repeats) as bytes, `None` if absent.
    pub fn field(&self, name: impl AsRef<[u8]>) -> Option<&Bytes> {
        let name = name.as_ref();
        self.fields
            .iter()
            .find(|(field, _)| field.as_ref() == name)
            .map(|(_, value)| value)
    }

    /// The value of a field converted to `T`, as a reply would be. An absent field
    /// converts like nil: ask for `Option<T>` when it may be absent.
    ///
    /// # Errors
    ///
    /// [`Error::Conversion`] when the value does not convert, or the field is absent
    /// and `T` is not an `Option`.
    pub fn get<T: FromValue>(&self, name: impl AsRef<[u8]>) -> Result<T> {
        match self.field(name) {
            Some(value) => T::from_value(Value::BulkString(value.clone())),
            None => T::from_value(Value::Nil),
        }
    }

    /// All the fields converted at once, as a reply of field/value pairs would be:
    /// to a `HashMap<String, String>`, a `BTreeMap`, a `Vec<(String, i64)>`, ...
    ///
    /// # Errors
    ///
    /// [`Error::Conversion`] when a field or value does not convert.
    pub fn fields_as<T: FromValue>(&self) -> Result<T> {
        let mut flat = Vec::with_capacity(self.fields.len() * 2);
        for (field, value) in &self.fields {
            flat.push(Value::BulkString(field.clone()));
            flat.push(Value::BulkString(value.clone()));
        }
        T::from_value(Value::Array(flat))
    }
}

/// Reads `[id, [field, value, ...]]`; a nil in place of the fields (an entry deleted
/// while pending) reads as no fields.
impl FromValue for StreamEntry {
    fn from_value(value: Value) -> Result<Self> {
        let Value::Array(items) = value else {
            return Err(Error::conversion("a stream entry [id, fields]", &value));
        };
        if items.len() != 2 {
            return Err(Error::conversion(
                "a stream entry [id, fields]",
                &Value::Array(items),
            ));
        }
        let mut items = items.into_iter();
        let id = String::from_value(items.next().unwrap_or(Value::Nil))?;
        let fields = Vec::<(Bytes, Bytes)>::from_value(items.next().unwrap_or(Value::Nil))?;
        Ok(StreamEntry { id, fields })
    }
}

/// How XADD and XTRIM trim a stream: by length (`MAXLEN`) or by oldest ID kept
/// (`MINID`), exactly (the default, `=`) or approximately (`~`, which lets the server
/// remove only whole nodes, far cheaper), with an optional `LIMIT` on how many an
/// approximate trim removes at once.
///
/// ```
/// use redmux::StreamTrim;
/// // MAXLEN ~ 1000 LIMIT 100
/// let about_a_thousand = StreamTrim::maxlen(1000).approx().limit(100);
/// // MINID = 1700000000000-0
/// let since = StreamTrim::minid("1700000000000-0").exact();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTrim {
    threshold: Threshold,
    operator: Option<&'static str>,
    limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Threshold {
    MaxLen(u64),
    MinId(String),
}

impl StreamTrim {
    /// `MAXLEN threshold`: keep at most this many entries, the newest.
    pub fn maxlen(threshold: u64) -> Self {
        StreamTrim::new(Threshold::MaxLen(threshold))
    }

    /// `MINID threshold`: remove entries with IDs below this one.
    pub fn minid(threshold: impl Into<String>) -> Self {
        StreamTrim::new(Threshold::MinId(threshold.into()))
    }

    fn new(threshold: Threshold) -> Self {
        StreamTrim {
            threshold,
            operator: None,
            limit: None,
        }
    }

    /// `~`: trim approximately, only whole radix-tree nodes: the stream may keep a
    /// few more entries than asked.
    pub fn approx(mut self) -> Self {
        self.operator = Some("~");
        self
    }

    /// `=`: trim exactly (what no operator means too).
    pub fn exact(mut self) -> Self {
        self.operator = Some("=");
        self
    }

    /// `LIMIT count`: remove at most `count` entries in this call. The server accepts
    /// it only with [`approx`](Self::approx).
    pub fn limit(mut self, count: u64) -> Self {
        self.limit = Some(count);
        self
    }

    pub(super) fn push_args(&self, command: &mut Command) {
        match &self.threshold {
            Threshold::MaxLen(_) => command.push_arg("MAXLEN"),
            Threshold::MinId(_) => command.push_arg("MINID"),
        };
        if let Some(operator) = self.operator {
            command.push_arg(operator);
        }
        match &self.threshold {
            Threshold::MaxLen(n) => command.push_arg(n),
            Threshold::MinId(id) => command.push_arg(id),
        };
        if let Some(limit) = self.limit {
            command.push_arg("LIMIT").push_arg(limit);
        }
    }
}

/// The options of [`Client::xadd_with`]: an explicit ID, NOMKSTREAM, a trim.
///
/// ```
/// use redmux::{StreamTrim, XAddOptions};
/// // XADD key NOMKSTREAM MAXLEN ~ 1000 1700000000000-5 field value ...
/// let options = XAddOptions::new().nomkstream().trim(StreamTrim::maxlen(1000).approx()).id("1700000000000-5");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XAddOptions {
    id: Option<String>,
    nomkstream: bool,
    trim: Option<StreamTrim>,
}

impl XAddOptions {
    /// No options: `*` for the ID, create the stream if needed, no trim.
    pub fn new() -> Self {
        XAddOptions::default()
    }

    /// The new entry's ID instead of `*`: a whole ID (`1700000000000-5`), or a time
    /// with `-*` for the server to pick the sequence (`1700000000000-*`). It must be
    /// greater than the stream's last.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// `NOMKSTREAM`: add nothing, and reply nil, when the stream does not exist.
    pub fn nomkstream(mut self) -> Self {
        self.nomkstream = true;
        self
    }

    /// `MAXLEN|MINID [=|~] threshold [LIMIT count]`: trim the stream as the entry is
    /// added.
    pub fn trim(mut self, trim: StreamTrim) -> Self {
        self.trim = Some(trim);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(trim: StreamTrim) -> String {
        let mut c = cmd("XTRIM").arg("k");
        trim.push_args(&mut c);
        String::from_utf8_lossy(&c.into_bytes())
            .split("\r\n")
            .filter(|p| !p.starts_with('*') && !p.starts_with('$') && !p.is_empty())
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn trims_encode_as_redis_spells_them() {
        assert_eq!(wire(StreamTrim::maxlen(10)), "MAXLEN 10");
        assert_eq!(
            wire(StreamTrim::maxlen(10).approx().limit(5)),
            "MAXLEN ~ 10 LIMIT 5"
        );
        assert_eq!(wire(StreamTrim::minid("5-1").exact()), "MINID = 5-1");
    }

    #[test]
    fn entries_read_with_and_without_fields() {
        let entry = StreamEntry::from_value(Value::Array(vec![
            "1-1".into(),
            Value::Array(vec!["a".into(), "1".into(), "a".into(), "2".into()]),
        ]))
        .unwrap();
        assert_eq!(entry.get::<i64>("a").unwrap(), 1, "the first of a repeat");
        assert!(entry.get::<String>("b").is_err());
        let deleted =
            StreamEntry::from_value(Value::Array(vec!["1-2".into(), Value::Nil])).unwrap();
        assert!(deleted.fields.is_empty());
    }
}
