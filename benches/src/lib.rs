//! Benchmark support for redmux: see `benches/` (criterion) and `src/bin/` (the comparison).
