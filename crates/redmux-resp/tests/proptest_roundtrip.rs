//! Property tests for the codec: arbitrary values survive `Value::encode` and a
//! decoder fed at arbitrary chunk boundaries; chunking never changes what is decoded,
//! not even for garbage; `CommandBuf` output decodes to its arguments; a frame over a
//! limit is skipped exactly, however it is cut, and the frames around it survive.

// clippy.toml allows these in `#[test]` bodies only; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::panic)]

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use redmux_resp::{CommandBuf, DecodeError, Decoder, Limits, Value, encode_command};

// ---- Strategies ----

/// Bytes biased towards the ones RESP gives meaning to, so payloads often contain
/// `\r\n`, type bytes and digits that a decoder could mistake for framing.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => any::<u8>(),
        1 => prop::sample::select(b"\r\n$*%:+-_;.?0123456789".to_vec()),
    ]
}

fn payload() -> impl Strategy<Value = Bytes> {
    vec(byte(), 0..40).prop_map(Bytes::from)
}

/// Simple strings and errors cannot contain CR or LF; anything else goes.
fn line() -> impl Strategy<Value = Bytes> {
    vec(byte(), 0..24).prop_map(|mut b| {
        b.retain(|c| *c != b'\r' && *c != b'\n');
        Bytes::from(b)
    })
}

/// Every finite double (zero, subnormal, normal, both signs), small human ones, and
/// both infinities. NaN has its own test: it is never equal to itself.
fn double() -> impl Strategy<Value = f64> {
    use proptest::num::f64 as f;
    prop_oneof![
        4 => f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO,
        2 => (-10_000i32..10_000).prop_map(|i| f64::from(i) / 8.0),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
    ]
}

fn big_number() -> impl Strategy<Value = Bytes> {
    "-?[0-9]{1,60}".prop_map(Bytes::from)
}

fn leaf(double: BoxedStrategy<f64>) -> impl Strategy<Value = Value> {
    prop_oneof![
        line().prop_map(Value::SimpleString),
        line().prop_map(Value::Error),
        any::<i64>().prop_map(Value::Integer),
        payload().prop_map(Value::BulkString),
        Just(Value::Nil),
        double.prop_map(Value::Double),
        any::<bool>().prop_map(Value::Boolean),
        big_number().prop_map(Value::BigNumber),
        (any::<[u8; 3]>(), payload())
            .prop_map(|(format, text)| Value::VerbatimString { format, text }),
        payload().prop_map(Value::BulkError),
    ]
}

/// Any value, aggregates nested at most four deep.
fn value_with(double: BoxedStrategy<f64>) -> impl Strategy<Value = Value> {
    leaf(double).prop_recursive(4, 48, 6, |inner| {
        let pairs = vec((inner.clone(), inner.clone()), 0..4);
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            pairs.clone().prop_map(Value::Map),
            vec(inner.clone(), 0..6).prop_map(Value::Set),
            vec(inner.clone(), 0..6).prop_map(Value::Push),
            (pairs, inner).prop_map(|(attributes, value)| Value::Attribute {
                attributes,
                value: Box::new(value),
            }),
        ]
    })
}

fn value() -> impl Strategy<Value = Value> {
    value_with(double().boxed())
}

/// Several values back to back, as a pipelined connection receives them.
fn values() -> impl Strategy<Value = Vec<Value>> {
    vec(value(), 1..5)
}

/// Where to cut a stream, as positions scaled to its length when it is known.
fn splits() -> impl Strategy<Value = Vec<Index>> {
    vec(any::<Index>(), 0..12)
}

/// Limits that every `value()` is within (payloads under 40 bytes, aggregates under
/// 6 elements, maps and attributes under 4 pairs), and `oversize()` is not.
const SMALL: Limits = Limits {
    max_bulk_len: 64,
    max_aggregate_len: 8,
    max_depth: 128,
    max_line_len: 1024 * 1024,
};

/// A frame over `SMALL`, and whether it is a push: a long bulk string (its payload
/// full of framing bytes), an aggregate over the count, or either nested in others.
fn oversize() -> impl Strategy<Value = (Value, bool)> {
    let big = vec(byte(), 65..1500)
        .prop_map(|b| Value::BulkString(Bytes::from(b)))
        .boxed();
    let many = vec(value(), 9..12).prop_map(Value::Array);
    let either = prop_oneof![big.clone(), many].boxed();
    prop_oneof![
        big.prop_map(|v| (v, false)),
        (values(), either.clone(), any::<Index>()).prop_map(|(mut items, over, at)| {
            items.insert(at.index(items.len() + 1), over);
            (Value::Array(items), false)
        }),
        (value(), either.clone())
            .prop_map(|(key, over)| { (Value::Array(vec![Value::Map(vec![(key, over)])]), false) }),
        (vec(value(), 0..3), either).prop_map(|(mut items, over)| {
            items.push(over);
            (Value::Push(items), true)
        }),
    ]
}

