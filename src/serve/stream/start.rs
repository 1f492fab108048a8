//! Starting a streaming call: the request side (one message, or an NDJSON
//! body read a line at a time), the call made with the request's
//! [`CallContext`], and the wait for the first reply message, before which
//! a failure is an ordinary error answer; and [`holding`], which keeps a
//! streamed answer's permit and in-flight count until its body ends.

use std::sync::Arc;

use axum::body::Body as AxumBody;
use axum::response::Response;
use futures_util::{Stream, StreamExt};
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue};
use prost_reflect::DynamicMessage;
use tokio::sync::oneshot;

use super::format::Format;
use super::replies::Replies;
use crate::compile::{Captures, Route};
use crate::serve::answer::Answered;
use crate::serve::body::{is_ndjson, Lines};
use crate::serve::call::CallContext;
use crate::serve::ServeError;
use crate::transcode::{Alt, SystemParams};
use crate::upstream::{self, UpstreamError};

/// Whether the route's RPC streams requests, replies or both.
pub(in crate::serve) fn is_streaming(route: &Route) -> bool {
    route.rpc.is_client_streaming() || route.rpc.is_server_streaming()
}

/// `response` whose body keeps `guard` until the body is dropped.
pub(in crate::serve) fn holding<G: Send + 'static>(response: Response, guard: G) -> Response {
    response.map(|body| {
        let chunks = body.into_data_stream().map(move |chunk| {
            let _ = &guard;
            chunk
        });
        AxumBody::from_stream(chunks)
    })
}

/// What a streaming call needs from the request beyond its call context.
pub(in crate::serve) struct StreamRequest<'a> {
    /// The request's head.
    pub(in crate::serve) parts: &'a Parts,
    /// What its system parameters (`$alt`) ask of the replies.
    pub(in crate::serve) system: SystemParams,
}

/// A server-streaming call with one request `message`.
pub(in crate::serve) async fn server_streaming(
    context: CallContext<'_>,
    request: StreamRequest<'_>,
    message: DynamicMessage,
) -> Result<Answered, ServeError> {
    let requests = futures_util::stream::once(std::future::ready(message));
    start(context, &request, requests, std::future::pending(), None).await
}

/// A client-streaming or bidirectional call, its requests read from the
/// NDJSON `body`, one message per line.
pub(in crate::serve) async fn client_streaming(
    context: CallContext<'_>,
    request: StreamRequest<'_>,
    captures: Captures,
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
        Arc::clone(&context.gateway.shared),
        context.id,
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
    start(context, &request, lines.messages(), aborted, Some(failure)).await
}

/// Starts the call and waits for its first reply message (or its end):
/// a failure until then is an ordinary error answer.
async fn start<S, A>(
    mut context: CallContext<'_>,
    request: &StreamRequest<'_>,
    requests: S,
    aborted: A,
    failure: Option<oneshot::Receiver<ServeError>>,
) -> Result<Answered, ServeError>
where
    S: Stream<Item = DynamicMessage> + Send + 'static,
    A: std::future::Future<Output = ()> + Send + 'static,
{
    let shared = Arc::clone(&context.gateway.shared);
    let route = context.route;
    // Only a client's own Grpc-Timeout bounds a whole stream; the default
    // deadline bounds the wait for the first reply message. A client stream
    // (one reply) is bounded like a unary call.
    let first_deadline = context.deadline();
    let whole = match route.rpc.is_server_streaming() {
        true => context.asked,
        false => Some(first_deadline),
    };
    let mut stream = Replies {
        json: request.system.reply_options(&shared.options.json),
        shared,
        route: context.id,
        reply: None,
        failure,
        deadline: whole.map(|d| (tokio::time::Instant::now() + d, d)),
    };
    let metadata = std::mem::take(&mut context.metadata);
    let (target, path) = context.target();
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
    let (headers, first) = match tokio::time::timeout(first_deadline, first).await {
        Ok(first) => first?,
        Err(_) => {
            return Err(stream.upstream_error(UpstreamError::DeadlineExceeded {
                timeout: first_deadline,
                sent: true,
            }))
        }
    };
    if !route.rpc.is_server_streaming() {
        return stream.whole(first, headers).await.map(Answered::Whole);
    }
    let format = format(request);
    Ok(Answered::Streamed(streamed(stream, format, first, headers)))
}

/// How a server stream is written: Server-Sent Events for `$alt=sse`, else
/// what the request's `Accept` asks.
fn format(request: &StreamRequest<'_>) -> Format {
    match request.system.alt {
        Alt::Sse => Format::Sse,
        Alt::Json | Alt::Media => Format::of(&request.parts.headers),
    }
}

/// The streamed answer: `first` and the rest of the replies as lines or
/// events, under the reply's headers.
fn streamed(
    mut stream: Replies,
    format: Format,
    first: Option<DynamicMessage>,
    mut headers: HeaderMap,
) -> Response {
    headers.insert(header::CONTENT_TYPE, format.content_type());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let first = first.map(|message| stream.line(format, &message));
    let body = futures_util::stream::iter(first)
        .chain(stream.lines(format))
        .map(Ok::<_, std::convert::Infallible>);
    let mut response = Response::new(AxumBody::from_stream(body));
    *response.headers_mut() = headers;
    response
}

/// Resolves with the request side's failure; never while there is none.
pub(super) async fn failed(failure: &mut Option<oneshot::Receiver<ServeError>>) -> ServeError {
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
