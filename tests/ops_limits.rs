//! The limits of `restgate serve`: `--max-concurrent-requests` (503 with
//! `Retry-After` beyond it, at once, without calling the service),
//! `--request-timeout` (504 code 4 when a whole request takes longer, the
//! upstream call cancelled) and `--header-read-timeout` (a client that stalls
//! while sending its request head has its connection closed) and
//! `--max-in-flight-bytes` (a body that does not fit beside those held is
//! 503 with `Retry-After`, the service not called; later ones fit again).

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use reqwest::Method;
use support::{send, start_fixture, FixtureHandle, Gateway, WAIT};

/// Waits (at most 20 s) until the fixture has seen `n` `Sleep` calls.
async fn until_sleeping(fixture: &FixtureHandle, n: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while fixture.calls("Sleep") < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} sleeps never reached the fixture (saw {})",
            fixture.calls("Sleep")
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn beyond_max_concurrent_requests_is_503_with_retry_after() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--max-concurrent-requests", "2"]).await;
    let sleepers: Vec<_> = (0..2)
        .map(|_| tokio::spawn(send(gw.request(Method::GET, "/v1/sleep/1500"))))
        .collect();
    until_sleeping(&fixture, 2).await;

    // Two requests in flight: a third is refused at once.
    let started = Instant::now();
    let refused = gw.get("/v1/echo/third").await;
    let waited = started.elapsed();
    let body = refused.assert_error(503, 14);
    assert_eq!(refused.header("retry-after"), Some("1"), "{body}");
    assert!(
        waited < Duration::from_millis(1000),
        "the 503 took {waited:?}: it should not wait for a slot"
    );
    assert_eq!(fixture.calls("Echo"), 0, "a refused request is not sent");

    for sleeper in sleepers {
        let slept = sleeper.await.expect("sleeper task").assert_json(200);
        assert_eq!(slept["id"], "slept", "{slept}");
    }
    // The slots are free again.
    let echoed = gw.get("/v1/echo/fourth").await.assert_json(200);
    assert_eq!(echoed["id"], "fourth", "{echoed}");
    assert_eq!(fixture.calls("Echo"), 1);
}

#[tokio::test]
async fn a_request_longer_than_request_timeout_is_504() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(
        &fixture,
        &["--request-timeout", "300ms", "--timeout", "10s"],
    )
    .await;
    let started = Instant::now();
    let reply = gw.get("/v1/sleep/2000").await;
    let took = started.elapsed();
    reply.assert_error(504, 4);
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(1800),
        "answered after {took:?}; expected about 300 ms"
    );
    assert!(
        fixture.wait_cancelled(1).await,
        "the upstream call should be cancelled"
    );
    // A request within the limit is answered.
    let slept = gw.get("/v1/sleep/10").await.assert_json(200);
    assert_eq!(slept["id"], "slept", "{slept}");
}

/// Reads from `stream` until the server closes it (EOF or reset) and returns
/// what it sent and when it closed; panics if it is still open after `limit`.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Instant) {
    stream.set_read_timeout(Some(limit)).expect("read timeout");
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (received, Instant::now()),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (received, Instant::now()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "the connection is still open after {limit:?}; received {:?}",
                    String::from_utf8_lossy(&received)
                )
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Connects to `addr`, sends `head`, and measures how long until the server
/// closes the connection.
async fn stall_after(addr: SocketAddr, head: &'static [u8]) -> (Vec<u8>, Duration) {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.write_all(head).expect("write");
        let sent = Instant::now();
        let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(10));
        (received, closed - sent)
    })
    .await
    .expect("blocking task")
}

#[tokio::test]
async fn a_stalled_request_head_is_closed_after_header_read_timeout() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--header-read-timeout", "500ms"]).await;
    for head in [
        &b"GET /v1/echo/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"[..],
        &b"GET /v1/echo/x HT"[..],
    ] {
        let (received, after) = stall_after(gw.addr(), head).await;
        let text = String::from_utf8_lossy(&received);
        assert!(
            after >= Duration::from_millis(400) && after < Duration::from_secs(5),
            "{:?}: closed after {after:?}; expected about 500 ms",
            String::from_utf8_lossy(head)
        );
        // Closing silently or with a 408 are both fine; serving it is not.
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{:?}: received {text:?}",
            String::from_utf8_lossy(head)
        );
    }
    assert_eq!(fixture.total_calls(), 0);
}

