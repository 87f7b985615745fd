//! The router: which multiplexer a command goes to.
//!
//! A standalone server is a router with one node.
//!
//! Only the router will read MOVED and ASK, and only it picks a node: the client
//! API above it hands it whole commands, the multiplexers below it know no slots.
//! A cluster router (one multiplexer per primary, a slot map) plugs in as another
//! variant of [`Router`]: a command's slot comes from the keys it marked as it was
//! built ([`crate::Command::key`]) or, for a raw [`crate::cmd`], from the server's
//! key specifications, computed once before queueing.

use std::sync::Arc;

use redmux_resp::Value;

use crate::command::{Command, KeySlot};
use crate::keys::KeySpecs;
use crate::mux::Shared;

/// Picks the multiplexer for each command.
#[derive(Debug)]
pub(crate) struct Router {
    nodes: Nodes,
    /// Where raw commands' keys are: the server's own `COMMAND INFO`, fetched
    /// the first time it is needed, or the built-in table if the server refuses.
    specs: tokio::sync::OnceCell<KeySpecs>,
}

/// The multiplexers a router picks from.
#[derive(Debug)]
enum Nodes {
    /// One server: every command goes to its one multiplexer.
    Standalone(Arc<Shared>),
}

impl Router {
    /// A router for one server.
    pub(crate) fn standalone(node: Arc<Shared>) -> Router {
        Router {
            nodes: Nodes::Standalone(node),
            specs: tokio::sync::OnceCell::new(),
        }
    }

    /// The multiplexer a command goes to. A standalone server has one; a cluster
    /// will look at `command`'s slot here.
    #[inline]
    pub(crate) fn node_for(&self, _command: &Command) -> &Arc<Shared> {
        match &self.nodes {
            Nodes::Standalone(node) => node,
        }
    }

    /// The multiplexer for commands that go to no node in particular (PING, a
    /// transaction's UNWATCH, the client's own bookkeeping).
    #[inline]
    pub(crate) fn any_node(&self) -> &Arc<Shared> {
        match &self.nodes {
            Nodes::Standalone(node) => node,
        }
    }

    /// Every multiplexer, for commands that go to all nodes and for closing.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = &Arc<Shared>> {
        match &self.nodes {
            Nodes::Standalone(node) => std::iter::once(node),
        }
    }

    /// The slot a command goes to: its marked keys, else its keys as the server's
    /// key specifications find them. `command_info` asks the server for them
    /// (`COMMAND INFO`); it runs once per router, on first use.
    pub(crate) async fn slot_of<F>(&self, command: &Command, command_info: F) -> KeySlot
    where
        F: Future<Output = Option<Value>>,
    {
        if command.key_count() > 0 {
            return command.slot();
        }
        let specs = self
            .specs
            .get_or_init(|| async {
                match command_info
                    .await
                    .as_ref()
                    .and_then(KeySpecs::from_command_info)
                {
                    Some(specs) => specs,
                    None => {
                        tracing::debug!(
                            "COMMAND INFO unavailable; using the built-in key specifications"
                        );
                        KeySpecs::builtin()
                    }
                }
            })
            .await;
        command.slot_with(specs)
    }
}
