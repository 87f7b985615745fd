//! A [`TlsConfig`] turned into a `rustls::ClientConfig`: trust roots, verifier,
//! client certificate, all on the `ring` provider named explicitly.
//!
//! The provider is passed to every builder (`builder_with_provider`), never taken
//! from the process default: redis-rs calls `ClientConfig::builder()`, which panics
//! in a process where no provider was installed (or where two crates enabled two).

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::verify::{AcceptAnyCertificate, AcceptAnyName};
use super::{ClientCert, Roots, TlsConfig, Verify};
use crate::error::{Error, Result};

/// Ciphertext rustls may hold for the socket before `try_write` refuses plaintext
/// (`set_buffer_limit`): one write's worth of records. Its default, 64 KiB, is kept.
pub(crate) const BUFFER_LIMIT: usize = 64 * 1024;

impl TlsConfig {
    /// The rustls configuration, built on first use (reading any file it names)
    /// and shared by every later connection of every clone of this value.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the file or setting that is wrong.
    pub(crate) fn rustls_config(&self) -> Result<Arc<rustls::ClientConfig>> {
        if let Some(built) = self.built.get() {
            return Ok(built.clone());
        }
        let built = Arc::new(self.build()?);
        // Two first connections at once may both build; the first one stored wins
        // and the other's is dropped: harmless.
        Ok(self.built.get_or_init(|| built).clone())
    }

    fn build(&self) -> Result<rustls::ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::config(format!("TLS: {e}")))?;
        let builder = match self.verify {
            Verify::None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(&provider))),
            Verify::SkipHostname => {
                let webpki = webpki_verifier(&self.roots, &provider)?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AcceptAnyName::new(webpki)))
            }
            Verify::Full => builder.with_webpki_verifier(webpki_verifier(&self.roots, &provider)?),
        };
        let config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some(client) => {
                let (certs, key) = client_cert(client)?;
                builder.with_client_auth_cert(certs, key).map_err(|e| {
                    Error::config(format!(
                        "TLS client certificate{}: {e} (does the key belong to the certificate?)",
                        client.origin()
                    ))
                })?
            }
        };
        Ok(config)
    }
}

fn webpki_verifier(
    roots: &Roots,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map_or_else(String::new, |e| format!(" ({e})"));
                return Err(Error::config(format!(
                    "TLS: no trusted root certificates found on this system{why}; \
                     install ca-certificates, set SSL_CERT_FILE, or give the server's CA with TlsConfig::ca_file"
                )));
            }
        }
        Roots::File(path) => {
            add_pem_roots(&mut store, &read(path, "CA file")?, &path_origin(path))?
        }
        Roots::Pem(pem) => add_pem_roots(&mut store, pem, " (TlsConfig::ca_pem)")?,
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map_err(|e| Error::config(format!("TLS trust roots: {e}")))
}

fn add_pem_roots(store: &mut RootCertStore, pem: &[u8], origin: &str) -> Result<()> {
    let certs = certificates(pem, "CA", origin)?;
    for cert in certs {
        store
            .add(cert)
            .map_err(|e| Error::config(format!("TLS CA certificate{origin} is not usable: {e}")))?;
    }
    Ok(())
}

fn client_cert(
    client: &ClientCert,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let (certs, key, origin) = match client {
        ClientCert::Files { cert, key } => (
            read(cert, "client certificate file")?,
            read(key, "client key file")?,
            (path_origin(cert), path_origin(key)),
        ),
        ClientCert::Pem { cert, key } => (
            cert.to_vec(),
            key.to_vec(),
            (
                " (TlsConfig::client_cert_pem)".to_string(),
                " (TlsConfig::client_cert_pem)".to_string(),
            ),
        ),
    };
    let certs = certificates(&certs, "client", &origin.0)?;
    let key = PrivateKeyDer::from_pem_slice(&key).map_err(|e| {
        Error::config(format!(
            "TLS client key{}: no PEM private key found ({e}); expected PKCS#8, PKCS#1 or SEC1",
            origin.1
        ))
    })?;
    Ok((certs, key))
}

/// Every certificate of a PEM text: at least one, and no malformed section.
fn certificates(pem: &[u8], what: &str, origin: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::config(format!("TLS {what} certificate{origin}: bad PEM ({e})")))?;
    if certs.is_empty() {
        return Err(Error::config(format!(
            "TLS {what} certificate{origin}: no PEM certificate (-----BEGIN CERTIFICATE-----) found"
        )));
    }
    Ok(certs)
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::config(format!(
            "TLS: cannot read the {what} {}: {e}",
            path.display()
        ))
    })
}

fn path_origin(path: &Path) -> String {
    format!(" in {}", path.display())
}

impl ClientCert {
    /// Where the certificate came from, for an error message.
    fn origin(&self) -> String {
        match self {
            ClientCert::Files { cert, key } => {
                format!(" ({} with {})", cert.display(), key.display())
            }
            ClientCert::Pem { .. } => " (TlsConfig::client_cert_pem)".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<Arc<rustls::ClientConfig>>) -> String {
        match result {
            Ok(_) => "built".to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn bad_files_are_config_errors_that_name_them() {
        let missing = TlsConfig::new().ca_file("/nonexistent/ca.crt");
        let e = message(missing.rustls_config());
        assert!(
            e.contains("invalid configuration") && e.contains("/nonexistent/ca.crt"),
            "{e}"
        );

        let not_pem = TlsConfig::new().ca_pem(b"hello".to_vec());
        assert!(message(not_pem.rustls_config()).contains("no PEM certificate"));

        let no_key = TlsConfig::new()
            .danger_accept_invalid_certs(true)
            .client_cert_files("/nonexistent/c.crt", "/nonexistent/c.key");
        assert!(message(no_key.rustls_config()).contains("/nonexistent/c.crt"));
    }

    #[test]
    fn the_insecure_mode_needs_no_roots_and_is_built_once() {
        let tls = TlsConfig::new().danger_accept_invalid_certs(true);
        let first = tls.rustls_config().unwrap();
        let again = tls.clone().rustls_config().unwrap();
        assert!(Arc::ptr_eq(&first, &again));
    }
}
