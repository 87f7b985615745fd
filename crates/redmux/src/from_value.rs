//! [`FromValue`]: turning a reply into the type the caller asked for.
//!
//! Replies from RESP2 and RESP3 servers convert alike: a RESP3 map and a RESP2 flat
//! array of pairs both become a `HashMap`; a RESP3 double and a RESP2 bulk string
//! `"1.5"` both become an `f64`; attributes are skipped.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

use bytes::Bytes;
use redmux_resp::Value;

use crate::error::{Error, Result, ServerError};

/// A type a reply can be converted into.
///
/// ```
/// use redmux::{FromValue, Value};
/// let n = i64::from_value(Value::BulkString("42".into())).unwrap();
/// assert_eq!(n, 42);
/// let pairs: Vec<(String, i64)> = FromValue::from_value(Value::Array(vec![
///     "a".into(), Value::Integer(1), "b".into(), Value::Integer(2),
/// ])).unwrap();
/// assert_eq!(pairs, [("a".to_string(), 1), ("b".to_string(), 2)]);
/// let err = i64::from_value(Value::Array(vec![])).unwrap_err();
/// assert_eq!(err.to_string(), "cannot convert reply: expected integer, got array of 0 elements");
/// ```
pub trait FromValue: Sized {
    /// Converts a reply.
    ///
    /// # Errors
    ///
    /// [`Error::Conversion`] naming what was expected and what came, or
    /// [`Error::Server`] for an error reply inside an aggregate.
    fn from_value(value: Value) -> Result<Self>;

    /// The value a fire-and-forget request resolves to, having no reply: `None`,
    /// `()`, zero, `false`, empty. `None` where the type has no such value.
    #[doc(hidden)]
    fn empty_reply() -> Option<Self> {
        Self::from_value(Value::Nil).ok()
    }

    /// Converts an aggregate into a `Vec<Self>`. Types override this to read other
    /// shapes as a vector: `u8` reads a bulk string as bytes, tuples read a flat array
    /// of pairs.
    #[doc(hidden)]
    fn vec_from_value(value: Value) -> Result<Vec<Self>> {
        elements(value)
    }
}

/// Each element of an array, set or push (a map's pairs as two-element arrays; nil
/// as none): the shape every `Vec<T>` reads unless `T` knows another.
fn elements<T: FromValue>(value: Value) -> Result<Vec<T>> {
    match strip(value) {
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            items.into_iter().map(T::from_value).collect()
        }
        Value::Map(pairs) => pairs
            .into_iter()
            .map(|(k, v)| T::from_value(Value::Array(vec![k, v])))
            .collect(),
        Value::Nil => Ok(Vec::new()),
        other => Err(Error::conversion("array", &other)),
    }
}

/// The error for a reply that is not `expected`: the server's own error if it is
/// one, else a conversion error naming both.
fn mismatch(expected: &'static str, value: &Value) -> Error {
    server_error(value).unwrap_or_else(|| Error::conversion(expected, value))
}

/// Removes RESP3 attributes, which describe a reply but are not part of it.
// Always in line: every conversion starts here (twice for an `Option<T>`), and as a
// call of its own it cost ~26 instructions each, mostly moving the `Value` in and out.
#[inline(always)]
fn strip(mut value: Value) -> Value {
    // A loop, not recursion, so it inlines: every typed reply passes through here.
    while let Value::Attribute { value: inner, .. } = value {
        value = *inner;
    }
    value
}

/// An error reply is an error, whatever type was asked for.
fn server_error(value: &Value) -> Option<Error> {
    value
        .as_error()
        .map(|line| Error::Server(ServerError::parse(line)))
}

/// Turns a top-level reply into `T`: error replies become [`Error::Server`].
pub(crate) fn convert<T: FromValue>(value: Value) -> Result<T> {
    match server_error(&value) {
        Some(e) => Err(e),
        None => T::from_value(value),
    }
}

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self> {
        Ok(value)
    }
}

impl FromValue for () {
    fn from_value(value: Value) -> Result<Self> {
        match server_error(&value) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn text_of(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(b) | Value::SimpleString(b) | Value::BigNumber(b) => Some(b),
        Value::VerbatimString { text, .. } => Some(text),
        _ => None,
    }
}

impl FromValue for bool {
    fn from_value(value: Value) -> Result<Self> {
        match strip(value) {
            Value::Boolean(b) => Ok(b),
            Value::Integer(i) => Ok(i != 0),
            Value::Nil => Ok(false),
            v => match text_of(&v) {
                Some(b"1" | b"OK" | b"true") => Ok(true),
                Some(b"0" | b"false") => Ok(false),
                _ => Err(mismatch("boolean", &v)),
            },
        }
    }
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: Value) -> Result<Self> {
                let v = strip(value);
                let wide: Option<i128> = match &v {
                    Value::Integer(i) => Some(i128::from(*i)),
                    Value::Boolean(b) => Some(i128::from(*b)),
                    Value::Double(d) if d.fract() == 0.0 && d.is_finite() => Some(*d as i128),
                    other => text_of(other)
                        .and_then(|t| std::str::from_utf8(t).ok())
                        .and_then(|s| s.parse::<i128>().ok()),
                };
                wide.and_then(|w| <$t>::try_from(w).ok())
                    .ok_or_else(|| mismatch("integer", &v))
            }

