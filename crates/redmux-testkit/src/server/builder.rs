//! [`RedisServerBuilder`]: what to run, turned into `redis-server` arguments.

use std::path::{Path, PathBuf};

use super::RedisServer;
use super::process::{self, Launch};
use crate::Error;
use crate::tls::{ServerCertificate, TlsFiles, TlsMode};

/// Configures a [`RedisServer`] before starting it.
///
/// The server always runs with persistence off (`--save ""`, `--appendonly no`), in its
/// own temp dir, bound to 127.0.0.1, with `--enable-debug-command yes` on redis 7+ so
/// tests can use `DEBUG SLEEP`. Everything else is the server's default unless set here.
///
/// # Example
///
/// ```
/// use redmux_testkit::RedisServer;
///
/// let server = RedisServer::builder()
///     .password("s3cret")
///     .acl_user("alice", "wonderland")
///     .unix_socket(true)
///     .arg("--maxmemory")
///     .arg("10mb")
///     .start()?;
/// assert!(server.unix_socket().is_some());
/// # Ok::<(), redmux_testkit::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until .start() is called"]
pub struct RedisServerBuilder {
    password: Option<String>,
    acl_users: Vec<(String, String)>,
    unix_socket: bool,
    extra_args: Vec<String>,
    port: Option<u16>,
    /// Where the temp dir goes; `None` is the system temp dir. A cluster keeps its nodes'
    /// dirs under one root, so one cleanup can find them all.
    temp_parent: Option<PathBuf>,
    tls: Option<TlsMode>,
    tls_certificate: ServerCertificate,
}

impl RedisServerBuilder {
    /// Requires clients to `AUTH <p>` first (`--requirepass p`). A PING without it gets
    /// `-NOAUTH`. The password is not put into [`RedisServer::url`].
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::builder().password("s3cret").start()?;
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn password(mut self, p: &str) -> Self {
        self.password = Some(p.to_owned());
        self
    }

    /// Adds an ACL user with full access: `user <user> on ><password> ~* &* +@all`.
    /// May be called several times. The `default` user is left as it is (open, unless
    /// [`password`](Self::password) is set).
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::builder()
    ///     .acl_user("alice", "wonderland")
    ///     .start()?;
    /// // AUTH alice wonderland now succeeds.
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn acl_user(mut self, user: &str, password: &str) -> Self {
        self.acl_users.push((user.to_owned(), password.to_owned()));
        self
    }

    /// Also listens on a Unix socket in the server's temp dir (`unixsocketperm 700`);
    /// its path is [`RedisServer::unix_socket`].
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::builder().unix_socket(true).start()?;
    /// let path = server.unix_socket().expect("enabled above");
    /// let stream = std::os::unix::net::UnixStream::connect(path).expect("connect");
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn unix_socket(mut self, on: bool) -> Self {
        self.unix_socket = on;
        self
    }

