//! The upstream side: an upstream nobody listens on answers `503` quickly;
//! deadlines from `Grpc-Timeout` or `--timeout` answer `504` without waiting
//! for the slow call, and the upstream call is cancelled.

mod support;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use support::{dead_addr, send, start_fixture, Gateway};

/// A loopback upstream nothing listens on answers 503 (UNAVAILABLE), well
/// within the test's bound, for a POST (never retried) and for a GET.
#[tokio::test]
async fn upstream_down_is_503() {
    let upstream = format!("http://{}", dead_addr());
    let gw = Gateway::start(&[
        "--proto",
        "proto/testing/v1/fixture.proto",
        "-I",
        "proto",
        "--upstream",
        &upstream,
    ])
    .await;

    let started = Instant::now();
    gw.post("/v1/echo", &json!({"id": "x"}))
        .await
        .assert_error(503, 14);
    gw.get("/v1/echo/x").await.assert_error(503, 14);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn grpc_timeout_header_is_the_deadline() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let started = Instant::now();
    let reply = send(
        gw.request(Method::GET, "/v1/sleep/2000")
            .header("grpc-timeout", "200m"),
    )
    .await;
    let took = started.elapsed();
    reply.assert_error(504, 4);
    assert!(took < Duration::from_millis(1500), "took {took:?}");
}

#[tokio::test]
async fn timeout_flag_is_the_default_deadline() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--timeout", "300ms"]).await;
    let started = Instant::now();
    let reply = gw.get("/v1/sleep/2000").await;
    let took = started.elapsed();
    reply.assert_error(504, 4);
    assert!(took < Duration::from_millis(1500), "took {took:?}");

    let quick = gw.get("/v1/sleep/10").await.assert_json(200);
    assert_eq!(quick, json!({"id": "slept", "big": "10"}));
}

#[tokio::test]
async fn grpc_timeout_header_overrides_the_default() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--timeout", "300ms"]).await;
    let reply = send(
        gw.request(Method::GET, "/v1/sleep/600")
            .header("grpc-timeout", "5S"),
    )
    .await;
    assert_eq!(reply.assert_json(200), json!({"id": "slept", "big": "600"}));
}

#[tokio::test]
async fn exceeded_deadline_cancels_the_upstream_call() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = send(
        gw.request(Method::GET, "/v1/sleep/5000")
            .header("grpc-timeout", "200m"),
    )
    .await;
    reply.assert_error(504, 4);
    assert_eq!(fixture.calls("Sleep"), 1);
    assert!(
        fixture.wait_cancelled(1).await,
        "the upstream Sleep call was never cancelled"
    );
}
