//! [`Settings::resolve`]: the merged settings with defaults filled in and
//! every value checked, giving the [`ServeConfig`] the server runs with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http::HeaderName;

use super::error::invalid;
use super::upstreams::upstreams;
use super::{ConfigError, LogFormat, Settings};
use crate::compile::CompileOptions;
use crate::idempotency::StoreSpec;
use crate::serve::{
    default_max_in_flight_bytes, CorsOptions, ServeOptions, Upstreams, DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_URI_BYTES, MAX_URI_BYTES,
};
use crate::transcode::JsonOptions;
use crate::upstream::RetryPolicy;

/// The settings resolved: defaults filled in and every value checked.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where the services come from.
    pub input: crate::compile::Input,
    /// How the route table is compiled.
    pub compile: CompileOptions,
    /// Where calls go.
    pub upstreams: Upstreams,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Worker threads.
    pub workers: usize,
    /// The gateway's options.
    pub options: ServeOptions,
    /// The idempotency store.
    pub idempotency: StoreSpec,
    /// How long a client may take to send its headers.
    pub header_read_timeout: Duration,
    /// How long requests in flight may take to finish on SIGTERM.
    pub shutdown_grace: Duration,
    /// How long the listener keeps accepting after SIGTERM, `/readyz`
    /// answering 503, before it closes and `shutdown_grace` starts.
    pub drain_delay: Duration,
    /// How logs are written.
    pub log_format: LogFormat,
    /// TLS on the listener: the certificate chain and key files; `None`:
    /// cleartext.
    pub tls: Option<ListenerTlsFiles>,
    /// Whether file changes trigger a reload.
    pub watch: bool,
}

/// The PEM files the listener serves TLS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerTlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

