//! Commands that a cluster cannot answer from one node: keyless commands that
//! concern every primary (DBSIZE, FLUSHALL, KEYS, SCRIPT LOAD, ...), and the
//! multi-key commands split by slot (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH), after
//! the command tips Redis and Valkey publish (`request_policy`, `response_policy`
//! in `COMMAND DOCS`).
//!
//! Every part is started (queued on its node) before any is awaited, so they run
//! in parallel and the caller's later commands still come after them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use redmux_resp::Value;

use super::Cluster;
use crate::command::{Command, cmd};

use crate::error::{Error, Result, ServerError};
use crate::keys::hash_slot;

/// How a command is spread over the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spread {
    /// To every primary, the replies combined.
    AllPrimaries(Combine),
    /// Split by the slot of each key; `step` words per key (2 for MSET's pairs).
    ByKey { step: usize, combine: Combine },
}

/// How the replies of the parts become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combine {
    /// Integers added (DBSIZE, DEL, EXISTS, ...).
    Sum,
    /// Every part must succeed; the first reply stands for all (FLUSHALL, MSET).
    AllOk,
    /// Arrays joined (KEYS).
    Concat,
    /// Array elements put back in the order of the keys they answer (MGET).
    InKeyOrder,
    /// One reply per node, as a map from `host:port` to its reply (INFO).
    PerNode,
}

/// The names [`spread`] may spread, for a look at a command's name alone.
const SPREAD_NAMES: [&[u8]; 13] = [
    b"DBSIZE",
    b"FLUSHALL",
    b"FLUSHDB",
    b"KEYS",
    b"INFO",
    b"SCRIPT",
    b"FUNCTION",
    b"MGET",
    b"MSET",
    b"DEL",
    b"UNLINK",
    b"EXISTS",
    b"TOUCH",
];

/// Whether a command named `name` may be spread: a look at the name alone, with no
/// allocation, so the single-slot commands (nearly every one) skip reading their
/// words back and upper-casing them in [`spread`].
pub(crate) fn may_spread(name: &[u8]) -> bool {
    SPREAD_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The spread of a command by its name (and subcommand), `None` for one that goes
/// to one node.
pub(crate) fn spread(words: &[&[u8]]) -> Option<Spread> {
    let name = String::from_utf8_lossy(words.first()?).to_ascii_uppercase();
    let sub = words
        .get(1)
        .map(|s| String::from_utf8_lossy(s).to_ascii_uppercase());
    let all = |combine| Some(Spread::AllPrimaries(combine));
    match (name.as_str(), sub.as_deref()) {
        ("DBSIZE", _) => all(Combine::Sum),
        ("FLUSHALL" | "FLUSHDB", _) => all(Combine::AllOk),
        ("KEYS", _) => all(Combine::Concat),
        ("INFO", _) => all(Combine::PerNode),
        ("SCRIPT", Some("LOAD" | "FLUSH")) => all(Combine::AllOk),
        ("FUNCTION", Some("LOAD" | "DELETE" | "FLUSH" | "RESTORE")) => all(Combine::AllOk),
        ("MGET", _) if words.len() > 2 => Some(Spread::ByKey {
            step: 1,
            combine: Combine::InKeyOrder,
        }),
        ("MSET", _) if words.len() > 3 => Some(Spread::ByKey {
            step: 2,
            combine: Combine::AllOk,
        }),
        ("DEL" | "UNLINK" | "EXISTS" | "TOUCH", _) if words.len() > 2 => Some(Spread::ByKey {
            step: 1,
            combine: Combine::Sum,
        }),
        _ => None,
    }
}

type Part = Pin<Box<dyn Future<Output = Result<Value>> + Send>>;

/// Sends `command` spread as `spread` says and combines the replies.
pub(crate) async fn run(
    cluster: Arc<Cluster>,
    command: Command,
    words: Vec<Vec<u8>>,
    spread: Spread,
    timeout: Duration,
    read: super::ReadFrom,
) -> Result<Value> {
    match spread {
        Spread::AllPrimaries(combine) => {
            if !cluster.is_complete() {
                // A primary the map names could not be reached: FLUSHALL would
                // succeed without it, DBSIZE and KEYS would come back short.
                cluster.request_refresh();
                return Err(Error::ConnectionLost {
                    status: crate::CommandStatus::NotSent,
                    reason: "a cluster primary is unreachable, so a command for every primary was not sent".into(),
                });
            }
            let primaries = cluster.primaries();
            let mut names = Vec::with_capacity(primaries.len());
            let mut parts: Vec<Part> = Vec::with_capacity(primaries.len());
            for (addr, node, _) in primaries {
                names.push(addr);
                parts.push(Box::pin(super::send::to_node(
                    node,
                    command.clone(),
                    timeout,
                )));
            }
            let replies = join(parts).await;
            combine_replies(combine, replies, &names, None)
        }
        Spread::ByKey { step, combine } => {
            // Keys grouped by slot, keeping each key's place in the command.
            let name = &words[0];
            let mut groups: Vec<(u16, Vec<usize>)> = Vec::new();
            for (key_index, chunk) in words[1..].chunks(step).enumerate() {
                if chunk.len() != step {
                    // MSET with a key and no value: the server's error to give.
                    return Err(Error::protocol(
                        "wrong number of arguments for a key-value command",
                    ));
                }
                let slot = hash_slot(&chunk[0]);
                match groups.iter_mut().find(|(s, _)| *s == slot) {
                    Some((_, keys)) => keys.push(key_index),
                    None => groups.push((slot, vec![key_index])),
                }
            }
            let mut parts: Vec<Part> = Vec::with_capacity(groups.len());
            for (_, keys) in &groups {
                let mut part = cmd(&String::from_utf8_lossy(name));
                for &k in keys {
                    let at = 1 + k * step;
                    part.push_key(&words[at][..]);
                    for value in &words[at + 1..at + step] {
                        part.push_arg(&value[..]);
                    }
                }
                // A read split by slot (MGET, EXISTS) keeps its replica flag:
                // each part goes to a replica of its own slot.
                parts.push(Box::pin(super::send::to_slot(
                    cluster.clone(),
                    part,
                    timeout,
                    read,
                )));
            }
            let replies = join(parts).await;
            let order: Vec<Vec<usize>> = groups.into_iter().map(|(_, keys)| keys).collect();
            combine_replies(combine, replies, &[], Some(&order))
        }
    }
}

/// Starts every part (each queues its command on its first poll), then awaits
/// them in turn.
async fn join(mut parts: Vec<Part>) -> Vec<Result<Value>> {
    let mut early: Vec<Option<Result<Value>>> = Vec::with_capacity(parts.len());
    {
        // The context is not `Send`: it must be gone before the first await.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        for part in &mut parts {
            early.push(match part.as_mut().poll(&mut cx) {
                std::task::Poll::Ready(outcome) => Some(outcome),
                std::task::Poll::Pending => None,
            });
        }
    }
    let mut out = Vec::with_capacity(parts.len());
    for (part, early) in parts.into_iter().zip(early) {
        out.push(match early {
            Some(outcome) => outcome,
            None => part.await,
        });
    }
    out
}

