//! String commands: GET, SET, MGET, MSET, INCR, APPEND, GETDEL, GETEX, ...

use std::time::{Duration, SystemTime};

use redmux_resp::ToArg;

use super::keys::{Ttl, millis_rounded_up};
use super::{millis, since_epoch};
use crate::{Command, Commands, FromValue, Request, cmd};

impl Commands {
    /// Gets the value of a key: `GET key`. Nil (a missing key) converts to `None`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let v: Option<String> = client.get("greeting").await?;
    /// # Ok(()) }
    /// ```
    pub fn get<T: FromValue>(&self, key: impl ToArg) -> Request<'_, T> {
        self.request(cmd("GET").key(key))
    }

    /// Sets a key to a value: `SET key value`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.set("greeting", "hello").await?;
    /// # Ok(()) }
    /// ```
    pub fn set(&self, key: impl ToArg, value: impl ToArg) -> Request<'_, ()> {
        self.request(cmd("SET").key(key).arg(value))
    }

    /// Sets a key with options: `SET key value [NX|XX] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]`.
    /// The reply is whether the key was set: `false` when `nx()` or `xx()` stopped
    /// the write. For the old value instead, see [`Client::set_with_get`].
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// use redmux::SetOptions;
    /// let locked = client
    ///     .set_with("lock:job-7", "worker-1", SetOptions::new().nx().px(Duration::from_millis(500)))
    ///     .await?;
    /// if !locked {
    ///     println!("someone else holds the lock");
    /// }
    /// // The reply type is fixed, so no type needs naming to send and forget it.
    /// client.set_with("session", "s", SetOptions::new().ex(Duration::from_secs(60))).fire_and_forget()?;
    /// # Ok(()) }
    /// ```
    pub fn set_with(
        &self,
        key: impl ToArg,
        value: impl ToArg,
        options: SetOptions,
    ) -> Request<'_, bool> {
        let mut command = cmd("SET").key(key).arg(value);
        options.push_args(&mut command, false);
        self.request(command)
    }

    /// Sets a key with options and replies with its old value: `SET key value [NX|XX]
    /// GET [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]`. Nil (no old value) converts to `None`.
    /// With `nx()` or `xx()` the old value comes back whether or not the write happened.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// use redmux::SetOptions;
    /// let old: Option<String> = client.set_with_get("greeting", "hi", SetOptions::new()).await?;
    /// let previous: Option<u64> = client
    ///     .set_with_get("counter", 0, SetOptions::new().ex(Duration::from_secs(60)))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn set_with_get<T: FromValue>(
        &self,
        key: impl ToArg,
        value: impl ToArg,
        options: SetOptions,
    ) -> Request<'_, T> {
        let mut command = cmd("SET").key(key).arg(value);
        options.push_args(&mut command, true);
        self.request(command)
    }

    /// Gets the values of several keys: `MGET key [key ...]`. Each missing key (or key
    /// holding a non-string) is `None`, in the order the keys were given.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let values: Vec<Option<String>> = client.mget(["a", "b", "c"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn mget<T: FromValue>(
        &self,
        keys: impl IntoIterator<Item = impl ToArg>,
    ) -> Request<'_, Vec<Option<T>>> {
        self.request(cmd("MGET").keys(keys))
    }

    /// Sets several keys at once, atomically: `MSET key value [key value ...]`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.mset([("a", "1"), ("b", "2")]).await?;
    /// # Ok(()) }
    /// ```
    pub fn mset(
        &self,
        pairs: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
    ) -> Request<'_, ()> {
        self.request(key_value_args(cmd("MSET"), pairs))
    }

    /// Sets several keys only if none of them exists: `MSETNX key value [key value ...]`.
    /// The reply is whether they were set (all or none are).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let set: bool = client.msetnx([("a", "1"), ("b", "2")]).await?;
    /// # Ok(()) }
    /// ```
    pub fn msetnx(
        &self,
        pairs: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
    ) -> Request<'_, bool> {
        self.request(key_value_args(cmd("MSETNX"), pairs))
    }

    /// Increments an integer: `INCR key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let hits: i64 = client.incr("hits").await?;
    /// # Ok(()) }
    /// ```
    pub fn incr(&self, key: impl ToArg) -> Request<'_, i64> {
        self.request(cmd("INCR").key(key))
    }

    /// Adds to an integer: `INCRBY key increment`. The reply is the new value.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let total: i64 = client.incrby("bytes-in", 1500).await?;
    /// # Ok(()) }
    /// ```
    pub fn incrby(&self, key: impl ToArg, increment: i64) -> Request<'_, i64> {
        self.request(cmd("INCRBY").key(key).arg(increment))
    }

    /// Adds to a float: `INCRBYFLOAT key increment`. The reply is the new value.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let balance: f64 = client.incrbyfloat("balance", 2.5).await?;
    /// # Ok(()) }
    /// ```
    pub fn incrbyfloat(&self, key: impl ToArg, increment: f64) -> Request<'_, f64> {
        self.request(cmd("INCRBYFLOAT").key(key).arg(increment))
    }

    /// Decrements an integer: `DECR key`. The reply is the new value.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let left: i64 = client.decr("stock:42").await?;
    /// # Ok(()) }
    /// ```
    pub fn decr(&self, key: impl ToArg) -> Request<'_, i64> {
        self.request(cmd("DECR").key(key))
    }

    /// Subtracts from an integer: `DECRBY key decrement`. The reply is the new value.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let left: i64 = client.decrby("stock:42", 3).await?;
    /// # Ok(()) }
    /// ```
    pub fn decrby(&self, key: impl ToArg, decrement: i64) -> Request<'_, i64> {
        self.request(cmd("DECRBY").key(key).arg(decrement))
    }

    /// Appends to a string, creating it if needed: `APPEND key value`. The reply is
    /// the string's new length.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let len: u64 = client.append("log", "line\n").await?;
    /// # Ok(()) }
    /// ```
    pub fn append(&self, key: impl ToArg, value: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("APPEND").key(key).arg(value))
    }

    /// Gets a value and deletes the key: `GETDEL key`. Nil (a missing key) converts to
    /// `None`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let token: Option<String> = client.getdel("one-time-token").await?;
    /// # Ok(()) }
    /// ```
    pub fn getdel<T: FromValue>(&self, key: impl ToArg) -> Request<'_, T> {
        self.request(cmd("GETDEL").key(key))
    }

    /// Gets a value and sets or clears its expiry: `GETEX key EX s|PX ms|EXAT t|PXAT t|PERSIST`.
    /// Nil (a missing key) converts to `None`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// use redmux::Expiry;
    /// let v: Option<String> = client.getex("session", Expiry::Ex(Duration::from_secs(300))).await?;
    /// let kept: Option<String> = client.getex("session", Expiry::Persist).await?;
    /// # Ok(()) }
    /// ```
    pub fn getex<T: FromValue>(&self, key: impl ToArg, expiry: Expiry) -> Request<'_, T> {
        let mut command = cmd("GETEX").key(key);
        expiry.push_args(&mut command);
        self.request(command)
    }

    /// The length of a string, 0 for a missing key: `STRLEN key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let len: u64 = client.strlen("greeting").await?;
    /// # Ok(()) }
    /// ```
    pub fn strlen(&self, key: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("STRLEN").key(key))
    }

    /// A substring, by byte offsets, both inclusive; negative offsets count from the
    /// end: `GETRANGE key start end`. A missing key gives an empty string.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let last_three: String = client.getrange("greeting", -3, -1).await?;
    /// # Ok(()) }
    /// ```
    pub fn getrange<T: FromValue>(&self, key: impl ToArg, start: i64, end: i64) -> Request<'_, T> {
        self.request(cmd("GETRANGE").key(key).arg(start).arg(end))
    }

    /// Overwrites part of a string from a byte offset, padding with zero bytes if it
    /// was shorter: `SETRANGE key offset value`. The reply is the new length.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let len: u64 = client.setrange("greeting", 6, "Redis").await?;
    /// # Ok(()) }
    /// ```
    pub fn setrange(&self, key: impl ToArg, offset: u64, value: impl ToArg) -> Request<'_, u64> {
        self.request(cmd("SETRANGE").key(key).arg(offset).arg(value))
    }
}

