//! [`TlsFiles`]: certificates made at test time with rcgen (no openssl tool), for a
//! TLS server and for the clients of the tests, right and wrong.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};

use crate::Error;

/// Whether a TLS server asks clients for a certificate (`--tls-auth-clients`).
///
/// ```
/// let mode = redmux_testkit::TlsMode::Mutual;
/// assert_ne!(mode, redmux_testkit::TlsMode::ServerOnly);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `--tls-auth-clients no`: only the server shows a certificate.
    ServerOnly,
    /// `--tls-auth-clients yes`: a client must show one signed by [`TlsFiles::ca`].
    Mutual,
}

/// Which certificate a TLS server presents; all but [`ServerCertificate::Valid`]
/// are for tests that a client refuses it.
///
/// ```
/// assert_eq!(redmux_testkit::ServerCertificate::default(), redmux_testkit::ServerCertificate::Valid);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ServerCertificate {
    /// Signed by [`TlsFiles::ca`], for `localhost` and `127.0.0.1`, EKU serverAuth.
    #[default]
    Valid,
    /// Signed by the same CA, but for `other.invalid` only: a name mismatch.
    OtherHost,
    /// Signed by the same CA, for the right names, but expired in 2001.
    Expired,
}

/// The PEM files of one TLS server's certificates, in its temp dir.
///
/// - [`ca`](Self::ca): the CA the server trusts and that signed its certificate;
/// - [`client_cert`](Self::client_cert) / [`client_key`](Self::client_key): a
///   client certificate from that CA (EKU clientAuth), for mutual TLS;
/// - [`other_ca`](Self::other_ca): a second CA that signed nothing the server
///   shows: a client trusting only it fails with "unknown issuer";
/// - [`other_client_cert`](Self::other_client_cert) /
///   [`other_client_key`](Self::other_client_key): a client certificate from that
///   second CA, which a mutual-TLS server refuses.
///
/// ```
/// let dir = tempfile::tempdir().expect("temp dir");
/// let files = redmux_testkit::TlsFiles::generate(dir.path(), Default::default())?;
/// assert!(std::fs::read_to_string(files.ca())?.contains("BEGIN CERTIFICATE"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TlsFiles {
    dir: PathBuf,
}

