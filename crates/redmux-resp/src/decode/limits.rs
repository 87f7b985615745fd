//! [`Limits`]: the bounds a decoder enforces.

/// Bounds on what the decoder accepts, so a hostile or broken peer cannot make it
/// allocate without limit or recurse without end.
///
/// ```
/// use redmux_resp::{Decoder, Limits};
/// let limits = Limits { max_bulk_len: 1024, ..Limits::default() };
/// let decoder = Decoder::with_limits(limits);
/// # let _ = decoder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest bulk string, bulk error or verbatim string, in bytes (default 512 MiB,
    /// the server's own `proto-max-bulk-len`). A streamed string (`$?`) counts whole.
    pub max_bulk_len: usize,
    /// The most elements in one array, set, push, or pairs in one map (default 2^27),
    /// streamed (`*?`) or not.
    pub max_aggregate_len: usize,
    /// The deepest nesting of aggregates (default 128).
    pub max_depth: usize,
    /// The longest simple line (simple string, error, number), in bytes (default 1 MiB).
    pub max_line_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_aggregate_len: 1 << 27,
            max_depth: 128,
            max_line_len: 1024 * 1024,
        }
    }
}
