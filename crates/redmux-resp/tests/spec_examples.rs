//! Every example in the RESP3 specification
//! (<https://github.com/redis/redis-specifications/blob/master/protocol/RESP3.md>),
//! decoded whole and a byte at a time, and the malformed inputs the decoder must
//! reject with the right [`DecodeError`].

// clippy.toml allows these in `#[test]` bodies only; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::panic)]

use bytes::{Bytes, BytesMut};
use redmux_resp::{DecodeError, Decoder, Limits, Value};

/// Decodes every value in `input` fed whole, checks that feeding it one byte at a time
/// gives the same values, and that nothing is left over.
fn decode_spec(input: &[u8]) -> Vec<Value> {
    let whole = decode_whole(input, Decoder::new());
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut trickled = Vec::new();
    for &byte in input {
        buf.extend_from_slice(&[byte]);
        while let Some(v) = decoder.decode(&mut buf).unwrap() {
            trickled.push(v);
        }
    }
    assert!(buf.is_empty() && !decoder.in_frame(), "bytes left over");
    assert_eq!(
        format!("{whole:?}"),
        format!("{trickled:?}"),
        "whole and byte-at-a-time disagree on {:?}",
        String::from_utf8_lossy(input)
    );
    whole
}

fn decode_whole(input: &[u8], mut decoder: Decoder) -> Vec<Value> {
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(v) = decoder.decode(&mut buf).unwrap() {
        out.push(v);
    }
    assert!(buf.is_empty() && !decoder.in_frame(), "bytes left over");
    out
}

fn one(input: &[u8]) -> Value {
    let mut values = decode_spec(input);
    assert_eq!(values.len(), 1, "{values:?}");
    values.remove(0)
}

/// The first error decoding `input` whole, with the given limits.
fn error_with(limits: Limits, input: &[u8]) -> DecodeError {
    let mut decoder = Decoder::with_limits(limits);
    let mut buf = BytesMut::from(input);
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(_)) => {}
            Ok(None) => panic!(
                "{:?} decoded without an error",
                String::from_utf8_lossy(input)
            ),
            Err(e) => return e,
        }
    }
}

fn error(input: &[u8]) -> DecodeError {
    error_with(Limits::default(), input)
}

fn bulk(s: &'static str) -> Value {
    Value::BulkString(Bytes::from_static(s.as_bytes()))
}

fn simple(s: &'static str) -> Value {
    Value::SimpleString(Bytes::from_static(s.as_bytes()))
}

fn double(input: &[u8]) -> f64 {
    match one(input) {
        Value::Double(d) => d,
        other => panic!("expected a double, got {other:?}"),
    }
}

// ---- Simple types ----

#[test]
fn blob_string() {
    assert_eq!(one(b"$11\r\nhello world\r\n"), bulk("hello world"));
    assert_eq!(one(b"$0\r\n\r\n"), bulk(""));
}

#[test]
fn blob_string_is_binary_safe() {
    assert_eq!(
        one(b"$6\r\na\r\nb\0\xff\r\n"),
        Value::BulkString(Bytes::from_static(b"a\r\nb\0\xff"))
    );
}

#[test]
fn simple_string() {
    assert_eq!(one(b"+hello world\r\n"), simple("hello world"));
}

#[test]
fn simple_error() {
    let v = one(b"-ERR this is the error description\r\n");
    assert_eq!(v, Value::Error("ERR this is the error description".into()));
    assert_eq!(
        v.as_error(),
        Some(&b"ERR this is the error description"[..])
    );
}

#[test]
fn number() {
    assert_eq!(one(b":1234\r\n"), Value::Integer(1234));
    assert_eq!(one(b":-1234\r\n"), Value::Integer(-1234));
    assert_eq!(one(b":0\r\n"), Value::Integer(0));
    assert_eq!(one(b":9223372036854775807\r\n"), Value::Integer(i64::MAX));
    assert_eq!(one(b":-9223372036854775808\r\n"), Value::Integer(i64::MIN));
}

#[test]
fn null() {
    assert_eq!(one(b"_\r\n"), Value::Nil);
}

#[test]
fn resp2_nulls() {
    assert_eq!(one(b"$-1\r\n"), Value::Nil);
    assert_eq!(one(b"*-1\r\n"), Value::Nil);
}

#[test]
fn double_examples() {
    assert_eq!(double(b",1.23\r\n"), 1.23);
    // "the number 10 may be returned both using the number or double format"
    assert_eq!(one(b":10\r\n"), Value::Integer(10));
    assert_eq!(double(b",10\r\n"), 10.0);
    assert_eq!(double(b",-1.5\r\n"), -1.5);
    assert_eq!(double(b",0\r\n"), 0.0);
}

