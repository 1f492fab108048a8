//! [`Settings`]: every key of `restgate serve`, as one type that clap reads
//! the flags into and serde the file and the environment. Every field is
//! `None` (or empty) where its source does not set it; defaults come only
//! with `resolve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::upstreams::UpstreamTable;
use crate::cli::InputArgs;
use crate::compile::GoogleApiCreates;
use crate::idempotency::StoreSpec;

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
    /// PATCH are never retried, but for a call the service's server refused
    /// unprocessed (a graceful GOAWAY, REFUSED_STREAM): sent once more
    /// [default: 3].
    #[arg(long, value_name = "N")]
    pub retry_attempts: Option<u32>,
    /// Requests served at once; beyond it the gateway answers 503 with
    /// Retry-After [default: no limit].
    #[arg(long, value_name = "N")]
    pub max_concurrent_requests: Option<usize>,
    /// Bytes of request bodies held at once, every worker together; a body
    /// that does not fit gets 503 with Retry-After instead of growing the
    /// gateway's memory [default: 2 × --max-body-bytes × --workers, at
    /// least 1 MiB].
    #[arg(long, value_name = "BYTES")]
    pub max_in_flight_bytes: Option<usize>,
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
    /// On SIGTERM, how long the gateway keeps accepting connections while
    /// /readyz answers 503 "draining" (and HTTP/1 replies carry `Connection:
    /// close`), so that a load balancer stops sending before the listener
    /// closes; then --shutdown-grace starts. 0 closes the listener at once
    /// [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(default, with = "humantime_serde")]
    pub drain_delay: Option<Duration>,
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
    /// Serve the API explorer at /docs; off, /docs is a 404 [default: true].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub docs: Option<bool>,
    /// Compress replies (gzip, br, zstd by Accept-Encoding) of at least
    /// --compress-min-bytes, and streamed replies message by message
    /// [default: true].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub compress_responses: Option<bool>,
    /// Smallest reply compressed; smaller ones go as they are. Streamed
    /// replies, of unknown length, are compressed whatever their size
    /// [default: 1024].
    #[arg(long, value_name = "BYTES")]
    pub compress_min_bytes: Option<u64>,
    /// Decode request bodies sent with Content-Encoding gzip, br or zstd,
    /// --max-body-bytes counting the decoded bytes [default: true].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub decompress_requests: Option<bool>,
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
