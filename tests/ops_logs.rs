//! Logs on stderr: with `--log-format json` every line is a JSON object, and
//! each request gets one access line (target `restgate::access`) with its
//! method, route template, status, latency and request id; the default
//! pretty format carries the same fields; `--access-log=false` writes none.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::{send, start_example, start_fixture, Gateway};

const ACCESS: &str = "restgate::access";

/// The JSON objects of stderr; panics on a line that is not one.
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l:?}"));
            assert!(v.is_object(), "not a JSON object: {l:?}");
            v
        })
        .collect()
}

/// The access lines among `lines`.
fn access_lines(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["target"] == ACCESS).collect()
}

/// `stderr` with ANSI escape sequences (`ESC [ ... letter`) removed.
fn strip_ansi(stderr: &str) -> String {
    let mut out = String::with_capacity(stderr.len());
    let mut chars = stderr.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
async fn json_access_line_per_request() {
    let example = start_example().await;
    let gw = Gateway::spawn_example_with(example, &["--log-format", "json"]).await;

    let created = send(
        gw.request(Method::POST, "/v1/users")
            .header("x-request-id", "log-create")
            .header("content-type", "application/json")
            .body(json!({"displayName": "Ada"}).to_string()),
    )
    .await;
    created.assert_json(201);
    send(
        gw.request(Method::GET, "/v1/users/900")
            .header("x-request-id", "log-missing"),
    )
    .await
    .assert_error(404, 5);
    // No X-Request-Id: the generated one is echoed and logged.
    let unrouted = gw.get("/v1/nope").await;
    unrouted.assert_error(404, 5);
    let generated = unrouted
        .header("x-request-id")
        .expect("a generated X-Request-Id")
        .to_owned();
    assert!(!generated.is_empty());

    let seen = gw
        .wait_stderr(|s| s.matches(r#""target":"restgate::access""#).count() >= 3)
        .await;
    let stderr = gw.stderr();
    assert!(seen, "three access lines expected; stderr:\n{stderr}");

    let lines = json_lines(&stderr);
    for line in &lines {
        assert!(line["timestamp"].is_string(), "timestamp in {line}");
        assert!(line["level"].is_string(), "level in {line}");
    }
    let access = access_lines(&lines);
    assert_eq!(access.len(), 3, "one line per request; stderr:\n{stderr}");
    for line in &access {
        assert_eq!(line["level"], "INFO", "{line}");
        assert!(line["latency_us"].is_u64(), "latency_us in {line}");
        assert!(line["status"].is_u64(), "status is a number in {line}");
    }
    let by_id = |id: &str| {
        *access
            .iter()
            .find(|l| l["request_id"] == id)
            .unwrap_or_else(|| panic!("no access line with request_id {id}:\n{stderr}"))
    };
    let line = by_id("log-create");
    assert_eq!(line["method"], "POST", "{line}");
    assert_eq!(line["route"], "/v1/users", "{line}");
    assert_eq!(line["status"], 201, "{line}");
    let line = by_id("log-missing");
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["route"], "/v1/users/{user_id}", "{line}");
    assert_eq!(line["status"], 404, "{line}");
    let line = by_id(&generated);
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["route"], "-", "{line}");
    assert_eq!(line["status"], 404, "{line}");
}

#[tokio::test]
async fn pretty_access_line_carries_the_fields() {
    let example = start_example().await;
    let gw = Gateway::spawn_example(example).await;
    send(
        gw.request(Method::POST, "/v1/users")
            .header("x-request-id", "pretty-1")
            .header("content-type", "application/json")
            .body(json!({"displayName": "Ada"}).to_string()),
    )
    .await
    .assert_json(201);

    assert!(
        gw.wait_stderr(|s| s.contains("pretty-1")).await,
        "no access line; stderr:\n{}",
        gw.stderr()
    );
    let stderr = strip_ansi(&gw.stderr()).replace('"', "");
    let line = stderr
        .lines()
        .find(|l| l.contains("request_id=pretty-1"))
        .unwrap_or_else(|| panic!("no line with request_id=pretty-1:\n{stderr}"));
    for part in [
        "INFO",
        ACCESS,
        "method=POST",
        "route=/v1/users",
        "status=201",
        "latency_us=",
    ] {
        assert!(line.contains(part), "{part:?} missing from {line:?}");
    }
    assert!(
        serde_json::from_str::<Value>(line).is_err(),
        "a pretty line, not JSON: {line:?}"
    );
}

#[tokio::test]
async fn access_log_false_writes_no_access_line() {
    let fixture = start_fixture().await;
    let gw =
        Gateway::spawn_fixture(&fixture, &["--log-format", "json", "--access-log=false"]).await;
    gw.get("/v1/echo/a").await.assert_json(200);
    gw.post("/v1/echo", &json!({"id": "b"}))
        .await
        .assert_json(201);
    gw.get("/v1/nope").await.assert_error(404, 5);
    // Two 500s, each logged as a failed request (a warning naming its
    // request id, not an access line): once the second is on stderr, so is
    // everything logged before it.
    for marker in ["marker-1", "marker-2"] {
        send(
            gw.request(Method::GET, "/v1/fail/13")
                .header("x-request-id", marker),
        )
        .await
        .assert_error(500, 13);
    }
    let seen = gw.wait_stderr(|s| s.contains("marker-2")).await;
    let stderr = gw.stderr();
    assert!(seen, "the 500 is logged as a warning:\n{stderr}");
    let lines = json_lines(&stderr);
    assert!(
        access_lines(&lines).is_empty(),
        "no access line expected:\n{stderr}"
    );
    assert_eq!(fixture.calls("Echo"), 2);
}

/// Log lines are written by a background thread: the access lines of
/// requests answered right before SIGTERM, and the lines logged while
/// stopping, are all on stderr once the process has exited.
#[tokio::test]
async fn access_lines_before_sigterm_are_written_out_at_exit() {
    const REQUESTS: usize = 300;
    let fixture = start_fixture().await;
    let mut gw =
        Gateway::spawn_fixture(&fixture, &["--log-format", "json", "--drain-delay", "0s"]).await;
    // Sixteen at a time, so that lines queue up faster than one by one.
    let ids: Vec<String> = (0..REQUESTS).map(|i| format!("before-exit-{i}")).collect();
    for chunk in ids.chunks(16) {
        let sends = chunk.iter().map(|id| {
            send(
                gw.request(Method::GET, "/v1/echo/a")
                    .header("x-request-id", id),
            )
        });
        for reply in futures::future::join_all(sends).await {
            reply.assert_json(200);
        }
    }
    gw.terminate();
    assert_eq!(
        gw.wait_exit().await,
        Some(0),
        "exit code; stderr:\n{}",
        gw.stderr()
    );
    // The line logged last, after the drain: once it is read, the pipe has
    // given everything the process wrote.
    let stopped = gw.wait_stderr(|s| s.contains("stopping")).await;
    let stderr = gw.stderr();
    assert!(
        stopped,
        "no `stopping` line on stderr after exit:\n{stderr}"
    );
    let lines = json_lines(&stderr);
    let logged: std::collections::HashSet<&str> = access_lines(&lines)
        .iter()
        .filter_map(|l| l["request_id"].as_str())
        .collect();
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !logged.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {REQUESTS} access lines missing after exit, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    assert_eq!(fixture.calls("Echo"), REQUESTS);
}