/// A client that opens a connection and sends nothing, or only the start of
/// the HTTP/2 preface, has not sent its request head in time either.
#[tokio::test]
async fn a_silent_connection_is_closed_after_header_read_timeout() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--header-read-timeout", "500ms"]).await;
    for head in [&b""[..], &b"PRI * HTTP/2.0\r\n"[..]] {
        let (received, after) = stall_after(gw.addr(), head).await;
        assert!(
            after < Duration::from_secs(5),
            "{:?}: closed after {after:?}; expected about 500 ms",
            String::from_utf8_lossy(head)
        );
        assert!(
            received.is_empty() || received.starts_with(b"HTTP/1.1 408"),
            "received {:?}",
            String::from_utf8_lossy(&received)
        );
    }
}

#[tokio::test]
async fn a_slow_head_within_the_timeout_is_served() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--header-read-timeout", "3s"]).await;
    let addr = gw.addr();
    let received = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .write_all(b"GET /v1/echo/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .expect("write");
        // A pause well inside the 3 s allowed (the slow client under test),
        // in which the gateway neither answers nor closes; then the rest
        // of the head.
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("read timeout");
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("the gateway did not wait for the rest of the head: {other:?}"),
        }
        stream
            .write_all(b"Connection: close\r\n\r\n")
            .expect("write");
        read_until_closed(&mut stream, Duration::from_secs(10)).0
    })
    .await
    .expect("blocking task");
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "received {text:?}");
    assert!(text.contains(r#""id":"slow""#), "received {text:?}");
    assert_eq!(fixture.calls("Echo"), 1);
}

/// `restgate_request_body_bytes_in_flight` as `/metrics` shows it now.
async fn body_bytes_in_flight(gw: &Gateway) -> usize {
    let metrics = gw.get("/metrics").await;
    metrics.assert_status(200);
    metrics
        .text
        .lines()
        .find_map(|l| l.strip_prefix("restgate_request_body_bytes_in_flight "))
        .unwrap_or_else(|| panic!("no body bytes gauge in:\n{}", metrics.text))
        .parse()
        .expect("a count")
}

#[tokio::test]
async fn bodies_beyond_max_in_flight_bytes_are_503_with_retry_after() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--max-in-flight-bytes", "1000000"]).await;
    let big = |c: &str| serde_json::json!({ "id": c, "tags": [c.repeat(600_000)] });
    // A chunked body held half sent: 600 KB read, the rest still to come.
    let text = big("a").to_string();
    let (head, tail) = text.as_bytes().split_at(text.len() - 2);
    let (sending, chunks) = futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
    sending.unbounded_send(Ok(head.to_vec())).expect("send");
    let request = gw
        .request(Method::POST, "/v1/echo")
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks));
    let held = tokio::spawn(send(request));
    let deadline = tokio::time::Instant::now() + WAIT;
    while body_bytes_in_flight(&gw).await < head.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the held body never reached the gateway"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Another large body does not fit in what is left: 503, not called.
    let refused = gw.post("/v1/echo", &big("b")).await;
    let body = refused.assert_error(503, 14);
    assert_eq!(refused.header("retry-after"), Some("1"), "{body}");
    assert_eq!(fixture.calls("Echo"), 0, "a refused body is not sent");
    // A small one still fits.
    let small = gw
        .post("/v1/echo", &serde_json::json!({ "id": "small" }))
        .await
        .assert_json(201);
    assert_eq!(small["id"], "small", "{small}");

    // The held body finishes and is answered; its bytes are given back.
    sending.unbounded_send(Ok(tail.to_vec())).expect("send");
    drop(sending);
    let echoed = held.await.expect("held request").assert_json(201);
    assert_eq!(echoed["tags"][0].as_str().map(str::len), Some(600_000));
    assert_eq!(body_bytes_in_flight(&gw).await, 0);
    // With the budget free, the large body passes.
    let passed = gw.post("/v1/echo", &big("c")).await.assert_json(201);
    assert_eq!(passed["tags"][0].as_str().map(str::len), Some(600_000));
    assert_eq!(fixture.calls("Echo"), 3);
}
