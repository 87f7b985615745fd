//! [`TlsConfig`]: how a `rediss://` connection trusts the server and proves itself.
//!
//! | file | owns |
//! |---|---|
//! | this file | the settings, set builder-style |
//! | `tls/build.rs` | the `rustls::ClientConfig` they make, built once per [`TlsConfig`] and shared by its clones, so every connection and reconnect of a client reuses it (and its TLS session cache) |
//! | `tls/verify.rs` | the two insecure verifiers |
//!
//! The connection layer (`connection/tls.rs`) runs the handshake and the records.

mod build;
mod verify;

pub(crate) use build::BUFFER_LIMIT;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The TLS settings of a [`crate::Config`]: trust, client certificate, server name
/// and the two insecure modes. `rediss://` and `valkeys://` URLs set the defaults.
///
/// By default the server's certificate must chain to one of the **system's trust
/// roots** (loaded with `rustls-native-certs`, which honours `SSL_CERT_FILE` and
/// `SSL_CERT_DIR`) and name the host the client connects to (an IP address is
/// checked against the certificate's IP SANs). The crypto provider is rustls's
/// `ring`, chosen explicitly, so a process that installed no default provider
/// works as well as one that did.
///
/// Files are read, and certificates and keys parsed, when the client connects
/// ([`crate::Client::connect_with`] fails with [`crate::Error::Config`] naming
/// the file); the result is kept for every later connection and reconnect.
///
/// ```
/// use redmux::{Config, TlsConfig};
///
/// let mut config = Config::from_url("rediss://cache.example.com:6380").unwrap();
/// config.tls = Some(
///     TlsConfig::new()
///         .ca_file("/etc/redis/ca.crt")
///         .client_cert_files("/etc/redis/client.crt", "/etc/redis/client.key"),
/// );
/// ```
#[derive(Clone, Default)]
pub struct TlsConfig {
    pub(crate) roots: Roots,
    pub(crate) client_cert: Option<ClientCert>,
    pub(crate) server_name: Option<String>,
    /// The user's names per node (`server_name_for`), asked before `server_name`.
    pub(crate) names: Option<NameFor>,
    pub(crate) verify: Verify,
    /// The rustls configuration built from the settings above, shared by the
    /// clones of this value; every setter starts a fresh one.
    pub(crate) built: Arc<OnceLock<Arc<rustls::ClientConfig>>>,
}

/// A user's mapping from a node's address (host, port) to the name its certificate
/// is checked against.
pub(crate) type NameFor = Arc<dyn Fn(&str, u16) -> Option<String> + Send + Sync>;

/// Which certificates the server's must chain to.
#[derive(Clone, Debug, Default)]
pub(crate) enum Roots {
    /// The system's trust store.
    #[default]
    System,
    /// A PEM file of CA certificates, read at connect.
    File(PathBuf),
    /// PEM text of CA certificates.
    Pem(Arc<[u8]>),
}

/// A client certificate chain and its private key, both PEM.
#[derive(Clone)]
pub(crate) enum ClientCert {
    Files { cert: PathBuf, key: PathBuf },
    Pem { cert: Arc<[u8]>, key: Arc<[u8]> },
}

/// How much of the server's certificate is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Verify {
    /// The chain, the validity dates and the name (the default).
    #[default]
    Full,
    /// The chain and the dates, not the name.
    SkipHostname,
    /// Nothing: any certificate is accepted (the handshake's signatures are still
    /// checked, so the key exchange is with whoever holds that certificate's key).
    None,
}

impl TlsConfig {
    /// The defaults: the system's trust roots, the host name as server name, full
    /// verification, no client certificate.
    ///
    /// ```
    /// let tls = redmux::TlsConfig::new();
    /// ```
    pub fn new() -> Self {
        TlsConfig::default()
    }

    /// Trusts the CA certificates in this PEM file *instead of* the system's roots
    /// (what `redis-cli --cacert` and `tls-ca-cert-file` do). Read at connect.
    ///
    /// ```
    /// let tls = redmux::TlsConfig::new().ca_file("/etc/redis/tls/ca.crt");
    /// ```
    pub fn ca_file(self, path: impl Into<PathBuf>) -> Self {
        self.with(|t| t.roots = Roots::File(path.into()))
    }

    /// As [`TlsConfig::ca_file`], with the PEM text itself.
    ///
    /// ```
    /// let pem = b"-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n".to_vec();
    /// let tls = redmux::TlsConfig::new().ca_pem(pem);
    /// ```
    pub fn ca_pem(self, pem: impl Into<Vec<u8>>) -> Self {
        self.with(|t| t.roots = Roots::Pem(pem.into().into()))
    }

    /// Presents this certificate (a PEM chain, leaf first) and private key (PEM:
    /// PKCS#8, PKCS#1 or SEC1) to a server that asks for one: mutual TLS, as
    /// `tls-auth-clients yes` requires. Read at connect.
    ///
    /// ```
    /// let tls = redmux::TlsConfig::new().client_cert_files("client.crt", "client.key");
    /// ```
    pub fn client_cert_files(self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        let (cert, key) = (cert.into(), key.into());
        self.with(|t| t.client_cert = Some(ClientCert::Files { cert, key }))
    }

