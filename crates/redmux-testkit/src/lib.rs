//! Test kit for redmux: a real `redis-server`, a real cluster and a fault-injecting TCP
//! proxy, so integration tests and benchmarks run against the real thing, with real
//! failures.
//!
//! # Modules
//!
//! - `server`: [`RedisServer`] spawns `redis-server` on a free port in a temp dir,
//!   waits until it answers PING, and can [`kill`](RedisServer::kill) and
//!   [`restart`](RedisServer::restart) it on the same port; dropping it kills the
//!   process. [`RedisServerBuilder`] adds a password, ACL users, a Unix socket, a
//!   fixed port or raw arguments. Synchronous, so it works from any test.
//! - `cluster`: [`RedisCluster`] starts N primaries with R replicas each (3 + 3 by
//!   default) on free ports, builds the cluster with `CLUSTER ADDSLOTSRANGE`, `MEET`
//!   and `REPLICATE`, and waits until every node agrees. Its helpers
//!   ([`failover`](RedisCluster::failover), [`kill`](RedisCluster::kill),
//!   [`restart`](RedisCluster::restart), [`migrate_slot`](RedisCluster::migrate_slot),
//!   [`begin_migration`](RedisCluster::begin_migration)) each wait for agreement again
//!   and report the time taken. [`RedisCluster::shared`] is one cluster per process for
//!   the tests that leave it alone.
//! - `sentinel`: [`RedisSentinelSet`]: a primary, a replica and three sentinels, ready
//!   once the sentinels know the replica and each other and the replica has synced
//!   (a few seconds);
//!   [`kill_primary`](RedisSentinelSet::kill_primary) waits for the failover and
//!   reports how long it took.
//! - `wire`: [`RawConnection`], a tiny blocking RESP client, and its [`Reply`]: how
//!   the kit talks to cluster nodes, and how a test looks at one node directly.
//! - `tls`: [`TlsFiles`], certificates made at test time with rcgen (a CA, server
//!   and client certificates, and wrong ones), for a server started with
//!   [`RedisServerBuilder::tls`] ([`TlsMode::ServerOnly`] or [`TlsMode::Mutual`],
//!   presenting a [`ServerCertificate`]). A server binary without TLS (Valkey's PyPI
//!   wheel) fails to start with [`Error::TlsUnsupported`], for tests to skip on.
//! - `proxy`: [`FaultProxy`] sits between a client and a server on its own thread and
//!   runtime, and on command adds latency (without capping throughput), stalls
//!   traffic, [`cut`](FaultProxy::cut)s connections ([`CutMode::Reset`] or
//!   [`CutMode::Close`]) or refuses new ones.
//! - `ports`: the ports the kit hands out, below the kernel's ephemeral range and
//!   leased machine-wide for as long as their server lives (restarts included), so
//!   parallel test processes never take one another's.
//! - `error`: [`Error`], whose messages say what to do (install redis, set
//!   `REDIS_SERVER_BIN`, read the log tail it carries).
//!
//! The server binary is `$REDIS_SERVER_BIN` if set, else `redis-server` from `PATH`.
//! A `valkey-server` works the same way (`scripts/test` runs the suite against both):
//! its flags are Redis's, and [`RedisServer::version`] is Valkey's own version.
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

mod cluster;
mod error;
mod ports;
mod proxy;
mod sentinel;
mod server;
mod tls;
mod wire;

pub use cluster::{
    ClusterNode, RedisCluster, RedisClusterBuilder, Role, SLOTS, Settled, SlotMigration,
    hash_tag_for_slot, key_slot,
};
pub use error::Error;
pub use proxy::{CutMode, FaultProxy};
pub use sentinel::{DOWN_AFTER, Failover, RedisSentinelSet, SENTINEL_SERVICE};
pub use server::{RedisServer, RedisServerBuilder};
pub use tls::{ServerCertificate, TlsFiles, TlsMode};
pub use wire::{RawConnection, Reply};
