//! The one handler every REST request goes through: lookup → read body →
//! transcode request → (claim the idempotency key) → call upstream, retrying
//! idempotent methods → transcode reply → (store the answer for the key).
//! Streaming methods branch off to [`super::stream`] after the lookup
//! (client streaming) or once the request message is built (server
//! streaming).

use std::sync::Arc;

use axum::body::Body as AxumBody;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use prost_reflect::DynamicMessage;

use super::answer::Answer;
use super::idempotency::{self, Begin};
use super::limits;
use super::stream::{self, Answered, StreamRequest};
use super::{Gateway, Live, ServeError};
use crate::compile::{Body, Lookup, Route, RouteKind};
use crate::transcode::{self, precondition, JsonOptions, RequestParts};
use crate::upstream::{self, Call, UpstreamError};

pub(super) const REQUEST_ID: &str = "x-request-id";

/// Serves one request; always answers, with `X-Request-Id` set. Counts it
/// in the metrics and, when enabled, logs one line for it.
pub(super) async fn handle(State(live): State<Arc<Live>>, request: Request) -> Response {
    // The table of this request: a reload swaps it for later ones only.
    let gateway = live.gateway();
    let started = std::time::Instant::now();
    let shared = &gateway.shared;
    let in_flight = shared.options.metrics.then(|| shared.metrics.in_flight());
    let oversized = limits::check(request.uri(), request.headers(), &shared.options).err();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .filter(|v| !v.is_empty())
        .cloned()
        .unwrap_or_else(new_request_id);
    let method = request.method().clone();
    let mut route = None;
    let permit = match &oversized {
        None => shared
            .limiter
            .as_ref()
            .map(|l| Arc::clone(l).try_acquire_owned()),
        Some(_) => None,
    };
    let (outcome, permit) = match (oversized, permit) {
        (Some(error), _) => {
            // Read what the client still sends, so that it sees the answer.
            drain(request.into_body()).await;
            (Err(error), None)
        }
        (None, Some(Err(_))) => (Err(ServeError::Overloaded), None),
        (None, permit) => {
            let outcome = match tokio::time::timeout(
                shared.options.request_timeout,
                serve(&gateway, request, &request_id, &mut route),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => Err(ServeError::RequestTimeout(shared.options.request_timeout)),
            };
            (outcome, permit)
        }
    };
    let answer = match outcome {
        Ok(answer) => answer,
        Err(error) => {
            if error.status().is_server_error() {
                tracing::warn!(error = %error, request_id = ?request_id, "request failed");
            }
            Answered::Whole(error.answer())
        }
    };
    // A refused head's own id may be what was too large (and too large for
    // the client to read back): it is not echoed.
    let request_id = match answer.status() {
        StatusCode::URI_TOO_LONG | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => new_request_id(),
        _ => request_id,
    };
    let template = route.map_or("-", |i| shared.table.routes()[i].template.as_str());
    let elapsed = started.elapsed();
    shared
        .metrics
        .answered(template, method.as_str(), answer.status().as_u16(), elapsed);
    if shared.options.access_log {
        tracing::info!(
            target: "restgate::access",
            method = %method,
            route = template,
            status = answer.status().as_u16(),
            latency_us = elapsed.as_micros() as u64,
            request_id = request_id.to_str().unwrap_or("-"),
        );
    }
    let streamed = matches!(answer, Answered::Streamed(_));
    let mut response = answer.into_response();
    response.headers_mut().insert(REQUEST_ID, request_id);
    if streamed {
        // A stream stays in flight, and holds its permit, until it ends.
        response = stream::holding(response, (permit, in_flight));
    }
    response
}

fn new_request_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4();
    HeaderValue::from_str(
        id.hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    )
    .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// `route` is set to the matched route's index as soon as it is known.