            fn empty_reply() -> Option<Self> {
                Some(0)
            }
        }
    )*};
}
integer!(i16, i32, i64, i128, isize, u16, u32, u64, usize);

impl FromValue for i8 {
    fn empty_reply() -> Option<Self> {
        Some(0)
    }

    fn from_value(value: Value) -> Result<Self> {
        i64::from_value(value)
            .and_then(|i| i8::try_from(i).map_err(|_| Error::conversion("i8", &Value::Integer(i))))
    }
}

impl FromValue for u8 {
    fn empty_reply() -> Option<Self> {
        Some(0)
    }

    fn from_value(value: Value) -> Result<Self> {
        i64::from_value(value)
            .and_then(|i| u8::try_from(i).map_err(|_| Error::conversion("u8", &Value::Integer(i))))
    }

    /// `Vec<u8>` is the bytes of a string reply, not an array of small integers.
    fn vec_from_value(value: Value) -> Result<Vec<u8>> {
        Bytes::from_value(value).map(Vec::from)
    }
}

impl FromValue for f64 {
    fn empty_reply() -> Option<Self> {
        Some(0.0)
    }

    fn from_value(value: Value) -> Result<Self> {
        let v = strip(value);
        let parsed = match &v {
            Value::Double(d) => Some(*d),
            Value::Integer(i) => Some(*i as f64),
            other => text_of(other)
                .and_then(|t| std::str::from_utf8(t).ok())
                .and_then(|s| match s {
                    "inf" | "+inf" => Some(f64::INFINITY),
                    "-inf" => Some(f64::NEG_INFINITY),
                    s => s.parse::<f64>().ok(),
                }),
        };
        parsed.ok_or_else(|| mismatch("double", &v))
    }
}

impl FromValue for f32 {
    fn empty_reply() -> Option<Self> {
        Some(0.0)
    }

    fn from_value(value: Value) -> Result<Self> {
        f64::from_value(value).map(|d| d as f32)
    }
}

impl FromValue for Bytes {
    fn empty_reply() -> Option<Self> {
        Some(Bytes::new())
    }

    fn from_value(value: Value) -> Result<Self> {
        let v = strip(value);
        match v {
            Value::BulkString(b) | Value::SimpleString(b) | Value::BigNumber(b) => Ok(b),
            Value::VerbatimString { text, .. } => Ok(text),
            Value::Integer(i) => Ok(Bytes::from(i.to_string())),
            Value::Double(d) => Ok(Bytes::from(d.to_string())),
            other => Err(mismatch("string", &other)),
        }
    }
}

impl FromValue for String {
    fn empty_reply() -> Option<Self> {
        Some(String::new())
    }

