//! The gRPC side: upstreams of one or more endpoints (plaintext or TLS),
//! balanced round robin with failover, unary and streaming calls, one HTTP/2 connection per endpoint
//! per worker, a codec for reflected messages, deadlines, and HTTP headers ↔
//! gRPC metadata; and the descriptors an upstream's server reflection
//! serves.
//!
//! The client path is one h2 connection per endpoint, driven directly
//! (`http2`), not a tonic `Channel` nor hyper's client: a `Channel` puts
//! every call through a tower `Buffer` task, and hyper's client through a
//! channel to its connection task and two spawned tasks per call; on a
//! current-thread runtime per core those hops were the largest costs left
//! after HTTP and JSON (see BENCHMARKS.md). A unary call
//! over the network is framed and read by hand (`unary`, `reply`), without
//! tonic's generic client and its buffers; streaming calls, and every call
//! to a service in process, go through tonic's `Grpc`.

mod codec;
mod connection;
mod error;
mod http2;
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

/// The header of a call's deadline: as a client may send it, and as the
/// gateway sends it to the service.
pub const GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");
