//! [`ServeError`]: every way a request fails, and the one place that turns a
//! failure into an HTTP answer: status, JSON error body
//! (`{"code": <gRPC code>, "message": "...", "details": [...]}`), headers.
//! Internal details (addresses, transport errors) are logged, never sent.

use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use tonic::Code;

use super::answer::Answer;
use super::head::HeadError;
use crate::idempotency::StoreError;
use crate::transcode::TranscodeError;
use crate::upstream::{self, UpstreamError};

/// Why a request did not get a reply from the service.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// No route has this path.
    #[error("no route for {0}")]
    NotFound(String),
    /// The path is known, the method is not.
    #[error("method not allowed; allowed: {}", .0.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "))]
    MethodNotAllowed(Vec<http::Method>),
    /// A request body in a `Content-Encoding` the gateway does not decode.
    #[error("request bodies may be encoded gzip, br or zstd, not {0:?}")]
    UnsupportedContentEncoding(String),
    /// A body that is not JSON.
    #[error("request bodies must be application/json, not {0:?}")]
    UnsupportedMediaType(String),
    /// A streaming request body that is not NDJSON.
    #[error("streaming request bodies must be application/x-ndjson, not {0:?}")]
    NotNdjson(String),
    /// An `Idempotency-Key` on a streaming method, which is never replayed.
    #[error("Idempotency-Key is not supported on streaming methods")]
    StreamingIdempotencyKey,
    /// A body over the limit.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// A request URI (path and query) longer than `max-uri-bytes`.
    #[error("request URI longer than {0} bytes")]
    UriTooLong(usize),
    /// Request headers larger than `max-header-bytes` in all.
    #[error("request headers larger than {0} bytes in all")]
    HeadersTooLarge(usize),
    /// The body could not be read.
    #[error("cannot read the request body: {0}")]
    BodyRead(String),
    /// The request head is one the gateway refuses (`head`).
    #[error(transparent)]
    Head(#[from] HeadError),
    /// The request does not fit the message, or the reply does not fit JSON.
    #[error(transparent)]
    Transcode(#[from] TranscodeError),
    /// One line of an NDJSON request body does not fit the message.
    #[error("line {line} of the request body: {error}")]
    Line {
        /// Its number, from 1 (blank lines count).
        line: usize,
        /// Why it does not fit.
        error: TranscodeError,
    },
    /// The call failed. `details` are the decoded status details.
    #[error("{error}")]
    Upstream {
        /// What failed.
        error: UpstreamError,
        /// `details` of the error body, already JSON.
        details: Vec<serde_json::Value>,
        /// Whether the request carried `If-Match`/`If-None-Match`: a failed
        /// precondition is then a 412, not a 400.
        precondition: bool,
    },
    /// An `Idempotency-Key` that is empty, too long or not visible ASCII.
    #[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
    BadIdempotencyKey,
    /// A request with this `Idempotency-Key` is still running.
    #[error("a request with this Idempotency-Key is still being processed; retry later")]
    KeyInFlight,
    /// This `Idempotency-Key` was used for a different request.
    #[error("this Idempotency-Key was used for a different request")]
    KeyReused,
    /// The idempotency store did not answer; the request was not run.
    #[error("{0}")]
    Store(StoreError),
    /// More requests in flight than `max-concurrent-requests` allows.
    #[error("too many requests in flight; retry shortly")]
    Overloaded,
    /// The request's body does not fit in what `max-in-flight-bytes` leaves
    /// free.
    #[error("too many request bodies in flight; retry shortly")]
    BodiesInFlight,
    /// The whole request took longer than `request-timeout`.
    #[error("the request took longer than {0:?}")]
    RequestTimeout(std::time::Duration),
    /// What an `Idempotency-Key` answers whose request was given up while
    /// its call was under way (the client went away, `request-timeout`
    /// passed).
    #[error(
        "the request was given up before the service answered: whether the service acted on it \
         is unknown"
    )]
    GivenUp,
}