impl TlsFiles {
    /// Makes every certificate and key in `dir`; the server's (`server.crt`,
    /// `server.key`) is the one `presented` asks for. Takes a few milliseconds.
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] if a certificate cannot be made or written.
    ///
    /// ```
    /// use redmux_testkit::{ServerCertificate, TlsFiles};
    /// let dir = tempfile::tempdir().expect("temp dir");
    /// let files = TlsFiles::generate(dir.path(), ServerCertificate::OtherHost)?;
    /// assert!(files.server_cert().exists());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn generate(dir: &Path, presented: ServerCertificate) -> Result<TlsFiles, Error> {
        let files = TlsFiles::at(dir);
        let (ca_pem, ca) = authority("redmux test CA")?;
        let (other_ca_pem, other_ca) = authority("redmux other CA")?;
        files.write("ca.crt", &ca_pem)?;
        files.write("other-ca.crt", &other_ca_pem)?;

        let (names, expired): (&[&str], bool) = match presented {
            ServerCertificate::Valid => (&["localhost", "127.0.0.1"], false),
            ServerCertificate::OtherHost => (&["other.invalid"], false),
            ServerCertificate::Expired => (&["localhost", "127.0.0.1"], true),
        };
        // clientAuth too: a server reuses its certificate as the client side of
        // replication and the cluster bus (`--tls-replication`, `--tls-cluster`).
        let server = Leaf {
            names,
            usages: &[
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            expired,
        };
        files.write_pair("server", &server.sign(&ca)?)?;
        let client = Leaf {
            names: &[],
            usages: &[ExtendedKeyUsagePurpose::ClientAuth],
            expired: false,
        };
        files.write_pair("client", &client.sign(&ca)?)?;
        files.write_pair("other-client", &client.sign(&other_ca)?)?;
        Ok(files)
    }

    /// The files of `dir`, made there earlier.
    pub(crate) fn at(dir: &Path) -> TlsFiles {
        TlsFiles {
            dir: dir.to_path_buf(),
        }
    }

    /// The CA the server trusts and that signed its certificate.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().expect("temp dir");
    /// # let files = redmux_testkit::TlsFiles::generate(dir.path(), Default::default())?;
    /// assert!(files.ca().ends_with("ca.crt"));
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// A CA that signed nothing the server presents.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().expect("temp dir");
    /// # let files = redmux_testkit::TlsFiles::generate(dir.path(), Default::default())?;
    /// assert_ne!(files.other_ca(), files.ca());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn other_ca(&self) -> PathBuf {
        self.dir.join("other-ca.crt")
    }

    /// The server's certificate (PEM).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().expect("temp dir");
    /// # let files = redmux_testkit::TlsFiles::generate(dir.path(), Default::default())?;
    /// assert!(files.server_cert().exists());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.crt")
    }

    /// The server's private key (PEM, PKCS#8).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().expect("temp dir");
    /// # let files = redmux_testkit::TlsFiles::generate(dir.path(), Default::default())?;
    /// assert!(files.server_key().exists());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    /// A client certificate signed by [`TlsFiles::ca`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().expect("temp dir");
    /// # let files = redmux_testkit::TlsFiles::generate(dir.path(), Default::default())?;
    /// assert!(files.client_cert().exists());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn client_cert(&self) -> PathBuf {
        self.dir.join("client.crt")
    }

    /// The key of [`TlsFiles::client_cert`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().expect("temp dir");
    /// # let files = redmux_testkit::TlsFiles::generate(dir.path(), Default::default())?;
    /// assert!(files.client_key().exists());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn client_key(&self) -> PathBuf {
        self.dir.join("client.key")
    }

    /// A client certificate signed by [`TlsFiles::other_ca`]: the server refuses it.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().expect("temp dir");
    /// # let files = redmux_testkit::TlsFiles::generate(dir.path(), Default::default())?;
    /// assert!(files.other_client_cert().exists());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn other_client_cert(&self) -> PathBuf {
        self.dir.join("other-client.crt")
    }

    /// The key of [`TlsFiles::other_client_cert`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().expect("temp dir");
    /// # let files = redmux_testkit::TlsFiles::generate(dir.path(), Default::default())?;
    /// assert!(files.other_client_key().exists());
    /// # Ok::<(), redmux_testkit::Error>(())
    /// ```
    pub fn other_client_key(&self) -> PathBuf {
        self.dir.join("other-client.key")
    }

    fn write(&self, name: &str, pem: &str) -> Result<(), Error> {
        let path = self.dir.join(name);
        fs::write(&path, pem).map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }

    fn write_pair(&self, stem: &str, (cert, key): &(String, String)) -> Result<(), Error> {
        self.write(&format!("{stem}.crt"), cert)?;
        self.write(&format!("{stem}.key"), key)
    }
}

/// A certificate an authority signs: its names (SANs), purposes and dates.
struct Leaf<'a> {
    names: &'a [&'a str],
    usages: &'a [ExtendedKeyUsagePurpose],
    expired: bool,
}

impl Leaf<'_> {
    /// The certificate and its key, both PEM.
    fn sign(&self, ca: &Issuer<'_, KeyPair>) -> Result<(String, String), Error> {
        let names: Vec<String> = self.names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).map_err(tls_error)?;
        params.distinguished_name.push(
            DnType::CommonName,
            self.names.first().copied().unwrap_or("redmux client"),
        );
        params.extended_key_usages = self.usages.to_vec();
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if self.expired {
            params.not_before = date_time_ymd(2000, 1, 1);
            params.not_after = date_time_ymd(2001, 1, 1);
        }
        let key = KeyPair::generate().map_err(tls_error)?;
        let cert = params.signed_by(&key, ca).map_err(tls_error)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

/// A self-signed CA: its certificate (PEM) and what signs with it.
fn authority(name: &str) -> Result<(String, Issuer<'static, KeyPair>), Error> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().map_err(tls_error)?;
    let cert = params.self_signed(&key).map_err(tls_error)?;
    Ok((cert.pem(), Issuer::new(params, key)))
}

fn tls_error(e: rcgen::Error) -> Error {
    Error::Tls(format!("making a test certificate: {e}"))
}
