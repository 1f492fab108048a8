//! The upstreams of the settings: the file's `[upstreams.NAME]` tables
//! ([`UpstreamTable`]) and the `[SERVICE=]URI` entries, turned into the
//! gateway's [`Upstreams`].

use std::path::PathBuf;
use std::time::Duration;

use http::Uri;
use serde::Deserialize;

use super::error::invalid;
use super::ConfigError;
use crate::serve::Upstreams;
use crate::upstream::{RemoteSpec, TlsSettings};

/// A named upstream of the config file:
///
/// ```toml
/// [upstreams.users]
/// endpoints = ["http://10.0.0.1:50051", "http://10.0.0.2:50051"]
/// services = ["examples.v1.UserService"]   # none: every service not named elsewhere
/// connect-timeout = "3s"
/// resolve-every = "30s"
/// [upstreams.users.tls]
/// ca-file = "ca.pem"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UpstreamTable {
    /// `http://` or `https://` endpoints; names are resolved to every address.
    pub endpoints: Vec<String>,
    /// The services (full names) it serves; empty: every other service.
    #[serde(default)]
    pub services: Vec<String>,
    /// How long connecting to an endpoint may take [default: 3s].
    #[serde(default, with = "humantime_serde")]
    pub connect_timeout: Option<Duration>,
    /// How often host names are resolved again [default: 30s].
    #[serde(default, with = "humantime_serde")]
    pub resolve_every: Option<Duration>,
    /// The deadline of a call to it without a Grpc-Timeout header
    /// [default: the gateway's `timeout`].
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// TLS to the endpoints (required for `https://`).
    #[serde(default)]
    pub tls: Option<TlsTable>,
}

/// `[upstreams.NAME.tls]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TlsTable {
    /// PEM certificate authorities the upstream's certificate must chain to.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain, for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// PEM client private key, for mutual TLS.
    pub key_file: Option<PathBuf>,
    /// The name checked against the upstream's certificate (and sent as SNI).
    pub server_name: Option<String>,
}

/// The upstreams of `[SERVICE=]URI` entries alone (no config file), with
/// the default timeouts: what `--upstream` of `routes`, `openapi` and
/// `check` names.
pub(crate) fn upstreams_of(specs: &[String]) -> Result<Upstreams, ConfigError> {
    upstreams(&std::collections::BTreeMap::new(), specs)
}

/// The upstreams: the file's `[upstreams.NAME]` tables, then the
/// `[SERVICE=]URI` entries (flags, environment, `upstream = [...]`), which
/// replace a table's service or default. Repeating a service (or a bare URI)
/// gives it several endpoints.
pub(super) fn upstreams(
    tables: &std::collections::BTreeMap<String, UpstreamTable>,
    specs: &[String],
) -> Result<Upstreams, ConfigError> {
    let mut upstreams = Upstreams::default();
    for (name, table) in tables {
        let invalid = |message: String| invalid("upstreams", format!("{name}: {message}"));
        if table.endpoints.is_empty() {
            return Err(invalid("needs at least one endpoint".to_owned()));
        }
        let endpoints = table
            .endpoints
            .iter()
            .map(|e| {
                e.parse::<Uri>()
                    .map_err(|err| invalid(format!("endpoint {e:?}: {err}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut spec = RemoteSpec::new(endpoints);
        if let Some(t) = table.connect_timeout {
            spec.connect_timeout = t;
        }
        if table.resolve_every.is_some() {
            spec.resolve_every = table.resolve_every;
        }
        spec.timeout = table.timeout;
        if let Some(tls) = &table.tls {
            spec = spec.with_tls(TlsSettings {
                ca_file: tls.ca_file.clone(),
                cert_file: tls.cert_file.clone(),
                key_file: tls.key_file.clone(),
                server_name: tls.server_name.clone(),
            });
        }
        if table.services.is_empty() {
            if upstreams.default.is_some() {
                return Err(invalid(
                    "a second upstream without services; only one may serve every service"
                        .to_owned(),
                ));
            }
            upstreams.default = Some(spec);
        } else {
            for service in &table.services {
                upstreams.by_service.insert(service.clone(), spec.clone());
            }
        }
    }
    // Entries of the same target add endpoints; a new target replaces the table's.
    let mut from_specs: Vec<(Option<String>, Vec<Uri>)> = Vec::new();
    for spec in specs {
        let (service, uri) = match spec.split_once('=') {
            Some((service, uri)) => (Some(service.to_owned()), uri),
            None => (None, spec.as_str()),
        };
        let uri: Uri = uri
            .parse()
            .map_err(|e| invalid("upstream", format!("{spec:?}: {e}")))?;
        match from_specs.iter_mut().find(|(s, _)| *s == service) {
            Some((_, uris)) => uris.push(uri),
            None => from_specs.push((service, vec![uri])),
        }
    }
    for (service, uris) in from_specs {
        let spec = RemoteSpec::new(uris);
        match service {
            Some(service) => {
                upstreams.by_service.insert(service, spec);
            }
            None => upstreams.default = Some(spec),
        }
    }
    Ok(upstreams)
}
