//! Signals under a bounded concurrent load, the release binary's behaviour
//! an operator relies on: five SIGHUPs fail no request; SIGTERM with a drain
//! delay refuses no connection and drops no request while `/readyz` says
//! "draining", for HTTP/1.1 clients (keep-alive and a new connection per
//! request) and for an HTTP/2 client (h2c), whose requests in flight when
//! the listener closes and the connection gets GOAWAY all complete.
//!
//! Each loop sends at most a fixed number of requests; nothing is timed.
//! The rerunnable scripts with larger figures are `benches/faults.sh` and
//! `benches/soak.sh` (RELIABILITY.md).

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, Version};
use serde_json::{json, Value};
use support::{start_fixture, FixtureHandle, Gateway, WAIT};
use tokio::task::JoinHandle;

/// Concurrent request loops.
const LOOPS: usize = 4;
/// The most requests one loop sends in all.
const MAX_PER_LOOP: usize = 3000;
/// Requests each loop sends once the drain started, then it stops.
const DURING_DRAIN: usize = 40;

/// What the loops saw, shared with the test.
#[derive(Default)]
struct Tally {
    /// Answered 200 with the echoed id.
    ok: AtomicUsize,
    /// Set by the test: the drain started (or, for SIGHUP, the test is done).
    flag: AtomicBool,
    /// Answered 200 after the loop saw `flag`.
    after_flag: AtomicUsize,
}

/// One request that did not come back 200 with its id: the id, and what
/// came back instead.
type Failure = String;

/// `GET /v1/echo/<id>` and its check: 200, the id echoed; on HTTP/2, no
/// `Connection` header (it has no meaning there).
async fn echo(client: &Client, base: &str, id: &str) -> Result<Version, String> {
    let response = match client.get(format!("{base}/v1/echo/{id}")).send().await {
        Ok(response) => response,
        Err(e) if e.is_connect() => return Err(format!("connection refused: {e}")),
        Err(e) => return Err(format!("{e:?}")),
    };
    let (status, version) = (response.status(), response.version());
    if version == Version::HTTP_2 && response.headers().contains_key("connection") {
        return Err("a Connection header on HTTP/2".to_owned());
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("{status}, body: {e:?}"))?;
    if status != 200 || body != json!({"id": id}) {
        return Err(format!("{status} {body}"));
    }
    Ok(version)
}

