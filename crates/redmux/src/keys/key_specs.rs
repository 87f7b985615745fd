//! Where a command's keys are, for a command built with [`crate::cmd`] whose keys
//! were added with `arg` rather than marked with [`crate::Command::key`].
//!
//! The server describes its commands' keys (`COMMAND INFO`): the first key's
//! position, the last's (negative counts from the end) and the step between them.
//! [`KeySpecs::from_command_info`] reads that reply, so a router can fetch it once
//! from the server it talks to and know the commands of that server's version and
//! modules. Until then, and for a server that refuses `COMMAND`, the table built in
//! here (Redis 7.0's own, [`KeySpecs::builtin`]) is the documented fallback.
//!
//! Commands whose keys move (`movablekeys`: EVAL's `numkeys`, XREAD's `STREAMS`,
//! ZUNIONSTORE's destination and `numkeys`, ...) follow rules written here for each
//! of them. A command known to neither is [`KeyPositions::Unknown`]: a cluster
//! router then asks the server (`COMMAND GETKEYS`) or sends it to any node.

use std::collections::{HashMap, HashSet};

use redmux_resp::Value;

/// The keys of one command, as argument positions (the name is position 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyPositions {
    /// The command takes no keys.
    None,
    /// The arguments at these positions are keys.
    At(Vec<usize>),
    /// Neither the table nor a rule knows the command.
    Unknown,
}

/// One command's legacy key specification: first key, last key, step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    first: i64,
    last: i64,
    step: i64,
}

/// How the keys of the commands a server knows are found.
#[derive(Debug, Clone)]
pub(crate) struct KeySpecs {
    /// Upper-case names (`GET`, `OBJECT|ENCODING`) of the commands with keys at
    /// fixed positions.
    fixed: HashMap<String, Range>,
    /// Upper-case names of every command the server described, keyed or not.
    known: HashMap<String, ()>,
    /// Upper-case names of the commands the server flags `readonly`: those a
    /// cluster may send to a replica.
    readonly: HashSet<String>,
}