#[test]
fn double_exponent_forms() {
    // Spec 1.6: an optional exponent, `E` or `e`, an optional sign, then digits.
    assert_eq!(double(b",1.23e10\r\n"), 1.23e10);
    assert_eq!(double(b",1.23E10\r\n"), 1.23e10);
    assert_eq!(double(b",1e+5\r\n"), 1e5);
    assert_eq!(double(b",1E-5\r\n"), 1e-5);
    assert_eq!(double(b",-4.5e-300\r\n"), -4.5e-300);
    assert_eq!(double(b",1.7976931348623157e308\r\n"), f64::MAX);
}

#[test]
fn double_infinities_and_nan() {
    assert_eq!(double(b",inf\r\n"), f64::INFINITY);
    assert_eq!(double(b",-inf\r\n"), f64::NEG_INFINITY);
    assert!(double(b",nan\r\n").is_nan());
}

#[test]
fn double_legacy_nans() {
    // "Redis prior to version 7.2 may return any representation of NaN produced by
    // libc, such as "-nan", "NAN" or "nan(char-sequence)". So client implementations
    // should be able to handle this correctly."
    for text in [
        &b",-nan\r\n"[..],
        b",NAN\r\n",
        b",NaN\r\n",
        b",-NAN\r\n",
        b",nan(0x7ff8000000000000)\r\n",
        b",nan()\r\n",
    ] {
        assert!(double(text).is_nan(), "{:?}", String::from_utf8_lossy(text));
    }
}

#[test]
fn boolean() {
    assert_eq!(one(b"#t\r\n"), Value::Boolean(true));
    assert_eq!(one(b"#f\r\n"), Value::Boolean(false));
}

#[test]
fn blob_error() {
    let v = one(b"!21\r\nSYNTAX invalid syntax\r\n");
    assert_eq!(v, Value::BulkError("SYNTAX invalid syntax".into()));
    assert_eq!(v.as_error(), Some(&b"SYNTAX invalid syntax"[..]));
}

#[test]
fn verbatim_string() {
    assert_eq!(
        one(b"=15\r\ntxt:Some string\r\n"),
        Value::VerbatimString {
            format: *b"txt",
            text: "Some string".into(),
        }
    );
    assert_eq!(
        one(b"=9\r\nmkd:# hi\n\r\n"),
        Value::VerbatimString {
            format: *b"mkd",
            text: "# hi\n".into(),
        }
    );
}

#[test]
fn big_number() {
    assert_eq!(
        one(b"(3492890328409238509324850943850943825024385\r\n"),
        Value::BigNumber("3492890328409238509324850943850943825024385".into())
    );
    // "Big numbers can be positive or negative"
    assert_eq!(
        one(b"(-3492890328409238509324850943850943825024385\r\n"),
        Value::BigNumber("-3492890328409238509324850943850943825024385".into())
    );
}

// ---- Aggregates ----

#[test]
fn array() {
    assert_eq!(one(b"*1\r\n$1\r\nA\r\n"), Value::Array(vec![bulk("A")]));
    assert_eq!(
        one(b"*3\r\n:1\r\n:2\r\n:3\r\n"),
        Value::Array(vec![
            Value::Integer(1),
            Value::Integer(2),
            Value::Integer(3)
        ])
    );
    assert_eq!(one(b"*0\r\n"), Value::Array(vec![]));
}

#[test]
fn nested_arrays() {
    // The conventions section's example.
    assert_eq!(
        one(b"*2\r\n*2\r\n:1\r\n:2\r\n#t\r\n"),
        Value::Array(vec![
            Value::Array(vec![Value::Integer(1), Value::Integer(2)]),
            Value::Boolean(true),
        ])
    );
    // `[[1,"hello",2],false]`
    assert_eq!(
        one(b"*2\r\n*3\r\n:1\r\n$5\r\nhello\r\n:2\r\n#f\r\n"),
        Value::Array(vec![
            Value::Array(vec![Value::Integer(1), bulk("hello"), Value::Integer(2)]),
            Value::Boolean(false),
        ])
    );
}

#[test]
fn map() {
    assert_eq!(
        one(b"%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n"),
        Value::Map(vec![
            (simple("first"), Value::Integer(1)),
            (simple("second"), Value::Integer(2)),
        ])
    );
    assert_eq!(one(b"%0\r\n"), Value::Map(vec![]));
}

