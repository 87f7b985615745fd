//! [`ClusterNode`]: one node of a cluster, its process and the kit's connection to it.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::wire::{RawConnection, Reply};
use crate::{Error, RedisServer};

/// One node of a [`RedisCluster`](super::RedisCluster): its process, address and cluster id.
///
/// # Example
///
/// ```no_run
/// let cluster = redmux_testkit::RedisCluster::shared()?;
/// let node = cluster.node(0);
/// assert_eq!(node.id().len(), 40);
/// assert_eq!(node.url(), format!("redis://{}", node.addr()));
/// # Ok::<(), redmux_testkit::Error>(())
/// ```
#[derive(Debug)]
pub struct ClusterNode {
    pub(super) index: usize,
    pub(super) id: String,
    pub(super) server: RedisServer,
    /// The kit's own connection, reused so that polling does not burn ports. Dropped
    /// on any error and when the node is killed, so a restart starts afresh.
    pub(super) connection: Mutex<Option<RawConnection>>,
}

impl ClusterNode {
    /// Its index in [`RedisCluster::nodes`](super::RedisCluster::nodes).
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.node(2).index(), 2);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Its cluster node id (40 hex characters); it survives a restart.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// let myid = cluster.call(0, &["CLUSTER", "MYID"])?;
    /// assert_eq!(myid.as_str(), Some(cluster.node(0).id()));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `127.0.0.1:port`.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert!(cluster.node(0).addr().ip().is_loopback());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The TCP port (the cluster bus listens on this plus 10,000).
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert!(cluster.node(0).port() < 22_768);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `redis://127.0.0.1:port`.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert!(cluster.node(1).url().starts_with("redis://127.0.0.1:"));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// True unless it was [`kill`](super::RedisCluster::kill)ed (or died by itself).
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert!(cluster.node(0).is_running());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn is_running(&self) -> bool {
        self.server.is_running()
    }

    /// The node's whole log, for a failing test to print.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert!(cluster.node(0).log().contains("Ready to accept connections"));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// Sends one command on the kit's connection to this node and returns the reply;
    /// error replies (`MOVED`, `ASK`...) are `Ok(Reply::Error(..))`.
    ///
    /// The connection is shared by every caller (one command at a time), so do not
    /// change its state (`ASKING`, `READONLY`, `HELLO`, blocking commands): open your
    /// own with [`connect`](Self::connect) for that.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the node cannot be reached or the connection breaks.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// assert_eq!(cluster.node(0).call(&["PING"])?.as_str(), Some("PONG"));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn call<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<Reply, Error> {
        let mut slot = self.lock_connection();
        let connection = match slot.as_mut() {
            Some(connection) => connection,
            None => slot.insert(RawConnection::connect(self.addr())?),
        };
        let reply = connection.call(args);
        if reply.is_err() {
            // Whatever broke, a half-read reply must not be read as the next one's.
            *slot = None;
        }
        reply
    }

    /// A new connection of the test's own to this node.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the node cannot be reached.
    ///
    /// ```no_run
    /// let cluster = redmux_testkit::RedisCluster::shared()?;
    /// let mut conn = cluster.node(3).connect()?;
    /// conn.call(&["READONLY"])?;
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn connect(&self) -> Result<RawConnection, Error> {
        RawConnection::connect(self.addr())
    }

    pub(super) fn forget_connection(&self) {
        *self.lock_connection() = None;
    }

    fn lock_connection(&self) -> MutexGuard<'_, Option<RawConnection>> {
        // A panic mid-call leaves at worst a half-read connection, which the next
        // error drops; the lock itself stays usable.
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sends a command the kit needs to succeed; an error reply becomes [`Error::Refused`].
pub(super) fn expect_ok<A: AsRef<[u8]>>(node: &ClusterNode, args: &[A]) -> Result<Reply, Error> {
    let reply = node.call(args)?;
    match reply.is_error() {
        true => Err(refused(node, args, &reply)),
        false => Ok(reply),
    }
}

pub(super) fn refused<A: AsRef<[u8]>>(node: &ClusterNode, args: &[A], reply: &Reply) -> Error {
    let words: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
        .collect();
    Error::Refused {
        addr: node.addr(),
        command: words.join(" "),
        reply: reply.to_string(),
    }
}
