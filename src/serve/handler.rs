//! The one handler every REST request goes through: admit (head limits,
//! concurrency) → lookup → read body → transcode request → (claim the
//! idempotency key) → call upstream, retrying idempotent methods →
//! [`Answer::reply`] → (store the answer for the key) → `304` when a GET's
//! `If-None-Match` matches its `ETag` → count and log.
//! `HEAD` on a `GET` route calls the method as `GET` does (one upstream
//! call) and answers its status and headers without the body; `OPTIONS` on
//! a known path answers `204` with `Allow`.
//! Streaming methods branch off to [`super::stream`] after the lookup
//! (client streaming) or once the request message is built (server
//! streaming).

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderValue, Method, StatusCode};
use prost_reflect::DynamicMessage;
use tokio::sync::OwnedSemaphorePermit;

use super::answer::{self, Answer, Answered};
use super::body::{drain, read_body};
use super::call::{self, CallContext, REQUEST_ID};
use super::conditional;
use super::idempotency::{self, Begin, Running};
use super::stream::{self, StreamRequest};
use super::{head, limits, Gateway, ServeError};
use crate::compile::{Body, Captures, Lookup, RouteId};
use crate::transcode::{self, precondition, JsonOptions, RequestParts};
use crate::upstream::{self, ReplyMessage, RequestMessage, UpstreamError};

/// Serves one request; always answers, with `X-Request-Id` set. Counts it
/// in the metrics and, when enabled, logs one line for it.
/// `gateway` is the worker's for the table being served now: a reload
/// swaps it for later requests only.
///
/// An `async` block, not an `async fn`, which would hold `request` twice
/// (as it came, and moved into its body) in every request's state.
#[allow(clippy::manual_async_fn)] // see above: an `async fn` holds its arguments twice
pub(super) fn handle(
    gateway: Arc<Gateway>,
    request: Request,
) -> impl std::future::Future<Output = Response> + Send + 'static {
    async move {
        let started = std::time::Instant::now();
        let shared = &gateway.shared;
        let in_flight = shared.options.metrics.then(|| shared.metrics.in_flight());
        let request_id = call::request_id(request.headers());
        let method = request.method().clone();
        let mut route = None;
        let (outcome, permit) = match admit(&gateway, &request) {
            Err(error) => {
                // Read what the client still sends, so that it sees the answer.
                if !matches!(error, ServeError::Overloaded) {
                    drain(request.into_body()).await;
                }
                (Err(error), None)
            }
            Ok(permit) => {
                let timeout = shared.options.request_timeout;
                let (parts, body) = request.into_parts();
                let serving = serve(&gateway, parts, body, &request_id, &mut route);
                let outcome = match tokio::time::timeout(timeout, serving).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(ServeError::RequestTimeout(timeout)),
                };
                (outcome, permit)
            }
        };
        let answer = outcome.unwrap_or_else(|error| {
            if error.status().is_server_error() {
                tracing::warn!(error = %error, request_id = ?request_id, "request failed");
            }
            Answered::Whole(error.answer())
        });
        // A refused head's own id may be what was too large (and too large for
        // the client to read back): it is not echoed.
        let request_id = match answer.status() {
            StatusCode::URI_TOO_LONG | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
                call::new_request_id()
            }
            _ => request_id,
        };
        let template = route.map_or("-", |id| shared.route(id).template.as_str());
        record(&gateway, &method, template, &answer, &request_id, started);
        let streamed = matches!(answer, Answered::Streamed(_));
        let mut response = answer.into_response();
        if method == Method::HEAD {
            response = answer::head_only(response);
        }
        response.headers_mut().insert(REQUEST_ID, request_id);
        if streamed {
            // A stream stays in flight, and holds its permit, until it ends.
            response = stream::holding(response, (permit, in_flight));
        }
        response
    }
}

/// Whether the request may be served: its head within the limits, and a
/// permit when concurrency is bounded (`Ok(None)`: unbounded).
fn admit(gateway: &Gateway, request: &Request) -> Result<Option<OwnedSemaphorePermit>, ServeError> {
    let shared = &gateway.shared;
    limits::check(request.uri(), request.headers(), &shared.options)?;
    head::check(request.uri(), request.headers())?;
    match &shared.limiter {
        Some(limiter) => Arc::clone(limiter)
            .try_acquire_owned()
            .map(Some)
            .map_err(|_| ServeError::Overloaded),
        None => Ok(None),
    }
}

