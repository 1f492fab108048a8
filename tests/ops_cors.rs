//! CORS with `--cors-origin` (repeatable, `*` for any): the gateway answers
//! preflights itself (the service is not called), allowed origins get
//! `Access-Control-Allow-Origin` and the exposed headers a browser needs
//! (`Location`, `X-Request-Id`) on every answer, other origins get none; and
//! without `--cors-origin` there is no CORS at all (a preflight is a plain
//! `OPTIONS`: 204 with `Allow`, no `Access-Control-*` header).

mod support;

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;
use support::{send, start_fixture, Gateway, Reply};

const APP: &str = "https://app.example.com";
const ADMIN: &str = "https://admin.example.com";
const EVIL: &str = "https://evil.example.com";

/// A comma-separated header as a set of lowercase items (empty if absent).
fn items(reply: &Reply, name: &str) -> BTreeSet<String> {
    reply
        .header(name)
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `OPTIONS path` as a browser's preflight from `origin` for `method`.
async fn preflight(gw: &Gateway, path: &str, origin: &str, method: &str) -> Reply {
    send(
        gw.request(Method::OPTIONS, path)
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header(
                "access-control-request-headers",
                "content-type, idempotency-key",
            ),
    )
    .await
}

/// A request from `origin`.
async fn from_origin(gw: &Gateway, method: Method, path: &str, origin: &str) -> Reply {
    let mut request = gw.request(method.clone(), path).header("origin", origin);
    if method == Method::POST {
        request = request
            .header("content-type", "application/json")
            .body(json!({"id": "c"}).to_string());
    }
    send(request).await
}

#[tokio::test]
async fn preflight_is_answered_by_the_gateway() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--cors-origin", APP, "--cors-origin", ADMIN]).await;
    for origin in [APP, ADMIN] {
        let reply = preflight(&gw, "/v1/echo", origin, "POST").await;
        reply.assert_status(200);
        assert_eq!(
            reply.header("access-control-allow-origin"),
            Some(origin),
            "{:?}",
            reply.headers
        );
        let methods = items(&reply, "access-control-allow-methods");
        assert!(methods.contains("post"), "allow-methods {methods:?}");
        let headers = items(&reply, "access-control-allow-headers");
        for name in ["idempotency-key", "content-type"] {
            assert!(headers.contains(name), "{name} not in {headers:?}");
        }
        // The default: browsers may cache the answer for 10 minutes.
        assert_eq!(reply.header("access-control-max-age"), Some("600"));
    }
    // An item path and another method.
    let reply = preflight(&gw, "/v1/flaky/k", APP, "PUT").await;
    reply.assert_status(200);
    assert_eq!(reply.header("access-control-allow-origin"), Some(APP));
    assert!(items(&reply, "access-control-allow-methods").contains("put"));

    assert_eq!(
        fixture.total_calls(),
        0,
        "a preflight never reaches the service"
    );
}

#[tokio::test]
async fn preflight_from_another_origin_is_not_allowed() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--cors-origin", APP]).await;
    let reply = preflight(&gw, "/v1/echo", EVIL, "POST").await;
    assert_eq!(
        reply.header("access-control-allow-origin"),
        None,
        "{:?}",
        reply.headers
    );
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn answers_to_an_allowed_origin_carry_cors_headers() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--cors-origin", APP]).await;

    let got = from_origin(&gw, Method::GET, "/v1/echo/x", APP).await;
    assert_eq!(got.assert_json(200), json!({"id": "x"}));
    assert_eq!(got.header("access-control-allow-origin"), Some(APP));
    let exposed = items(&got, "access-control-expose-headers");
    for name in ["location", "x-request-id"] {
        assert!(exposed.contains(name), "{name} not exposed: {exposed:?}");
    }

    // A create: its Location is there and readable cross-origin.
    let created = from_origin(&gw, Method::POST, "/v1/echo", APP).await;
    created.assert_json(201);
    assert_eq!(created.header("location"), Some("/v1/echo/c"));
    assert_eq!(created.header("access-control-allow-origin"), Some(APP));
    assert!(items(&created, "access-control-expose-headers").contains("location"));

    // Errors too, so that the browser can read their body.
    let missing = from_origin(&gw, Method::GET, "/v1/nope", APP).await;
    missing.assert_error(404, 5);
    assert_eq!(missing.header("access-control-allow-origin"), Some(APP));

    assert_eq!(fixture.calls("Echo"), 2);
}

#[tokio::test]
async fn answers_to_another_origin_carry_no_allow_origin() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--cors-origin", APP]).await;
    let got = from_origin(&gw, Method::GET, "/v1/echo/x", EVIL).await;
    // Served (CORS is enforced by the browser), but not readable there.
    assert_eq!(got.assert_json(200), json!({"id": "x"}));
    assert_eq!(
        got.header("access-control-allow-origin"),
        None,
        "{:?}",
        got.headers
    );
    let plain = gw.get("/v1/echo/y").await;
    plain.assert_json(200);
    assert_eq!(plain.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn star_allows_any_origin() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--cors-origin", "*"]).await;
    for origin in [APP, EVIL] {
        let reply = preflight(&gw, "/v1/echo", origin, "POST").await;
        reply.assert_status(200);
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
        let got = from_origin(&gw, Method::GET, "/v1/echo/x", origin).await;
        got.assert_json(200);
        assert_eq!(got.header("access-control-allow-origin"), Some("*"));
    }
    assert_eq!(fixture.calls("Echo"), 2);
}

#[tokio::test]
async fn without_cors_origin_a_preflight_gets_no_cors_headers() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    // Without CORS a preflight is a plain OPTIONS: 204 with `Allow`, and no
    // `Access-Control-*` header, so a browser still refuses the call.
    let reply = preflight(&gw, "/v1/echo", APP, "POST").await;
    reply.assert_status(204);
    let allow = support::allow_set(reply.header("allow").unwrap_or(""));
    assert!(allow.contains("POST"), "allow {allow:?}");
    for (name, _) in &reply.headers {
        assert!(
            !name.as_str().starts_with("access-control-"),
            "no CORS header expected: {:?}",
            reply.headers
        );
    }
    let got = from_origin(&gw, Method::GET, "/v1/echo/x", APP).await;
    got.assert_json(200);
    assert_eq!(got.header("access-control-allow-origin"), None);
    assert_eq!(fixture.calls("Echo"), 1);
}
