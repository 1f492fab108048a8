//! The gateway's settings: [`ServeOptions`] (deadlines, limits, JSON,
//! retries, logging, the ops prefix, CORS) and [`Upstreams`] (where each
//! service's calls go). Plain data: `config` fills them, the pipeline and
//! the lifecycle read them.

use std::collections::HashMap;
use std::time::Duration;

use http::HeaderName;

use crate::transcode::JsonOptions;
use crate::upstream::{RemoteSpec, RetryPolicy};

/// Where each service's calls go: `--upstream [SERVICE=]URI`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upstreams {
    /// For every service without its own entry.
    pub default: Option<RemoteSpec>,
    /// By service full name (`examples.v1.UserService`).
    pub by_service: HashMap<String, RemoteSpec>,
}

/// Settings of `restgate serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Deadline of a call when the request sends no `Grpc-Timeout`; of a
    /// streaming reply's first message only.
    pub timeout: Duration,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Longest request URI (path and query) accepted (414 beyond); at most
    /// [`MAX_URI_BYTES`](super::MAX_URI_BYTES).
    pub max_uri_bytes: usize,
    /// Largest request header section, names and values summed (431 beyond).
    pub max_header_bytes: usize,
    /// How JSON is read and written.
    pub json: JsonOptions,
    /// Extra request headers passed to the service as metadata.
    pub forward_headers: Vec<HeaderName>,
    /// How `/openapi.json` writes variables spanning several segments.
    pub openapi_path_params: crate::openapi::PathParams,
    /// `/openapi.json`'s `info.license` (SPDX); set for the bundled example.
    pub openapi_license: Option<String>,
    /// How idempotent calls (PUT, GET, DELETE) are retried.
    pub retry: RetryPolicy,
    /// How long the answer of a keyed POST is kept for replay.
    pub idempotency_ttl: Duration,
    /// Requests served at once; beyond it, 503 with `Retry-After`. `None`: no limit.
    pub max_concurrent_requests: Option<usize>,
    /// Bytes of request bodies held at once, every worker together; a body
    /// that does not fit is refused with 503 and `Retry-After`.
    pub max_in_flight_bytes: usize,
    /// The most a whole request may take, body included; 504 beyond. A
    /// streaming answer is bounded until its headers only.
    pub request_timeout: Duration,
    /// One log line per request (route, status, latency, request id).
    pub access_log: bool,
    /// Count requests in `/metrics`.
    pub metrics: bool,
    /// Serve the API explorer at `/docs` (off: a 404).
    pub docs: bool,
    /// Compress replies by `Accept-Encoding` (gzip, br, zstd): those of
    /// at least `compress_min_bytes`, and streamed ones flushed per message.
    pub compress_responses: bool,
    /// Smallest reply (by its length) compressed.
    pub compress_min_bytes: u64,
    /// Decode `Content-Encoding` gzip, br and zstd request bodies (the body
    /// limit counts decoded bytes); off, an encoded body is a 415.
    pub decompress_requests: bool,
    /// Where `/healthz`, `/readyz`, `/metrics`, `/openapi.json` and `/docs` live:
    /// under this prefix (e.g. `/_restgate`), so they never collide with API routes.
    pub ops_prefix: String,
    /// Cross-origin requests; `None`: no CORS headers, preflights are 405s.
    pub cors: Option<CorsOptions>,
}

/// CORS settings: which origins may call, with which methods and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsOptions {
    /// Allowed origins; `*` allows any.
    pub origins: Vec<String>,
    /// Allowed methods.
    pub methods: Vec<http::Method>,
    /// Allowed request headers.
    pub headers: Vec<HeaderName>,
    /// How long a browser may cache a preflight answer.
    pub max_age: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            timeout: Duration::from_secs(30),
            max_body_bytes: 4 * 1024 * 1024,
            max_uri_bytes: super::DEFAULT_MAX_URI_BYTES,
            max_header_bytes: super::DEFAULT_MAX_HEADER_BYTES,
            json: JsonOptions::default(),
            forward_headers: Vec::new(),
            openapi_path_params: crate::openapi::PathParams::default(),
            openapi_license: None,
            retry: RetryPolicy::default(),
            idempotency_ttl: crate::idempotency::DEFAULT_TTL,
            max_concurrent_requests: None,
            max_in_flight_bytes: super::body::default_max_in_flight_bytes(
                4 * 1024 * 1024,
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
            request_timeout: Duration::from_secs(60),
            access_log: true,
            metrics: true,
            docs: true,
            compress_responses: true,
            compress_min_bytes: super::DEFAULT_COMPRESS_MIN_BYTES,
            decompress_requests: true,
            ops_prefix: String::new(),
            cors: None,
        }
    }
}
