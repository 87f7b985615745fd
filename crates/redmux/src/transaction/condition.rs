//! [`Condition`]: what must hold for a transaction to commit, in the
//! StackExchange.Redis style. Each condition is one key to WATCH, one read to check
//! it, and a test of that read's reply.

use std::fmt;

use bytes::{Bytes, BytesMut};
use redmux_resp::{ToArg, Value};

use crate::command::{Command, cmd};
use crate::error::{Error, Result};
use crate::from_value::FromValue;

/// How a length is compared in a [`Condition`].
///
/// ```
/// use redmux::{Comparison, Condition};
/// let short_queue = Condition::list_length("jobs", Comparison::LessThan(100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// Exactly this long.
    Equal(i64),
    /// Shorter than this.
    LessThan(i64),
    /// Longer than this.
    GreaterThan(i64),
}

impl Comparison {
    fn holds(self, length: i64) -> bool {
        match self {
            Comparison::Equal(n) => length == n,
            Comparison::LessThan(n) => length < n,
            Comparison::GreaterThan(n) => length > n,
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Comparison::Equal(n) => write!(f, "= {n}"),
            Comparison::LessThan(n) => write!(f, "< {n}"),
            Comparison::GreaterThan(n) => write!(f, "> {n}"),
        }
    }
}

/// Something a [`crate::Transaction`] checks before it commits. If any condition
/// does not hold, nothing runs and the transaction reports which one failed.
///
/// The key of every condition is watched (`WATCH`) before it is read, so a change
/// by anyone between the check and `EXEC` aborts the transaction too.
///
/// ```
/// use redmux::{Comparison, Condition};
/// let conditions = [
///     Condition::key_not_exists("lock:job-7"),
///     Condition::string_equal("state", "ready"),
///     Condition::hash_field_equal("user:1", "plan", "pro"),
///     Condition::sorted_set_length("leaders", Comparison::GreaterThan(0)),
/// ];
/// assert_eq!(conditions[1].to_string(), r#"string "state" equals "ready""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    key: Bytes,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    KeyExists(bool),
    StringEqual {
        value: Bytes,
        equal: bool,
    },
    HashFieldExists {
        field: Bytes,
        exists: bool,
    },
    HashFieldEqual {
        field: Bytes,
        value: Bytes,
        equal: bool,
    },
    Length {
        of: Collection,
        compare: Comparison,
    },
    SetContains {
        member: Bytes,
        contains: bool,
    },
    SortedSetContains {
        member: Bytes,
        contains: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collection {
    String,
    Hash,
    List,
    Set,
    SortedSet,
    Stream,
}

impl Collection {
    fn name(self) -> &'static str {
        match self {
            Collection::String => "string",
            Collection::Hash => "hash",
            Collection::List => "list",
            Collection::Set => "set",
            Collection::SortedSet => "sorted set",
            Collection::Stream => "stream",
        }
    }

    fn length_command(self) -> &'static str {
        match self {
            Collection::String => "STRLEN",
            Collection::Hash => "HLEN",
            Collection::List => "LLEN",
            Collection::Set => "SCARD",
            Collection::SortedSet => "ZCARD",
            Collection::Stream => "XLEN",
        }
    }
}

