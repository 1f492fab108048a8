//! The operational endpoints of `restgate serve`: `/healthz` (the process
//! lives), `/readyz` (routes loaded and every upstream reachable: 200, or 503
//! with a reason while an upstream is down, and 200 again once it is back),
//! `/metrics`, `/openapi.json`, and `--ops-prefix`, which moves all four so
//! that the bare paths become ordinary (unrouted) paths.

mod support;

use serde_json::{json, Value};
use support::{dead_addr, start_fixture, Gateway, RestartableExample};

/// The fixture's input, as `Gateway::fixture` passes it.
const FIXTURE_INPUT: [&str; 4] = ["--proto", "proto/testing/v1/fixture.proto", "-I", "proto"];

/// How many routes `restgate routes <input>` lists.
fn route_count(input: &[&str]) -> u64 {
    let output = support::restgate()
        .arg("routes")
        .args(input)
        .args(["--format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run restgate routes");
    assert!(output.status.success(), "restgate routes {input:?} failed");
    let routes: Value = serde_json::from_slice(&output.stdout).expect("routes JSON");
    routes.as_array().expect("a JSON array").len() as u64
}

#[tokio::test]
async fn healthz_and_readyz_answer_ok() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let routes = route_count(&FIXTURE_INPUT);
    assert!(routes > 0);

    let health = gw.get("/healthz").await.assert_json(200);
    assert_eq!(health, json!({"status": "ok"}));

    let ready = gw.get("/readyz").await.assert_json(200);
    assert_eq!(ready, json!({"status": "ready", "routes": routes}));

    // The fixture has no grpc.health.v1 service (UNIMPLEMENTED counts as
    // reachable) and no API call is made for either endpoint.
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn metrics_and_openapi_are_served() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;

    let metrics = gw.get("/metrics").await;
    metrics.assert_status(200);
    let content_type = metrics.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("text/plain"),
        "content-type {content_type:?}"
    );
    assert!(
        metrics
            .text
            .contains("# TYPE restgate_requests_in_flight gauge"),
        "{}",
        metrics.text
    );

    let openapi = gw.get("/openapi.json").await.assert_json(200);
    let version = openapi["openapi"].as_str().unwrap_or("");
    assert!(version.starts_with("3.1"), "openapi {version:?}");
    assert!(
        openapi["paths"]["/v1/echo"]["post"].is_object(),
        "{openapi}"
    );
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn readyz_flips_while_the_upstream_is_down() {
    let mut example = RestartableExample::start().await;
    let gw = Gateway::example(example.addr).await;
    let routes = route_count(&[]);

    let ready = gw.get("/readyz").await.assert_json(200);
    assert_eq!(ready, json!({"status": "ready", "routes": routes}));
    // The route works before the upstream stops.
    gw.post("/v1/users", &json!({"displayName": "Ada"}))
        .await
        .assert_json(201);

    example.stop().await;
    let reply = gw.get("/readyz").await;
    let body = reply.assert_json(503);
    assert_eq!(body["status"], "not ready", "{body}");
    assert_eq!(body["routes"], json!(routes), "{body}");
    let reason = body["reason"].as_str().unwrap_or("");
    assert!(!reason.is_empty(), "a reason in {body}");
    // The process itself still lives.
    let health = gw.get("/healthz").await.assert_json(200);
    assert_eq!(health, json!({"status": "ok"}));

    example.resume().await;
    let ready = gw.get("/readyz").await.assert_json(200);
    assert_eq!(ready, json!({"status": "ready", "routes": routes}));
    // And the data served before the stop is still there.
    gw.get("/v1/users/1").await.assert_json(200);
}

#[tokio::test]
async fn readyz_is_503_when_the_upstream_was_never_up() {
    let dead = dead_addr();
    let gw = Gateway::example(dead).await;
    let body = gw.get("/readyz").await.assert_json(503);
    assert_eq!(body["status"], "not ready", "{body}");
    assert!(
        body["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "a reason in {body}"
    );
    let health = gw.get("/healthz").await.assert_json(200);
    assert_eq!(health, json!({"status": "ok"}));
}

#[tokio::test]
async fn ops_prefix_moves_every_endpoint() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--ops-prefix", "/_rg"]).await;

    let health = gw.get("/_rg/healthz").await.assert_json(200);
    assert_eq!(health, json!({"status": "ok"}));
    let ready = gw.get("/_rg/readyz").await.assert_json(200);
    assert_eq!(ready["status"], "ready", "{ready}");
    let metrics = gw.get("/_rg/metrics").await;
    metrics.assert_status(200);
    assert!(
        metrics.text.contains("restgate_requests_in_flight"),
        "{}",
        metrics.text
    );
    let openapi = gw.get("/_rg/openapi.json").await.assert_json(200);
    assert!(openapi["paths"].is_object(), "{openapi}");

    // Without the prefix they are ordinary paths, and no route has them.
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        let reply = gw.get(path).await;
        assert_eq!(reply.status.as_u16(), 404, "{path}: {}", reply.text);
        reply.assert_error(404, 5);
    }
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn a_method_an_operational_path_does_not_serve_is_405_with_the_error_body() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    // A standard method, and an extension method (http1_request's finding:
    // `PwwwwwwwATCH /readyz` was a 405 with no body).
    for method in ["POST", "PwwwwwwwATCH"] {
        for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let reply = support::send(gw.request(method.clone(), path)).await;
            let error = reply.assert_json(405);
            assert_eq!(error["code"], 12, "{method} {path}: {error}");
            assert!(error["message"].is_string(), "{method} {path}: {error}");
            let allow = reply.header("allow").unwrap_or_default();
            assert!(allow.contains("GET"), "{method} {path}: Allow {allow:?}");
        }
    }
    assert_eq!(fixture.total_calls(), 0);
}
