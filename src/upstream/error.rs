//! [`UpstreamError`]: why a call did not produce a reply.

/// A failed upstream call.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No connection could be made, or it broke: the service may not have
    /// seen the call, so it is safe to retry idempotent ones.
    #[error("upstream unavailable: {0}")]
    Unavailable(String),
    /// The deadline passed before the reply came.
    #[error("upstream did not answer within {0:?}")]
    DeadlineExceeded(std::time::Duration),
    /// The service answered with a gRPC error status.
    #[error("upstream answered {}: {}", .0.code(), .0.message())]
    Status(tonic::Status),
    /// The upstream's settings are unusable: a bad address, or TLS files
    /// that cannot be loaded (the reason names the file).
    #[error("bad upstream {uri}: {reason}")]
    BadUri {
        /// The address as given.
        uri: String,
        /// Why.
        reason: String,
    },
}
