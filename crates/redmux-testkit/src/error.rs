//! The one error type of the test kit.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Why the test kit could not start or restart a `redis-server` or a [`FaultProxy`].
///
/// Every message says what failed and what to do about it; the server variants carry
/// the tail of the server's log, because that is where redis says *why*.
///
/// # Example
///
/// ```
/// use redmux_testkit::Error;
///
/// let err = Error::BinaryNotFound;
/// assert!(err.to_string().contains("REDIS_SERVER_BIN"));
/// ```
///
/// [`FaultProxy`]: crate::FaultProxy
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `REDIS_SERVER_BIN` is unset and there is no `redis-server` on `PATH`.
    #[error(
        "redis-server not found on PATH: install it (apt-get install redis-server) \
         or set REDIS_SERVER_BIN to its path"
    )]
    BinaryNotFound,

    /// `REDIS_SERVER_BIN` names something that could not be run.
    #[error(
        "REDIS_SERVER_BIN={} could not be run ({source}): point it at a redis-server \
         executable, or unset it to use redis-server from PATH",
        path.display()
    )]
    BinaryUnusable {
        /// The value of `REDIS_SERVER_BIN`.
        path: PathBuf,
        /// Why running it failed.
        source: io::Error,
    },

    /// An operating-system call the kit needs (temp dir, socket, thread, spawn) failed.
    #[error("{action} failed: {source}")]
    Io {
        /// What the kit was doing, e.g. "creating a temp dir for redis-server".
        action: String,
        /// The underlying error.
        source: io::Error,
    },

    /// `redis-server` exited before it answered PING: usually a bad argument given to
    /// the builder, which the log tail names.
    #[error(
        "redis-server on port {port} exited during startup ({status}); \
         check the arguments given to RedisServerBuilder. Log tail:\n{log_tail}"
    )]
    ServerExited {
        /// The port it was told to listen on.
        port: u16,
        /// Its exit status, as text.
        status: String,
        /// The last lines of its log file and of its stderr.
        log_tail: String,
    },

    /// `redis-server` kept running but did not answer PING in time.
    #[error(
        "redis-server on port {port} did not answer PING within {waited:?} \
         (machine overloaded, or an argument that blocks startup?). Log tail:\n{log_tail}"
    )]
    StartTimeout {
        /// The port it was told to listen on.
        port: u16,
        /// How long the kit waited.
        waited: Duration,
        /// The last lines of its log file and of its stderr.
        log_tail: String,
    },

    /// The port stayed taken by another process for as long as the kit retried.
    #[error(
        "port {port} stayed in use for {waited:?}: another process holds it; \
         pick another port with RedisServerBuilder::port, or let the kit choose one"
    )]
    PortInUse {
        /// The port that could not be bound.
        port: u16,
        /// How long the kit retried.
        waited: Duration,
    },

    /// A cluster node answered one of the kit's own commands with an error.
    #[error(
        "node {addr} refused `{command}` with `{reply}`; the node's log \
         (RedisCluster::node(i).log()) may say why"
    )]
    Refused {
        /// The node.
        addr: SocketAddr,
        /// The command, e.g. `CLUSTER SETSLOT 42 IMPORTING <id>`.
        command: String,
        /// The error reply.
        reply: String,
    },

    /// The cluster's nodes did not come to agree (on the map, `cluster_state:ok`,
    /// replication links) in time.
    #[error(
        "the cluster did not settle after {what} within {waited:?}: {state}; \
         a heavily loaded machine, or a node that died (see its log)"
    )]
    ClusterNotSettled {
        /// What was done before waiting, e.g. "a failover of node 3".
        what: String,
        /// How long the kit waited.
        waited: Duration,
        /// The last thing that was still wrong.
        state: String,
    },

    /// The sentinels of a [`RedisSentinelSet`](crate::RedisSentinelSet) did not come
    /// to agree (on the replica and each other, or on a new primary) in time.
    #[error(
        "the sentinel set did not settle after {what} within {waited:?}: {state}; \
         a heavily loaded machine, or a process that died (see its log)"
    )]
    SentinelNotSettled {
        /// What was done before waiting, e.g. "a kill of the primary".
        what: String,
        /// How long the kit waited.
        waited: Duration,
        /// The last thing that was still wrong.
        state: String,
    },

    /// A cluster helper was asked for something the cluster cannot do: a node index
    /// out of range, a failover on a primary, a fault on the shared cluster.
    #[error("{message}")]
    ClusterUsage {
        /// What was wrong and what to do instead.
        message: String,
    },

    /// A test certificate could not be made or written.
    #[error("TLS test certificates: {0}")]
    Tls(String),

    /// TLS was asked for but this server binary was built without it (Valkey's
    /// PyPI wheel, or a Redis built without `BUILD_TLS`). A TLS test should skip,
    /// saying so, rather than fail.
    #[error(
        "this redis-server has no TLS support (it refused --tls-port); install a build with \
         TLS (Debian's redis-server has it) or skip the TLS tests. Log tail:\n{log_tail}"
    )]
    TlsUnsupported {
        /// The last lines of its log file and of its stderr.
        log_tail: String,
    },

    /// The fault proxy's background thread could not set up its runtime or listener.
    #[error("fault proxy for upstream {upstream} could not start: {source}")]
    ProxyStart {
        /// The address the proxy was to forward to.
        upstream: SocketAddr,
        /// Why it failed.
        source: io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with what the kit was doing when it happened.
    pub(crate) fn io(action: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            action: action.into(),
            source,
        }
    }
}