/// The payload of one encoded argument (`$3\r\nfoo\r\n` gives `foo`).
fn payload(arg: impl ToArg) -> Bytes {
    let mut encoded = BytesMut::new();
    arg.to_arg().encode(&mut encoded);
    let start = encoded
        .iter()
        .position(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let end = encoded.len().saturating_sub(2).max(start);
    encoded.freeze().slice(start..end)
}

impl Condition {
    fn new(key: impl ToArg, kind: Kind) -> Condition {
        Condition {
            key: payload(key),
            kind,
        }
    }

    /// The key exists (checked with `EXISTS key`).
    ///
    /// ```
    /// use redmux::Condition;
    /// let condition = Condition::key_exists("session:42");
    /// println!("{condition}");
    /// ```
    pub fn key_exists(key: impl ToArg) -> Condition {
        Condition::new(key, Kind::KeyExists(true))
    }

    /// The key does not exist (checked with `EXISTS key`).
    ///
    /// ```
    /// use redmux::Condition;
    /// let condition = Condition::key_not_exists("user:alice");
    /// println!("{condition}");
    /// ```
    pub fn key_not_exists(key: impl ToArg) -> Condition {
        Condition::new(key, Kind::KeyExists(false))
    }

    /// The string at `key` equals `value` (checked with `GET key`); a missing key
    /// equals nothing.
    ///
    /// ```
    /// use redmux::Condition;
    /// let condition = Condition::string_equal("state", "ready");
    /// println!("{condition}");
    /// ```
    pub fn string_equal(key: impl ToArg, value: impl ToArg) -> Condition {
        let value = payload(value);
        Condition::new(key, Kind::StringEqual { value, equal: true })
    }

    /// The string at `key` is not `value`, or is missing (checked with `GET key`).
    ///
    /// ```
    /// use redmux::Condition;
    /// let condition = Condition::string_not_equal("owner", "worker-1");
    /// println!("{condition}");
    /// ```
    pub fn string_not_equal(key: impl ToArg, value: impl ToArg) -> Condition {
        let value = payload(value);
        Condition::new(
            key,
            Kind::StringEqual {
                value,
                equal: false,
            },
        )
    }

    /// The hash at `key` has `field` (checked with `HEXISTS key field`).
    ///
    /// ```
    /// use redmux::Condition;
    /// let condition = Condition::hash_field_exists("user:1", "email");
    /// println!("{condition}");
    /// ```
    pub fn hash_field_exists(key: impl ToArg, field: impl ToArg) -> Condition {
        let field = payload(field);
        Condition::new(
            key,
            Kind::HashFieldExists {
                field,
                exists: true,
            },
        )
    }

    /// The hash at `key` lacks `field`, or is missing (checked with `HEXISTS key field`).
    ///
    /// ```
    /// use redmux::Condition;
    /// let condition = Condition::hash_field_not_exists("user:1", "deleted_at");
    /// println!("{condition}");
    /// ```
    pub fn hash_field_not_exists(key: impl ToArg, field: impl ToArg) -> Condition {
        let field = payload(field);
        Condition::new(
            key,
            Kind::HashFieldExists {
                field,
                exists: false,
            },
        )
    }

    /// The hash at `key` has `field` set to `value` (checked with `HGET key field`).
    ///
    /// ```
    /// use redmux::Condition;
    /// let condition = Condition::hash_field_equal("order:7", "state", "paid");
    /// println!("{condition}");
    /// ```
    pub fn hash_field_equal(key: impl ToArg, field: impl ToArg, value: impl ToArg) -> Condition {
        let (field, value) = (payload(field), payload(value));
        Condition::new(
            key,
            Kind::HashFieldEqual {
                field,
                value,
                equal: true,
            },
        )
    }

    /// The hash at `key` does not have `field` set to `value`, or lacks it
    /// (checked with `HGET key field`).
    ///
    /// ```
    /// use redmux::Condition;
    /// let condition = Condition::hash_field_not_equal("order:7", "state", "shipped");
    /// println!("{condition}");
    /// ```
    pub fn hash_field_not_equal(
        key: impl ToArg,
        field: impl ToArg,
        value: impl ToArg,
    ) -> Condition {
        let (field, value) = (payload(field), payload(value));
        Condition::new(
            key,
            Kind::HashFieldEqual {
                field,
                value,
                equal: false,
            },
        )
    }

    fn length(key: impl ToArg, of: Collection, compare: Comparison) -> Condition {
        Condition::new(key, Kind::Length { of, compare })
    }

    /// The string at `key` has a length that compares so (`STRLEN key`; a missing
    /// key has length 0).
    ///
    /// ```
    /// use redmux::{Comparison, Condition};
    /// let condition = Condition::string_length("token", Comparison::Equal(32));
    /// println!("{condition}");
    /// ```
    pub fn string_length(key: impl ToArg, compare: Comparison) -> Condition {
        Condition::length(key, Collection::String, compare)
    }

    /// The hash at `key` has a number of fields that compares so (`HLEN key`).
    ///
    /// ```
    /// use redmux::{Comparison, Condition};
    /// let condition = Condition::hash_length("cart:9", Comparison::LessThan(50));
    /// println!("{condition}");
    /// ```
    pub fn hash_length(key: impl ToArg, compare: Comparison) -> Condition {
        Condition::length(key, Collection::Hash, compare)
    }

    /// The list at `key` has a length that compares so (`LLEN key`).
    ///
    /// ```
    /// use redmux::{Comparison, Condition};
    /// let room = Condition::list_length("jobs", Comparison::LessThan(1000));
    /// assert_eq!(room.to_string(), r#"list "jobs" length < 1000"#);
    /// ```
    pub fn list_length(key: impl ToArg, compare: Comparison) -> Condition {
        Condition::length(key, Collection::List, compare)
    }

    /// The set at `key` has a number of members that compares so (`SCARD key`).
    ///
    /// ```
    /// use redmux::{Comparison, Condition};
    /// let condition = Condition::set_length("seats:42", Comparison::LessThan(100));
    /// println!("{condition}");
    /// ```
    pub fn set_length(key: impl ToArg, compare: Comparison) -> Condition {
        Condition::length(key, Collection::Set, compare)
    }

    /// The sorted set at `key` has a number of members that compares so (`ZCARD key`).
    ///
    /// ```
    /// use redmux::{Comparison, Condition};
    /// let condition = Condition::sorted_set_length("leaders", Comparison::GreaterThan(0));
    /// println!("{condition}");
    /// ```
    pub fn sorted_set_length(key: impl ToArg, compare: Comparison) -> Condition {
        Condition::length(key, Collection::SortedSet, compare)
    }

    /// The stream at `key` has a number of entries that compares so (`XLEN key`).
    ///
    /// ```
    /// use redmux::{Comparison, Condition};
    /// let condition = Condition::stream_length("events", Comparison::LessThan(10_000));
    /// println!("{condition}");
    /// ```
    pub fn stream_length(key: impl ToArg, compare: Comparison) -> Condition {
        Condition::length(key, Collection::Stream, compare)
    }

    /// The set at `key` contains `member` (`SISMEMBER key member`).
    ///
    /// ```
    /// use redmux::Condition;
    /// let condition = Condition::set_contains("admins", "alice");
    /// println!("{condition}");
    /// ```
    pub fn set_contains(key: impl ToArg, member: impl ToArg) -> Condition {
        let member = payload(member);
        Condition::new(
            key,
            Kind::SetContains {
                member,
                contains: true,
            },
        )
    }

    /// The set at `key` does not contain `member`, or is missing (`SISMEMBER key member`).
    ///
    /// ```
    /// use redmux::Condition;
    /// let condition = Condition::set_not_contains("banned", "alice");
    /// println!("{condition}");
    /// ```
    pub fn set_not_contains(key: impl ToArg, member: impl ToArg) -> Condition {
        let member = payload(member);
        Condition::new(
            key,
            Kind::SetContains {
                member,
                contains: false,
            },
        )
    }

    /// The sorted set at `key` contains `member` (`ZSCORE key member` is not nil).
    ///
    /// ```
    /// use redmux::Condition;
    /// let condition = Condition::sorted_set_contains("leaders", "alice");
    /// println!("{condition}");
    /// ```
    pub fn sorted_set_contains(key: impl ToArg, member: impl ToArg) -> Condition {
        let member = payload(member);
        Condition::new(
            key,
            Kind::SortedSetContains {
                member,
                contains: true,
            },
        )
    }

    /// The sorted set at `key` does not contain `member`, or is missing
    /// (`ZSCORE key member` is nil).
    ///
    /// ```
    /// use redmux::Condition;
    /// let condition = Condition::sorted_set_not_contains("leaders", "mallory");
    /// println!("{condition}");
    /// ```
    pub fn sorted_set_not_contains(key: impl ToArg, member: impl ToArg) -> Condition {
        let member = payload(member);
        Condition::new(
            key,
            Kind::SortedSetContains {
                member,
                contains: false,
            },
        )
    }

    /// The key the condition reads, which the transaction watches.
    ///
    /// ```
    /// assert_eq!(redmux::Condition::key_exists("k").key(), b"k");
    /// ```
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The read that checks the condition.
    pub(crate) fn check(&self) -> Command {
        let key = &self.key[..];
        match &self.kind {
            Kind::KeyExists(_) => cmd("EXISTS").key(key),
            Kind::StringEqual { .. } => cmd("GET").key(key),
            Kind::HashFieldExists { field, .. } => cmd("HEXISTS").key(key).arg(&field[..]),
            Kind::HashFieldEqual { field, .. } => cmd("HGET").key(key).arg(&field[..]),
            Kind::Length { of, .. } => cmd(of.length_command()).key(key),
            Kind::SetContains { member, .. } => cmd("SISMEMBER").key(key).arg(&member[..]),
            Kind::SortedSetContains { member, .. } => cmd("ZSCORE").key(key).arg(&member[..]),
        }
    }

    /// Whether the check's reply says the condition holds.
    ///
    /// # Errors
    ///
    /// The check's error reply (WRONGTYPE when the key holds another type), or a
    /// conversion error for a reply of the wrong shape.
    pub(crate) fn holds(&self, reply: Value) -> Result<bool> {
        if let Some(line) = reply.as_error() {
            return Err(Error::Server(crate::error::ServerError::parse(line)));
        }
        Ok(match &self.kind {
            Kind::KeyExists(exists) => (i64::from_value(reply)? > 0) == *exists,
            Kind::HashFieldExists { exists, .. } => (i64::from_value(reply)? > 0) == *exists,
            Kind::SetContains { contains, .. } => (i64::from_value(reply)? > 0) == *contains,
            Kind::StringEqual { value, equal } | Kind::HashFieldEqual { value, equal, .. } => {
                let current = Option::<Bytes>::from_value(reply)?;
                (current.as_ref() == Some(value)) == *equal
            }
            Kind::Length { compare, .. } => compare.holds(i64::from_value(reply)?),
            Kind::SortedSetContains { contains, .. } => !matches!(reply, Value::Nil) == *contains,
        })
    }
}

/// Bytes shown as text, cut short.
struct Shown<'a>(&'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = String::from_utf8_lossy(&self.0[..self.0.len().min(64)]);
        let more = if self.0.len() > 64 { "..." } else { "" };
        write!(f, "{text:?}{more}")
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = Shown(&self.key);
        let not = |yes: bool| if yes { "" } else { " not" };
        match &self.kind {
            Kind::KeyExists(true) => write!(f, "key {key} exists"),
            Kind::KeyExists(false) => write!(f, "key {key} does not exist"),
            Kind::StringEqual { value, equal } => {
                let verb = if *equal { "equals" } else { "does not equal" };
                write!(f, "string {key} {verb} {}", Shown(value))
            }
            Kind::HashFieldExists { field, exists } => {
                let verb = if *exists { "has" } else { "has no" };
                write!(f, "hash {key} {verb} field {}", Shown(field))
            }
            Kind::HashFieldEqual {
                field,
                value,
                equal,
            } => {
                let verb = if *equal { "equals" } else { "does not equal" };
                write!(
                    f,
                    "hash {key} field {} {verb} {}",
                    Shown(field),
                    Shown(value)
                )
            }
            Kind::Length { of, compare } => write!(f, "{} {key} length {compare}", of.name()),
            Kind::SetContains { member, contains } => {
                write!(
                    f,
                    "set {key} does{} contain {}",
                    not(*contains),
                    Shown(member)
                )
            }
            Kind::SortedSetContains { member, contains } => {
                write!(
                    f,
                    "sorted set {key} does{} contain {}",
                    not(*contains),
                    Shown(member)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_decide() {
        let exists = Condition::key_exists("k");
        assert!(exists.holds(Value::Integer(1)).unwrap());
        assert!(!exists.holds(Value::Integer(0)).unwrap());
        let equal = Condition::string_equal("k", 42);
        assert!(equal.holds(Value::from("42")).unwrap());
        assert!(!equal.holds(Value::Nil).unwrap());
        assert!(
            Condition::string_not_equal("k", "v")
                .holds(Value::Nil)
                .unwrap()
        );
        let short = Condition::list_length("q", Comparison::LessThan(3));
        assert!(short.holds(Value::Integer(2)).unwrap());
        assert!(!short.holds(Value::Integer(3)).unwrap());
        let member = Condition::sorted_set_contains("z", "m");
        assert!(member.holds(Value::Double(1.5)).unwrap());
        assert!(!member.holds(Value::Nil).unwrap());
        assert!(matches!(
            exists.holds(Value::Error("WRONGTYPE x".into())),
            Err(Error::Server(_))
        ));
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            Condition::hash_field_not_exists("h", "f").to_string(),
            r#"hash "h" has no field "f""#
        );
        assert_eq!(
            Condition::set_not_contains("s", "m").to_string(),
            r#"set "s" does not contain "m""#
        );
        assert_eq!(Condition::key_exists(b"k").key(), b"k");
    }
}
