//! The settings of `restgate serve`, from three places: a TOML file
//! (`--config`), the command-line flags, and `RESTGATE_*` environment
//! variables — each overriding the one before (SPEC §7: flags override the
//! file, the environment overrides both).
//!
//! One [`Settings`] type is all three: clap reads the flags into it, serde
//! reads the file into it, and the environment is read into it through the
//! same serde names (`RESTGATE_MAX_BODY_BYTES` is the file's
//! `max-body-bytes`). Nothing is given a default until the three are merged
//! ([`Settings::resolve`]), so "not set" never hides behind a default.
//! Unknown keys and bad values are errors naming the key.
//! `restgate.example.toml` documents every setting with its default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderName, Uri};
use serde::Deserialize;

use crate::cli::InputArgs;
use crate::compile::{CompileOptions, GoogleApiCreates};
use crate::idempotency::StoreSpec;
use crate::serve::{
    CorsOptions, ServeOptions, Upstreams, DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_URI_BYTES,
    MAX_URI_BYTES,
};
use crate::transcode::JsonOptions;
use crate::upstream::{RemoteSpec, RetryPolicy, TlsSettings};

/// Prefix of the environment variables that set settings.
pub const ENV_PREFIX: &str = "RESTGATE_";

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

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, one line per event.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The settings that are lists.
const LISTS: &[&str] = &[
    "proto",
    "include",
    "descriptor-set",
    "upstream",
    "forward-header",
];

/// Every setting; `None` (or empty) where this source does not set it.
#[derive(Debug, Clone, Default, PartialEq, clap::Args, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// Where the services come from (file: the `[input]` table).
    #[command(flatten)]
    #[serde(default)]
    pub input: InputArgs,
    /// When a (google.api.http) post answers 201 Created + Location: `auto`
    /// when the route table derives the created item's URI (a replace or
    /// get route on the item under it), else 200; `never`: every one
    /// answers 200, as with grpc-gateway. (restgate.rest) creates always
    /// answer 201 [default: auto].
    #[arg(long, value_name = "WHEN")]
    pub google_api_creates: Option<GoogleApiCreates>,
    /// Where calls go: `URI` for every service, or `SERVICE=URI` (full
    /// service name, e.g. examples.v1.UserService=http://127.0.0.1:50051);
    /// repeatable. With no --proto or --descriptor-set, the services are
    /// those the upstreams serve by gRPC server reflection.
    #[arg(long = "upstream", value_name = "[SERVICE=]URI", num_args = 1..)]
    #[serde(default, deserialize_with = "one_or_many")]
    pub upstream: Vec<String>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Worker threads, each with its own runtime, listener and upstream
    /// connections [default: one per CPU].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Deadline of a call when the request has no Grpc-Timeout header, e.g.
    /// 30s or 500ms; for a streaming reply, of its first message only
    /// [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Largest request body accepted; larger ones get 413 [default: 4194304].
    #[arg(long, value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Longest request URI (path and query string) accepted; longer ones get
    /// 414, at most 65534 [default: 8192].
    #[arg(long, value_name = "BYTES")]
    pub max_uri_bytes: Option<usize>,
    /// Largest request header section accepted, counted as the sum of every
    /// field's name and value; larger ones get 431 [default: 61440].
    #[arg(long, value_name = "BYTES")]
    pub max_header_bytes: Option<usize>,
    /// Drop unknown JSON fields and query parameters instead of answering
    /// 400 [default: false].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub ignore_unknown_fields: Option<bool>,
    /// Write fields that hold their default value in replies [default: false].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub emit_unpopulated: Option<bool>,
    /// Write proto field names (user_id) in replies instead of lowerCamelCase
    /// [default: false].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub proto_field_names: Option<bool>,
    /// How /openapi.json writes a path variable spanning several segments:
    /// `expanded` (one parameter per `*`, `/v1/blogs/{blog}/posts/{post}`,
    /// what client generators can call) or `template` (one parameter
    /// holding the `/`s, `/v1/{name}`) [default: expanded].
    #[arg(long, value_name = "expanded|template")]
    #[serde(default, deserialize_with = "from_str")]
    pub openapi_path_params: Option<crate::openapi::PathParams>,
    /// Another request header to pass to the service as metadata; repeatable.
    #[arg(long = "forward-header", value_name = "NAME")]
    #[serde(default, deserialize_with = "one_or_many")]
    pub forward_header: Vec<String>,
    /// Where Idempotency-Keys of POST and PATCH requests are kept: `memory`,
    /// `file:PATH` (survives a restart) or `redis://HOST:PORT[/DB]` (shared by
    /// several gateway replicas) [default: memory].
    #[arg(long, value_name = "STORE")]
    #[serde(default, deserialize_with = "from_str")]
    pub idempotency: Option<StoreSpec>,
    /// How long the answer of a keyed request is kept for replay [default: 24h].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(default, with = "humantime_serde")]
    pub idempotency_ttl: Option<Duration>,
    /// Tries in all (1 to 10) for an idempotent call (PUT, GET, DELETE) that
    /// meets a transport failure or UNAVAILABLE; 1 never retries. POST and
    /// PATCH are never retried [default: 3].
    #[arg(long, value_name = "N")]
    pub retry_attempts: Option<u32>,
    /// Requests served at once; beyond it the gateway answers 503 with
    /// Retry-After [default: no limit].
    #[arg(long, value_name = "N")]
    pub max_concurrent_requests: Option<usize>,
    /// The most a whole request may take, body included; 504 beyond. A
    /// streaming answer is bounded until its headers only [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(default, with = "humantime_serde")]
    pub request_timeout: Option<Duration>,
    /// How long a client may take to send a request's headers before the
    /// connection is closed [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(default, with = "humantime_serde")]
    pub header_read_timeout: Option<Duration>,
    /// On SIGTERM, how long requests in flight may take to finish before the
    /// gateway exits anyway [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(default, with = "humantime_serde")]
    pub shutdown_grace: Option<Duration>,
    /// One log line per request: route, status, latency, request id
    /// [default: true].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub access_log: Option<bool>,
    /// Also reload (as on SIGHUP) when the config file, a proto or descriptor
    /// set given as input, or the listener's certificate changes on disk,
    /// checked every 2 s [default: false].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub watch: Option<bool>,
    /// Count requests in /metrics [default: true].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub metrics: Option<bool>,
    /// How logs are written: pretty or json [default: pretty].
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// A path prefix for /healthz, /readyz, /metrics, /openapi.json and
    /// /docs, so they never collide with API routes, e.g. /_restgate
    /// [default: none].
    #[arg(long, value_name = "PREFIX")]
    pub ops_prefix: Option<String>,
    /// Origins allowed to call from a browser (CORS), `*` for any; repeatable.
    /// None: no CORS.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    #[serde(default, deserialize_with = "one_or_many")]
    pub cors_origins: Vec<String>,
    /// Methods allowed cross-origin [default: GET, POST, PUT, PATCH, DELETE].
    #[arg(long = "cors-method", value_name = "METHOD")]
    #[serde(default, deserialize_with = "one_or_many")]
    pub cors_methods: Vec<String>,
    /// Request headers allowed cross-origin [default: content-type,
    /// authorization, idempotency-key, if-match, if-none-match, x-request-id].
    #[arg(long = "cors-header", value_name = "NAME")]
    #[serde(default, deserialize_with = "one_or_many")]
    pub cors_headers: Vec<String>,
    /// PEM certificate chain (leaf first) to serve TLS with, HTTP/1.1 and
    /// HTTP/2 negotiated by ALPN; needs --tls-key [default: none: cleartext].
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert [default: none].
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Named upstreams (file only: `[upstreams.NAME]` tables): several
    /// endpoints, TLS, timeouts.
    #[arg(skip)]
    #[serde(default)]
    pub upstreams: std::collections::BTreeMap<String, UpstreamTable>,
    /// How long browsers may cache a preflight answer [default: 10m].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(default, with = "humantime_serde")]
    pub cors_max_age: Option<Duration>,
}

