//! Hash commands: HGET, HSET, HMGET, HGETALL, HDEL, HINCRBY, HEXISTS, HLEN, ...

use redmux_resp::ToArg;

use super::strings::pairs_args;
use crate::{Commands, FromValue, Request, cmd};

impl Commands {
    /// Gets a field of a hash: `HGET key field`. Nil (a missing field or key)
    /// converts to `None`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let name: Option<String> = client.hget("user:42", "name").await?;
    /// # Ok(()) }
    /// ```
    pub fn hget<T: FromValue>(&self, key: impl ToArg, field: impl ToArg) -> Request<'_, T> {
        self.request(cmd("HGET").key(key).arg(field))
    }

    /// Sets a field of a hash: `HSET key field value`. The reply is whether the field
    /// is new (`false` when an existing field was overwritten).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let created: bool = client.hset("user:42", "name", "Ada").await?;
    /// # Ok(()) }
    /// ```
    pub fn hset(&self, key: impl ToArg, field: impl ToArg, value: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("HSET").key(key).arg(field).arg(value))
    }

    /// Sets several fields of a hash: `HSET key field value [field value ...]`. The
    /// reply is how many fields are new.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let created: u64 = client.hset_many("user:42", [("name", "Ada"), ("lang", "en")]).await?;
    /// # Ok(()) }
    /// ```
    pub fn hset_many(
        &self,
        key: impl ToArg,
        pairs: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
    ) -> Request<'_, u64> {
        self.request(pairs_args(cmd("HSET").key(key), pairs))
    }

    /// Gets several fields of a hash: `HMGET key field [field ...]`. Each missing
    /// field is `None`, in the order the fields were given.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let values: Vec<Option<String>> = client.hmget("user:42", ["name", "lang"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn hmget<T: FromValue>(
        &self,
        key: impl ToArg,
        fields: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, Vec<Option<T>>> {
        self.request(cmd("HMGET").key(key).args(fields))
    }

    /// Gets every field and value of a hash: `HGETALL key`. Ask for a `HashMap`, a
    /// `BTreeMap` or a `Vec` of pairs; a missing key gives an empty one. RESP2's flat
    /// array and RESP3's map convert alike.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::collections::HashMap;
    /// let user: HashMap<String, String> = client.hgetall("user:42").await?;
    /// # Ok(()) }
    /// ```
    pub fn hgetall<T: FromValue>(&self, key: impl ToArg) -> Request<'_, T> {
        self.request(cmd("HGETALL").key(key))
    }

    /// The field names of a hash: `HKEYS key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let fields: Vec<String> = client.hkeys("user:42").await?;
    /// # Ok(()) }
    /// ```
    pub fn hkeys<T: FromValue>(&self, key: impl ToArg) -> Request<'_, Vec<T>> {
        self.request(cmd("HKEYS").key(key))
    }

    /// The values of a hash: `HVALS key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let values: Vec<String> = client.hvals("user:42").await?;
    /// # Ok(()) }
    /// ```
    pub fn hvals<T: FromValue>(&self, key: impl ToArg) -> Request<'_, Vec<T>> {
        self.request(cmd("HVALS").key(key))
    }

    /// Deletes a field of a hash: `HDEL key field`. The reply is whether it existed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let removed: bool = client.hdel("user:42", "lang").await?;
    /// # Ok(()) }
    /// ```
    pub fn hdel(&self, key: impl ToArg, field: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("HDEL").key(key).arg(field))
    }

    /// Deletes fields of a hash: `HDEL key field [field ...]`. The reply is how many
    /// existed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let removed: u64 = client.hdel_many("user:42", ["name", "lang"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn hdel_many(
        &self,
        key: impl ToArg,
        fields: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, u64> {
        self.request(cmd("HDEL").key(key).args(fields))
    }

    /// Adds to an integer field, creating it at 0 if needed:
    /// `HINCRBY key field increment`. The reply is the new value.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let visits: i64 = client.hincrby("page:home", "visits", 1).await?;
    /// # Ok(()) }
    /// ```
    pub fn hincrby(&self, key: impl ToArg, field: impl ToArg, increment: i64) -> Request<'_, i64> {
        self.request(cmd("HINCRBY").key(key).arg(field).arg(increment))
    }

    /// Adds to a float field, creating it at 0 if needed:
    /// `HINCRBYFLOAT key field increment`. The reply is the new value.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let spent: f64 = client.hincrbyfloat("cart:7", "total", 9.99).await?;
    /// # Ok(()) }
    /// ```
    pub fn hincrbyfloat(
        &self,
        key: impl ToArg,
        field: impl ToArg,
        increment: f64,
    ) -> Request<'_, f64> {
        self.request(cmd("HINCRBYFLOAT").key(key).arg(field).arg(increment))
    }

    /// Whether a hash has a field: `HEXISTS key field`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let has_name: bool = client.hexists("user:42", "name").await?;
    /// # Ok(()) }
    /// ```
    pub fn hexists(&self, key: impl ToArg, field: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("HEXISTS").key(key).arg(field))
    }

    /// The number of fields in a hash, 0 for a missing key: `HLEN key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let fields: u64 = client.hlen("user:42").await?;
    /// # Ok(()) }
    /// ```
    pub fn hlen(&self, key: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("HLEN").key(key))
    }
}
