//! Streaming calls (server, client and bidirectional streaming) over the
//! same transports as unary calls: the request is a stream of messages sent
//! as they come, the reply a stream read as it arrives.
//!
//! The returned [`ReplyStream`] owns the call: dropping it before the end
//! cancels the call. The reply side is dropped, and a request side still
//! sending fails, so the HTTP/2 stream is reset and the service sees the
//! call cancelled rather than its input ended.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use http::uri::PathAndQuery;
use http::HeaderMap;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tokio::sync::oneshot;
use tonic::body::Body;
use tonic::codec::Streaming;
use tonic::metadata::MetadataMap;

use super::connection::{Connection, Transport, Upstream};
use super::{DynamicCodec, UpstreamError};

/// A streaming call whose service has answered with its header metadata.
#[derive(Debug)]
pub struct ReplyStream {
    /// The reply's header metadata.
    pub headers: HeaderMap,
    /// The reply messages; ends with the call's status.
    pub messages: Streaming<DynamicMessage>,
    /// Dropped with the stream: fails the request body if still sending.
    _abort: oneshot::Sender<()>,
}

impl Upstream {
    /// Starts a streaming call of `path`: every message of `requests` is
    /// sent as it comes; the end of `requests` half-closes the call.
    /// When `aborted` completes, the request side fails and the call is
    /// reset (the service sees an error, not the end of its input).
    /// `deadline`, when given, is the whole call's (sent as
    /// `grpc-timeout`). Returns once the service answered its headers (or
    /// failed); the caller bounds that wait.
    pub async fn streaming<S, A>(
        &self,
        path: PathAndQuery,
        requests: S,
        aborted: A,
        metadata: MetadataMap,
        reply: MessageDescriptor,
        deadline: Option<Duration>,
    ) -> Result<ReplyStream, UpstreamError>
    where
        S: Stream<Item = DynamicMessage> + Send + 'static,
        A: Future<Output = ()> + Send + 'static,
    {
        let (abort, given_up) = oneshot::channel();
        let aborted = Aborted {
            given_up,
            aborted: Box::pin(aborted),
        };
        let mut request =
            tonic::Request::from_parts(metadata, tonic::Extensions::default(), requests);
        if let Some(deadline) = deadline {
            request.set_timeout(deadline);
        }
        match &self.transport {
            Transport::Remote(remote) => {
                let pool = remote.pool().await?;
                let (connection, origin) = Connection::open(remote, &pool).await?;
                connection.admits(request.metadata(), None, &path, &origin)?;
                let service = abortable(connection, aborted);
                let grpc = tonic::client::Grpc::with_origin(service, origin);
                streaming_over(grpc, path, request, reply, abort).await
            }
            Transport::Local { origin, service } => {
                let service = abortable(service.0.clone(), aborted);
                let grpc = tonic::client::Grpc::with_origin(service, origin.clone());
                streaming_over(grpc, path, request, reply, abort).await
            }
        }
    }
}

/// One streaming call over any gRPC transport, up to the reply's headers.
async fn streaming_over<T, S>(
    mut grpc: tonic::client::Grpc<T>,
    path: PathAndQuery,
    request: tonic::Request<S>,
    reply: MessageDescriptor,
    abort: oneshot::Sender<()>,
) -> Result<ReplyStream, UpstreamError>
where
    T: tonic::client::GrpcService<Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError>,
    S: Stream<Item = DynamicMessage> + Send + 'static,
{
    grpc.ready()
        .await
        .map_err(|e| UpstreamError::Unavailable(e.into().to_string()))?;
    let response = grpc
        .streaming(request, path, DynamicCodec::new(reply))
        .await
        .map_err(UpstreamError::Status)?;
    let (headers, messages, _) = response.into_parts();
    Ok(ReplyStream {
        headers: headers.into_headers(),
        messages,
        _abort: abort,
    })
}

/// `service` with the body of its (one) request made [`Abortable`].
fn abortable<T>(
    service: T,
    aborted: Aborted,
) -> tower::util::MapRequest<T, impl FnMut(http::Request<Body>) -> http::Request<Body>>
where
    T: tower::Service<http::Request<Body>>,
{
    let mut aborted = Some(aborted);
    tower::ServiceExt::map_request(service, move |request: http::Request<Body>| {
        match aborted.take() {
            Some(aborted) => request.map(|body| {
                Body::new(Abortable {
                    body,
                    aborted,
                    failed: false,
                })
            }),
            None => request,
        }
    })
}

/// A request body that fails once its call is given up or aborted, so that
/// the transport resets the stream instead of waiting for more input or
/// ending it cleanly. (A reset with `CANCEL`, as dropping an unanswered
/// call makes, reads as the end of the input to a tonic service.)
struct Abortable {
    body: Body,
    aborted: Aborted,
    /// The body failed already.
    failed: bool,
}

/// When a call's request side must fail.
struct Aborted {
    /// Completes when the [`ReplyStream`] (or the call) is dropped.
    given_up: oneshot::Receiver<()>,
    /// The caller's signal.
    aborted: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Aborted {
    fn poll(&mut self, cx: &mut Context<'_>) -> bool {
        Pin::new(&mut self.given_up).poll(cx).is_ready()
            || self.aborted.as_mut().poll(cx).is_ready()
    }
}

/// The error an abandoned call's request body ends with.
#[derive(Debug, thiserror::Error)]
#[error("the call was given up")]
struct GivenUp;

impl http_body::Body for Abortable {
    type Data = bytes::Bytes;
    type Error = tonic::codegen::StdError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        if self.failed || self.aborted.poll(cx) {
            self.failed = true;
            return Poll::Ready(Some(Err(Box::new(GivenUp))));
        }
        Pin::new(&mut self.body)
            .poll_frame(cx)
            .map_err(tonic::codegen::StdError::from)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