    fn from_value(value: Value) -> Result<Self> {
        let bytes = Bytes::from_value(value)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::Conversion {
            expected: "UTF-8 string",
            got: "bytes that are not UTF-8 (ask for Vec<u8> or Bytes)".into(),
            source: None,
        })
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self> {
        match strip(value) {
            Value::Nil => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(value: Value) -> Result<Self> {
        T::vec_from_value(value)
    }
}

impl<T: FromValue + Ord> FromValue for BTreeSet<T> {
    fn from_value(value: Value) -> Result<Self> {
        Ok(T::vec_from_value(value)?.into_iter().collect())
    }
}

impl<T: FromValue + Eq + Hash, S: BuildHasher + Default> FromValue for HashSet<T, S> {
    fn from_value(value: Value) -> Result<Self> {
        Ok(T::vec_from_value(value)?.into_iter().collect())
    }
}

/// The key/value pairs of a RESP3 map, a RESP2 flat array, or an array of
/// two-element arrays (RESP3's `ZRANGE ... WITHSCORES`).
fn pairs(value: Value) -> Result<Vec<(Value, Value)>> {
    match strip(value) {
        Value::Map(pairs) => Ok(pairs),
        Value::Array(items)
            if !items.is_empty()
                && items
                    .iter()
                    .all(|i| matches!(i, Value::Array(p) if p.len() == 2)) =>
        {
            Ok(items
                .into_iter()
                .filter_map(|i| match i {
                    Value::Array(p) => {
                        let mut p = p.into_iter();
                        Some((p.next()?, p.next()?))
                    }
                    _ => None,
                })
                .collect())
        }
        Value::Array(items) if items.len().is_multiple_of(2) => {
            let mut out = Vec::with_capacity(items.len() / 2);
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                out.push((k, v));
            }
            Ok(out)
        }
        Value::Nil => Ok(Vec::new()),
        other => Err(Error::conversion("map", &other)),
    }
}

impl<K: FromValue + Eq + Hash, V: FromValue, S: BuildHasher + Default> FromValue
    for HashMap<K, V, S>
{
    fn from_value(value: Value) -> Result<Self> {
        pairs(value)?
            .into_iter()
            .map(|(k, v)| Ok((K::from_value(k)?, V::from_value(v)?)))
            .collect()
    }
}

impl<K: FromValue + Ord, V: FromValue> FromValue for BTreeMap<K, V> {
    fn from_value(value: Value) -> Result<Self> {
        pairs(value)?
            .into_iter()
            .map(|(k, v)| Ok((K::from_value(k)?, V::from_value(v)?)))
            .collect()
    }
}

macro_rules! tuple {
    ($n:literal; $($name:ident),+) => {
        impl<$($name: FromValue),+> FromValue for ($($name,)+) {
            fn from_value(value: Value) -> Result<Self> {
                match strip(value) {
                    Value::Array(items) | Value::Set(items) | Value::Push(items) if items.len() == $n => {
                        let mut it = items.into_iter();
                        Ok(($($name::from_value(it.next().unwrap_or(Value::Nil))?,)+))
                    }
                    other => Err(Error::conversion(concat!("array of ", $n), &other)),
                }
            }

            /// Reads an array of arrays, a RESP3 map (as pairs), or a flat array
            /// chunked by the tuple's arity (RESP2's `HGETALL`, `ZRANGE WITHSCORES`).
            fn vec_from_value(value: Value) -> Result<Vec<Self>> {
                match strip(value) {
                    Value::Array(items) if !items.is_empty()
                        && !matches!(items[0], Value::Array(_))
                        && items.len().is_multiple_of($n) =>
                    {
                        let mut out = Vec::with_capacity(items.len() / $n);
                        let mut it = items.into_iter();
                        while let Some(first) = it.next() {
                            let mut chunk = vec![first];
                            chunk.extend(it.by_ref().take($n - 1));
                            out.push(Self::from_value(Value::Array(chunk))?);
                        }
                        Ok(out)
                    }
                    // Anything else reads as any vector does.
                    other => elements(other),
                }
            }
        }
    };
}
tuple!(1; A);
tuple!(2; A, B);
tuple!(3; A, B, C);
tuple!(4; A, B, C, D);
tuple!(5; A, B, C, D, E);
tuple!(6; A, B, C, D, E, F);

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &'static str) -> Value {
        Value::from(s)
    }

    #[test]
    fn scalars() {
        assert_eq!(f64::from_value(bulk("1.5")).unwrap(), 1.5);
        assert_eq!(f64::from_value(Value::Double(2.0)).unwrap(), 2.0);
        assert!(bool::from_value(Value::Integer(1)).unwrap());
        assert_eq!(
            u8::from_value(Value::Integer(300)).unwrap_err().to_string(),
            "cannot convert reply: expected u8, got integer 300"
        );
        assert_eq!(Option::<String>::from_value(Value::Nil).unwrap(), None);
        assert_eq!(Vec::<u8>::from_value(bulk("ab")).unwrap(), b"ab");
        assert!(matches!(
            String::from_value(Value::Error("ERR x".into())),
            Err(Error::Server(_))
        ));
    }

    #[test]
    fn maps_from_both_protocols() {
        let resp2 = Value::Array(vec![bulk("a"), bulk("1"), bulk("b"), bulk("2")]);
        let resp3 = Value::Map(vec![
            (bulk("a"), Value::Integer(1)),
            (bulk("b"), Value::Integer(2)),
        ]);
        let m2: HashMap<String, i64> = FromValue::from_value(resp2).unwrap();
        let m3: BTreeMap<String, i64> = FromValue::from_value(resp3.clone()).unwrap();
        assert_eq!(m2.len(), 2);
        assert_eq!(m3.get("b"), Some(&2));
        let v: Vec<(String, i64)> = FromValue::from_value(resp3).unwrap();
        assert_eq!(v[0], ("a".into(), 1));
        let scored = Value::Array(vec![
            Value::Array(vec![bulk("m"), Value::Double(1.5)]),
            Value::Array(vec![bulk("n"), Value::Double(2.5)]),
        ]);
        let by_member: HashMap<String, f64> = FromValue::from_value(scored).unwrap();
        assert_eq!(by_member["n"], 2.5);
    }

    #[test]
    fn attributes_are_skipped() {
        let v = Value::Attribute {
            attributes: vec![],
            value: Box::new(Value::Integer(7)),
        };
        assert_eq!(i64::from_value(v).unwrap(), 7);
    }
}
