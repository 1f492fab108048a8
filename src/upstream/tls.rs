//! TLS to upstreams: a rustls client configuration (ring provider, ALPN
//! `h2`) built once from [`TlsSettings`] — the CA file, and the client
//! certificate and key for mutual TLS. A file that cannot be read or holds
//! nothing usable is an error naming the file, at start-up.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::{TlsSettings, UpstreamError};

/// The connector for `settings`; `upstream` names the upstream in errors.
pub(super) fn connector(
    settings: &TlsSettings,
    upstream: &str,
) -> Result<TlsConnector, UpstreamError> {
    let bad = |reason: String| UpstreamError::BadUri {
        uri: upstream.to_owned(),
        reason,
    };
    let ca_file = settings.ca_file.as_deref().ok_or_else(|| {
        bad("TLS needs a CA file (the certificate authorities to trust); there are no default roots".to_owned())
    })?;
    let roots = roots(ca_file).map_err(bad)?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(format!("TLS: {e}")))?
        .with_root_certificates(roots);
    let mut config = match (&settings.cert_file, &settings.key_file) {
        (Some(cert_file), Some(key_file)) => {
            let chain = certificates(cert_file, "client certificate").map_err(&bad)?;
            let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
                bad(format!(
                    "cannot read a private key from key file {}: {e}",
                    key_file.display()
                ))
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                bad(format!(
                    "client certificate {} and key {} do not go together: {e}",
                    cert_file.display(),
                    key_file.display()
                ))
            })?
        }
        (None, None) => builder.with_no_client_auth(),
        (Some(_), None) => {
            return Err(bad(
                "a client certificate file needs its key file too".to_owned()
            ))
        }
        (None, Some(_)) => {
            return Err(bad(
                "a client key file needs its certificate file too".to_owned()
            ))
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The name to present and verify: `server_name`, or else `host`.
pub(super) fn server_name(
    settings: &TlsSettings,
    host: &str,
) -> Result<ServerName<'static>, String> {
    let name = settings.server_name.as_deref().unwrap_or(host);
    ServerName::try_from(name.to_owned())
        .map_err(|e| format!("{name:?} is not a valid TLS server name: {e}"))
}

/// The trust roots in the PEM file `path`.
fn roots(path: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(path, "CA")? {
        roots
            .add(certificate)
            .map_err(|e| format!("CA file {}: unusable certificate: {e}", path.display()))?;
    }
    Ok(roots)
}

/// Every certificate in the PEM file `path` (at least one); `what` names the
/// file's role in errors.
fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let cannot =
        |e: &dyn std::fmt::Display| format!("cannot read {what} file {}: {e}", path.display());
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| cannot(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cannot(&e))?;
    if certificates.is_empty() {
        return Err(format!(
            "{what} file {} holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(settings: &TlsSettings) -> UpstreamError {
        match connector(settings, "https://a:1") {
            Err(e) => e,
            Ok(_) => panic!("{settings:?} accepted"),
        }
    }

    fn settings(ca: &str) -> TlsSettings {
        TlsSettings {
            ca_file: Some(ca.into()),
            ..TlsSettings::default()
        }
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let e = refused(&settings("/nonexistent/ca.pem"));
        let text = e.to_string();
        assert!(text.contains("/nonexistent/ca.pem"), "{text}");
        assert!(text.contains("https://a:1"), "{text}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let e = refused(&settings(path.to_str().unwrap()));
        assert!(e.to_string().contains("holds no PEM certificate"), "{e}");
    }

    #[test]
    fn no_ca_file_is_refused() {
        let e = refused(&TlsSettings::default());
        assert!(e.to_string().contains("CA file"), "{e}");
    }

    #[test]
    fn the_server_name_defaults_to_the_host() {
        let s = TlsSettings::default();
        assert_eq!(
            server_name(&s, "localhost").unwrap(),
            ServerName::try_from("localhost").unwrap()
        );
        assert!(matches!(
            server_name(&s, "127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        let named = TlsSettings {
            server_name: Some("api.internal".into()),
            ..s
        };
        assert_eq!(
            server_name(&named, "10.0.0.1").unwrap(),
            ServerName::try_from("api.internal").unwrap()
        );
        let bad = TlsSettings {
            server_name: Some("a b".into()),
            ..TlsSettings::default()
        };
        assert!(server_name(&bad, "x").is_err());
    }
}