/// Why the settings cannot be used. Every message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has unknown keys or bad values.
    #[error("config file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the key and line.
        message: String,
    },
    /// An environment variable is unknown or has a bad value.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A value parsed but makes no sense.
    #[error("{key}: {message}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

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
    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_owned(),
            message: e.to_string().trim_end().replace('\n', " "),
        })
    }

    /// Reads the `RESTGATE_*` variables among `vars`: `RESTGATE_LISTEN`,
    /// `RESTGATE_MAX_BODY_BYTES`, `RESTGATE_UPSTREAM` (comma-separated or a
    /// TOML array), `RESTGATE_PROTO`... Values are TOML values, or plain text.
    pub fn from_env(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut settings = Settings::default();
        for (name, value) in vars {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let key = key.to_ascii_lowercase().replace('_', "-");
            let env_error = |message: String| ConfigError::Env {
                name: name.clone(),
                message,
            };
            // The value as TOML if it is a TOML value (3, true, ["a", "b"]),
            // else as a string; wrapped in the table it belongs to.
            let value = value
                .parse::<toml::Value>()
                .ok()
                .or_else(|| {
                    format!("v = {value}")
                        .parse::<toml::Table>()
                        .ok()
                        .and_then(|mut t| t.remove("v"))
                })
                .unwrap_or_else(|| toml::Value::String(value.clone()));
            // Lists may be written as one comma-separated string.
            let value = match value {
                toml::Value::String(text) if LISTS.contains(&key.as_str()) => toml::Value::Array(
                    text.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(|p| toml::Value::String(p.to_owned()))
                        .collect(),
                ),
                other => other,
            };
            let mut table = toml::Table::new();
            if matches!(key.as_str(), "proto" | "include" | "descriptor-set") {
                let mut input = toml::Table::new();
                input.insert(key, value);
                table.insert("input".to_owned(), toml::Value::Table(input));
            } else {
                table.insert(key, value);
            }
            let one: Settings = toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| env_error(e.message().to_owned()))?;
            settings = settings.overlay(one);
        }
        Ok(settings)
    }

    /// These settings with `over`'s laid on top: whatever `over` sets wins.
    pub fn overlay(self, over: Settings) -> Settings {
        fn list<T>(under: Vec<T>, over: Vec<T>) -> Vec<T> {
            if over.is_empty() {
                under
            } else {
                over
            }
        }
        Settings {
            input: InputArgs {
                protos: list(self.input.protos, over.input.protos),
                includes: list(self.input.includes, over.input.includes),
                descriptor_sets: list(self.input.descriptor_sets, over.input.descriptor_sets),
            },
            google_api_creates: over.google_api_creates.or(self.google_api_creates),
            upstream: list(self.upstream, over.upstream),
            listen: over.listen.or(self.listen),
            workers: over.workers.or(self.workers),
            timeout: over.timeout.or(self.timeout),
            max_body_bytes: over.max_body_bytes.or(self.max_body_bytes),
            max_uri_bytes: over.max_uri_bytes.or(self.max_uri_bytes),
            max_header_bytes: over.max_header_bytes.or(self.max_header_bytes),
            ignore_unknown_fields: over.ignore_unknown_fields.or(self.ignore_unknown_fields),
            emit_unpopulated: over.emit_unpopulated.or(self.emit_unpopulated),
            proto_field_names: over.proto_field_names.or(self.proto_field_names),
            openapi_path_params: over.openapi_path_params.or(self.openapi_path_params),
            forward_header: list(self.forward_header, over.forward_header),
            max_concurrent_requests: over
                .max_concurrent_requests
                .or(self.max_concurrent_requests),
            request_timeout: over.request_timeout.or(self.request_timeout),
            header_read_timeout: over.header_read_timeout.or(self.header_read_timeout),
            shutdown_grace: over.shutdown_grace.or(self.shutdown_grace),
            access_log: over.access_log.or(self.access_log),
            metrics: over.metrics.or(self.metrics),
            watch: over.watch.or(self.watch),
            log_format: over.log_format.or(self.log_format),
            ops_prefix: over.ops_prefix.or(self.ops_prefix),
            cors_origins: list(self.cors_origins, over.cors_origins),
            cors_methods: list(self.cors_methods, over.cors_methods),
            cors_headers: list(self.cors_headers, over.cors_headers),
            cors_max_age: over.cors_max_age.or(self.cors_max_age),
            tls_cert: over.tls_cert.or(self.tls_cert),
            tls_key: over.tls_key.or(self.tls_key),
            upstreams: if over.upstreams.is_empty() {
                self.upstreams
            } else {
                over.upstreams
            },
            idempotency: over.idempotency.or(self.idempotency),
            idempotency_ttl: over.idempotency_ttl.or(self.idempotency_ttl),
            retry_attempts: over.retry_attempts.or(self.retry_attempts),
        }
    }

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
            options: ServeOptions {
                timeout: self.timeout.unwrap_or(Duration::from_secs(30)),
                max_body_bytes: self.max_body_bytes.unwrap_or(4 * 1024 * 1024),
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
                ops_prefix: ops_prefix(self.ops_prefix.as_deref().unwrap_or(""))?,
                cors: cors(
                    &self.cors_origins,
                    &self.cors_methods,
                    &self.cors_headers,
                    self.cors_max_age,
                )?,
            },
            idempotency: self.idempotency.unwrap_or_default(),
            header_read_timeout: self.header_read_timeout.unwrap_or(Duration::from_secs(10)),
            shutdown_grace: self.shutdown_grace.unwrap_or(Duration::from_secs(30)),
            log_format: self.log_format.unwrap_or_default(),
            watch: self.watch.unwrap_or(false),
            tls: match (self.tls_cert, self.tls_key) {
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
            },
        })
    }
}

