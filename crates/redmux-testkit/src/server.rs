//! [`RedisServer`]: a real `redis-server` on a free port in a temp dir, killed on drop.
//!
//! The API is synchronous (`std::process`), so it works the same from `#[test]` and
//! `#[tokio::test]`. Methods take `&self`, so a test can share a server through an
//! `Arc` with the code that kills and restarts it.

mod builder;
pub(crate) mod process;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub use builder::RedisServerBuilder;
use process::{Launch, StartFailure};

use crate::ports::{self, PortLease};
use crate::{Error, TlsFiles};

/// How many fresh ports to try when the one just found free is taken before redis
/// binds it. Losing that race twice in a row is already rare.
const FREE_PORT_ATTEMPTS: usize = 5;

/// How long to keep retrying a fixed port (a [`RedisServerBuilder::port`], or a
/// restart) while another process holds it.
const FIXED_PORT_RETRY: Duration = Duration::from_secs(10);

/// A running `redis-server`, owned by the test.
///
/// Dropping it kills the process (SIGKILL) and waits for it, so a panicking test
/// leaves no server behind; the temp dir is removed too.
///
/// # Example
///
/// ```
/// use std::io::{Read, Write};
///
/// let server = redmux_testkit::RedisServer::start()?;
/// let mut stream = std::net::TcpStream::connect(server.addr()).expect("connect");
/// stream.write_all(b"*1\r\n$4\r\nPING\r\n").expect("write");
/// let mut reply = [0u8; 7];
/// stream.read_exact(&mut reply).expect("read");
/// assert_eq!(&reply, b"+PONG\r\n");
/// # Ok::<(), redmux_testkit::Error>(())
/// ```
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    unix_socket: Option<PathBuf>,
    version: String,
    launch: Launch,
    /// The certificates, for a TLS server.
    tls: Option<TlsFiles>,
    /// `None` after [`kill`](Self::kill). The lock is held across a restart, so a
    /// concurrent `kill` waits for it instead of racing it.
    child: Mutex<Option<Child>>,
    /// The port's lease, for a port the kit chose: held while the server is killed
    /// and until it is dropped, so no other test's server takes the port before a
    /// [`restart`](Self::restart). Released after the child is gone (`Drop` kills it).
    _lease: Option<PortLease>,
    /// Declared last: dropped after the child is gone.
    dir: TempDir,
}

