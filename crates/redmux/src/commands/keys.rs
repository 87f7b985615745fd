//! Key commands: DEL, UNLINK, EXISTS, EXPIRE, TTL, PERSIST, TYPE, RENAME, ...
//! SCAN is in `scan.rs`.

use std::fmt;
use std::time::{Duration, SystemTime};

use redmux_resp::{ToArg, Value};

use super::{millis, since_epoch};
use crate::{Commands, FromValue, Request, Result, cmd};

impl Commands {
    /// Deletes a key: `DEL key`. The reply is whether it existed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let deleted: bool = client.del("session:42").await?;
    /// # Ok(()) }
    /// ```
    pub fn del(&self, key: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("DEL").key(key))
    }

    /// Deletes keys: `DEL key [key ...]`. The reply is how many existed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let deleted: u64 = client.del_many(["a", "b", "c"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn del_many(&self, keys: impl IntoIterator<Item = impl ToArg>) -> Request<'_, u64> {
        self.request(cmd("DEL").keys(keys))
    }

    /// Deletes a key, freeing its memory in the background: `UNLINK key`. The reply is
    /// whether it existed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.unlink("big-set").fire_and_forget()?;
    /// # Ok(()) }
    /// ```
    pub fn unlink(&self, key: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("UNLINK").key(key))
    }

    /// Deletes keys, freeing their memory in the background: `UNLINK key [key ...]`.
    /// The reply is how many existed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let unlinked: u64 = client.unlink_many(["a", "b"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn unlink_many(&self, keys: impl IntoIterator<Item = impl ToArg>) -> Request<'_, u64> {
        self.request(cmd("UNLINK").keys(keys))
    }

    /// Whether a key exists: `EXISTS key`.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let there: bool = client.exists("greeting").await?;
    /// # Ok(()) }
    /// ```
    pub fn exists(&self, key: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("EXISTS").key(key))
    }

    /// How many of the keys exist: `EXISTS key [key ...]`. A key named twice counts
    /// twice.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let present: u64 = client.exists_many(["a", "b", "c"]).await?;
    /// # Ok(()) }
    /// ```
    pub fn exists_many(&self, keys: impl IntoIterator<Item = impl ToArg>) -> Request<'_, u64> {
        self.request(cmd("EXISTS").keys(keys))
    }

    /// Sets a key's time to live: `EXPIRE key seconds` when `ttl` is whole seconds,
    /// else `PEXPIRE key milliseconds`, rounded up. The reply is whether a timeout was
    /// set (`false` when the key does not exist).
    ///
    /// Nothing is cut off: 1.5 s is sent as `PEXPIRE key 1500`, and 300 µs as
    /// `PEXPIRE key 1` (`EXPIRE key 0` would delete the key). [`Duration::ZERO`] is
    /// sent as `EXPIRE key 0`, which deletes it.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// // EXPIRE session:42 300
    /// client.expire("session:42", Duration::from_secs(300)).fire_and_forget()?;
    /// // PEXPIRE lock 500
    /// let set: bool = client.expire("lock", Duration::from_millis(500)).await?;
    /// # Ok(()) }
    /// ```
    pub fn expire(&self, key: impl ToArg, ttl: Duration) -> Request<'_, bool> {
        self.request(match Ttl::of(ttl) {
            Ttl::Seconds(s) => cmd("EXPIRE").key(key).arg(s),
            Ttl::Millis(ms) => cmd("PEXPIRE").key(key).arg(ms),
        })
    }

    /// Sets a key's time to live in milliseconds, rounded up (so a nonzero `ttl` is
    /// never sent as 0, which would delete the key): `PEXPIRE key milliseconds`. The
    /// reply is whether a timeout was set (`false` when the key does not exist).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::Duration;
    /// let set: bool = client.pexpire("lock", Duration::from_millis(250)).await?;
    /// # Ok(()) }
    /// ```
    pub fn pexpire(&self, key: impl ToArg, ttl: Duration) -> Request<'_, bool> {
        self.request(cmd("PEXPIRE").key(key).arg(millis_rounded_up(ttl)))
    }

    /// Makes a key expire at a time: `EXPIREAT key unix-time-seconds` when `at` is a
    /// whole second, else `PEXPIREAT key unix-time-milliseconds` (cutting it to the
    /// second could put a time half a second away in the past, which deletes the
    /// key). A time in the past deletes the key; one before the Unix epoch is sent as
    /// the epoch. The reply is whether a timeout was set.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::{Duration, SystemTime};
    /// let at = SystemTime::now() + Duration::from_secs(3600);
    /// let set: bool = client.expireat("report", at).await?;
    /// # Ok(()) }
    /// ```
    pub fn expireat(&self, key: impl ToArg, at: SystemTime) -> Request<'_, bool> {
        self.request(match Ttl::at(at) {
            Ttl::Seconds(s) => cmd("EXPIREAT").key(key).arg(s),
            Ttl::Millis(ms) => cmd("PEXPIREAT").key(key).arg(ms),
        })
    }

    /// Makes a key expire at a time, to the millisecond:
    /// `PEXPIREAT key unix-time-milliseconds`. The reply is whether a timeout was set.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use std::time::{Duration, SystemTime};
    /// let set: bool = client.pexpireat("lock", SystemTime::now() + Duration::from_millis(500)).await?;
    /// # Ok(()) }
    /// ```
    pub fn pexpireat(&self, key: impl ToArg, at: SystemTime) -> Request<'_, bool> {
        self.request(cmd("PEXPIREAT").key(key).arg(millis(since_epoch(at))))
    }

    /// A key's remaining time to live in seconds: `TTL key`. `-1` means the key exists
    /// but has no expiry; `-2` means it does not exist.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// match client.ttl("session:42").await? {
    ///     -2 => println!("gone"),
    ///     -1 => println!("never expires"),
    ///     secs => println!("{secs}s left"),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn ttl(&self, key: impl ToArg) -> Request<'_, i64> {
        self.request(cmd("TTL").key(key))
    }

    /// A key's remaining time to live in milliseconds: `PTTL key`. `-1` means the key
    /// exists but has no expiry; `-2` means it does not exist.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let ms: i64 = client.pttl("lock").await?;
    /// # Ok(()) }
    /// ```
    pub fn pttl(&self, key: impl ToArg) -> Request<'_, i64> {
        self.request(cmd("PTTL").key(key))
    }

    /// Removes a key's expiry: `PERSIST key`. The reply is whether there was one to
    /// remove.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let removed: bool = client.persist("session:42").await?;
    /// # Ok(()) }
    /// ```
    pub fn persist(&self, key: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("PERSIST").key(key))
    }

    /// The type of the value at a key: `TYPE key`. [`KeyType::Missing`] when there is
    /// no such key.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// use redmux::KeyType;
    /// if client.key_type("queue").await? == KeyType::List {
    ///     println!("a list");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn key_type(&self, key: impl ToArg) -> Request<'_, KeyType> {
        self.request(cmd("TYPE").key(key))
    }

    /// Renames a key, overwriting `new_key` if it exists: `RENAME key newkey`. A
    /// missing `key` is a server error (`ERR no such key`).
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// client.rename("report:tmp", "report").await?;
    /// # Ok(()) }
    /// ```
    pub fn rename(&self, key: impl ToArg, new_key: impl ToArg) -> Request<'_, ()> {
        self.request(cmd("RENAME").key(key).key(new_key))
    }

    /// Renames a key only if `new_key` does not exist: `RENAMENX key newkey`. The
    /// reply is whether it was renamed.
    ///
    /// ```no_run
    /// # async fn run(client: redmux::Client) -> redmux::Result<()> {
    /// let renamed: bool = client.renamenx("draft", "published").await?;
    /// # Ok(()) }
    /// ```
    pub fn renamenx(&self, key: impl ToArg, new_key: impl ToArg) -> Request<'_, bool> {
        self.request(cmd("RENAMENX").key(key).key(new_key))
    }
}