/// Counts the answer in the metrics and writes its access log line.
fn record(
    gateway: &Gateway,
    method: &Method,
    template: &str,
    answer: &Answered,
    request_id: &HeaderValue,
    started: std::time::Instant,
) {
    let shared = &gateway.shared;
    let elapsed = started.elapsed();
    let status = answer.status().as_u16();
    shared
        .metrics
        .answered(template, method.as_str(), status, elapsed);
    if shared.options.access_log {
        super::access_log::access_line(method, template, status, elapsed, request_id);
    }
}

/// `route` is set to the matched route as soon as it is known.
///
/// Takes the request in its parts, in place: an `async fn` taking the
/// request would hold it twice (as it came, and taken apart in its body)
/// in every request's state.
#[allow(clippy::manual_async_fn)] // see above: an `async fn` holds its arguments twice
fn serve<'a>(
    gateway: &'a Gateway,
    parts: Parts,
    body: axum::body::Body,
    request_id: &'a HeaderValue,
    route: &'a mut Option<RouteId>,
) -> impl std::future::Future<Output = Result<Answered, ServeError>> + Send + 'a {
    async move {
        let shared = &gateway.shared;
        let (id, captures) = match shared.table.lookup(&parts.method, parts.uri.path()) {
            Lookup::Found { route, captures } => (route, captures),
            Lookup::MethodNotAllowed(allowed) => return Err(ServeError::MethodNotAllowed(allowed)),
            Lookup::Options(allowed) => return Ok(Answered::Whole(Answer::options(&allowed))),
            Lookup::NotFound => return Err(ServeError::NotFound(parts.uri.path().to_owned())),
        };
        *route = Some(id);
        let context = CallContext::new(gateway, id, &parts.headers, request_id);
        let streaming = stream::is_streaming(context.route);
        if streaming && parts.headers.contains_key(idempotency::HEADER) {
            return Err(ServeError::StreamingIdempotencyKey);
        }
        // `$alt` and the other system parameters: checked before any call.
        let system = transcode::system_params(context.route, parts.uri.query())?;
        let stream_request = StreamRequest {
            parts: &parts,
            system,
        };
        // The streaming paths' futures are boxed: a unary request's future
        // (moved whole into a box per request) does not reserve their size.
        if context.route.rpc.is_client_streaming() {
            let streaming = stream::client_streaming(context, stream_request, captures, body);
            return Box::pin(streaming).await;
        }
        // The body's bytes stay held in the budget until the request is
        // answered: the message built from it and the call made with it live
        // that long (the body itself is let go once the call is built).
        let mut held = shared.body_budget.empty();
        let body = match context.route.body {
            Body::None => Bytes::new(),
            _ => {
                let limit = shared.options.max_body_bytes;
                let raw = context.route.raw_request();
                read_body(&parts.headers, body, limit, raw, &mut held).await?
            }
        };
        if streaming {
            let message = request_message(&context, &parts, &captures, &body)?;
            return Box::pin(stream::server_streaming(context, stream_request, message)).await;
        }
        let message = unary_request(&context, &parts, &captures, &body)?;
        let reply = system.reply_options(&shared.options.json);
        let unary = Unary {
            context,
            parts: &parts,
            captures: &captures,
            json: reply,
        };
        // The body the message was built from is let go before the call (under
        // a key, once its fingerprint is taken): while the reply is written it
        // would be one more copy. A keyed call's store round trips are boxed:
        // most requests carry no key, and every request's future is moved
        // whole into a box.
        let answer = match idempotency::key(&parts.method, &parts.headers)? {
            None => {
                drop(body);
                unary.call(message).await?
            }
            Some(key) => Box::pin(unary.keyed(key, message, body)).await?,
        };
        let answer = if matches!(parts.method, Method::GET | Method::HEAD) {
            conditional::revalidate(&parts.headers, answer)
        } else {
            answer
        };
        Ok(Answered::Whole(answer))
    }
}

/// The request message: captures, query and body, with `If-Match` applied.
fn request_message(
    context: &CallContext<'_>,
    parts: &Parts,
    captures: &Captures,
    body: &Bytes,
) -> Result<DynamicMessage, ServeError> {
    let route = context.route;
    let options = &context.gateway.shared.options.json;
    let mut message =
        transcode::build_request(route, request_parts(parts, captures, body), options)?;
    if let Some(tag) = if_match(parts) {
        precondition::apply_if_match(route, &mut message, tag);
    }
    Ok(message)
}

