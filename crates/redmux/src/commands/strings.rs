//! String commands: GET, SET, INCR, ...

use std::time::Duration;

use redmux_resp::ToArg;

use crate::{Client, FromValue, Request, cmd};

impl Client {
    /// Gets the value of a key: `GET key`. Nil (a missing key) converts to `None`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let v: Option<String> = client.get("greeting").await?;
    /// # Ok(()) }
    /// ```
    pub fn get<T: FromValue>(&self, key: impl ToArg) -> Request<'_, T> {
        self.request(cmd("GET").arg(key))
    }

    /// Sets a key to a value: `SET key value`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.set("greeting", "hello").await?;
    /// # Ok(()) }
    /// ```
    pub fn set(&self, key: impl ToArg, value: impl ToArg) -> Request<'_, ()> {
        self.request(cmd("SET").arg(key).arg(value))
    }

    /// Increments an integer: `INCR key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let hits: i64 = client.incr("hits").await?;
    /// # Ok(()) }
    /// ```
    pub fn incr(&self, key: impl ToArg) -> Request<'_, i64> {
        self.request(cmd("INCR").arg(key))
    }

    /// Sets a key's time to live, rounded to seconds: `EXPIRE key seconds`. The reply
    /// is whether a timeout was set (`false` when the key does not exist).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// client.expire("session:42", Duration::from_secs(300)).fire_and_forget()?;
    /// # Ok(()) }
    /// ```
    pub fn expire(&self, key: impl ToArg, ttl: Duration) -> Request<'_, bool> {
        self.request(cmd("EXPIRE").arg(key).arg(ttl.as_secs()))
    }
}
