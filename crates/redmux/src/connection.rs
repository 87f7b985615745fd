//! The connection layer: opens a socket (TCP or Unix), runs the handshake (HELLO,
//! AUTH, SELECT, CLIENT SETNAME, CLIENT SETINFO, PING) and splits the socket into the
//! halves the multiplexer's reader and writer own. It knows nothing of callers or
//! queues.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use redmux_resp::{CommandBuf, Decoder, ToArg, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpStream, UnixStream, tcp, unix};

use crate::config::{Addr, Config, Protocol};
use crate::error::{Error, Result, ServerError};

/// A connected, authenticated socket, split for one reader and one writer.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) reader: ReadHalf,
    pub(crate) writer: WriteHalf,
    /// Bytes read during the handshake past its last reply (none in practice).
    pub(crate) leftover: BytesMut,
    pub(crate) decoder: Decoder,
}

/// Opens a connection and runs the handshake, all within `config.connect_timeout`.
pub(crate) async fn connect(config: &Config) -> Result<Connection> {
    let addr = config.addr.to_string();
    match tokio::time::timeout(config.connect_timeout, connect_inner(config)).await {
        Ok(result) => result,
        Err(_) => Err(Error::Connect {
            addr,
            reason: format!(
                "no connection and handshake within {:?} (connect_timeout); is the server up and reachable?",
                config.connect_timeout
            )
            .into(),
        }),
    }
}

async fn connect_inner(config: &Config) -> Result<Connection> {
    let connect_error = |e: io::Error| Error::Connect {
        addr: config.addr.to_string(),
        reason: match e.kind() {
            io::ErrorKind::ConnectionRefused => format!("{e}: is a server listening there?").into(),
            _ => e.to_string().into(),
        },
    };
    let (reader, writer) = match &config.addr {
        Addr::Tcp { host, port } => {
            let stream = TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(connect_error)?;
            // Commands must not wait for Nagle: the writer already batches.
            stream.set_nodelay(true).map_err(connect_error)?;
            let keepalive = socket2::TcpKeepalive::new()
                .with_time(Duration::from_secs(60))
                .with_interval(Duration::from_secs(10));
            socket2::SockRef::from(&stream)
                .set_tcp_keepalive(&keepalive)
                .map_err(connect_error)?;
            let (r, w) = stream.into_split();
            (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
        }
        Addr::Unix(path) => {
            let stream = UnixStream::connect(path).await.map_err(connect_error)?;
            let (r, w) = stream.into_split();
            (ReadHalf::Unix(r), WriteHalf::Unix(w))
        }
    };
    let mut conn = Connection {
        reader,
        writer,
        leftover: BytesMut::with_capacity(4096),
        decoder: Decoder::with_limits(config.limits),
    };
    handshake(&mut conn, config).await?;
    Ok(conn)
}

/// What each handshake reply answers, so its error can be reported for what it is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Hello,
    Auth,
    Select,
    SetName,
    /// `CLIENT SETINFO`: older servers lack it, and that is fine.
    Optional,
    Ping,
}