async fn serve(
    gateway: &Gateway,
    request: Request,
    request_id: &HeaderValue,
    route_index: &mut Option<usize>,
) -> Result<Answered, ServeError> {
    let shared = &gateway.shared;
    let (parts, body) = request.into_parts();
    let (index, captures) = match shared.table.lookup(&parts.method, parts.uri.path()) {
        Lookup::Found { route, captures } => (route, captures),
        Lookup::MethodNotAllowed(allowed) => return Err(ServeError::MethodNotAllowed(allowed)),
        Lookup::NotFound => return Err(ServeError::NotFound(parts.uri.path().to_owned())),
    };
    *route_index = Some(index);
    let route = &shared.table.routes()[index];
    let streaming = stream::is_streaming(route);
    if streaming && parts.headers.contains_key("idempotency-key") {
        return Err(ServeError::StreamingIdempotencyKey);
    }
    // `$alt` and the other system parameters: checked before any call.
    let system = transcode::system_params(route, parts.uri.query())?;
    let stream_request = StreamRequest {
        index,
        parts: &parts,
        request_id,
        system,
    };
    if route.rpc.is_client_streaming() {
        return stream::client_streaming(gateway, stream_request, captures, body).await;
    }

    let body = if route.body == Body::None {
        Bytes::new()
    } else {
        read_body(
            &parts.headers,
            body,
            shared.options.max_body_bytes,
            route.raw_request(),
        )
        .await?
    };
    let mut message = transcode::build_request(
        route,
        RequestParts {
            captures: &captures,
            query: parts.uri.query(),
            body: &body,
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        },
        &shared.options.json,
    )?;
    if let Some(tag) = parts
        .headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .and_then(precondition::if_match_tag)
    {
        precondition::apply_if_match(route, &mut message, tag);
    }

    if streaming {
        return stream::server_streaming(gateway, stream_request, message).await;
    }
    let reply = system.reply_options(&shared.options.json);
    let Some(key) = idempotency::key(&parts.method, &parts.headers)? else {
        return call(
            gateway, index, &parts, &captures, message, request_id, &reply,
        )
        .await
        .map(Answered::Whole);
    };
    let store = shared.store.as_ref();
    let fingerprint =
        idempotency::fingerprint(&parts.method, route.template.as_str(), &parts.uri, &body);
    let lease = deadline(&parts.headers, shared.timeout(index)) + LEASE_MARGIN;
    match idempotency::begin(store, key, &parts.headers, fingerprint, lease).await? {
        Begin::Replay(answer) => {
            shared.metrics.replayed();
            Ok(Answered::Whole(answer))
        }
        Begin::Run(claimed) => {
            let outcome = call(
                gateway, index, &parts, &captures, message, request_id, &reply,
            )
            .await;
            idempotency::finish(store, claimed, &outcome, shared.options.idempotency_ttl).await;
            outcome.map(Answered::Whole)
        }
    }
}

/// How much longer than its deadline a claimed key stays in flight, should
/// the gateway stop before recording the answer.
const LEASE_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);

/// The request's deadline: its `Grpc-Timeout`, else the configured default.
fn deadline(headers: &HeaderMap, default: std::time::Duration) -> std::time::Duration {
    headers
        .get("grpc-timeout")
        .and_then(upstream::grpc_timeout)
        .unwrap_or(default)
}

