//! `/metrics` counts exactly the requests sent: `restgate_requests_total` by
//! method, route template (or `-`) and status, the latency histogram's counts,
//! upstream errors by gRPC code, requests in flight, idempotent replays and
//! retries of idempotent calls.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use support::{start_example, start_fixture, Gateway, WAIT};

/// One sample of the Prometheus text format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the samples of a Prometheus text exposition (comments skipped).
fn samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|e| panic!("{line:?}: value {value:?}: {e}"));
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line:?}"));
                let labels = inner
                    .split("\",")
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (k, v) = pair
                            .split_once("=\"")
                            .unwrap_or_else(|| panic!("label {pair:?} in {line:?}"));
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
        };
        out.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    out
}

/// The value of `name{labels}` (exactly that label set), if present.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples(text)
        .into_iter()
        .find(|s| s.name == name && s.labels == want)
        .map(|s| s.value)
}

/// The sum of every sample of `name`, whatever its labels.
fn total(text: &str, name: &str) -> f64 {
    samples(text)
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.value)
        .sum()
}

/// `GET /metrics`, checked to be Prometheus text.
async fn metrics(gw: &Gateway) -> String {
    let reply = gw.get("/metrics").await;
    reply.assert_status(200);
    let content_type = reply.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("text/plain"),
        "content-type {content_type:?}"
    );
    reply.text
}

#[tokio::test]
async fn request_counts_match_the_requests_sent() {
    let example = start_example().await;
    let gw = Gateway::example(example).await;
    for name in ["Ada", "Grace", "Edsger"] {
        gw.post("/v1/users", &json!({"displayName": name}))
            .await
            .assert_json(201);
    }
    for missing in ["900", "901"] {
        gw.get(&format!("/v1/users/{missing}"))
            .await
            .assert_error(404, 5);
    }
    gw.get("/v1/nope").await.assert_error(404, 5);

    let text = metrics(&gw).await;
    // Labels in alphabetical order, one line per series.
    for line in [
        r#"restgate_requests_total{method="POST",route="/v1/users",status="201"} 3"#,
        r#"restgate_requests_total{method="GET",route="/v1/users/{user_id}",status="404"} 2"#,
        r#"restgate_requests_total{method="GET",route="-",status="404"} 1"#,
        r#"restgate_upstream_errors_total{code="NOT_FOUND",route="/v1/users/{user_id}"} 2"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in\n{text}"
        );
    }
    // Nothing else was counted: the operational endpoints are not requests
    // of the API, and the unrouted 404 made no upstream call.
    assert_eq!(total(&text, "restgate_requests_total"), 6.0, "{text}");
    assert_eq!(
        total(&text, "restgate_upstream_errors_total"),
        2.0,
        "{text}"
    );

    for (method, route, n) in [
        ("POST", "/v1/users", 3.0),
        ("GET", "/v1/users/{user_id}", 2.0),
        ("GET", "-", 1.0),
    ] {
        let labels = [("method", method), ("route", route)];
        let count = value(&text, "restgate_request_duration_seconds_count", &labels);
        assert_eq!(count, Some(n), "{method} {route} count in\n{text}");
        let inf = [("le", "+Inf"), ("method", method), ("route", route)];
        let bucket = value(&text, "restgate_request_duration_seconds_bucket", &inf);
        assert_eq!(bucket, Some(n), "{method} {route} +Inf bucket in\n{text}");
        let sum = value(&text, "restgate_request_duration_seconds_sum", &labels);
        assert!(
            sum.is_some_and(|s| s > 0.0 && s < 20.0 * n),
            "{method} {route} sum {sum:?}"
        );
    }
    assert_eq!(
        total(&text, "restgate_request_duration_seconds_count"),
        6.0,
        "{text}"
    );
    assert_eq!(value(&text, "restgate_requests_in_flight", &[]), Some(0.0));
    assert_eq!(
        value(&text, "restgate_upstream_retries_total", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(&text, "restgate_idempotency_replays_total", &[]),
        Some(0.0)
    );
}

#[tokio::test]
async fn a_replayed_key_is_counted_once() {
    let example = start_example().await;
    let gw = Gateway::example(example).await;
    let body = json!({"displayName": "Grace"});
    let first = gw.keyed(Method::POST, "/v1/users", "k-1", &body).await;
    first.assert_json(201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = gw.keyed(Method::POST, "/v1/users", "k-1", &body).await;
    again.assert_json(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("location"), first.header("location"));

    let text = metrics(&gw).await;
    assert_eq!(
        value(&text, "restgate_idempotency_replays_total", &[]),
        Some(1.0),
        "{text}"
    );
    let created = [
        ("method", "POST"),
        ("route", "/v1/users"),
        ("status", "201"),
    ];
    assert_eq!(
        value(&text, "restgate_requests_total", &created),
        Some(2.0),
        "{text}"
    );
}

#[tokio::test]
async fn retries_of_a_flaky_put_are_counted() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let text = metrics(&gw).await;
    assert_eq!(
        value(&text, "restgate_upstream_retries_total", &[]),
        Some(0.0)
    );

    // Two UNAVAILABLEs, then an answer on the third try.
    let widget = gw
        .put("/v1/flaky/k", &json!({"failures": 2}))
        .await
        .assert_json(200);
    assert_eq!(widget["size"], 3, "{widget}");
    assert_eq!(fixture.calls("Flaky"), 3);

    let text = metrics(&gw).await;
    assert_eq!(
        value(&text, "restgate_upstream_retries_total", &[]),
        Some(2.0),
        "{text}"
    );
    let ok = [
        ("method", "PUT"),
        ("route", "/v1/flaky/{key}"),
        ("status", "200"),
    ];
    assert_eq!(value(&text, "restgate_requests_total", &ok), Some(1.0));
}

#[tokio::test]
async fn in_flight_counts_requests_being_served() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let sleepers: Vec<_> = (0..2)
        .map(|_| {
            let request = gw.request(Method::GET, "/v1/sleep/1000");
            tokio::spawn(support::send(request))
        })
        .collect();

    // Both are being served once the fixture has seen both calls.
    let deadline = tokio::time::Instant::now() + WAIT;
    while fixture.calls("Sleep") < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sleeps never reached the fixture"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let text = metrics(&gw).await;
    assert_eq!(
        value(&text, "restgate_requests_in_flight", &[]),
        Some(2.0),
        "{text}"
    );

    for sleeper in sleepers {
        sleeper.await.expect("sleeper task").assert_json(200);
    }
    let text = metrics(&gw).await;
    assert_eq!(
        value(&text, "restgate_requests_in_flight", &[]),
        Some(0.0),
        "{text}"
    );
    let slept = [
        ("method", "GET"),
        ("route", "/v1/sleep/{millis}"),
        ("status", "200"),
    ];
    assert_eq!(value(&text, "restgate_requests_total", &slept), Some(2.0));
}