/// Sends every handshake command in one write and checks every reply: one round trip.
async fn handshake(conn: &mut Connection, config: &Config) -> Result<()> {
    let mut out = BytesMut::with_capacity(256);
    let mut steps = Vec::with_capacity(6);
    let mut push = |out: &mut BytesMut, step: Step, args: &[&dyn ToArg]| {
        let mut cmd = CommandBuf::new(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        out.extend_from_slice(&cmd.finish());
        steps.push(step);
    };
    let user = config.username.as_deref().unwrap_or("default");
    match (config.protocol, &config.password) {
        (Protocol::Resp3, Some(password)) => push(
            &mut out,
            Step::Hello,
            &[&"HELLO", &"3", &"AUTH", &user, password],
        ),
        (Protocol::Resp3, None) => push(&mut out, Step::Hello, &[&"HELLO", &"3"]),
        (Protocol::Resp2, Some(password)) => match &config.username {
            Some(user) => push(&mut out, Step::Auth, &[&"AUTH", user, password]),
            None => push(&mut out, Step::Auth, &[&"AUTH", password]),
        },
        (Protocol::Resp2, None) => {}
    }
    if config.db != 0 {
        push(&mut out, Step::Select, &[&"SELECT", &config.db]);
    }
    if let Some(name) = &config.client_name {
        push(&mut out, Step::SetName, &[&"CLIENT", &"SETNAME", name]);
    }
    push(
        &mut out,
        Step::Optional,
        &[&"CLIENT", &"SETINFO", &"LIB-NAME", &"redmux"],
    );
    push(
        &mut out,
        Step::Optional,
        &[
            &"CLIENT",
            &"SETINFO",
            &"LIB-VER",
            &env!("CARGO_PKG_VERSION"),
        ],
    );
    push(&mut out, Step::Ping, &[&"PING"]);

    let io_error = |e: io::Error| Error::Connect {
        addr: config.addr.to_string(),
        reason: format!("handshake failed: {e}").into(),
    };
    conn.writer.write_all(&out).await.map_err(io_error)?;

    for step in steps {
        let reply = read_reply(conn).await.map_err(|e| match e {
            HandshakeRead::Io(e) => io_error(e),
            HandshakeRead::Eof => Error::Connect {
                addr: config.addr.to_string(),
                reason: "the server closed the connection during the handshake (is it a Redis server? does it accept this client?)".into(),
            },
            HandshakeRead::Decode(e) => Error::protocol(format!("during the handshake: {e}")),
        })?;
        let Some(line) = reply.as_error() else {
            continue;
        };
        let error = ServerError::parse(line);
        match step {
            Step::Optional => {}
            Step::Auth => return Err(Error::Auth(error)),
            Step::Hello if matches!(error.code(), "WRONGPASS" | "NOPERM") => {
                return Err(Error::Auth(error));
            }
            Step::Hello => {
                return Err(Error::Connect {
                    addr: config.addr.to_string(),
                    reason: format!(
                        "the server refused RESP3 (HELLO 3: {error}); connect with protocol=resp2"
                    )
                    .into(),
                });
            }
            Step::Ping if error.code() == "NOAUTH" => {
                return Err(Error::Auth(error));
            }
            Step::Select | Step::SetName | Step::Ping => {
                return Err(Error::Connect {
                    addr: config.addr.to_string(),
                    reason: format!("handshake failed at {step:?}: {error}").into(),
                });
            }
        }
    }
    tracing::debug!(addr = %config.addr, protocol = ?config.protocol, db = config.db, "connected");
    Ok(())
}

enum HandshakeRead {
    Io(io::Error),
    Eof,
    Decode(redmux_resp::DecodeError),
}

async fn read_reply(conn: &mut Connection) -> std::result::Result<Value, HandshakeRead> {
    loop {
        match conn.decoder.decode(&mut conn.leftover) {
            Ok(Some(Value::Push(_))) => continue,
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => return Err(HandshakeRead::Decode(e)),
        }
        conn.leftover.reserve(4096);
        let n = conn
            .reader
            .read_buf(&mut conn.leftover)
            .await
            .map_err(HandshakeRead::Io)?;
        if n == 0 {
            return Err(HandshakeRead::Eof);
        }
    }
}

/// The read half of a TCP or Unix socket.
#[derive(Debug)]
pub(crate) enum ReadHalf {
    Tcp(tcp::OwnedReadHalf),
    Unix(unix::OwnedReadHalf),
}

/// The write half of a TCP or Unix socket.
#[derive(Debug)]
pub(crate) enum WriteHalf {
    Tcp(tcp::OwnedWriteHalf),
    Unix(unix::OwnedWriteHalf),
}

impl WriteHalf {
    /// Writes what the socket takes now without waiting; `WouldBlock` when nothing.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(w) => w.try_write(buf),
            WriteHalf::Unix(w) => w.try_write(buf),
        }
    }

    /// Writes all of `buf` through a shared reference, so the writer task and a
    /// caller on the fast path can use one socket (never at the same time: the
    /// queue's write ownership decides who may).
    pub(crate) async fn write_all_shared(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.try_write(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => match self {
                    WriteHalf::Tcp(w) => w.writable().await?,
                    WriteHalf::Unix(w) => w.writable().await?,
                },
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes every buffer of `bufs` in order, several per syscall (`writev`), through
    /// a shared reference as [`WriteHalf::write_all_shared`]; returns the syscall
    /// count.
    pub(crate) async fn write_all_vectored_shared(&self, bufs: &[&[u8]]) -> io::Result<u64> {
        // Position: the buffer, and how much of it is written.
        let (mut index, mut offset) = (0, 0);
        let mut syscalls = 0;
        loop {
            while bufs.get(index).is_some_and(|b| offset >= b.len()) {
                index += 1;
                offset = 0;
            }
            let Some(first) = bufs.get(index) else {
                return Ok(syscalls);
            };
            let mut slices = [io::IoSlice::new(&[]); 8];
            slices[0] = io::IoSlice::new(&first[offset..]);
            let mut count = 1;
            for (slice, buf) in slices[1..].iter_mut().zip(&bufs[index + 1..]) {
                *slice = io::IoSlice::new(buf);
                count += 1;
            }
            let written = match self {
                WriteHalf::Tcp(w) => w.try_write_vectored(&slices[..count]),
                WriteHalf::Unix(w) => w.try_write_vectored(&slices[..count]),
            };
            match written {
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
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => match self {
                    WriteHalf::Tcp(w) => w.writable().await?,
                    WriteHalf::Unix(w) => w.writable().await?,
                },
                Err(e) => return Err(e),
            }
        }
    }
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Tcp(r) => Pin::new(r).poll_read(cx, buf),
            ReadHalf::Unix(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_write(cx, buf),
            WriteHalf::Unix(w) => Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            WriteHalf::Unix(w) => Pin::new(w).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_flush(cx),
            WriteHalf::Unix(w) => Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(w) => Pin::new(w).poll_shutdown(cx),
            WriteHalf::Unix(w) => Pin::new(w).poll_shutdown(cx),
        }
    }
}
