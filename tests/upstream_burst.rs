//! A burst, bounded in count: 1,500 client connections opened at once
//! against the gateway (two workers), each sending one create (POST) to the
//! example service over the gateway's HTTP/2 connections. Every one is
//! answered 201 — no connection to the service is torn down under the burst
//! (hyper/h2's DATA-frame flood guard used to close it with
//! `ENHANCE_YOUR_CALM`, `too_many_data_frames`, failing the calls on it) —
//! and `/metrics` counts no upstream connection failure.

mod support;

use futures::future::join_all;
use reqwest::Client;
use serde_json::json;
use support::{start_example, Gateway, WAIT};

/// Client connections opened at once, one request each.
const CONNECTIONS: usize = 1_500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_connections_is_served_whole() {
    let example = start_example().await;
    let gw = Gateway::example_with(example, &["--workers", "2", "--access-log=false"]).await;
    // No idle connection is ever reused: each request opens its own.
    let client = Client::builder()
        .no_proxy()
        .timeout(WAIT * 3)
        .pool_max_idle_per_host(0)
        .build()
        .expect("reqwest client");
    let url = gw.url("/v1/users");
    let answers = join_all((0..CONNECTIONS).map(|i| {
        let request = client
            .post(&url)
            .json(&json!({ "displayName": format!("burst {i}") }));
        async move {
            match request.send().await {
                Ok(reply) => Ok(reply.status().as_u16()),
                Err(e) => Err(e.to_string()),
            }
        }
    }))
    .await;
    let mut failed: Vec<String> = Vec::new();
    for answer in &answers {
        match answer {
            Ok(201) => {}
            Ok(status) => failed.push(format!("status {status}")),
            Err(e) => failed.push(e.clone()),
        }
    }
    failed.sort();
    failed.dedup();
    let created = answers.iter().filter(|a| matches!(a, Ok(201))).count();
    assert_eq!(
        created, CONNECTIONS,
        "every request of the burst is answered 201; also seen: {failed:?}"
    );
    let metrics = gw.get("/metrics").await;
    metrics.assert_status(200);
    let text = &metrics.text;
    // The burst made no upstream connection fail (the service is never
    // down here: a connection that cannot be made counts too).
    for stage in ["connect", "broken"] {
        let line = format!("restgate_upstream_connection_failures_total{{stage=\"{stage}\"}} 0");
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
}
