//! `/docs`, the API explorer, over plain HTTP: the page names the document
//! the gateway serves and Swagger UI's assets, which come from the binary
//! (byte for byte the files vendored in `vendor/swagger-ui/`), and
//! `--ops-prefix` moves all of it as it moves `/openapi.json`. The page in a
//! browser is `tests/docs_browser.rs`.

mod support;

use support::{start_fixture, Gateway};

const BUNDLE: &[u8] = include_bytes!("../vendor/swagger-ui/swagger-ui-bundle.js");
const STYLESHEET: &[u8] = include_bytes!("../vendor/swagger-ui/swagger-ui.css");
const ASSETS: &str = "docs/swagger-ui-5.35.0";

/// GETs `path` and returns its status, content type and raw body.
async fn fetch(gw: &Gateway, path: &str) -> (u16, String, Vec<u8>) {
    let reply = gw
        .client
        .get(gw.url(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = reply.status().as_u16();
    let content_type = reply
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = reply.bytes().await.expect("body").to_vec();
    (status, content_type, body)
}

/// The page at `{prefix}/docs` and every asset it names, checked.
async fn assert_explorer_under(gw: &Gateway, prefix: &str) {
    let (status, content_type, page) = fetch(gw, &format!("{prefix}/docs")).await;
    let page = String::from_utf8(page).expect("the page is UTF-8");
    assert_eq!(status, 200, "{page}");
    assert_eq!(content_type, "text/html; charset=utf-8");
    for needle in [
        format!(r#"data-openapi-url="{prefix}/openapi.json""#),
        format!(r#"href="{prefix}/{ASSETS}/swagger-ui.css""#),
        format!(r#"src="{prefix}/{ASSETS}/swagger-ui-bundle.js""#),
        format!(r#"src="{prefix}/docs/init.js""#),
    ] {
        assert!(page.contains(&needle), "no {needle} in {page}");
    }
    assert!(!page.contains("//"), "an asset from elsewhere: {page}");

    let bundle = fetch(gw, &format!("{prefix}/{ASSETS}/swagger-ui-bundle.js")).await;
    assert_eq!((bundle.0, bundle.1.as_str()), (200, "text/javascript"));
    assert!(
        bundle.2 == BUNDLE,
        "the bundle differs from the vendored file"
    );
    let css = fetch(gw, &format!("{prefix}/{ASSETS}/swagger-ui.css")).await;
    assert_eq!((css.0, css.1.as_str()), (200, "text/css"));
    assert!(
        css.2 == STYLESHEET,
        "the stylesheet differs from the vendored file"
    );
    let init = fetch(gw, &format!("{prefix}/docs/init.js")).await;
    assert_eq!((init.0, init.1.as_str()), (200, "text/javascript"));
    assert!(
        String::from_utf8_lossy(&init.2).contains("SwaggerUIBundle("),
        "{}",
        String::from_utf8_lossy(&init.2)
    );

    // The document the page names is the one the gateway serves.
    gw.get(&format!("{prefix}/openapi.json"))
        .await
        .assert_json(200);
}

#[tokio::test]
async fn docs_serves_the_explorer_from_the_binary() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    assert_explorer_under(&gw, "").await;

    let page = gw.get("/docs").await;
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    let policy = page.header("content-security-policy").unwrap_or_default();
    assert!(policy.contains("default-src 'self'"), "{policy}");
    let bundle = gw.get(&format!("/{ASSETS}/swagger-ui-bundle.js")).await;
    assert_eq!(
        bundle.header("cache-control"),
        Some("public, max-age=31536000, immutable"),
        "versioned assets may be cached for good"
    );
    let no_redirects = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client");
    let slash = no_redirects
        .get(gw.url("/docs/"))
        .send()
        .await
        .expect("GET /docs/");
    assert_eq!(slash.status().as_u16(), 308);
    assert_eq!(slash.headers()["location"], "/docs");

    // An asset the binary does not hold is an ordinary unrouted path.
    gw.get(&format!("/{ASSETS}/nothing.js"))
        .await
        .assert_error(404, 5);
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn ops_prefix_moves_the_explorer() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--ops-prefix", "/_rg"]).await;
    assert_explorer_under(&gw, "/_rg").await;

    for path in ["/docs", "/docs/init.js"] {
        gw.get(path).await.assert_error(404, 5);
    }
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn docs_false_makes_docs_a_404() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--docs=false"]).await;
    let (status, _, _) = fetch(&gw, "/docs").await;
    assert_eq!(status, 404, "/docs with --docs=false");
    let (status, _, _) = fetch(&gw, "/openapi.json").await;
    assert_eq!(status, 200, "the document is still served");
    assert_eq!(fixture.total_calls(), 0);
}
