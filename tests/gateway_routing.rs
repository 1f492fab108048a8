//! Routing by the templates' own grammar: literals beat variables, an unknown
//! path is `404`, a known path with the wrong method is `405` with `Allow`
//! (which names `HEAD` where the path has `GET`, and `OPTIONS`),
//! both with the JSON error body and no upstream call.

mod support;

use reqwest::Method;
use serde_json::json;
use support::{allow_set, send, set, start_example, start_fixture, Gateway};

#[tokio::test]
async fn literal_segment_beats_variable() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let special = gw.get("/v1/shelves/special").await.assert_json(200);
    assert_eq!(special, json!({"id": "special"}));
    assert_eq!(fixture.calls("Special"), 1);
    assert_eq!(fixture.calls("ListWidgets"), 0);

    let other = gw
        .get("/v1/shelves/other?pageSize=7")
        .await
        .assert_json(200);
    assert_eq!(other, json!({"id": "other", "small": 7}));
    assert_eq!(fixture.calls("ListWidgets"), 1);
    assert_eq!(fixture.calls("Special"), 1);
}

#[tokio::test]
async fn unknown_path_is_404() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    for path in ["/v1/nope", "/", "/v1/echo/a/b", "/v2/echo/abc", "/v1/fail"] {
        let reply = gw.get(path).await;
        assert_eq!(reply.status.as_u16(), 404, "GET {path}: {}", reply.text);
        reply.assert_error(404, 5);
    }
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;

    let reply = send(gw.request(Method::DELETE, "/v1/echo/abc")).await;
    reply.assert_error(405, 12);
    let allow = reply.header("allow").expect("Allow header");
    assert_eq!(
        allow_set(allow),
        set(&["GET", "HEAD", "OPTIONS"]),
        "Allow: {allow}"
    );

    let reply = send(gw.request(Method::PUT, "/v1/echo")).await;
    reply.assert_error(405, 12);
    let allow = reply.header("allow").expect("Allow header");
    assert_eq!(
        allow_set(allow),
        set(&["OPTIONS", "POST"]),
        "Allow: {allow}"
    );

    let reply = send(gw.request(Method::POST, "/v1/echo/x/nested")).await;
    reply.assert_error(405, 12);
    let allow = reply.header("allow").expect("Allow header");
    assert_eq!(
        allow_set(allow),
        set(&["GET", "HEAD", "OPTIONS", "PUT"]),
        "Allow: {allow}"
    );

    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn wrong_method_on_example_item_lists_all_its_methods() {
    let gw = Gateway::example(start_example().await).await;
    let reply = send(gw.request(Method::POST, "/v1/users/1")).await;
    reply.assert_error(405, 12);
    let allow = reply.header("allow").expect("Allow header");
    assert_eq!(
        allow_set(allow),
        set(&["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"]),
        "Allow: {allow}"
    );

    let reply = send(gw.request(Method::DELETE, "/v1/users")).await;
    reply.assert_error(405, 12);
    let allow = reply.header("allow").expect("Allow header");
    assert_eq!(
        allow_set(allow),
        set(&["GET", "HEAD", "OPTIONS", "POST"]),
        "Allow: {allow}"
    );
}

#[tokio::test]
async fn resource_name_templates_live_side_by_side() {
    let gw = Gateway::example(start_example().await).await;
    let blog = gw
        .post("/v1/blogs", &json!({"title": "b"}))
        .await
        .assert_json(201);
    let blog_id = blog["blogId"].as_str().expect("blogId");
    let post = gw
        .post(
            &format!("/v1/blogs/{blog_id}/posts"),
            &json!({"title": "t"}),
        )
        .await
        .assert_json(201);
    let name = post["name"].as_str().expect("name");

    assert_eq!(
        gw.get(&format!("/v1/blogs/{blog_id}"))
            .await
            .assert_json(200),
        blog
    );
    assert_eq!(gw.get(&format!("/v1/{name}")).await.assert_json(200), post);
    assert_eq!(
        gw.get(&format!("/v1/posts/{name}")).await.assert_json(200),
        post
    );
    let list = gw
        .get(&format!("/v1/blogs/{blog_id}/posts"))
        .await
        .assert_json(200);
    assert_eq!(list, json!({"posts": [post]}));

    let published = gw
        .post(&format!("/v1/{name}:publish"), &json!({}))
        .await
        .assert_json(200);
    assert_eq!(published["state"], json!("PUBLISHED"));
}
