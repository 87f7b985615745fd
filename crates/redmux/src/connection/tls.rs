//! The TLS arm of the transport: rustls's sans-I/O `ClientConnection` between the
//! socket and the read and write halves, with no stream wrapper.
//!
//! A [`Session`] holds the state machine in a mutex, and the socket's write half;
//! the write arm is an `Arc` of it, and the read arm ([`TlsReader`]) holds another
//! along with the socket's read half. The write primitives keep the plaintext
//! transport's shape (see `transport.rs`): `try_write` encrypts what it is handed
//! into rustls's outgoing buffer and writes that buffer with the socket's own
//! non-blocking `try_write`, all under the mutex and without waiting, so the
//! lone-caller fast path still writes from the caller's thread through `&self`.
//! Ciphertext the socket does not take stays in rustls: `has_buffered` says so, and
//! `writable` puts it on the wire before anything else is taken.
//!
//! Reading never holds the lock across a syscall: ciphertext is read into the read
//! arm's own buffer, then, under the lock, fed to rustls, decrypted, and copied onto
//! the end of the frame reader's buffer. The lock is held for the crypto of one read
//! (at most `CIPHER_CHUNK`) or one write (at most `BUFFER_LIMIT` of records),
//! never across an await.
//!
//! `failure.rs` names the cause of a failed handshake or session.

mod failure;

use std::io::{self, BufRead, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use parking_lot::Mutex;
use rustls::ClientConnection;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::{TcpStream, tcp};

use crate::config::tls::{BUFFER_LIMIT, Verify};
use crate::config::{Addr, TlsConfig};
use crate::error::{Error, Result};

/// Ciphertext read per syscall: many records, and many replies, per read.
const CIPHER_CHUNK: usize = 64 * 1024;

/// One TLS session: the state machine and the socket it writes to. Everything that
/// writes to the socket does so under the lock, so records leave in order whoever
/// (writer, fast-path caller, or the reader answering the server) sends them.
pub(crate) struct Session {
    tls: Mutex<ClientConnection>,
    socket: tcp::OwnedWriteHalf,
}

/// The read arm: the socket's read half, a buffer for ciphertext, and the session.
pub(crate) struct TlsReader {
    socket: tcp::OwnedReadHalf,
    session: Arc<Session>,
    cipher: Box<[u8]>,
    /// Plaintext that came in with the end of the handshake (none from a Redis
    /// server, which speaks only when spoken to), handed out by the first read.
    early: BytesMut,
}

/// What one handshake needs: the rustls configuration and the name to check.
#[derive(Debug)]
pub(super) struct Setup {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl Setup {
    /// The configuration (built once per [`TlsConfig`]) and the server name for
    /// `addr`; logs, for this connection, an insecure mode in force.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a file that cannot be read or a bad server name.
    pub(super) fn new(settings: &TlsConfig, addr: &Addr) -> Result<Setup> {
        let config = settings.rustls_config()?;
        let mapped = match (addr, &settings.names) {
            (Addr::Tcp { host, port }, Some(name_for)) => name_for(host, *port),
            _ => None,
        };
        let host = match (addr, mapped.as_ref().or(settings.server_name.as_ref())) {
            (_, Some(name)) => name.as_str(),
            (Addr::Tcp { host, .. }, None) => host.as_str(),
            (Addr::Unix(_), None) => "localhost",
        };
        let name = ServerName::try_from(host.to_string()).map_err(|e| {
            Error::config(format!(
                "TLS: {host:?} is not a valid server name ({e}); set TlsConfig::server_name"
            ))
        })?;
        match settings.verify {
            Verify::Full => {}
            Verify::SkipHostname => tracing::warn!(
                %addr,
                "TLS: the server's certificate is not checked against its host name \
                 (TlsConfig::danger_accept_invalid_hostnames): any certificate from a trusted CA is accepted"
            ),
            Verify::None => tracing::warn!(
                %addr,
                "TLS: the server's certificate is not verified at all \
                 (TlsConfig::danger_accept_invalid_certs): the connection is encrypted, but to anyone"
            ),
        }
        Ok(Setup { config, name })
    }
}

/// Runs the TLS handshake on a connected socket: the two arms, or the failure with
/// its cause named (see `failure.rs`).
pub(super) async fn handshake(
    stream: TcpStream,
    setup: Setup,
) -> io::Result<(TlsReader, Arc<Session>)> {
    let mut tls = ClientConnection::new(setup.config, setup.name).map_err(failure::io_error)?;
    tls.set_buffer_limit(Some(BUFFER_LIMIT));
    let (read, write) = stream.into_split();
    let session = Arc::new(Session {
        tls: Mutex::new(tls),
        socket: write,
    });
    let mut reader = TlsReader {
        socket: read,
        session: session.clone(),
        cipher: vec![0; CIPHER_CHUNK].into_boxed_slice(),
        early: BytesMut::new(),
    };
    loop {
        // Whatever the state machine has for the server goes first: the hello, and
        // at the end our Finished (and certificate, for mutual TLS).
        session.flush().await?;
        if !session.tls.lock().is_handshaking() {
            return Ok((reader, session));
        }
        let n = reader.read_cipher().await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "TLS: the server closed the connection during the TLS handshake (is this a TLS port?)",
            ));
        }
        let TlsReader {
            session,
            cipher,
            early,
            ..
        } = &mut reader;
        session.receive(&cipher[..n], early)?;
    }
}

