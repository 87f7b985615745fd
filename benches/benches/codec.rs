//! Codec micro-benchmarks: encoding commands with `CommandBuf` and decoding replies
//! with `Decoder`, no I/O.
//!
//! Every case runs in two groups: `codec/values` reports commands encoded or replies
//! decoded per second, `codec/bytes` the same runs as bytes of RESP per second.
//!
//! ```text
//! cargo bench -p redmux-benches --bench codec -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! A decode iteration starts from a fresh copy of the input, made outside the timed
//! part, and includes dropping the decoded values: a connection pays for both.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use redmux_resp::{CommandBuf, Decoder, Value};

/// One benchmark: what it runs and how much work one iteration is.
struct Case {
    name: String,
    /// Commands encoded or replies decoded per iteration.
    values: u64,
    /// Bytes of RESP written or read per iteration.
    bytes: u64,
    work: Work,
}

enum Work {
    Encode(Box<dyn Fn() -> BytesMut>),
    Decode(Bytes),
}

fn encode_case(name: &str, encode: impl Fn() -> BytesMut + 'static) -> Case {
    let bytes = encode().len() as u64;
    Case {
        name: format!("encode/{name}"),
        values: 1,
        bytes,
        work: Work::Encode(Box::new(encode)),
    }
}

fn decode_case(name: &str, replies: &[Value]) -> Case {
    let mut input = BytesMut::new();
    for reply in replies {
        reply.encode(&mut input);
    }
    let input = input.freeze();
    // Check once, untimed, that the input decodes to what it was built from.
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(&input[..]);
    let mut decoded = Vec::new();
    while let Ok(Some(v)) = decoder.decode(&mut buf) {
        decoded.push(v);
    }
    assert!(decoded == replies && buf.is_empty(), "{name}: bad input");
    Case {
        name: format!("decode/{name}"),
        values: replies.len() as u64,
        bytes: input.len() as u64,
        work: Work::Decode(input),
    }
}

fn bulk(len: usize, seed: usize) -> Bytes {
    (0..len)
        .map(|i| b'a' + ((i + seed) % 26) as u8)
        .collect::<Vec<_>>()
        .into()
}

fn cases() -> Vec<Case> {
    let value_16 = bulk(16, 0);
    let value_4k = bulk(4096, 0);
    let pairs: Vec<(Bytes, Bytes)> = (0..100)
        .map(|i| (Bytes::from(format!("key:{i:04}")), bulk(16, i)))
        .collect();

    let set_16 = value_16.clone();
    let set_4k = value_4k.clone();
    vec![
        encode_case("GET key", || {
            let mut cmd = CommandBuf::new("GET");
            cmd.arg("key");
            cmd.finish()
        }),
        encode_case("SET key 16B", move || {
            let mut cmd = CommandBuf::new("SET");
            cmd.arg("key").arg(&set_16);
            cmd.finish()
        }),
        encode_case("SET key 4KiB", move || {
            let mut cmd = CommandBuf::new("SET");
            cmd.arg("key").arg(&set_4k);
            cmd.finish()
        }),
        encode_case("MSET 100 pairs", move || {
            let mut cmd = CommandBuf::new("MSET");
            for (key, value) in &pairs {
                cmd.arg(key).arg(value);
            }
            cmd.finish()
        }),
        decode_case("+OK", &[Value::SimpleString(Bytes::from_static(b"OK"))]),
        decode_case("bulk 16B", &[Value::BulkString(value_16.clone())]),
        decode_case("bulk 4KiB", &[Value::BulkString(value_4k)]),
        decode_case(
            "array of 100 bulk",
            &[Value::Array(
                (0..100).map(|i| Value::BulkString(bulk(16, i))).collect(),
            )],
        ),
        decode_case(
            "map of 50 pairs",
            &[Value::Map(
                (0..50)
                    .map(|i| {
                        (
                            Value::BulkString(format!("field:{i:02}").into()),
                            Value::BulkString(bulk(16, i)),
                        )
                    })
                    .collect(),
            )],
        ),
        decode_case(
            "1000 pipelined bulk 16B",
            &vec![Value::BulkString(value_16); 1000],
        ),
    ]
}

fn codec(c: &mut Criterion) {
    let cases = cases();
    for (group_name, in_bytes) in [("codec/values", false), ("codec/bytes", true)] {
        let mut group = c.benchmark_group(group_name);
        for case in &cases {
            group.throughput(if in_bytes {
                Throughput::Bytes(case.bytes)
            } else {
                Throughput::Elements(case.values)
            });
            match &case.work {
                Work::Encode(encode) => {
                    group.bench_function(&case.name, |b| b.iter(|| black_box(encode())));
                }
                Work::Decode(input) => {
                    // One decoder for every iteration, as a connection keeps one.
                    let mut decoder = Decoder::new();
                    let size = if input.len() > 1024 {
                        BatchSize::LargeInput
                    } else {
                        BatchSize::SmallInput
                    };
                    group.bench_function(&case.name, |b| {
                        b.iter_batched(
                            || BytesMut::from(&input[..]),
                            |mut buf| {
                                while let Ok(Some(v)) = decoder.decode(&mut buf) {
                                    black_box(v);
                                }
                            },
                            size,
                        );
                    });
                }
            }
        }
        group.finish();
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