/// Appends each pair's two halves as arguments.
pub(super) fn pairs_args(
    mut command: Command,
    pairs: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
) -> Command {
    for (a, b) in pairs {
        command.push_arg(a).push_arg(b);
    }
    command
}

/// Appends each pair as a key and its value: the keys of `MSET key value ...`
/// are marked, the values are not.
fn key_value_args(
    mut command: Command,
    pairs: impl IntoIterator<Item = (impl ToArg, impl ToArg)>,
) -> Command {
    for (key, value) in pairs {
        command.push_key(key).push_arg(value);
    }
    command
}

/// The expiry [`Client::getex`] gives a key.
///
/// Nothing is cut to the second: an `Ex` duration or `ExAt` time that is not whole
/// seconds is sent as `PX`/`PXAT` milliseconds. Durations are rounded up to the
/// millisecond, so a nonzero one is never sent as 0; times are rounded down. A time
/// before the Unix epoch is sent as the epoch, which expires the key at once.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use redmux::Expiry;
/// let in_five_minutes = Expiry::Ex(Duration::from_secs(300));
/// let at_noon = Expiry::PxAt(SystemTime::now() + Duration::from_secs(3600));
/// let forever = Expiry::Persist;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Expire after this long: `EX seconds` for whole seconds, else `PX milliseconds`
    /// (rounded up). Zero is refused by the server.
    Ex(Duration),
    /// Expire after this long: `PX milliseconds`, rounded up. Zero is refused by the
    /// server.
    Px(Duration),
    /// Expire at this time: `EXAT unix-time-seconds` for a whole second, else
    /// `PXAT unix-time-milliseconds`.
    ExAt(SystemTime),
    /// Expire at this time: `PXAT unix-time-milliseconds`.
    PxAt(SystemTime),
    /// `PERSIST`: remove the expiry; the key lives until deleted.
    Persist,
}

