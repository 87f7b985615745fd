//! Feeds arbitrary bytes to the decoder in chunks and checks that it never panics,
//! that chunking does not change what it decodes, and that every value it decodes
//! re-encodes to bytes that decode back to an equal value.
//!
//! The first two bytes of the input choose the chunking and the limits; the rest is
//! the stream.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use redmux_resp::{DecodeError, Decoder, Limits, Value};

/// Small enough that a 4 KiB input can reach every limit.
const SMALL: Limits = Limits {
    max_bulk_len: 256,
    max_aggregate_len: 32,
    max_depth: 8,
    max_line_len: 64,
};

fuzz_target!(|input: &[u8]| {
    let (seed, stream) = match input {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]), rest),
        _ => return,
    };
    let limits = if seed & 1 == 0 {
        Limits::default()
    } else {
        SMALL
    };

    let whole = decode(stream, limits, &[stream.len()]);
    let chunked = decode(stream, limits, &chunk_sizes(seed, stream.len()));
    assert!(
        same_list(&whole.0, &chunked.0),
        "chunking changed the values: {:?} vs {:?}",
        whole.0,
        chunked.0
    );
    match (&whole.1, &chunked.1) {
        (Err(a), Err(b)) if a != b => {
            // A line with no CRLF yet can already be too long: only the error found
            // first depends on where the chunks end.
            let too_long = |e: &DecodeError| matches!(e, DecodeError::LineTooLong { .. });
            assert!(too_long(a) || too_long(b), "{a:?} vs {b:?}");
        }
        (a, b) => assert_eq!(a.is_err(), b.is_err(), "{a:?} vs {b:?}"),
    }

    for value in &whole.0 {
        let mut encoded = BytesMut::new();
        value.encode(&mut encoded);
        // Default limits: a streamed string re-encodes as one bulk string, which may
        // be over a small limit its chunks were each under.
        let (again, end) = decode(&encoded, Limits::default(), &[encoded.len()]);
        assert_eq!(end, Ok(()), "re-encoded {value:?} as {encoded:?}");
        assert!(
            again.len() == 1 && same(value, &again[0]),
            "{value:?} re-encoded as {encoded:?} decoded to {again:?}"
        );
    }
});

/// Decodes `stream` fed in chunks of the given sizes (cycled), decoding until `None`
/// after each chunk. Ends at the first error.
fn decode(stream: &[u8], limits: Limits, sizes: &[usize]) -> (Vec<Value>, Result<(), DecodeError>) {
    let mut decoder = Decoder::with_limits(limits);
    let mut buf = BytesMut::new();
    let mut values = Vec::new();
    let mut rest = stream;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = sizes.next().copied().unwrap_or(1).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(v)) => values.push(v),
                Ok(None) => break,
                Err(e) => return (values, Err(e)),
            }
        }
    }
    (values, Ok(()))
}

/// Chunk sizes from a small xorshift generator: mostly tiny, sometimes up to 64 bytes.
fn chunk_sizes(seed: u16, len: usize) -> Vec<usize> {
    let mut state = u32::from(seed) | 0x1_0000;
    let max = 1 + usize::from(seed >> 10);
    (0..len.min(256))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            1 + state as usize % max
        })
        .collect()
}

/// Equality where a NaN equals a NaN.
fn same(a: &Value, b: &Value) -> bool {
    use Value::*;
    match (a, b) {
        (Double(x), Double(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Array(x), Array(y)) | (Set(x), Set(y)) | (Push(x), Push(y)) => same_list(x, y),
        (Map(x), Map(y)) => same_pairs(x, y),
        (
            Attribute {
                attributes: xa,
                value: xv,
            },
            Attribute {
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
