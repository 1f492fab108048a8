//! Request mapping, through the fixture's `Echo`: path variables (decoded,
//! `%2F` kept as data, `**`, a dotted variable with a custom verb), query
//! parameters of every field kind, the body in canonical proto3 JSON, and
//! `response_body`.

mod support;

use serde_json::{json, Value};
use support::{numbers_as_f64, start_fixture, Gateway};

#[tokio::test]
async fn path_variable_fills_its_field() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw.get("/v1/echo/abc").await.assert_json(200);
    assert_eq!(body, json!({"id": "abc"}));
    assert_eq!(fixture.calls("Echo"), 1);
}

#[tokio::test]
async fn encoded_slash_in_single_segment_variable_is_data() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw.get("/v1/echo/a%2Fb").await.assert_json(200);
    assert_eq!(body, json!({"id": "a/b"}));
    let body = gw.get("/v1/echo/caf%C3%A9%20x").await.assert_json(200);
    assert_eq!(body, json!({"id": "café x"}));
}

#[tokio::test]
async fn double_star_variable_takes_the_rest_of_the_path() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw.get("/v1/files/a/b/c").await.assert_json(200);
    assert_eq!(body, json!({"id": "a/b/c"}));
}

#[tokio::test]
async fn custom_verb_with_dotted_variable() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw
        .post("/v1/echo/shelves/1/books/2:check", &json!({}))
        .await
        .assert_json(200);
    assert_eq!(body, json!({"nested": {"name": "shelves/1/books/2"}}));
}

#[tokio::test]
async fn query_parameters_fill_every_kind_of_field() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let query = "big=9007199254740993&small=3&flag=true&color=GREEN&tags=x&tags=y\
                 &colors=RED&colors=2&nested.count=4&nested.child.name=deep\
                 &at=2024-01-02T03:04:05Z&ttl=1.5s&maybe=7&ratio=0.5";
    let mut body = gw
        .get(&format!("/v1/echo/q?{query}"))
        .await
        .assert_json(200);

    let ttl = body["ttl"].clone();
    assert!(
        ttl == json!("1.5s") || ttl == json!("1.500s"),
        "ttl {ttl} in {body}"
    );
    body.as_object_mut().expect("object").remove("ttl");
    assert_eq!(
        body,
        json!({
            "id": "q",
            "big": "9007199254740993",
            "small": 3,
            "flag": true,
            "color": "GREEN",
            "tags": ["x", "y"],
            "colors": ["RED", "GREEN"],
            "nested": {"count": 4, "child": {"name": "deep"}},
            "at": "2024-01-02T03:04:05Z",
            "maybe": "7",
            "ratio": 0.5,
        })
    );
}

#[tokio::test]
async fn query_accepts_uint64_enum_numbers_repeated_int64_and_optional() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw
        .get("/v1/echo/q?ubig=18446744073709551615&color=1&bigs=1&bigs=-2&note=n")
        .await
        .assert_json(200);
    assert_eq!(
        body,
        json!({
            "id": "q",
            "ubig": "18446744073709551615",
            "color": "RED",
            "bigs": ["1", "-2"],
            "note": "n",
        })
    );
}

#[tokio::test]
async fn unknown_query_parameter_is_400() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    gw.get("/v1/echo/q?bogus=1").await.assert_error(400, 3);
    assert_eq!(fixture.calls("Echo"), 0);
}

#[tokio::test]
async fn bad_query_value_is_400() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    gw.get("/v1/echo/q?small=many").await.assert_error(400, 3);
    gw.get("/v1/echo/q?color=PURPLE").await.assert_error(400, 3);
    assert_eq!(fixture.calls("Echo"), 0);
}

/// The body every JSON feature of `Thing` is sent with.
fn rich_body() -> Value {
    json!({
        "id": "x",
        "big": "123",
        "labels": {"a": "b"},
        "byNumber": {"1": {"name": "n"}},
        "at": "2024-01-02T03:04:05Z",
        "extra": {"k": [1, "two"]},
        "blob": "AQID",
        "word": "w",
    })
}

#[tokio::test]
async fn body_round_trips_in_canonical_json() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw.post("/v1/echo", &rich_body()).await;
    // `post: "/v1/echo"` ends in a literal: a create, located by the item
    // route `GET /v1/echo/{id}`.
    let body = reply.assert_json(201);
    assert_eq!(reply.header("location"), Some("/v1/echo/x"));
    assert_eq!(numbers_as_f64(&body), numbers_as_f64(&rich_body()));
}

#[tokio::test]
async fn body_accepts_proto_field_names() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let sent = json!({
        "id": "x",
        "by_number": {"1": {"name": "n"}},
        "nested": {"child": {"name": "c"}},
    });
    let body = gw.post("/v1/echo", &sent).await.assert_json(201);
    assert_eq!(
        body,
        json!({
            "id": "x",
            "byNumber": {"1": {"name": "n"}},
            "nested": {"child": {"name": "c"}},
        })
    );
}

#[tokio::test]
async fn body_accepts_non_canonical_number_forms() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let sent = json!({"big": 42, "small": "7", "ubig": "5", "ratio": "0.25", "color": 2});
    let body = gw.post("/v1/echo", &sent).await.assert_json(201);
    assert_eq!(
        body,
        json!({"big": "42", "small": 7, "ubig": "5", "ratio": 0.25, "color": "GREEN"})
    );
}

#[tokio::test]
async fn response_body_selects_a_field() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw
        .get("/v1/echo/x/nested?nested.name=n")
        .await
        .assert_json(200);
    assert_eq!(body, json!({"name": "n"}));
}

#[tokio::test]
async fn body_field_fills_only_that_field() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw
        .put("/v1/echo/x/nested", &json!({"name": "q"}))
        .await
        .assert_json(200);
    assert_eq!(body, json!({"id": "x", "nested": {"name": "q"}}));
}

#[tokio::test]
async fn body_field_route_takes_the_rest_from_the_query() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw
        .put("/v1/echo/x/nested?small=5&tags=t", &json!({"count": 1}))
        .await
        .assert_json(200);
    assert_eq!(
        body,
        json!({"id": "x", "small": 5, "tags": ["t"], "nested": {"count": 1}})
    );
}
