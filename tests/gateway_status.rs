//! gRPC status → HTTP status: every row of the table, through the fixture's
//! `GET /v1/fail/{code}`, with the JSON error body `{code, message, details}`
//! and `grpc-status-details-bin` decoded into `details`.

mod support;

use serde_json::json;
use support::{start_fixture, Gateway};

/// (gRPC code number, name, HTTP status) for every non-OK code.
const TABLE: &[(i64, &str, u16)] = &[
    (1, "CANCELLED", 499),
    (2, "UNKNOWN", 500),
    (3, "INVALID_ARGUMENT", 400),
    (4, "DEADLINE_EXCEEDED", 504),
    (5, "NOT_FOUND", 404),
    (6, "ALREADY_EXISTS", 409),
    (7, "PERMISSION_DENIED", 403),
    (8, "RESOURCE_EXHAUSTED", 429),
    (9, "FAILED_PRECONDITION", 400),
    (10, "ABORTED", 409),
    (11, "OUT_OF_RANGE", 400),
    (12, "UNIMPLEMENTED", 501),
    (13, "INTERNAL", 500),
    (14, "UNAVAILABLE", 503),
    (15, "DATA_LOSS", 500),
    (16, "UNAUTHENTICATED", 401),
];

#[tokio::test]
async fn every_grpc_code_maps_to_its_http_status() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let mut wrong = Vec::new();
    for &(code, name, http) in TABLE {
        let message = format!("failed-with-{name}");
        let reply = gw.get(&format!("/v1/fail/{code}?message={message}")).await;
        let body = reply.json();
        let content_type = reply.header("content-type").unwrap_or("");
        if reply.status.as_u16() != http
            || body["code"] != json!(code)
            || body["message"] != json!(message)
            || !content_type.starts_with("application/json")
        {
            wrong.push(format!(
                "{name} ({code}): expected {http} {{code: {code}, message: {message:?}}}, \
                 got {} {content_type:?} {body}",
                reply.status
            ));
        }
    }
    assert!(wrong.is_empty(), "mismatches:\n{}", wrong.join("\n"));
    // GET is idempotent: UNAVAILABLE is tried 3 times in all (the default), the rest once.
    assert_eq!(fixture.calls("Fail"), TABLE.len() + 2);
}

#[tokio::test]
async fn error_message_survives_as_sent() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw
        .get("/v1/fail/5?message=user%2042%20not%20found%3A%20%C3%A9t%C3%A9")
        .await;
    let body = reply.assert_error(404, 5);
    assert_eq!(body["message"], json!("user 42 not found: été"));
}

#[tokio::test]
async fn status_details_are_decoded_with_their_type() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw.get("/v1/fail/9?message=nope&detail=why").await;
    let body = reply.assert_error(400, 9);
    assert_eq!(body["message"], json!("nope"));
    assert_eq!(
        body["details"],
        json!([{
            "@type": "type.googleapis.com/testing.v1.Detail",
            "reason": "why",
            "big": "5000000000",
        }]),
        "{body}"
    );
}

#[tokio::test]
async fn ok_is_200_with_json() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw.get("/v1/echo/abc").await.assert_json(200);
    assert_eq!(body, json!({"id": "abc"}));
}