impl Expiry {
    fn push_args(self, command: &mut Command) {
        match self {
            Expiry::Ex(d) => match Ttl::of(d) {
                Ttl::Seconds(s) => command.push_arg("EX").push_arg(s),
                Ttl::Millis(ms) => command.push_arg("PX").push_arg(ms),
            },
            Expiry::Px(d) => command.push_arg("PX").push_arg(millis_rounded_up(d)),
            Expiry::ExAt(t) => match Ttl::at(t) {
                Ttl::Seconds(s) => command.push_arg("EXAT").push_arg(s),
                Ttl::Millis(ms) => command.push_arg("PXAT").push_arg(ms),
            },
            Expiry::PxAt(t) => command.push_arg("PXAT").push_arg(millis(since_epoch(t))),
            Expiry::Persist => command.push_arg("PERSIST"),
        };
    }
}

/// The options of [`Client::set_with`] and [`Client::set_with_get`]: an expiry and a
/// condition. Each setter replaces an earlier choice of the same kind (`nx()` then
/// `xx()` sends `XX`).
///
/// ```
/// use std::time::Duration;
/// use redmux::SetOptions;
/// // SET key value NX PX 500
/// let lock = SetOptions::new().nx().px(Duration::from_millis(500));
/// // SET key value XX KEEPTTL
/// let update = SetOptions::new().xx().keep_ttl();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetOptions {
    ttl: Option<SetTtl>,
    condition: Option<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetTtl {
    Expire(Expiry),
    KeepTtl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    Nx,
    Xx,
}

impl SetOptions {
    /// No options: a plain `SET`, which also clears any expiry the key had.
    pub fn new() -> Self {
        SetOptions::default()
    }

    /// Expire after this long: `EX seconds` for whole seconds, else `PX milliseconds`
    /// rounded up (500 ms goes as `PX 500`, never as `EX 0`).
    pub fn ex(mut self, ttl: Duration) -> Self {
        self.ttl = Some(SetTtl::Expire(Expiry::Ex(ttl)));
        self
    }

    /// `PX milliseconds`: expire after this long, in milliseconds rounded up.
    pub fn px(mut self, ttl: Duration) -> Self {
        self.ttl = Some(SetTtl::Expire(Expiry::Px(ttl)));
        self
    }

    /// Expire at this time: `EXAT unix-time-seconds` for a whole second, else
    /// `PXAT unix-time-milliseconds` (never cut to the second before).
    pub fn exat(mut self, at: SystemTime) -> Self {
        self.ttl = Some(SetTtl::Expire(Expiry::ExAt(at)));
        self
    }

    /// `PXAT unix-time-milliseconds`: expire at this time, to the millisecond.
    pub fn pxat(mut self, at: SystemTime) -> Self {
        self.ttl = Some(SetTtl::Expire(Expiry::PxAt(at)));
        self
    }

