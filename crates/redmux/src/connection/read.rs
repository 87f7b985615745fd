//! [`FrameReader`]: the one read loop. It owns a connection's read half, its decoder
//! and its buffer, and offers the two steps every reader repeats: decode what is
//! buffered, and read more. What a decoded frame *means* (a reply, a push to set
//! aside, a pub/sub message) is the caller's to say, in one place of its own: the
//! multiplexer's reader decodes every whole reply of a read and completes them in
//! one batch, the subscriber hands frames to its registry, and the handshake and the
//! dedicated connection wait for one reply at a time ([`FrameReader::next_reply`]).

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use redmux_resp::{DecodeError, Decoded, Decoder, Limits, TooLarge, Value};
use tokio::io::AsyncReadExt;

use super::transport::ReadHalf;
use crate::error::{CommandStatus, Error};

/// Read at least this much at a time: one syscall drains many replies.
const READ_CHUNK: usize = 64 * 1024;

/// A connection's read side: socket, decoder and buffer.
#[derive(Debug)]
pub(crate) struct FrameReader {
    io: ReadHalf,
    decoder: Decoder,
    buf: BytesMut,
}

/// Why a connection can be read no more.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The server closed the connection.
    Closed,
    /// The socket failed.
    Io(io::Error),
    /// The bytes are not RESP, or break a limit: the stream cannot be trusted.
    Decode(DecodeError),
}

impl ReadError {
    /// The error for whoever was waiting on the connection: lost (their commands
    /// were sent and may have run) or, for bad bytes, a protocol error.
    pub(crate) fn into_error(self) -> Error {
        match self {
            ReadError::Closed => Error::ConnectionLost {
                status: CommandStatus::Sent,
                reason: "the server closed the connection".into(),
            },
            ReadError::Io(e) => Error::ConnectionLost {
                status: CommandStatus::Sent,
                reason: format!("read failed: {e}").into(),
            },
            ReadError::Decode(e) => Error::protocol(format!("{e}; the connection is dropped")),
        }
    }

    /// [`ReadError::into_error`]'s reason alone.
    pub(crate) fn reason(self) -> Arc<str> {
        match self.into_error() {
            Error::ConnectionLost { reason, .. } | Error::Protocol(reason) => reason,
            other => other.to_string().into(),
        }
    }
}

impl FrameReader {
    pub(crate) fn new(io: ReadHalf, limits: Limits) -> Self {
        FrameReader {
            io,
            decoder: Decoder::with_limits(limits),
            buf: BytesMut::with_capacity(4096),
        }
    }

    /// Decodes the next whole frame in the buffer, if there is one. `Ok(None)`:
    /// read more. A frame over the decoder's limits is skipped whole and reported
    /// as [`Decoded::TooLarge`]: the stream stays in step.
    #[inline]
    pub(crate) fn decode(&mut self) -> Result<Option<Decoded>, DecodeError> {
        self.decoder.decode_frame(&mut self.buf)
    }

    /// Reads more bytes into the buffer (at least one: end of stream is
    /// [`ReadError::Closed`]); returns how many. Cancel-safe.
    pub(crate) async fn read_more(&mut self) -> Result<usize, ReadError> {
        std::future::poll_fn(|cx| self.poll_read_more(cx)).await
    }

    /// [`read_more`](Self::read_more) as a poll, for a reader shared between tasks
    /// (`mux/reader.rs`): `cx` is woken when there is more to read.
    #[inline]
    pub(crate) fn poll_read_more(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<usize, ReadError>> {
        // Room for a large read, reserved only when little is left: `reserve` on a
        // buffer whose earlier frames are all split off and dropped reuses it.
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
            self.buf.reserve(READ_CHUNK);
        }
        // tokio's `read_buf` future holds nothing between polls but the two
        // references: made anew on each poll, it is the same read.
        let read = self.io.read_buf(&mut self.buf);
        match std::pin::pin!(read).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0)) => Poll::Ready(Err(ReadError::Closed)),
            Poll::Ready(Ok(n)) => Poll::Ready(Ok(n)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(ReadError::Io(e))),
        }
    }

    /// Registers `cx` to be woken when the socket has more to read (`Ready` if it
    /// has now); `None` when the transport cannot say (TLS).
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Option<Poll<io::Result<()>>> {
        self.io.poll_read_ready(cx)
    }

    /// Whether bytes are buffered that [`decode`](Self::decode) has not taken: a
    /// partial frame, or whole ones still to decode.
    #[inline]
    pub(crate) fn has_buffered(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Whether [`poll_read_ready`](Self::poll_read_ready) can say.
    pub(crate) fn signals_readiness(&self) -> bool {
        !matches!(self.io, ReadHalf::Tls(_))
    }

    /// The next frame that is not a RESP3 push, reading as much as it takes; each
    /// push met on the way goes to `on_push` (one over the limits is dropped). A
    /// reply over the limits is `Err(TooLarge)`: skipped, the connection still in
    /// step. For connections with one command in flight at a time.
    pub(crate) async fn next_reply(
        &mut self,
        mut on_push: impl FnMut(Vec<Value>),
    ) -> Result<Result<Value, TooLarge>, ReadError> {
        loop {
            match self.decode() {
                Ok(Some(Decoded::Frame(Value::Push(items)))) => on_push(items),
                Ok(Some(Decoded::Frame(reply))) => return Ok(Ok(reply)),
                Ok(Some(Decoded::TooLarge(t))) if t.push => {
                    tracing::warn!(
                        len = t.len,
                        limit = t.limit,
                        "push frame over the limits dropped"
                    );
                }
                Ok(Some(Decoded::TooLarge(t))) => return Ok(Err(t)),
                Ok(None) => {
                    self.read_more().await?;
                }
                Err(e) => return Err(ReadError::Decode(e)),
            }
        }
    }
}