/// A unary call's request: written as wire bytes by the route's compiled
/// transcoder when it has one, else built as [`request_message`] does.
fn unary_request(
    context: &CallContext<'_>,
    parts: &Parts,
    captures: &Captures,
    body: &Bytes,
) -> Result<RequestMessage, ServeError> {
    let Some(plan) = &context.serving.request_plan else {
        return request_message(context, parts, captures, body).map(RequestMessage::Dynamic);
    };
    let options = &context.gateway.shared.options.json;
    let request = request_parts(parts, captures, body);
    let wire = plan.build(context.route, request, if_match(parts), options)?;
    Ok(RequestMessage::Wire(wire))
}

/// What the request message is built from.
fn request_parts<'a>(
    parts: &'a Parts,
    captures: &'a Captures,
    body: &'a Bytes,
) -> RequestParts<'a> {
    RequestParts {
        captures,
        query: parts.uri.query(),
        body,
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    }
}

/// The entity tag of the request's `If-Match`, when it names one.
fn if_match(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .and_then(precondition::if_match_tag)
}

/// How much longer than its deadline a claimed key stays in flight, should
/// the gateway stop before recording the answer.
const LEASE_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);

/// A unary call about to be made.
struct Unary<'r> {
    context: CallContext<'r>,
    parts: &'r Parts,
    captures: &'r Captures,
    /// How the reply's JSON is written: the gateway's options, as the
    /// request's `$alt` adjusts them.
    json: JsonOptions,
}

impl<'r> Unary<'r> {
    /// Under the `Idempotency-Key` `key`, replays the stored answer or
    /// calls and stores the answer; `body`, the message's, gives the
    /// request's fingerprint.
    async fn keyed(
        self,
        key: &str,
        message: RequestMessage,
        body: Bytes,
    ) -> Result<Answer, ServeError> {
        let parts = self.parts;
        let shared = &self.context.gateway.shared;
        let store = shared.store.as_ref();
        let template = self.context.route.template.as_str();
        let fingerprint = idempotency::fingerprint(&parts.method, template, &parts.uri, &body);
        drop(body);
        let lease = self.context.deadline() + LEASE_MARGIN;
        match idempotency::begin(store, key, &parts.headers, fingerprint, lease).await? {
            Begin::Replay(answer) => {
                shared.metrics.replayed();
                Ok(answer)
            }
            Begin::Run(claimed) => {
                let ttl = shared.options.idempotency_ttl;
                let running = Running::new(Arc::clone(&shared.store), claimed, ttl);
                let outcome = self.call(message).await;
                running.finish(&outcome).await;
                outcome
            }
        }
    }

    /// Calls the route's RPC and turns the reply into the answer.
    ///
    /// An `async` block, not an `async fn`, which would hold `self` twice
    /// (as it came, and taken apart in its body) in every request's state.
    #[allow(clippy::manual_async_fn)] // see above: an `async fn` holds its arguments twice
    fn call(
        mut self,
        message: RequestMessage,
    ) -> impl std::future::Future<Output = Result<Answer, ServeError>> + Send + 'r {
        async move {
            let context = &mut self.context;
            let options = &context.gateway.shared.options;
            let idempotent = matches!(
                self.parts.method,
                Method::GET | Method::HEAD | Method::PUT | Method::DELETE
            );
            let (target, path) = context.target();
            let plan = context.serving.reply_plan.as_deref();
            let request = upstream::Call {
                path: path.clone(),
                request: message,
                metadata: std::mem::take(&mut context.metadata),
                reply: context.route.rpc.output(),
                timeout: context.deadline(),
            };
            let reply =
                upstream::call_with(target, request, plan.is_some(), idempotent, &options.retry)
                    .await
                    .map_err(|error| context.failed(error))?;
            let path = self.parts.uri.path();
            let route = context.route;
            let message = match (&reply.message, plan) {
                (ReplyMessage::Decoded(message), _) => Cow::Borrowed(message),
                (ReplyMessage::Wire(wire), plan) => {
                    let written = plan.and_then(|plan| {
                        Answer::wire_reply(
                            route,
                            self.captures,
                            path,
                            &reply,
                            wire,
                            plan,
                            &self.json,
                        )
                    });
                    if let Some(answer) = written {
                        return Ok(answer);
                    }
                    // Refused: decoded as the codec would have, for its answer.
                    let output = route.rpc.output();
                    let decoded = DynamicMessage::decode(output.clone(), wire.as_ref());
                    let status = |e| UpstreamError::Status(upstream::undecodable(&output, &e));
                    Cow::Owned(decoded.map_err(|e| context.failed(status(e)))?)
                }
            };
            Answer::reply(route, self.captures, path, &reply, &message, &self.json)
        }
    }
}
