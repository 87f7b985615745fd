//! The commands the shared connection refuses, and what to use instead.
//!
//! Every caller of a [`crate::Client`] sends on one connection, and the server answers
//! a connection's commands one reply each, in order, under one state (database,
//! protocol, user, reply mode, transaction, subscriptions). A command that blocks the
//! connection stalls every other caller; a command that changes that state changes it
//! under every other caller, and some of them (`CLIENT REPLY SKIP`, `MULTI`) put
//! replies out of step with the callers waiting for them. Both kinds are refused
//! before they are queued, with an error that names the alternative. A
//! [`crate::DedicatedConnection`] accepts them all: it is one caller's alone.
//!
//! The decision table, from the server's command table (Redis 7.0 `COMMAND LIST`,
//! with what Redis 7.2+ and Valkey 8 added):
//!
//! | command | verdict | why | instead |
//! |---|---|---|---|
//! | `BLPOP` `BRPOP` `BLMOVE` `BRPOPLPUSH` `BLMPOP` `BZPOPMIN` `BZPOPMAX` `BZMPOP` `WAIT` `WAITAOF`, `XREAD`/`XREADGROUP` with `BLOCK` | refused, blocking | waits for data or replicas, holding every caller's commands behind it | `dedicated()`, or the work queue for pops |
//! | `CLIENT REPLY` | refused | `OFF` and `SKIP` drop replies: every later reply goes to the wrong caller | `.fire_and_forget()` |
//! | `MULTI` `EXEC` `DISCARD` | refused | other callers' commands would be queued into the transaction and answer `QUEUED` | `client.transaction()` |
//! | `WATCH` `UNWATCH` | refused | the watch would abort whichever caller's `EXEC` came next | `Transaction::add_condition` |
//! | `SELECT` | refused | moves every caller to another database | `Config::db` |
//! | `HELLO` with arguments | refused | switches the protocol (reply shapes) or the user under everyone | `Config::protocol`, `username`, `password`, `client_name` |
//! | `HELLO` alone | allowed | only reports the connection's properties | |
//! | `AUTH` | refused | changes the user, and so the permissions, of every caller | `Config::username` and `Config::password` |
//! | `RESET` | refused | drops the database, user, protocol and mode the client set up | `dedicated()` |
//! | `QUIT` | refused | closes the connection under the commands in flight | `client.close()` |
//! | `CLIENT TRACKING` `CLIENT CACHING` | refused | tracking mode and the one-shot `CACHING` flag apply to the next caller's reads | `dedicated()` |
//! | `CLIENT NO-TOUCH` (7.2) | refused | other callers' reads would stop updating keys' access times | `dedicated()` |
//! | `CLIENT CAPA` `CLIENT IMPORT-SOURCE` (Valkey) | refused | change how the server answers or expires for this connection | `dedicated()` |
//! | `READONLY` `READWRITE` `ASKING` | refused | cluster routing state, the router's to manage | `dedicated()` |
//! | `SUBSCRIBE` `PSUBSCRIBE` `SSUBSCRIBE` | refused | a subscribed connection takes only pub/sub commands | `client.subscribe(..)` (`psubscribe`, `ssubscribe`) |
//! | `UNSUBSCRIBE` `PUNSUBSCRIBE` `SUNSUBSCRIBE` | refused | answer once per channel (or with a push): replies out of step | drop the `Subscription` |
//! | `MONITOR` | refused | turns the connection into a feed of every server command | `dedicated()` |
//! | `SYNC` `PSYNC` `REPLCONF` | refused | turn the connection into a replication link | `dedicated()` |
//! | `SCRIPT DEBUG` | refused | the next caller's `EVAL` would start a debugging session that takes over the connection | `dedicated()` |
//! | `CLIENT SETNAME` `CLIENT SETINFO` | allowed | a label in `CLIENT LIST`: no command or reply changes. It lapses on reconnect; `Config::client_name` lasts | |
//! | `CLIENT NO-EVICT` | allowed | only exempts the connection from client eviction: no command or reply changes. It lapses on reconnect | |
//! | `CLIENT PAUSE` `UNPAUSE` `KILL` `UNBLOCK`, `SHUTDOWN`, `FAILOVER`, `REPLICAOF`, `SWAPDB`, `FLUSHALL`, `CONFIG SET`, `DEBUG` | allowed | server-wide, not this connection's state: they act the same from any connection (a killed connection is rebuilt like any lost one) | |
//! | everything else | allowed | | |
//!
//! The check runs on every `client.command(..)`, so it starts with a filter on the
//! name's length and first letter, worked out from the table at compile time: a
//! command whose (length, letter) no rule has (`GET`, `SET`, `HSET`, ...) costs one
//! table lookup.
//!
//! The typed methods of [`crate::Client`] never build a refused command (checked in
//! debug builds by `Client::request`), and none of these exist; each block below must
//! fail to compile:
//!
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.select(1); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.multi(); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.exec(); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.discard(); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.watch("k"); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.unwatch(); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.auth("secret"); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.hello(3); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.reset(); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.quit(); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.client_reply("OFF"); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.client_tracking(true); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.client_caching(true); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.client_no_touch(true); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.readonly(); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.readwrite(); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.asking(); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.monitor(); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.sync(); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.psync("?", -1); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.script_debug("YES"); }
//! ```
//! ```compile_fail
//! # async fn run(client: redmux::Client) { let _ = client.unsubscribe("ch"); }
//! ```
//!
//! (The same call to a method that exists compiles:)
//!
//! ```
//! # async fn run(client: redmux::Client) { let _ = client.client_setname("web"); }
//! ```

