//! The one handler every REST request goes through:
//! lookup → read body → transcode request → call upstream → transcode reply.

use std::sync::Arc;

use axum::body::Body as AxumBody;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use http_body_util::BodyExt;
use prost_reflect::ReflectMessage;

use super::{Gateway, ServeError};
use crate::compile::{Body, Lookup, RouteKind};
use crate::transcode::{self, RequestParts};
use crate::upstream::{self, UpstreamError};

const REQUEST_ID: &str = "x-request-id";

/// Serves one request; always answers, with `X-Request-Id` set.
pub(super) async fn handle(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .filter(|v| !v.is_empty())
        .cloned()
        .unwrap_or_else(new_request_id);
    let mut response = match serve(&gateway, request, &request_id).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    response.headers_mut().insert(REQUEST_ID, request_id);
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

async fn serve(
    gateway: &Gateway,
    request: Request,
    request_id: &HeaderValue,
) -> Result<Response, ServeError> {
    let shared = &gateway.shared;
    let (parts, body) = request.into_parts();
    let (index, captures) = match shared.table.lookup(&parts.method, parts.uri.path()) {
        Lookup::Found { route, captures } => (route, captures),
        Lookup::MethodNotAllowed(allowed) => return Err(ServeError::MethodNotAllowed(allowed)),
        Lookup::NotFound => return Err(ServeError::NotFound(parts.uri.path().to_owned())),
    };
    let route = &shared.table.routes()[index];

    let body = if route.body == Body::None {
        bytes::Bytes::new()
    } else {
        read_body(&parts.headers, body, shared.options.max_body_bytes).await?
    };
    let json = &shared.options.json;
    let message = transcode::build_request(
        route,
        RequestParts {
            captures: &captures,
            query: parts.uri.query(),
            body: &body,
        },
        json,
    )?;

    let mut metadata = upstream::request_metadata(&parts.headers, &shared.options.forward_headers);
    if !parts.headers.contains_key(REQUEST_ID) {
        metadata.as_mut().insert(REQUEST_ID, request_id.clone());
    }
    let timeout = parts
        .headers
        .get("grpc-timeout")
        .and_then(upstream::grpc_timeout)
        .unwrap_or(shared.options.timeout);

    let (target, path) = gateway.target(index);
    let reply = target
        .unary(path.clone(), message, metadata, route.rpc.output(), timeout)
        .await
        .map_err(|error| {
            let details = match &error {
                UpstreamError::Status(status) => {
                    transcode::status_details(route.rpc.parent_pool(), status.details(), json)
                }
                _ => Vec::new(),
            };
            ServeError::Upstream { error, details }
        })?;

    let body = transcode::reply_body(route, &reply.message, json)?;
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    upstream::response_headers(&mut headers, &reply.headers, upstream::GRPC_METADATA);
    upstream::response_headers(&mut headers, &reply.trailers, upstream::GRPC_TRAILER);
    let status = if route.kind == RouteKind::Create {
        match transcode::location(route, &captures, &reply.message) {
            Some(location) => {
                if let Ok(value) = HeaderValue::from_str(&location) {
                    headers.insert(header::LOCATION, value);
                }
            }
            None => tracing::debug!(
                rpc = %route.rpc_name(),
                reply = %reply.message.descriptor().full_name(),
                "create answered without Location"
            ),
        }
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, headers, body).into_response())
}

/// The most a refused body is read (and thrown away) before answering 413:
/// answering while the client is still sending makes many HTTP clients see a
/// broken pipe instead of the 413, so a body up to this size is drained first.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;
/// How long draining a refused body may take.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads the rest of a refused body, up to [`DRAIN_LIMIT`] bytes and
/// [`DRAIN_TIME`], and throws it away.
async fn drain(mut body: AxumBody) {
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

/// Reads a JSON body up to `limit` bytes: 415 for another content type, 413
/// beyond the limit.
async fn read_body(
    headers: &HeaderMap,
    mut body: AxumBody,
    limit: usize,
) -> Result<bytes::Bytes, ServeError> {
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
    if !buffer.is_empty() {
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

/// `application/json`, with parameters, or any `application/*+json`.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
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