    /// Appends one raw argument to the `redis-server` command line, after the kit's own,
    /// so it can override them. Each word is its own call.
    ///
    /// Use [`port`](Self::port), not `--port`, to choose the port: the kit must know it.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::builder()
    ///     .arg("--maxmemory")
    ///     .arg("10mb")
    ///     .start()?;
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.extra_args.push(a.into());
        self
    }

    /// Listens on this port instead of a free one chosen by the kit. If the port is
    /// taken, [`start`](Self::start) retries for a short while, then fails with
    /// [`Error::PortInUse`].
    ///
    /// Choose it outside the ranges the kit hands out to other tests' servers
    /// (10,000..25,000 and 30,000..32,000) and below the kernel's ephemeral ports
    /// (32,768 and up), or another test may hold it.
    ///
    /// ```no_run
    /// let server = redmux_testkit::RedisServer::builder().port(28379).start()?;
    /// assert_eq!(server.port(), 28379);
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn port(mut self, p: u16) -> Self {
        self.port = Some(p);
        self
    }

    /// Creates the server's temp dir under `parent` instead of the system temp dir.
    pub(crate) fn temp_parent(mut self, parent: &Path) -> Self {
        self.temp_parent = Some(parent.to_path_buf());
        self
    }

    /// Serves TLS only: `--port 0 --tls-port P`, with certificates made at start in
    /// the server's temp dir ([`RedisServer::tls_files`]); [`RedisServer::url`] is
    /// then `rediss://127.0.0.1:P`. [`TlsMode::Mutual`] also requires a client
    /// certificate (`--tls-auth-clients yes`).
    ///
    /// A server binary built without TLS (Valkey's PyPI wheel) makes
    /// [`start`](Self::start) fail with [`Error::TlsUnsupported`]: a test should then
    /// print why and skip.
    ///
    /// ```
    /// use redmux_testkit::{Error, RedisServer, TlsMode};
    /// match RedisServer::builder().tls(TlsMode::Mutual).start() {
    ///     Ok(server) => assert!(server.url().starts_with("rediss://")),
    ///     Err(Error::TlsUnsupported { .. }) => eprintln!("skipped: no TLS in this server"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn tls(mut self, mode: TlsMode) -> Self {
        self.tls = Some(mode);
        self
    }

    /// Which certificate the TLS server presents (default: a valid one); the others
    /// are for tests that a client refuses them. Needs [`tls`](Self::tls).
    ///
    /// ```
    /// use redmux_testkit::{RedisServer, ServerCertificate, TlsMode};
    /// let builder = RedisServer::builder()
    ///     .tls(TlsMode::ServerOnly)
    ///     .tls_certificate(ServerCertificate::OtherHost);
    /// ```
    pub fn tls_certificate(mut self, certificate: ServerCertificate) -> Self {
        self.tls_certificate = certificate;
        self
    }

    /// Starts the server and returns once it answers PING (a TLS server: once it
    /// logs that it is ready and its port accepts connections).
    ///
    /// # Errors
    ///
    /// [`Error::BinaryNotFound`] or [`Error::BinaryUnusable`] when there is no server to
    /// run; [`Error::ServerExited`] when an argument is rejected (the message carries
    /// the log); [`Error::TlsUnsupported`] for TLS on a server built without it;
    /// [`Error::StartTimeout`], [`Error::PortInUse`], [`Error::Tls`] or [`Error::Io`]
    /// otherwise.
    ///
    /// ```
    /// let server = redmux_testkit::RedisServer::builder().start()?;
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn start(self) -> Result<RedisServer, Error> {
        let (binary, binary_from_env) = process::locate_binary();
        let version = process::server_version(&binary, binary_from_env)?;
        let mut temp = tempfile::Builder::new();
        temp.prefix("redmux-redis-");
        let dir = match &self.temp_parent {
            Some(parent) => temp.tempdir_in(parent),
            None => temp.tempdir(),
        }
        .map_err(|e| Error::io("creating a temp dir for redis-server", e))?;
        let unix_socket = self.unix_socket.then(|| dir.path().join("redis.sock"));
        let tls_files = match self.tls {
            Some(_) => Some(TlsFiles::generate(dir.path(), self.tls_certificate)?),
            None => None,
        };
        let mut args = self.arguments(dir.path(), &version);
        if let (Some(mode), Some(files)) = (self.tls, &tls_files) {
            args.extend(tls_arguments(mode, files));
        }
        let launch = Launch {
            binary,
            binary_from_env,
            args,
            log_path: dir.path().join("redis.log"),
            stderr_path: dir.path().join("stderr.log"),
            tls: self.tls.is_some(),
        };
        match RedisServer::launch(launch, self.port, dir, unix_socket, version, tls_files) {
            Err(Error::ServerExited { log_tail, .. })
                if (self.tls.is_some() || self.extra_args.iter().any(|a| a == "--tls-port"))
                    && lacks_tls(&log_tail) =>
            {
                Err(Error::TlsUnsupported { log_tail })
            }
            other => other,
        }
    }

    /// The command line, minus `--port`, which changes between attempts.
    fn arguments(&self, dir: &Path, version: &str) -> Vec<String> {
        let mut args: Vec<String> = [
            "--bind",
            "127.0.0.1",
            // Only loopback is bound, so protected mode would add nothing but confusion.
            "--protected-mode",
            "no",
            "--daemonize",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        args.push("--dir".to_owned());
        args.push(dir.display().to_string());
        args.push("--logfile".to_owned());
        args.push(dir.join("redis.log").display().to_string());
        if process::major_version(version) >= 7 {
            // Redis 7 refuses DEBUG by default; tests want DEBUG SLEEP for slow replies.
            args.extend(["--enable-debug-command".to_owned(), "yes".to_owned()]);
        }
        if let Some(password) = &self.password {
            args.extend(["--requirepass".to_owned(), password.clone()]);
        }
        for (user, password) in &self.acl_users {
            // Redis joins the words after `--user` into one config line, quoting any
            // word with a space: so each ACL rule must be its own argument.
            args.push("--user".to_owned());
            args.push(user.clone());
            for rule in ["on", &format!(">{password}"), "~*", "&*", "+@all"] {
                args.push(rule.to_owned());
            }
        }
        if self.unix_socket {
            args.push("--unixsocket".to_owned());
            args.push(dir.join("redis.sock").display().to_string());
            args.extend(["--unixsocketperm".to_owned(), "700".to_owned()]);
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// The TLS listener's arguments; `--port 0 --tls-port P` is added per attempt.
fn tls_arguments(mode: TlsMode, files: &TlsFiles) -> Vec<String> {
    let auth = match mode {
        TlsMode::ServerOnly => "no",
        TlsMode::Mutual => "yes",
    };
    vec![
        "--tls-cert-file".to_owned(),
        files.server_cert().display().to_string(),
        "--tls-key-file".to_owned(),
        files.server_key().display().to_string(),
        "--tls-ca-cert-file".to_owned(),
        files.ca().display().to_string(),
        "--tls-auth-clients".to_owned(),
        auth.to_owned(),
    ]
}

/// Whether a server that died at start said it has no TLS: Valkey's wheel logs
/// "Failed finding TLS support", a Redis built without TLS "Bad directive" on the
/// `tls-port` line. A TLS server failing for another reason (a bad certificate)
/// is *not* this, so its test fails rather than skips.
fn lacks_tls(log: &str) -> bool {
    log.contains("TLS support") || (log.contains("Bad directive") && log.contains("tls"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tls_is_told_from_a_broken_tls_server() {
        assert!(lacks_tls(
            "# Missing implement of connection type tls\n# Failed finding TLS support."
        ));
        assert!(lacks_tls(
            ">>> 'tls-port \"6380\"'\nBad directive or wrong number of arguments"
        ));
        assert!(!lacks_tls("# Failed to configure TLS: error:0A080002"));
    }

    #[test]
    fn mutual_tls_asks_for_client_certificates() {
        let args = tls_arguments(TlsMode::Mutual, &TlsFiles::at(Path::new("/tmp/x")));
        assert_eq!(args[args.len() - 2..], ["--tls-auth-clients", "yes"]);
        let args = tls_arguments(TlsMode::ServerOnly, &TlsFiles::at(Path::new("/tmp/x")));
        assert_eq!(args[args.len() - 2..], ["--tls-auth-clients", "no"]);
    }

    fn args(builder: RedisServerBuilder, version: &str) -> Vec<String> {
        builder.arguments(Path::new("/tmp/x"), version)
    }

    #[test]
    fn persistence_is_off_and_user_args_come_last() {
        let args = args(
            RedisServerBuilder::default().arg("--save").arg("60 1"),
            "7.0.0",
        );
        let joined = args.join(" ");
        assert!(joined.contains("--appendonly no"));
        assert!(joined.contains("--dir /tmp/x --logfile /tmp/x/redis.log"));
        assert_eq!(args[args.len() - 2..], ["--save", "60 1"]);
    }

    #[test]
    fn acl_rules_are_separate_words() {
        let args = args(
            RedisServerBuilder::default().acl_user("alice", "pw"),
            "7.0.0",
        );
        let at = args.iter().position(|a| a == "--user");
        assert_eq!(
            at.map(|i| &args[i..i + 7]),
            Some(&["--user", "alice", "on", ">pw", "~*", "&*", "+@all"].map(String::from)[..])
        );
    }

    #[test]
    fn debug_command_only_on_redis_7() {
        let on_7 = args(RedisServerBuilder::default(), "7.2.4");
        let on_6 = args(RedisServerBuilder::default(), "6.2.0");
        assert!(on_7.iter().any(|a| a == "--enable-debug-command"));
        assert!(!on_6.iter().any(|a| a == "--enable-debug-command"));
    }
}
