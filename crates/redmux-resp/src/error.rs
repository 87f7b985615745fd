//! [`DecodeError`]: why a byte stream is not valid RESP.

/// Why the decoder rejected its input. After any of these the stream cannot be
/// trusted and the connection should be dropped.
///
/// "Need more bytes" is not an error: [`crate::Decoder::decode`] returns `Ok(None)`.
///
/// ```
/// use bytes::BytesMut;
/// use redmux_resp::{DecodeError, Decoder};
/// let err = Decoder::new().decode(&mut BytesMut::from(&b"?oops\r\n"[..])).unwrap_err();
/// assert_eq!(err, DecodeError::InvalidType(b'?'));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The first byte of a frame is not a RESP type.
    #[error("protocol error: {0:#04x} is not a RESP type byte; the stream is out of sync")]
    InvalidType(u8),
    /// A length, integer, double, boolean or null that does not parse.
    #[error("protocol error: invalid {what} {text:?}")]
    InvalidNumber {
        /// What was being parsed.
        what: &'static str,
        /// The offending text (cut to 64 bytes).
        text: String,
    },
    /// A bulk string longer than [`crate::Limits::max_bulk_len`].
    /// [`crate::Decoder::decode_frame`] skips such a frame instead, and the stream
    /// stays usable.
    #[error(
        "reply too large: a bulk string of {len} bytes exceeds the limit of {limit} bytes (raise Limits::max_bulk_len to accept it)"
    )]
    BulkTooLarge {
        /// The length the server announced.
        len: u64,
        /// The limit in force.
        limit: usize,
    },
    /// An aggregate with more elements than [`crate::Limits::max_aggregate_len`].
    /// [`crate::Decoder::decode_frame`] skips such a frame instead.
    #[error(
        "reply too large: an aggregate of {len} elements exceeds the limit of {limit} (raise Limits::max_aggregate_len to accept it)"
    )]
    AggregateTooLarge {
        /// The count the server announced.
        len: u64,
        /// The limit in force.
        limit: usize,
    },
    /// Aggregates nested deeper than [`crate::Limits::max_depth`].
    #[error("reply too deep: aggregates nested more than {limit} levels")]
    TooDeep {
        /// The limit in force.
        limit: usize,
    },
    /// A line longer than [`crate::Limits::max_line_len`] without a CRLF.
    #[error("protocol error: a line longer than {limit} bytes without CRLF")]
    LineTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// A line or payload not followed by `\r\n`.
    #[error("protocol error: expected CRLF")]
    MissingCrlf,
    /// Any other violation of the grammar.
    #[error("protocol error: {0}")]
    Malformed(&'static str),
}
