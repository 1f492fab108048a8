//! A `(google.api.http)` `post` is a create (`201 Created` + `Location`)
//! only when the route table derives the created item's URI for it; any
//! other `post` is a plain POST answering 200. `--google-api-creates never`
//! (or the config key, or `RESTGATE_GOOGLE_API_CREATES`) keeps every one at
//! 200, as grpc-gateway answers; a `(restgate.rest)` create is always one.
//! A `get` on a literal is a list only when it answers a page. The real
//! gateway in front of the fixture service; `routes`, `check` and `openapi`
//! through the real binary.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::{start_fixture, Gateway};

/// `POST /v1/echo`: `GET /v1/echo/{id}` is its item route and `id` a field
/// of the reply, so the created item is `/v1/echo/<id>`.
#[tokio::test]
async fn a_google_post_with_an_item_route_is_201_with_location() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw.post("/v1/echo", &json!({"id": "e1", "small": 3})).await;
    assert_eq!(reply.assert_json(201), json!({"id": "e1", "small": 3}));
    assert_eq!(reply.header("location"), Some("/v1/echo/e1"));
    assert_eq!(fixture.calls("Echo"), 1);
}

/// `POST /v1/search/things`: no route names an item under it.
/// `POST /v1/flaky`: `PUT /v1/flaky/{key}` would, but its reply (a Widget)
/// has no `key` to fill it from. Neither creates anything.
#[tokio::test]
async fn a_google_post_without_a_derivable_item_is_200_without_location() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw
        .post("/v1/search/things", &json!({"query": "q", "pageSize": 2}))
        .await;
    assert_eq!(
        reply.assert_json(200),
        json!({"things": [{"id": "q"}, {"id": "q"}]})
    );
    assert_eq!(reply.header("location"), None);
    assert_eq!(fixture.calls("SearchThings"), 1);

    let reply = gw.post("/v1/flaky", &json!({"key": "k"})).await;
    assert_eq!(reply.assert_json(200), json!({"widgetId": "k", "size": 1}));
    assert_eq!(reply.header("location"), None);
    assert_eq!(fixture.calls("Flaky"), 1);
}

/// An Idempotency-Key is honoured on any POST, a create or not: the repeat
/// is replayed without calling the service.
#[tokio::test]
async fn a_plain_post_still_takes_an_idempotency_key() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = json!({"query": "k", "pageSize": 1});
    let first = gw
        .keyed(Method::POST, "/v1/search/things", "key-1", &body)
        .await;
    assert_eq!(first.assert_json(200), json!({"things": [{"id": "k"}]}));
    let again = gw
        .keyed(Method::POST, "/v1/search/things", "key-1", &body)
        .await;
    assert_eq!(again.assert_json(200), json!({"things": [{"id": "k"}]}));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(fixture.calls("SearchThings"), 1);
}

/// `never`: the post that was a create answers 200 without Location; a
/// `(restgate.rest)` create still answers 201 + Location.
#[tokio::test]
async fn never_keeps_google_posts_at_200_and_restgate_creates_at_201() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--google-api-creates", "never"]).await;
    let reply = gw.post("/v1/echo", &json!({"id": "e1"})).await;
    assert_eq!(reply.assert_json(200), json!({"id": "e1"}));
    assert_eq!(reply.header("location"), None);

    let reply = gw
        .post("/v1/shelves/s1/widgets", &json!({"title": "t"}))
        .await;
    let widget = reply.assert_json(201);
    assert_eq!(
        widget,
        json!({"widgetId": "w1", "shelfId": "s1", "title": "t"})
    );
    assert_eq!(reply.header("location"), Some("/v1/shelves/s1/widgets/w1"));
    assert_eq!(fixture.calls("Echo"), 1);
    assert_eq!(fixture.calls("CreateWidget"), 1);
}