impl ServeError {
    /// The gRPC code and HTTP status this error answers with.
    fn code_and_status(&self) -> (Code, StatusCode) {
        match self {
            ServeError::NotFound(_) => (Code::NotFound, StatusCode::NOT_FOUND),
            ServeError::MethodNotAllowed(_) => {
                (Code::Unimplemented, StatusCode::METHOD_NOT_ALLOWED)
            }
            ServeError::UnsupportedMediaType(_) => {
                (Code::InvalidArgument, StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            ServeError::UnsupportedContentEncoding(_) => {
                (Code::InvalidArgument, StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            ServeError::NotNdjson(_) => (Code::InvalidArgument, StatusCode::UNSUPPORTED_MEDIA_TYPE),
            ServeError::StreamingIdempotencyKey => (Code::InvalidArgument, StatusCode::BAD_REQUEST),
            ServeError::PayloadTooLarge(_) => {
                (Code::ResourceExhausted, StatusCode::PAYLOAD_TOO_LARGE)
            }
            ServeError::UriTooLong(_) => (Code::ResourceExhausted, StatusCode::URI_TOO_LONG),
            ServeError::HeadersTooLarge(_) => (
                Code::ResourceExhausted,
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ),
            ServeError::BodyRead(_) | ServeError::Head(_) => {
                (Code::InvalidArgument, StatusCode::BAD_REQUEST)
            }
            ServeError::Transcode(e) if e.is_client_error() => {
                (Code::InvalidArgument, StatusCode::BAD_REQUEST)
            }
            ServeError::Transcode(_) => (Code::Internal, StatusCode::INTERNAL_SERVER_ERROR),
            ServeError::Line { .. } => (Code::InvalidArgument, StatusCode::BAD_REQUEST),
            ServeError::Upstream {
                error: UpstreamError::MetadataTooLarge { .. },
                ..
            } => (
                Code::ResourceExhausted,
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ),
            ServeError::Upstream {
                error: UpstreamError::Interrupted(_),
                ..
            } => (Code::Unknown, StatusCode::BAD_GATEWAY),
            ServeError::Upstream {
                error,
                precondition,
                ..
            } => {
                let code = error.code();
                let status = match code {
                    Code::FailedPrecondition if *precondition => StatusCode::PRECONDITION_FAILED,
                    _ => upstream::http_status(code),
                };
                (code, status)
            }
            ServeError::BadIdempotencyKey => (Code::InvalidArgument, StatusCode::BAD_REQUEST),
            ServeError::KeyInFlight => (Code::Aborted, StatusCode::CONFLICT),
            ServeError::KeyReused => (Code::InvalidArgument, StatusCode::UNPROCESSABLE_ENTITY),
            ServeError::Store(_) => (Code::Unavailable, StatusCode::SERVICE_UNAVAILABLE),
            ServeError::Overloaded | ServeError::BodiesInFlight => {
                (Code::Unavailable, StatusCode::SERVICE_UNAVAILABLE)
            }
            ServeError::RequestTimeout(_) => (Code::DeadlineExceeded, StatusCode::GATEWAY_TIMEOUT),
            ServeError::GivenUp => (Code::Unknown, StatusCode::BAD_GATEWAY),
        }
    }

    /// Whether the service surely did not act on the request: it was never
    /// sent (no connection, given back unsent or refused unprocessed, headers
    /// too large, a deadline that passed first), or the service answered
    /// `UNAVAILABLE`, which gRPC clients take as "not done, try again". Such
    /// an answer is not stored for an idempotency key, so the client may
    /// retry. Any other failure may have followed the service's acting
    /// (its connection broke, or its deadline passed, after the call was
    /// sent): stored, so that no retry under the key calls it again.
    pub(super) fn never_acted(&self) -> bool {
        match self {
            ServeError::Upstream { error, .. } => match error {
                UpstreamError::Unavailable(_) | UpstreamError::Refused(_) => true,
                UpstreamError::Interrupted(_) => false,
                UpstreamError::DeadlineExceeded { sent, .. } => !sent,
                UpstreamError::Status(s) => s.code() == Code::Unavailable,
                UpstreamError::BadUri { .. } => true,
                // Not sent: the same call with smaller headers may be run.
                UpstreamError::MetadataTooLarge { .. } => true,
            },
            ServeError::Store(_) | ServeError::Overloaded | ServeError::BodiesInFlight => true,
            _ => false,
        }
    }

    /// The HTTP status this error answers with.
    pub(super) fn status(&self) -> StatusCode {
        self.code_and_status().1
    }

    /// The message the client sees.
    fn public_message(&self) -> String {
        match self {
            ServeError::Upstream { error, .. } => match error {
                UpstreamError::Unavailable(_) | UpstreamError::Refused(_) => {
                    "the service is unavailable".to_owned()
                }
                UpstreamError::Interrupted(_) => "the connection to the service broke after \
                    the request was sent: whether the service acted on it is unknown"
                    .to_owned(),
                UpstreamError::DeadlineExceeded { .. } => {
                    "the service did not answer before the deadline".to_owned()
                }
                UpstreamError::Status(status) => status.message().to_owned(),
                UpstreamError::BadUri { .. } => "the gateway is misconfigured".to_owned(),
                UpstreamError::MetadataTooLarge { size, limit } => format!(
                    "the request headers passed to the service as metadata come to {size} \
                     bytes as HTTP/2 counts them; the service accepts less than {limit}"
                ),
            },
            ServeError::Transcode(e) if !e.is_client_error() => {
                "the reply could not be written as JSON".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// The error body: google.rpc.Status as JSON.
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    code: i32,
    message: &'a str,
    details: &'a [serde_json::Value],
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        self.answer().into_response()
    }
}

impl ServeError {
    /// The whole answer: status, headers, JSON error body.
    pub(super) fn answer(&self) -> Answer {
        let (code, status) = self.code_and_status();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let details = match &self {
            ServeError::Overloaded | ServeError::BodiesInFlight | ServeError::KeyInFlight => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                Vec::new()
            }
            ServeError::MethodNotAllowed(methods) => {
                if let Some(value) = super::answer::allow_value(methods) {
                    headers.insert(header::ALLOW, value);
                }
                Vec::new()
            }
            ServeError::Upstream {
                error: UpstreamError::Status(s),
                details,
                ..
            } => {
                upstream::response_headers(
                    &mut headers,
                    s.metadata().as_ref(),
                    upstream::GRPC_TRAILER,
                );
                details.clone()
            }
            ServeError::Upstream { details, .. } => details.clone(),
            _ => Vec::new(),
        };
        let body = ErrorBody {
            code: code as i32,
            message: &self.public_message(),
            details: &details,
        };
        Answer {
            status,
            headers,
            body: serde_json::to_vec(&body).unwrap_or_default().into(),
        }
    }
}