impl Session {
    /// Takes what it can of `buf` now, as ciphertext, and writes what the socket
    /// takes; `WouldBlock` when ciphertext from before is still waiting for room.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut tls = self.tls.lock();
        // Old records first; and while the socket takes none of them, nothing new is
        // taken, so what rustls holds stays within one write's worth.
        self.push(&mut tls)?;
        let taken = tls.writer().write(buf)?;
        self.push_some(&mut tls)?;
        Ok(taken)
    }

    /// [`Session::try_write`] for several buffers: each is encrypted from where it
    /// lies (the copy TLS cannot avoid), no gathering first.
    pub(crate) fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut tls = self.tls.lock();
        self.push(&mut tls)?;
        let taken = tls.writer().write_vectored(bufs)?;
        self.push_some(&mut tls)?;
        Ok(taken)
    }

    /// Puts the held ciphertext on the wire, waiting for the socket as needed; then
    /// a `try_write` may take bytes again.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        loop {
            let pushed = {
                let mut tls = self.tls.lock();
                self.push(&mut tls)
            };
            match pushed {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            self.socket.writable().await?;
        }
    }

    /// Whether records are held that the socket has not taken yet.
    pub(crate) fn has_buffered(&self) -> bool {
        self.tls.lock().wants_write()
    }

    /// [`Session::writable`] until nothing is held.
    async fn flush(&self) -> io::Result<()> {
        while self.has_buffered() {
            self.writable().await?;
        }
        Ok(())
    }

    /// Writes held records until none is left (`Ok`) or the socket is full
    /// (`WouldBlock`, which also leaves tokio waiting for the socket's room).
    fn push(&self, tls: &mut ClientConnection) -> io::Result<()> {
        while tls.wants_write() {
            if tls.write_tls(&mut SocketWriter(&self.socket))? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// [`Session::push`] where a full socket is no error: the rest stays held.
    fn push_some(&self, tls: &mut ClientConnection) -> io::Result<()> {
        match self.push(tls) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }

    /// Feeds ciphertext to rustls and appends the plaintext it yields to `plain`;
    /// returns how many bytes it appended. Whatever rustls wants to send in answer
    /// (a key update, or the alert that goes with an error) goes out if the socket
    /// takes it now; any rest leaves before the next write's own records.
    fn receive(&self, mut cipher: &[u8], plain: &mut BytesMut) -> io::Result<usize> {
        let mut tls = self.tls.lock();
        let before = plain.len();
        let mut result = Ok(());
        while !cipher.is_empty() && result.is_ok() {
            // rustls takes at most about one record at a time (its own buffer).
            result = match tls.read_tls(&mut cipher) {
                // A close_notify came: nothing after it is read.
                Ok(0) => break,
                Ok(_) => match tls.process_new_packets() {
                    Ok(_) => drain(&mut tls, plain),
                    Err(e) => Err(failure::io_error(e)),
                },
                Err(e) => Err(e),
            };
        }
        let _ = self.push_some(&mut tls);
        result.map(|()| plain.len() - before)
    }
}

impl TlsReader {
    /// Reads ciphertext into the read arm's buffer (the handshake's reads).
    async fn read_cipher(&mut self) -> io::Result<usize> {
        loop {
            match self.socket.try_read(&mut self.cipher) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.socket.readable().await?,
                other => return other,
            }
        }
    }
}

