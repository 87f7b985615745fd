//! resp: placeholder.
