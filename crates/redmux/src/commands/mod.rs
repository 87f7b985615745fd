//! Typed commands, one file per family. Each method builds its command and returns
//! a [`crate::Request`]; none of them blocks the connection.
//!
//! | file | commands |
//! |---|---|
//! | `strings` | GET, SET (and [`SetOptions`]; SET ... GET is `set_with_get`), MGET, MSET, INCR..., APPEND, GETDEL, GETEX ([`Expiry`]), ... |
//! | `keys` | DEL, UNLINK, EXISTS, EXPIRE..., TTL, PTTL, PERSIST, TYPE ([`KeyType`]), RENAME |
//! | `scan` | SCAN, HSCAN, SSCAN, ZSCAN as streams ([`Scan`], [`ScanOptions`]) |
//! | `hashes` | HGET, HSET, HMGET, HGETALL, HDEL, HINCRBY, HEXISTS, HLEN, ... |
//! | `lists` | LPUSH, RPUSH, LPOP, RPOP, LRANGE, LLEN, LREM, LTRIM, LMOVE ([`Side`]) |
//! | `sets` | SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER, SUNION, SDIFF, SINTERSTORE, SUNIONSTORE, SDIFFSTORE, SINTERCARD |
//! | `sorted_sets` | ZADD ([`ZAddOptions`]), ZREM, ZSCORE, ZMSCORE, ZINCRBY, ZRANK, ZREVRANK, ZCARD, ZCOUNT, ZLEXCOUNT, ZPOPMIN, ZPOPMAX, ZRANDMEMBER, ZREMRANGEBYSCORE, ZREMRANGEBYRANK, ZREMRANGEBYLEX |
//! | `zrange` | ZRANGE and its options ([`ZRange`]) |
//! | `server` | PING, ECHO, INFO, DBSIZE, FLUSHDB, TIME, PUBLISH |
//! | `server_admin` | INFO parsed ([`Info`]), CLIENT ID/GETNAME/SETNAME/LIST/INFO/KILL ([`ClientInfo`], [`ClientKill`]), CONFIG GET/SET, FLUSHALL ([`FlushMode`]) |
//! | `streams` | XADD ([`XAddOptions`], [`StreamTrim`]), XRANGE, XREVRANGE, XLEN, XTRIM, XDEL; [`StreamEntry`] |
//! | `streams_read` | XREAD, XREADGROUP without BLOCK ([`StreamRead`], [`XReadGroupOptions`]) |
//! | `streams_groups` | XGROUP ([`XGroupCreateOptions`]), XACK, XPENDING ([`PendingSummary`], [`XPendingOptions`]) |
//! | `streams_claim` | XCLAIM ([`XClaim`]), XAUTOCLAIM ([`XAutoClaim`], [`AutoClaim`]) |
//! | `streams_info` | XINFO STREAM, GROUPS, CONSUMERS ([`StreamInfo`], [`StreamGroupInfo`], [`StreamConsumerInfo`]) |
//! | `hyperloglog` | PFADD, PFCOUNT, PFMERGE |
//! | `geo` | GEOADD ([`GeoAddOptions`]), GEODIST ([`GeoUnit`]), GEOPOS, GEOHASH, GEOSEARCH, GEOSEARCHSTORE ([`GeoSearch`], [`GeoWith`], [`GeoMatch`]) |
//! | `scripting` | SCRIPT EXISTS/FLUSH/KILL, FUNCTION LIST ([`LibraryInfo`], [`FunctionListOptions`]), FUNCTION FLUSH ([`FlushMode`]) |
//! | `bitmaps` | SETBIT, GETBIT, BITCOUNT, BITPOS ([`BitRange`]), BITOP ([`BitOp`]), BITFIELD ([`BitField`]) |
//!
//! Conventions every family follows:
//!
//! - Method names are the command's name in lower case (`getdel`, `hincrby`,
//!   `pexpireat`); `TYPE` is `key_type`. Suffixes: `_many` takes several keys, members
//!   or pairs; `_with` takes an options builder; `_count` and `_with_scores` add the
//!   argument they name.
//! - A command on one item answers whether it happened (`del` → `bool`); its `_many`
//!   form answers how many (`del_many` → `u64`). Counts and lengths are `u64`;
//!   values that can be negative (`INCR`, `TTL`) are `i64`.
//! - Where the reply is one value or a collection whose shape is yours to choose, the
//!   type parameter is the whole reply: ask `get` for `Option<String>`, `hgetall` for
//!   a `HashMap` or a `BTreeMap`, `smembers` for a `HashSet` or a `Vec`. Where the
//!   shape is fixed, the type parameter is one item: `mget` gives `Vec<Option<T>>`,
//!   `lrange` gives `Vec<T>`, `zrange_with_scores` gives `Vec<(T, f64)>`. One
//!   catch: `Vec<u8>` always means the bytes of one string, so ask `lrange` for
//!   `i64` or `u16`, not `u8`, to read a list of small numbers.
//! - A `_many` method given no items sends the command without them, and the server
//!   refuses it (`ERR wrong number of arguments`).
//! - A reply with a fixed structure of its own gets a type of its own, read alike from
//!   RESP2 and RESP3: [`StreamEntry`], [`StreamRead`], [`PendingSummary`],
//!   [`StreamInfo`], [`GeoMatch`], [`Info`], [`ClientInfo`], [`LibraryInfo`]. Fields a
//!   newer server adds are ignored; fields an older one lacks are `None`.
//! - A builder that names a command's subject rather than its options is taken by the
//!   plain method, as [`ZRange`] is by `zrange`: [`GeoSearch`], [`XClaim`],
//!   [`XAutoClaim`], [`BitField`]. A variant whose reply has another shape gets its own
//!   method: `xclaim_justid`, `geosearchstore_storedist`, `set_with_get` (SET ... GET).
//! - A write's reply type is fixed, never a type parameter, so
//!   `.fire_and_forget()` needs no type named: `set_with` answers `bool` whatever its
//!   options, and its GET variant, whose reply is the old value, is `set_with_get`.
//!   The methods that keep a type parameter are reads, and pops and moves whose reply
//!   is the element they took (`getdel`, `getex`, `lpop`, `rpop`, `lmove`, `spop`,
//!   `zpopmin`): for the effect alone there is a write (`del`, `expire`, `persist`,
//!   `ltrim`, `srem`, `zremrangebyrank`), or name a type: `client.lmove::<()>(..)`.
//! - Nothing here blocks: XREAD and XREADGROUP have no BLOCK (use
//!   [`crate::Client::dedicated`] for that), and there are no BLPOP-style methods.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redmux_resp::Value;

