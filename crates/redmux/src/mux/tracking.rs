//! [`Tracking`]: what a connection's client-side cache hears from the multiplexer.
//!
//! The multiplexer knows nothing of caching: it hands RESP3 push frames read on the
//! shared connection to whatever is attached here, says when the connection was
//! lost (invalidations may have been missed), and passes on the router's word that
//! the node lost slots. A client without a cache attaches nothing, and its reader
//! never gets here: RESP2 has no push frames, and the check is made per push, not
//! per reply.

use std::any::Any;
use std::fmt::Debug;

use redmux_resp::Value;

/// The listener attached to one multiplexer (`crate::cache` implements it).
pub(crate) trait Tracking: Any + Send + Sync + Debug {
    /// A RESP3 push frame read on the shared connection (its items).
    fn on_push(&self, items: Vec<Value>);

    /// The connection was lost: the server's tracking state went with it, and
    /// invalidations in flight may never come.
    fn on_disconnect(&self);

    /// The node no longer serves some slots (a cluster's map moved them): a slot
    /// moved without MIGRATE sends no invalidation.
    fn on_slots_lost(&self);
}
