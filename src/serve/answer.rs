//! [`Answer`]: a whole HTTP answer held in memory (status, headers, body),
//! so that it can be stored for an idempotency key and replayed byte for
//! byte; [`Answer::reply`] and [`Answer::wire_reply`] (a reply written by
//! the compiled transcoder), which pick a successful call's status,
//! `Location` and `ETag` in one place; and [`Answered`], whole or streamed.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use prost_reflect::DynamicMessage;

use super::ServeError;
use crate::compile::{Captures, Route, RouteKind};
use crate::idempotency::{Record, StoredHeader};
use crate::transcode::{self, precondition, JsonOptions, MessagePlan};
use crate::upstream::{self, Reply};

/// `restgate-created`, as a name: looked up in every reply.
const CREATED: HeaderName = HeaderName::from_static(upstream::CREATED_METADATA);

/// A complete answer.
#[derive(Debug, Clone)]
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

/// Whether a header is part of the answer itself, worth replaying (not
/// per-request like `X-Request-Id` or `Date`).
fn replayed(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "content-type" | "location" | "etag" | "allow"
    ) || name.as_str().starts_with("grpc-metadata-")
        || name.as_str().starts_with("grpc-trailer-")
}

impl Answer {
    /// The record to store for an idempotency key.
    pub(super) fn record(&self, fingerprint: Vec<u8>) -> Record {
        Record {
            fingerprint,
            status: u32::from(self.status.as_u16()),
            headers: self
                .headers
                .iter()
                .filter(|(name, _)| replayed(name))
                .map(|(name, value)| StoredHeader {
                    name: name.as_str().to_owned(),
                    value: value.as_bytes().to_vec(),
                })
                .collect(),
            body: self.body.to_vec(),
        }
    }

    /// The stored answer, marked `Idempotent-Replayed: true`.
    pub(super) fn replay(record: Record) -> Answer {
        let mut headers = HeaderMap::with_capacity(record.headers.len() + 1);
        for header in &record.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(header.name.as_bytes()),
                HeaderValue::from_bytes(&header.value),
            ) {
                headers.append(name, value);
            }
        }
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        Answer {
            status: u16::try_from(record.status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers,
            body: Bytes::from(record.body),
        }
    }
}

impl Answer {
    /// `204 No Content` to an `OPTIONS` request, with `Allow`.
    pub(super) fn options(allowed: &[http::Method]) -> Answer {
        let mut headers = HeaderMap::with_capacity(1);
        if let Some(value) = allow_value(allowed) {
            headers.insert(header::ALLOW, value);
        }
        Answer {
            status: StatusCode::NO_CONTENT,
            headers,
            body: Bytes::new(),
        }
    }

    /// A JSON answer.
    pub(super) fn json(status: StatusCode, mut headers: HeaderMap, body: Bytes) -> Answer {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Answer {
            status,
            headers,
            body,
        }
    }

    /// The answer to a unary call's `reply`, whose `message` is decoded:
    /// its message as JSON (written with `json`) or as a raw body; its
    /// `ETag`, metadata and trailers; 201 with `Location` for a create,
    /// and for a replace the service reports as a creation (the item is
    /// then the request's `path`).
    pub(super) fn reply<M>(
        route: &Route,
        captures: &Captures,
        path: &str,
        reply: &Reply<M>,
        message: &DynamicMessage,
        json: &JsonOptions,
    ) -> Result<Answer, ServeError> {
        let mut headers = HeaderMap::with_capacity(4);
        let body = match transcode::raw_reply(route, message) {
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
                transcode::reply_body(route, message, json)?.into()
            }
        };
        let etag = precondition::reply_etag(route, message);
        let location = || location(route, captures, message);
        Ok(finish(route, path, reply, headers, body, etag, location))
    }

    /// [`Answer::reply`] for a reply kept as its protobuf encoding `wire`,
    /// written as JSON by the route's compiled `plan` (the route fits
    /// [`transcode::wire_reply_fits`]). `None` when the plan refuses the
    /// bytes: the caller then decodes them, so that the answer (or the
    /// error) is the decoded path's.
    pub(super) fn wire_reply<M>(
        route: &Route,
        captures: &Captures,
        path: &str,
        reply: &Reply<M>,
        wire: &[u8],
        plan: &MessagePlan,
        json: &JsonOptions,
    ) -> Option<Answer> {
        let mut body = Vec::with_capacity(wire.len() * 2 + 16);
        plan.wire_to_json(wire, json, &mut body).ok()?;
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let etag = precondition::wire_reply_etag(&route.rpc.output(), wire);
        let location = || {
            let location = transcode::wire_location(route, captures, wire);
            if location.is_none() {
                tracing::debug!(rpc = %route.rpc_name(), "create answered without Location");
            }
            location
        };
        Some(finish(
            route,
            path,
            reply,
            headers,
            body.into(),
            etag,
            location,
        ))
    }
}

