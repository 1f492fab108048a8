//! The operational endpoints, under a configurable prefix so they never
//! collide with API routes: `/healthz` (the process lives), `/readyz` (routes
//! loaded and every upstream reachable; 503 "draining" once SIGTERM came), `/metrics` (Prometheus text) and
//! `/openapi.json`; and the CORS layer.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{header, HeaderValue, StatusCode};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::Live;
use crate::serve::CorsOptions;

/// The operational routes under `prefix` (`""` or e.g. `/_restgate`).
pub(super) fn routes(prefix: &str) -> axum::Router<Arc<Live>> {
    let [healthz_path, readyz_path, metrics_path, openapi_path] = paths(prefix);
    axum::Router::new()
        .route(&healthz_path, get(healthz))
        .route(&readyz_path, get(readyz))
        .route(&metrics_path, get(metrics))
        .route(&openapi_path, get(openapi))
}

/// The operational paths under `prefix`: `/healthz`, `/readyz`, `/metrics`
/// and `/openapi.json`, in that order.
pub(super) fn paths(prefix: &str) -> [String; 4] {
    let prefix = prefix.trim_end_matches('/');
    ["healthz", "readyz", "metrics", "openapi.json"].map(|name| format!("{prefix}/{name}"))
}

/// The process is alive and serving.
async fn healthz() -> Response {
    json(StatusCode::OK, r#"{"status":"ok"}"#.to_owned())
}

/// Ready when every upstream is reachable: it answers the standard
/// `grpc.health.v1` check with SERVING, or has no health service but
/// accepts a connection. Never ready while draining.
async fn readyz(State(live): State<Arc<Live>>) -> Response {
    let gateway = live.gateway();
    let routes = gateway.shared.table.routes().len();
    if live.draining() {
        let body = format!(r#"{{"status":"draining","routes":{routes}}}"#);
        return json(StatusCode::SERVICE_UNAVAILABLE, body);
    }
    match gateway.check_upstreams().await {
        Ok(()) => json(
            StatusCode::OK,
            format!(r#"{{"status":"ready","routes":{routes}}}"#),
        ),
        Err(reason) => {
            let body =
                serde_json::json!({ "status": "not ready", "routes": routes, "reason": reason });
            json(StatusCode::SERVICE_UNAVAILABLE, body.to_string())
        }
    }
}

/// Prometheus text exposition.
async fn metrics(State(live): State<Arc<Live>>) -> Response {
    let gateway = live.gateway();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        gateway.shared.metrics.render(),
    )
        .into_response()
}

/// The OpenAPI 3.1 document of the routes served.
async fn openapi(State(live): State<Arc<Live>>) -> Response {
    let gateway = live.gateway();
    (
        [(header::CONTENT_TYPE, "application/json")],
        gateway.shared.openapi.clone(),
    )
        .into_response()
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The CORS layer: preflights answered by the gateway, the answer headers a
/// browser needs (`Location`, `ETag`, `X-Request-Id`...) exposed.
pub(super) fn cors_layer(cors: &CorsOptions) -> CorsLayer {
    let origins = if cors.origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            cors.origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods(cors.methods.clone())
        .allow_headers(cors.headers.clone())
        .expose_headers([
            header::LOCATION,
            header::ETAG,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(cors.max_age)
}
