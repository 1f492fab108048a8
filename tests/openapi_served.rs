//! The one OpenAPI generator, reached two ways through the real binary:
//! `restgate openapi --output FILE` and `GET /openapi.json` on the gateway
//! give the same document.

mod support;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;
use support::{start_example, Gateway};

#[tokio::test]
async fn the_command_and_the_gateway_serve_the_same_document() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    let out = support::restgate()
        .args(["openapi", "--output", file.to_str().unwrap()])
        .output()
        .expect("run restgate openapi");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written["openapi"], "3.1.0");
    assert!(written["paths"]["/v1/users"]["post"]["responses"]["201"].is_object());

    let gw = Gateway::example(start_example().await).await;
    let reply = gw.get("/openapi.json").await;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), written);
}

/// Fills an OpenAPI path template as a generated client does: each
/// `{param}` replaced by its value, percent-encoded as one segment.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |path, (name, value)| {
            let encoded = utf8_percent_encode(value, NON_ALPHANUMERIC).to_string();
            path.replace(&format!("{{{name}}}"), &encoded)
        })
}

/// The served document writes `{name=blogs/*/posts/*}` as
/// `/v1/blogs/{blog}/posts/{post}`; a client that fills those parameters
/// reaches the very routes the templates declare.
#[tokio::test]
async fn expanded_paths_reach_their_routes() {
    let gw = Gateway::example(start_example().await).await;
    let doc = gw.get("/openapi.json").await.json();
    let paths = doc["paths"].as_object().unwrap();
    let create = "/v1/blogs/{blog}/posts";
    let item = "/v1/blogs/{blog}/posts/{post}";
    assert_eq!(
        paths[create]["post"]["operationId"],
        "BlogService_CreatePost"
    );
    assert_eq!(paths[item]["get"]["operationId"], "BlogService_GetPost");
    let publish = "/v1/blogs/{blog}/posts/{post}:publish";
    assert_eq!(
        paths[publish]["post"]["operationId"],
        "BlogService_PublishPost"
    );

    let blog = gw
        .post("/v1/blogs", &serde_json::json!({"title": "Notes"}))
        .await
        .assert_json(201);
    let blog_id = blog["blogId"].as_str().unwrap();
    let post = gw
        .post(
            &fill(create, &[("blog", blog_id)]),
            &serde_json::json!({"title": "First", "body": "Hello"}),
        )
        .await
        .assert_json(201);
    let name = post["name"].as_str().unwrap();
    let post_id = name.rsplit('/').next().unwrap();
    assert_eq!(name, format!("blogs/{blog_id}/posts/{post_id}"));

    let path = fill(item, &[("blog", blog_id), ("post", post_id)]);
    assert_eq!(path, format!("/v1/blogs/{blog_id}/posts/{post_id}"));
    let got = gw.get(&path).await.assert_json(200);
    assert_eq!(got["name"], name);
    let published = gw
        .post(
            &fill(publish, &[("blog", blog_id), ("post", post_id)]),
            &serde_json::json!({}),
        )
        .await
        .assert_json(200);
    assert_eq!(published["state"], "PUBLISHED");
    let listed = gw
        .get(&fill(create, &[("blog", blog_id)]))
        .await
        .assert_json(200);
    assert_eq!(listed["posts"][0]["name"], name);
    // One segment per parameter: an encoded `/` is data, so no post.
    gw.get(&fill(item, &[("blog", blog_id), ("post", "1/2")]))
        .await
        .assert_status(404);
}

/// `--openapi-path-params template` keeps one parameter per variable.
#[tokio::test]
async fn the_template_form_is_a_setting() {
    let gw = Gateway::example_with(
        start_example().await,
        &["--openapi-path-params", "template"],
    )
    .await;
    let doc = gw.get("/openapi.json").await.json();
    assert_eq!(
        doc["paths"]["/v1/{name}"]["get"]["operationId"],
        "BlogService_GetPost"
    );
    assert!(doc["paths"].get("/v1/blogs/{blog}/posts/{post}").is_none());

    let out = support::restgate()
        .args(["openapi", "--openapi-path-params", "template"])
        .output()
        .expect("run restgate openapi");
    let written: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(written["paths"]["/v1/{parent}/posts"]["post"].is_object());
    let out = support::restgate()
        .args(["openapi", "--openapi-path-params", "both"])
        .output()
        .expect("run restgate openapi");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("neither `expanded` nor `template`"),
        "{stderr}"
    );
}
