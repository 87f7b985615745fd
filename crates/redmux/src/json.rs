//! [`Json`]: your own types in and out as JSON strings (the `json` feature).
//!
//! `Json(value)` is an argument: the value is serialized with `serde_json` when the
//! command is built. `Json<T>` is a reply type: a string reply is parsed as JSON.
//! So a struct goes in with `client.set("user:1", Json(&user))` and comes back
//! with `client.get::<Option<Json<User>>>("user:1")`, in a batch, a transaction
//! or on a dedicated connection as well.
//!
//! ```no_run
//! # async fn run(client: redmux::Client) -> redmux::Result<()> {
//! use redmux::Json;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Address {
//!     city: String,
//!     zip: String,
//! }
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct User {
//!     name: String,
//!     tags: Vec<String>,
//!     address: Address,
//! }
//!
//! let user = User {
//!     name: "Ada".into(),
//!     tags: vec!["admin".into()],
//!     address: Address { city: "London".into(), zip: "N1".into() },
//! };
//! client.set("user:1", Json(&user)).await?;
//! let back: Option<Json<User>> = client.get("user:1").await?;
//! assert_eq!(back.map(Json::into_inner), Some(user));
//!
//! let missing: Option<Json<User>> = client.get("user:2").await?;
//! assert!(missing.is_none()); // nil is `None`, not an error
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! - A value that does not serialize (a map whose keys are not strings or
//!   numbers, a `Serialize` impl that fails) fails its command with
//!   [`Error::InvalidArgument`], whose [`source`](std::error::Error::source) is the
//!   `serde_json::Error`. Nothing is sent, so nothing half-written is stored.
//! - A reply that is not valid JSON for `T` is [`Error::Conversion`] with the
//!   `serde_json::Error` as its source; a nil reply is one too, unless you ask
//!   for `Option<Json<T>>`.
//!
//! # A JSON string or a hash?
//!
//! A JSON string (`SET`/`GET`) suits an object read and written whole: nested data
//! (vectors, maps, structs in structs) with one round trip each way and one key
//! to expire. A hash (`HSET`/`HGETALL`) suits one whose fields change on their
//! own: `HINCRBY` a counter without reading the rest, `HGET` one field of a large
//! object, concurrent writers of different fields that must not overwrite each
//! other, and fields too large to move on every update. `docs/own-types.md`
//! shows both, with your own `ToArg` and `FromValue` impls.

use std::ops::{Deref, DerefMut};

use redmux_resp::{Arg, ToArg, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result, ServerError};
use crate::from_value::FromValue;

/// A value stored as a JSON string: an argument when `T: Serialize`, a reply type
/// when `T: DeserializeOwned` (see the [module docs](self) for an example).
///
/// ```
/// use redmux::{FromValue, Json, Value};
/// let reply = Value::BulkString(r#"{"x":1,"y":[2,3]}"#.into());
/// let Json(point): Json<serde_json::Value> = FromValue::from_value(reply)?;
/// assert_eq!(point["y"][1], 3);
/// # Ok::<(), redmux::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The value inside.
    ///
    /// ```
    /// assert_eq!(redmux::Json(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Serialize> ToArg for Json<T> {
    /// The value as JSON. If it does not serialize, the argument is
    /// [`Arg::failed`] and its command fails unsent with
    /// [`Error::InvalidArgument`]: storing anything else in its place would lose
    /// data silently.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use redmux::{Json, ToArg};
    /// let ok = Json(HashMap::from([("a", 1)]));
    /// assert!(ok.to_arg().failure().is_none());
    /// // JSON object keys must be strings (or numbers, written as strings).
    /// let bad = Json(HashMap::from([((1, 2), "point")]));
    /// assert!(bad.to_arg().failure().is_some());
    /// ```
    fn to_arg(&self) -> Arg<'_> {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => Arg::owned(bytes),
            Err(e) => Arg::failed(e),
        }
    }
}

