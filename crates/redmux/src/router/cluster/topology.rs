//! A cluster's slot map as `CLUSTER SLOTS` describes it, read and checked.
//!
//! `CLUSTER SLOTS` answers one entry per slot range: `[start, end, primary,
//! replica ...]`, each node as `[host, port, id, ...]`. `CLUSTER SHARDS` is not used:
//! it returned empty slots after a primary failed on some versions (redis#13414,
//! valkey#784).

use redmux_resp::Value;

use crate::keys::SLOTS;

/// One node as the map names it: `host:port`.
pub(crate) type NodeAddr = (String, u16);

/// The slot map one node reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Topology {
    /// Each slot range with its primary and replicas.
    pub(crate) ranges: Vec<SlotRange>,
}

/// A range of slots and who serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotRange {
    pub(crate) start: u16,
    pub(crate) end: u16,
    pub(crate) primary: NodeAddr,
    pub(crate) replicas: Vec<NodeAddr>,
}

impl Topology {
    /// Reads a `CLUSTER SLOTS` reply from the node at `asked`: an empty host means
    /// that node itself (a node that never met another reports no IP), and a range
    /// whose primary is `?` (a node the answering one does not know yet) is left
    /// out, so its slots count as uncovered. `None` for a reply that is no slot map.
    pub(crate) fn from_cluster_slots(reply: &Value, asked: &NodeAddr) -> Option<Topology> {
        let Value::Array(entries) = reply else {
            return None;
        };
        let mut ranges = Vec::with_capacity(entries.len());
        for entry in entries {
            let Value::Array(fields) = entry else {
                return None;
            };
            let (Some(start), Some(end)) = (
                fields.first().and_then(slot_number),
                fields.get(1).and_then(slot_number),
            ) else {
                return None;
            };
            if start > end {
                return None;
            }
            let mut nodes = fields[2..].iter().filter_map(|n| node(n, asked));
            let Some(primary) = nodes.next() else {
                continue;
            };
            ranges.push(SlotRange {
                start,
                end,
                primary,
                replicas: nodes.collect(),
            });
        }
        ranges.sort_by_key(|r| r.start);
        Some(Topology { ranges })
    }

    /// How many of the 16,384 slots have an owner.
    pub(crate) fn covered(&self) -> usize {
        let mut owned = vec![false; usize::from(SLOTS)];
        for range in &self.ranges {
            for slot in range.start..=range.end {
                owned[usize::from(slot)] = true;
            }
        }
        owned.iter().filter(|o| **o).count()
    }

    /// Whether every slot has an owner: a map to trust on its own.
    pub(crate) fn is_complete(&self) -> bool {
        self.covered() == usize::from(SLOTS)
    }

    /// The primaries, each once, in slot order.
    pub(crate) fn primaries(&self) -> Vec<NodeAddr> {
        let mut out: Vec<NodeAddr> = Vec::new();
        for range in &self.ranges {
            if !out.contains(&range.primary) {
                out.push(range.primary.clone());
            }
        }
        out
    }
}

/// The hostnames nodes announce (`cluster-announce-hostname`), from the metadata
/// that ends each node's entry in a `CLUSTER SLOTS` reply (a map over RESP3, a flat
/// list of names and values over RESP2): what a TLS connection to that node checks
/// its certificate against when the map's endpoint is an IP address.
pub(crate) fn announced_hostnames(reply: &Value, asked: &NodeAddr) -> Vec<(NodeAddr, String)> {
    let Value::Array(entries) = reply else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries {
        let Value::Array(fields) = entry else {
            continue;
        };
        for value in fields.iter().skip(2) {
            let (Some(addr), Value::Array(parts)) = (node(value, asked), value) else {
                continue;
            };
            let pairs: Vec<(&Value, &Value)> = match parts.get(3) {
                Some(Value::Map(pairs)) => pairs.iter().map(|(k, v)| (k, v)).collect(),
                Some(Value::Array(flat)) => flat.chunks_exact(2).map(|p| (&p[0], &p[1])).collect(),
                _ => continue,
            };
            let hostname = pairs.into_iter().find_map(|(k, v)| match (k, v) {
                (Value::BulkString(k), Value::BulkString(v)) if &k[..] == b"hostname" => {
                    Some(String::from_utf8_lossy(v).into_owned())
                }
                _ => None,
            });
            if let Some(name) = hostname.filter(|n| !n.is_empty() && *n != addr.0)
                && !out.iter().any(|(a, _)| *a == addr)
            {
                out.push((addr, name));
            }
        }
    }
    out
}

