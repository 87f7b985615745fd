//! What one node believes about the cluster (`CLUSTER NODES`, parsed into a [`View`]),
//! and the [`Topology`] every node agreed on. Pure data: no sockets here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::slot::SLOTS;

/// One node as another node sees it. Only what must be the same on every node is kept:
/// not ping times, link state or epochs, which differ from node to node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) primary: bool,
    /// The id of its primary, for a replica.
    pub(crate) primary_id: Option<String>,
    /// Flagged `fail` (a majority agreed). `fail?` is one node's suspicion, which comes
    /// and goes on a loaded machine, so it does not count.
    pub(crate) failed: bool,
    /// Owned slot ranges, in order. Importing/migrating markers are left out: only the
    /// node that holds them prints them.
    pub(crate) slots: Vec<(u16, u16)>,
}

/// A node's whole `CLUSTER NODES` answer, by node id.
pub(crate) type View = BTreeMap<String, Entry>;

/// Parses a `CLUSTER NODES` reply:
/// `<id> <ip:port@cport> <flags> <primary|-> <ping> <pong> <epoch> <link> <slot>...`.
pub(crate) fn parse_nodes(text: &str) -> Result<View, String> {
    let mut view = View::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 8 {
            return Err(format!("a short CLUSTER NODES line: {line:?}"));
        }
        let flags: Vec<&str> = fields[2].split(',').collect();
        if flags.contains(&"handshake") {
            // A node met but not yet known by its real id: not a settled view.
            return Err(format!("a node still in handshake: {line:?}"));
        }
        let mut slots = Vec::new();
        for word in &fields[8..] {
            if word.starts_with('[') {
                continue;
            }
            slots.push(parse_range(word).ok_or_else(|| format!("a bad slot {word:?}"))?);
        }
        slots.sort_unstable();
        let entry = Entry {
            primary: flags.contains(&"master"),
            primary_id: (fields[3] != "-").then(|| fields[3].to_owned()),
            failed: flags.contains(&"fail"),
            slots,
        };
        view.insert(fields[0].to_owned(), entry);
    }
    Ok(view)
}

fn parse_range(word: &str) -> Option<(u16, u16)> {
    let (first, last) = word.split_once('-').unwrap_or((word, word));
    let (first, last) = (first.parse().ok()?, last.parse().ok()?);
    (first <= last && last < SLOTS).then_some((first, last))
}

/// Where two views differ, for an error message.
pub(crate) fn difference(a: &View, b: &View) -> String {
    for (id, entry) in a {
        match b.get(id) {
            Some(other) if other == entry => {}
            Some(other) => return format!("{id}: {entry:?} vs {other:?}"),
            None => return format!("{id} missing on one side"),
        }
    }
    match b.keys().find(|id| !a.contains_key(*id)) {
        Some(id) => format!("{id} missing on one side"),
        None => "no difference".to_owned(),
    }
}

/// A node's role in the cluster.
///
/// # Example
///
/// ```no_run
/// let cluster = redmux_testkit::RedisCluster::shared()?;
/// assert_eq!(cluster.role(0), redmux_testkit::Role::Primary);
/// # Ok::<(), redmux_testkit::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Owns slots (or could); `master` on the wire.
    Primary,
    /// Copies a primary; `slave` on the wire.
    Replica,
}

/// One node in the agreed topology, by the kit's node index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeState {
    pub(crate) role: Role,
    pub(crate) primary: Option<usize>,
    pub(crate) failed: bool,
    pub(crate) slots: Vec<(u16, u16)>,
}

/// The map every live node agreed on, indexed like the cluster's nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Topology {
    pub(crate) nodes: Vec<NodeState>,
}

impl Topology {
    /// Turns a view into a topology, if it names exactly the kit's nodes.
    pub(crate) fn from_view(view: &View, ids: &[&str]) -> Result<Topology, String> {
        if view.len() != ids.len() {
            return Err(format!(
                "a view of {} nodes, the cluster has {}",
                view.len(),
                ids.len()
            ));
        }
        let index_of = |id: &str| ids.iter().position(|known| *known == id);
        let mut nodes = Vec::with_capacity(ids.len());
        for id in ids {
            let entry = view
                .get(*id)
                .ok_or_else(|| format!("node {id} is unknown"))?;
            let primary = match &entry.primary_id {
                Some(primary_id) => Some(
                    index_of(primary_id)
                        .ok_or_else(|| format!("a primary {primary_id} that is not ours"))?,
                ),
                None => None,
            };
            nodes.push(NodeState {
                role: if entry.primary {
                    Role::Primary
                } else {
                    Role::Replica
                },
                primary,
                failed: entry.failed,
                slots: entry.slots.clone(),
            });
        }
        Ok(Topology { nodes })
    }