    /// `KEEPTTL`: keep the expiry the key already has.
    pub fn keep_ttl(mut self) -> Self {
        self.ttl = Some(SetTtl::KeepTtl);
        self
    }

    /// `NX`: set only if the key does not exist.
    pub fn nx(mut self) -> Self {
        self.condition = Some(Condition::Nx);
        self
    }

    /// `XX`: set only if the key already exists.
    pub fn xx(mut self) -> Self {
        self.condition = Some(Condition::Xx);
        self
    }

    /// The options' arguments, with `GET` for [`Client::set_with_get`].
    fn push_args(self, command: &mut Command, get: bool) {
        match self.condition {
            Some(Condition::Nx) => _ = command.push_arg("NX"),
            Some(Condition::Xx) => _ = command.push_arg("XX"),
            None => {}
        }
        if get {
            command.push_arg("GET");
        }
        match self.ttl {
            Some(SetTtl::Expire(expiry)) => expiry.push_args(command),
            Some(SetTtl::KeepTtl) => _ = command.push_arg("KEEPTTL"),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(c: Command) -> String {
        String::from_utf8_lossy(&c.into_bytes()).replace("\r\n", " ")
    }

    #[test]
    fn set_options_encode_in_one_command() {
        let mut c = cmd("SET").arg("k").arg("v");
        SetOptions::new()
            .xx()
            .nx()
            .px(Duration::from_millis(1500))
            .push_args(&mut c, true);
        assert_eq!(wire(c), "*7 $3 SET $1 k $1 v $2 NX $3 GET $2 PX $4 1500 ");
        let mut c = cmd("SET").arg("k").arg("v");
        SetOptions::new()
            .ex(Duration::from_secs(9))
            .keep_ttl()
            .push_args(&mut c, false);
        assert_eq!(wire(c), "*4 $3 SET $1 k $1 v $7 KEEPTTL ");
    }

    #[test]
    fn durations_are_never_cut_off() {
        let wire_of = |expiry: Expiry| {
            let mut c = cmd("GETEX").arg("k");
            expiry.push_args(&mut c);
            wire(c)
        };
        assert_eq!(
            wire_of(Expiry::Ex(Duration::from_secs(2))),
            "*4 $5 GETEX $1 k $2 EX $1 2 "
        );
        // Not EX 0 (refused) or EX 1 (cut by a third): PX, to the millisecond.
        assert_eq!(
            wire_of(Expiry::Ex(Duration::from_millis(500))),
            "*4 $5 GETEX $1 k $2 PX $3 500 "
        );
        assert_eq!(
            wire_of(Expiry::Ex(Duration::from_millis(1500))),
            "*4 $5 GETEX $1 k $2 PX $4 1500 "
        );
        assert_eq!(
            wire_of(Expiry::Px(Duration::from_micros(10))),
            "*4 $5 GETEX $1 k $2 PX $1 1 "
        );
        let epoch = std::time::UNIX_EPOCH;
        assert_eq!(
            wire_of(Expiry::ExAt(epoch + Duration::from_secs(2_000_000_000))),
            "*4 $5 GETEX $1 k $4 EXAT $10 2000000000 "
        );
        assert_eq!(
            wire_of(Expiry::ExAt(
                epoch + Duration::from_millis(2_000_000_000_400)
            )),
            "*4 $5 GETEX $1 k $4 PXAT $13 2000000000400 "
        );
        assert_eq!(
            wire_of(Expiry::PxAt(
                epoch + Duration::from_nanos(2_000_000_000_400_000_001)
            )),
            "*4 $5 GETEX $1 k $4 PXAT $13 2000000000400 "
        );
        let mut c = cmd("SET").arg("k").arg("v");
        SetOptions::new()
            .ex(Duration::from_millis(250))
            .push_args(&mut c, false);
        assert_eq!(wire(c), "*5 $3 SET $1 k $1 v $2 PX $3 250 ");
    }

    #[test]
    fn times_before_the_epoch_are_the_epoch() {
        let mut c = cmd("GETEX").arg("k");
        let before = std::time::UNIX_EPOCH - Duration::from_secs(10);
        Expiry::ExAt(before).push_args(&mut c);
        assert_eq!(wire(c), "*4 $5 GETEX $1 k $4 EXAT $1 0 ");
    }
}
