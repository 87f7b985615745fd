//! [`RedisSentinelSet`]: one primary, one replica and three sentinels watching them,
//! on free ports, each in a fresh temp dir; [`kill_primary`](RedisSentinelSet::kill_primary)
//! kills the primary with SIGKILL and waits until every sentinel names the replica.
//!
//! The data servers are [`RedisServer`]s. The sentinels are spawned here: a sentinel
//! needs its config file as the *first* argument (and a writable one: sentinels
//! rewrite it), which the server's launcher, `--port` first, cannot give.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::ports::{self, PortLease};
use crate::server::process;
use crate::wire::{RawConnection, Reply};
use crate::{Error, RedisServer, ServerCertificate, TlsFiles};

/// The name the sentinels monitor the primary under.
pub const SENTINEL_SERVICE: &str = "mymaster";

/// How long the sentinels may take to find the replica and each other. They find
/// replicas through INFO every 10 s: about 10 s is the measured norm.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(40);

/// How long a failover may take before it is declared stuck (measured: about 2 s).
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the sentinels are polled while waiting.
const POLL: Duration = Duration::from_millis(20);

/// `down-after-milliseconds`: how long the primary must be silent before a
/// sentinel thinks it down.
pub const DOWN_AFTER: Duration = Duration::from_millis(500);

/// How long one failover of a sentinel set took, as [`RedisSentinelSet::kill_primary`]
/// measured it from the kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failover {
    /// Until the promoted replica answered `ROLE` with `master`.
    pub promoted: Duration,
    /// Until every sentinel named the replica in `SENTINEL GET-MASTER-ADDR-BY-NAME`.
    pub sentinels_agree: Duration,
}

/// One primary, one replica (`--replicaof`) and three sentinels, each process in a
/// fresh temp dir (sentinels get a fresh `sentinel.conf`, which they rewrite);
/// dropping it kills them all.
///
/// [`start`](Self::start) returns once every sentinel sees the replica and the two
/// other sentinels (`SENTINEL MASTER`'s `num-slaves` and `num-other-sentinels`),
/// and the replica has finished its first sync (`master_link_status:up`), which
/// takes a few seconds: before that a failover has no replica to pick, or one
/// without the primary's data.
///
/// ```no_run
/// use redmux_testkit::RedisSentinelSet;
/// let set = RedisSentinelSet::start()?;
/// println!("connect to {}", set.url());
/// let failover = set.kill_primary()?;
/// println!("promoted after {:?}", failover.promoted);
/// # Ok::<(), redmux_testkit::Error>(())
/// ```
#[derive(Debug)]
pub struct RedisSentinelSet {
    primary: RedisServer,
    replica: RedisServer,
    sentinels: Vec<Sentinel>,
    /// A set started with [`RedisSentinelSet::start_tls`]: the certificates, and
    /// each data node's TLS port (primary, replica).
    tls: Option<SetTls>,
}

/// What a TLS set adds: every process also serves TLS, and everything between them
/// (replication, sentinel links) is TLS; the kit keeps the plaintext ports.
#[derive(Debug)]
struct SetTls {
    files: TlsFiles,
    primary_port: PortLease,
    replica_port: PortLease,
    /// Holds the certificates; removed after the processes (fields drop after
    /// the set's own, which are declared first).
    _dir: TempDir,
}

/// One sentinel process, killed on drop.
#[derive(Debug)]
struct Sentinel {
    /// Leased, as every port the kit chooses (see `ports`).
    port: PortLease,
    /// Its TLS port, in a TLS set.
    tls_port: Option<PortLease>,
    child: Mutex<Option<Child>>,
    /// Its config, log and working dir. Declared last: removed after the process
    /// is gone.
    _dir: TempDir,
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let slot = self.child.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(mut child) = slot.take() {
            process::stop(&mut child);
        }
    }
}

