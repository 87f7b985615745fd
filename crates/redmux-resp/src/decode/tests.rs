//! Unit tests of the decoder, through its public API and its number parsing.

use bytes::BytesMut;

use super::number::parse_int;
use super::{Decoder, Limits};
use crate::Value;
use crate::error::DecodeError;

fn decode_all(input: &[u8]) -> Result<Vec<Value>, DecodeError> {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(v) = decoder.decode(&mut buf)? {
        out.push(v);
    }
    Ok(out)
}

#[test]
fn integers_are_strict() {
    assert_eq!(parse_int(b"-9223372036854775808", "x"), Ok(i64::MIN));
    assert_eq!(parse_int(b"9223372036854775807", "x"), Ok(i64::MAX));
    assert!(parse_int(b"9223372036854775808", "x").is_err());
    assert!(parse_int(b"", "x").is_err());
    assert!(parse_int(b"-", "x").is_err());
    assert!(parse_int(b"1 ", "x").is_err());
    assert!(parse_int(b"0x10", "x").is_err());
}

#[test]
fn nulls() {
    assert_eq!(
        decode_all(b"$-1\r\n*-1\r\n_\r\n").unwrap(),
        vec![Value::Nil; 3]
    );
}

#[test]
fn limits_are_errors() {
    let mut d = Decoder::with_limits(Limits {
        max_bulk_len: 10,
        max_aggregate_len: 3,
        max_depth: 2,
        max_line_len: 8,
    });
    let mut cases: Vec<(&[u8], DecodeError)> = vec![
        (b"$11\r\n", DecodeError::BulkTooLarge { len: 11, limit: 10 }),
        (
            b"*4\r\n",
            DecodeError::AggregateTooLarge { len: 4, limit: 3 },
        ),
        (b"*1\r\n*1\r\n*1\r\n", DecodeError::TooDeep { limit: 2 }),
        (
            b"+aaaaaaaaaaaaaaaaaaaa",
            DecodeError::LineTooLong { limit: 8 },
        ),
        (b"?\r\n", DecodeError::InvalidType(b'?')),
        (b"$1\r\nab\r\n", DecodeError::MissingCrlf),
        (b":1\n", DecodeError::MissingCrlf),
    ];
    for (input, expected) in cases.drain(..) {
        d.reset();
        let mut buf = BytesMut::from(input);
        assert_eq!(
            d.decode(&mut buf),
            Err(expected),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn limits_of_usize_max_mean_no_limit() {
    let mut d = Decoder::with_limits(Limits {
        max_bulk_len: usize::MAX,
        max_aggregate_len: usize::MAX,
        max_depth: usize::MAX,
        max_line_len: usize::MAX,
    });
    let mut buf = BytesMut::from(&b"+O"[..]);
    assert_eq!(d.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"K\r\n%1\r\n$1\r\na\r\n:1\r\n");
    assert_eq!(
        d.decode(&mut buf),
        Ok(Some(Value::SimpleString("OK".into())))
    );
    assert_eq!(
        d.decode(&mut buf),
        Ok(Some(Value::Map(vec![("a".into(), Value::Integer(1))])))
    );
}

#[test]
fn a_shorter_buffer_is_scanned_from_its_start() {
    // A caller that empties or swaps its buffer after a partial line (without
    // `reset`) gets the new buffer decoded, not a slice out of range.
    let mut d = Decoder::new();
    assert_eq!(d.decode(&mut BytesMut::from(&b"+partial"[..])), Ok(None));
    assert_eq!(d.decode(&mut BytesMut::new()), Ok(None));
    assert_eq!(d.decode(&mut BytesMut::from(&b"+long line"[..])), Ok(None));
    assert_eq!(
        d.decode(&mut BytesMut::from(&b"+OK\r\n"[..])),
        Ok(Some(Value::SimpleString("OK".into())))
    );
}

#[test]
fn ok_is_decoded_alike_on_both_paths() {
    // The `+OK` shortcut gives what the general path gives, in order with what
    // follows it, and lines that merely start like it take the general path.
    let mut d = Decoder::new();
    let mut buf = BytesMut::from(&b"+OK\r\n+OKAY\r\n*1\r\n+OK\r\n+OK\r"[..]);
    let ok = Value::SimpleString("OK".into());
    assert_eq!(d.decode(&mut buf), Ok(Some(ok.clone())));
    assert_eq!(
        d.decode(&mut buf),
        Ok(Some(Value::SimpleString("OKAY".into())))
    );
    assert_eq!(d.decode(&mut buf), Ok(Some(Value::Array(vec![ok.clone()]))));
    assert_eq!(d.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"\n");
    assert_eq!(d.decode(&mut buf), Ok(Some(ok)));
    assert!(buf.is_empty());
}

#[test]
fn the_ok_shortcut_keeps_the_line_limit() {
    // However the input is split, a line over the limit is refused.
    let limits = Limits {
        max_line_len: 1,
        ..Limits::default()
    };
    let mut whole = Decoder::with_limits(limits);
    let mut split = Decoder::with_limits(limits);
    let refused = Err(DecodeError::LineTooLong { limit: 1 });
    assert_eq!(whole.decode(&mut BytesMut::from(&b"+OK\r\n"[..])), refused);
    let mut buf = BytesMut::from(&b"+OK\r"[..]);
    assert_eq!(split.decode(&mut buf), refused);
}

#[test]
fn whole_bulk_strings_decode_alike_on_both_paths() {
    // The one-step path for a whole top-level bulk string gives what the general
    // path gives: every split of the same input decodes to the same values.
    let input: &[u8] =
        b"$16\r\n0123456789abcdef\r\n$0\r\n\r\n$-1\r\n$03\r\nabc\r\n*1\r\n$1\r\nx\r\n$2\r\nyz\r\n";
    let want = vec![
        Value::BulkString("0123456789abcdef".into()),
        Value::BulkString("".into()),
        Value::Nil,
        Value::BulkString("abc".into()),
        Value::Array(vec![Value::BulkString("x".into())]),
        Value::BulkString("yz".into()),
    ];
    for split in 0..=input.len() {
        let mut d = Decoder::new();
        let mut buf = BytesMut::from(&input[..split]);
        let mut got = Vec::new();
        while let Ok(Some(v)) = d.decode(&mut buf) {
            got.push(v);
        }
        buf.extend_from_slice(&input[split..]);
        while let Some(v) = d.decode(&mut buf).unwrap() {
            got.push(v);
        }
        assert_eq!(got, want, "split at {split}");
        assert!(buf.is_empty());
    }
    // Over the limits and malformed: the general path's errors, whole or not.
    let limits = Limits {
        max_bulk_len: 4,
        ..Limits::default()
    };
    let mut d = Decoder::with_limits(limits);
    assert_eq!(
        d.decode(&mut BytesMut::from(&b"$5\r\nhello\r\n"[..])),
        Err(DecodeError::BulkTooLarge { len: 5, limit: 4 })
    );
    let mut d = Decoder::new();
    assert_eq!(
        d.decode(&mut BytesMut::from(&b"$2\r\nabc\r\n"[..])),
        Err(DecodeError::MissingCrlf)
    );
}

#[test]
fn slow_bulk_is_not_rescanned() {
    // A 1 MiB payload fed a byte at a time: the decoder must not look at the
    // accumulated bytes again on each call (this would take minutes if it did).
    let len = 1 << 20;
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(format!("${len}\r\n").as_bytes());
    for _ in 0..len {
        buf.extend_from_slice(b"x");
        assert_eq!(decoder.decode(&mut buf), Ok(None));
    }
    buf.extend_from_slice(b"\r\n");
    let v = decoder.decode(&mut buf).unwrap().unwrap();
    assert!(matches!(v, Value::BulkString(b) if b.len() == len));
}

#[test]
fn slow_line_is_scanned_once() {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(&b"+"[..]);
    for _ in 0..100_000 {
        buf.extend_from_slice(b"y");
        assert_eq!(decoder.decode(&mut buf), Ok(None));
    }
    buf.extend_from_slice(b"\r\n");
    assert!(
        matches!(decoder.decode(&mut buf), Ok(Some(Value::SimpleString(s))) if s.len() == 100_000)
    );
}

#[test]
fn huge_claimed_array_does_not_allocate() {
    let mut buf = BytesMut::from(&b"*100000000\r\n:1\r\n"[..]);
    assert_eq!(Decoder::new().decode(&mut buf), Ok(None));
}