/// The answer with `body` (its `Content-Type` in `headers`): `etag`, the
/// reply's metadata and trailers, and the status (201 with `location()`
/// for a create, 201 with `path` for a replace that created).
fn finish<M>(
    route: &Route,
    path: &str,
    reply: &Reply<M>,
    mut headers: HeaderMap,
    body: Bytes,
    etag: Option<String>,
    location: impl FnOnce() -> Option<String>,
) -> Answer {
    // The tag's own bytes become the value: no copy.
    let etag = etag.and_then(|e| HeaderValue::from_maybe_shared(Bytes::from(e.into_bytes())).ok());
    if let Some(etag) = etag {
        headers.insert(header::ETAG, etag);
    }
    upstream::response_headers(&mut headers, &reply.headers, upstream::GRPC_METADATA);
    upstream::response_headers(&mut headers, &reply.trailers, upstream::GRPC_TRAILER);
    let created = reply.headers.get(CREATED).is_some_and(|v| v == "true");
    let (status, location) = match route.kind {
        RouteKind::Create => (StatusCode::CREATED, location()),
        RouteKind::Replace if created => (StatusCode::CREATED, Some(path.to_owned())),
        _ => (StatusCode::OK, None),
    };
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, value);
    }
    Answer {
        status,
        headers,
        body,
    }
}

/// The created item's URI, or `None` (logged) when it cannot be built.
fn location(route: &Route, captures: &Captures, reply: &DynamicMessage) -> Option<String> {
    let location = transcode::location(route, captures, reply);
    if location.is_none() {
        tracing::debug!(rpc = %route.rpc_name(), "create answered without Location");
    }
    location
}

/// `Allow`'s value: the methods, comma-separated.
pub(super) fn allow_value(methods: &[http::Method]) -> Option<HeaderValue> {
    let allow = methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    HeaderValue::from_str(&allow).ok()
}

/// The answer to a `HEAD` request: `response`'s status and headers, the
/// `Content-Length` its body would have had, and no body.
pub(super) fn head_only(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    if let Some(length) = http_body::Body::size_hint(&body).exact() {
        parts
            .headers
            .entry(header::CONTENT_LENGTH)
            .or_insert_with(|| HeaderValue::from(length));
    }
    Response::from_parts(parts, axum::body::Body::empty())
}

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

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut headers = self.headers;
        // No body, no media type: a 204 to OPTIONS, a 304.
        let bodiless = self.body.is_empty() && !headers.contains_key(header::CONTENT_TYPE);
        let body = if bodiless {
            axum::body::Body::empty()
        } else {
            headers
                .entry(header::CONTENT_TYPE)
                .or_insert(HeaderValue::from_static("application/octet-stream"));
            axum::body::Body::from(self.body)
        };
        // The answer's own header map becomes the response's (moved, not
        // copied entry by entry into a new one: two allocations less).
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = headers;
        response
    }
}