/// Redis 7.0's `COMMAND INFO` for the commands with keys at fixed positions: the
/// fallback when the server's own is not at hand. Generated from a redis-server
/// 7.0.15; Valkey 9.1 agrees for every command both have.
const BUILTIN: &[(&str, i64, i64, i64)] = &[
    ("APPEND", 1, 1, 1),
    ("BITCOUNT", 1, 1, 1),
    ("BITFIELD", 1, 1, 1),
    ("BITFIELD_RO", 1, 1, 1),
    ("BITOP", 2, -1, 1),
    ("BITPOS", 1, 1, 1),
    ("BLMOVE", 1, 2, 1),
    ("BLPOP", 1, -2, 1),
    ("BRPOP", 1, -2, 1),
    ("BRPOPLPUSH", 1, 2, 1),
    ("BZPOPMAX", 1, -2, 1),
    ("BZPOPMIN", 1, -2, 1),
    ("COPY", 1, 2, 1),
    ("DECR", 1, 1, 1),
    ("DECRBY", 1, 1, 1),
    ("DEL", 1, -1, 1),
    ("DUMP", 1, 1, 1),
    ("EXISTS", 1, -1, 1),
    ("EXPIRE", 1, 1, 1),
    ("EXPIREAT", 1, 1, 1),
    ("EXPIRETIME", 1, 1, 1),
    ("GEOADD", 1, 1, 1),
    ("GEODIST", 1, 1, 1),
    ("GEOHASH", 1, 1, 1),
    ("GEOPOS", 1, 1, 1),
    ("GEORADIUSBYMEMBER_RO", 1, 1, 1),
    ("GEORADIUS_RO", 1, 1, 1),
    ("GEOSEARCH", 1, 1, 1),
    ("GEOSEARCHSTORE", 1, 2, 1),
    ("GET", 1, 1, 1),
    ("GETBIT", 1, 1, 1),
    ("GETDEL", 1, 1, 1),
    ("GETEX", 1, 1, 1),
    ("GETRANGE", 1, 1, 1),
    ("GETSET", 1, 1, 1),
    ("HDEL", 1, 1, 1),
    ("HEXISTS", 1, 1, 1),
    ("HGET", 1, 1, 1),
    ("HGETALL", 1, 1, 1),
    ("HINCRBY", 1, 1, 1),
    ("HINCRBYFLOAT", 1, 1, 1),
    ("HKEYS", 1, 1, 1),
    ("HLEN", 1, 1, 1),
    ("HMGET", 1, 1, 1),
    ("HMSET", 1, 1, 1),
    ("HRANDFIELD", 1, 1, 1),
    ("HSCAN", 1, 1, 1),
    ("HSET", 1, 1, 1),
    ("HSETNX", 1, 1, 1),
    ("HSTRLEN", 1, 1, 1),
    ("HVALS", 1, 1, 1),
    ("INCR", 1, 1, 1),
    ("INCRBY", 1, 1, 1),
    ("INCRBYFLOAT", 1, 1, 1),
    ("LCS", 1, 2, 1),
    ("LINDEX", 1, 1, 1),
    ("LINSERT", 1, 1, 1),
    ("LLEN", 1, 1, 1),
    ("LMOVE", 1, 2, 1),
    ("LPOP", 1, 1, 1),
    ("LPOS", 1, 1, 1),
    ("LPUSH", 1, 1, 1),
    ("LPUSHX", 1, 1, 1),
    ("LRANGE", 1, 1, 1),
    ("LREM", 1, 1, 1),
    ("LSET", 1, 1, 1),
    ("LTRIM", 1, 1, 1),
    ("MEMORY|USAGE", 2, 2, 1),
    ("MGET", 1, -1, 1),
    ("MOVE", 1, 1, 1),
    ("MSET", 1, -1, 2),
    ("MSETNX", 1, -1, 2),
    ("OBJECT|ENCODING", 2, 2, 1),
    ("OBJECT|FREQ", 2, 2, 1),
    ("OBJECT|IDLETIME", 2, 2, 1),
    ("OBJECT|REFCOUNT", 2, 2, 1),
    ("PERSIST", 1, 1, 1),
    ("PEXPIRE", 1, 1, 1),
    ("PEXPIREAT", 1, 1, 1),
    ("PEXPIRETIME", 1, 1, 1),
    ("PFADD", 1, 1, 1),
    ("PFCOUNT", 1, -1, 1),
    ("PFDEBUG", 2, 2, 1),
    ("PFMERGE", 1, -1, 1),
    ("PSETEX", 1, 1, 1),
    ("PTTL", 1, 1, 1),
    ("RENAME", 1, 2, 1),
    ("RENAMENX", 1, 2, 1),
    ("RESTORE", 1, 1, 1),
    ("RESTORE-ASKING", 1, 1, 1),
    ("RPOP", 1, 1, 1),
    ("RPOPLPUSH", 1, 2, 1),
    ("RPUSH", 1, 1, 1),
    ("RPUSHX", 1, 1, 1),
    ("SADD", 1, 1, 1),
    ("SCARD", 1, 1, 1),
    ("SDIFF", 1, -1, 1),
    ("SDIFFSTORE", 1, -1, 1),
    ("SET", 1, 1, 1),
    ("SETBIT", 1, 1, 1),
    ("SETEX", 1, 1, 1),
    ("SETNX", 1, 1, 1),
    ("SETRANGE", 1, 1, 1),
    ("SINTER", 1, -1, 1),
    ("SINTERSTORE", 1, -1, 1),
    ("SISMEMBER", 1, 1, 1),
    ("SMEMBERS", 1, 1, 1),
    ("SMISMEMBER", 1, 1, 1),
    ("SMOVE", 1, 2, 1),
    ("SPOP", 1, 1, 1),
    ("SPUBLISH", 1, 1, 1),
    ("SRANDMEMBER", 1, 1, 1),
    ("SREM", 1, 1, 1),
    ("SSCAN", 1, 1, 1),
    ("SSUBSCRIBE", 1, -1, 1),
    ("STRLEN", 1, 1, 1),
    ("SUBSTR", 1, 1, 1),
    ("SUNION", 1, -1, 1),
    ("SUNIONSTORE", 1, -1, 1),
    ("SUNSUBSCRIBE", 1, -1, 1),
    ("TOUCH", 1, -1, 1),
    ("TTL", 1, 1, 1),
    ("TYPE", 1, 1, 1),
    ("UNLINK", 1, -1, 1),
    ("WATCH", 1, -1, 1),
    ("XACK", 1, 1, 1),
    ("XADD", 1, 1, 1),
    ("XAUTOCLAIM", 1, 1, 1),
    ("XCLAIM", 1, 1, 1),
    ("XDEL", 1, 1, 1),
    ("XGROUP|CREATE", 2, 2, 1),
    ("XGROUP|CREATECONSUMER", 2, 2, 1),
    ("XGROUP|DELCONSUMER", 2, 2, 1),
    ("XGROUP|DESTROY", 2, 2, 1),
    ("XGROUP|SETID", 2, 2, 1),
    ("XINFO|CONSUMERS", 2, 2, 1),
    ("XINFO|GROUPS", 2, 2, 1),
    ("XINFO|STREAM", 2, 2, 1),
    ("XLEN", 1, 1, 1),
    ("XPENDING", 1, 1, 1),
    ("XRANGE", 1, 1, 1),
    ("XREVRANGE", 1, 1, 1),
    ("XSETID", 1, 1, 1),
    ("XTRIM", 1, 1, 1),
    ("ZADD", 1, 1, 1),
    ("ZCARD", 1, 1, 1),
    ("ZCOUNT", 1, 1, 1),
    ("ZINCRBY", 1, 1, 1),
    ("ZLEXCOUNT", 1, 1, 1),
    ("ZMSCORE", 1, 1, 1),
    ("ZPOPMAX", 1, 1, 1),
    ("ZPOPMIN", 1, 1, 1),
    ("ZRANDMEMBER", 1, 1, 1),
    ("ZRANGE", 1, 1, 1),
    ("ZRANGEBYLEX", 1, 1, 1),
    ("ZRANGEBYSCORE", 1, 1, 1),
    ("ZRANGESTORE", 1, 2, 1),
    ("ZRANK", 1, 1, 1),
    ("ZREM", 1, 1, 1),
    ("ZREMRANGEBYLEX", 1, 1, 1),
    ("ZREMRANGEBYRANK", 1, 1, 1),
    ("ZREMRANGEBYSCORE", 1, 1, 1),
    ("ZREVRANGE", 1, 1, 1),
    ("ZREVRANGEBYLEX", 1, 1, 1),
    ("ZREVRANGEBYSCORE", 1, 1, 1),
    ("ZREVRANK", 1, 1, 1),
    ("ZSCAN", 1, 1, 1),
    ("ZSCORE", 1, 1, 1),
];

