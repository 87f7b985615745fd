//! A cached reply's size, as the bound counts it, and its copy out of the read
//! buffer.

use bytes::Bytes;
use redmux_resp::Value;

/// About how many bytes a reply holds.
pub(super) fn size_of(value: &Value) -> usize {
    const NODE: usize = std::mem::size_of::<Value>();
    NODE + match value {
        Value::SimpleString(b)
        | Value::Error(b)
        | Value::BulkString(b)
        | Value::BigNumber(b)
        | Value::BulkError(b)
        | Value::VerbatimString { text: b, .. } => b.len(),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            items.iter().map(size_of).sum()
        }
        Value::Map(pairs) => pairs.iter().map(|(k, v)| size_of(k) + size_of(v)).sum(),
        Value::Attribute { attributes, value } => {
            attributes
                .iter()
                .map(|(k, v)| size_of(k) + size_of(v))
                .sum::<usize>()
                + size_of(value)
        }
        Value::Integer(_) | Value::Nil | Value::Double(_) | Value::Boolean(_) => 0,
    }
}

/// The reply with its bytes copied out: the reader decodes without copying, so
/// a reply's bytes share the read buffer, and one small cached string would keep
/// a whole 64 KiB read alive.
pub(crate) fn owned(value: Value) -> Value {
    let copy = |b: Bytes| Bytes::copy_from_slice(&b);
    match value {
        Value::SimpleString(b) => Value::SimpleString(copy(b)),
        Value::Error(b) => Value::Error(copy(b)),
        Value::BulkString(b) => Value::BulkString(copy(b)),
        Value::BigNumber(b) => Value::BigNumber(copy(b)),
        Value::BulkError(b) => Value::BulkError(copy(b)),
        Value::VerbatimString { format, text } => Value::VerbatimString {
            format,
            text: copy(text),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(owned).collect()),
        Value::Set(items) => Value::Set(items.into_iter().map(owned).collect()),
        Value::Push(items) => Value::Push(items.into_iter().map(owned).collect()),
        Value::Map(pairs) => Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (owned(k), owned(v)))
                .collect(),
        ),
        Value::Attribute { attributes, value } => Value::Attribute {
            attributes: attributes
                .into_iter()
                .map(|(k, v)| (owned(k), owned(v)))
                .collect(),
            value: Box::new(owned(*value)),
        },
        other @ (Value::Integer(_) | Value::Nil | Value::Double(_) | Value::Boolean(_)) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_copies_the_bytes() {
        let buffer = Bytes::from(vec![b'x'; 65_536]);
        let reply = Value::Array(vec![Value::BulkString(buffer.slice(0..3))]);
        let Value::Array(items) = owned(reply) else {
            panic!("an array stays an array");
        };
        let Value::BulkString(b) = &items[0] else {
            panic!("a string stays a string");
        };
        assert_eq!(&b[..], b"xxx");
        assert!(!std::ptr::eq(b.as_ptr(), buffer.as_ptr()));
    }
}
