//! Keys on a cluster: the hash slot a key lives in, and where a command's keys are
//! among its arguments. Pure functions and tables, with no I/O: [`crate::Command`]
//! uses them to find its slot, the router to pick a node.
//!
//! | file | owns |
//! |---|---|
//! | `slot.rs` | [`hash_slot`]: CRC16 of a key or its `{hash tag}`, modulo 16,384 |
//! | `key_specs.rs` | where a command's keys are, for commands built with [`crate::cmd`] whose keys were not marked; which commands only read |
//! | `readonly.rs` | the built-in list of read-only commands (replica reads' fallback) |

mod key_specs;
mod readonly;
mod slot;

pub(crate) use key_specs::{KeyPositions, KeySpecs};
pub use slot::{SLOTS, hash_slot};
