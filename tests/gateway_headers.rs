//! Headers in and out: `Authorization`, `Grpc-Metadata-*`, trace context and
//! `X-Request-Id` reach the upstream as metadata (the fixture's `Metadata`
//! RPC answers with what it received); response metadata and trailers come
//! back as `Grpc-Metadata-*` and `Grpc-Trailer-*` headers.

mod support;

use reqwest::Method;
use serde_json::Value;
use support::{send, start_fixture, Gateway, Reply};

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// The metadata the upstream received, from the `Metadata` reply.
#[track_caller]
fn received(reply: &Reply) -> serde_json::Map<String, Value> {
    let body = reply.assert_json(200);
    match body.get("labels") {
        Some(Value::Object(labels)) => labels.clone(),
        None => serde_json::Map::new(),
        Some(other) => panic!("labels is not an object: {other}"),
    }
}

#[tokio::test]
async fn auth_metadata_and_trace_headers_reach_upstream() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = send(
        gw.request(Method::GET, "/v1/metadata")
            .header("authorization", "Bearer t")
            .header("grpc-metadata-foo", "bar")
            .header("traceparent", TRACEPARENT),
    )
    .await;
    let labels = received(&reply);
    assert_eq!(
        labels.get("authorization"),
        Some(&"Bearer t".into()),
        "{labels:?}"
    );
    assert_eq!(labels.get("foo"), Some(&"bar".into()), "{labels:?}");
    assert_eq!(
        labels.get("traceparent"),
        Some(&TRACEPARENT.into()),
        "{labels:?}"
    );
    assert!(
        !labels.contains_key("grpc-metadata-foo"),
        "the Grpc-Metadata- prefix is stripped: {labels:?}"
    );
    assert_eq!(fixture.calls("Metadata"), 1);
}

#[tokio::test]
async fn tracestate_reaches_upstream() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = send(
        gw.request(Method::GET, "/v1/metadata")
            .header("traceparent", TRACEPARENT)
            .header("tracestate", "congo=t61rcWkgMzE"),
    )
    .await;
    let labels = received(&reply);
    assert_eq!(
        labels.get("tracestate"),
        Some(&"congo=t61rcWkgMzE".into()),
        "{labels:?}"
    );
}

#[tokio::test]
async fn hop_by_hop_headers_are_not_forwarded() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = send(
        gw.request(Method::GET, "/v1/metadata")
            .header("connection", "keep-alive, x-hop")
            .header("x-hop", "1")
            .header("keep-alive", "timeout=5")
            .header("proxy-authorization", "Basic Zm9vOmJhcg=="),
    )
    .await;
    let labels = received(&reply);
    for hop in ["connection", "x-hop", "keep-alive", "proxy-authorization"] {
        assert!(!labels.contains_key(hop), "{hop} forwarded: {labels:?}");
    }
}

#[tokio::test]
async fn request_id_sent_is_forwarded_and_echoed() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = send(
        gw.request(Method::GET, "/v1/metadata")
            .header("x-request-id", "req-123"),
    )
    .await;
    let labels = received(&reply);
    assert_eq!(
        labels.get("x-request-id"),
        Some(&"req-123".into()),
        "{labels:?}"
    );
    assert_eq!(reply.header("x-request-id"), Some("req-123"));
}

#[tokio::test]
async fn request_id_absent_is_generated_forwarded_and_returned() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let first = gw.get("/v1/metadata").await;
    let labels = received(&first);
    let id = first
        .header("x-request-id")
        .expect("a generated X-Request-Id")
        .to_owned();
    assert!(!id.is_empty());
    assert_eq!(
        labels.get("x-request-id"),
        Some(&id.clone().into()),
        "{labels:?}"
    );

    let second = gw.get("/v1/metadata").await;
    let other = second.header("x-request-id").expect("X-Request-Id");
    assert_ne!(other, id, "each request gets its own id");
}

#[tokio::test]
async fn request_id_is_returned_on_errors_too() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = send(
        gw.request(Method::GET, "/v1/fail/5?message=m")
            .header("x-request-id", "req-err"),
    )
    .await;
    reply.assert_error(404, 5);
    assert_eq!(reply.header("x-request-id"), Some("req-err"));
}

#[tokio::test]
async fn response_metadata_and_trailers_become_headers() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw.get("/v1/metadata").await;
    reply.assert_json(200);
    assert_eq!(
        reply.header("grpc-metadata-x-header-echo"),
        Some("header"),
        "{:?}",
        reply.headers
    );
    assert_eq!(
        reply.header("grpc-trailer-x-trailer-echo"),
        Some("trailer"),
        "{:?}",
        reply.headers
    );
}
