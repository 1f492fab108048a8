//! The on-disk idempotency store (`--idempotency file:PATH`) outlives the
//! gateway process: a key used before a restart replays after it, byte for
//! byte and without another upstream call, and still refuses a different
//! request.

mod support;

use futures::future::join_all;
use reqwest::Method;
use serde_json::json;
use support::{start_fixture, Gateway, Reply};

const WIDGETS: &str = "/v1/shelves/s1/widgets";

fn replayed(reply: &Reply) -> bool {
    reply.header("idempotent-replayed") == Some("true")
}

#[tokio::test]
async fn a_key_replays_after_the_gateway_restarts() {
    let fixture = start_fixture().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = format!("file:{}", dir.path().join("keys.redb").display());
    let args = ["--idempotency", store.as_str()];
    let widget = json!({"title": "t", "size": 7});

    let gw = Gateway::fixture(&fixture, &args).await;
    let first = gw.keyed(Method::POST, WIDGETS, "durable", &widget).await;
    let body = first.assert_json(201);
    assert!(!replayed(&first));
    assert_eq!(body["widgetId"], json!("w1"));
    assert_eq!(first.header("location"), Some("/v1/shelves/s1/widgets/w1"));
    assert_eq!(fixture.calls("CreateWidget"), 1);
    // A failure in between is not stored, before or after the restart.
    gw.keyed(
        Method::POST,
        "/v1/flaky",
        "flaky",
        &json!({"key": "f", "failures": 1}),
    )
    .await
    .assert_error(503, 14);
    // Dropping kills the process and waits for it: the file is free again.
    drop(gw);

    let gw = Gateway::fixture(&fixture, &args).await;
    let again = gw.keyed(Method::POST, WIDGETS, "durable", &widget).await;
    assert!(replayed(&again), "no replay after the restart: {again:?}");
    assert_eq!(again.status, first.status);
    assert_eq!(again.text, first.text, "body bytes");
    for name in ["location", "content-type"] {
        assert_eq!(again.header(name), first.header(name), "{name}");
    }
    assert_eq!(fixture.calls("CreateWidget"), 1, "still one upstream call");

    // The fingerprint survived too.
    gw.keyed(Method::POST, WIDGETS, "durable", &json!({"title": "other"}))
        .await
        .assert_error(422, 3);
    assert_eq!(fixture.calls("CreateWidget"), 1);

    // The released key runs.
    let ran = gw
        .keyed(
            Method::POST,
            "/v1/flaky",
            "flaky",
            &json!({"key": "f", "failures": 1}),
        )
        .await;
    // A plain POST (no item to name): 200.
    assert_eq!(ran.assert_json(200), json!({"widgetId": "f", "size": 2}));
    assert!(!replayed(&ran));
    assert_eq!(fixture.calls("Flaky"), 2);
    drop(gw);

    // A third process sees what the second stored.
    let gw = Gateway::fixture(&fixture, &args).await;
    let replay = gw
        .keyed(
            Method::POST,
            "/v1/flaky",
            "flaky",
            &json!({"key": "f", "failures": 1}),
        )
        .await;
    assert!(replayed(&replay), "{replay:?}");
    assert_eq!(replay.text, ran.text);
    assert_eq!(fixture.calls("Flaky"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_with_one_key_make_one_call() {
    let fixture = start_fixture().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = format!("file:{}", dir.path().join("keys.redb").display());
    let gw = Gateway::fixture(&fixture, &["--idempotency", &store, "--workers", "2"]).await;
    let widget = json!({"title": "race"});
    let replies = join_all((0..50).map(|_| gw.keyed(Method::POST, WIDGETS, "race", &widget))).await;
    assert_eq!(fixture.calls("CreateWidget"), 1);
    let originals: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == 201 && !replayed(r))
        .collect();
    assert_eq!(originals.len(), 1, "{replies:#?}");
    for reply in &replies {
        match reply.status.as_u16() {
            409 => {
                reply.assert_error(409, 10);
            }
            201 if replayed(reply) => assert_eq!(reply.text, originals[0].text),
            201 => {}
            _ => panic!("neither the answer, its replay nor a 409: {reply:?}"),
        }
    }
}

#[tokio::test]
async fn two_gateways_cannot_share_one_file_at_once() {
    let fixture = start_fixture().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = format!("file:{}", dir.path().join("keys.redb").display());
    let _first = Gateway::fixture(&fixture, &["--idempotency", &store]).await;

    // The second process must refuse to start rather than use a locked file
    // (or, worse, a second copy of it). Killed if it serves instead.
    let upstream = format!("http://{}", fixture.addr);
    let second = tokio::process::Command::from(support::restgate())
        .args(["serve", "--proto", "proto/testing/v1/fixture.proto"])
        .args(["-I", "proto", "--upstream", &upstream])
        .args(["--idempotency", &store, "--listen", "127.0.0.1:0"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn restgate");
    let output = tokio::time::timeout(support::WAIT, second.wait_with_output())
        .await
        .expect("the second gateway on a locked file still ran after 20 s")
        .expect("run restgate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "stderr: {stderr}");
    // The message names the file.
    assert!(stderr.contains("keys.redb"), "stderr: {stderr}");
}