#[test]
fn set() {
    assert_eq!(
        one(b"~5\r\n+orange\r\n+apple\r\n#t\r\n:100\r\n:999\r\n"),
        Value::Set(vec![
            simple("orange"),
            simple("apple"),
            Value::Boolean(true),
            Value::Integer(100),
            Value::Integer(999),
        ])
    );
}

#[test]
fn attribute() {
    // The reply to `MGET a b` with key popularity attached.
    let input = b"|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n";
    assert_eq!(
        one(input),
        Value::Attribute {
            attributes: vec![(
                simple("key-popularity"),
                Value::Map(vec![
                    (bulk("a"), Value::Double(0.1923)),
                    (bulk("b"), Value::Double(0.0012)),
                ]),
            )],
            value: Box::new(Value::Array(vec![
                Value::Integer(2039123),
                Value::Integer(9543892),
            ])),
        }
    );
}

#[test]
fn attribute_inside_an_array() {
    // "the third element of the array has an associated auxiliary information of
    // `{ttl:3600}`"
    assert_eq!(
        one(b"*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n"),
        Value::Array(vec![
            Value::Integer(1),
            Value::Integer(2),
            Value::Attribute {
                attributes: vec![(simple("ttl"), Value::Integer(3600))],
                value: Box::new(Value::Integer(3)),
            },
        ])
    );
}

#[test]
fn push() {
    assert_eq!(
        one(b">3\r\n+message\r\n+somechannel\r\n+this is the message\r\n"),
        Value::Push(vec![
            simple("message"),
            simple("somechannel"),
            simple("this is the message"),
        ])
    );
}

#[test]
fn push_interleaved_with_a_reply() {
    // After `GET key` the push may come before or after the reply.
    let push = Value::Push(vec![
        simple("message"),
        simple("somechannel"),
        simple("this is the message"),
    ]);
    assert_eq!(
        decode_spec(
            b">3\r\n+message\r\n+somechannel\r\n+this is the message\r\n$9\r\nGet-Reply\r\n"
        ),
        vec![push.clone(), bulk("Get-Reply")]
    );
    assert_eq!(
        decode_spec(
            b"$9\r\nGet-Reply\r\n>3\r\n+message\r\n+somechannel\r\n+this is the message\r\n"
        ),
        vec![bulk("Get-Reply"), push]
    );
}

// ---- Streamed types ----

#[test]
fn streamed_string() {
    assert_eq!(
        one(b"$?\r\n;4\r\nHell\r\n;6\r\no worl\r\n;1\r\nd\r\n;0\r\n"),
        bulk("Hello world")
    );
    // The example exactly as the spec prints it (its middle chunk drops the `l`).
    assert_eq!(
        one(b"$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n"),
        bulk("Hello word")
    );
    assert_eq!(one(b"$?\r\n;0\r\n"), bulk(""));
}

#[test]
fn streamed_string_inside_an_array() {
    assert_eq!(
        one(b"*2\r\n$?\r\n;2\r\nab\r\n;1\r\nc\r\n;0\r\n:7\r\n"),
        Value::Array(vec![bulk("abc"), Value::Integer(7)])
    );
}

#[test]
fn streamed_array() {
    assert_eq!(
        one(b"*?\r\n:1\r\n:2\r\n:3\r\n.\r\n"),
        Value::Array(vec![
            Value::Integer(1),
            Value::Integer(2),
            Value::Integer(3)
        ])
    );
    assert_eq!(one(b"*?\r\n.\r\n"), Value::Array(vec![]));
}

#[test]
fn streamed_set() {
    assert_eq!(
        one(b"~?\r\n+a\r\n:1\r\n.\r\n"),
        Value::Set(vec![simple("a"), Value::Integer(1)])
    );
}

#[test]
fn streamed_map() {
    assert_eq!(
        one(b"%?\r\n+a\r\n:1\r\n+b\r\n:2\r\n.\r\n"),
        Value::Map(vec![
            (simple("a"), Value::Integer(1)),
            (simple("b"), Value::Integer(2)),
        ])
    );
}

#[test]
fn streamed_aggregates_nest() {
    assert_eq!(
        one(b"*?\r\n*?\r\n:1\r\n.\r\n%?\r\n.\r\n*1\r\n:2\r\n.\r\n"),
        Value::Array(vec![
            Value::Array(vec![Value::Integer(1)]),
            Value::Map(vec![]),
            Value::Array(vec![Value::Integer(2)]),
        ])
    );
}

