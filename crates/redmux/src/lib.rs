//! redmux: a Redis and Valkey client in the StackExchange.Redis style.
//!
//! Every caller in a process shares one cloned [`Client`]. Their commands are encoded
//! on their own threads, queued, and written together by one writer task onto one
//! connection; one reader task matches the replies back in order. Fire-and-forget
//! commands return at once.
//!
//! | module | owns |
//! |---|---|
//! | [`client`] | [`Client`], the shared handle |
//! | `commands` (private) | the typed commands, one file per family (strings, keys, hashes, ...): they appear as methods of [`Client`] |
//! | [`request`] | [`Request`] (a command and its options) and [`Response`] (its future) |
//! | [`command`] | [`Command`] and [`cmd`]: any command, encoded as it is built |
//! | `refusal` (private) | the commands the shared connection refuses (blocking ones, and ones that change its state), each with its alternative |
//! | [`from_value`] | [`FromValue`]: a reply into the type asked for |
//! | `json` (feature `json`) | `Json<T>`: any serde type as an argument and a reply, stored as a JSON string |
//! | [`batch`] | [`Batch`] and [`BatchStream`]: many commands back to back, in chunks, one result each |
//! | [`transaction`] | [`Transaction`]: MULTI ... EXEC with [`Condition`]s checked under WATCH |
//! | [`script`] | [`Script`] (EVALSHA, reloaded on NOSCRIPT) and functions (FCALL) |
//! | `router` | which multiplexer a command goes to (a standalone server: one) |
//! | `keys` | [`hash_slot`] and where a command's keys are (key specifications) |
//! | `mux` | the multiplexer: queue, writer, reader, pending FIFO, reconnect |
//! | `connection` | the connection layer: transport, handshake, read loop, reconnect, heartbeat |
//! | [`dedicated`] | [`DedicatedConnection`]: an exclusive connection for blocking commands |
//! | [`pubsub`] | [`Subscription`]s sharing one subscriber connection; SPUBLISH, PUBSUB |
//! | [`work_queue`] | [`WorkQueue`]: LPUSH + a PUBLISH wake-up, in place of blocking pops |
//! | `cache` (private) | client-side caching: [`ClientCache`], [`Request::cached`], [`CacheStats`]; fed by the server's invalidations |
//! | [`config`] | [`Config`], [`TlsConfig`] and URL parsing |
//! | [`sentinel`] | [`SentinelConfig`]; every dial asks the sentinels for the primary, `+switch-master` followed |
//! | [`credentials`] | [`CredentialsProvider`], asked at every handshake; `Client::reauthenticate` |
//! | [`error`] | [`Error`], matchable, with whether the command was sent |
//! | [`stats`] | [`Stats`], the counters |
//! | `trace` (private) | the opt-in `tracing` spans ([`Config::tracing`]), after OpenTelemetry's database conventions |
//!
//! ```no_run
//! # async fn run() -> redmux::Result<()> {
//! use std::time::Duration;
//! let client = redmux::Client::connect("redis://127.0.0.1:6379/0").await?;
//! client.set("greeting", "hello").await?;
//! let v: Option<String> = client.get("greeting").await?;
//! client.expire("session:42", Duration::from_secs(300)).fire_and_forget()?;
//! let n: i64 = client.incr("hits").await?;
//! let raw: redmux::Value = client.command(redmux::cmd("OBJECT").arg("ENCODING").arg("greeting")).await?;
//! let fast: Option<String> = client.get("k").timeout(Duration::from_millis(50)).await?;
//! # Ok(()) }
//! ```
//!
//! # Storing your own types
//!
//! Arguments are anything [`ToArg`], replies anything [`FromValue`]; implement them
//! for your own types (an argument that cannot be made is [`Arg::failed`]: its
//! command fails unsent with [`Error::InvalidArgument`]). With the `json` feature,
//! `Json<T>` does both for any serde type: `client.set("user:1", Json(&user))`,
//! `client.get::<Option<Json<User>>>("user:1")`. `docs/own-types.md` says when a
//! hash suits better than a JSON string.
//!
//! ```
//! use redmux::{Arg, Error, FromValue, Result, ToArg, Value};
//!
//! /// A temperature stored as tenths of a degree: "215" is 21.5 °C.
//! #[derive(Debug, PartialEq)]
//! struct Celsius(f64);
//!
//! impl ToArg for Celsius {
//!     fn to_arg(&self) -> Arg<'_> {
//!         if self.0.is_finite() {
//!             Arg::int((self.0 * 10.0).round() as i64)
//!         } else {
//!             Arg::failed(std::fmt::Error) // never store "NaN"
//!         }
//!     }
//! }
//!
//! impl FromValue for Celsius {
//!     fn from_value(v: Value) -> Result<Self> {
//!         let text: String = FromValue::from_value(v.clone())?;
//!         let tenths: i64 = text
//!             .parse()
//!             .map_err(|e| Error::conversion_with_source("tenths of a degree", &v, e))?;
//!         Ok(Celsius(tenths as f64 / 10.0))
//!     }
//! }
//!
//! assert!(Celsius(21.5).to_arg().failure().is_none());
//! assert!(Celsius(f64::NAN).to_arg().failure().is_some());
//! assert_eq!(Celsius::from_value(Value::from("215"))?, Celsius(21.5));
//! let t: Option<Celsius> = FromValue::from_value(Value::Nil)?;
//! assert_eq!(t, None);
//! # Ok::<(), redmux::Error>(())
//! ```
//!
//! # Traces and metrics
//!
//! [`Config::tracing`] turns on one `tracing` span per command, batch and
//! transaction, after OpenTelemetry's database conventions; [`Client::stats`]
//! gives the counters an exporter reads. `docs/observability.md` lists the
//! fields and what they cost.

