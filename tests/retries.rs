//! Verb-aware retries against the fixture's `Flaky` RPC, which answers
//! UNAVAILABLE the first N calls per key: PUT, GET and DELETE are tried again
//! (3 tries in all by default, `--retry-attempts` otherwise) and the retries
//! are logged; POST and PATCH are tried exactly once, whatever happens.
//! Upstream call counts prove it.

mod support;

use reqwest::Method;
use serde_json::json;
use support::{dead_addr, start_fixture, Gateway};

/// How many lines of `stderr` tell of a retry.
fn retry_lines(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.contains("retrying")).count()
}

#[tokio::test]
async fn put_is_retried_until_it_succeeds() {
    let fixture = start_fixture().await;
    let gw = Gateway::spawn_fixture(&fixture, &[]).await;
    let reply = gw.put("/v1/flaky/a", &json!({"failures": 2})).await;
    assert_eq!(reply.assert_json(200), json!({"widgetId": "a", "size": 3}));
    assert_eq!(fixture.calls("Flaky"), 3);
    assert!(
        gw.wait_stderr(|e| retry_lines(e) >= 2).await,
        "two retries logged; stderr:\n{}",
        gw.stderr()
    );
}

#[tokio::test]
async fn get_is_retried_until_it_succeeds() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw.get("/v1/flaky/b?failures=2").await;
    assert_eq!(reply.assert_json(200), json!({"widgetId": "b", "size": 3}));
    assert_eq!(fixture.calls("Flaky"), 3);
}

#[tokio::test]
async fn delete_is_retried_until_it_succeeds() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw
        .request(Method::DELETE, "/v1/flaky/d?failures=2")
        .send()
        .await
        .expect("DELETE");
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = reply.json().await.expect("JSON body");
    assert_eq!(body, json!({"widgetId": "d", "size": 3}));
    assert_eq!(fixture.calls("Flaky"), 3);
}

#[tokio::test]
async fn post_is_never_retried() {
    let fixture = start_fixture().await;
    let gw = Gateway::spawn_fixture(&fixture, &[]).await;
    let reply = gw
        .post("/v1/flaky", &json!({"key": "c", "failures": 2}))
        .await;
    reply.assert_error(503, 14);
    assert_eq!(fixture.calls("Flaky"), 1);
    // The client's own retry is another single call.
    gw.post("/v1/flaky", &json!({"key": "c", "failures": 2}))
        .await
        .assert_error(503, 14);
    assert_eq!(fixture.calls("Flaky"), 2);
    let third = gw
        .post("/v1/flaky", &json!({"key": "c", "failures": 2}))
        .await;
    // A plain POST: the reply (a Widget) has no `key` to name an item with.
    assert_eq!(third.assert_json(200), json!({"widgetId": "c", "size": 3}));
    assert_eq!(fixture.calls("Flaky"), 3);
    assert_eq!(retry_lines(&gw.stderr()), 0, "{}", gw.stderr());
}

#[tokio::test]
async fn patch_is_never_retried() {
    let fixture = start_fixture().await;
    let gw = Gateway::spawn_fixture(&fixture, &[]).await;
    let reply = gw.patch("/v1/flaky/e", &json!({"failures": 2})).await;
    reply.assert_error(503, 14);
    assert_eq!(fixture.calls("Flaky"), 1);
    // Nor with an Idempotency-Key: the key makes a client's retry safe, the
    // gateway still does not retry by itself.
    let keyed = gw
        .keyed(Method::PATCH, "/v1/flaky/e", "pk", &json!({"failures": 2}))
        .await;
    keyed.assert_error(503, 14);
    assert_eq!(fixture.calls("Flaky"), 2);
    assert_eq!(retry_lines(&gw.stderr()), 0, "{}", gw.stderr());
}

#[tokio::test]
async fn one_attempt_means_no_retry() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--retry-attempts", "1"]).await;
    gw.put("/v1/flaky/f", &json!({"failures": 1}))
        .await
        .assert_error(503, 14);
    assert_eq!(fixture.calls("Flaky"), 1);
    let again = gw.put("/v1/flaky/f", &json!({"failures": 1})).await;
    assert_eq!(again.assert_json(200), json!({"widgetId": "f", "size": 2}));
    assert_eq!(fixture.calls("Flaky"), 2);
}

#[tokio::test]
async fn more_attempts_ride_out_more_failures() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--retry-attempts", "5"]).await;
    let reply = gw.put("/v1/flaky/g", &json!({"failures": 4})).await;
    assert_eq!(reply.assert_json(200), json!({"widgetId": "g", "size": 5}));
    assert_eq!(fixture.calls("Flaky"), 5);
}

#[tokio::test]
async fn retries_stop_after_the_default_three_tries() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw.put("/v1/flaky/h", &json!({"failures": 5})).await;
    let body = reply.assert_error(503, 14);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("flaky call 3")),
        "the last try's error: {body}"
    );
    assert_eq!(fixture.calls("Flaky"), 3);
    gw.get("/v1/flaky/i?failures=5").await.assert_error(503, 14);
    assert_eq!(fixture.calls("Flaky"), 6);
}

#[tokio::test]
async fn retries_stay_inside_the_deadline() {
    let fixture = start_fixture().await;
    // Backoff starts at 12.5-25 ms and doubles: 10 tries need over 1.3 s,
    // far more than the 200 ms deadline, so the gateway gives up early.
    let gw = Gateway::fixture(&fixture, &["--retry-attempts", "10"]).await;
    let started = std::time::Instant::now();
    let reply = support::send(
        gw.request(Method::GET, "/v1/flaky/j?failures=100")
            .header("grpc-timeout", "200m"),
    )
    .await;
    let elapsed = started.elapsed();
    let status = reply.status.as_u16();
    assert!(status == 503 || status == 504, "{reply:?}");
    let calls = fixture.calls("Flaky");
    assert!(
        (1..10).contains(&calls),
        "{calls} calls in a 200 ms deadline"
    );
    assert!(elapsed < std::time::Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn transport_failures_are_retried_then_503() {
    let gw = Gateway::spawn(&[
        "--proto",
        "proto/testing/v1/fixture.proto",
        "-I",
        "proto",
        "--upstream",
        &format!("http://{}", dead_addr()),
    ])
    .await;
    gw.get("/v1/flaky/k").await.assert_error(503, 14);
    assert!(
        gw.wait_stderr(|e| retry_lines(e) >= 2).await,
        "GET on a refused connection is retried twice; stderr:\n{}",
        gw.stderr()
    );
    let before = retry_lines(&gw.stderr());
    gw.post("/v1/flaky", &json!({"key": "k"}))
        .await
        .assert_error(503, 14);
    assert_eq!(retry_lines(&gw.stderr()), before, "{}", gw.stderr());
}
