//! TLS on the listener: a rustls server configuration (ring provider, ALPN
//! `h2` then `http/1.1`) built from a PEM certificate chain and private key.
//! A file that cannot be read or holds nothing usable is an error naming the
//! file, at start-up.
//!
//! The configuration is held behind a lock so that it can be swapped while
//! the gateway runs ([`ListenerTls::reload`]): each new connection takes the
//! current one, connections already open keep theirs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// The listener's certificate and key files and the configuration made from
/// them.
#[derive(Debug)]
pub struct ListenerTls {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
}

impl ListenerTls {
    /// Loads the certificate chain and key; the error names the file.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<ListenerTls, String> {
        Ok(ListenerTls {
            current: RwLock::new(server_config(cert_file, key_file)?),
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
        })
    }

    /// Reads the files again and, when they are usable, serves new
    /// connections with them; when not, the old configuration stays.
    pub fn reload(&self) -> Result<(), String> {
        let config = server_config(&self.cert_file, &self.key_file)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = config;
        Ok(())
    }

    /// An acceptor with the current configuration.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(
            &self.current.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

/// The server configuration for the PEM files `cert_file` (the chain, leaf
/// first) and `key_file`.
fn server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, String> {
    let cannot = |e: &dyn std::fmt::Display| {
        format!(
            "cannot read TLS certificate file {}: {e}",
            cert_file.display()
        )
    };
    let chain = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| cannot(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cannot(&e))?;
    if chain.is_empty() {
        return Err(format!(
            "TLS certificate file {} holds no PEM certificate",
            cert_file.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        format!(
            "cannot read a private key from TLS key file {}: {e}",
            key_file.display()
        )
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            format!(
                "TLS certificate {} and key {} do not go together: {e}",
                cert_file.display(),
                key_file.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not PEM\n").unwrap();
        let missing = dir.path().join("missing.pem");
        let e = ListenerTls::load(&missing, &junk).unwrap_err();
        assert!(e.contains(&*missing.to_string_lossy()), "{e}");
        let e = ListenerTls::load(&junk, &junk).unwrap_err();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        assert!(e.contains(&*junk.to_string_lossy()), "{e}");
    }
}
