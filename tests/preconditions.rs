//! Preconditions on the example service: `ETag` from the resource's `etag`
//! field, `If-Match` and `If-None-Match: *` on PUT honoured (412 when they
//! fail, nothing changed), and a replace that creates answering 201 with
//! `Location`. On the fixture: both headers reach the service as metadata,
//! and FAILED_PRECONDITION is 412 only for a request that carried one.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::{send, start_example, start_fixture, Gateway, Reply};

/// `PUT path` with a JSON body and the header `name: value`.
async fn put_with(gw: &Gateway, path: &str, name: &str, value: &str, body: &Value) -> Reply {
    send(
        gw.request(Method::PUT, path)
            .header(name, value)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// Asserts the reply's `ETag` is its body's `etag`, quoted; returns it.
#[track_caller]
fn etag_of(reply: &Reply) -> String {
    let body = reply.json();
    let field = body["etag"].as_str().expect("etag in the body");
    assert!(
        field.starts_with('w'),
        "example etags are w1, w2, …: {body}"
    );
    let header = reply.header("etag").expect("ETag header");
    assert_eq!(header, format!("\"{field}\""), "{reply:?}");
    header.to_owned()
}

#[tokio::test]
async fn replies_carry_the_resource_etag() {
    let gw = Gateway::example(start_example().await).await;
    let created = gw.post("/v1/users", &json!({"displayName": "Ada"})).await;
    created.assert_json(201);
    let tag = etag_of(&created);
    let location = created.header("location").expect("Location").to_owned();

    let got = gw.get(&location).await;
    got.assert_json(200);
    assert_eq!(etag_of(&got), tag, "unchanged item, same tag");

    let list = gw.get("/v1/users").await;
    list.assert_json(200);
    assert_eq!(list.header("etag"), None, "a list has no etag field");
}

#[tokio::test]
async fn if_match_mismatch_is_412_and_changes_nothing() {
    let gw = Gateway::example(start_example().await).await;
    let created = gw.put("/v1/users/1", &json!({"displayName": "Ada"})).await;
    created.assert_json(201);
    let tag = etag_of(&created);

    for wrong in ["\"nope\"", "\"w999\"", "nope"] {
        let reply = put_with(
            &gw,
            "/v1/users/1",
            "if-match",
            wrong,
            &json!({"displayName": "Eve"}),
        )
        .await;
        reply.assert_error(412, 9);
        assert_eq!(reply.header("etag"), None);
    }
    let now = gw.get("/v1/users/1").await;
    assert_eq!(now.assert_json(200)["displayName"], json!("Ada"));
    assert_eq!(etag_of(&now), tag);

    // The current tag matches: the write happens and the tag moves on.
    let replaced = put_with(
        &gw,
        "/v1/users/1",
        "if-match",
        &tag,
        &json!({"displayName": "Bea"}),
    )
    .await;
    assert_eq!(replaced.assert_json(200)["displayName"], json!("Bea"));
    assert_eq!(replaced.header("location"), None, "a replace of an item");
    let new_tag = etag_of(&replaced);
    assert_ne!(new_tag, tag);
    assert_eq!(etag_of(&gw.get("/v1/users/1").await), new_tag);

    // The old tag is stale now: a lost update is refused.
    put_with(
        &gw,
        "/v1/users/1",
        "if-match",
        &tag,
        &json!({"displayName": "Lost"}),
    )
    .await
    .assert_error(412, 9);
    let last = gw.get("/v1/users/1").await.assert_json(200);
    assert_eq!(last["displayName"], json!("Bea"));
}

#[tokio::test]
async fn if_match_on_a_missing_item_is_412() {
    let gw = Gateway::example(start_example().await).await;
    put_with(
        &gw,
        "/v1/users/5",
        "if-match",
        "\"w1\"",
        &json!({"displayName": "Ada"}),
    )
    .await
    .assert_error(412, 9);
    gw.get("/v1/users/5").await.assert_error(404, 5);
}

#[tokio::test]
async fn if_match_with_a_list_of_wrong_tags_is_412() {
    let gw = Gateway::example(start_example().await).await;
    gw.put("/v1/users/1", &json!({"displayName": "Ada"}))
        .await
        .assert_status(201);
    // RFC 9110 §13.1.1: the condition holds when one of the tags matches;
    // none does here, so the write must not happen.
    put_with(
        &gw,
        "/v1/users/1",
        "if-match",
        "\"nope1\", \"nope2\"",
        &json!({"displayName": "Eve"}),
    )
    .await
    .assert_error(412, 9);
    let now = gw.get("/v1/users/1").await.assert_json(200);
    assert_eq!(now["displayName"], json!("Ada"));
}

#[tokio::test]
async fn if_match_star_on_a_missing_item_is_412() {
    let gw = Gateway::example(start_example().await).await;
    // RFC 9110 §13.1.1: `*` is false when there is no current representation.
    put_with(
        &gw,
        "/v1/users/5",
        "if-match",
        "*",
        &json!({"displayName": "Ada"}),
    )
    .await
    .assert_error(412, 9);
    gw.get("/v1/users/5").await.assert_error(404, 5);
}

#[tokio::test]
async fn if_none_match_star_creates_only() {
    let gw = Gateway::example(start_example().await).await;
    let created = put_with(
        &gw,
        "/v1/users/7",
        "if-none-match",
        "*",
        &json!({"displayName": "Ada"}),
    )
    .await;
    assert_eq!(created.assert_json(201)["userId"], json!("7"));
    assert_eq!(created.header("location"), Some("/v1/users/7"));
    let tag = etag_of(&created);

    let again = put_with(
        &gw,
        "/v1/users/7",
        "if-none-match",
        "*",
        &json!({"displayName": "Eve"}),
    )
    .await;
    again.assert_error(412, 9);
    let now = gw.get("/v1/users/7").await;
    assert_eq!(now.assert_json(200)["displayName"], json!("Ada"));
    assert_eq!(etag_of(&now), tag);
}

#[tokio::test]
async fn put_on_a_new_id_is_201_with_location_then_200() {
    let gw = Gateway::example(start_example().await).await;
    let user = json!({"displayName": "Ada", "email": "ada@example.com"});
    let created = gw.put("/v1/users/9", &user).await;
    let body = created.assert_json(201);
    assert_eq!(created.header("location"), Some("/v1/users/9"));
    assert_eq!(body["userId"], json!("9"));
    let first = etag_of(&created);

    let replaced = gw.put("/v1/users/9", &user).await;
    replaced.assert_json(200);
    assert_eq!(replaced.header("location"), None);
    assert_ne!(etag_of(&replaced), first, "every write is a new etag");
    // The service's own marker is not shown to the client.
    for reply in [&created, &replaced] {
        assert_eq!(reply.header("grpc-metadata-restgate-created"), None);
    }

    let list = gw.get("/v1/users").await.assert_json(200);
    assert_eq!(list["users"].as_array().map(Vec::len), Some(1), "{list}");
}

#[tokio::test]
async fn a_failed_precondition_without_a_precondition_header_is_400() {
    let gw = Gateway::example(start_example().await).await;
    gw.put("/v1/users/1", &json!({"displayName": "Ada"}))
        .await
        .assert_status(201);
    // An etag in the body is the service's own check, not an HTTP one.
    let reply = gw
        .put(
            "/v1/users/1",
            &json!({"displayName": "Eve", "etag": "stale"}),
        )
        .await;
    reply.assert_error(400, 9);
}

#[tokio::test]
async fn precondition_headers_reach_the_service_as_metadata() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = send(
        gw.request(Method::GET, "/v1/metadata")
            .header("if-match", "\"w3\"")
            .header("if-none-match", "*"),
    )
    .await;
    let labels = &reply.assert_json(200)["labels"];
    assert_eq!(labels["if-match"], json!("\"w3\""), "{labels}");
    assert_eq!(labels["if-none-match"], json!("*"), "{labels}");

    // FAILED_PRECONDITION is 412 for a conditional request only.
    gw.get("/v1/fail/9?message=m").await.assert_error(400, 9);
    for (name, value) in [("if-match", "\"w3\""), ("if-none-match", "*")] {
        send(
            gw.request(Method::GET, "/v1/fail/9?message=m")
                .header(name, value),
        )
        .await
        .assert_error(412, 9);
    }
    assert_eq!(fixture.calls("Fail"), 3);
}
