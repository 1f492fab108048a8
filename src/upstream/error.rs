//! [`UpstreamError`]: why a call did not produce a reply.

/// A failed upstream call.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No connection could be made, or the connection gave the call back
    /// unsent: the service has not seen the call.
    #[error("upstream unavailable: {0}")]
    Unavailable(String),
    /// The service's HTTP/2 server refused the call unprocessed (RFC 9113
    /// §8.7: above the last stream id of a graceful `GOAWAY`, or reset with
    /// `REFUSED_STREAM`): the service has not seen it, so it may be sent
    /// again, a create included.
    #[error("upstream refused the call unprocessed: {0}")]
    Refused(String),
    /// The call was sent, then its connection broke (closed, reset) before
    /// the whole reply came: the service may have acted on it.
    #[error("upstream connection broke after the call was sent: {0}")]
    Interrupted(String),
    /// The deadline passed before the reply came.
    #[error("upstream did not answer within {timeout:?}")]
    DeadlineExceeded {
        /// The call's deadline.
        timeout: std::time::Duration,
        /// Whether the call had been sent by then: the service may have
        /// acted on it.
        sent: bool,
    },
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
            UpstreamError::Unavailable(_) | UpstreamError::Refused(_) => tonic::Code::Unavailable,
            // Whether the service acted is not known.
            UpstreamError::Interrupted(_) => tonic::Code::Unknown,
            UpstreamError::DeadlineExceeded { .. } => tonic::Code::DeadlineExceeded,
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
            UpstreamError::Refused(_) => "refused",
            UpstreamError::Interrupted(_) => "interrupted",
            UpstreamError::DeadlineExceeded { .. } => "deadline",
            UpstreamError::Status(status) => super::code_name(status.code()),
            UpstreamError::BadUri { .. } => "misconfigured",
            UpstreamError::MetadataTooLarge { .. } => "metadata_too_large",
        }
    }
}
