//! [`Config`]: where to connect, how to authenticate, and the client's limits; parsed
//! from a `redis://`, `rediss://` or `redis+unix://` URL or built by hand.
//! [`TlsConfig`] (in `tls.rs`) holds the TLS settings.

pub(crate) mod tls;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use redmux_resp::Limits;

use crate::credentials::CredentialsProvider;
use crate::error::{Error, Result};
use crate::sentinel::SentinelConfig;

/// Where to dial, asked again before every connect (the sentinels' current
/// primary). Set by the client when [`Config::sentinel`] is, never by hand: a
/// closure, so the connection layer calls it without knowing sentinels.
pub(crate) type Locate =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Addr>> + Send>> + Send + Sync>;

/// The replicas the sentinels list as up for the service, asked when a read
/// flagged for a replica needs them: a closure, so the router calls it without
/// knowing sentinels.
pub(crate) type FindReplicas =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Vec<Addr>>> + Send>> + Send + Sync>;

pub use tls::TlsConfig;

/// The server's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// A TCP host and port.
    Tcp {
        /// A host name or IP address (IPv6 without brackets).
        host: String,
        /// The port (default 6379).
        port: u16,
    },
    /// A Unix domain socket path.
    Unix(PathBuf),
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Addr::Tcp { host, port } => write!(f, "{host}:{port}"),
            Addr::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// The RESP version to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2: every server speaks it (the default).
    #[default]
    Resp2,
    /// RESP3 through `HELLO 3`: typed maps, doubles, booleans and push frames.
    Resp3,
}