/// Calls the route's RPC and turns the reply into the answer, its JSON
/// written with `json` (the gateway's options, as the request's `$alt`
/// adjusts them).
async fn call(
    gateway: &Gateway,
    index: usize,
    parts: &Parts,
    captures: &[String],
    message: DynamicMessage,
    request_id: &HeaderValue,
    json: &JsonOptions,
) -> Result<Answer, ServeError> {
    let shared = &gateway.shared;
    let route = &shared.table.routes()[index];
    let mut metadata = upstream::request_metadata(&parts.headers, &shared.options.forward_headers);
    if !parts.headers.contains_key(REQUEST_ID) {
        metadata.as_mut().insert(REQUEST_ID, request_id.clone());
    }
    // An empty If-Match is no precondition (and is not passed on).
    let present = |name| parts.headers.get(name).is_some_and(|v| !v.is_empty());
    let precondition = present(header::IF_MATCH) || present(header::IF_NONE_MATCH);
    let idempotent = matches!(parts.method, Method::GET | Method::PUT | Method::DELETE);
    let (target, path) = gateway.target(index);
    let request = Call {
        path: path.clone(),
        request: message,
        metadata,
        reply: route.rpc.output(),
        timeout: deadline(&parts.headers, shared.timeout(index)),
    };
    let reply = upstream::call(target, request, idempotent, &shared.options.retry)
        .await
        .map_err(|error| {
            let code = match &error {
                UpstreamError::Unavailable(_) => "unavailable",
                UpstreamError::DeadlineExceeded(_) => "deadline",
                UpstreamError::Status(status) => code_name(status.code()),
                UpstreamError::BadUri { .. } => "misconfigured",
                UpstreamError::MetadataTooLarge { .. } => "metadata_too_large",
            };
            shared.metrics.upstream_error(route.template.as_str(), code);
            let details = match &error {
                UpstreamError::Status(status) => transcode::status_details(
                    route.rpc.parent_pool(),
                    status.details(),
                    &shared.options.json,
                ),
                _ => Vec::new(),
            };
            ServeError::Upstream {
                error,
                details,
                precondition,
            }
        })?;

    let mut headers = HeaderMap::with_capacity(4);
    let body = match transcode::raw_reply(route, &reply.message) {
        Some(raw) => {
            let content_type = HeaderValue::from_str(&raw.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            headers.insert(header::CONTENT_TYPE, content_type);
            raw.data
        }
        None => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            transcode::reply_body(route, &reply.message, json)?.into()
        }
    };
    if let Some(etag) =
        precondition::reply_etag(route, &reply.message).and_then(|e| HeaderValue::from_str(&e).ok())
    {
        headers.insert(header::ETAG, etag);
    }
    upstream::response_headers(&mut headers, &reply.headers, upstream::GRPC_METADATA);
    upstream::response_headers(&mut headers, &reply.trailers, upstream::GRPC_TRAILER);
    let created = reply
        .headers
        .get(upstream::CREATED_METADATA)
        .is_some_and(|v| v == "true");
    let location = match route.kind {
        RouteKind::Create => location(route, captures, &reply.message),
        // A replace the service reports as a creation: the item is the request URI.
        RouteKind::Replace if created => Some(parts.uri.path().to_owned()),
        _ => None,
    };
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, value);
    }
    let status = match route.kind {
        RouteKind::Create => StatusCode::CREATED,
        RouteKind::Replace if created => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// A gRPC code's name, as metrics label it.
pub(super) fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The created item's URI, or `None` (logged) when it cannot be built.
fn location(route: &Route, captures: &[String], reply: &DynamicMessage) -> Option<String> {
    let location = transcode::location(route, captures, reply);
    if location.is_none() {
        tracing::debug!(rpc = %route.rpc_name(), "create answered without Location");
    }
    location
}

/// The most a refused body is read (and thrown away) before answering 413:
/// answering while the client is still sending makes many HTTP clients see a
/// broken pipe instead of the 413, so a body up to this size is drained first.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;
/// How long draining a refused body may take.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads the rest of a refused body, up to [`DRAIN_LIMIT`] bytes and
/// [`DRAIN_TIME`], and throws it away.
pub(super) async fn drain(mut body: AxumBody) {
    let mut seen: u64 = 0;
    let reading = async {
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len() as u64);
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, reading).await;
}

/// Reads a body up to `limit` bytes (413 beyond it): a JSON body (415 for
/// another content type), or with `raw` a body of any content type.
async fn read_body(
    headers: &HeaderMap,
    mut body: AxumBody,
    limit: usize,
    raw: bool,
) -> Result<Bytes, ServeError> {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n > limit as u64) {
        drain(body).await;
        return Err(ServeError::PayloadTooLarge(limit));
    }
    let mut buffer = bytes::BytesMut::with_capacity(length.map_or(0, |n| n as usize));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ServeError::BodyRead(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if buffer.len() + data.len() > limit {
            drain(body).await;
            return Err(ServeError::PayloadTooLarge(limit));
        }
        buffer.extend_from_slice(&data);
    }
    if !buffer.is_empty() && !raw {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(content_type) {
            return Err(ServeError::UnsupportedMediaType(content_type.to_owned()));
        }
    }
    Ok(buffer.freeze())
}

/// A `Content-Type`'s media type without its parameters, in lower case.
pub(super) fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// `application/json`, with parameters, or any `application/*+json`.
fn is_json(content_type: &str) -> bool {
    let essence = media_type(content_type);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_content_types() {
        assert!(super::is_json("application/json"));
        assert!(super::is_json("Application/JSON; charset=utf-8"));
        assert!(super::is_json("application/merge-patch+json"));
        assert!(!super::is_json("text/plain"));
        assert!(!super::is_json(""));
    }
}
