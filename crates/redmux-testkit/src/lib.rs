//! Test kit for redmux: a real `redis-server` and a fault-injecting TCP proxy, so
//! integration tests and benchmarks run against the real thing, with real failures.
//!
//! # Modules
//!
//! - `server`: [`RedisServer`] spawns `redis-server` on a free port in a temp dir,
//!   waits until it answers PING, and can [`kill`](RedisServer::kill) and
//!   [`restart`](RedisServer::restart) it on the same port; dropping it kills the
//!   process. [`RedisServerBuilder`] adds a password, ACL users, a Unix socket, a
//!   fixed port or raw arguments. Synchronous, so it works from any test.
//! - `tls`: [`TlsFiles`], certificates made at test time with rcgen (a CA, server
//!   and client certificates, and wrong ones), for a server started with
//!   [`RedisServerBuilder::tls`] ([`TlsMode::ServerOnly`] or [`TlsMode::Mutual`],
//!   presenting a [`ServerCertificate`]). A server binary without TLS (Valkey's PyPI
//!   wheel) fails to start with [`Error::TlsUnsupported`], for tests to skip on.
//! - `proxy`: [`FaultProxy`] sits between a client and a server on its own thread and
//!   runtime, and on command adds latency (without capping throughput), stalls
//!   traffic, [`cut`](FaultProxy::cut)s connections ([`CutMode::Reset`] or
//!   [`CutMode::Close`]) or refuses new ones.
//! - `error`: [`Error`], whose messages say what to do (install redis, set
//!   `REDIS_SERVER_BIN`, read the log tail it carries).
//!
//! The server binary is `$REDIS_SERVER_BIN` if set, else `redis-server` from `PATH`.
//!
//! # Example
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use redmux_testkit::{CutMode, FaultProxy, RedisServer};
//!
//! let server = RedisServer::start()?;
//! let proxy = FaultProxy::start(server.addr())?;
//! proxy.set_latency(Duration::from_millis(1));
//!
//! let mut stream = std::net::TcpStream::connect(proxy.addr()).expect("connect");
//! stream.write_all(b"*1\r\n$4\r\nPING\r\n").expect("write");
//! let mut reply = [0u8; 7];
//! stream.read_exact(&mut reply).expect("read");
//! assert_eq!(&reply, b"+PONG\r\n");
//!
//! proxy.cut(CutMode::Reset); // the client's next read fails
//! # Ok::<(), redmux_testkit::Error>(())
//! ```

mod error;
mod proxy;
mod server;
mod tls;

pub use error::Error;
pub use proxy::{CutMode, FaultProxy};
pub use server::{RedisServer, RedisServerBuilder};
pub use tls::{ServerCertificate, TlsFiles, TlsMode};