impl RedisServer {
    /// Starts a server with the defaults (see [`RedisServerBuilder`]).
    ///
    /// # Errors
    ///
    /// As [`RedisServerBuilder::start`]; most often [`Error::BinaryNotFound`].
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// println!("redis {} at {}", server.version(), server.url());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn start() -> Result<RedisServer, Error> {
        RedisServerBuilder::default().start()
    }

    /// A builder for a server with a password, ACL users, a Unix socket, a fixed port
    /// or raw extra arguments.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::builder().password("s3cret").start()?;
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn builder() -> RedisServerBuilder {
        RedisServerBuilder::default()
    }

    /// Starts the first process: on a free port (retrying with new ones if the port is
    /// taken under us) or on the caller's port (retrying it for a while).
    fn launch(
        launch: Launch,
        fixed_port: Option<u16>,
        dir: TempDir,
        unix_socket: Option<PathBuf>,
        version: String,
        tls: Option<TlsFiles>,
    ) -> Result<RedisServer, Error> {
        let (port, child, lease) = match fixed_port {
            Some(port) => (port, start_on_fixed_port(&launch, port)?, None),
            None => {
                let (lease, child) = start_on_free_port(&launch)?;
                (lease.port(), child, Some(lease))
            }
        };
        Ok(RedisServer {
            port,
            unix_socket,
            version,
            launch,
            tls,
            child: Mutex::new(Some(child)),
            _lease: lease,
            dir,
        })
    }

    /// `127.0.0.1:port`.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// assert!(server.addr().ip().is_loopback());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The TCP port; it stays the same across [`restart`](Self::restart).
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// assert_eq!(server.addr().port(), server.port());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT` (`rediss://` for a TLS server), without any
    /// password or user in it.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// assert_eq!(server.url(), format!("redis://127.0.0.1:{}", server.port()));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn url(&self) -> String {
        match self.tls {
            Some(_) => format!("rediss://127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// The certificates of a TLS server ([`crate::RedisServerBuilder::tls`]): its
    /// CA for the client to trust, client certificates right and wrong.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// assert!(server.tls_files().is_none());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// The Unix socket path, when [`RedisServerBuilder::unix_socket`] enabled it.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// assert_eq!(server.unix_socket(), None);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn unix_socket(&self) -> Option<PathBuf> {
        self.unix_socket.clone()
    }

    /// Kills the server with SIGKILL and waits until it is gone: clients see their
    /// connections drop and new connections are refused. Does nothing if it is not
    /// running.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// server.kill();
    /// assert!(!server.is_running());
    /// assert!(std::net::TcpStream::connect(server.addr()).is_err());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn kill(&self) {
        if let Some(mut child) = self.lock_child().take() {
            process::stop(&mut child);
        }
    }

    /// Kills the server if it runs, starts it again on the same port with the same
    /// arguments, and returns once it answers PING. Data is not kept (persistence is
    /// off).
    ///
    /// # Errors
    ///
    /// [`Error::PortInUse`] if another process took the port and kept it for 10 s;
    /// otherwise as [`RedisServerBuilder::start`].
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// server.kill();
    /// server.restart()?;
    /// assert!(server.is_running());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn restart(&self) -> Result<(), Error> {
        let mut slot = self.lock_child();
        if let Some(mut child) = slot.take() {
            process::stop(&mut child);
        }
        *slot = Some(start_on_fixed_port(&self.launch, self.port)?);
        Ok(())
    }

    /// True while the process is alive: false after [`kill`](Self::kill), and also
    /// when it died on its own (e.g. `SHUTDOWN` or `DEBUG SEGFAULT`).
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// assert!(server.is_running());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn is_running(&self) -> bool {
        match self.lock_child().as_mut() {
            Some(child) => process::exited(child).is_none(),
            None => false,
        }
    }

    /// The process id while it runs, e.g. to check from outside that it is gone.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// assert!(server.pid().is_some());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn pid(&self) -> Option<u32> {
        let mut slot = self.lock_child();
        let child = slot.as_mut()?;
        process::exited(child).is_none().then(|| child.id())
    }

    /// The whole log file (all runs, restarts included), for a failing test to print.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// assert!(server.log().contains("Ready to accept connections"));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn log(&self) -> String {
        process::read_from(&self.launch.log_path, 0)
    }

    /// The server's version, e.g. `"7.0.15"`, from `redis-server --version`; for Valkey its
    /// own version (`"9.1.2"`), which INFO reports as `valkey_version`.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// let major: u32 = server.version().split('.').next().unwrap_or("0").parse().unwrap_or(0);
    /// assert!(major >= 6);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn version(&self) -> String {
        self.version.clone()
    }

    /// The server's temp dir (its working dir, log and socket live here); removed on
    /// drop.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::start()?;
    /// assert!(server.dir().join("redis.log").exists());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A panic while the lock was held cannot leave the slot half-updated, so a
    /// poisoned lock is still safe to use; and `Drop` must never panic.
    fn lock_child(&self) -> MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn start_on_free_port(launch: &Launch) -> Result<(PortLease, Child), Error> {
    let mut last_port = 0;
    for _ in 0..FREE_PORT_ATTEMPTS {
        let lease = ports::lease_free()?;
        last_port = lease.port();
        match process::start(launch, last_port) {
            Ok(child) => return Ok((lease, child)),
            Err(StartFailure::PortTaken) => {
                // Something outside the kit holds it: rare below the ephemeral range.
                tracing::debug!(
                    port = last_port,
                    "port taken before redis bound it; trying another"
                );
            }
            Err(StartFailure::Fatal(error)) => return Err(error),
        }
    }
    Err(Error::PortInUse {
        port: last_port,
        waited: Duration::ZERO,
    })
}

/// Starts on `port`, retrying while it is in use: right after a kill, or when a
/// caller's fixed port is briefly held by a previous test's server.
fn start_on_fixed_port(launch: &Launch, port: u16) -> Result<Child, Error> {
    let started = Instant::now();
    loop {
        match process::start(launch, port) {
            Ok(child) => return Ok(child),
            Err(StartFailure::PortTaken) if started.elapsed() < FIXED_PORT_RETRY => {
                thread::sleep(Duration::from_millis(50));
            }
            Err(StartFailure::PortTaken) => {
                return Err(Error::PortInUse {
                    port,
                    waited: started.elapsed(),
                });
            }
            Err(StartFailure::Fatal(error)) => return Err(error),
        }
    }
}