// ---- Helpers ----

/// One outcome of `decode_frame`, as the properties compare it: a frame, or a frame
/// skipped as too large (and whether it was a push).
#[derive(Debug, PartialEq)]
enum Frame {
    Value(Value),
    TooLarge { push: bool },
}

/// Feeds `stream` to `decode_frame` cut at the given points; returns the outcomes,
/// the first error, and the bytes left in the buffer.
fn frames_chunked(
    stream: &[u8],
    cuts: &[Index],
    limits: Limits,
) -> (Vec<Frame>, Option<DecodeError>, usize) {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
    points.push(stream.len());
    points.sort_unstable();
    points.dedup();
    let mut decoder = Decoder::with_limits(limits);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut start = 0;
    for end in points {
        buf.extend_from_slice(&stream[start..end]);
        start = end;
        loop {
            match decoder.decode_frame(&mut buf) {
                Ok(Some(redmux_resp::Decoded::Frame(v))) => frames.push(Frame::Value(v)),
                Ok(Some(redmux_resp::Decoded::TooLarge(t))) => {
                    frames.push(Frame::TooLarge { push: t.push });
                }
                Ok(None) => break,
                Err(e) => return (frames, Some(e), buf.len()),
            }
        }
    }
    (frames, None, buf.len())
}

fn encode_all(values: &[Value]) -> BytesMut {
    let mut out = BytesMut::new();
    for v in values {
        v.encode(&mut out);
    }
    out
}

/// What decoding a stream gave: the values, and how it ended.
#[derive(Debug)]
struct Decoded {
    values: Vec<Value>,
    /// The first error, if any (decoding stops there).
    error: Option<DecodeError>,
    /// Bytes the decoder left in the buffer at the end.
    left: usize,
    /// Whether the decoder held part of a frame at the end.
    in_frame: bool,
}

/// Feeds `stream` to one decoder cut at the given points, appending each chunk to the
/// buffer and decoding until `None` after each.
fn decode_chunked(stream: &[u8], cuts: &[Index]) -> Decoded {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
    points.push(stream.len());
    points.sort_unstable();
    points.dedup();

    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut values = Vec::new();
    let mut start = 0;
    for end in points {
        buf.extend_from_slice(&stream[start..end]);
        start = end;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(v)) => values.push(v),
                Ok(None) => break,
                Err(e) => {
                    return Decoded {
                        values,
                        error: Some(e),
                        left: buf.len(),
                        in_frame: decoder.in_frame(),
                    };
                }
            }
        }
    }
    Decoded {
        values,
        error: None,
        left: buf.len(),
        in_frame: decoder.in_frame(),
    }
}

fn decode_whole(stream: &[u8]) -> Decoded {
    decode_chunked(stream, &[])
}

/// Equality where a NaN equals a NaN.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(x), Value::Double(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::Array(x), Value::Array(y))
        | (Value::Set(x), Value::Set(y))
        | (Value::Push(x), Value::Push(y)) => same_list(x, y),
        (Value::Map(x), Value::Map(y)) => same_pairs(x, y),
        (
            Value::Attribute {
                attributes: xa,
                value: xv,
            },
            Value::Attribute {
                attributes: ya,
                value: yv,
            },
        ) => same_pairs(xa, ya) && same(xv, yv),
        _ => a == b,
    }
}

fn same_list(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

fn same_pairs(a: &[(Value, Value)], b: &[(Value, Value)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((xk, xv), (yk, yv))| same(xk, yk) && same(xv, yv))
}

fn contains_nan(v: &Value) -> bool {
    match v {
        Value::Double(d) => d.is_nan(),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            items.iter().any(contains_nan)
        }
        Value::Map(pairs) => pairs
            .iter()
            .any(|(k, v)| contains_nan(k) || contains_nan(v)),
        Value::Attribute { attributes, value } => {
            contains_nan(value)
                || attributes
                    .iter()
                    .any(|(k, v)| contains_nan(k) || contains_nan(v))
        }
        _ => false,
    }
}

