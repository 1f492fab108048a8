//! [`Target`]: one URI of a [`RemoteSpec`](crate::upstream::RemoteSpec),
//! checked (`http://` or `https://`, a host, TLS settings for `https://`)
//! and taken apart into what connecting needs.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use http::uri::Scheme;
use http::Uri;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::upstream::{tls, TlsSettings, UpstreamError};

/// One URI of the spec.
pub(super) struct Target {
    /// The URI as written, for messages.
    pub(super) uri: String,
    /// The host, without IPv6 brackets.
    pub(super) host: String,
    pub(super) port: u16,
    /// `scheme://authority/`: the `:scheme` and `:authority` of requests.
    pub(super) origin: Uri,
    /// For `https://`: the name presented and verified.
    pub(super) tls_name: Option<ServerName<'static>>,
    /// The address, when the host is one: never resolved.
    pub(super) address: Option<SocketAddr>,
}

impl Target {
    /// Checks `uri`; `tls` are the spec's TLS settings, needed for `https://`.
    pub(super) fn new(uri: &Uri, tls: Option<&TlsSettings>) -> Result<Target, UpstreamError> {
        let (secure, default_port) = match uri.scheme() {
            Some(s) if *s == Scheme::HTTP => (false, 80),
            Some(s) if *s == Scheme::HTTPS => (true, 443),
            _ => {
                return Err(bad_uri(
                    uri,
                    "expected http://HOST:PORT or https://HOST:PORT",
                ))
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| bad_uri(uri, "missing host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(bad_uri(uri, "missing host"));
        }
        let port = authority.port_u16().unwrap_or(default_port);
        let origin = Uri::builder()
            .scheme(uri.scheme().cloned().unwrap_or(Scheme::HTTP))
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| bad_uri(uri, &e.to_string()))?;
        let tls_name = match tls {
            Some(settings) if secure => {
                Some(tls::server_name(settings, &host).map_err(|e| bad_uri(uri, &e))?)
            }
            _ if secure => {
                return Err(bad_uri(
                    uri,
                    "https:// needs TLS settings (at least a CA file to trust)",
                ))
            }
            _ => None,
        };
        let address = host
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, port));
        let text = uri.to_string();
        Ok(Target {
            uri: text.strip_suffix('/').unwrap_or(&text).to_owned(),
            host,
            port,
            origin,
            tls_name,
            address,
        })
    }
}

/// The error of a spec's URI (or of the spec, named by `uri`).
pub(super) fn bad_uri(uri: &dyn fmt::Display, reason: &str) -> UpstreamError {
    UpstreamError::BadUri {
        uri: uri.to_string(),
        reason: reason.to_owned(),
    }
}
