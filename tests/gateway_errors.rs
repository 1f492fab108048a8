//! Errors the gateway makes itself, before any upstream call: malformed or
//! mistyped JSON and unknown fields (400), a non-JSON body (415), a body over
//! the size limit (413). Each has the JSON error body, and the upstream is
//! never called.

mod support;

use reqwest::Method;
use serde_json::json;
use support::{send, start_fixture, Gateway};

#[tokio::test]
async fn malformed_json_is_400_and_not_sent() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    for text in [r#"{"id":"#, "not json", r#"{"id":"x"} trailing"#, "[1, 2]"] {
        let reply = send(
            gw.request(Method::POST, "/v1/echo")
                .header("content-type", "application/json")
                .body(text),
        )
        .await;
        let body = reply.assert_error(400, 3);
        assert!(
            !body["message"].as_str().unwrap_or("").is_empty(),
            "{text:?}: {body}"
        );
    }
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn wrong_json_type_is_400_and_not_sent() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    for sent in [
        json!({"small": true}),
        json!({"small": "many"}),
        json!({"flag": "yes"}),
        json!({"tags": "x"}),
        json!({"nested": 3}),
        json!({"color": "PURPLE"}),
        json!({"at": "yesterday"}),
        json!({"small": 3_000_000_000_i64}),
    ] {
        let reply = gw.post("/v1/echo", &sent).await;
        assert_eq!(reply.status.as_u16(), 400, "{sent}: {}", reply.text);
        reply.assert_error(400, 3);
    }
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn unknown_field_is_400_and_not_sent() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    gw.post("/v1/echo", &json!({"id": "x", "nope": 1}))
        .await
        .assert_error(400, 3);
    gw.post("/v1/echo", &json!({"nested": {"nope": 1}}))
        .await
        .assert_error(400, 3);
    gw.put("/v1/echo/x/nested", &json!({"nope": 1}))
        .await
        .assert_error(400, 3);
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn ignore_unknown_fields_drops_them() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--ignore-unknown-fields"]).await;
    let body = gw
        .post(
            "/v1/echo",
            &json!({"id": "x", "nope": 1, "nested": {"nah": true}}),
        )
        .await
        .assert_json(201);
    assert_eq!(body, json!({"id": "x", "nested": {}}));
    let body = gw.get("/v1/echo/q?bogus=1&small=2").await.assert_json(200);
    assert_eq!(body, json!({"id": "q", "small": 2}));
    assert_eq!(fixture.calls("Echo"), 2);
}

#[tokio::test]
async fn non_json_content_type_is_415_and_not_sent() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let reply = send(
            gw.request(Method::POST, "/v1/echo")
                .header("content-type", content_type)
                .body(r#"{"id":"x"}"#),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 415, "{content_type}: {}", reply.text);
        reply.assert_error(415, 3);
    }
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn json_content_type_with_charset_is_accepted() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = send(
        gw.request(Method::POST, "/v1/echo")
            .header("content-type", "application/json; charset=utf-8")
            .body(r#"{"id":"x"}"#),
    )
    .await;
    // `post: "/v1/echo"` has an item route (`get: "/v1/echo/{id}"`): a
    // create, hence 201.
    assert_eq!(reply.assert_json(201), json!({"id": "x"}));
}

/// A valid JSON body for `POST /v1/echo` of at least `len` bytes. The long
/// string is not the `id`, which would end up in the `Location` header.
fn big_body(len: usize) -> String {
    format!(r#"{{"note":"{}"}}"#, "x".repeat(len))
}

#[tokio::test]
async fn body_over_max_body_bytes_is_413_and_not_sent() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--max-body-bytes", "100"]).await;
    let reply = send(
        gw.request(Method::POST, "/v1/echo")
            .header("content-type", "application/json")
            .body(big_body(200)),
    )
    .await;
    reply.assert_error(413, 8);
    assert_eq!(fixture.total_calls(), 0);

    let small = gw.post("/v1/echo", &json!({"id": "x"})).await;
    assert_eq!(small.assert_json(201), json!({"id": "x"}));
}

#[tokio::test]
async fn body_over_default_limit_of_4_mib_is_413() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = send(
        gw.request(Method::POST, "/v1/echo")
            .header("content-type", "application/json")
            .body(big_body(4 * 1024 * 1024 + 1024)),
    )
    .await;
    reply.assert_error(413, 8);
    assert_eq!(fixture.total_calls(), 0);

    let under = big_body(3 * 1024 * 1024);
    let reply = send(
        gw.request(Method::POST, "/v1/echo")
            .header("content-type", "application/json")
            .body(under),
    )
    .await;
    reply.assert_status(201);
    assert_eq!(fixture.calls("Echo"), 1);
}