/// A time to live, or a point in time, in the unit that keeps all of it: whole
/// seconds as seconds, anything else as milliseconds. Sending `as_secs()` would cut
/// 1.9 s to 1 and 500 ms to 0, and `EXPIRE key 0` deletes the key; StackExchange.Redis
/// picks between EXPIRE and PEXPIRE (EXPIREAT and PEXPIREAT) the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ttl {
    Seconds(u64),
    Millis(u64),
}

impl Ttl {
    /// A duration: milliseconds rounded up, so only zero is sent as 0.
    pub(super) fn of(d: Duration) -> Ttl {
        if d.subsec_nanos() == 0 {
            Ttl::Seconds(d.as_secs())
        } else {
            Ttl::Millis(millis_rounded_up(d))
        }
    }

    /// A point in time since the Unix epoch (the epoch itself for a time before it),
    /// milliseconds rounded down as `PEXPIREAT`'s callers expect: the key then never
    /// outlives `at`, and a `PTTL` right after never exceeds what was asked.
    pub(super) fn at(at: SystemTime) -> Ttl {
        let d = since_epoch(at);
        if d.subsec_nanos() == 0 {
            Ttl::Seconds(d.as_secs())
        } else {
            Ttl::Millis(millis(d))
        }
    }
}

/// Milliseconds, rounded up so that only zero becomes 0; saturating.
pub(super) fn millis_rounded_up(d: Duration) -> u64 {
    let part = u128::from(!d.subsec_nanos().is_multiple_of(1_000_000));
    u64::try_from(d.as_millis() + part).unwrap_or(u64::MAX)
}