use crate::{Error, FromValue, Result};

mod bitmaps;
mod blocking;
mod geo;
mod hashes;
mod hyperloglog;
#[cfg(test)]
mod key_check;
mod keys;
mod lists;
mod scan;
mod scripting;
mod server;
mod server_admin;
mod sets;
mod sorted_sets;
mod streams;
mod streams_claim;
mod streams_groups;
mod streams_info;
mod streams_read;
mod strings;
mod zrange;

pub use bitmaps::{BitField, BitFieldType, BitOp, BitRange, Overflow};
pub use geo::{GeoAddOptions, GeoFrom, GeoMatch, GeoPosition, GeoSearch, GeoUnit, GeoWith};
pub use keys::KeyType;
pub use lists::Side;
pub use scan::{Scan, ScanOptions};
pub use scripting::{FunctionInfo, FunctionListOptions, LibraryInfo};
pub use server_admin::{ClientInfo, ClientKill, ClientListFilter, ClientType, FlushMode, Info};
pub use sorted_sets::ZAddOptions;
pub use streams::{StreamEntry, StreamTrim, XAddOptions};
pub use streams_claim::{AutoClaim, XAutoClaim, XClaim};
pub use streams_groups::{PendingEntry, PendingSummary, XGroupCreateOptions, XPendingOptions};
pub use streams_info::{StreamConsumerInfo, StreamGroupInfo, StreamInfo};
pub use streams_read::{StreamRead, XReadGroupOptions};
pub use strings::{Expiry, SetOptions};
pub use zrange::ZRange;

/// Name/value pairs from a RESP2 flat array or a RESP3 map, taken out by name: the
/// shape of XINFO and FUNCTION LIST replies.
pub(super) struct Fields(Vec<(String, Value)>);

impl Fields {
    pub(super) fn read(value: Value, what: &'static str) -> Result<Self> {
        match value {
            v @ (Value::Array(_) | Value::Map(_)) => Ok(Fields(FromValue::from_value(v)?)),
            other => Err(Error::conversion(what, &other)),
        }
    }

    /// The field as `T`; an absent field converts like nil.
    pub(super) fn take<T: FromValue>(&mut self, name: &str) -> Result<T> {
        let value = match self.0.iter().position(|(n, _)| n == name) {
            Some(at) => self.0.swap_remove(at).1,
            None => Value::Nil,
        };
        T::from_value(value)
    }
}

/// Time since the Unix epoch; a time before the epoch counts as the epoch itself,
/// which is in the past, as it was.
fn since_epoch(at: SystemTime) -> Duration {
    at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO)
}

/// Milliseconds, saturating: no real duration comes near `u64::MAX` milliseconds.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
