//! What a rustls error means to someone connecting to Redis: the cause named
//! (unknown issuer, name mismatch, expired, client certificate refused, not a TLS
//! port), and what to change.

use std::io;

use rustls::{AlertDescription, CertificateError};

/// The error a failed TLS step becomes: `InvalidData`, with a message that says
/// what went wrong and what to do.
pub(super) fn io_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, describe(&e))
}

/// One sentence (or two) about `e`, ending with rustls's own words.
pub(super) fn describe(e: &rustls::Error) -> String {
    let cause = match e {
        rustls::Error::InvalidCertificate(cert) => certificate(cert),
        rustls::Error::AlertReceived(alert) => alert_received(*alert),
        rustls::Error::NoCertificatesPresented => {
            "the server presented no certificate".to_string()
        }
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. } => {
            "the server did not answer in TLS: is this a plaintext port? (use redis:// for one)"
                .to_string()
        }
        rustls::Error::PeerIncompatible(_) => {
            "the server and the client share no TLS version or cipher suite (TLS 1.2 and 1.3 are supported)"
                .to_string()
        }
        _ => "TLS failed".to_string(),
    };
    format!("TLS: {cause} [{e}]")
}

fn certificate(e: &CertificateError) -> String {
    match e {
        CertificateError::UnknownIssuer => {
            "the server's certificate is not signed by a trusted CA (unknown issuer): give its CA \
             with TlsConfig::ca_file, or add it to the system's roots (SSL_CERT_FILE)"
                .to_string()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "the server's certificate is for another host name (name mismatch): connect by a \
             name the certificate lists, or set TlsConfig::server_name"
                .to_string()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the server's certificate has expired: renew it on the server".to_string()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet: is this machine's clock right?".to_string()
        }
        CertificateError::Revoked => "the server's certificate is revoked".to_string(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "the server's certificate is not for TLS servers (its extended key usage lacks serverAuth)"
                .to_string()
        }
        _ => "the server's certificate was rejected".to_string(),
    }
}

fn alert_received(alert: AlertDescription) -> String {
    match alert {
        AlertDescription::CertificateRequired => {
            "the server requires a client certificate (mutual TLS, tls-auth-clients): set one \
             with TlsConfig::client_cert_files"
                .to_string()
        }
        AlertDescription::UnknownCA
        | AlertDescription::BadCertificate
        | AlertDescription::CertificateUnknown
        | AlertDescription::UnsupportedCertificate
        | AlertDescription::CertificateExpired
        | AlertDescription::CertificateRevoked
        | AlertDescription::AccessDenied => format!(
            "the server rejected the client certificate ({alert:?} alert): is it signed by a CA \
             the server trusts (tls-ca-cert-file), in date, and made for clientAuth?"
        ),
        AlertDescription::HandshakeFailure => {
            "the server refused the handshake (HandshakeFailure alert): no common cipher suite, \
             or it wants a client certificate"
                .to_string()
        }
        AlertDescription::ProtocolVersion => {
            "the server accepts no TLS version the client offers (1.2, 1.3)".to_string()
        }
        other => format!("the server ended the session ({other:?} alert)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_named() {
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(describe(&unknown).contains("unknown issuer"));
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert!(describe(&name).contains("name mismatch"));
        let expired = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert!(describe(&expired).contains("expired"));
        let required = rustls::Error::AlertReceived(AlertDescription::CertificateRequired);
        assert!(describe(&required).contains("requires a client certificate"));
        let refused = rustls::Error::AlertReceived(AlertDescription::UnknownCA);
        assert!(describe(&refused).contains("rejected the client certificate"));
        assert_eq!(io_error(unknown).kind(), io::ErrorKind::InvalidData);
    }
}