/// Like [`Value::encode`], but each `Nil` in one of its three forms (`_`, RESP2's
/// `$-1` and `*-1`), picked in turn from `forms`.
fn encode_with_resp2_nils(v: &Value, forms: &mut impl Iterator<Item = u8>, out: &mut BytesMut) {
    fn header(out: &mut BytesMut, tag: char, n: usize) {
        out.extend_from_slice(format!("{tag}{n}\r\n").as_bytes());
    }
    match v {
        Value::Nil => out.extend_from_slice(match forms.next().unwrap_or(0) % 3 {
            0 => &b"_\r\n"[..],
            1 => b"$-1\r\n",
            _ => b"*-1\r\n",
        }),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            let tag = match v {
                Value::Array(_) => '*',
                Value::Set(_) => '~',
                _ => '>',
            };
            header(out, tag, items.len());
            for item in items {
                encode_with_resp2_nils(item, forms, out);
            }
        }
        Value::Map(pairs)
        | Value::Attribute {
            attributes: pairs, ..
        } => {
            header(
                out,
                if matches!(v, Value::Map(_)) { '%' } else { '|' },
                pairs.len(),
            );
            for (k, item) in pairs {
                encode_with_resp2_nils(k, forms, out);
                encode_with_resp2_nils(item, forms, out);
            }
            if let Value::Attribute { value, .. } = v {
                encode_with_resp2_nils(value, forms, out);
            }
        }
        other => other.encode(out),
    }
}

/// One argument of a command and what its bulk string must hold.
#[derive(Debug, Clone)]
enum Arg {
    Bytes(Vec<u8>),
    Int(i64),
    Float(f64),
}

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        vec(byte(), 0..40).prop_map(Arg::Bytes),
        any::<i64>().prop_map(Arg::Int),
        double().prop_map(Arg::Float),
    ]
}

// ---- Properties ----

