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
//! | [`config`] | [`Config`], [`TlsConfig`] and URL parsing |
//! | [`error`] | [`Error`], matchable, with whether the command was sent |
//! | [`stats`] | [`Stats`], the counters |
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

pub mod batch;
pub mod client;
pub mod command;
mod commands;
pub mod config;
mod connection;
pub mod dedicated;
pub mod error;
pub mod from_value;
mod keys;
mod mux;
pub mod pubsub;
mod refusal;
pub mod request;
mod router;
pub mod script;
mod state;
pub mod stats;
mod subscriber;
pub mod transaction;
pub mod work_queue;

pub use batch::{Batch, BatchIndex, BatchItem, BatchResults, BatchStream};
pub use bytes::Bytes;
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
pub use dedicated::DedicatedConnection;
pub use error::{CommandStatus, Error, Result, ServerError, TimeoutDiagnostics};
pub use from_value::FromValue;
pub use keys::{SLOTS, hash_slot};
pub use pubsub::{Message, Subscription};
pub use redmux_resp::{Arg, Limits, Oversize, ToArg, Value};
pub use request::{Commands, Flags, Request, Response};
pub use script::{FunctionCall, Invocation, Script, ScriptCall, ScriptResponse};
pub use state::ConnectionState;
pub use stats::Stats;
pub use transaction::{AbortReason, Comparison, Condition, Transaction, TransactionOutcome};
pub use work_queue::WorkQueue;
