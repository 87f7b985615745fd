//! redmux integration tests: see the files in `tests/tests/`, one per area.
