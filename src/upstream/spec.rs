//! [`RemoteSpec`]: where a remote upstream is — one or more endpoints, how to
//! reach them (TLS) and how patiently — as configured, before anything is
//! resolved or connected.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use http::Uri;

/// A remote upstream: a gRPC service served by one or more endpoints that
/// the gateway balances calls over (see [`Upstream`](super::Upstream)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSpec {
    /// One or more `http://host:port` or `https://host:port`. A host name is
    /// resolved (every address it has becomes an endpoint) and re-resolved
    /// every [`resolve_every`](Self::resolve_every).
    pub endpoints: Vec<Uri>,
    /// How to speak TLS to the `https://` endpoints; required when there is
    /// one, refused when there is none.
    pub tls: Option<TlsSettings>,
    /// How long connecting to one endpoint may take (TCP, TLS and HTTP/2
    /// handshakes together) before the next one is tried. Default 3 s.
    pub connect_timeout: Duration,
    /// How often host names are resolved again. Default 30 s; `None`: once.
    /// Addresses (`127.0.0.1`, `[::1]`) are never resolved.
    pub resolve_every: Option<Duration>,
    /// The deadline of a call to this upstream when the request sends no
    /// `Grpc-Timeout`; `None`: the gateway's `timeout`.
    pub timeout: Option<Duration>,
}

/// TLS to a remote upstream (rustls, ALPN `h2`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSettings {
    /// PEM file of the certificate authorities the upstream's certificate
    /// must chain to. Required: there are no default roots.
    pub ca_file: Option<PathBuf>,
    /// PEM file of the client certificate chain (mutual TLS); with
    /// [`key_file`](Self::key_file).
    pub cert_file: Option<PathBuf>,
    /// PEM file of the client certificate's private key (PKCS#8, PKCS#1 or
    /// SEC1); with [`cert_file`](Self::cert_file).
    pub key_file: Option<PathBuf>,
    /// The name sent as SNI and checked against the upstream's certificate.
    /// Default: each endpoint's host as written in its URI.
    pub server_name: Option<String>,
}

impl RemoteSpec {
    /// How long connecting to an endpoint may take by default.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
    /// How often host names are resolved again by default.
    pub const DEFAULT_RESOLVE_EVERY: Duration = Duration::from_secs(30);

    /// One endpoint, plaintext or TLS by its scheme, with the default
    /// timeouts: what `--upstream URI` builds.
    pub fn single(uri: Uri) -> RemoteSpec {
        RemoteSpec::new(vec![uri])
    }

    /// Several endpoints with the default timeouts and no TLS settings.
    pub fn new(endpoints: Vec<Uri>) -> RemoteSpec {
        RemoteSpec {
            endpoints,
            tls: None,
            connect_timeout: RemoteSpec::DEFAULT_CONNECT_TIMEOUT,
            resolve_every: Some(RemoteSpec::DEFAULT_RESOLVE_EVERY),
            timeout: None,
        }
    }

    /// The same, speaking TLS per `tls` to its `https://` endpoints.
    pub fn with_tls(mut self, tls: TlsSettings) -> RemoteSpec {
        self.tls = Some(tls);
        self
    }
}

/// One URI: `"http://host:port".parse::<RemoteSpec>()` is
/// [`RemoteSpec::single`].
impl FromStr for RemoteSpec {
    type Err = http::uri::InvalidUri;

    fn from_str(s: &str) -> Result<RemoteSpec, Self::Err> {
        Ok(RemoteSpec::single(s.parse()?))
    }
}

/// The endpoints, comma-separated: `http://a:50051,http://b:50051`.
impl fmt::Display for RemoteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, uri) in self.endpoints.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            // `Uri` prints `http://a:1/` for `http://a:1`; the slash is noise.
            let text = uri.to_string();
            f.write_str(text.strip_suffix('/').unwrap_or(&text))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_has_the_defaults() {
        let spec: RemoteSpec = "http://a:1".parse().unwrap();
        assert_eq!(spec, RemoteSpec::single(Uri::from_static("http://a:1")));
        assert_eq!(spec.connect_timeout, Duration::from_secs(3));
        assert_eq!(spec.resolve_every, Some(Duration::from_secs(30)));
        assert_eq!(spec.tls, None);
        assert_eq!(spec.to_string(), "http://a:1");
    }

    #[test]
    fn displays_every_endpoint() {
        let spec = RemoteSpec::new(vec![
            Uri::from_static("http://a:1"),
            Uri::from_static("https://b:2"),
        ]);
        assert_eq!(spec.to_string(), "http://a:1,https://b:2");
    }
}