/// Everything a [`crate::Client`] needs to connect and behave.
///
/// ```
/// use std::time::Duration;
/// let mut config = redmux::Config::from_url("redis://:secret@localhost:6380/2?protocol=resp3").unwrap();
/// assert_eq!(config.db, 2);
/// config.command_timeout = Duration::from_millis(250);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// Where the server is.
    pub addr: Addr,
    /// More places to reach the same deployment, tried in order when `addr` does
    /// not answer: the other seed nodes of a cluster (`redis://h1:p1,h2:p2` in a
    /// URL). Empty by default.
    pub seeds: Vec<Addr>,
    /// The ACL user name, if any (`AUTH user password`).
    pub username: Option<String>,
    /// The password, if any.
    pub password: Option<String>,
    /// The database to `SELECT` (default 0).
    pub db: i64,
    /// RESP2 (default) or RESP3.
    pub protocol: Protocol,
    /// A name to set with `CLIENT SETNAME`.
    pub client_name: Option<String>,
    /// How long connecting and the handshake may take (default 5 s).
    pub connect_timeout: Duration,
    /// The timeout of a command that sets none itself (default 5 s).
    /// `Duration::MAX` (here or in `.timeout(..)`) means no timeout; zero is refused
    /// at connect ([`crate::Error::Config`]): every command would time out unsent.
    pub command_timeout: Duration,
    /// The most bytes the writer puts in one write (default 1 MiB): a burst of a
    /// million commands streams out in pieces instead of one huge buffer.
    pub max_write_bytes: usize,
    /// Bounds on the replies the decoder accepts.
    pub limits: Limits,
    /// How the connection is rebuilt after it breaks.
    pub reconnect: ReconnectPolicy,
    /// What happens to commands submitted while the connection is down.
    pub backlog: BacklogPolicy,
    /// The most commands queued or backlogged at once (default 100,000). Past it an
    /// awaited command waits for room (up to its timeout) and a fire-and-forget one
    /// fails at once with [`crate::Error::Overloaded`].
    pub max_queued_commands: usize,
    /// The most bytes of queued or backlogged commands (default 64 MiB); as above.
    pub max_queued_bytes: usize,
    /// A `PING` is sent when nothing has been written for this long (default 1 s),
    /// so a dead idle link is found before a caller needs it. `Duration::MAX` means
    /// never; zero is refused at connect ([`crate::Error::Config`]).
    pub heartbeat_interval: Duration,
    /// The connection is declared dead and rebuilt when nothing has been read for
    /// this long (default 15 s, three default timeouts) while commands wait and either
    /// one of them timed out or a heartbeat `PING` sent with nothing else in flight
    /// went unanswered past its deadline (`max(heartbeat_interval, command_timeout)`):
    /// the half-open socket a kernel would otherwise keep for a quarter of an hour. A
    /// server busy with one long command keeps its connection while that command's
    /// own timeout has not passed.
    pub dead_link_timeout: Duration,
    /// One `tracing` span per awaited command, batch and transaction, named and
    /// attributed after OpenTelemetry's database conventions (default `false`).
    /// Off, a command pays one branch on this flag and nothing else. The fields
    /// are listed in `docs/observability.md`.
    ///
    /// ```
    /// let mut config = redmux::Config::from_url("redis://localhost:6379/2").unwrap();
    /// config.tracing = true;
    /// ```
    pub tracing: bool,

    /// TLS, when set (`rediss://` and `valkeys://` URLs set the defaults): every
    /// connection of the client (the shared one, the subscriber's, dedicated
    /// ones) is encrypted, and never falls back to plaintext. TCP only.
    ///
    /// ```
    /// let mut config = redmux::Config::from_url("redis://127.0.0.1:6380").unwrap();
    /// config.tls = Some(redmux::TlsConfig::new().ca_file("ca.crt"));
    /// ```
    pub tls: Option<TlsConfig>,
    /// Sentinel: the sentinels to ask for the primary, and its service name
    /// (`redis+sentinel://h1:p1,h2:p2/mymaster` in a URL). When set, `addr` is
    /// ignored at connect: every connect and reconnect asks the sentinels.
    pub sentinel: Option<SentinelConfig>,
    /// Asked for the user name and password at every connect and reconnect, in
    /// place of `username` and `password` (rotating tokens). See
    /// [`crate::CredentialsProvider`].
    pub credentials: Option<Arc<dyn CredentialsProvider>>,
    /// Set from `sentinel` by the client: what the connection layer asks for the
    /// address before each dial.
    pub(crate) locate: Option<Locate>,
    /// Sends `READONLY` in the handshake: set by the cluster layer on its replica
    /// connections only (users are refused READONLY on the shared connection).
    pub(crate) read_only: bool,
    /// Client-side caching (default `None`: off). Set, the shared connections
    /// speak RESP3 and turn on `CLIENT TRACKING`, and reads opt in with
    /// [`crate::Request::cached`]; see [`crate::ClientCache`].
    ///
    /// ```
    /// let mut config = redmux::Config::default();
    /// config.client_cache = Some(redmux::ClientCache::default());
    /// ```
    pub client_cache: Option<crate::cache::ClientCache>,
    /// The availability zone this client runs in (default `None`; URL option
    /// `availability_zone`). Set, a read flagged [`crate::Flags::PREFER_REPLICA`]
    /// or [`crate::Flags::DEMAND_REPLICA`] goes first to the replicas whose server
    /// reports the same zone (Valkey 8 and later, `availability-zone` in its
    /// configuration, read at each connect), round-robin among them; only when none
    /// of those is up does it go to another replica, and then as the flag says. A
    /// server that reports no zone (Redis) is never in the client's zone. Clusters
    /// and sentinel alike; it keeps cross-zone traffic (and its cost and latency)
    /// off the read path.
    ///
    /// ```
    /// let mut config = redmux::Config::from_url("redis://127.0.0.1:7000").unwrap();
    /// config.availability_zone = Some("eu-west-1a".into());
    /// let same = redmux::Config::from_url("redis://127.0.0.1:7000?availability_zone=eu-west-1a").unwrap();
    /// assert_eq!(same.availability_zone, config.availability_zone);
    /// ```
    pub availability_zone: Option<String>,
}

/// How a broken connection is rebuilt: exponential backoff with jitter.
///
/// ```
/// use std::time::Duration;
/// let mut config = redmux::Config::default();
/// config.reconnect.max_delay = Duration::from_secs(2);
/// config.reconnect.max_attempts = Some(10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// The first retry's delay (default 20 ms); each failure doubles it.
    pub initial_delay: Duration,
    /// The longest delay between attempts (default 500 ms, so a client is back
    /// within about half a second of the server's return).
    pub max_delay: Duration,
    /// Attempts before the client gives up and closes (default `None`: forever).
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(500),
            max_attempts: None,
        }
    }
}