use crate::error::Error;

/// Why a command is refused.
#[derive(Debug, Clone, Copy)]
enum Why {
    /// It blocks the connection: [`Error::BlockingCommandRefused`].
    Blocks,
    /// It changes the connection's state: [`Error::StateCommandRefused`], naming
    /// this alternative.
    ChangesState(&'static str),
}

/// Which uses of a command are refused.
#[derive(Debug, Clone, Copy)]
enum Scope {
    /// Every use.
    Always(Why),
    /// Only with arguments (`HELLO` alone only reports).
    WithArguments(Why),
    /// Only these subcommands (the first argument).
    Subcommands(&'static [(&'static [u8], Why)]),
    /// Only with a `BLOCK` option (`XREAD`, `XREADGROUP`).
    WhenBlocking,
}

struct Rule {
    name: &'static [u8],
    scope: Scope,
}

const fn rule(name: &'static [u8], scope: Scope) -> Rule {
    Rule { name, scope }
}

const TRANSACTION: Why = Why::ChangesState(
    "use client.transaction() for MULTI ... EXEC, or client.dedicated() for a connection of your own",
);
const WATCH: Why = Why::ChangesState(
    "use client.transaction() with Transaction::add_condition (its conditions are checked under WATCH), or client.dedicated() to WATCH by hand",
);
const DEDICATED: Why =
    Why::ChangesState("use client.dedicated() for a connection of your own, where it is allowed");
const CLUSTER: Why = Why::ChangesState(
    "the client manages cluster routing itself; use client.dedicated() to send it by hand",
);
const SUBSCRIBE: Why = Why::ChangesState(
    "use client.subscribe(..), client.psubscribe(..) or client.ssubscribe(..): subscriptions share a connection of their own",
);
const UNSUBSCRIBE: Why = Why::ChangesState(
    "use the Subscription that client.subscribe(..) returned: dropping it unsubscribes",
);
const REPLICATION: Why = Why::ChangesState(
    "replication commands turn the connection into a replication link; use client.dedicated()",
);

const CLIENT_SUBCOMMANDS: &[(&[u8], Why)] = &[
    (
        b"REPLY",
        Why::ChangesState(
            "send the command with .fire_and_forget() to not wait for its reply, or use client.dedicated()",
        ),
    ),
    (b"TRACKING", DEDICATED),
    (b"CACHING", DEDICATED),
    (b"NO-TOUCH", DEDICATED),
    (b"CAPA", DEDICATED),
    (b"IMPORT-SOURCE", DEDICATED),
];