    /// The node owning `slot`, if any.
    pub(crate) fn owner(&self, slot: u16) -> Option<usize> {
        self.nodes.iter().position(|node| {
            node.slots
                .iter()
                .any(|&(first, last)| (first..=last).contains(&slot))
        })
    }

    /// True when every slot is owned by a node that is not failed.
    pub(crate) fn covered_by_live_nodes(&self) -> bool {
        let mut owned: Vec<(u16, u16)> = self
            .nodes
            .iter()
            .filter(|node| !node.failed)
            .flat_map(|node| node.slots.iter().copied())
            .collect();
        owned.sort_unstable();
        let mut next: u32 = 0;
        for (first, last) in owned {
            if u32::from(first) > next {
                return false;
            }
            next = next.max(u32::from(last) + 1);
        }
        next == u32::from(SLOTS)
    }

    /// The replicas of `primary`, in index order.
    pub(crate) fn replicas_of(&self, primary: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| {
                self.nodes[i].role == Role::Replica && self.nodes[i].primary == Some(primary)
            })
            .collect()
    }

    /// One line per node, for error messages and `Debug` output.
    pub(crate) fn describe(&self) -> String {
        let mut out = String::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let _ = write!(out, "\n  node {i}: {:?}", node.role);
            if let Some(primary) = node.primary {
                let _ = write!(out, " of node {primary}");
            }
            if node.failed {
                out.push_str(" (failed)");
            }
            for (first, last) in &node.slots {
                let _ = write!(out, " {first}-{last}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: &str = "\
aaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460 [5461->-bbb]
bbb 127.0.0.1:7001@17001 master - 0 1 2 connected 5461-16383
ccc 127.0.0.1:7002@17002 slave,fail? aaa 0 1 1 connected
ddd :7003@17003 master,fail - 0 1 3 disconnected 9
";

    #[test]
    fn parses_roles_flags_and_slots() {
        let view = parse_nodes(NODES).unwrap_or_default();
        assert_eq!(view.len(), 4);
        assert_eq!(view["aaa"].slots, vec![(0, 5460)]);
        assert!(view["aaa"].primary && !view["aaa"].failed);
        assert_eq!(view["ccc"].primary_id.as_deref(), Some("aaa"));
        assert!(!view["ccc"].failed, "fail? is only a suspicion");
        assert!(view["ddd"].failed);
        assert_eq!(view["ddd"].slots, vec![(9, 9)]);
    }

    #[test]
    fn refuses_handshakes_and_bad_slots() {
        assert!(parse_nodes("x 1:2@3 handshake - 0 0 0 connected").is_err());
        assert!(parse_nodes("x 1:2@3 master - 0 0 0 connected 9-3").is_err());
        assert!(parse_nodes("x 1:2@3 master - 0 0 0 connected 16384").is_err());
    }

    #[test]
    fn topology_indexes_nodes_and_finds_owners() {
        let view = parse_nodes(NODES).unwrap_or_default();
        let topology = Topology::from_view(&view, &["aaa", "bbb", "ccc", "ddd"]);
        let topology = topology.unwrap_or_default();
        assert_eq!(topology.owner(0), Some(0));
        assert_eq!(topology.owner(9), Some(0));
        assert_eq!(topology.owner(16383), Some(1));
        assert_eq!(topology.replicas_of(0), vec![2]);
        assert!(topology.covered_by_live_nodes());
        assert!(Topology::from_view(&view, &["aaa", "bbb", "ccc", "eee"]).is_err());
    }

    #[test]
    fn coverage_needs_every_slot_on_a_live_node() {
        let view = parse_nodes("a 1:1@2 master - 0 0 1 connected 0-100").unwrap_or_default();
        let topology = Topology::from_view(&view, &["a"]).unwrap_or_default();
        assert!(!topology.covered_by_live_nodes());
    }

    #[test]
    fn difference_names_the_node() {
        let a = parse_nodes(NODES).unwrap_or_default();
        let mut b = a.clone();
        if let Some(entry) = b.get_mut("bbb") {
            entry.slots.clear();
        }
        assert!(difference(&a, &b).starts_with("bbb"));
        assert_eq!(difference(&a, &a), "no difference");
    }
}
