//! The transport: one socket, TCP, Unix or TLS over TCP, split into a read half and
//! a write half.
//!
//! The write half is shaped for the two callers that share it (the writer task and a
//! lone caller on the fast path, never at once: the queue's write ownership decides)
//! and for TLS (`tls.rs`), whose records rustls holds until the socket takes them.
//! Its primitives are "take these bytes now if you
//! can" ([`WriteHalf::try_write`], [`WriteHalf::try_write_vectored`]), "wait until
//! you can take more" ([`WriteHalf::writable`]) and "do you still hold bytes you took
//! but have not put on the wire" ([`WriteHalf::has_buffered`]); the write-everything
//! loops are built on those alone, so a variant that implements the four gets the
//! fast path, the batched writes and the large-value path unchanged. See the
//! connection module's doc for how TLS fills them in.

use std::io;
use std::sync::Arc;

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::{TcpStream, UnixStream, tcp, unix};

use super::tls::{self, Session, TlsReader};
use crate::config::Addr;

/// Opens the socket for `addr`, tuned for request/response traffic, and runs the
/// TLS handshake on it when `tls` is given.
pub(crate) async fn open(
    addr: &Addr,
    tls: Option<tls::Setup>,
) -> io::Result<(ReadHalf, WriteHalf)> {
    match addr {
        Addr::Tcp { host, port } => {
            let stream = TcpStream::connect((host.as_str(), *port)).await?;
            // Commands must not wait for Nagle: the writer already batches.
            stream.set_nodelay(true)?;
            let keepalive = socket2::TcpKeepalive::new()
                .with_time(std::time::Duration::from_secs(60))
                .with_interval(std::time::Duration::from_secs(10));
            socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive)?;
            if let Some(setup) = tls {
                let (r, w) = tls::handshake(stream, setup).await?;
                return Ok((ReadHalf::Tls(r), WriteHalf::Tls(w)));
            }
            let (r, w) = stream.into_split();
            Ok((ReadHalf::Tcp(r), WriteHalf::Tcp(w)))
        }
        Addr::Unix(path) if tls.is_some() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "TLS over a Unix socket ({}) is not supported",
                path.display()
            ),
        )),
        Addr::Unix(path) => {
            let (r, w) = UnixStream::connect(path).await?.into_split();
            Ok((ReadHalf::Unix(r), WriteHalf::Unix(w)))
        }
    }
}

/// The read half of a TCP, Unix or TLS connection.
#[derive(Debug)]
pub(crate) enum ReadHalf {
    Tcp(tcp::OwnedReadHalf),
    Unix(unix::OwnedReadHalf),
    Tls(TlsReader),
}

/// Reads through tokio's `AsyncRead`, so a read is one future (`read_buf`) whose
/// every poll is one `match` here: an `async fn` choosing between two inner
/// futures cost a state machine more per poll (callgrind: about 25 instructions a
/// command for a lone caller). The TLS arm decrypts in its own `poll_read`.
impl AsyncRead for ReadHalf {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Tcp(r) => Pin::new(r).poll_read(cx, buf),
            ReadHalf::Unix(r) => Pin::new(r).poll_read(cx, buf),
            ReadHalf::Tls(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl ReadHalf {
    /// Registers `cx` to be woken when the socket has bytes to read, or says it has
    /// them now; `None` for TLS, whose session may hold decrypted bytes the socket no
    /// longer signals (see `mux/reader.rs`: only a plain socket is read by a lone
    /// caller, which hands the socket's wakeup back to the reader task this way).
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Option<Poll<io::Result<()>>> {
        match self {
            ReadHalf::Tcp(r) => Some(r.as_ref().poll_read_ready(cx)),
            ReadHalf::Unix(r) => Some(r.as_ref().poll_read_ready(cx)),
            ReadHalf::Tls(_) => None,
        }
    }
}

/// The write half of a TCP, Unix or TLS connection. Every method takes `&self`, so
/// the writer task and a fast-path caller can hold one socket (see the module doc).
#[derive(Debug)]
pub(crate) enum WriteHalf {
    Tcp(tcp::OwnedWriteHalf),
    Unix(unix::OwnedWriteHalf),
    /// Shared with the read half, which feeds the same session.
    Tls(Arc<Session>),
}

impl WriteHalf {
    /// Takes what it can of `buf` now, without waiting; `WouldBlock` when nothing.
    #[inline]
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(w) => w.try_write(buf),
            WriteHalf::Unix(w) => w.try_write(buf),
            WriteHalf::Tls(s) => s.try_write(buf),
        }
    }

    /// [`WriteHalf::try_write`] for several buffers in order, in one syscall.
    #[inline]
    pub(crate) fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(w) => w.try_write_vectored(bufs),
            WriteHalf::Unix(w) => w.try_write_vectored(bufs),
            WriteHalf::Tls(s) => s.try_write_vectored(bufs),
        }
    }

    /// Waits until a `try_write` may take bytes again. (TLS first puts the bytes it
    /// already took on the wire.)
    pub(crate) async fn writable(&self) -> io::Result<()> {
        match self {
            WriteHalf::Tcp(w) => w.writable().await,
            WriteHalf::Unix(w) => w.writable().await,
            WriteHalf::Tls(s) => s.writable().await,
        }
    }

    /// Whether bytes a `try_write` took are still held here rather than on the wire:
    /// never for a plain socket, which takes bytes only by writing them. TLS holds
    /// the ciphertext the socket did not take; whoever wrote last must then finish
    /// with [`WriteHalf::flush`], as the fast path does by leaving the writer an
    /// empty rest.
    #[inline]
    pub(crate) fn has_buffered(&self) -> bool {
        match self {
            WriteHalf::Tcp(_) | WriteHalf::Unix(_) => false,
            WriteHalf::Tls(s) => s.has_buffered(),
        }
    }

    /// Waits until nothing taken is held back ([`WriteHalf::has_buffered`]).
    pub(crate) async fn flush(&self) -> io::Result<()> {
        while self.has_buffered() {
            self.writable().await?;
        }
        Ok(())
    }

    /// Writes all of `buf`.
    pub(crate) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.try_write(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable().await?,
                Err(e) => return Err(e),
            }
        }
        self.flush().await
    }

    /// Writes every buffer of `bufs` in order, several per syscall (`writev`), never
    /// copying them: a large value goes from its own buffer. Returns the syscall
    /// count.
    pub(crate) async fn write_all_vectored(&self, bufs: &[&[u8]]) -> io::Result<u64> {
        // Position: the buffer, and how much of it is written.
        let (mut index, mut offset) = (0, 0);
        let mut syscalls = 0;
        loop {
            while bufs.get(index).is_some_and(|b| offset >= b.len()) {
                index += 1;
                offset = 0;
            }
            let Some(first) = bufs.get(index) else {
                self.flush().await?;
                return Ok(syscalls);
            };
            let mut slices = [io::IoSlice::new(&[]); 8];
            slices[0] = io::IoSlice::new(&first[offset..]);
            let mut count = 1;
            for (slice, buf) in slices[1..].iter_mut().zip(&bufs[index + 1..]) {
                *slice = io::IoSlice::new(buf);
                count += 1;
            }
            match self.try_write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(mut n) => {
                    syscalls += 1;
                    // Advance across the buffers the write covered.
                    while n > 0 {
                        let left = bufs.get(index).map_or(0, |b| b.len() - offset);
                        if n < left {
                            offset += n;
                            n = 0;
                        } else {
                            n -= left;
                            index += 1;
                            offset = 0;
                        }
                        if index >= bufs.len() {
                            break;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable().await?,
                Err(e) => return Err(e),
            }
        }
    }
}
