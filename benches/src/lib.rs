//! Benchmark support for redmux.
//!
//! - `benches/codec.rs`: criterion micro-benchmarks of the codec, no I/O.
//! - [`compare`]: the side-by-side comparison of redmux, redis-rs and fred against one
//!   server in one run; `src/bin/compare.rs` is its command line and
//!   `tests/compare_smoke.rs` runs it in miniature.

pub mod compare;
