//! [`Value`]: one RESP2 or RESP3 reply, and its encoding back to bytes.

use bytes::{BufMut, Bytes, BytesMut};

/// One reply from the server, in any RESP2 or RESP3 form.
///
/// String-like payloads are [`Bytes`] sliced from the read buffer, so decoding a
/// large bulk string copies nothing. RESP2's null bulk string (`$-1`) and null
/// array (`*-1`) and RESP3's null (`_`) all decode to [`Value::Nil`]: no caller has
/// ever needed to tell them apart.
///
/// ```
/// use redmux_resp::Value;
/// let v = Value::Array(vec![Value::Integer(1), Value::BulkString("a".into())]);
/// assert_eq!(v.kind(), "array");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `+OK\r\n`
    SimpleString(Bytes),
    /// `-ERR message\r\n`: the whole line after the `-`, code included.
    Error(Bytes),
    /// `:42\r\n`
    Integer(i64),
    /// `$5\r\nhello\r\n`
    BulkString(Bytes),
    /// `$-1\r\n`, `*-1\r\n` (RESP2) or `_\r\n` (RESP3).
    Nil,
    /// `*2\r\n...`
    Array(Vec<Value>),
    /// `%1\r\n...`: key/value pairs in the order the server sent them.
    Map(Vec<(Value, Value)>),
    /// `~2\r\n...`
    Set(Vec<Value>),
    /// `,3.14\r\n` (also `inf`, `-inf`, `nan`).
    Double(f64),
    /// `#t\r\n` or `#f\r\n`
    Boolean(bool),
    /// `(3492890328409238509324850943850943825024385\r\n`: the digits, sign included.
    BigNumber(Bytes),
    /// `=15\r\ntxt:Some string\r\n`: a three-byte format and the text.
    VerbatimString {
        /// The format, such as `txt` or `mkd`.
        format: [u8; 3],
        /// The text after `xxx:`.
        text: Bytes,
    },
    /// `!21\r\nSYNTAX invalid syntax\r\n`
    BulkError(Bytes),
    /// `>3\r\n...`: out-of-band data (pub/sub messages, invalidations).
    Push(Vec<Value>),
    /// `|1\r\n...` followed by the value the attributes describe.
    Attribute {
        /// The attribute map.
        attributes: Vec<(Value, Value)>,
        /// The reply the attributes were attached to.
        value: Box<Value>,
    },
}

impl Value {
    /// A short name for the kind of value, for error messages ("expected integer, got array").
    ///
    /// ```
    /// assert_eq!(redmux_resp::Value::Nil.kind(), "nil");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Value::SimpleString(_) => "simple string",
            Value::Error(_) => "error",
            Value::Integer(_) => "integer",
            Value::BulkString(_) => "bulk string",
            Value::Nil => "nil",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Set(_) => "set",
            Value::Double(_) => "double",
            Value::Boolean(_) => "boolean",
            Value::BigNumber(_) => "big number",
            Value::VerbatimString { .. } => "verbatim string",
            Value::BulkError(_) => "bulk error",
            Value::Push(_) => "push",
            Value::Attribute { .. } => "attribute",
        }
    }

    /// The error text if this is a simple or bulk error.
    ///
    /// ```
    /// use redmux_resp::Value;
    /// let e = Value::Error("ERR unknown command".into());
    /// assert_eq!(e.as_error(), Some(&b"ERR unknown command"[..]));
    /// ```
    pub fn as_error(&self) -> Option<&[u8]> {
        match self {
            Value::Error(b) | Value::BulkError(b) => Some(b),
            _ => None,
        }
    }

    /// Appends this value to `out` in RESP3 form (RESP2 forms where RESP3 has none).
    ///
    /// Decoding the output gives back an equal value, except that a NaN double is
    /// never equal to itself.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use redmux_resp::Value;
    /// let mut out = BytesMut::new();
    /// Value::Integer(-7).encode(&mut out);
    /// assert_eq!(&out[..], b":-7\r\n");
    /// ```
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            Value::SimpleString(s) => line(out, b'+', s),
            Value::Error(s) => line(out, b'-', s),
            Value::Integer(i) => {
                out.put_u8(b':');
                crate::encode::put_decimal(out, *i);
                out.put_slice(b"\r\n");
            }
            Value::BulkString(s) => blob(out, b'$', s),
            Value::Nil => out.put_slice(b"_\r\n"),
            Value::Array(items) => aggregate(out, b'*', items),
            Value::Map(pairs) => pairs_of(out, b'%', pairs),
            Value::Set(items) => aggregate(out, b'~', items),
            Value::Double(d) => {
                out.put_u8(b',');
                if d.is_nan() {
                    out.put_slice(b"nan");
                } else if d.is_infinite() {
                    out.put_slice(if *d > 0.0 { b"inf" } else { b"-inf" });
                } else {
                    crate::encode::put_float(out, *d);
                }
                out.put_slice(b"\r\n");
            }
            Value::Boolean(b) => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Value::BigNumber(n) => line(out, b'(', n),
            Value::VerbatimString { format, text } => {
                out.put_u8(b'=');
                crate::encode::put_decimal(out, text.len() as i64 + 4);
                out.put_slice(b"\r\n");
                out.put_slice(format);
                out.put_u8(b':');
                out.put_slice(text);
                out.put_slice(b"\r\n");
            }
            Value::BulkError(s) => blob(out, b'!', s),
            Value::Push(items) => aggregate(out, b'>', items),
            Value::Attribute { attributes, value } => {
                pairs_of(out, b'|', attributes);
                value.encode(out);
            }
        }
    }
}

fn line(out: &mut BytesMut, tag: u8, s: &[u8]) {
    out.reserve(s.len() + 3);
    out.put_u8(tag);
    out.put_slice(s);
    out.put_slice(b"\r\n");
}

fn blob(out: &mut BytesMut, tag: u8, s: &[u8]) {
    out.reserve(s.len() + 16);
    out.put_u8(tag);
    crate::encode::put_decimal(out, s.len() as i64);
    out.put_slice(b"\r\n");
    out.put_slice(s);
    out.put_slice(b"\r\n");
}

fn header(out: &mut BytesMut, tag: u8, n: usize) {
    out.put_u8(tag);
    crate::encode::put_decimal(out, n as i64);
    out.put_slice(b"\r\n");
}

fn aggregate(out: &mut BytesMut, tag: u8, items: &[Value]) {
    header(out, tag, items.len());
    for item in items {
        item.encode(out);
    }
}

fn pairs_of(out: &mut BytesMut, tag: u8, pairs: &[(Value, Value)]) {
    header(out, tag, pairs.len());
    for (k, v) in pairs {
        k.encode(out);
        v.encode(out);
    }
}

impl From<&'static str> for Value {
    /// A bulk string, the form most replies take.
    fn from(s: &'static str) -> Self {
        Value::BulkString(Bytes::from_static(s.as_bytes()))
    }
}
