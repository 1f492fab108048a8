//! SIGTERM with `--drain-delay 0s`: the gateway stops accepting connections at once, lets the
//! requests in flight finish (up to `--shutdown-grace`) and exits 0. Under a
//! bounded load no request sent before SIGTERM is lost (long ones being
//! served, short ones anywhere between the listen queue and the answer);
//! with a short grace period a long request does not hold the exit back; and
//! a SIGTERM right after start-up is a clean exit too.

mod support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{json, Value};
use support::{start_fixture, FixtureHandle, Gateway, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Long requests in flight when SIGTERM arrives.
const LONG: usize = 4;
/// Loops sending short requests, each at most `SHORT_MAX` of them.
const LOOPS: usize = 4;
const SHORT_MAX: usize = 150;

/// What became of one request.
#[derive(Debug)]
enum Outcome {
    /// A whole answer: status and body.
    Answered(u16, String),
    /// The connection was refused: the gateway no longer accepts.
    Refused,
    /// Anything else: the request failed after connecting.
    Failed(String),
}

/// Sends `GET url` and reads the whole answer, bounded by the client's timeout.
async fn fetch(client: &Client, url: &str) -> Outcome {
    match client.get(url).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.text().await {
                Ok(text) => Outcome::Answered(status, text),
                Err(e) => Outcome::Failed(format!("body: {e:?}")),
            }
        }
        Err(e) if e.is_connect() => Outcome::Refused,
        Err(e) => Outcome::Failed(format!("{e:?}")),
    }
}

/// `GET path` over a new connection (`Connection: close`), by hand, so that
/// a refused connection and one closed without an answer are told apart.
/// `None` when `stop` was set by the time the connection was made: the
/// request is then not sent.
///
/// On a current-thread runtime the check of `stop` and the write of the
/// request happen in one poll: a request is sent whole before `stop` is set,
/// or not at all.
async fn raw_get(addr: SocketAddr, path: &str, stop: &AtomicBool) -> Option<Outcome> {
    let mut stream = match TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => return Some(Outcome::Refused),
        Err(e) => return Some(Outcome::Failed(format!("connect: {e}"))),
    };
    if stop.load(Ordering::SeqCst) {
        return None;
    }
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let exchange = async {
        stream.write_all(head.as_bytes()).await?;
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await?;
        Ok::<_, std::io::Error>(received)
    };
    let received = match tokio::time::timeout(WAIT, exchange).await {
        Ok(Ok(received)) => received,
        Ok(Err(e)) => return Some(Outcome::Failed(format!("sent, then {e}"))),
        Err(_) => return Some(Outcome::Failed("no answer within 20 s".to_owned())),
    };
    let text = String::from_utf8_lossy(&received);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Some(Outcome::Failed(format!("sent, then closed after {text:?}")));
    };
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Some(match status {
        Some(status) if !chunked => Outcome::Answered(status, body.to_owned()),
        _ => Outcome::Failed(format!("unexpected answer {text:?}")),
    })
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