fn invalid(key: &'static str, message: String) -> ConfigError {
    ConfigError::Invalid { key, message }
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
fn upstreams(
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

/// A list written as an array, or as one comma-separated string.
fn one_or_many<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(de)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
        OneOrMany::Many(v) => v,
    })
}

/// A value written as text and parsed with its `FromStr`.
fn from_str<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text = String::deserialize(de)?;
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn environment_uses_the_file_names() {
        let s = env(&[
            ("RESTGATE_LISTEN", "127.0.0.1:9000"),
            ("RESTGATE_MAX_BODY_BYTES", "1024"),
            ("RESTGATE_TIMEOUT", "500ms"),
            ("RESTGATE_IGNORE_UNKNOWN_FIELDS", "true"),
            ("RESTGATE_UPSTREAM", "a.B=http://x:1, http://y:2"),
            ("RESTGATE_PROTO", "a.proto"),
            ("RESTGATE_IDEMPOTENCY", "redis://127.0.0.1:6379"),
            ("RESTGATE_TLS_CERT", "/etc/restgate/cert.pem"),
            ("RESTGATE_GOOGLE_API_CREATES", "never"),
            ("PATH", "/bin"),
        ])
        .unwrap();
        assert_eq!(s.listen, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(s.max_body_bytes, Some(1024));
        assert_eq!(s.timeout, Some(Duration::from_millis(500)));
        assert_eq!(s.ignore_unknown_fields, Some(true));
        assert_eq!(s.upstream, ["a.B=http://x:1", "http://y:2"]);
        assert_eq!(s.input.protos, [PathBuf::from("a.proto")]);
        assert_eq!(s.tls_cert, Some(PathBuf::from("/etc/restgate/cert.pem")));
        assert_eq!(s.google_api_creates, Some(GoogleApiCreates::Never));
        assert_eq!(
            s.idempotency,
            Some(StoreSpec::Redis("redis://127.0.0.1:6379".into()))
        );
    }

    #[test]
    fn unknown_and_bad_environment_values_name_the_variable() {
        let e = env(&[("RESTGATE_LISTN", "x")]).unwrap_err().to_string();
        assert!(
            e.starts_with("environment variable RESTGATE_LISTN: unknown field `listn`"),
            "{e}"
        );
        let e = env(&[("RESTGATE_MAX_BODY_BYTES", "lots")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("environment variable RESTGATE_MAX_BODY_BYTES: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn later_sources_win() {
        let file: Settings = toml::from_str(
            "listen = \"127.0.0.1:1\"\ntimeout = \"5s\"\nupstream = [\"http://a:1\"]",
        )
        .unwrap();
        let flags = Settings {
            timeout: Some(Duration::from_secs(7)),
            ..Settings::default()
        };
        let vars = env(&[("RESTGATE_LISTEN", "127.0.0.1:3")]).unwrap();
        let merged = file.overlay(flags).overlay(vars).resolve().unwrap();
        assert_eq!(merged.listen, "127.0.0.1:3".parse().unwrap());
        assert_eq!(merged.options.timeout, Duration::from_secs(7));
        assert_eq!(
            merged.upstreams.default,
            Some("http://a:1".parse().unwrap())
        );
        assert_eq!(merged.options.max_body_bytes, 4 * 1024 * 1024);
    }

    #[test]
    fn the_example_file_holds_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("restgate.example.toml");
        let example = Settings::from_file(&path).unwrap().resolve().unwrap();
        let defaults = Settings::default().resolve().unwrap();
        assert_eq!(example.listen, defaults.listen);
        assert_eq!(
            format!("{:?}", example.options),
            format!("{:?}", defaults.options)
        );
        assert_eq!(example.idempotency, defaults.idempotency);
        assert_eq!(example.header_read_timeout, defaults.header_read_timeout);
        assert_eq!(example.shutdown_grace, defaults.shutdown_grace);
        assert_eq!(example.log_format, defaults.log_format);
        assert_eq!(example.watch, defaults.watch);
        assert_eq!(example.tls, defaults.tls);
        assert_eq!(example.compile, defaults.compile);
    }

    #[test]
    fn file_errors_name_the_key() {
        let e = toml::from_str::<Settings>("listn = 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `listn`"), "{e}");
        let e = toml::from_str::<Settings>("timeout = \"soon\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("timeout"), "{e}");
        let e = toml::from_str::<Settings>("idempotency = \"mongo://x\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("idempotency"), "{e}");
        let e = toml::from_str::<Settings>("google-api-creates = \"always\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("google-api-creates"), "{e}");
        assert!(e.contains("expected `auto` or `never`"), "{e}");
        let e = Settings {
            retry_attempts: Some(0),
            ..Settings::default()
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert_eq!(e, "retry-attempts: must be 1 to 10, not 0");
        let e = Settings {
            tls_cert: Some("cert.pem".into()),
            ..Settings::default()
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("tls-key: "), "{e}");
        let e = env(&[("RESTGATE_MAX_URI_BYTES", "70000")])
            .unwrap()
            .resolve()
            .unwrap_err()
            .to_string();
        assert_eq!(e, "max-uri-bytes: must be 1 to 65534, not 70000");
        let e = toml::from_str::<Settings>("max-header-bytes = 0")
            .unwrap()
            .resolve()
            .unwrap_err()
            .to_string();
        assert_eq!(e, "max-header-bytes: must be at least 1");
    }
}