const SCRIPT_SUBCOMMANDS: &[(&[u8], Why)] = &[(
    b"DEBUG",
    Why::ChangesState(
        "the Lua debugger takes over the connection; use redis-cli --ldb, or client.dedicated()",
    ),
)];

/// Every rule. Names are upper case ASCII, shorter than [`MAX_NAME`].
const RULES: &[Rule] = &[
    // Blocking.
    rule(b"BLPOP", Scope::Always(Why::Blocks)),
    rule(b"BRPOP", Scope::Always(Why::Blocks)),
    rule(b"BLMOVE", Scope::Always(Why::Blocks)),
    rule(b"BRPOPLPUSH", Scope::Always(Why::Blocks)),
    rule(b"BZPOPMIN", Scope::Always(Why::Blocks)),
    rule(b"BZPOPMAX", Scope::Always(Why::Blocks)),
    rule(b"BLMPOP", Scope::Always(Why::Blocks)),
    rule(b"BZMPOP", Scope::Always(Why::Blocks)),
    rule(b"WAIT", Scope::Always(Why::Blocks)),
    rule(b"WAITAOF", Scope::Always(Why::Blocks)),
    rule(b"XREAD", Scope::WhenBlocking),
    rule(b"XREADGROUP", Scope::WhenBlocking),
    // Connection state.
    rule(b"CLIENT", Scope::Subcommands(CLIENT_SUBCOMMANDS)),
    rule(b"SCRIPT", Scope::Subcommands(SCRIPT_SUBCOMMANDS)),
    rule(b"MULTI", Scope::Always(TRANSACTION)),
    rule(b"EXEC", Scope::Always(TRANSACTION)),
    rule(b"DISCARD", Scope::Always(TRANSACTION)),
    rule(b"WATCH", Scope::Always(WATCH)),
    rule(b"UNWATCH", Scope::Always(WATCH)),
    rule(
        b"SELECT",
        Scope::Always(Why::ChangesState(
            "use Config::db (or /N in the URL) for the client, or a second client for the other database",
        )),
    ),
    rule(
        b"HELLO",
        Scope::WithArguments(Why::ChangesState(
            "use Config::protocol, Config::username, Config::password and Config::client_name, which every handshake sends (HELLO with no arguments is allowed)",
        )),
    ),
    rule(
        b"AUTH",
        Scope::Always(Why::ChangesState(
            "use Config::username and Config::password (or user:password@ in the URL), which every handshake sends",
        )),
    ),
    rule(b"RESET", Scope::Always(DEDICATED)),
    rule(
        b"QUIT",
        Scope::Always(Why::ChangesState(
            "use client.close(), which sends what is queued and waits for the replies owed",
        )),
    ),
    rule(b"READONLY", Scope::Always(CLUSTER)),
    rule(b"READWRITE", Scope::Always(CLUSTER)),
    rule(b"ASKING", Scope::Always(CLUSTER)),
    rule(b"SUBSCRIBE", Scope::Always(SUBSCRIBE)),
    rule(b"PSUBSCRIBE", Scope::Always(SUBSCRIBE)),
    rule(b"SSUBSCRIBE", Scope::Always(SUBSCRIBE)),
    rule(b"UNSUBSCRIBE", Scope::Always(UNSUBSCRIBE)),
    rule(b"PUNSUBSCRIBE", Scope::Always(UNSUBSCRIBE)),
    rule(b"SUNSUBSCRIBE", Scope::Always(UNSUBSCRIBE)),
    rule(b"MONITOR", Scope::Always(DEDICATED)),
    rule(b"SYNC", Scope::Always(REPLICATION)),
    rule(b"PSYNC", Scope::Always(REPLICATION)),
    rule(b"REPLCONF", Scope::Always(REPLICATION)),
];

/// Names are shorter than this; a longer name is never refused.
const MAX_NAME: usize = 16;