/// Waits (at most 20 s) until the fixture has seen `n` `Sleep` calls.
async fn until_sleeping(fixture: &FixtureHandle, n: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while fixture.calls("Sleep") < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} sleeps never reached the fixture"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Waits (at most 20 s) until connecting to the gateway is refused.
async fn until_refused(gw: &Gateway) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match TcpStream::connect(gw.addr()).await {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => return,
            _ => assert!(
                tokio::time::Instant::now() < deadline,
                "the gateway still accepts connections 20 s after SIGTERM"
            ),
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn sigterm_drains_accepted_requests_under_load() {
    let fixture = start_fixture().await;
    let mut gw = Gateway::spawn_fixture(&fixture, &["--drain-delay", "0s"]).await;
    // An idle keep-alive connection must not hold the exit back.
    gw.get("/healthz").await.assert_json(200);
    let client = fresh_connections();

    let long_done = Arc::new(AtomicUsize::new(0));
    let long: Vec<_> = (0..LONG)
        .map(|_| {
            let (client, done) = (client.clone(), long_done.clone());
            let url = gw.url("/v1/sleep/1500");
            tokio::spawn(async move {
                let outcome = fetch(&client, &url).await;
                done.fetch_add(1, Ordering::SeqCst);
                outcome
            })
        })
        .collect();
    until_sleeping(&fixture, LONG).await;

    // Short requests on fresh connections, until SIGTERM is sent. The test
    // runs on one thread (the default of `tokio::test`), so every request is
    // written whole before `kill` runs, or not at all (see `raw_get`).
    let terminating = Arc::new(AtomicBool::new(false));
    let short_ok = Arc::new(AtomicUsize::new(0));
    let short: Vec<_> = (0..LOOPS)
        .map(|l| {
            let (addr, stop, ok) = (gw.addr(), terminating.clone(), short_ok.clone());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for n in 0..SHORT_MAX {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let id = format!("s{l}-{n}");
                    let path = format!("/v1/echo/{id}");
                    let Some(outcome) = raw_get(addr, &path, &stop).await else {
                        break;
                    };
                    if matches!(outcome, Outcome::Answered(200, _)) {
                        ok.fetch_add(1, Ordering::SeqCst);
                    }
                    outcomes.push((id, outcome));
                }
                outcomes
            })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + WAIT;
    while short_ok.load(Ordering::SeqCst) < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "short requests stall"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(
        long_done.load(Ordering::SeqCst),
        0,
        "the long requests should still be in flight at SIGTERM"
    );
    terminating.store(true, Ordering::SeqCst);
    let terminated = Instant::now();
    gw.terminate();

    // It stops accepting at once, while the long requests still run.
    until_refused(&gw).await;
    assert_eq!(
        long_done.load(Ordering::SeqCst),
        0,
        "new connections should be refused before the requests in flight end"
    );

    for task in long {
        match task.await.expect("long request task") {
            Outcome::Answered(200, text) => {
                let body: Value = serde_json::from_str(&text).expect("JSON body");
                assert_eq!(body, json!({"id": "slept", "big": "1500"}));
            }
            other => panic!("a request in flight at SIGTERM was lost: {other:?}"),
        }
    }
    // Every short request was sent before SIGTERM: each gets its whole
    // answer, wherever it was (listen queue, read, upstream call, reply).
    let mut answered = 0;
    let mut lost = Vec::new();
    for task in short {
        for (id, outcome) in task.await.expect("short request loop") {
            match outcome {
                Outcome::Answered(200, text) => {
                    let body: Value = serde_json::from_str(&text).expect("JSON body");
                    assert_eq!(body, json!({"id": id}));
                    answered += 1;
                }
                Outcome::Failed(why) => lost.push(format!("{id}: {why}")),
                other => lost.push(format!("{id}: {other:?}")),
            }
        }
    }

    let code = gw.wait_exit().await;
    let exited = terminated.elapsed();
    assert_eq!(code, Some(0), "exit code; stderr:\n{}", gw.stderr());
    assert!(
        exited < Duration::from_secs(5),
        "exited {exited:?} after SIGTERM; the requests in flight took 1.5 s"
    );
    until_refused(&gw).await;

    // Checked last, so that the checks above run whatever happens here.
    assert!(
        lost.is_empty(),
        "{} of {} short requests sent before SIGTERM got no answer: {lost:#?}",
        lost.len(),
        answered + lost.len()
    );
    assert_eq!(answered, fixture.calls("Echo"));
}

#[tokio::test]
async fn shutdown_grace_bounds_the_drain() {
    let fixture = start_fixture().await;
    let mut gw = Gateway::spawn_fixture(
        &fixture,
        &["--shutdown-grace", "200ms", "--drain-delay", "0s"],
    )
    .await;
    let started = Instant::now();
    let (client, url) = (fresh_connections(), gw.url("/v1/sleep/5000"));
    let slow = tokio::spawn(async move { fetch(&client, &url).await });
    until_sleeping(&fixture, 1).await;

    let terminated = Instant::now();
    gw.terminate();
    let code = gw.wait_exit().await;
    let exited = terminated.elapsed();
    assert_eq!(code, Some(0), "exit code; stderr:\n{}", gw.stderr());
    assert!(
        exited >= Duration::from_millis(150),
        "exited {exited:?} after SIGTERM: the grace period is 200 ms"
    );
    assert!(
        exited < Duration::from_secs(4) && started.elapsed() < Duration::from_secs(5),
        "exited {exited:?} after SIGTERM: the 200 ms grace should cut the 5 s request short"
    );
    let outcome = slow.await.expect("slow request task");
    assert!(
        !matches!(outcome, Outcome::Answered(200, _)),
        "the 5 s request cannot have finished: {outcome:?}"
    );
}

#[tokio::test]
async fn an_idle_gateway_exits_0_at_once() {
    let fixture = start_fixture().await;
    let mut gw = Gateway::spawn_fixture(&fixture, &["--drain-delay", "0s"]).await;
    // A keep-alive connection stays open in the client's pool.
    gw.get("/v1/echo/a").await.assert_json(200);
    let terminated = Instant::now();
    gw.terminate();
    let code = gw.wait_exit().await;
    let exited = terminated.elapsed();
    assert_eq!(code, Some(0), "exit code; stderr:\n{}", gw.stderr());
    assert!(
        exited < Duration::from_secs(3),
        "exited {exited:?} after SIGTERM with nothing in flight"
    );
    until_refused(&gw).await;
}

/// SIGTERM as soon as the gateway says it listens (an orchestrator may stop
/// a pod that just started): still a clean exit 0, every time. Without a
/// drain delay, so that twenty starts take seconds, not twenty delays (the
/// delay's own exit 0 is `sigterm_drain_delay_keeps_accepting_with_readyz_503`).
#[tokio::test]
async fn sigterm_right_after_listening_exits_0() {
    let fixture = start_fixture().await;
    let mut codes = Vec::new();
    for _ in 0..20 {
        let mut gw = Gateway::spawn_fixture(&fixture, &["--drain-delay", "0s"]).await;
        gw.terminate();
        codes.push(gw.wait_exit().await);
    }
    assert!(
        codes.iter().all(|c| *c == Some(0)),
        "exit codes of 20 gateways sent SIGTERM right after `listening on` \
         (None: killed by the signal): {codes:?}"
    );
}

/// With a drain delay, SIGTERM turns `/readyz` to 503 "draining" while the
/// listener keeps accepting: requests sent after that answer are all served
/// (a refused connection fails `send`), HTTP/1 replies carry
/// `Connection: close`, and the gateway exits 0 afterwards.
#[tokio::test]
async fn sigterm_drain_delay_keeps_accepting_with_readyz_503() {
    const REQUESTS: usize = 20;
    let fixture = start_fixture().await;
    let mut gw = Gateway::spawn_fixture(&fixture, &["--drain-delay", "4s"]).await;
    gw.get("/readyz").await.assert_json(200);
    gw.terminate();
    // Bounded poll: the signal is handled asynchronously.
    let deadline = Instant::now() + WAIT;
    let draining = loop {
        let reply = gw.get("/readyz").await;
        if reply.status == 503 {
            break reply;
        }
        assert!(Instant::now() < deadline, "/readyz never turned 503");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(draining.assert_json(503)["status"], "draining");
    for i in 0..REQUESTS {
        let reply = gw.get(&format!("/v1/echo/d{i}")).await;
        reply.assert_json(200);
        assert_eq!(
            reply.headers.get("connection").map(|v| v.as_bytes()),
            Some(&b"close"[..]),
            "request {i} during the drain delay"
        );
    }
    assert_eq!(gw.wait_exit().await, Some(0), "stderr:\n{}", gw.stderr());
}
