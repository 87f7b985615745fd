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

// ---- Frames over a limit, skipped by `decode_frame` ----

use super::{Decoded, Oversize, TooLarge};

fn small() -> Limits {
    Limits {
        max_bulk_len: 16,
        max_aggregate_len: 4,
        ..Limits::default()
    }
}

fn too_large(what: Oversize, len: u64, limit: usize, push: bool) -> Decoded {
    Decoded::TooLarge(TooLarge {
        what,
        len,
        limit,
        push,
    })
}

/// Feeds `input` in pieces of `step` bytes to `decode_frame`; returns the outcomes
/// and the most bytes the buffer held after any call.
fn frames_in_steps(d: &mut Decoder, input: &[u8], step: usize) -> (Vec<Decoded>, usize) {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut most = 0;
    for piece in input.chunks(step) {
        buf.extend_from_slice(piece);
        while let Some(frame) = d.decode_frame(&mut buf).unwrap() {
            out.push(frame);
        }
        most = most.max(buf.len());
    }
    assert!(buf.is_empty(), "{} bytes left", buf.len());
    assert!(!d.in_frame());
    (out, most)
}

#[test]
fn an_oversize_bulk_is_skipped_exactly_however_it_is_split() {
    // Every payload byte a CRLF or a type byte, so a decoder that lost count would
    // find frames inside it.
    let payload = b"\r\n$1\r\n+OK\r\n".repeat(100);
    let mut input = format!("${}\r\n", payload.len()).into_bytes();
    input.extend_from_slice(&payload);
    input.extend_from_slice(b"\r\n$3\r\nfoo\r\n+OK\r\n");
    let want = vec![
        too_large(Oversize::Bulk, payload.len() as u64, 16, false),
        Decoded::Frame("foo".into()),
        Decoded::Frame(Value::SimpleString("OK".into())),
    ];
    for step in 1..=input.len() {
        let mut d = Decoder::with_limits(small());
        let (got, most) = frames_in_steps(&mut d, &input, step);
        assert_eq!(got, want, "step {step}");
        // The payload was dropped as it came: the buffer held at most one piece and
        // what the piece before left over (a header, a CR).
        assert!(most < step + 8, "step {step}: the buffer held {most} bytes");
    }
}

#[test]
fn an_oversize_bulk_without_its_crlf_is_still_an_error() {
    let mut d = Decoder::with_limits(small());
    let mut buf = BytesMut::from(&b"$17\r\n0123456789abcdefgX\n"[..]);
    assert_eq!(d.decode_frame(&mut buf), Err(DecodeError::MissingCrlf));
}