impl RedisSentinelSet {
    /// Starts the five processes and waits until the sentinels know the replica and
    /// each other, and the replica has the primary's data (its first sync is done).
    ///
    /// # Errors
    ///
    /// As [`RedisServer::start`] for the servers; [`Error::SentinelNotSettled`] when
    /// the sentinels did not discover each other and the replica, or the replica did
    /// not sync, within 40 s.
    ///
    /// ```no_run
    /// let set = redmux_testkit::RedisSentinelSet::start()?;
    /// assert_eq!(set.sentinel_addrs().len(), 3);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn start() -> Result<RedisSentinelSet, Error> {
        RedisSentinelSet::start_with(None)
    }

    /// [`start`](Self::start), with TLS everywhere: the primary, the replica and the
    /// sentinels each also serve TLS (certificates made now: [`tls_files`](Self::tls_files)),
    /// replication and the sentinels' links to the nodes and to each other are TLS,
    /// and the sentinels name the nodes' TLS ports. [`url`](Self::url) is then
    /// `rediss+sentinel://` at the sentinels' TLS ports. The kit itself keeps using
    /// the plaintext ports. Needs a server built with TLS ([`Error::TlsUnsupported`]
    /// otherwise: Valkey's PyPI wheel).
    ///
    /// ```no_run
    /// let set = redmux_testkit::RedisSentinelSet::start_tls()?;
    /// assert!(set.url().starts_with("rediss+sentinel://"));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn start_tls() -> Result<RedisSentinelSet, Error> {
        let dir = tempfile::Builder::new()
            .prefix("redmux-sentinel-tls-")
            .tempdir()
            .map_err(|e| Error::io("creating a temp dir for TLS certificates", e))?;
        let files = TlsFiles::generate(dir.path(), ServerCertificate::Valid)?;
        RedisSentinelSet::start_with(Some((files, dir)))
    }

    fn start_with(tls: Option<(TlsFiles, TempDir)>) -> Result<RedisSentinelSet, Error> {
        let files = tls.as_ref().map(|(files, _)| files);
        let (primary, primary_tls) = data_node(files, None)?;
        let upstream = primary_tls.as_ref().map_or(primary.port(), PortLease::port);
        let (replica, replica_tls) = data_node(files, Some(upstream))?;
        let mut sentinels = Vec::with_capacity(3);
        for _ in 0..3 {
            sentinels.push(Sentinel::start(upstream, files)?);
        }
        let tls = match (tls, primary_tls, replica_tls) {
            (Some((files, dir)), Some(primary_port), Some(replica_port)) => Some(SetTls {
                files,
                primary_port,
                replica_port,
                _dir: dir,
            }),
            _ => None,
        };
        let set = RedisSentinelSet {
            primary,
            replica,
            sentinels,
            tls,
        };
        set.wait_discovered()?;
        Ok(set)
    }

    /// The certificates of a set started with [`start_tls`](Self::start_tls).
    ///
    /// ```no_run
    /// let set = redmux_testkit::RedisSentinelSet::start_tls()?;
    /// assert!(set.tls_files().unwrap().ca().exists());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_ref().map(|t| &t.files)
    }

    /// The address the sentinels name for the replica (its TLS port in a TLS set).
    fn replica_named(&self) -> SocketAddr {
        match &self.tls {
            Some(tls) => SocketAddr::from((Ipv4Addr::LOCALHOST, tls.replica_port.port())),
            None => self.replica.addr(),
        }
    }

    /// The address the sentinels name for the primary at start (its TLS port in a
    /// TLS set).
    ///
    /// ```no_run
    /// let set = redmux_testkit::RedisSentinelSet::start()?;
    /// assert_eq!(set.primary_named(), set.primary().addr());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn primary_named(&self) -> SocketAddr {
        match &self.tls {
            Some(tls) => SocketAddr::from((Ipv4Addr::LOCALHOST, tls.primary_port.port())),
            None => self.primary.addr(),
        }
    }

    /// The sentinels' addresses.
    ///
    /// ```no_run
    /// let set = redmux_testkit::RedisSentinelSet::start()?;
    /// assert!(set.sentinel_addrs().iter().all(|a| a.ip().is_loopback()));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn sentinel_addrs(&self) -> Vec<SocketAddr> {
        self.sentinels.iter().map(Sentinel::addr).collect()
    }

    /// `redis+sentinel://127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3/mymaster`.
    ///
    /// ```no_run
    /// let set = redmux_testkit::RedisSentinelSet::start()?;
    /// assert!(set.url().ends_with("/mymaster"));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| {
                format!(
                    "127.0.0.1:{}",
                    s.tls_port.as_ref().unwrap_or(&s.port).port()
                )
            })
            .collect();
        let scheme = match self.tls {
            Some(_) => "rediss+sentinel",
            None => "redis+sentinel",
        };
        format!("{scheme}://{}/{SENTINEL_SERVICE}", hosts.join(","))
    }

    /// The server that was the primary at start (dead after
    /// [`kill_primary`](Self::kill_primary)).
    ///
    /// ```no_run
    /// let set = redmux_testkit::RedisSentinelSet::start()?;
    /// assert!(set.primary().is_running());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn primary(&self) -> &RedisServer {
        &self.primary
    }

    /// The server that was the replica at start: the primary after
    /// [`kill_primary`](Self::kill_primary).
    ///
    /// ```no_run
    /// let set = redmux_testkit::RedisSentinelSet::start()?;
    /// assert_ne!(set.replica().port(), set.primary().port());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn replica(&self) -> &RedisServer {
        &self.replica
    }

    /// The primary each sentinel names now (`None` for one that does not answer).
    ///
    /// ```no_run
    /// let set = redmux_testkit::RedisSentinelSet::start()?;
    /// assert!(set.named_primaries().iter().all(|p| *p == Some(set.primary().addr())));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn named_primaries(&self) -> Vec<Option<SocketAddr>> {
        self.sentinels.iter().map(Sentinel::named_primary).collect()
    }

    /// Kills the primary with SIGKILL and returns once every sentinel names the
    /// replica and the replica says it is the primary, with the times measured from
    /// the kill.
    ///
    /// # Errors
    ///
    /// [`Error::SentinelNotSettled`] when that did not happen within 30 s.
    ///
    /// ```no_run
    /// let set = redmux_testkit::RedisSentinelSet::start()?;
    /// let failover = set.kill_primary()?;
    /// assert!(failover.sentinels_agree >= std::time::Duration::from_millis(500));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn kill_primary(&self) -> Result<Failover, Error> {
        let killed = Instant::now();
        self.primary.kill();
        let target = Some(self.replica_named());
        let mut promoted = None;
        let mut agree = None;
        while promoted.is_none() || agree.is_none() {
            if killed.elapsed() > FAILOVER_TIMEOUT {
                return Err(Error::SentinelNotSettled {
                    what: "a kill of the primary".into(),
                    waited: killed.elapsed(),
                    state: format!(
                        "sentinels name {:?}, replica promoted: {}",
                        self.named_primaries(),
                        promoted.is_some()
                    ),
                });
            }
            if promoted.is_none() && role_of(self.replica.addr()).as_deref() == Some("master") {
                promoted = Some(killed.elapsed());
            }
            if agree.is_none() && self.named_primaries().iter().all(|p| *p == target) {
                agree = Some(killed.elapsed());
            }
            thread::sleep(POLL);
        }
        Ok(Failover {
            promoted: promoted.unwrap_or_default(),
            sentinels_agree: agree.unwrap_or_default(),
        })
    }

    /// Waits until every sentinel sees at least one replica and two other sentinels,
    /// and the replica has loaded the primary's data. A sentinel lists the replica as
    /// soon as it asks for a sync, before it has any data: a test that wrote to the
    /// primary and killed it then had its writes vanish with the failover.
    fn wait_discovered(&self) -> Result<(), Error> {
        let started = Instant::now();
        loop {
            let states: Vec<(i64, i64)> = self.sentinels.iter().map(Sentinel::counts).collect();
            let synced = replica_synced(self.replica.addr());
            if synced
                && states
                    .iter()
                    .all(|(slaves, others)| *slaves >= 1 && *others == 2)
            {
                return Ok(());
            }
            if started.elapsed() > DISCOVERY_TIMEOUT {
                return Err(Error::SentinelNotSettled {
                    what: "starting the set".into(),
                    waited: started.elapsed(),
                    state: format!(
                        "(num-slaves, num-other-sentinels) per sentinel: {states:?}; \
                         replica synced: {synced}"
                    ),
                });
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Sentinel {
    /// Writes a fresh `sentinel.conf` and starts the sentinel on a free port,
    /// trying another port if the one found is taken before the sentinel binds it.
    fn start(primary_port: u16, tls: Option<&TlsFiles>) -> Result<Sentinel, Error> {
        let dir = tempfile::Builder::new()
            .prefix("redmux-sentinel-")
            .tempdir()
            .map_err(|e| Error::io("creating a temp dir for a sentinel", e))?;
        let mut last = None;
        for _ in 0..5 {
            let port = ports::lease_free()?;
            let tls_port = match tls {
                Some(_) => Some(ports::lease_free()?),
                None => None,
            };
            let tls_conf = match (tls, &tls_port) {
                (Some(files), Some(tls_port)) => tls_lines(files, tls_port.port()),
                _ => String::new(),
            };
            match spawn(dir.path(), port.port(), primary_port, &tls_conf) {
                Ok(child) => {
                    return Ok(Sentinel {
                        port,
                        tls_port,
                        child: Mutex::new(Some(child)),
                        _dir: dir,
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::io("starting a sentinel", std::io::Error::other("no attempt"))
        }))
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port.port()))
    }

    fn call(&self, args: &[&str]) -> Option<Reply> {
        RawConnection::open(self.addr()).ok()?.exchange(args).ok()
    }

    /// `SENTINEL MASTER mymaster`'s `num-slaves` and `num-other-sentinels`.
    fn counts(&self) -> (i64, i64) {
        let Some(Reply::Array(fields)) = self.call(&["SENTINEL", "MASTER", SENTINEL_SERVICE])
        else {
            return (-1, -1);
        };
        let field = |name: &str| {
            fields
                .chunks_exact(2)
                .find(|pair| pair[0].as_str() == Some(name))
                .and_then(|pair| pair[1].as_str()?.parse().ok())
                .unwrap_or(-1)
        };
        (field("num-slaves"), field("num-other-sentinels"))
    }

    fn named_primary(&self) -> Option<SocketAddr> {
        let reply = self.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_SERVICE])?;
        let pair = reply.as_array()?;
        let ip: Ipv4Addr = pair.first()?.as_str()?.parse().ok()?;
        let port: u16 = pair.get(1)?.as_str()?.parse().ok()?;
        Some(SocketAddr::from((ip, port)))
    }
}

/// What a sentinel logs once it listens: "Sentinel ID is <id>", on both servers.
const SENTINEL_RUNNING: &str = "Sentinel ID is";

/// Spawns one sentinel with a fresh config in `dir` and waits until it answers PING.
fn spawn(dir: &Path, port: u16, primary_port: u16, tls_conf: &str) -> Result<Child, Error> {
    let conf = dir.join("sentinel.conf");
    let log = dir.join("sentinel.log");
    let text = format!(
        "port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {dir}\nlogfile {log}\n\
         sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {primary_port} 2\n\
         sentinel down-after-milliseconds {SENTINEL_SERVICE} {down}\n\
         sentinel failover-timeout {SENTINEL_SERVICE} 2000\n{tls_conf}",
        dir = dir.display(),
        log = log.display(),
        down = DOWN_AFTER.as_millis(),
    );
    fs::write(&conf, text).map_err(|e| Error::io("writing sentinel.conf", e))?;
    let (binary, from_env) = process::locate_binary();
    let stderr_path: PathBuf = dir.join("stderr.log");
    let stderr = fs::File::create(&stderr_path)
        .map_err(|e| Error::io("creating a sentinel's stderr file", e))?;
    let stdout = stderr
        .try_clone()
        .map_err(|e| Error::io("duplicating a sentinel's stderr file", e))?;
    let log_offset = process::file_len(&log);
    let mut child = Command::new(&binary)
        .arg(&conf)
        .arg("--sentinel")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|source| process::spawn_error(&binary, from_env, source))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let started = Instant::now();
    loop {
        if let Some(status) = process::exited(&mut child) {
            return Err(Error::ServerExited {
                port,
                status,
                log_tail: format!(
                    "{}\n--- stderr ---\n{}",
                    process::read_from(&log, 0),
                    process::read_from(&stderr_path, 0)
                ),
            });
        }
        // As for a data server: the log proves our sentinel bound the port (it names
        // its ID only after listening) before a PING, which a stranger on the same
        // free port could answer, is believed.
        if process::read_from(&log, log_offset).contains(SENTINEL_RUNNING)
            && process::answers_ping(addr)
        {
            return Ok(child);
        }
        if started.elapsed() > process::START_TIMEOUT {
            process::stop(&mut child);
            return Err(Error::StartTimeout {
                port,
                waited: started.elapsed(),
                log_tail: process::read_from(&log, 0),
            });
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// A primary (`upstream` `None`) or its replica, with a TLS port too when `tls` is
/// given (replication then over TLS, to `upstream`'s TLS port); returns the server
/// and its TLS port.
fn data_node(
    tls: Option<&TlsFiles>,
    upstream: Option<u16>,
) -> Result<(RedisServer, Option<PortLease>), Error> {
    // The primary's default 5 s wait before a replica's first (diskless) sync held
    // the set back that long: the cluster's nodes drop it too.
    let mut builder = RedisServer::builder()
        .arg("--repl-diskless-sync-delay")
        .arg("0");
    if let Some(upstream) = upstream {
        builder = builder
            .arg("--replicaof")
            .arg("127.0.0.1")
            .arg(upstream.to_string());
    }
    let Some(files) = tls else {
        return Ok((builder.start()?, None));
    };
    let tls_port = ports::lease_free()?;
    for arg in tls_args(files, tls_port.port()) {
        builder = builder.arg(arg);
    }
    Ok((builder.start()?, Some(tls_port)))
}

/// A server's TLS settings as arguments: its TLS port, the certificates, TLS for
/// replication; clients need no certificate.
fn tls_args(files: &TlsFiles, tls_port: u16) -> Vec<String> {
    let path = |p: PathBuf| p.to_string_lossy().into_owned();
    vec![
        "--tls-port".into(),
        tls_port.to_string(),
        "--tls-cert-file".into(),
        path(files.server_cert()),
        "--tls-key-file".into(),
        path(files.server_key()),
        "--tls-ca-cert-file".into(),
        path(files.ca()),
        "--tls-auth-clients".into(),
        "no".into(),
        "--tls-replication".into(),
        "yes".into(),
    ]
}

/// The same settings as `sentinel.conf` lines: with `tls-replication`, a sentinel's
/// links to the nodes and to other sentinels are TLS, and it announces its TLS port.
fn tls_lines(files: &TlsFiles, tls_port: u16) -> String {
    tls_args(files, tls_port)
        .chunks_exact(2)
        .map(|pair| format!("{} {}\n", pair[0].trim_start_matches("--"), pair[1]))
        .collect()
}

/// The first word of `ROLE` from the server at `addr`, if it answers.
/// True once the replica at `addr` has its primary's data (`master_link_status:up`).
fn replica_synced(addr: SocketAddr) -> bool {
    let Ok(mut connection) = RawConnection::open(addr) else {
        return false;
    };
    connection
        .exchange(&["INFO", "replication"])
        .ok()
        .and_then(|reply| {
            reply
                .as_str()
                .map(|text| text.contains("master_link_status:up"))
        })
        .unwrap_or(false)
}

fn role_of(addr: SocketAddr) -> Option<String> {
    let reply = RawConnection::open(addr).ok()?.exchange(&["ROLE"]).ok()?;
    Some(reply.as_array()?.first()?.as_str()?.to_owned())
}
