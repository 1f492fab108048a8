//! SIGHUP reloads the protos and swaps the route table whole, under load:
//! a route added to the proto answers after the reload and no request
//! fails; a broken proto is rejected with a log line and the old table
//! keeps serving.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use support::{start_fixture, Gateway};

const SPECIAL: &str = r#"option (google.api.http) = { get: "/v1/shelves/special" };"#;

fn hup(gw: &Gateway) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gw.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[tokio::test]
async fn sighup_adds_a_route_under_load_and_a_broken_reload_keeps_the_old_table() {
    let fixture = start_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("testing/v1")).unwrap();
    let proto = dir.path().join("testing/v1/fixture.proto");
    let original = std::fs::read_to_string("proto/testing/v1/fixture.proto").unwrap();
    assert!(original.contains(SPECIAL));
    // Start without the Special route; the reload adds it at a new path.
    std::fs::write(&proto, original.replace(SPECIAL, "")).unwrap();
    let upstream = format!("http://{}", fixture.addr);
    let gw = Gateway::spawn(&[
        "--proto",
        proto.to_str().unwrap(),
        "-I",
        dir.path().to_str().unwrap(),
        "--upstream",
        &upstream,
    ])
    .await;
    gw.get("/v1/special").await.assert_error(404, 5);

    // A bounded stream of requests while the table is swapped.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load = {
        let (client, base) = (gw.client.clone(), gw.base.clone());
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        tokio::spawn(async move {
            for _ in 0..5000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match client.get(format!("{base}/v1/echo/x")).send().await {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };

    std::fs::write(
        &proto,
        original.replace(
            SPECIAL,
            r#"option (google.api.http) = { get: "/v1/special" };"#,
        ),
    )
    .unwrap();
    hup(&gw);
    assert!(
        gw.wait_stderr(|s| s.contains("reloaded")).await,
        "{}",
        gw.stderr()
    );
    let special = gw.get("/v1/special").await.assert_json(200);
    assert_eq!(special["id"], "special");

    // A broken proto: rejected, logged, and the table before keeps serving.
    std::fs::write(&proto, "syntax = \"proto3\";\nmessage {").unwrap();
    hup(&gw);
    assert!(
        gw.wait_stderr(|s| s.contains("reload rejected")).await,
        "{}",
        gw.stderr()
    );
    assert!(
        gw.stderr().contains("fixture.proto:2:"),
        "the rejection names the file and line:\n{}",
        gw.stderr()
    );
    gw.get("/v1/special").await.assert_json(200);

    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    assert!(ok.load(Ordering::Relaxed) > 0);
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no request fails across reloads"
    );
    assert_eq!(fixture.calls("Special"), 2);
}

#[tokio::test]
async fn watch_reloads_when_an_input_changes() {
    let fixture = start_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("testing/v1")).unwrap();
    let proto = dir.path().join("testing/v1/fixture.proto");
    let original = std::fs::read_to_string("proto/testing/v1/fixture.proto").unwrap();
    std::fs::write(&proto, original.replace(SPECIAL, "")).unwrap();
    let upstream = format!("http://{}", fixture.addr);
    let gw = Gateway::spawn(&[
        "--proto",
        proto.to_str().unwrap(),
        "-I",
        dir.path().to_str().unwrap(),
        "--upstream",
        &upstream,
        "--watch",
    ])
    .await;
    gw.get("/v1/special").await.assert_error(404, 5);
    std::fs::write(
        &proto,
        original.replace(
            SPECIAL,
            r#"option (google.api.http) = { get: "/v1/special" };"#,
        ),
    )
    .unwrap();
    assert!(
        gw.wait_stderr(|s| s.contains("reloaded")).await,
        "{}",
        gw.stderr()
    );
    assert_eq!(
        gw.get("/v1/special").await.assert_json(200)["id"],
        "special"
    );
}