/// What happens to a command submitted, or not yet written, while the connection
/// is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BacklogPolicy {
    /// It waits in the backlog and is sent after the reconnect, if its timeout has
    /// not passed by then (the default).
    #[default]
    Queue,
    /// It fails at once with [`crate::Error::ConnectionLost`] (status not sent).
    FailFast,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seeds: Vec::new(),
            addr: Addr::Tcp {
                host: "127.0.0.1".into(),
                port: 6379,
            },
            username: None,
            password: None,
            db: 0,
            protocol: Protocol::Resp2,
            client_name: None,
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(5),
            max_write_bytes: 1024 * 1024,
            limits: Limits::default(),
            reconnect: ReconnectPolicy::default(),
            backlog: BacklogPolicy::Queue,
            max_queued_commands: 100_000,
            max_queued_bytes: 64 * 1024 * 1024,
            heartbeat_interval: Duration::from_secs(1),
            dead_link_timeout: Duration::from_secs(15),
            tracing: false,
            tls: None,
            sentinel: None,
            credentials: None,
            locate: None,
            read_only: false,
            client_cache: None,
            availability_zone: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .field("protocol", &self.protocol)
            .field("client_name", &self.client_name)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("max_write_bytes", &self.max_write_bytes)
            .field("reconnect", &self.reconnect)
            .field("backlog", &self.backlog)
            .field("max_queued_commands", &self.max_queued_commands)
            .field("max_queued_bytes", &self.max_queued_bytes)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("dead_link_timeout", &self.dead_link_timeout)
            .field("tracing", &self.tracing)
            .field("tls", &self.tls)
            .field("sentinel", &self.sentinel)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<provider>"),
            )
            .field("client_cache", &self.client_cache)
            .field("availability_zone", &self.availability_zone)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Parses a URL:
    ///
    /// - `redis://[user[:password]@]host[:port][/db][?options]` (also `valkey://`)
    /// - `rediss://...`, `valkeys://...`: the same over TLS, with the default
    ///   [`TlsConfig`] (system roots, the host as server name); set
    ///   [`Config::tls`] afterwards for a CA file or a client certificate
    /// - `redis+unix:///path/to/socket[?db=N&options]` (also `unix://`)
    /// - `redis+sentinel://[user[:password]@]h1:p1,h2:p2,h3:p3/service[/db][?options]`
    ///   (also `valkey+sentinel://`): the primary the sentinels name; the user and
    ///   password are the data nodes', the sentinels' own are options.
    ///
    /// Options: `protocol=resp2|resp3`, `client_name=NAME` (or `name=`), `db=N`;
    /// with sentinel, `sentinel_username=` and `sentinel_password=`.
    /// User and password may be percent-encoded.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the part of the URL that is wrong. The password is
    /// never echoed.
    ///
    /// ```
    /// use redmux::{Addr, Config};
    /// let c = Config::from_url("redis://alice:p%40ss@[::1]:7000/3?client_name=web").unwrap();
    /// assert_eq!(c.addr, Addr::Tcp { host: "::1".into(), port: 7000 });
    /// assert_eq!(c.password.as_deref(), Some("p@ss"));
    /// let err = Config::from_url("redis://localhost:port").unwrap_err();
    /// assert!(err.to_string().contains("port"));
    /// let tls = Config::from_url("rediss://cache.example.com:6380").unwrap();
    /// assert!(tls.tls.is_some());
    /// ```
    pub fn from_url(url: &str) -> Result<Config> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            Error::config(format!(
                "URL {:?} has no scheme: expected redis://host:port or redis+unix:///path",
                redact(url)
            ))
        })?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let mut config = Config::default();
        match scheme.to_ascii_lowercase().as_str() {
            "redis" | "valkey" => parse_tcp(rest, &mut config, 6379)?,
            "redis+sentinel" | "valkey+sentinel" => parse_sentinel(rest, &mut config)?,
            "rediss+sentinel" | "valkeys+sentinel" => {
                parse_sentinel(rest, &mut config)?;
                config.tls = Some(TlsConfig::new());
                if let Some(sentinel) = config.sentinel.as_mut() {
                    sentinel.tls = Some(TlsConfig::new());
                }
            }
            "redis+unix" | "unix" | "valkey+unix" => {
                if rest.is_empty() {
                    return Err(Error::config("unix URL has no socket path"));
                }
                config.addr = Addr::Unix(PathBuf::from(percent_decode(rest, "socket path")?));
            }
            "rediss" | "valkeys" => {
                parse_tcp(rest, &mut config, 6379)?;
                config.tls = Some(TlsConfig::new());
            }
            other => {
                return Err(Error::config(format!(
                    "unknown URL scheme {other:?}: expected redis, rediss, redis+sentinel, rediss+sentinel, redis+unix or unix"
                )));
            }
        }
        if let Some(query) = query {
            parse_query(query, &mut config)?;
        }
        Ok(config)
    }

    /// Refuses, naming the field, a setting the client cannot work with; checked at
    /// connect.
    pub(crate) fn check(&self) -> Result<()> {
        if self.command_timeout.is_zero() {
            return Err(Error::config(
                "command_timeout is zero: every command would time out before it is sent (Duration::MAX means no timeout)",
            ));
        }
        if self.heartbeat_interval.is_zero() {
            return Err(Error::config(
                "heartbeat_interval is zero: the client would PING without pause (Duration::MAX means never)",
            ));
        }
        if let Some(tls) = &self.tls {
            if matches!(self.addr, Addr::Unix(_)) {
                return Err(Error::config(
                    "TLS over a Unix socket is not supported: use a TCP address, or set Config::tls to None",
                ));
            }
            // Reads the files now, so a bad one fails the connect call itself
            // (even a lazy one) rather than every reconnect attempt.
            tls.rustls_config()?;
        }
        Ok(())
    }
}

