//! Streaming RPCs over HTTP: server-streaming and bidirectional replies
//! written as NDJSON (or Server-Sent Events on `Accept: text/event-stream`
//! or `$alt=sse`), in the JSON options the request's `$alt` asks for,
//! one message flushed per line or event as it arrives; client-streaming
//! and bidirectional requests read from an NDJSON body, one message sent
//! upstream per line as soon as the line is complete.
//!
//! The answer's headers wait for the first reply message (or the call's
//! end), so a call that fails before it answers anything gets the ordinary
//! error status and body. After that, a failure ends the stream with an
//! error line (`{"error":{…}}`) or an `event: error`. Trailers arrive after
//! the body started and are not passed on. Dropping the answer (the client
//! went away) cancels the call.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body as AxumBody;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use prost_reflect::DynamicMessage;
use tokio::sync::oneshot;

mod body;

use self::body::{is_ndjson, Lines};
use super::answer::Answer;
use super::handler::code_name;
use super::{Gateway, ServeError, Shared};
use crate::compile::Route;
use crate::transcode::{self, Alt, JsonOptions, SystemParams};
use crate::upstream::{self, ReplyStream, UpstreamError};

/// What the handler answers: a whole answer, or a streamed one.
pub(super) enum Answered {
    /// Held in memory (unary calls, client streaming, errors).
    Whole(Answer),
    /// Written as the reply messages arrive.
    Streamed(Response),
}

impl Answered {
    /// The status of the answer's headers.
    pub(super) fn status(&self) -> StatusCode {
        match self {
            Answered::Whole(answer) => answer.status,
            Answered::Streamed(response) => response.status(),
        }
    }
}

impl IntoResponse for Answered {
    fn into_response(self) -> Response {
        match self {
            Answered::Whole(answer) => answer.into_response(),
            Answered::Streamed(response) => response,
        }
    }
}

/// `response` whose body keeps `guard` until the body is dropped.
pub(super) fn holding<G: Send + 'static>(response: Response, guard: G) -> Response {
    response.map(|body| {
        let chunks = body.into_data_stream().map(move |chunk| {
            let _ = &guard;
            chunk
        });
        AxumBody::from_stream(chunks)
    })
}

/// Whether the route's RPC streams requests, replies or both.
pub(super) fn is_streaming(route: &Route) -> bool {
    route.rpc.is_client_streaming() || route.rpc.is_server_streaming()
}

/// How a stream of replies is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// One JSON object per line (`application/x-ndjson`).
    Ndjson,
    /// Server-Sent Events (`text/event-stream`).
    Sse,
}

impl Format {
    /// SSE when the client accepts `text/event-stream` (or asked
    /// `$alt=sse`, see [`start`]); else NDJSON.
    fn of(headers: &HeaderMap) -> Format {
        let sse = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/event-stream"))
            });
        if sse {
            Format::Sse
        } else {
            Format::Ndjson
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Sse => "text/event-stream",
        })
    }

    /// One reply message (its JSON).
    fn message(self, json: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(json.len() + 8);
        match self {
            Format::Ndjson => {
                out.extend_from_slice(json);
                out.extend_from_slice(b"\n");
            }
            Format::Sse => {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(json);
                out.extend_from_slice(b"\n\n");
            }
        }
        out.freeze()
    }

    /// The error ending a stream: the error body of a failed unary call.
    fn error(self, error: &ServeError) -> Bytes {
        let body = error.answer().body;
        let mut out = BytesMut::with_capacity(body.len() + 24);
        match self {
            Format::Ndjson => {
                out.extend_from_slice(b"{\"error\":");
                out.extend_from_slice(&body);
                out.extend_from_slice(b"}\n");
            }
            Format::Sse => {
                out.extend_from_slice(b"event: error\ndata: ");
                out.extend_from_slice(&body);
                out.extend_from_slice(b"\n\n");
            }
        }
        out.freeze()
    }
}