/// The type of a value, as `TYPE` names it; also the filter of
/// [`ScanOptions::type_`](crate::ScanOptions::type_).
///
/// ```
/// use redmux::KeyType;
/// assert_eq!(KeyType::from("zset"), KeyType::ZSet);
/// assert_eq!(KeyType::from("ReJSON-RL"), KeyType::Other("ReJSON-RL".into()));
/// assert_eq!(KeyType::Hash.as_str(), "hash");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// `string`
    String,
    /// `list`
    List,
    /// `set`
    Set,
    /// `zset`, a sorted set.
    ZSet,
    /// `hash`
    Hash,
    /// `stream`
    Stream,
    /// `none`: no such key.
    Missing,
    /// A type this enum does not name, such as a module's (`ReJSON-RL`).
    Other(String),
}

impl KeyType {
    /// The name Redis uses for the type.
    pub fn as_str(&self) -> &str {
        match self {
            KeyType::String => "string",
            KeyType::List => "list",
            KeyType::Set => "set",
            KeyType::ZSet => "zset",
            KeyType::Hash => "hash",
            KeyType::Stream => "stream",
            KeyType::Missing => "none",
            KeyType::Other(name) => name,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for KeyType {
    fn from(name: &str) -> Self {
        match name {
            "string" => KeyType::String,
            "list" => KeyType::List,
            "set" => KeyType::Set,
            "zset" => KeyType::ZSet,
            "hash" => KeyType::Hash,
            "stream" => KeyType::Stream,
            "none" => KeyType::Missing,
            other => KeyType::Other(other.to_owned()),
        }
    }
}

impl From<String> for KeyType {
    fn from(name: String) -> Self {
        KeyType::from(name.as_str())
    }
}

impl FromValue for KeyType {
    fn from_value(value: Value) -> Result<Self> {
        String::from_value(value).map(KeyType::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_keep_every_part_of_the_duration() {
        assert_eq!(Ttl::of(Duration::from_secs(300)), Ttl::Seconds(300));
        assert_eq!(Ttl::of(Duration::ZERO), Ttl::Seconds(0));
        assert_eq!(Ttl::of(Duration::from_millis(500)), Ttl::Millis(500));
        assert_eq!(Ttl::of(Duration::from_millis(1500)), Ttl::Millis(1500));
        assert_eq!(Ttl::of(Duration::from_micros(300)), Ttl::Millis(1));
        assert_eq!(
            Ttl::of(Duration::from_nanos(1_000_000_001)),
            Ttl::Millis(1001)
        );
        assert_eq!(Ttl::of(Duration::MAX), Ttl::Millis(u64::MAX));
        let at = std::time::UNIX_EPOCH + Duration::from_micros(1_700_000_000_250_900);
        assert_eq!(Ttl::at(at), Ttl::Millis(1_700_000_000_250));
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(Ttl::at(at), Ttl::Seconds(1_700_000_000));
        let before = std::time::UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(Ttl::at(before), Ttl::Seconds(0));
    }

    #[test]
    fn milliseconds_round_up() {
        assert_eq!(millis_rounded_up(Duration::ZERO), 0);
        assert_eq!(millis_rounded_up(Duration::from_nanos(1)), 1);
        assert_eq!(millis_rounded_up(Duration::from_micros(1999)), 2);
        assert_eq!(millis_rounded_up(Duration::from_millis(7)), 7);
    }
}