impl<T: DeserializeOwned> FromValue for Json<T> {
    /// Parses a string reply (bulk, simple or verbatim) as JSON.
    ///
    /// # Errors
    ///
    /// [`Error::Conversion`] for a reply that is not a string (nil included: ask
    /// for `Option<Json<T>>`), or whose text is not JSON for `T` (the
    /// `serde_json::Error` is its source); [`Error::Server`] for an error reply.
    ///
    /// ```
    /// use std::error::Error as _;
    /// use redmux::{FromValue, Json, Value};
    /// let e = <Json<Vec<u32>>>::from_value(Value::BulkString("[1, \"two\"]".into())).unwrap_err();
    /// assert!(e.source().is_some_and(|s| s.is::<serde_json::Error>()));
    /// let none: Option<Json<Vec<u32>>> = FromValue::from_value(Value::Nil)?;
    /// assert!(none.is_none());
    /// # Ok::<(), redmux::Error>(())
    /// ```
    fn from_value(value: Value) -> Result<Self> {
        let text = match &value {
            Value::BulkString(b) | Value::SimpleString(b) => b,
            Value::VerbatimString { text, .. } => text,
            Value::Attribute { value, .. } => return Self::from_value((**value).clone()),
            other => {
                return Err(match other.as_error() {
                    Some(line) => Error::Server(ServerError::parse(line)),
                    None => Error::conversion("a JSON string", other),
                });
            }
        };
        match serde_json::from_slice(text) {
            Ok(parsed) => Ok(Json(parsed)),
            Err(e) => Err(Error::conversion_with_source(
                "JSON for the type asked for",
                &value,
                e,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Inner {
        n: i64,
        tags: Vec<String>,
    }

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Outer {
        name: String,
        inner: Inner,
        extra: Option<BTreeMap<String, f64>>,
    }

    fn sample() -> Outer {
        Outer {
            name: "a\r\nb".into(),
            inner: Inner {
                n: -3,
                tags: vec!["x".into()],
            },
            extra: Some(BTreeMap::from([("pi".into(), 3.25)])),
        }
    }

    #[test]
    fn encodes_as_one_bulk_string_and_parses_back() {
        let cmd = crate::cmd("SET").arg("k").arg(Json(sample()));
        let bytes = cmd.into_bytes();
        let json = serde_json::to_vec(&sample()).unwrap();
        let mut expected =
            format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", json.len()).into_bytes();
        expected.extend_from_slice(&json);
        expected.extend_from_slice(b"\r\n");
        assert_eq!(&bytes[..], &expected[..]);
        let back: Json<Outer> = FromValue::from_value(Value::BulkString(json.into())).unwrap();
        assert_eq!(back.0, sample());
    }

    #[test]
    fn a_value_that_does_not_serialize_fails_its_command() {
        let bad = Json(std::collections::HashMap::from([(vec![1u8], 1)]));
        let cmd = crate::cmd("SET").arg("k").arg(&bad);
        let e = cmd.check_arguments().unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
        let source = std::error::Error::source(&e).unwrap();
        assert!(source.is::<serde_json::Error>(), "{source:?}");
        assert_eq!(e.status(), crate::CommandStatus::NotSent);
    }

    #[test]
    fn replies_that_are_not_json_strings_are_conversion_errors() {
        let e = <Json<Inner>>::from_value(Value::Integer(1)).unwrap_err();
        assert!(matches!(e, Error::Conversion { source: None, .. }));
        let e = <Json<Inner>>::from_value(Value::BulkString("{".into())).unwrap_err();
        assert!(matches!(
            e,
            Error::Conversion {
                source: Some(_),
                ..
            }
        ));
        let e = <Json<Inner>>::from_value(Value::Error("WRONGTYPE x".into())).unwrap_err();
        assert!(matches!(e, Error::Server(_)));
        let none: Option<Json<Inner>> = FromValue::from_value(Value::Nil).unwrap();
        assert!(none.is_none());
    }
}