/// What a streaming call needs from the request.
pub(super) struct StreamRequest<'a> {
    /// The matched route.
    pub(super) index: usize,
    /// The request's head.
    pub(super) parts: &'a Parts,
    /// The request's `X-Request-Id`.
    pub(super) request_id: &'a HeaderValue,
    /// What its system parameters (`$alt`) ask of the replies.
    pub(super) system: SystemParams,
}

/// A server-streaming call with one request `message`.
pub(super) async fn server_streaming(
    gateway: &Gateway,
    request: StreamRequest<'_>,
    message: DynamicMessage,
) -> Result<Answered, ServeError> {
    let requests = futures_util::stream::once(std::future::ready(message));
    start(gateway, &request, requests, std::future::pending(), None).await
}

/// A client-streaming or bidirectional call, its requests read from the
/// NDJSON `body`, one message per line.
pub(super) async fn client_streaming(
    gateway: &Gateway,
    request: StreamRequest<'_>,
    captures: Vec<String>,
    body: AxumBody,
) -> Result<Answered, ServeError> {
    let content_type = request
        .parts
        .headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?"));
    if let Some(content_type) = content_type.filter(|t| !is_ndjson(t)) {
        return Err(ServeError::NotNdjson(content_type.to_owned()));
    }
    let (failed, failure) = oneshot::channel();
    let (abort, aborted) = oneshot::channel::<()>();
    let lines = Lines::new(
        Arc::clone(&gateway.shared),
        request.index,
        captures,
        request.parts.uri.query().map(str::to_owned),
        body,
        (failed, abort),
    );
    // Only a sent signal aborts; the sender dropped at a good end does not.
    let aborted = async move {
        if aborted.await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    start(gateway, &request, lines.messages(), aborted, Some(failure)).await
}

/// Starts the call and waits for its first reply message (or its end):
/// a failure until then is an ordinary error answer.
async fn start<S, A>(
    gateway: &Gateway,
    request: &StreamRequest<'_>,
    requests: S,
    aborted: A,
    failure: Option<oneshot::Receiver<ServeError>>,
) -> Result<Answered, ServeError>
where
    S: Stream<Item = DynamicMessage> + Send + 'static,
    A: std::future::Future<Output = ()> + Send + 'static,
{
    let shared = Arc::clone(&gateway.shared);
    let route = &shared.table.routes()[request.index];
    let headers = &request.parts.headers;
    let mut metadata = upstream::request_metadata(headers, &shared.options.forward_headers);
    if !headers.contains_key(super::handler::REQUEST_ID) {
        metadata
            .as_mut()
            .insert(super::handler::REQUEST_ID, request.request_id.clone());
    }
    // Only a client's own Grpc-Timeout bounds a whole stream; the default
    // deadline bounds the wait for the first reply message. A client stream
    // (one reply) is bounded like a unary call.
    let asked = headers.get("grpc-timeout").and_then(upstream::grpc_timeout);
    let first_deadline = asked.unwrap_or(shared.timeout(request.index));
    let whole = if route.rpc.is_server_streaming() {
        asked
    } else {
        Some(first_deadline)
    };
    let (target, path) = gateway.target(request.index);
    let mut stream = Replies {
        shared: Arc::clone(&shared),
        json: request.system.reply_options(&shared.options.json),
        index: request.index,
        reply: None,
        failure,
        deadline: whole.map(|d| (tokio::time::Instant::now() + d, d)),
    };
    let first = async {
        let started = target.streaming(
            path.clone(),
            requests,
            aborted,
            metadata,
            route.rpc.output(),
            whole,
        );
        tokio::pin!(started);
        let reply = tokio::select! {
            reply = &mut started => match reply {
                Ok(reply) => reply,
                // In process the service can end on the aborted body in the
                // same poll as the request side failed: that failure is the
                // answer (a bad line is a 400), not the call's end.
                Err(e) => match stream.failure.as_mut().map(|f| f.try_recv()) {
                    Some(Ok(failed)) => return Err(failed),
                    _ => return Err(stream.upstream_error(e)),
                },
            },
            failed = failed(&mut stream.failure) => {
                // The request side aborted the call: wait for the reset to
                // end it, so that it is not cancelled (see `Upstream::streaming`).
                let _ = started.await;
                return Err(failed);
            }
        };
        let mut headers = HeaderMap::with_capacity(4);
        upstream::response_headers(&mut headers, &reply.headers, upstream::GRPC_METADATA);
        stream.reply = Some(reply);
        Ok((headers, stream.next().await?))
    };
    let (mut headers, first) = match tokio::time::timeout(first_deadline, first).await {
        Ok(first) => first?,
        Err(_) => {
            return Err(stream.upstream_error(UpstreamError::DeadlineExceeded(first_deadline)))
        }
    };

    if !route.rpc.is_server_streaming() {
        return stream.whole(first, headers).await.map(Answered::Whole);
    }
    let format = match request.system.alt {
        Alt::Sse => Format::Sse,
        Alt::Json | Alt::Media => Format::of(&request.parts.headers),
    };
    headers.insert(header::CONTENT_TYPE, format.content_type());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let first = first.map(|message| stream.line(format, &message));
    let body = futures_util::stream::iter(first)
        .chain(stream.lines(format))
        .map(Ok::<_, std::convert::Infallible>);
    let mut response = Response::new(AxumBody::from_stream(body));
    *response.headers_mut() = headers;
    Ok(Answered::Streamed(response))
}

/// Resolves with the request side's failure; never while there is none.
async fn failed(failure: &mut Option<oneshot::Receiver<ServeError>>) -> ServeError {
    loop {
        match failure.as_mut() {
            Some(receiver) => match receiver.await {
                Ok(error) => return error,
                // The request side ended well.
                Err(_) => *failure = None,
            },
            None => std::future::pending::<()>().await,
        }
    }
}

/// The reply side of a call being answered.
struct Replies {
    shared: Arc<Shared>,
    /// How reply messages are written (error details keep the gateway's).
    json: JsonOptions,
    index: usize,
    reply: Option<ReplyStream>,
    /// The request side's failure, when it reads a body.
    failure: Option<oneshot::Receiver<ServeError>>,
    /// When the whole call must have ended (and its length), when bounded:
    /// enforced here too, as a service may bound only its first answer.
    deadline: Option<(tokio::time::Instant, Duration)>,
}

impl Replies {
    fn route(&self) -> &Route {
        &self.shared.table.routes()[self.index]
    }

    /// The next reply message, `None` at a successful end. An error ends
    /// the call (the request side too).
    async fn next(&mut self) -> Result<Option<DynamicMessage>, ServeError> {
        let Some(reply) = self.reply.as_mut() else {
            return Ok(None);
        };
        let deadline = self.deadline;
        let passed = async move {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let next = tokio::select! {
            next = reply.messages.message() => next,
            failed = failed(&mut self.failure) => {
                self.reply = None;
                return Err(failed);
            }
            () = passed => {
                self.reply = None;
                let length = deadline.map_or(Duration::ZERO, |(_, d)| d);
                return Err(self.upstream_error(UpstreamError::DeadlineExceeded(length)));
            }
        };
        match next {
            Ok(Some(message)) => Ok(Some(message)),
            Ok(None) => {
                self.reply = None;
                Ok(None)
            }
            Err(status) => {
                self.reply = None;
                // As in `start`: the request side's failure, if any, is the answer.
                match self.failure.as_mut().map(|f| f.try_recv()) {
                    Some(Ok(failed)) => Err(failed),
                    _ => Err(self.upstream_error(UpstreamError::Status(status))),
                }
            }
        }
    }

    /// A failed call as an error (counted in the metrics).
    fn upstream_error(&self, error: UpstreamError) -> ServeError {
        let route = self.route();
        let code = match &error {
            UpstreamError::Unavailable(_) => "unavailable",
            UpstreamError::DeadlineExceeded(_) => "deadline",
            UpstreamError::Status(status) => code_name(status.code()),
            UpstreamError::BadUri { .. } => "misconfigured",
            UpstreamError::MetadataTooLarge { .. } => "metadata_too_large",
        };
        self.shared
            .metrics
            .upstream_error(route.template.as_str(), code);
        let details = match &error {
            UpstreamError::Status(status) => transcode::status_details(
                route.rpc.parent_pool(),
                status.details(),
                &self.shared.options.json,
            ),
            _ => Vec::new(),
        };
        ServeError::Upstream {
            error,
            details,
            precondition: false,
        }
    }

    /// One reply message as a line or event; a message that cannot be
    /// written ends the call with an error line.
    fn line(&mut self, format: Format, message: &DynamicMessage) -> Bytes {
        match transcode::reply_body(self.route(), message, &self.json) {
            Ok(json) => format.message(&json),
            Err(e) => {
                self.reply = None;
                format.error(&ServeError::Transcode(e))
            }
        }
    }

    /// The rest of the replies, as lines or events, ending after an error.
    fn lines(self, format: Format) -> impl Stream<Item = Bytes> + Send + 'static {
        futures_util::stream::unfold(Some(self), move |state| async move {
            let mut replies = state?;
            match replies.next().await {
                Ok(Some(message)) => {
                    let line = replies.line(format, &message);
                    Some((line, Some(replies)))
                }
                Ok(None) => None,
                Err(error) => {
                    log_failure(&error);
                    Some((format.error(&error), None))
                }
            }
        })
    }

    /// A client stream's one reply, checked to be its last, as JSON.
    async fn whole(
        mut self,
        first: Option<DynamicMessage>,
        mut headers: HeaderMap,
    ) -> Result<Answer, ServeError> {
        let message = first.ok_or_else(|| {
            self.upstream_error(UpstreamError::Status(tonic::Status::internal(
                "the service answered OK without a reply message",
            )))
        })?;
        if let Some(reply) = self.reply.as_mut() {
            match reply.messages.trailers().await {
                Ok(Some(trailers)) => upstream::response_headers(
                    &mut headers,
                    trailers.as_ref(),
                    upstream::GRPC_TRAILER,
                ),
                Ok(None) => {}
                Err(status) => return Err(self.upstream_error(UpstreamError::Status(status))),
            }
        }
        let body = transcode::reply_body(self.route(), &message, &self.json)?;
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(Answer {
            status: StatusCode::OK,
            headers,
            body: body.into(),
        })
    }
}

/// Logs a stream's failure after its answer started, as the handler logs
/// a failed request.
fn log_failure(error: &ServeError) {
    if error.status().is_server_error() {
        tracing::warn!(error = %error, "stream failed");
    } else {
        tracing::debug!(error = %error, "stream failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_format() {
        let mut headers = HeaderMap::new();
        assert_eq!(Format::of(&headers), Format::Ndjson);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        assert_eq!(Format::of(&headers), Format::Sse);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, Text/Event-Stream;q=0.5"),
        );
        assert_eq!(Format::of(&headers), Format::Sse);
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert_eq!(Format::of(&headers), Format::Ndjson);
    }

    #[test]
    fn lines_and_events() {
        assert_eq!(&Format::Ndjson.message(b"{}")[..], b"{}\n");
        assert_eq!(&Format::Sse.message(b"{}")[..], b"data: {}\n\n");
        let error = ServeError::PayloadTooLarge(1);
        let line = Format::Ndjson.error(&error);
        let value: serde_json::Value =
            serde_json::from_slice(&line).unwrap_or(serde_json::Value::Null);
        assert_eq!(value["error"]["code"], 8);
        assert!(Format::Sse
            .error(&error)
            .starts_with(b"event: error\ndata: {"));
    }
}