proptest! {
    // 256 cases each keeps the whole file under a few seconds in a debug build; the
    // fuzz target (fuzz/) is where the long runs happen.
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn values_survive_encoding_and_any_chunking(values in values(), cuts in splits()) {
        let stream = encode_all(&values);
        let decoded = decode_chunked(&stream, &cuts);
        prop_assert_eq!(decoded.error, None);
        prop_assert_eq!(&decoded.values, &values);
        prop_assert_eq!(decoded.left, 0);
        prop_assert!(!decoded.in_frame);
    }

    #[test]
    fn nan_survives_encoding(
        values in vec(value_with(prop_oneof![double(), Just(f64::NAN)].boxed()), 1..5),
        cuts in splits(),
    ) {
        let stream = encode_all(&values);
        let decoded = decode_chunked(&stream, &cuts);
        prop_assert_eq!(decoded.error, None);
        prop_assert!(
            same_list(&decoded.values, &values),
            "{:?} decoded as {:?}", values, decoded.values
        );
    }

    #[test]
    fn a_nan_is_a_nan(cuts in splits()) {
        let values = vec![Value::Double(f64::NAN), Value::Array(vec![Value::Double(f64::NAN)])];
        let decoded = decode_chunked(&encode_all(&values), &cuts);
        prop_assert!(values.iter().all(contains_nan));
        prop_assert!(decoded.values.iter().all(contains_nan), "{:?}", decoded.values);
        prop_assert!(same_list(&decoded.values, &values));
    }

    #[test]
    fn garbage_decodes_the_same_whole_and_chunked(
        stream in vec(byte(), 0..512),
        cuts in splits(),
    ) {
        // Neither call may panic; both must agree on every value and on the error.
        let whole = decode_whole(&stream);
        let chunked = decode_chunked(&stream, &cuts);
        prop_assert!(same_list(&whole.values, &chunked.values), "{:?} vs {:?}", whole, chunked);
        prop_assert_eq!(whole.error, chunked.error);
    }

    #[test]
    fn damaged_streams_decode_the_same_whole_and_chunked(
        values in values(),
        damage in vec((any::<Index>(), any::<u8>(), 0u8..3), 1..6),
        cuts in splits(),
    ) {
        // Valid frames with a few bytes changed, inserted or removed reach far deeper
        // into the decoder than uniformly random bytes do.
        let mut stream = encode_all(&values).to_vec();
        for (at, byte, how) in damage {
            let i = at.index(stream.len() + 1);
            match how {
                0 if i < stream.len() => stream[i] = byte,
                1 => stream.insert(i, byte),
                _ if i < stream.len() => { stream.remove(i); }
                _ => stream.push(byte),
            }
        }
        let whole = decode_whole(&stream);
        let chunked = decode_chunked(&stream, &cuts);
        prop_assert!(same_list(&whole.values, &chunked.values), "{:?} vs {:?}", whole, chunked);
        prop_assert_eq!(whole.error, chunked.error);
    }

    #[test]
    fn resp2_nulls_decode_to_nil(
        values in values(),
        forms in vec(any::<u8>(), 1..16),
        cuts in splits(),
    ) {
        let mut stream = BytesMut::new();
        let mut forms = forms.into_iter().cycle();
        for v in &values {
            encode_with_resp2_nils(v, &mut forms, &mut stream);
        }
        let decoded = decode_chunked(&stream, &cuts);
        prop_assert_eq!(decoded.error, None);
        prop_assert_eq!(&decoded.values, &values);
    }

    #[test]
    fn command_buf_decodes_to_its_arguments(
        name in vec(byte(), 0..16),
        args in vec(arg(), 0..12),
        cuts in splits(),
    ) {
        let mut cmd = CommandBuf::new(name.as_slice());
        for a in &args {
            match a {
                Arg::Bytes(b) => cmd.arg(b.as_slice()),
                Arg::Int(i) => cmd.arg(*i),
                Arg::Float(f) => cmd.arg(*f),
            };
        }
        prop_assert_eq!(cmd.argc(), args.len() + 1);
        let decoded = decode_chunked(&cmd.finish(), &cuts);
        prop_assert_eq!(decoded.error, None);
        prop_assert_eq!(decoded.values.len(), 1);
        let Value::Array(items) = &decoded.values[0] else {
            panic!("a command is an array, got {:?}", decoded.values[0]);
        };
        prop_assert_eq!(items.len(), args.len() + 1);
        prop_assert_eq!(&items[0], &Value::BulkString(name.into()));
        for (item, a) in items[1..].iter().zip(&args) {
            let Value::BulkString(b) = item else {
                panic!("every argument is a bulk string, got {item:?}");
            };
            match a {
                Arg::Bytes(want) => prop_assert_eq!(&b[..], &want[..]),
                Arg::Int(i) => prop_assert_eq!(&b[..], &i.to_string().into_bytes()[..]),
                Arg::Float(f) => {
                    let text = std::str::from_utf8(b).unwrap();
                    // The server parses floats with strtod: `inf` and exponents included.
                    prop_assert_eq!(text.parse::<f64>().ok(), Some(*f), "{}", text);
                }
            }
        }
    }

    #[test]
    fn encode_command_decodes_to_its_arguments(
        args in vec(vec(byte(), 0..40), 1..12),
        cuts in splits(),
    ) {
        let slices: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let mut out = BytesMut::new();
        encode_command(&mut out, &slices);
        let decoded = decode_chunked(&out, &cuts);
        prop_assert_eq!(decoded.error, None);
        let want = Value::Array(args.into_iter().map(|a| Value::BulkString(a.into())).collect());
        prop_assert_eq!(decoded.values, vec![want]);
    }

    #[test]
    fn a_frame_over_a_limit_is_skipped_and_the_stream_stays_in_step(
        before in values(),
        (big, push) in oversize(),
        after in values(),
        cuts in splits(),
    ) {
        let mut all = before.clone();
        all.push(big);
        all.extend(after.iter().cloned());
        let (frames, error, left) = frames_chunked(&encode_all(&all), &cuts, SMALL);
        let mut want: Vec<Frame> = before.into_iter().map(Frame::Value).collect();
        want.push(Frame::TooLarge { push });
        want.extend(after.into_iter().map(Frame::Value));
        prop_assert_eq!(error, None);
        prop_assert_eq!(frames, want);
        prop_assert_eq!(left, 0);
    }

    #[test]
    fn damaged_streams_skip_the_same_whole_and_chunked(
        values in values(),
        (big, _) in oversize(),
        damage in vec((any::<Index>(), any::<u8>(), 0u8..3), 1..6),
        cuts in splits(),
    ) {
        // With frames over the limits in the mix, damage lands in the skipping state
        // too; however it is cut, the stream decodes alike.
        let mut stream = encode_all(&values).to_vec();
        stream.extend_from_slice(&encode_all(&[big]));
        for (at, byte, how) in damage {
            let i = at.index(stream.len() + 1);
            match how {
                0 if i < stream.len() => stream[i] = byte,
                1 => stream.insert(i, byte),
                _ if i < stream.len() => { stream.remove(i); }
                _ => stream.push(byte),
            }
        }
        let (whole, whole_error, _) = frames_chunked(&stream, &[], SMALL);
        let (chunked, chunked_error, _) = frames_chunked(&stream, &cuts, SMALL);
        prop_assert_eq!(whole, chunked);
        prop_assert_eq!(whole_error, chunked_error);
    }
}
