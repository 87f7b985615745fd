//! Benchmark support for redmux.
//!
//! - `benches/codec.rs`: criterion micro-benchmarks of the codec, no I/O.
//! - [`compare`]: the side-by-side comparison of redmux, redis-rs and fred against one
//!   server in one run; `src/bin/compare.rs` is its command line and
//!   `tests/compare_smoke.rs` runs it in miniature.
//! - [`support`]: helpers for the standalone measurements in `src/bin/`: `alloc`
//!   (client heap per command in flight), `large_values` (head-of-line blocking),
//!   `profile_load` (the fixed workload `scripts/callgrind` counts instructions of) and
//!   `plot` (`docs/throughput.svg` from the comparison's JSON).

pub mod compare;
pub mod support;