/// Commands with no keys that the built-in table must still know, so that they are
/// keyless rather than unknown.
const BUILTIN_KEYLESS: &[&str] = &[
    "PING",
    "ECHO",
    "INFO",
    "DBSIZE",
    "FLUSHDB",
    "FLUSHALL",
    "TIME",
    "PUBLISH",
    "SPUBLISH",
    "RANDOMKEY",
    "KEYS",
    "SCAN",
    "SCRIPT",
    "FUNCTION",
    "CONFIG",
    "CLIENT",
    "COMMAND",
    "LASTSAVE",
    "ROLE",
    "CLUSTER",
    "MULTI",
    "EXEC",
    "DISCARD",
    "UNWATCH",
    "SELECT",
    "HELLO",
    "AUTH",
    "QUIT",
    "RESET",
    "SAVE",
    "BGSAVE",
    "BGREWRITEAOF",
    "SLOWLOG",
    "LATENCY",
    "MEMORY",
    "OBJECT",
    "XINFO",
    "XGROUP",
    "PUBSUB",
    "WAIT",
    "WAITAOF",
    "DEBUG",
    "SWAPDB",
    "MONITOR",
    "LOLWUT",
];

/// Commands whose keys move, each with its rule.
const MOVABLE: &[&str] = &[
    "EVAL",
    "EVALSHA",
    "EVAL_RO",
    "EVALSHA_RO",
    "FCALL",
    "FCALL_RO",
    "ZUNION",
    "ZINTER",
    "ZDIFF",
    "ZINTERCARD",
    "SINTERCARD",
    "LMPOP",
    "ZMPOP",
    "BLMPOP",
    "BZMPOP",
    "ZUNIONSTORE",
    "ZINTERSTORE",
    "ZDIFFSTORE",
    "XREAD",
    "XREADGROUP",
    "SORT",
    "SORT_RO",
    "GEORADIUS",
    "GEORADIUSBYMEMBER",
    "MIGRATE",
];