#[test]
fn hello_reply_map() {
    let input = b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.4\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:5\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
    let Value::Map(pairs) = one(input) else {
        panic!("HELLO replies with a map");
    };
    assert_eq!(pairs.len(), 7);
    assert_eq!(pairs[2], (bulk("proto"), Value::Integer(3)));
    assert_eq!(pairs[6], (bulk("modules"), Value::Array(vec![])));
}

// ---- Malformed input ----

fn invalid_number(what: &'static str, text: &str) -> DecodeError {
    DecodeError::InvalidNumber {
        what,
        text: text.to_owned(),
    }
}

#[test]
fn bad_type_byte() {
    assert_eq!(error(b"?oops\r\n"), DecodeError::InvalidType(b'?'));
    assert_eq!(error(b"hello\r\n"), DecodeError::InvalidType(b'h'));
    assert_eq!(error(b"*1\r\n@\r\n"), DecodeError::InvalidType(b'@'));
}

#[test]
fn bad_integers() {
    assert_eq!(error(b":12a\r\n"), invalid_number("integer", "12a"));
    assert_eq!(error(b":\r\n"), invalid_number("integer", ""));
    assert_eq!(error(b":1.5\r\n"), invalid_number("integer", "1.5"));
    assert_eq!(
        error(b":9223372036854775808\r\n"),
        invalid_number("integer", "9223372036854775808")
    );
    assert_eq!(error(b"$abc\r\n"), invalid_number("length", "abc"));
    assert_eq!(error(b"$-2\r\n"), invalid_number("length", "-2"));
    assert_eq!(error(b"*-5\r\n"), invalid_number("length", "-5"));
    assert_eq!(error(b"%-1\r\n"), invalid_number("length", "-1"));
    assert_eq!(error(b"!-1\r\n"), invalid_number("length", "-1"));
}

#[test]
fn bad_scalars() {
    assert_eq!(error(b",1.2.3x\r\n"), invalid_number("double", "1.2.3x"));
    assert_eq!(error(b",\r\n"), invalid_number("double", ""));
    assert_eq!(error(b",nan(\r\n"), invalid_number("double", "nan("));
    assert_eq!(error(b"#x\r\n"), invalid_number("boolean", "x"));
    assert_eq!(error(b"#\r\n"), invalid_number("boolean", ""));
    assert_eq!(error(b"_x\r\n"), invalid_number("null", "x"));
    assert_eq!(error(b"(12.5\r\n"), invalid_number("big number", "12.5"));
    assert_eq!(error(b"(\r\n"), invalid_number("big number", ""));
}

#[test]
fn missing_crlf() {
    assert_eq!(error(b":1\n"), DecodeError::MissingCrlf);
    assert_eq!(error(b"+OK\n"), DecodeError::MissingCrlf);
    assert_eq!(error(b"$3\r\nabcd\r\n"), DecodeError::MissingCrlf);
    assert_eq!(error(b"$3\r\nabc\n\n"), DecodeError::MissingCrlf);
    assert_eq!(error(b"!1\r\nab\r\n"), DecodeError::MissingCrlf);
    assert_eq!(
        error(b"\r\n"),
        DecodeError::Malformed("empty line where a type byte was expected")
    );
}

