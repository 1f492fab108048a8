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
    /// The request's metadata does not fit the header list the service's
    /// HTTP/2 server accepts (its `SETTINGS_MAX_HEADER_LIST_SIZE`); the
    /// call was not sent.
    #[error("the request's metadata comes to {size} bytes; the service accepts less than {limit}")]
    MetadataTooLarge {
        /// The call's header list, in RFC 7541 §4.1 bytes (name + value + 32
        /// per field, the gRPC protocol's own headers included).
        size: usize,
        /// The server's setting.
        limit: u32,
    },
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

impl UpstreamError {
    /// The gRPC code the failure answers with: the service's own, or the
    /// one the gateway's failure stands for.
    pub fn code(&self) -> tonic::Code {
        match self {
            UpstreamError::Unavailable(_) => tonic::Code::Unavailable,
            UpstreamError::DeadlineExceeded(_) => tonic::Code::DeadlineExceeded,
            UpstreamError::Status(status) => status.code(),
            UpstreamError::BadUri { .. } => tonic::Code::Internal,
            UpstreamError::MetadataTooLarge { .. } => tonic::Code::ResourceExhausted,
        }
    }

    /// How `/metrics` labels the failure: the service's code name
    /// ([`code_name`](super::code_name)), or what failed on the way.
    pub fn metric_label(&self) -> &'static str {
        match self {
            UpstreamError::Unavailable(_) => "unavailable",
            UpstreamError::DeadlineExceeded(_) => "deadline",
            UpstreamError::Status(status) => super::code_name(status.code()),
            UpstreamError::BadUri { .. } => "misconfigured",
            UpstreamError::MetadataTooLarge { .. } => "metadata_too_large",
        }
    }
}