impl KeySpecs {
    /// The built-in table (Redis 7.0's key specifications).
    pub(crate) fn builtin() -> KeySpecs {
        let fixed = BUILTIN
            .iter()
            .map(|&(name, first, last, step)| (name.to_string(), Range { first, last, step }))
            .collect::<HashMap<_, _>>();
        let known = fixed
            .keys()
            .map(|name| (name.clone(), ()))
            .chain(BUILTIN_KEYLESS.iter().map(|n| (n.to_string(), ())))
            .chain(MOVABLE.iter().map(|n| (n.to_string(), ())))
            .collect();
        let readonly = super::readonly::BUILTIN_READONLY
            .iter()
            .map(|n| n.to_string())
            .collect();
        KeySpecs {
            fixed,
            known,
            readonly,
        }
    }

    /// Reads a `COMMAND INFO` (or `COMMAND`) reply: each command as `[name, arity,
    /// flags, first key, last key, step, ...]`, with its subcommands (Redis 7+) at
    /// position 9. Entries it cannot read are skipped; a reply that is no array
    /// gives `None`.
    pub(crate) fn from_command_info(reply: &Value) -> Option<KeySpecs> {
        let Value::Array(commands) = reply else {
            return None;
        };
        let mut specs = KeySpecs {
            fixed: HashMap::new(),
            known: HashMap::new(),
            readonly: HashSet::new(),
        };
        for command in commands {
            specs.read_one(command);
        }
        Some(specs)
    }

    fn read_one(&mut self, command: &Value) {
        let Value::Array(fields) = command else {
            return;
        };
        let (Some(name), Some(first), Some(last), Some(step)) = (
            fields.first().and_then(text),
            fields.get(3).and_then(int),
            fields.get(4).and_then(int),
            fields.get(5).and_then(int),
        ) else {
            return;
        };
        let name = name.to_ascii_uppercase();
        if let Some(Value::Array(flags)) = fields.get(2)
            && flags
                .iter()
                .any(|f| text(f).is_some_and(|f| f.eq_ignore_ascii_case("readonly")))
        {
            self.readonly.insert(name.clone());
        }
        if first > 0 && step > 0 && !is_movable(&name) {
            self.fixed.insert(name.clone(), Range { first, last, step });
        }
        self.known.insert(name, ());
        if let Some(Value::Array(subcommands)) = fields.get(9) {
            for sub in subcommands {
                self.read_one(sub);
            }
        }
    }

    /// Where the keys of a command are, given its arguments (the name first).
    pub(crate) fn positions(&self, args: &[&[u8]]) -> KeyPositions {
        let Some(name) = args.first() else {
            return KeyPositions::None;
        };
        let name = String::from_utf8_lossy(name).to_ascii_uppercase();
        if is_movable(&name) {
            return movable(&name, args);
        }
        // A subcommand's entry (`OBJECT|ENCODING`) before the container's.
        if let Some(sub) = args.get(1) {
            let full = format!(
                "{name}|{}",
                String::from_utf8_lossy(sub).to_ascii_uppercase()
            );
            if let Some(range) = self.fixed.get(&full) {
                return range.positions(args.len());
            }
        }
        match self.fixed.get(&name) {
            Some(range) => range.positions(args.len()),
            None if self.known.contains_key(&name) => KeyPositions::None,
            None => KeyPositions::Unknown,
        }
    }
}