impl Settings {
    /// Fills in the defaults and checks every value.
    pub fn resolve(self) -> Result<ServeConfig, ConfigError> {
        if !self.input.protos.is_empty() && !self.input.descriptor_sets.is_empty() {
            return Err(ConfigError::Invalid {
                key: "proto",
                message: "give proto files or descriptor sets, not both".to_owned(),
            });
        }
        let retry_attempts = self.retry_attempts.unwrap_or(3);
        if !(1..=10).contains(&retry_attempts) {
            return Err(ConfigError::Invalid {
                key: "retry-attempts",
                message: format!("must be 1 to 10, not {retry_attempts}"),
            });
        }
        let workers = match self.workers {
            Some(0) => {
                return Err(ConfigError::Invalid {
                    key: "workers",
                    message: "must be at least 1".to_owned(),
                })
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let forward_headers = self
            .forward_header
            .iter()
            .map(|h| {
                HeaderName::from_bytes(h.as_bytes()).map_err(|_| ConfigError::Invalid {
                    key: "forward-header",
                    message: format!("{h:?} is not a header name"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ServeConfig {
            input: self.input.input(),
            compile: CompileOptions {
                google_api_creates: self.google_api_creates.unwrap_or_default(),
            },
            upstreams: upstreams(&self.upstreams, &self.upstream)?,
            listen: self
                .listen
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
            workers,
            options: self.serve_options(retry_attempts, forward_headers, workers)?,
            idempotency: self.idempotency.unwrap_or_default(),
            header_read_timeout: self.header_read_timeout.unwrap_or(Duration::from_secs(10)),
            shutdown_grace: self.shutdown_grace.unwrap_or(Duration::from_secs(30)),
            drain_delay: self.drain_delay.unwrap_or(Duration::from_secs(5)),
            log_format: self.log_format.unwrap_or_default(),
            watch: self.watch.unwrap_or(false),
            tls: listener_tls(self.tls_cert, self.tls_key)?,
        })
    }

    /// The gateway's options, checked.
    fn serve_options(
        &self,
        retry_attempts: u32,
        forward_headers: Vec<HeaderName>,
        workers: usize,
    ) -> Result<ServeOptions, ConfigError> {
        let max_body_bytes = self.max_body_bytes.unwrap_or(4 * 1024 * 1024);
        Ok(ServeOptions {
            timeout: self.timeout.unwrap_or(Duration::from_secs(30)),
            max_body_bytes,
            max_in_flight_bytes: match self.max_in_flight_bytes {
                Some(0) => {
                    return Err(invalid(
                        "max-in-flight-bytes",
                        "must be at least 1".to_owned(),
                    ))
                }
                Some(n) => n,
                None => default_max_in_flight_bytes(max_body_bytes, workers),
            },
            max_uri_bytes: match self.max_uri_bytes {
                Some(n) if !(1..=MAX_URI_BYTES).contains(&n) => {
                    return Err(invalid(
                        "max-uri-bytes",
                        format!("must be 1 to {MAX_URI_BYTES}, not {n}"),
                    ))
                }
                n => n.unwrap_or(DEFAULT_MAX_URI_BYTES),
            },
            max_header_bytes: match self.max_header_bytes {
                Some(0) => {
                    return Err(invalid("max-header-bytes", "must be at least 1".to_owned()))
                }
                n => n.unwrap_or(DEFAULT_MAX_HEADER_BYTES),
            },
            json: JsonOptions {
                deny_unknown_fields: !self.ignore_unknown_fields.unwrap_or(false),
                emit_unpopulated: self.emit_unpopulated.unwrap_or(false),
                proto_field_names: self.proto_field_names.unwrap_or(false),
                ..JsonOptions::default()
            },
            forward_headers,
            openapi_path_params: self.openapi_path_params.unwrap_or_default(),
            openapi_license: None,
            retry: RetryPolicy {
                attempts: retry_attempts,
                ..RetryPolicy::default()
            },
            idempotency_ttl: self
                .idempotency_ttl
                .unwrap_or(crate::idempotency::DEFAULT_TTL),
            max_concurrent_requests: match self.max_concurrent_requests {
                Some(0) => {
                    return Err(invalid(
                        "max-concurrent-requests",
                        "must be at least 1".to_owned(),
                    ))
                }
                n => n,
            },
            request_timeout: self.request_timeout.unwrap_or(Duration::from_secs(60)),
            access_log: self.access_log.unwrap_or(true),
            metrics: self.metrics.unwrap_or(true),
            docs: self.docs.unwrap_or(true),
            compress_responses: self.compress_responses.unwrap_or(true),
            compress_min_bytes: self
                .compress_min_bytes
                .unwrap_or(crate::serve::DEFAULT_COMPRESS_MIN_BYTES),
            decompress_requests: self.decompress_requests.unwrap_or(true),
            ops_prefix: ops_prefix(self.ops_prefix.as_deref().unwrap_or(""))?,
            cors: cors(
                &self.cors_origins,
                &self.cors_methods,
                &self.cors_headers,
                self.cors_max_age,
            )?,
        })
    }
}

/// TLS on the listener: both files or neither.
fn listener_tls(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> Result<Option<ListenerTlsFiles>, ConfigError> {
    Ok(match (cert, key) {
        (Some(cert), Some(key)) => Some(ListenerTlsFiles { cert, key }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(invalid(
                "tls-key",
                "needed with tls-cert (give both or neither)".to_owned(),
            ))
        }
        (None, Some(_)) => {
            return Err(invalid(
                "tls-cert",
                "needed with tls-key (give both or neither)".to_owned(),
            ))
        }
    })
}

/// `""` or `/something` without a trailing slash.
fn ops_prefix(prefix: &str) -> Result<String, ConfigError> {
    let prefix = prefix.trim_end_matches('/');
    if !prefix.is_empty() && (!prefix.starts_with('/') || prefix.contains(['{', '}', '*', ' '])) {
        return Err(invalid(
            "ops-prefix",
            format!("{prefix:?} must be a plain path like /_restgate"),
        ));
    }
    Ok(prefix.to_owned())
}

/// The CORS settings, or `None` when no origin is allowed.
fn cors(
    origins: &[String],
    methods: &[String],
    headers: &[String],
    max_age: Option<Duration>,
) -> Result<Option<CorsOptions>, ConfigError> {
    if origins.is_empty() {
        return Ok(None);
    }
    for origin in origins {
        if origin != "*" && http::HeaderValue::from_str(origin).is_err() {
            return Err(invalid(
                "cors-origins",
                format!("{origin:?} is not an origin"),
            ));
        }
    }
    let methods = if methods.is_empty() {
        ["GET", "POST", "PUT", "PATCH", "DELETE"]
            .map(String::from)
            .to_vec()
    } else {
        methods.to_vec()
    };
    let headers = if headers.is_empty() {
        [
            "content-type",
            "authorization",
            "idempotency-key",
            "if-match",
            "if-none-match",
            "x-request-id",
        ]
        .map(String::from)
        .to_vec()
    } else {
        headers.to_vec()
    };
    Ok(Some(CorsOptions {
        origins: origins.to_vec(),
        methods: methods
            .iter()
            .map(|m| {
                http::Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| invalid("cors-methods", format!("{m:?} is not a method")))
            })
            .collect::<Result<_, _>>()?,
        headers: headers
            .iter()
            .map(|h| {
                HeaderName::from_bytes(h.as_bytes())
                    .map_err(|_| invalid("cors-headers", format!("{h:?} is not a header name")))
            })
            .collect::<Result<_, _>>()?,
        max_age: max_age.unwrap_or(Duration::from_secs(600)),
    }))
}