/// The config file's `google-api-creates`, and the default `auto` for a
/// `(restgate.rest)` create.
#[tokio::test]
async fn the_config_key_sets_it_too() {
    let fixture = start_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("restgate.toml");
    std::fs::write(&file, "google-api-creates = \"never\"\n").unwrap();
    let gw = Gateway::fixture(&fixture, &["--config", file.to_str().unwrap()]).await;
    let reply = gw.post("/v1/echo", &json!({"id": "e2"})).await;
    assert_eq!(reply.assert_json(200), json!({"id": "e2"}));
    assert_eq!(reply.header("location"), None);
    drop(gw);

    let gw = Gateway::fixture(&fixture, &["--google-api-creates", "auto"]).await;
    let reply = gw
        .post("/v1/shelves/s2/widgets", &json!({"title": "t"}))
        .await;
    reply.assert_json(201);
    assert_eq!(reply.header("location"), Some("/v1/shelves/s2/widgets/w1"));
}

/// `restgate <args>` in the crate's directory with `env`: (exit code,
/// stdout, stderr).
fn restgate(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = support::restgate()
        .args(args)
        .envs(env.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run restgate");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

const FIXTURE: [&str; 4] = ["--proto", "proto/testing/v1/fixture.proto", "-I", "proto"];

/// `routes --format json` of the fixture: `(method path) -> kind`.
fn kinds(extra: &[&str], env: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut args = vec!["routes", "--format", "json"];
    args.extend_from_slice(&FIXTURE);
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = restgate(&args, env);
    assert_eq!(code, 0, "{stderr}");
    let routes: Vec<Value> = serde_json::from_str(&stdout).expect("JSON");
    routes
        .iter()
        .map(|r| {
            (
                format!(
                    "{} {}",
                    r["method"].as_str().unwrap(),
                    r["path"].as_str().unwrap()
                ),
                r["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn kind_of(kinds: &[(String, String)], route: &str) -> String {
    kinds
        .iter()
        .find(|(r, _)| r == route)
        .map(|(_, k)| k.clone())
        .unwrap_or_else(|| panic!("{route} missing from {kinds:?}"))
}

#[test]
fn routes_show_the_kinds_and_the_environment_overrides_the_flag() {
    let auto = kinds(&[], &[]);
    assert_eq!(kind_of(&auto, "POST /v1/echo"), "create");
    assert_eq!(kind_of(&auto, "POST /v1/search/things"), "custom");
    assert_eq!(kind_of(&auto, "POST /v1/flaky"), "custom");
    assert_eq!(
        kind_of(&auto, "POST /v1/shelves/{shelf_id}/widgets"),
        "create"
    );
    // A GET on a literal: a list when it answers a page, else a singleton.
    assert_eq!(kind_of(&auto, "GET /v1/search/things"), "list");
    assert_eq!(kind_of(&auto, "GET /v1/metadata"), "get");
    assert_eq!(kind_of(&auto, "GET /v1/shelves/special"), "get");

    let never = kinds(&["--google-api-creates", "never"], &[]);
    assert_eq!(kind_of(&never, "POST /v1/echo"), "custom");
    assert_eq!(
        kind_of(&never, "POST /v1/shelves/{shelf_id}/widgets"),
        "create"
    );
    let env = [("RESTGATE_GOOGLE_API_CREATES", "never")];
    assert_eq!(
        kind_of(
            &kinds(&["--google-api-creates", "auto"], &env),
            "POST /v1/echo"
        ),
        "custom"
    );
    let (code, _, stderr) = restgate(
        &[
            "routes",
            "--proto",
            "proto/testing/v1/fixture.proto",
            "-I",
            "proto",
        ],
        &[("RESTGATE_GOOGLE_API_CREATES", "sometimes")],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "RESTGATE_GOOGLE_API_CREATES: unknown variant `sometimes`, expected `auto` or `never`"
        ),
        "{stderr}"
    );
}

#[test]
fn check_verbose_says_why_each_post_is_what_it_is() {
    let mut args = vec!["check", "--verbose"];
    args.extend_from_slice(&FIXTURE);
    let (code, stdout, stderr) = restgate(&args, &[]);
    assert_eq!(code, 0, "{stderr}");
    for line in [
        "POST /v1/echo: the item route GET /v1/echo/{id} names the created item, so a create answering 201 + Location",
        "POST /v1/echo/{nested.name=shelves/*/books/*}:check: a custom verb, so a plain POST answering 200",
        "POST /v1/flaky: item template \"/v1/flaky/{key}\": variable {key} is neither a path variable of \"/v1/flaky\" nor a field of the reply testing.v1.Widget, so a plain POST answering 200",
        "POST /v1/search/things: no replace or get route on /v1/search/things/* to name the created item, so a plain POST answering 200",
        "GET /v1/search/things: the reply testing.v1.SearchThingsReply is a collection page (repeated things), so a list",
        "GET /v1/metadata: the reply testing.v1.Thing is no collection page (no repeated field of messages), so a get of a singleton",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line}\nnot in:\n{stdout}");
    }
    assert!(stdout.ends_with("ok: 21 routes in 1 service\n"), "{stdout}");
    // Without --verbose, only the summary.
    let (_, quiet, _) = restgate(
        &["check", FIXTURE[0], FIXTURE[1], FIXTURE[2], FIXTURE[3]],
        &[],
    );
    assert_eq!(quiet, "ok: 21 routes in 1 service\n");

    let mut args = vec!["check", "-v", "--google-api-creates", "never"];
    args.extend_from_slice(&FIXTURE);
    let (code, stdout, _) = restgate(&args, &[]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(
            "POST /v1/echo: google-api-creates is never, so a plain POST answering 200\n"
        ),
        "{stdout}"
    );
}

/// `restgate openapi` of the fixture, with `extra` arguments.
fn openapi(extra: &[&str]) -> Value {
    let mut args = vec!["openapi"];
    args.extend_from_slice(&FIXTURE);
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = restgate(&args, &[]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).expect("JSON document")
}

#[test]
fn openapi_documents_201_and_location_for_creates_only() {
    let doc = openapi(&[]);
    let echo = &doc["paths"]["/v1/echo"]["post"];
    assert_eq!(echo["x-restgate-kind"], "create");
    assert!(
        echo["responses"]["201"]["headers"]["Location"].is_object(),
        "{echo}"
    );
    assert!(echo["responses"].get("200").is_none(), "{echo}");

    let search = &doc["paths"]["/v1/search/things"]["post"];
    assert_eq!(search["x-restgate-kind"], "custom");
    assert!(search["responses"].get("201").is_none(), "{search}");
    let ok = &search["responses"]["200"];
    assert!(ok.is_object(), "{search}");
    assert!(
        ok.get("headers").and_then(|h| h.get("Location")).is_none(),
        "{ok}"
    );
    // Idempotency-Key stays documented on a plain POST.
    assert!(
        search["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["in"] == "header" && p["name"] == "Idempotency-Key"),
        "{search}"
    );
    assert_eq!(
        doc["paths"]["/v1/search/things"]["get"]["x-restgate-kind"],
        "list"
    );
    assert_eq!(
        doc["paths"]["/v1/metadata"]["get"]["x-restgate-kind"],
        "get"
    );

    let never = openapi(&["--google-api-creates", "never"]);
    let echo = &never["paths"]["/v1/echo"]["post"];
    assert_eq!(echo["x-restgate-kind"], "custom");
    assert!(echo["responses"].get("201").is_none(), "{echo}");
    assert!(echo["responses"]["200"].is_object(), "{echo}");
    let widgets = &never["paths"]["/v1/shelves/{shelf_id}/widgets"]["post"];
    assert!(
        widgets["responses"]["201"]["headers"]["Location"].is_object(),
        "{widgets}"
    );
}