impl KeySpecs {
    /// Whether the command (its name first) only reads, so a replica may serve
    /// it: the server's `readonly` flag, for the subcommand's entry
    /// (`OBJECT|ENCODING`) when there is one. Unknown commands are not.
    pub(crate) fn is_read_only(&self, args: &[&[u8]]) -> bool {
        let Some(name) = args.first() else {
            return false;
        };
        let name = String::from_utf8_lossy(name).to_ascii_uppercase();
        if let Some(sub) = args.get(1) {
            let full = format!(
                "{name}|{}",
                String::from_utf8_lossy(sub).to_ascii_uppercase()
            );
            if self.readonly.contains(&full) {
                return true;
            }
        }
        self.readonly.contains(&name)
    }
}

impl Range {
    fn positions(self, argc: usize) -> KeyPositions {
        let argc = argc as i64;
        let last = if self.last < 0 {
            argc + self.last
        } else {
            self.last
        };
        let last = last.min(argc - 1);
        let mut at = Vec::new();
        let mut i = self.first;
        while i <= last && i > 0 {
            at.push(i as usize);
            i += self.step.max(1);
        }
        KeyPositions::At(at)
    }
}

fn is_movable(name: &str) -> bool {
    MOVABLE.contains(&name)
}

/// The rules for commands whose keys move.
fn movable(name: &str, args: &[&[u8]]) -> KeyPositions {
    let number =
        |at: usize| -> Option<usize> { std::str::from_utf8(args.get(at)?).ok()?.parse().ok() };
    // `numkeys` at `count_at`, then that many keys; `extra` keys before it.
    let counted = |count_at: usize, extra: &[usize]| match number(count_at) {
        Some(n) if count_at + n < args.len() => {
            let mut at = extra.to_vec();
            at.extend(count_at + 1..=count_at + n);
            KeyPositions::At(at)
        }
        _ => KeyPositions::Unknown,
    };
    match name {
        "EVAL" | "EVALSHA" | "EVAL_RO" | "EVALSHA_RO" | "FCALL" | "FCALL_RO" => counted(2, &[]),
        "ZUNION" | "ZINTER" | "ZDIFF" | "ZINTERCARD" | "SINTERCARD" | "LMPOP" | "ZMPOP" => {
            counted(1, &[])
        }
        "BLMPOP" | "BZMPOP" => counted(2, &[]),
        "ZUNIONSTORE" | "ZINTERSTORE" | "ZDIFFSTORE" => counted(2, &[1]),
        "XREAD" | "XREADGROUP" => {
            // After STREAMS: the keys, then as many ids.
            let streams = args.iter().position(|a| a.eq_ignore_ascii_case(b"STREAMS"));
            match streams {
                Some(at) if (args.len() - at - 1).is_multiple_of(2) && args.len() > at + 1 => {
                    let n = (args.len() - at - 1) / 2;
                    KeyPositions::At((at + 1..=at + n).collect())
                }
                _ => KeyPositions::Unknown,
            }
        }
        "SORT" | "SORT_RO" | "GEORADIUS" | "GEORADIUSBYMEMBER" => {
            let mut at = vec![1];
            // STORE / STOREDIST name a destination key.
            for (i, a) in args.iter().enumerate().skip(2) {
                if (a.eq_ignore_ascii_case(b"STORE") || a.eq_ignore_ascii_case(b"STOREDIST"))
                    && i + 1 < args.len()
                {
                    at.push(i + 1);
                }
            }
            if args.len() < 2 {
                return KeyPositions::Unknown;
            }
            KeyPositions::At(at)
        }
        // MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH ..] [KEYS k ...]
        "MIGRATE" => match args.iter().position(|a| a.eq_ignore_ascii_case(b"KEYS")) {
            Some(at) if args.get(3).is_some_and(|k| k.is_empty()) => {
                KeyPositions::At((at + 1..args.len()).collect())
            }
            _ if args.len() > 3 => KeyPositions::At(vec![3]),
            _ => KeyPositions::Unknown,
        },
        _ => KeyPositions::Unknown,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(b) | Value::SimpleString(b) => {
            Some(String::from_utf8_lossy(b).into_owned())
        }
        _ => None,
    }
}

fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(n) => Some(*n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(words: &[&str]) -> KeyPositions {
        let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        KeySpecs::builtin().positions(&args)
    }

    #[test]
    fn fixed_positions() {
        assert_eq!(keys(&["get", "k"]), KeyPositions::At(vec![1]));
        assert_eq!(
            keys(&["MSET", "a", "1", "b", "2"]),
            KeyPositions::At(vec![1, 3])
        );
        assert_eq!(
            keys(&["DEL", "a", "b", "c"]),
            KeyPositions::At(vec![1, 2, 3])
        );
        assert_eq!(
            keys(&["BLPOP", "a", "b", "0"]),
            KeyPositions::At(vec![1, 2])
        );
        assert_eq!(
            keys(&["OBJECT", "ENCODING", "k"]),
            KeyPositions::At(vec![2])
        );
        assert_eq!(keys(&["PING"]), KeyPositions::None);
        assert_eq!(keys(&["NOSUCHCOMMAND", "k"]), KeyPositions::Unknown);
    }

    #[test]
    fn movable_positions() {
        assert_eq!(
            keys(&["EVAL", "return 1", "2", "a", "b", "x"]),
            KeyPositions::At(vec![3, 4])
        );
        assert_eq!(keys(&["EVAL", "return 1", "0"]), KeyPositions::At(vec![]));
        assert_eq!(keys(&["EVAL", "return 1", "5", "a"]), KeyPositions::Unknown);
        assert_eq!(
            keys(&["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"]),
            KeyPositions::At(vec![1, 3, 4])
        );
        assert_eq!(
            keys(&["XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"]),
            KeyPositions::At(vec![4, 5])
        );
        assert_eq!(
            keys(&["SORT", "k", "STORE", "d"]),
            KeyPositions::At(vec![1, 3])
        );
        assert_eq!(
            keys(&["MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "b"]),
            KeyPositions::At(vec![7, 8])
        );
    }

    #[test]
    fn knows_which_commands_only_read() {
        let builtin = KeySpecs::builtin();
        let read_only = |words: &[&str]| {
            let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
            builtin.is_read_only(&args)
        };
        assert!(read_only(&["get", "k"]));
        assert!(read_only(&["OBJECT", "encoding", "k"]));
        assert!(!read_only(&["SET", "k", "v"]));
        assert!(!read_only(&["OBJECT", "HELP"]));
        assert!(!read_only(&["NOSUCHCOMMAND"]));
        assert!(!read_only(&[]));
        let flagged = |name: &str, flag: &str| {
            Value::Array(vec![
                Value::BulkString(name.to_string().into_bytes().into()),
                Value::Integer(2),
                Value::Array(vec![Value::SimpleString(
                    flag.to_string().into_bytes().into(),
                )]),
                Value::Integer(1),
                Value::Integer(1),
                Value::Integer(1),
            ])
        };
        let specs = KeySpecs::from_command_info(&Value::Array(vec![
            flagged("get", "readonly"),
            flagged("set", "write"),
        ]))
        .unwrap_or_else(KeySpecs::builtin);
        assert!(specs.is_read_only(&[b"GET", b"k"]));
        assert!(!specs.is_read_only(&[b"SET", b"k", b"v"]));
    }

    #[test]
    fn reads_command_info() {
        let get = Value::Array(vec![
            Value::BulkString("get".into()),
            Value::Integer(2),
            Value::Array(vec![]),
            Value::Integer(1),
            Value::Integer(1),
            Value::Integer(1),
        ]);
        let specs = KeySpecs::from_command_info(&Value::Array(vec![get, Value::Nil]))
            .unwrap_or_else(KeySpecs::builtin);
        assert_eq!(specs.positions(&[b"GET", b"k"]), KeyPositions::At(vec![1]));
        assert_eq!(
            specs.positions(&[b"SET", b"k", b"v"]),
            KeyPositions::Unknown
        );
    }
}
