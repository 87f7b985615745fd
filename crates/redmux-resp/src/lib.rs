//! The RESP2/RESP3 protocol for redmux, with no I/O and no runtime.
//!
//! | module | owns |
//! |---|---|
//! | [`value`] | [`Value`], every RESP2 and RESP3 reply kind, and its encoding back to bytes |
//! | [`decode`] | [`Decoder`], resumable and linear in its input, bounded by [`Limits`]; [`Decoded`], a frame or one over a limit skipped whole ([`Decoder::decode_frame`]); one file per concern: lines, blobs, aggregates, numbers, the one-step bulk string |
//! | [`arg`] | [`ToArg`] and [`Arg`]: an argument hands over its payload, never framing |
//! | [`encode`] | [`CommandBuf`]: commands as arrays of bulk strings, written once, every byte of framing written here |
//! | [`error`] | [`DecodeError`], why a stream is not valid RESP |
//! | `buffer_pool` | command buffers handed back after a write ([`CommandBuf::recycle`]), reused per thread |
//!
//! Payloads are [`bytes::Bytes`] sliced from the read buffer: decoding a 4 MiB bulk
//! string copies nothing.
//!
//! ```
//! use bytes::BytesMut;
//! use redmux_resp::{CommandBuf, Decoder, Value};
//!
//! let mut get = CommandBuf::new("GET");
//! get.arg("greeting");
//! assert_eq!(&get.finish()[..], b"*2\r\n$3\r\nGET\r\n$8\r\ngreeting\r\n");
//!
//! let mut reply = BytesMut::from(&b"$5\r\nhello\r\n"[..]);
//! assert_eq!(Decoder::new().decode(&mut reply).unwrap(), Some(Value::from("hello")));
//! ```

// On docs.rs (Cargo.toml: `--cfg docsrs`), label feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod arg;
mod buffer_pool;
pub mod decode;
pub mod encode;
pub mod error;
pub mod value;

pub use arg::{Arg, ArgError, SHARED_ARG_MIN, ToArg};
pub use decode::{Decoded, Decoder, Limits, Oversize, TooLarge};
pub use encode::{CommandBuf, encode_command};
pub use error::DecodeError;
pub use value::Value;