/// One reply from the parts' replies; the first error (or error reply) wins.
fn combine_replies(
    combine: Combine,
    replies: Vec<Result<Value>>,
    names: &[String],
    order: Option<&[Vec<usize>]>,
) -> Result<Value> {
    let mut values = Vec::with_capacity(replies.len());
    for reply in replies {
        let value = reply?;
        if let Some(line) = value.as_error() {
            return Err(Error::Server(ServerError::parse(line)));
        }
        values.push(value);
    }
    match combine {
        Combine::Sum => {
            let mut total = 0i64;
            for value in values {
                match value {
                    Value::Integer(n) => total = total.saturating_add(n),
                    other => return Err(Error::conversion("an integer from every node", &other)),
                }
            }
            Ok(Value::Integer(total))
        }
        Combine::AllOk => Ok(values.into_iter().next().unwrap_or(Value::Nil)),
        Combine::Concat => {
            let mut all = Vec::new();
            for value in values {
                match value {
                    Value::Array(items) | Value::Set(items) => all.extend(items),
                    other => return Err(Error::conversion("an array from every node", &other)),
                }
            }
            Ok(Value::Array(all))
        }
        Combine::PerNode => Ok(Value::Map(
            names
                .iter()
                .map(|n| Value::BulkString(n.clone().into_bytes().into()))
                .zip(values)
                .collect(),
        )),
        Combine::InKeyOrder => {
            let order = order.unwrap_or(&[]);
            let total = order.iter().map(Vec::len).sum();
            let mut out = vec![Value::Nil; total];
            for (value, keys) in values.into_iter().zip(order) {
                let Value::Array(items) = value else {
                    return Err(Error::conversion("an array from every node", &value));
                };
                if items.len() != keys.len() {
                    return Err(Error::protocol(format!(
                        "a node answered {} values for {} keys",
                        items.len(),
                        keys.len()
                    )));
                }
                for (item, &k) in items.into_iter().zip(keys) {
                    if let Some(place) = out.get_mut(k) {
                        *place = item;
                    }
                }
            }
            Ok(Value::Array(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_that_may_spread_are_spread() {
        let mut names: Vec<&[u8]> = SPREAD_NAMES.to_vec();
        names.extend([&b"GET"[..], b"SET", b"PING", b"HSET", b"EVAL", b"CLUSTER"]);
        for name in names {
            let lower = name.to_ascii_lowercase();
            for subcommand in [&b"LOAD"[..], b"k1", b"FLUSH"] {
                let words: Vec<&[u8]> = vec![&lower, subcommand, b"k2", b"k3", b"k4"];
                if spread(&words).is_some() {
                    assert!(may_spread(&lower), "{}", String::from_utf8_lossy(name));
                }
            }
            assert_eq!(
                may_spread(name),
                SPREAD_NAMES.contains(&name),
                "{}",
                String::from_utf8_lossy(name)
            );
        }
        assert!(!may_spread(b"DELX") && !may_spread(b""));
    }
}