fn parse_tcp(rest: &str, config: &mut Config, default_port: u16) -> Result<()> {
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, p),
        None => (rest, ""),
    };
    let host_port = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                config.username = Some(percent_decode(user, "user name")?);
            }
            if let Some(p) = password {
                config.password = Some(percent_decode(p, "password")?);
            } else if !user.is_empty() {
                // `redis://secret@host`: a lone userinfo is a password, as redis-rs reads it.
                config.password = config.username.take();
            }
            host_port
        }
        None => authority,
    };
    // `h1:p1,h2:p2,...`: the first is the address, the rest are more seeds.
    let mut hosts = host_port.split(',');
    let host_port = hosts.next().unwrap_or_default();
    for seed in hosts {
        config.seeds.push(parse_host_port(seed, default_port)?);
    }
    config.addr = parse_host_port(host_port, default_port)?;
    if !path.is_empty() {
        config.db = parse_db(path)?;
    }
    Ok(())
}

/// `h1:p1,h2:p2/service[/db]`: the sentinels, then the service they watch.
fn parse_sentinel(rest: &str, config: &mut Config) -> Result<()> {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (service, db) = match path.split_once('/') {
        Some((service, db)) => (service, Some(db)),
        None => (path, None),
    };
    if service.is_empty() {
        return Err(Error::config(
            "sentinel URL has no service name: expected redis+sentinel://h1:p1,h2:p2/mymaster",
        ));
    }
    // A sentinel listens on 26379 unless told otherwise.
    parse_tcp(authority, config, 26379)?;
    let sentinels = std::iter::once(config.addr.clone())
        .chain(config.seeds.drain(..))
        .filter_map(|addr| match addr {
            Addr::Tcp { host, port } => Some((host, port)),
            Addr::Unix(_) => None,
        })
        .collect();
    let service = percent_decode(service, "service name")?;
    config.sentinel = Some(SentinelConfig::new(sentinels, service));
    if let Some(db) = db.filter(|db| !db.is_empty()) {
        config.db = parse_db(db)?;
    }
    Ok(())
}

/// `host`, `host:port` or `[v6]:port`, the port `default_port` when not given.
fn parse_host_port(host_port: &str, default_port: u16) -> Result<Addr> {
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| Error::config("IPv6 host in URL has no closing ']'"))?;
        (host, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err(Error::config("URL has no host"));
    }
    let port =
        match port {
            None => default_port,
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                Error::config(format!("invalid port {p:?} in URL: expected 1-65535"))
            })?,
        };
    Ok(Addr::Tcp {
        host: host.to_string(),
        port,
    })
}

fn parse_db(text: &str) -> Result<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|db| *db >= 0)
        .ok_or_else(|| {
            Error::config(format!(
                "invalid database {text:?} in URL: expected a number like /0"
            ))
        })
}

fn parse_query(query: &str, config: &mut Config) -> Result<()> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value, key)?;
        match key {
            "db" => config.db = parse_db(&value)?,
            "protocol" | "resp" => {
                config.protocol = match value.to_ascii_lowercase().as_str() {
                    "resp2" | "2" => Protocol::Resp2,
                    "resp3" | "3" => Protocol::Resp3,
                    _ => {
                        return Err(Error::config(format!(
                            "invalid protocol {value:?} in URL: expected resp2 or resp3"
                        )));
                    }
                }
            }
            "client_name" | "name" => config.client_name = Some(value),
            "availability_zone" => config.availability_zone = Some(value),
            "sentinel_username" | "sentinel_password" => {
                let Some(sentinel) = config.sentinel.as_mut() else {
                    return Err(Error::config(format!(
                        "URL option {key:?} needs a redis+sentinel:// URL"
                    )));
                };
                match key {
                    "sentinel_username" => sentinel.username = Some(value),
                    _ => sentinel.password = Some(value),
                }
            }
            other => {
                return Err(Error::config(format!(
                    "unknown URL option {other:?}: expected db, protocol, client_name or availability_zone"
                )));
            }
        }
    }
    Ok(())
}

