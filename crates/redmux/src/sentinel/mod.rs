//! Sentinel: the primary's address comes from the sentinels, asked again before
//! every connect.
//!
//! | file | owns |
//! |---|---|
//! | `settings.rs` | [`SentinelConfig`]: the sentinels, the service, their credentials |
//! | `ask.rs` | one round trip to one sentinel: `GET-MASTER-ADDR-BY-NAME` and `SENTINELS` |
//! | `follow.rs` | a subscription to `+switch-master` on one sentinel |
//! | `locate.rs` | `attach`: the state the client's connections share, and the `locate` closure the connection layer calls before each dial |
//! | this file | the map above and the re-exports |
//!
//! How it fits: `attach` puts a `locate` closure in the client's [`Config`](crate::Config). The
//! connection layer calls it before every dial (first connect, every reconnect of
//! the multiplexer and the subscriber, every dedicated connection), and its
//! handshake sends `ROLE` to the node it names and refuses one that is not
//! `master`: the reconnect loop then asks again. Nothing above the connection
//! layer knows sentinels exist. The backlog waits across the switch as across any
//! reconnect, and what was written to the old primary fails "sent, may have run".
//!
//! When the primary dies while we are connected, the `+switch-master` event comes
//! after our connection is already lost, so the reconnect loop polls the sentinels;
//! the event then ends its wait at once. When a live primary is demoted (a manual
//! failover), the sentinels' reconfiguration sends `CLIENT KILL TYPE normal` to it,
//! which drops our connection the same way.

mod ask;
mod follow;
mod locate;
mod settings;

pub use settings::SentinelConfig;

pub(crate) use locate::{attach, attach_and_locate};
