//! testkit: placeholder.