fn percent_decode(text: &str, what: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::config(format!("invalid percent-encoding in the URL's {what}"))
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::config(format!("the URL's {what} is not UTF-8")))
}

/// The URL with any password replaced, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            format!("{}://<credentials>@{}", &url[..s], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(url: &str) -> String {
        Config::from_url(url).unwrap_err().to_string()
    }

    #[test]
    fn tcp_forms() {
        let c = Config::from_url("redis://localhost").unwrap();
        assert_eq!(
            c.addr,
            Addr::Tcp {
                host: "localhost".into(),
                port: 6379
            }
        );
        let c = Config::from_url("redis://u:p@h:1/5?protocol=resp3&name=x").unwrap();
        assert_eq!(
            (c.username.as_deref(), c.password.as_deref()),
            (Some("u"), Some("p"))
        );
        assert_eq!(
            (c.db, c.protocol, c.client_name.as_deref()),
            (5, Protocol::Resp3, Some("x"))
        );
        let c = Config::from_url("redis://:only@h").unwrap();
        assert_eq!((c.username, c.password.as_deref()), (None, Some("only")));
    }

    #[test]
    fn tls_schemes_turn_tls_on() {
        for url in [
            "rediss://h:6380/1",
            "valkeys://h:6380/1",
            "REDISS://h:6380/1",
        ] {
            let c = Config::from_url(url).unwrap();
            assert!(c.tls.is_some(), "{url}");
            assert_eq!((c.addr.to_string(), c.db), ("h:6380".into(), 1));
        }
        assert!(Config::from_url("redis://h").unwrap().tls.is_none());
        let mut c = Config::from_url("redis+unix:///tmp/s").unwrap();
        c.tls = Some(TlsConfig::new());
        assert!(c.check().unwrap_err().to_string().contains("Unix"));
    }

    #[test]
    fn unix_forms() {
        let c = Config::from_url("redis+unix:///tmp/r.sock?db=3").unwrap();
        assert_eq!((c.addr, c.db), (Addr::Unix("/tmp/r.sock".into()), 3));
        let c = Config::from_url("unix:///tmp/r.sock").unwrap();
        assert_eq!(c.addr, Addr::Unix("/tmp/r.sock".into()));
    }

    #[test]
    fn bad_parts_are_named() {
        assert!(err("localhost:6379").contains("no scheme"));
        assert!(err("http://x").contains("scheme \"http\""));
        assert!(err("redis://h:99999").contains("port \"99999\""));
        assert!(err("redis://h/abc").contains("database \"abc\""));
        assert!(err("redis://h?protocol=resp9").contains("protocol \"resp9\""));
        assert!(err("redis://h?timeout=1").contains("option \"timeout\""));
        assert!(err("redis://[::1:80").contains("']'"));
        assert!(err("rediss://h:x").contains("port"));
        assert!(!err("redis://u:hunter2@h:x").contains("hunter2"));
        assert!(err("redis+sentinel://h:1,h:2").contains("service name"));
        assert!(err("redis://h?sentinel_password=x").contains("sentinel"));
    }

    #[test]
    fn sentinel_forms() {
        let c = Config::from_url(
            "valkey+sentinel://u:p@a:26379,b:26380,[::1]/my%20svc/3?sentinel_password=s",
        )
        .unwrap();
        let sentinel = c.sentinel.unwrap();
        assert_eq!(
            sentinel.sentinels,
            vec![
                ("a".to_string(), 26379),
                ("b".to_string(), 26380),
                ("::1".to_string(), 26379)
            ]
        );
        assert_eq!(sentinel.service_name, "my svc");
        assert_eq!(sentinel.password.as_deref(), Some("s"));
        assert_eq!((c.db, c.password.as_deref()), (3, Some("p")));
        assert!(c.seeds.is_empty());
        let c = Config::from_url("redis+sentinel://a:1/m").unwrap();
        assert_eq!(
            (c.db, c.sentinel.map(|s| s.service_name)),
            (0, Some("m".into()))
        );
    }
}