fn slot_number(value: &Value) -> Option<u16> {
    match value {
        Value::Integer(n) => u16::try_from(*n).ok().filter(|s| *s < SLOTS),
        _ => None,
    }
}

/// `[host, port, id, ...]`; an empty host is the node we asked; `?` is unknown.
fn node(value: &Value, asked: &NodeAddr) -> Option<NodeAddr> {
    let Value::Array(fields) = value else {
        return None;
    };
    let host = match fields.first()? {
        Value::BulkString(b) | Value::SimpleString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Nil => String::new(),
        _ => return None,
    };
    let port = match fields.get(1)? {
        Value::Integer(p) => u16::try_from(*p).ok()?,
        _ => return None,
    };
    match host.as_str() {
        "?" => None,
        "" => Some((asked.0.clone(), port)),
        _ => Some((host, port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node_value(host: &str, port: i64) -> Value {
        Value::Array(vec![
            Value::BulkString(host.as_bytes().to_vec().into()),
            Value::Integer(port),
            Value::BulkString("id".into()),
        ])
    }

    fn range(start: i64, end: i64, nodes: Vec<Value>) -> Value {
        let mut fields = vec![Value::Integer(start), Value::Integer(end)];
        fields.extend(nodes);
        Value::Array(fields)
    }

    #[test]
    fn reads_a_complete_map() {
        let asked = ("10.0.0.1".to_string(), 7000);
        let reply = Value::Array(vec![
            range(
                8192,
                16383,
                vec![node_value("h2", 7001), node_value("h3", 7004)],
            ),
            range(0, 8191, vec![node_value("", 7000)]),
        ]);
        let map = Topology::from_cluster_slots(&reply, &asked).unwrap();
        assert!(map.is_complete());
        assert_eq!(map.ranges[0].primary, asked, "empty host is the node asked");
        assert_eq!(map.ranges[1].replicas, vec![("h3".to_string(), 7004)]);
        assert_eq!(map.primaries().len(), 2);
    }

    #[test]
    fn unknown_primaries_and_bad_replies() {
        let asked = ("h".to_string(), 1);
        let reply = Value::Array(vec![range(0, 100, vec![node_value("?", 7000)])]);
        let map = Topology::from_cluster_slots(&reply, &asked).unwrap();
        assert_eq!(map.covered(), 0);
        assert!(Topology::from_cluster_slots(&Value::Integer(1), &asked).is_none());
        let backwards = Value::Array(vec![range(10, 5, vec![node_value("h", 1)])]);
        assert!(Topology::from_cluster_slots(&backwards, &asked).is_none());
        let past_end = Value::Array(vec![range(0, 16384, vec![node_value("h", 1)])]);
        assert!(Topology::from_cluster_slots(&past_end, &asked).is_none());
    }

    #[test]
    fn announced_hostnames_are_read_from_both_protocols_metadata() {
        let asked = ("10.0.0.1".to_string(), 7000);
        let with_meta = |host: &str, port: i64, meta: Value| {
            Value::Array(vec![
                Value::BulkString(host.as_bytes().to_vec().into()),
                Value::Integer(port),
                Value::BulkString("id".into()),
                meta,
            ])
        };
        let name = |n: &str| Value::BulkString(n.as_bytes().to_vec().into());
        let reply = Value::Array(vec![
            range(
                0,
                8191,
                vec![with_meta(
                    "10.0.0.1",
                    7000,
                    Value::Array(vec![name("hostname"), name("a.internal")]),
                )],
            ),
            range(
                8192,
                16383,
                vec![
                    with_meta(
                        "10.0.0.2",
                        7001,
                        Value::Map(vec![(name("hostname"), name("b.internal"))]),
                    ),
                    // No metadata, an empty map, a hostname equal to the host.
                    node_value("10.0.0.3", 7002),
                    with_meta("10.0.0.4", 7003, Value::Map(vec![])),
                    with_meta(
                        "10.0.0.5",
                        7004,
                        Value::Map(vec![(name("hostname"), name("10.0.0.5"))]),
                    ),
                ],
            ),
        ]);
        assert_eq!(
            announced_hostnames(&reply, &asked),
            vec![
                (("10.0.0.1".to_string(), 7000), "a.internal".to_string()),
                (("10.0.0.2".to_string(), 7001), "b.internal".to_string()),
            ]
        );
    }
}
