//! [`FaultProxy`]: a TCP proxy in front of a server that adds latency, stalls, cuts
//! connections and refuses new ones, on command.
//!
//! The handle is synchronous; the proxying runs on the proxy's own thread and
//! runtime (`listener`), one task per connection (`connection`), steered by a watch
//! channel of [`faults`](faults::Faults) and counted by a `registry`. Delays are
//! timed by a `timer` precise to about 0.1 ms.

mod connection;
mod faults;
mod listener;
mod registry;
mod timer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::Error;
use faults::Faults;
use listener::Worker;
use registry::Registry;

/// How long [`FaultProxy::cut`] waits for the connections it cut to be closed.
const CUT_WAIT: Duration = Duration::from_secs(2);

/// How [`FaultProxy::cut`] closes connections.
///
/// ```
/// use redmux_testkit::CutMode;
///
/// assert_ne!(CutMode::Reset, CutMode::Close);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CutMode {
    /// Abortive close (SO_LINGER 0): the peer gets RST, and its next read or write
    /// fails with "connection reset", like a crashed host or a middlebox dropping state.
    Reset,
    /// Orderly close: the peer reads EOF, like a server closing an idle connection.
    Close,
}

/// A TCP proxy on `127.0.0.1:<free port>` that forwards to `upstream` and injects
/// faults on command: latency, stalls, cut connections, refused connections.
///
/// It runs on its own thread with its own tokio runtime, so it works from sync and
/// async tests alike. Dropping it stops the thread and closes every connection.
///
/// # Example
///
/// ```
/// use std::io::{Read, Write};
/// use std::time::{Duration, Instant};
/// use redmux_testkit::{FaultProxy, RedisServer};
///
/// let server = RedisServer::start()?;
/// let proxy = FaultProxy::start(server.addr())?;
/// proxy.set_latency(Duration::from_millis(10));
///
/// let mut stream = std::net::TcpStream::connect(proxy.addr()).expect("connect");
/// let started = Instant::now();
/// stream.write_all(b"*1\r\n$4\r\nPING\r\n").expect("write");
/// let mut reply = [0u8; 7];
/// stream.read_exact(&mut reply).expect("read");
/// assert_eq!(&reply, b"+PONG\r\n");
/// assert!(started.elapsed() >= Duration::from_millis(20)); // 10 ms each way
/// # Ok::<(), redmux_testkit::Error>(())
/// ```
#[derive(Debug)]
pub struct FaultProxy {
    /// Declared first so it drops first: the thread stops and closes every connection
    /// while the fault state it reads is still there.
    _worker: Worker,
    addr: SocketAddr,
    faults: watch::Sender<Faults>,
    registry: Arc<Registry>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` and returns once it accepts connections. The
    /// upstream is connected once per client, when the client connects.
    ///
    /// # Errors
    ///
    /// [`Error::ProxyStart`] if no local port can be bound or the runtime cannot be
    /// built; [`Error::Io`] if the thread cannot be spawned.
    ///
    /// ```
    /// # let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    /// let proxy = redmux_testkit::FaultProxy::start(upstream.local_addr().expect("addr"))?;
    /// assert!(proxy.addr().ip().is_loopback());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn start(upstream: SocketAddr) -> Result<FaultProxy, Error> {
        let (faults, watcher) = watch::channel(Faults::default());
        let registry = Arc::new(Registry::default());
        let (addr, worker) = Worker::start(upstream, watcher, Arc::clone(&registry))?;
        Ok(FaultProxy {
            _worker: worker,
            addr,
            faults,
            registry,
        })
    }

    /// The address clients connect to instead of the server's.
    ///
    /// ```
    /// # let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    /// # let proxy = redmux_testkit::FaultProxy::start(upstream.local_addr().expect("addr"))?;
    /// let stream = std::net::TcpStream::connect(proxy.addr()).expect("connect");
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `redis://127.0.0.1:PORT` for the proxy's port.
    ///
    /// ```
    /// # let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    /// # let proxy = redmux_testkit::FaultProxy::start(upstream.local_addr().expect("addr"))?;
    /// assert_eq!(proxy.url(), format!("redis://127.0.0.1:{}", proxy.addr().port()));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.addr.port())
    }

    /// Delays every byte by `one_way` in each direction, so a round trip takes twice
    /// that. Throughput is not capped: bytes are delayed, not serialised. Applies to
    /// bytes read from now on; `Duration::ZERO` turns it off.
    ///
    /// # Precision
    ///
    /// On Linux each delay is timed by a kernel high-resolution timer (a timerfd), so
    /// it lasts at least `one_way` and overshoots by up to about 0.1 ms (the time to
    /// wake the proxy's thread), not by whole milliseconds. On loopback, where a PING
    /// round trip through the proxy takes about 0.1 ms without latency, 500 µs each
    /// way gives about 1.2 ms. Nothing spins while waiting. On other platforms the
    /// delay falls back to tokio's timer, which rounds up to the next millisecond.
    ///
    /// ```
    /// # let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    /// # let proxy = redmux_testkit::FaultProxy::start(upstream.local_addr().expect("addr"))?;
    /// proxy.set_latency(std::time::Duration::from_millis(5)); // 10 ms round trip
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn set_latency(&self, one_way: Duration) {
        self.set_latency_split(one_way, one_way);
    }

    /// Like [`set_latency`](Self::set_latency), with a separate delay per direction.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    /// # let proxy = redmux_testkit::FaultProxy::start(upstream.local_addr().expect("addr"))?;
    /// // Requests arrive late; replies come straight back.
    /// proxy.set_latency_split(Duration::from_millis(50), Duration::ZERO);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn set_latency_split(&self, to_server: Duration, to_client: Duration) {
        self.faults.send_modify(|faults| {
            faults.to_server = to_server;
            faults.to_client = to_client;
        });
    }

    /// Stops forwarding in both directions, as if the network went dark: sockets stay
    /// open, nothing is lost, data already read is held and goes out, in order, after
    /// [`resume`](Self::resume). New connections are still accepted, and stall too.
    ///
    /// ```
    /// # let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    /// # let proxy = redmux_testkit::FaultProxy::start(upstream.local_addr().expect("addr"))?;
    /// proxy.stall();
    /// // ... a request now gets no reply, and the client's timeout should fire ...
    /// proxy.resume();
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn stall(&self) {
        self.faults.send_modify(|faults| faults.stalled = true);
    }

    /// Undoes [`stall`](Self::stall) (held data goes out in order) and
    /// [`refuse`](Self::refuse). Latency stays as set.
    ///
    /// ```
    /// # let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    /// # let proxy = redmux_testkit::FaultProxy::start(upstream.local_addr().expect("addr"))?;
    /// proxy.refuse(true);
    /// proxy.resume(); // accepting again
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn resume(&self) {
        self.faults.send_modify(|faults| {
            faults.stalled = false;
            faults.refusing = false;
        });
    }

    /// Closes every current connection on both sides (client and upstream) and
    /// returns once they are closed (waiting at most 2 s), so the client's next read
    /// sees EOF ([`CutMode::Close`]) or a reset ([`CutMode::Reset`]). Works while
    /// stalled. Connections made afterwards are not affected; nor is a connection
    /// still in the listen backlog, not yet accepted by the proxy.
    ///
    /// ```
    /// use std::io::Read;
    /// use redmux_testkit::CutMode;
    /// # let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    /// # let proxy = redmux_testkit::FaultProxy::start(upstream.local_addr().expect("addr"))?;
    /// let mut stream = std::net::TcpStream::connect(proxy.addr()).expect("connect");
    /// # let _held = upstream.accept().expect("accept");
    /// proxy.cut(CutMode::Close);
    /// let mut buf = [0u8; 1];
    /// assert_eq!(stream.read(&mut buf).ok(), Some(0)); // EOF
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn cut(&self, mode: CutMode) {
        let all_closed = self.registry.cut(
            |generation| {
                self.faults.send_modify(|faults| {
                    faults.cut_generation = generation;
                    faults.cut_mode = mode;
                });
            },
            CUT_WAIT,
        );
        if !all_closed {
            tracing::warn!(proxy = %self.addr, "fault proxy: cut connections still open after {CUT_WAIT:?}");
        }
    }

    /// While `on`, new connections are accepted and closed at once (the client reads
    /// EOF), as a server that is up but turning clients away would. Existing
    /// connections are untouched. `refuse(false)` or [`resume`](Self::resume) lets
    /// connections through again.
    ///
    /// ```
    /// # let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    /// # let proxy = redmux_testkit::FaultProxy::start(upstream.local_addr().expect("addr"))?;
    /// proxy.refuse(true);
    /// // ... a client's reconnect attempts now fail ...
    /// proxy.refuse(false);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn refuse(&self, on: bool) {
        self.faults.send_modify(|faults| faults.refusing = on);
    }

    /// Proxied connections alive right now (refused ones are never counted).
    ///
    /// ```
    /// # let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    /// # let proxy = redmux_testkit::FaultProxy::start(upstream.local_addr().expect("addr"))?;
    /// assert_eq!(proxy.connection_count(), 0);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn connection_count(&self) -> usize {
        self.registry.live()
    }

    /// Connections accepted since start, refused ones included: a test can count a
    /// client's reconnect attempts with it.
    ///
    /// ```
    /// # let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    /// # let proxy = redmux_testkit::FaultProxy::start(upstream.local_addr().expect("addr"))?;
    /// assert_eq!(proxy.accepted_total(), 0);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn accepted_total(&self) -> usize {
        self.registry.accepted()
    }
}