/// Starts `LOOPS` loops of [`echo`] with `client`: each runs until it sent
/// `DURING_DRAIN` requests after `tally.flag` was set (or `MAX_PER_LOOP`
/// in all) and returns its failures.
fn start_loops(
    client: &Client,
    base: &str,
    tally: &Arc<Tally>,
    want: Version,
) -> Vec<JoinHandle<Vec<Failure>>> {
    (0..LOOPS)
        .map(|l| {
            let (client, base, tally) = (client.clone(), base.to_owned(), Arc::clone(tally));
            tokio::spawn(async move {
                let mut failures = Vec::new();
                let mut after = 0;
                for n in 0..MAX_PER_LOOP {
                    let flagged = tally.flag.load(Ordering::SeqCst);
                    if flagged && after == DURING_DRAIN {
                        break;
                    }
                    let id = format!("l{l}-{n}");
                    match echo(&client, &base, &id).await {
                        Ok(version) if version == want => {
                            tally.ok.fetch_add(1, Ordering::SeqCst);
                            if flagged {
                                after += 1;
                                tally.after_flag.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        Ok(version) => failures.push(format!("{id}: over {version:?}")),
                        Err(what) => failures.push(format!("{id}: {what}")),
                    }
                }
                failures
            })
        })
        .collect()
}

/// Waits (at most [`WAIT`]) until the loops answered `n` requests.
async fn until_ok(tally: &Tally, n: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tally.ok.load(Ordering::SeqCst) < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} requests answered",
            tally.ok.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Waits for every loop; their failures, all together.
async fn failures(loops: Vec<JoinHandle<Vec<Failure>>>) -> Vec<Failure> {
    let mut all = Vec::new();
    for task in loops {
        all.extend(task.await.expect("request loop"));
    }
    all
}

/// Polls `/readyz` with `client` (at most [`WAIT`]) until it answers 503
/// "draining".
async fn until_draining(client: &Client, gw: &Gateway) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let response = client.get(gw.url("/readyz")).send().await;
        if let Ok(response) = response {
            if response.status() == 503 {
                let body: Value = response.json().await.expect("/readyz JSON");
                assert_eq!(body["status"], "draining");
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never turned 503"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn hup(gw: &Gateway) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gw.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -HUP: {status}");
}

fn client(http2: bool) -> Client {
    let builder = Client::builder().no_proxy().timeout(WAIT);
    let builder = if http2 {
        builder.http2_prior_knowledge()
    } else {
        builder
    };
    builder.build().expect("reqwest client")
}

/// A client that opens a new connection for every request.
fn fresh_connections() -> Client {
    Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(WAIT)
        .build()
        .expect("reqwest client")
}

/// Asserts no failure and that every answer reached the service once.
fn assert_none_failed(failures: &[Failure], tally: &Tally, fixture: &FixtureHandle) {
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {failures:#?}",
        failures.len(),
        failures.len() + tally.ok.load(Ordering::SeqCst)
    );
    assert_eq!(fixture.calls("Echo"), tally.ok.load(Ordering::SeqCst));
}

#[tokio::test]
async fn five_sighups_under_load_fail_no_request() {
    const RELOADS: usize = 5;
    let fixture = start_fixture().await;
    let gw = Gateway::spawn_fixture(&fixture, &[]).await;
    let tally = Arc::new(Tally::default());
    let loops = start_loops(&gw.client, &gw.base, &tally, Version::HTTP_11);
    for reload in 1..=RELOADS {
        // Requests answered between two reloads, so each one lands in load.
        until_ok(&tally, reload * 50).await;
        hup(&gw);
        let seen = gw
            .wait_stderr(|s| s.matches("reloaded").count() >= reload)
            .await;
        assert!(seen, "reload {reload} not logged:\n{}", gw.stderr());
    }
    until_ok(&tally, (RELOADS + 1) * 50).await;
    tally.flag.store(true, Ordering::SeqCst);
    let failures = failures(loops).await;
    let stderr = gw.stderr();
    assert_eq!(stderr.matches("reloaded").count(), RELOADS, "{stderr}");
    assert!(!stderr.contains("reload rejected"), "{stderr}");
    assert_none_failed(&failures, &tally, &fixture);
}

#[tokio::test]
async fn drain_under_http1_load_refuses_nothing_and_drops_nothing() {
    let fixture = start_fixture().await;
    let mut gw = Gateway::spawn_fixture(&fixture, &["--drain-delay", "5s"]).await;
    let tally = Arc::new(Tally::default());
    // Keep-alive connections (closed by `Connection: close` while
    // draining) and a new connection per request (the listener accepts).
    let mut loops = start_loops(&gw.client, &gw.base, &tally, Version::HTTP_11);
    loops.extend(start_loops(
        &fresh_connections(),
        &gw.base,
        &tally,
        Version::HTTP_11,
    ));
    until_ok(&tally, 100).await;
    gw.terminate();
    until_draining(&gw.client, &gw).await;
    tally.flag.store(true, Ordering::SeqCst);
    let failures = failures(loops).await;
    assert_eq!(gw.wait_exit().await, Some(0), "stderr:\n{}", gw.stderr());
    assert_none_failed(&failures, &tally, &fixture);
    assert_eq!(
        tally.after_flag.load(Ordering::SeqCst),
        2 * LOOPS * DURING_DRAIN
    );
}

#[tokio::test]
async fn drain_under_http2_load_ends_with_goaway_and_drops_nothing() {
    /// Requests on the HTTP/2 connection still running when the drain
    /// delay (2 s) ends: each sleeps 4 s at the service, from after
    /// `/readyz` turned 503.
    const LONG: usize = 4;
    let fixture = start_fixture().await;
    let mut gw = Gateway::spawn_fixture(&fixture, &["--drain-delay", "2s"]).await;
    let h2 = client(true);
    let tally = Arc::new(Tally::default());
    let loops = start_loops(&h2, &gw.base, &tally, Version::HTTP_2);
    until_ok(&tally, 100).await;
    gw.terminate();
    until_draining(&h2, &gw).await;
    let long: Vec<_> = (0..LONG)
        .map(|_| {
            let (h2, url) = (h2.clone(), gw.url("/v1/sleep/4000"));
            tokio::spawn(async move {
                let response = h2.get(url).send().await.map_err(|e| format!("{e:?}"))?;
                let version = response.version();
                let status = response.status();
                let body: Value = response.json().await.map_err(|e| format!("{e:?}"))?;
                Ok::<_, String>((version, status, body))
            })
        })
        .collect();
    tally.flag.store(true, Ordering::SeqCst);
    let failures = failures(loops).await;
    for task in long {
        let (version, status, body) = task
            .await
            .expect("long request")
            .unwrap_or_else(|e| panic!("a request in flight at GOAWAY failed: {e}"));
        assert_eq!((version, status.as_u16()), (Version::HTTP_2, 200));
        assert_eq!(body, json!({"id": "slept", "big": "4000"}));
    }
    assert_eq!(gw.wait_exit().await, Some(0), "stderr:\n{}", gw.stderr());
    assert_eq!(fixture.calls("Sleep"), LONG);
    assert_none_failed(&failures, &tally, &fixture);
    assert_eq!(
        tally.after_flag.load(Ordering::SeqCst),
        LOOPS * DURING_DRAIN
    );
}