/// For each name length, a bit per first letter (`A` is bit 0) that some rule has.
const FILTER: [u32; MAX_NAME] = filter(RULES);

const fn filter(rules: &[Rule]) -> [u32; MAX_NAME] {
    let mut filter = [0u32; MAX_NAME];
    let mut i = 0;
    while i < rules.len() {
        let name = rules[i].name;
        // A rule that breaks the table's shape fails the build here.
        assert!(name.len() < MAX_NAME && name[0].is_ascii_uppercase());
        filter[name.len()] |= 1 << (name[0] - b'A');
        i += 1;
    }
    filter
}

/// Refuses a command the shared connection must not run; `args` are its arguments
/// after the name, and are read only for the few commands whose refusal depends
/// on them.
///
/// # Errors
///
/// [`Error::BlockingCommandRefused`] or [`Error::StateCommandRefused`].
pub(crate) fn check<'a>(name: &[u8], args: impl Iterator<Item = &'a [u8]>) -> Result<(), Error> {
    let Some(rule) = find(name) else {
        return Ok(());
    };
    match rule.scope {
        Scope::Always(why) => Err(refuse(name, None, why)),
        Scope::WithArguments(why) => {
            let mut args = args;
            match args.next() {
                Some(_) => Err(refuse(name, None, why)),
                None => Ok(()),
            }
        }
        Scope::Subcommands(subcommands) => {
            let mut args = args;
            let Some(sub) = args.next() else {
                return Ok(());
            };
            match subcommands
                .iter()
                .find(|(s, _)| sub.eq_ignore_ascii_case(s))
            {
                Some((_, why)) => Err(refuse(name, Some(sub), *why)),
                None => Ok(()),
            }
        }
        Scope::WhenBlocking => match xread_blocks(args) {
            true => Err(refuse(name, None, Why::Blocks)),
            false => Ok(()),
        },
    }
}

/// The rule for a command name, if any.
#[inline]
fn find(name: &[u8]) -> Option<&'static Rule> {
    let first = name.first()?.to_ascii_uppercase();
    let letters = *FILTER.get(name.len())?;
    if !first.is_ascii_uppercase() || letters & (1 << (first - b'A')) == 0 {
        return None;
    }
    RULES.iter().find(|r| name.eq_ignore_ascii_case(r.name))
}

fn refuse(name: &[u8], sub: Option<&[u8]>, why: Why) -> Error {
    let mut command = String::from_utf8_lossy(name).to_ascii_uppercase();
    if let Some(sub) = sub {
        command.push(' ');
        command.push_str(&String::from_utf8_lossy(sub).to_ascii_uppercase());
    }
    match why {
        Why::Blocks => Error::BlockingCommandRefused { command },
        Why::ChangesState(alternative) => Error::StateCommandRefused {
            command,
            alternative,
        },
    }
}