#[test]
fn over_limit() {
    let limits = Limits {
        max_bulk_len: 16,
        max_aggregate_len: 4,
        max_depth: 3,
        max_line_len: 32,
    };
    assert_eq!(
        error_with(limits, b"$17\r\n"),
        DecodeError::BulkTooLarge { len: 17, limit: 16 }
    );
    assert_eq!(
        error_with(limits, b"!17\r\n"),
        DecodeError::BulkTooLarge { len: 17, limit: 16 }
    );
    assert_eq!(
        error_with(limits, b"=17\r\n"),
        DecodeError::BulkTooLarge { len: 17, limit: 16 }
    );
    assert_eq!(
        error_with(limits, b"$?\r\n;17\r\n"),
        DecodeError::BulkTooLarge { len: 17, limit: 16 }
    );
    // A streamed string's limit is on its total, not on each chunk.
    assert_eq!(
        error_with(limits, b"$?\r\n;10\r\n0123456789\r\n;7\r\n"),
        DecodeError::BulkTooLarge { len: 17, limit: 16 }
    );
    assert_eq!(
        error_with(limits, b"*5\r\n"),
        DecodeError::AggregateTooLarge { len: 5, limit: 4 }
    );
    assert_eq!(
        error_with(limits, b"%5\r\n"),
        DecodeError::AggregateTooLarge { len: 5, limit: 4 }
    );
    // Streamed aggregates announce no length: the limit applies as elements arrive.
    assert_eq!(
        error_with(limits, b"*?\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n"),
        DecodeError::AggregateTooLarge { len: 5, limit: 4 }
    );
    assert_eq!(
        error_with(
            limits,
            b"%?\r\n:1\r\n_\r\n:2\r\n_\r\n:3\r\n_\r\n:4\r\n_\r\n:5\r\n"
        ),
        DecodeError::AggregateTooLarge { len: 5, limit: 4 }
    );
    assert_eq!(
        error_with(limits, b"*1\r\n~1\r\n%1\r\n>1\r\n"),
        DecodeError::TooDeep { limit: 3 }
    );
    assert_eq!(
        error_with(limits, b"*?\r\n*?\r\n*?\r\n*?\r\n"),
        DecodeError::TooDeep { limit: 3 }
    );
    // Exactly at the limits is fine.
    assert_eq!(
        decode_whole(
            b"*?\r\n$?\r\n;10\r\n0123456789\r\n;6\r\nabcdef\r\n;0\r\n_\r\n_\r\n_\r\n.\r\n%?\r\n:1\r\n_\r\n:2\r\n_\r\n:3\r\n_\r\n:4\r\n_\r\n.\r\n",
            Decoder::with_limits(limits)
        )
        .len(),
        2
    );
    assert_eq!(
        decode_whole(
            b"*1\r\n*1\r\n*4\r\n$16\r\n0123456789abcdef\r\n_\r\n_\r\n_\r\n",
            Decoder::with_limits(limits)
        )
        .len(),
        1
    );
    // A line past the limit is rejected before its CRLF arrives...
    assert_eq!(
        error_with(limits, &[b'+'; 40]),
        DecodeError::LineTooLong { limit: 32 }
    );
    // ...and when it arrives whole.
    let mut long = vec![b'+'; 40];
    long.extend_from_slice(b"\r\n");
    assert_eq!(
        error_with(limits, &long),
        DecodeError::LineTooLong { limit: 32 }
    );
}

#[test]
fn end_marker_outside_a_streamed_aggregate() {
    let outside = DecodeError::Malformed("end marker outside a streamed aggregate");
    assert_eq!(error(b".\r\n"), outside);
    assert_eq!(error(b"*2\r\n:1\r\n.\r\n"), outside);
    // A streamed string ends with `;0`, not `.`.
    assert_eq!(error(b"$?\r\n;1\r\na\r\n.\r\n"), outside);
    assert_eq!(error(b".x\r\n"), invalid_number("end marker", "x"));
}

#[test]
fn streamed_string_grammar() {
    let outside = DecodeError::Malformed("string chunk outside a streamed string");
    assert_eq!(error(b";1\r\na\r\n"), outside);
    assert_eq!(error(b"*1\r\n;1\r\na\r\n"), outside);
    assert_eq!(error(b";0\r\n"), outside);
    // Nothing but chunks inside a streamed string: not even an aggregate header,
    // which would otherwise leave the decoder waiting forever.
    let inside = DecodeError::Malformed("a value inside a streamed string");
    assert_eq!(error(b"$?\r\n:1\r\n"), inside);
    assert_eq!(error(b"$?\r\n*?\r\n"), inside);
    assert_eq!(error(b"$?\r\n$?\r\n"), inside);
    assert_eq!(error(b"$?\r\n;x\r\n"), invalid_number("length", "x"));
}

#[test]
fn map_with_a_key_and_no_value() {
    assert_eq!(
        error(b"%?\r\n+a\r\n:1\r\n+b\r\n.\r\n"),
        DecodeError::Malformed("map with a key and no value")
    );
}

#[test]
fn verbatim_without_format() {
    let no_format = DecodeError::Malformed("verbatim string without a three-byte format and ':'");
    assert_eq!(error(b"=11\r\nSome string\r\n"), no_format);
    assert_eq!(error(b"=3\r\ntxt\r\n"), no_format);
    assert_eq!(error(b"=0\r\n\r\n"), no_format);
    // An empty text after the format is fine.
    assert_eq!(
        one(b"=4\r\ntxt:\r\n"),
        Value::VerbatimString {
            format: *b"txt",
            text: Bytes::new(),
        }
    );
}

#[test]
fn unsupported_streamed_forms() {
    assert_eq!(error(b"|?\r\n"), invalid_number("length", "?"));
    assert_eq!(error(b"!?\r\n"), invalid_number("length", "?"));
    assert_eq!(error(b"=-1\r\n"), invalid_number("length", "-1"));
}
