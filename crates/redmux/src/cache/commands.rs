//! Which commands may be cached, and which keys a command of the client's own
//! writes (so their entries go at once, before the server's invalidation comes).
//!
//! A command may be cached when it only reads, its reply depends on nothing but
//! the value of its one key (no clock, no randomness, no other key), and that key
//! is its first argument. The list is [`CACHEABLE`]; it is checked when
//! [`crate::Request::cached`] is called, and anything else is refused there with
//! [`crate::Error::NotCacheable`].

use std::sync::OnceLock;

use crate::command::Command;
use crate::keys::{KeyPositions, KeySpecs};

/// The cacheable commands with their least and greatest argument count (the name
/// included). The key is always the first argument. `EXISTS` is cacheable with one
/// key only; multi-key forms are refused.
pub(crate) const CACHEABLE: &[(&str, usize, usize)] = &[
    // Strings and bits.
    ("GET", 2, 2),
    ("GETRANGE", 4, 4),
    ("SUBSTR", 4, 4),
    ("STRLEN", 2, 2),
    ("GETBIT", 3, 3),
    ("BITCOUNT", 2, 5),
    ("BITPOS", 3, 6),
    // Any key.
    ("EXISTS", 2, 2),
    ("TYPE", 2, 2),
    // Hashes.
    ("HGET", 3, 3),
    ("HMGET", 3, usize::MAX),
    ("HGETALL", 2, 2),
    ("HEXISTS", 3, 3),
    ("HKEYS", 2, 2),
    ("HVALS", 2, 2),
    ("HLEN", 2, 2),
    ("HSTRLEN", 3, 3),
    // Lists.
    ("LRANGE", 4, 4),
    ("LINDEX", 3, 3),
    ("LLEN", 2, 2),
    ("LPOS", 3, usize::MAX),
    // Sets.
    ("SMEMBERS", 2, 2),
    ("SISMEMBER", 3, 3),
    ("SMISMEMBER", 3, usize::MAX),
    ("SCARD", 2, 2),
    // Sorted sets.
    ("ZRANGE", 4, usize::MAX),
    ("ZRANGEBYSCORE", 4, usize::MAX),
    ("ZRANGEBYLEX", 4, usize::MAX),
    ("ZREVRANGE", 4, usize::MAX),
    ("ZREVRANGEBYSCORE", 4, usize::MAX),
    ("ZREVRANGEBYLEX", 4, usize::MAX),
    ("ZSCORE", 3, 3),
    ("ZMSCORE", 3, usize::MAX),
    ("ZRANK", 3, 4),
    ("ZREVRANK", 3, 4),
    ("ZCARD", 2, 2),
    ("ZCOUNT", 4, 4),
    ("ZLEXCOUNT", 4, 4),
    // Geo and streams.
    ("GEOPOS", 2, usize::MAX),
    ("GEODIST", 4, 5),
    ("GEOHASH", 2, usize::MAX),
    ("XRANGE", 4, 6),
    ("XREVRANGE", 4, 6),
    ("XLEN", 2, 2),
];

/// Reads that are not cacheable but change nothing either: the client's own use
/// of them drops no entry.
const READS: &[&str] = &[
    "MGET",
    "TTL",
    "PTTL",
    "EXPIRETIME",
    "PEXPIRETIME",
    "OBJECT",
    "DUMP",
    "SCAN",
    "SSCAN",
    "HSCAN",
    "ZSCAN",
    "KEYS",
    "RANDOMKEY",
    "DBSIZE",
    "SRANDMEMBER",
    "HRANDFIELD",
    "ZRANDMEMBER",
    "SINTER",
    "SUNION",
    "SDIFF",
    "SINTERCARD",
    "ZUNION",
    "ZINTER",
    "ZDIFF",
    "ZINTERCARD",
    "LCS",
    "SORT_RO",
    "GEOSEARCH",
    "GEORADIUS_RO",
    "GEORADIUSBYMEMBER_RO",
    "XREAD",
    "XINFO",
    "XPENDING",
    "TOUCH",
    "PING",
    "ECHO",
    "INFO",
    "TIME",
    "COMMAND",
    "PFCOUNT",
    "BITFIELD_RO",
];

/// Why a command (its name and its argument count, the name included) cannot
/// be cached, if it cannot: `Ok(())` for one in [`CACHEABLE`] with one key.
pub(crate) fn check(name: &[u8], argc: usize) -> Result<(), &'static str> {
    let Some(&(_, min, max)) = CACHEABLE
        .iter()
        .find(|(n, _, _)| n.as_bytes().eq_ignore_ascii_case(name))
    else {
        return Err(
            "only key-only reads are cached (GET, HGET, HGETALL, SMEMBERS, ZRANGE, ...: the list is in docs/client-cache.md)",
        );
    };
    if argc < min || argc > max {
        return Err(
            "a cached read names exactly one key (EXISTS with several keys is not cached), with the command's own arguments",
        );
    }
    Ok(())
}

