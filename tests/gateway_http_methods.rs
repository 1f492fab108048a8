//! HTTP method semantics beyond the route table: `HEAD` on a `GET` route
//! answers GET's status and headers without the body, calling the method
//! once; `OPTIONS` on a known path is `204` with `Allow`, without a call; a
//! GET whose `If-None-Match` matches the `ETag` is `304` without a body.

#[path = "support/backend.rs"]
mod backend;
mod support;

use backend::Backend;
use reqwest::Method;
use serde_json::json;
use support::{allow_set, send, set, Gateway};

#[tokio::test]
async fn head_answers_get_headers_without_body_and_calls_once() {
    let backend = Backend::plain().await;
    let gw = Gateway::example(backend.addr).await;
    gw.put("/v1/users/1", &json!({"displayName": "Ada"}))
        .await
        .assert_json(201);
    let get = gw.get("/v1/users/1").await;
    get.assert_json(200);

    let before = backend.calls();
    let head = send(gw.request(Method::HEAD, "/v1/users/1")).await;
    assert_eq!(backend.calls() - before, 1, "HEAD calls the method once");
    head.assert_status(200);
    assert_eq!(head.text, "", "HEAD has no body");
    for name in ["content-type", "etag", "content-length"] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    assert_eq!(
        head.header("content-length"),
        Some(get.text.len().to_string().as_str())
    );

    let missing = send(gw.request(Method::HEAD, "/v1/users/404")).await;
    missing.assert_status(404);
    assert_eq!(missing.text, "");
}

#[tokio::test]
async fn options_is_204_with_allow_and_no_call() {
    let backend = Backend::plain().await;
    let gw = Gateway::example(backend.addr).await;
    let before = backend.calls();
    let item = send(gw.request(Method::OPTIONS, "/v1/users/1")).await;
    item.assert_status(204);
    let allow = item.header("allow").expect("Allow");
    assert_eq!(
        allow_set(allow),
        set(&["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "PUT"]),
        "Allow: {allow}"
    );
    let list = send(gw.request(Method::OPTIONS, "/v1/users")).await;
    list.assert_status(204);
    let allow = list.header("allow").expect("Allow");
    assert_eq!(
        allow_set(allow),
        set(&["GET", "HEAD", "OPTIONS", "POST"]),
        "Allow: {allow}"
    );
    send(gw.request(Method::OPTIONS, "/v1/nope"))
        .await
        .assert_error(404, 5);
    assert_eq!(backend.calls(), before, "OPTIONS never calls the service");
}

#[tokio::test]
async fn head_on_a_path_without_get_is_405() {
    let backend = Backend::plain().await;
    let gw = Gateway::example(backend.addr).await;
    let before = backend.calls();
    let reply = send(gw.request(Method::HEAD, "/v1/users:import")).await;
    reply.assert_status(405);
    let allow = reply.header("allow").expect("Allow");
    assert_eq!(
        allow_set(allow),
        set(&["OPTIONS", "POST"]),
        "Allow: {allow}"
    );
    let reply = send(gw.request(Method::DELETE, "/v1/users")).await;
    reply.assert_error(405, 12);
    let allow = reply.header("allow").expect("Allow");
    assert_eq!(allow_set(allow), set(&["GET", "HEAD", "OPTIONS", "POST"]));
    assert_eq!(backend.calls(), before);
}

#[tokio::test]
async fn matching_if_none_match_is_304_with_etag_and_counted() {
    let backend = Backend::plain().await;
    let gw = Gateway::example(backend.addr).await;
    let created = gw.put("/v1/users/1", &json!({"displayName": "Ada"})).await;
    created.assert_json(201);
    let etag = created.header("etag").expect("ETag").to_owned();
    let weak = format!("W/{etag}");
    let list = format!("\"other\", {weak}");
    for value in [etag.as_str(), weak.as_str(), list.as_str(), "*"] {
        let reply = send(
            gw.request(Method::GET, "/v1/users/1")
                .header("if-none-match", value),
        )
        .await;
        reply.assert_status(304);
        assert_eq!(reply.header("etag"), Some(etag.as_str()), "{value}");
        assert_eq!(reply.text, "", "{value}");
    }
    let other = send(
        gw.request(Method::GET, "/v1/users/1")
            .header("if-none-match", "\"other\""),
    )
    .await;
    assert_eq!(other.assert_json(200)["displayName"], "Ada");

    let metrics = gw.get("/metrics").await.text;
    let line =
        r#"restgate_requests_total{method="GET",route="/v1/users/{user_id}",status="304"} 4"#;
    assert!(metrics.contains(line), "{line} in\n{metrics}");
}