// On docs.rs (Cargo.toml: `--cfg docsrs`), label feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod batch;
mod cache;
pub mod client;
pub mod command;
mod commands;
pub mod config;
mod connection;
pub mod credentials;
pub mod dedicated;
pub mod error;
pub mod from_value;
#[cfg(feature = "json")]
pub mod json;
mod keys;
mod mux;
pub mod pubsub;
mod refusal;
pub mod request;
mod router;
pub mod script;
pub mod sentinel;
mod state;
pub mod stats;
mod subscriber;
mod trace;
pub mod transaction;
pub mod work_queue;

pub use batch::{Batch, BatchIndex, BatchItem, BatchResults, BatchStream};
pub use bytes::Bytes;
pub use cache::{CacheStats, CachedRequest, ClientCache, TrackingMode};
pub use client::Client;
pub use command::{Command, KeySlot, cmd};
pub use commands::{
    AutoClaim, BitField, BitFieldType, BitOp, BitRange, ClientInfo, ClientKill, ClientListFilter,
    ClientType, FlushMode, GeoAddOptions, GeoFrom, GeoMatch, GeoPosition, GeoSearch, GeoUnit,
    GeoWith, Info, Overflow, PendingEntry, PendingSummary, StreamConsumerInfo, StreamEntry,
    StreamGroupInfo, StreamInfo, StreamRead, StreamTrim, XAddOptions, XAutoClaim, XClaim,
    XGroupCreateOptions, XPendingOptions, XReadGroupOptions,
};
pub use commands::{Expiry, KeyType, Scan, ScanOptions, SetOptions, Side, ZAddOptions, ZRange};
pub use commands::{FunctionInfo, FunctionListOptions, LibraryInfo};
pub use config::{Addr, BacklogPolicy, Config, Protocol, ReconnectPolicy, TlsConfig};
pub use credentials::{Credentials, CredentialsFuture, CredentialsProvider};
pub use dedicated::DedicatedConnection;
pub use error::{CommandStatus, Error, Result, ServerError, TimeoutDiagnostics};
pub use from_value::FromValue;
#[cfg(feature = "json")]
pub use json::Json;
pub use keys::{SLOTS, hash_slot};
pub use pubsub::{Message, Subscription};
pub use redmux_resp::{Arg, ArgError, Limits, Oversize, ToArg, Value};
pub use request::{Commands, Flags, Request, Response};
pub use script::{FunctionCall, Invocation, Script, ScriptCall, ScriptResponse};
pub use sentinel::SentinelConfig;
pub use state::ConnectionState;
pub use stats::{NodeInfo, Stats};
pub use transaction::{AbortReason, Comparison, Condition, Transaction, TransactionOutcome};
pub use work_queue::WorkQueue;
