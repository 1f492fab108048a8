//! The gRPC side: upstreams of one or more endpoints (plaintext or TLS),
//! balanced round robin with failover, unary and streaming calls, one HTTP/2 connection per endpoint
//! per worker, a codec for reflected messages, deadlines, and HTTP headers ↔
//! gRPC metadata; and the descriptors an upstream's server reflection
//! serves.
//!
//! The client path is a hyper HTTP/2 `SendRequest` per endpoint directly,
//! not a tonic `Channel`: a `Channel` puts every call through a tower
//! `Buffer` task, and on a current-thread runtime per core that hop is the
//! largest cost left after HTTP and JSON (see BENCHMARKS.md). A unary call
//! over the network is framed and read by hand (`unary`, `reply`), without
//! tonic's generic client and its buffers; streaming calls, and every call
//! to a service in process, go through tonic's `Grpc`.

mod codec;
mod connection;
mod error;
mod metadata;
mod preface;
mod progress;
mod reflection;
mod remote;
mod reply;
mod retry;
mod spec;
mod status;
mod stream;
mod tls;
mod unary;

pub use codec::{undecodable, DynamicCodec, ReplyMessage, RequestMessage, UnaryCodec};
pub use connection::{Channel, Endpoint, LocalService, Reply, Upstream};
pub use error::UpstreamError;
pub use metadata::{grpc_timeout, request_metadata, response_headers, GRPC_METADATA, GRPC_TRAILER};
pub use reflection::{fetch_descriptors, reflected_input, Reason, ReflectionError};
pub use remote::{connection_failures, ConnectionFailures};
pub use retry::{call, call_with, retries_total, Call, RetryPolicy};
pub use spec::{RemoteSpec, TlsSettings};
pub use status::{code_name, http_status};
pub use stream::ReplyStream;

/// Response metadata a service sets (`restgate-created: true`) when a
/// replace created the item rather than replacing it: the gateway then
/// answers `201 Created` with `Location` (the request URI) instead of `200`.
/// Never forwarded to the client.
pub const CREATED_METADATA: &str = "restgate-created";