/// Whether an XREAD or XREADGROUP has a `BLOCK` option:
/// `XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ...` and
/// `XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key ... id ...`.
///
/// The options are read as the server reads them, in any order and case-insensitively,
/// skipping the values they take: a group, consumer or stream named `block` or
/// `streams` is a name, not an option. A word the server would reject leaves the
/// scan going, so an option this list does not know cannot hide a `BLOCK` after it
/// (such a command fails at the server anyway, or is refused here).
fn xread_blocks<'a>(mut args: impl Iterator<Item = &'a [u8]>) -> bool {
    while let Some(word) = args.next() {
        let values = if word.eq_ignore_ascii_case(b"STREAMS") {
            // Everything after STREAMS is keys and ids.
            return false;
        } else if word.eq_ignore_ascii_case(b"BLOCK") {
            // `BLOCK` with no value after it is a syntax error, never a wait.
            return args.next().is_some();
        } else if word.eq_ignore_ascii_case(b"COUNT") {
            1
        } else if word.eq_ignore_ascii_case(b"GROUP") {
            // The group and the consumer (the server refuses GROUP on XREAD).
            2
        } else {
            // NOACK, or a word the server will reject.
            0
        };
        for _ in 0..values {
            if args.next().is_none() {
                return false;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(words: &[&str]) -> Result<(), Error> {
        let (name, args) = words.split_first().map_or(("", &[][..]), |(n, a)| (*n, a));
        check(name.as_bytes(), args.iter().map(|a| a.as_bytes()))
    }

    fn blocking(words: &[&str]) -> bool {
        matches!(checked(words), Err(Error::BlockingCommandRefused { .. }))
    }

    fn state(words: &[&str]) -> bool {
        matches!(checked(words), Err(Error::StateCommandRefused { .. }))
    }

    #[test]
    fn blocking_commands() {
        assert!(blocking(&["blpop", "q", "0"]));
        assert!(blocking(&["WAIT", "1", "0"]));
        assert!(blocking(&[
            "xread", "COUNT", "1", "block", "0", "STREAMS", "s", "$"
        ]));
        assert!(!blocking(&["XREAD", "STREAMS", "block", "0"]));
        assert!(checked(&["LPOP", "q"]).is_ok());
        assert!(checked(&["BITCOUNT", "k"]).is_ok());
        let e = checked(&["BRPOP", "q"]).unwrap_err().to_string();
        assert!(e.contains("BRPOP") && e.contains("dedicated()"), "{e}");
    }

    #[test]
    fn state_commands_name_their_alternative() {
        for (words, alternative) in [
            (&["client", "reply", "skip"][..], "fire_and_forget()"),
            (&["MULTI"], "transaction()"),
            (&["exec"], "transaction()"),
            (&["DISCARD"], "transaction()"),
            (&["WATCH", "k"], "add_condition"),
            (&["UNWATCH"], "add_condition"),
            (&["SELECT", "1"], "Config::db"),
            (&["HELLO", "3"], "Config::protocol"),
            (&["AUTH", "pw"], "Config::password"),
            (&["RESET"], "dedicated()"),
            (&["QUIT"], "close()"),
            (&["CLIENT", "TRACKING", "on"], "dedicated()"),
            (&["CLIENT", "caching", "yes"], "dedicated()"),
            (&["CLIENT", "NO-TOUCH", "on"], "dedicated()"),
            (&["CLIENT", "CAPA", "redirect"], "dedicated()"),
            (&["READONLY"], "dedicated()"),
            (&["READWRITE"], "dedicated()"),
            (&["Asking"], "dedicated()"),
            (&["SUBSCRIBE", "c"], "subscribe(..)"),
            (&["PSUBSCRIBE", "c*"], "subscribe(..)"),
            (&["SSUBSCRIBE", "c"], "subscribe(..)"),
            (&["UNSUBSCRIBE"], "Subscription"),
            (&["PUNSUBSCRIBE"], "Subscription"),
            (&["SUNSUBSCRIBE", "c"], "Subscription"),
            (&["MONITOR"], "dedicated()"),
            (&["SYNC"], "dedicated()"),
            (&["PSYNC", "?", "-1"], "dedicated()"),
            (&["REPLCONF", "listening-port", "1"], "dedicated()"),
            (&["SCRIPT", "DEBUG", "YES"], "dedicated()"),
        ] {
            let e = checked(words).unwrap_err();
            assert!(
                matches!(e, Error::StateCommandRefused { .. }),
                "{words:?}: {e:?}"
            );
            let text = e.to_string();
            let named = words[0].to_ascii_uppercase();
            assert!(
                text.contains(&named) && text.contains(alternative),
                "{words:?}: {text}"
            );
            assert!(!e.is_retryable() && e.status().safe_to_retry());
        }
        let e = checked(&["client", "reply", "off"]).unwrap_err();
        assert!(e.to_string().starts_with("CLIENT REPLY "), "{e}");
    }

    #[test]
    fn what_stays_allowed() {
        for words in [
            &["HELLO"][..],
            &["CLIENT", "SETNAME", "web"],
            &["CLIENT", "SETINFO", "LIB-NAME", "x"],
            &["CLIENT", "NO-EVICT", "on"],
            &["CLIENT", "ID"],
            &["CLIENT", "LIST"],
            &["CLIENT", "PAUSE", "10"],
            &["CLIENT", "KILL", "ID", "7"],
            &["CLIENT", "TRACKINGINFO"],
            &["CLIENT"],
            &["SCRIPT", "LOAD", "return 1"],
            &["SCRIPT", "KILL"],
            &["GET", "k"],
            &["SET", "k", "v"],
            &["SADD", "s", "m"],
            &["SYNCX"],
            &["SELECTED"],
            &["PUBLISH", "c", "m"],
            &["SPUBLISH", "c", "m"],
            &["EXECUTE"],
            &["MULTIPLY"],
            &[""],
            &["a-very-long-command-name"],
            &["1NUMERIC"],
            &["\u{e9}"],
        ] {
            assert!(checked(words).is_ok(), "{words:?}");
        }
        // Names as bytes that are not letters do not index the filter out of range.
        assert!(check(&[0xff, b'x'], std::iter::empty()).is_ok());
        assert!(check(b"~", std::iter::empty()).is_ok());
    }

    #[test]
    fn the_filter_lets_every_rule_through() {
        for rule in RULES {
            assert!(find(rule.name).is_some());
            let lower = rule.name.to_ascii_lowercase();
            assert!(find(&lower).is_some());
        }
        assert!(state(&["multi"]));
    }

    fn xreadgroup(words: &[&str]) -> bool {
        let mut all = vec!["XREADGROUP"];
        all.extend_from_slice(words);
        blocking(&all)
    }

    #[test]
    fn group_and_consumer_names_are_not_options() {
        // Named like the options: still not blocking.
        assert!(!xreadgroup(&["GROUP", "block", "c", "STREAMS", "s", ">"]));
        assert!(!xreadgroup(&["GROUP", "g", "BLOCK", "STREAMS", "s", ">"]));
        assert!(!xreadgroup(&[
            "GROUP", "block", "block", "COUNT", "1", "NOACK", "STREAMS", "s", ">"
        ]));
        // A group or consumer named "streams" does not end the options early.
        assert!(xreadgroup(&[
            "GROUP", "streams", "c", "BLOCK", "0", "STREAMS", "s", ">"
        ]));
        assert!(xreadgroup(&[
            "GROUP", "g", "streams", "BLOCK", "0", "STREAMS", "s", ">"
        ]));
        assert!(xreadgroup(&[
            "group", "streams", "streams", "noack", "count", "5", "Block", "100", "streams", "s",
            ">"
        ]));
    }

    #[test]
    fn options_in_any_order_and_their_values_skipped() {
        // The server takes the options in any order, GROUP included.
        assert!(xreadgroup(&[
            "BLOCK", "0", "GROUP", "g", "c", "STREAMS", "s", ">"
        ]));
        assert!(xreadgroup(&[
            "GROUP", "g", "c", "NOACK", "BLOCK", "0", "COUNT", "1", "STREAMS", "s", ">"
        ]));
        // A COUNT whose value is the word "block" (a server error, not a wait).
        assert!(!blocking(&["XREAD", "COUNT", "block", "STREAMS", "s", "0"]));
        assert!(blocking(&[
            "XREAD", "COUNT", "streams", "BLOCK", "0", "STREAMS", "s", "0"
        ]));
        // Streams and ids are never options, whatever their names.
        assert!(!blocking(&[
            "xread", "streams", "block", "streams", "0", "0"
        ]));
        // Truncated commands are syntax errors at the server, not waits.
        assert!(!blocking(&["XREAD", "BLOCK"]));
        assert!(!xreadgroup(&["GROUP", "g"]));
        assert!(!blocking(&["XREAD"]));
        // An option this parser does not know does not hide a BLOCK after it.
        assert!(blocking(&[
            "XREAD",
            "FUTUREFLAG",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            "0"
        ]));
    }
}
