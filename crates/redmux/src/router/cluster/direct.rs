//! The fast path: a command whose keys share one slot goes straight to that
//! slot's primary, queued as a standalone server's command is, with no future
//! of its own and no copy of its bytes.
//!
//! Following MOVED, ASK, TRYAGAIN, CLUSTERDOWN or a failover needs the command
//! again, and a loop (`send.rs`) that outlives the first reply. Rather than box
//! that loop and copy the command for every command in case one is refused, the
//! command is sent with [`Shared::send_kept`]: once written (or failed unsent),
//! its encoded bytes go back to its future instead of to the buffer pool. Its
//! reply, if a redirect (or an error that says it was never written), hands
//! those bytes to the loop, boxed then ([`super::resume`]); any other reply is
//! its caller's, as on a standalone server.
//!
//! Anything else takes the cluster layer's own path from the start, as before:
//! commands spread over several nodes, keyless and cross-slot ones, replica
//! reads, large commands (their parts are not kept whole), and clients with
//! tracing or a client-side cache (whose own-write drop wraps the trip).

use std::sync::Arc;

use super::Cluster;
use super::fanout;
use crate::command::{Command, KeySlot};
use crate::mux::Shared;
use crate::request::Flags;

/// Commands this large or larger take the cluster layer's own path: one with a
/// large argument kept by reference (`redmux_resp::SHARED_ARG_MIN`, 64 KiB) is
/// not one buffer that could be kept, and a copy costs little beside its write.
const DIRECT_MAX: usize = 32 * 1024;

impl Cluster {
    /// Where `command`, flagged `flags`, goes straight away, with its slot: its
    /// slot's primary as the map has it now. `None` when the cluster layer must
    /// carry it itself (see the module's doc).
    #[inline]
    pub(crate) fn direct(&self, command: &Command, flags: Flags) -> Option<(Arc<Shared>, u16)> {
        if flags != Flags::NONE
            || self.config.tracing
            || self.config.client_cache.is_some()
            || command.encoded_len() >= DIRECT_MAX
            || fanout::may_spread(command.name_bytes())
        {
            return None;
        }
        let KeySlot::One(slot) = command.slot_with(&self.specs) else {
            return None;
        };
        // The map's primary straight away: `pick`'s replica choices are for
        // flagged reads, which never come here.
        self.node_for(Some(slot)).map(|node| (node, slot))
    }

    /// The cluster `node` was connected for, while its client lives.
    pub(crate) fn owning(node: &Shared) -> Option<Arc<Cluster>> {
        node.owner()?.downcast::<Cluster>().ok()
    }
}
