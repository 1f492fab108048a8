//! `/docs`: an API explorer (Swagger UI) on the gateway's own
//! `/openapi.json`, under the same ops prefix as the other operational
//! endpoints.
//!
//! Everything the page loads comes from the binary: Swagger UI's bundle and
//! stylesheet are vendored from npm's `swagger-ui-dist` (`vendor/swagger-ui/`,
//! with its licence) and embedded with `include_bytes!`, so the explorer works
//! on a network without internet access. "Try it out" sends its requests to
//! the page's own origin whatever `servers` the document names, so the
//! requests reach this gateway. Nothing here reads the route table: the page
//! fetches `/openapi.json` like any other client.

use std::sync::Arc;

use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{header, HeaderValue};

use super::Live;

/// The `swagger-ui-dist` release vendored in `vendor/swagger-ui/`; part of
/// the assets' paths, so browsers may cache them for good.
const SWAGGER_UI_VERSION: &str = "5.35.0";

static BUNDLE_JS: &[u8] = include_bytes!("../../../vendor/swagger-ui/swagger-ui-bundle.js");
static STYLESHEET: &[u8] = include_bytes!("../../../vendor/swagger-ui/swagger-ui.css");

/// Starts Swagger UI on the document named by the page's `data-openapi-url`,
/// with every call sent to the page's origin (the gateway that served it),
/// and without the online validator badge (it would call out to the
/// internet).
const INIT_JS: &str = r##""use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  var sameOrigin = function () {
    return {
      statePlugins: {
        spec: {
          wrapActions: {
            updateJsonSpec: function (update) {
              return function (spec) {
                var servers = [{ url: window.location.origin, description: "this gateway" }];
                return update(Object.assign({}, spec, { servers: servers }));
              };
            },
          },
        },
      },
    };
  };
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [sameOrigin],
    layout: "BaseLayout",
  });
})();
"##;

/// Scripts and styles from this origin only; Swagger UI sets inline styles
/// and shows `data:` images (the icon, too, is one, so no request for
/// `/favicon.ico` reaches the API routes).
const PAGE_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'self'";

/// The explorer's routes under `prefix` (`""` or e.g. `/_restgate`):
/// `{prefix}/docs` (the page; `{prefix}/docs/` redirects to it), its start
/// script and Swagger UI's versioned assets.
pub(super) fn routes(prefix: &str) -> axum::Router<Arc<Live>> {
    let page_path = page_path(prefix);
    let prefix = prefix.trim_end_matches('/');
    let assets = format!("{page_path}/swagger-ui-{SWAGGER_UI_VERSION}");
    let init = format!("{page_path}/init.js");
    let page = page(&format!("{prefix}/openapi.json"), &assets, &init);
    let redirect_to = page_path.clone();
    axum::Router::new()
        .route(&page_path, get(move || std::future::ready(html(page))))
        .route(
            &format!("{page_path}/"),
            get(move || std::future::ready(Redirect::permanent(&redirect_to))),
        )
        .route(
            &init,
            get(|| std::future::ready(asset("text/javascript", INIT_JS.as_bytes(), false))),
        )
        .route(
            &format!("{assets}/swagger-ui-bundle.js"),
            get(|| std::future::ready(asset("text/javascript", BUNDLE_JS, true))),
        )
        .route(
            &format!("{assets}/swagger-ui.css"),
            get(|| std::future::ready(asset("text/css", STYLESHEET, true))),
        )
}

/// The explorer page's path under `prefix`; every other path of the
/// explorer is under it.
pub(super) fn page_path(prefix: &str) -> String {
    format!("{}/docs", prefix.trim_end_matches('/'))
}

/// The page: Swagger UI's stylesheet and bundle, then the start script.
fn page(openapi_url: &str, assets: &str, init: &str) -> String {
    let openapi_url = attribute(openapi_url);
    let assets = attribute(assets);
    let init = attribute(init);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>restgate API explorer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<style>body {{ margin: 0 auto; max-width: 1460px; padding: 0 1.5rem; }}</style>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{init}"></script>
</body>
</html>
"#
    )
}

/// `text` made safe inside a double-quoted HTML attribute.
fn attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn html(page: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_POLICY),
            ),
        ],
        page,
    )
        .into_response()
}

/// A static asset; a versioned one (its path names the Swagger UI release)
/// may be cached for good, the start script is revalidated.
fn asset(content_type: &'static str, body: &'static [u8], versioned: bool) -> Response {
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_the_prefixed_document_and_versioned_assets() {
        let page = page(
            "/_restgate/openapi.json",
            "/_restgate/docs/swagger-ui-5.35.0",
            "/_restgate/docs/init.js",
        );
        assert!(page.contains(r#"data-openapi-url="/_restgate/openapi.json""#));
        assert!(page.contains(r#"href="/_restgate/docs/swagger-ui-5.35.0/swagger-ui.css""#));
        assert!(page.contains(r#"src="/_restgate/docs/swagger-ui-5.35.0/swagger-ui-bundle.js""#));
        assert!(page.contains(r#"src="/_restgate/docs/init.js""#));
        assert!(!page.contains("http"), "no asset from elsewhere: {page}");
    }

    #[test]
    fn attribute_values_are_escaped() {
        assert_eq!(attribute(r#"/a"<b>&"#), "/a&quot;&lt;b&gt;&amp;");
    }
}
