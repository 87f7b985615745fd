//! [`SentinelConfig`]: which sentinels to ask, for which service, with which
//! credentials. Pure data: parsed from a `redis+sentinel://` URL by `config.rs`, or
//! built by hand.

use std::fmt;

use crate::config::TlsConfig;

/// The sentinels a client asks for the primary, and the service they watch.
///
/// ```
/// let mut config = redmux::Config::default();
/// let mut sentinel = redmux::SentinelConfig::new(
///     vec![("10.0.0.1".to_string(), 26379), ("10.0.0.2".to_string(), 26379)],
///     "mymaster",
/// );
/// sentinel.password = Some("sentinel-secret".into());
/// config.sentinel = Some(sentinel);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct SentinelConfig {
    /// The sentinels, as host and port, in the order they are tried first. The
    /// list the client keeps grows with what `SENTINEL SENTINELS` reports.
    pub sentinels: Vec<(String, u16)>,
    /// The name the sentinels monitor the primary under (`mymaster`).
    pub service_name: String,
    /// The sentinels' own ACL user, if they need one.
    pub username: Option<String>,
    /// The sentinels' own password (`requirepass` in `sentinel.conf`), if any.
    pub password: Option<String>,
    /// TLS to the sentinels, set apart from the data nodes' ([`crate::Config::tls`]):
    /// `None` talks to them in plaintext. A `rediss+sentinel://` (or
    /// `valkeys+sentinel://`) URL sets both to the defaults; a private CA is then set
    /// on each.
    ///
    /// ```
    /// use redmux::{Config, TlsConfig};
    /// let mut config = Config::from_url("rediss+sentinel://10.0.0.1:26380/mymaster").unwrap();
    /// let tls = TlsConfig::new().ca_file("/etc/redis/ca.crt");
    /// config.tls = Some(tls.clone());
    /// if let Some(sentinel) = config.sentinel.as_mut() {
    ///     sentinel.tls = Some(tls);
    /// }
    /// ```
    pub tls: Option<TlsConfig>,
}

impl SentinelConfig {
    /// Sentinels at `sentinels` watching `service_name`, with no credentials.
    ///
    /// ```
    /// let s = redmux::SentinelConfig::new(vec![("127.0.0.1".into(), 26379)], "mymaster");
    /// assert_eq!(s.service_name, "mymaster");
    /// ```
    pub fn new(sentinels: Vec<(String, u16)>, service_name: impl Into<String>) -> SentinelConfig {
        SentinelConfig {
            sentinels,
            service_name: service_name.into(),
            username: None,
            password: None,
            tls: None,
        }
    }
}

impl fmt::Debug for SentinelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentinelConfig")
            .field("sentinels", &self.sentinels)
            .field("service_name", &self.service_name)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .finish()
    }
}