    /// As [`TlsConfig::client_cert_files`], with the PEM text itself.
    ///
    /// ```
    /// # let (cert_pem, key_pem) = (Vec::new(), Vec::new());
    /// let tls = redmux::TlsConfig::new().client_cert_pem(cert_pem, key_pem);
    /// ```
    pub fn client_cert_pem(self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        let (cert, key) = (cert.into().into(), key.into().into());
        self.with(|t| t.client_cert = Some(ClientCert::Pem { cert, key }))
    }

    /// The name sent as SNI and checked against the certificate, in place of the
    /// host the client connects to: for a server reached by IP address or through a
    /// tunnel whose certificate names a host. An IP address here is checked against
    /// the certificate's IP SANs.
    ///
    /// ```
    /// let tls = redmux::TlsConfig::new().server_name("redis.internal.example.com");
    /// ```
    pub fn server_name(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.with(|t| t.server_name = Some(name))
    }

    /// Names each node's certificate from its address: `f(host, port)` is asked
    /// before every TLS connection, and its answer (when `Some`) is the name sent as
    /// SNI and checked, ahead of a cluster node's announced hostname and of
    /// [`server_name`](Self::server_name). For a cluster whose nodes are reached by
    /// IP address (or through tunnels) and each hold a certificate for its own name.
    ///
    /// A cluster node with no name from `f` is checked against the hostname it
    /// announces (`cluster-announce-hostname`, in `CLUSTER SLOTS`), if any, then
    /// against the address it is reached at.
    ///
    /// ```
    /// let tls = redmux::TlsConfig::new().server_name_for(|host, port| match port {
    ///     7000 => Some("node-a.redis.internal".to_owned()),
    ///     7001 => Some("node-b.redis.internal".to_owned()),
    ///     _ => None, // the announced hostname, or the host itself
    /// });
    /// ```
    pub fn server_name_for(
        self,
        f: impl Fn(&str, u16) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        let f: NameFor = Arc::new(f);
        // Names are given to each handshake, not to the rustls configuration:
        // what was built stays shared.
        TlsConfig {
            names: Some(f),
            ..self
        }
    }

    /// **Insecure.** Accepts a certificate that chains to a trusted root and is in
    /// its validity period but names another host. Anyone holding *any* certificate
    /// from a trusted CA can then pose as the server. Logged at warn on every
    /// connection.
    ///
    /// ```
    /// let tls = redmux::TlsConfig::new().danger_accept_invalid_hostnames(true);
    /// ```
    pub fn danger_accept_invalid_hostnames(self, accept: bool) -> Self {
        self.with(|t| {
            if t.verify != Verify::None {
                t.verify = if accept {
                    Verify::SkipHostname
                } else {
                    Verify::Full
                };
            }
        })
    }

    /// **Insecure.** Accepts any certificate at all: the traffic is encrypted, but
    /// to whoever answers. For tests and for self-signed servers you cannot get the
    /// CA of; prefer [`TlsConfig::ca_file`]. Wins over
    /// [`TlsConfig::danger_accept_invalid_hostnames`]. Logged at warn on every
    /// connection.
    ///
    /// ```
    /// let tls = redmux::TlsConfig::new().danger_accept_invalid_certs(true);
    /// ```
    pub fn danger_accept_invalid_certs(self, accept: bool) -> Self {
        self.with(|t| {
            t.verify = match (accept, t.verify) {
                (true, _) => Verify::None,
                (false, Verify::None) => Verify::Full,
                (false, other) => other,
            };
        })
    }

    /// Applies a change and forgets the configuration built from the old settings.
    fn with(mut self, change: impl FnOnce(&mut Self)) -> Self {
        change(&mut self);
        self.built = Arc::default();
        self
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let client_cert = self.client_cert.as_ref().map(|c| match c {
            ClientCert::Files { cert, .. } => cert.display().to_string(),
            ClientCert::Pem { .. } => "<pem>".to_string(),
        });
        f.debug_struct("TlsConfig")
            .field("roots", &self.roots)
            .field("client_cert", &client_cert)
            .field("server_name", &self.server_name)
            .field("server_name_for", &self.names.as_ref().map(|_| "<fn>"))
            .field("verify", &self.verify)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_modes_are_separate_and_no_verification_wins() {
        let t = TlsConfig::new().danger_accept_invalid_hostnames(true);
        assert_eq!(t.verify, Verify::SkipHostname);
        let t = t.danger_accept_invalid_certs(true);
        assert_eq!(t.verify, Verify::None);
        let t = t.danger_accept_invalid_hostnames(false);
        assert_eq!(t.verify, Verify::None);
        let t = t.danger_accept_invalid_certs(false);
        assert_eq!(t.verify, Verify::Full);
    }

    #[test]
    fn a_setter_forgets_what_was_built() {
        let t = TlsConfig::new();
        let clone = t.clone();
        assert!(Arc::ptr_eq(&t.built, &clone.built));
        let changed = clone.server_name("x");
        assert!(!Arc::ptr_eq(&t.built, &changed.built));
    }
}