/// The keys a command of the client's own may change: `Some(keys)` (none for a
/// read or a keyless command), or `None` when they cannot be known (a command the
/// key specifications do not know, a key too large to be kept in the buffer):
/// then the whole cache goes.
pub(crate) fn written_keys(command: &Command) -> Option<Vec<Vec<u8>>> {
    let name = command.name_bytes();
    let is = |n: &&str| n.as_bytes().eq_ignore_ascii_case(name);
    if CACHEABLE.iter().any(|(n, _, _)| is(n)) || READS.iter().any(is) {
        return Some(Vec::new());
    }
    // Keyless, and they change every key: the server's `nil` invalidation follows
    // the reply, and the client does not wait for it.
    if ["FLUSHALL", "FLUSHDB", "SWAPDB"].iter().any(is) {
        return None;
    }
    if command.key_count() > 0 {
        let keys = command.marked_keys();
        return (keys.len() == command.key_count()).then_some(keys);
    }
    let words = command.words()?;
    match specs().positions(&words) {
        KeyPositions::None => Some(Vec::new()),
        KeyPositions::At(at) => Some(
            at.iter()
                .filter_map(|&i| words.get(i).map(|k| k.to_vec()))
                .collect(),
        ),
        KeyPositions::Unknown => None,
    }
}

/// The arguments of an encoded command (`*N\r\n$3\r\nGET\r\n...`), name first.
pub(crate) fn bulk_args(encoded: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = encoded
        .iter()
        .position(|&b| b == b'\n')
        .and_then(|end| encoded.get(end + 1..))
        .unwrap_or_default();
    let mut rest = body;
    std::iter::from_fn(move || {
        let after = rest.strip_prefix(b"$")?;
        let header_end = after.iter().position(|&b| b == b'\r')?;
        let len: usize = std::str::from_utf8(&after[..header_end])
            .ok()?
            .parse()
            .ok()?;
        let start = header_end + 2;
        let payload = after.get(start..start + len)?;
        rest = after.get(start + len + 2..).unwrap_or_default();
        Some(payload)
    })
}

/// Redis 7.0's key specifications, built once: what the server's own would say
/// for every command both know (the cache needs no round trip to use them).
fn specs() -> &'static KeySpecs {
    static SPECS: OnceLock<KeySpecs> = OnceLock::new();
    SPECS.get_or_init(KeySpecs::builtin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd;

    #[test]
    fn the_list_is_checked() {
        let check = |command: Command| check(command.name_bytes(), command.argc());
        assert!(check(cmd("GET").key("k")).is_ok());
        assert!(check(cmd("get").arg("k")).is_ok());
        assert!(check(cmd("HMGET").key("h").arg("a").arg("b")).is_ok());
        assert!(check(cmd("EXISTS").key("a").key("b")).is_err());
        assert!(check(cmd("SET").key("k").arg("v")).is_err());
        assert!(check(cmd("TTL").key("k")).is_err());
        assert!(check(cmd("GET")).is_err());
    }

    #[test]
    fn own_writes_name_their_keys() {
        assert_eq!(written_keys(&cmd("GET").key("k")), Some(vec![]));
        assert_eq!(written_keys(&cmd("MGET").key("a").key("b")), Some(vec![]));
        assert_eq!(
            written_keys(&cmd("SET").key("k").arg("v")),
            Some(vec![b"k".to_vec()])
        );
        // Unmarked: found from the key specifications.
        assert_eq!(
            written_keys(&cmd("DEL").arg("a").arg("b")),
            Some(vec![b"a".to_vec(), b"b".to_vec()])
        );
        assert_eq!(
            written_keys(&cmd("EVAL").arg("return 1").arg(1).arg("k").arg("x")),
            Some(vec![b"k".to_vec()])
        );
        assert_eq!(written_keys(&cmd("FLUSHALL")), None);
        assert_eq!(written_keys(&cmd("PING")), Some(vec![]));
        assert_eq!(written_keys(&cmd("NOSUCHCOMMAND").arg("x")), None);
    }

    #[test]
    fn encoded_arguments_are_read_back() {
        let encoded = cmd("HGET").key("user:1").arg("name").into_bytes();
        let args: Vec<&[u8]> = bulk_args(&encoded).collect();
        assert_eq!(args, vec![&b"HGET"[..], b"user:1", b"name"]);
        assert_eq!(bulk_args(b"").count(), 0);
        assert_eq!(bulk_args(b"*1\r\n$9\r\nshort\r\n").count(), 0);
    }
}