#[test]
fn an_oversize_value_nested_anywhere_makes_the_whole_frame_too_large() {
    let big = "x".repeat(17);
    let cases: Vec<(String, Decoded)> = vec![
        // Nested in an array, after elements already kept.
        (
            format!("*3\r\n:1\r\n${}\r\n{big}\r\n$2\r\nok\r\n", big.len()),
            too_large(Oversize::Bulk, 17, 16, false),
        ),
        // Two levels down, in a map's value, then more elements to count.
        (
            format!(
                "*2\r\n%1\r\n+k\r\n!{}\r\n{big}\r\n*2\r\n:1\r\n:2\r\n",
                big.len()
            ),
            too_large(Oversize::Bulk, 17, 16, false),
        ),
        // A verbatim string.
        (
            format!("={}\r\ntxt:{}\r\n", big.len() + 4, big),
            too_large(Oversize::Bulk, 21, 16, false),
        ),
        // An array over its count, with aggregates and blobs inside.
        (
            "*5\r\n:1\r\n*2\r\n$1\r\na\r\n_\r\n$0\r\n\r\n*-1\r\n%0\r\n".to_string(),
            too_large(Oversize::Aggregate, 5, 4, false),
        ),
        // A map over its count (counted in pairs).
        (
            "%5\r\n:1\r\n:1\r\n:2\r\n:2\r\n:3\r\n:3\r\n:4\r\n:4\r\n:5\r\n:5\r\n".to_string(),
            too_large(Oversize::Aggregate, 5, 4, false),
        ),
        // A push: told apart from a reply.
        (
            format!(">2\r\n+message\r\n${}\r\n{big}\r\n", big.len()),
            too_large(Oversize::Bulk, 17, 16, true),
        ),
        (
            ">5\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n".to_string(),
            too_large(Oversize::Aggregate, 5, 4, true),
        ),
        // A streamed string over the limit in total, not in any one chunk.
        (
            "$?\r\n;10\r\n0123456789\r\n;10\r\n0123456789\r\n;1\r\nx\r\n;0\r\n".to_string(),
            too_large(Oversize::Bulk, 20, 16, false),
        ),
        // A streamed array that grows past the limit, holding a streamed string.
        (
            "*?\r\n:1\r\n$?\r\n;1\r\na\r\n;0\r\n:3\r\n:4\r\n:5\r\n:6\r\n.\r\n".to_string(),
            too_large(Oversize::Aggregate, 5, 4, false),
        ),
        // An attribute over its count, and the value it describes.
        (
            "|5\r\n:1\r\n:1\r\n:2\r\n:2\r\n:3\r\n:3\r\n:4\r\n:4\r\n:5\r\n:5\r\n*1\r\n:0\r\n"
                .to_string(),
            too_large(Oversize::Aggregate, 5, 4, false),
        ),
        // The first value over a limit is the one reported.
        (
            format!(
                "*6\r\n${}\r\n{big}\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n",
                big.len()
            ),
            too_large(Oversize::Aggregate, 6, 4, false),
        ),
    ];
    for (input, want) in cases {
        let mut input = input.into_bytes();
        input.extend_from_slice(b":7\r\n");
        for step in 1..=input.len() {
            let mut d = Decoder::with_limits(small());
            let (got, _) = frames_in_steps(&mut d, &input, step);
            assert_eq!(
                got,
                vec![want.clone(), Decoded::Frame(Value::Integer(7))],
                "{:?} in steps of {step}",
                String::from_utf8_lossy(&input)
            );
        }
        // `decode` refuses the same input with the matching error.
        let Decoded::TooLarge(t) = want else {
            unreachable!()
        };
        let mut d = Decoder::with_limits(small());
        let mut buf = BytesMut::from(&input[..]);
        let err = loop {
            match d.decode(&mut buf) {
                Ok(Some(_)) => {}
                Ok(None) => panic!("no error for {:?}", String::from_utf8_lossy(&input)),
                Err(e) => break e,
            }
        };
        assert_eq!(err, DecodeError::from(t));
    }
}

#[test]
fn a_discarded_aggregate_keeps_nothing() {
    // A header claiming a million elements: they are counted down, never stored.
    let mut d = Decoder::with_limits(small());
    let mut buf = BytesMut::from(&b"*1000000\r\n"[..]);
    assert_eq!(d.decode_frame(&mut buf), Ok(None));
    for _ in 0..999_999 {
        buf.extend_from_slice(b":1\r\n");
        assert_eq!(d.decode_frame(&mut buf), Ok(None));
        assert!(d.stack.iter().all(|f| f.items.capacity() == 0));
    }
    buf.extend_from_slice(b":1\r\n");
    assert_eq!(
        d.decode_frame(&mut buf),
        Ok(Some(too_large(Oversize::Aggregate, 1_000_000, 4, false)))
    );
    assert!(!d.in_frame());
}

#[test]
fn what_is_not_a_size_limit_stays_an_error() {
    // Too deep, a line too long, and nonsense: no length says where they end.
    let mut d = Decoder::with_limits(Limits {
        max_depth: 2,
        max_line_len: 8,
        ..small()
    });
    for (input, want) in [
        (
            &b"*1\r\n*1\r\n*1\r\n"[..],
            DecodeError::TooDeep { limit: 2 },
        ),
        (
            &b"+aaaaaaaaaaaaaaaaaaaa"[..],
            DecodeError::LineTooLong { limit: 8 },
        ),
        (&b"*9\r\n?\r\n"[..], DecodeError::InvalidType(b'?')),
    ] {
        d.reset();
        assert_eq!(d.decode_frame(&mut BytesMut::from(input)), Err(want));
    }
}

#[test]
fn reset_forgets_a_frame_being_discarded() {
    let mut d = Decoder::with_limits(small());
    assert_eq!(
        d.decode_frame(&mut BytesMut::from(&b"*9\r\n:1\r\n"[..])),
        Ok(None)
    );
    d.reset();
    assert_eq!(
        d.decode_frame(&mut BytesMut::from(&b"*1\r\n:1\r\n"[..])),
        Ok(Some(Decoded::Frame(Value::Array(vec![Value::Integer(1)]))))
    );
}