/// Reads as tokio's `AsyncRead`, like the plaintext arms, so the frame reader's one
/// `read_buf` future serves all three. Plaintext decrypted beyond what the caller's
/// buffer has room for waits in `early` for the next read. Cancel-safe: ciphertext
/// read in a poll is decrypted in that same poll.
impl AsyncRead for TlsReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.early.is_empty() {
                let n = this.early.len().min(buf.remaining());
                buf.put_slice(&this.early[..n]);
                this.early.advance(n);
                return Poll::Ready(Ok(()));
            }
            let mut cipher = ReadBuf::new(&mut this.cipher);
            ready!(Pin::new(&mut this.socket).poll_read(cx, &mut cipher))?;
            let n = cipher.filled().len();
            if n == 0 {
                return Poll::Ready(Ok(())); // end of stream
            }
            // Part of a record decrypts to nothing yet: the loop reads on.
            this.session.receive(&this.cipher[..n], &mut this.early)?;
        }
    }
}

/// Moves every decrypted byte rustls holds onto the end of `plain`.
fn drain(tls: &mut ClientConnection, plain: &mut BytesMut) -> io::Result<()> {
    let mut reader = tls.reader();
    loop {
        let n = match reader.fill_buf() {
            Ok([]) => return Ok(()),
            Ok(chunk) => {
                plain.extend_from_slice(chunk);
                chunk.len()
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        };
        reader.consume(n);
    }
}

/// The socket's non-blocking writes as `std::io::Write`, for `write_tls`.
struct SocketWriter<'a>(&'a tcp::OwnedWriteHalf);

impl Write for SocketWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TlsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsReader")
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::mpsc;

    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    use super::*;

    /// A TLS server on a thread that completes the handshake, waits for `go`, then
    /// reads `expect` bytes of plaintext and reports how many it got.
    fn server(
        files: &redmux_testkit::TlsFiles,
        go: mpsc::Receiver<usize>,
    ) -> (std::net::SocketAddr, std::thread::JoinHandle<usize>) {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(files.server_cert())
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
        let key = PrivateKeyDer::from_pem_file(files.server_key()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut tls = rustls::ServerConnection::new(Arc::new(config)).unwrap();
            while tls.is_handshaking() {
                tls.complete_io(&mut socket).unwrap();
            }
            let expect = go.recv().unwrap();
            let mut stream = rustls::Stream::new(&mut tls, &mut socket);
            let mut got = 0;
            let mut buf = vec![0; 256 * 1024];
            while got < expect {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
            got
        });
        (addr, thread)
    }

    /// With the peer not reading, `try_write` takes plaintext until the socket is
    /// full and then refuses; the ciphertext it took but could not send is reported
    /// by `has_buffered`, and `flush` puts it on the wire once the peer reads: every
    /// byte taken arrives. (A `has_buffered` that said `false` here would let the
    /// writer think a command was out while its tail sat in rustls.)
    #[tokio::test]
    async fn ciphertext_held_by_a_full_socket_is_reported_and_flushed() {
        let dir = tempfile_dir();
        let files =
            redmux_testkit::TlsFiles::generate(&dir, redmux_testkit::ServerCertificate::Valid)
                .unwrap();
        let (go, go_rx) = mpsc::channel();
        let (addr, thread) = server(&files, go_rx);
        let setup = Setup::new(
            &TlsConfig::new().ca_file(files.ca()),
            &Addr::Tcp {
                host: "127.0.0.1".into(),
                port: addr.port(),
            },
        )
        .unwrap();
        let stream = TcpStream::connect(addr).await.unwrap();
        let (_reader, session) =
            tokio::time::timeout(std::time::Duration::from_secs(10), handshake(stream, setup))
                .await
                .expect("handshake within 10 s")
                .unwrap();

        let chunk = vec![7u8; 64 * 1024];
        let mut taken = 0;
        loop {
            match session.try_write(&chunk) {
                Ok(n) => taken += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
            assert!(taken < 512 * 1024 * 1024, "the socket never filled");
        }
        assert!(session.has_buffered(), "refused with nothing held back");
        go.send(taken).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(20), session.flush())
            .await
            .expect("flushed within 20 s")
            .unwrap();
        assert!(!session.has_buffered());
        assert_eq!(thread.join().unwrap(), taken);
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("redmux-tls-unit-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
