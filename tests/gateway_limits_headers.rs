//! Oversized request heads are the client's error, answered by the gateway
//! with its JSON error body before the service is called: a URI over
//! `--max-uri-bytes` is a 414, headers over `--max-header-bytes` a 431 —
//! over HTTP/1.1 and HTTP/2 alike. What fits is served.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use reqwest::{Client, Method, RequestBuilder};
use serde_json::Value;
use support::{send, start_fixture, Gateway, Reply, WAIT};

/// `n` bytes of `x`.
fn filler(n: usize) -> String {
    "x".repeat(n)
}

/// A client that speaks HTTP/2 from the first byte (h2c).
fn http2_client() -> Client {
    Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .timeout(WAIT)
        .build()
        .expect("reqwest client")
}

/// Both clients: HTTP/1.1 (the gateway's own) and HTTP/2.
fn clients(gw: &Gateway) -> [(&'static str, Client); 2] {
    [("HTTP/1.1", gw.client.clone()), ("HTTP/2", http2_client())]
}

fn get(client: &Client, gw: &Gateway, path: &str) -> RequestBuilder {
    client.request(Method::GET, gw.url(path))
}

/// Asserts a gateway 414/431: the JSON error body with code 8
/// (RESOURCE_EXHAUSTED), whose message contains `says`.
#[track_caller]
fn assert_refused(reply: &Reply, status: u16, says: &str, what: &str) -> Value {
    let body = reply.assert_error(status, 8);
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{what}: message {message:?}");
    body
}

#[tokio::test]
async fn a_uri_over_the_limit_is_414_and_never_sent() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    for (protocol, client) in clients(&gw) {
        let long_path = format!("/v1/echo/{}", filler(10 * 1024));
        let reply = send(get(&client, &gw, &long_path)).await;
        assert_refused(&reply, 414, "8192", protocol);
        // The query string counts too.
        let long_query = format!("/v1/echo/q?nested.name={}", filler(9 * 1024));
        let reply = send(get(&client, &gw, &long_query)).await;
        assert_refused(&reply, 414, "8192", protocol);
        // So do paths that match no route.
        let unknown = format!("/nowhere/{}", filler(9 * 1024));
        assert_refused(
            &send(get(&client, &gw, &unknown)).await,
            414,
            "URI",
            protocol,
        );
    }
    assert_eq!(fixture.total_calls(), 0, "nothing reaches the service");
    // Just within the limit: served.
    let within = format!("/v1/echo/{}", filler(8192 - "/v1/echo/".len()));
    let echoed = gw.get(&within).await.assert_json(200);
    assert_eq!(echoed["id"].as_str().map(str::len), Some(8192 - 9));
    assert_eq!(fixture.calls("Echo"), 1);
}

#[tokio::test]
async fn headers_over_the_limit_are_431_and_never_sent() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    for (protocol, client) in clients(&gw) {
        // One 70 KiB header, not even forwarded, is over the 60 KiB limit.
        let reply =
            send(get(&client, &gw, "/v1/echo/a").header("x-filler", filler(70 * 1024))).await;
        assert_refused(&reply, 431, "61440", protocol);
        // So are many smaller ones that add up to more.
        let mut request = get(&client, &gw, "/v1/echo/b");
        for i in 0..8 {
            request = request.header(format!("x-part-{i}"), filler(8 * 1024));
        }
        assert_refused(&send(request).await, 431, "headers", protocol);
        // An oversized X-Request-Id is not echoed back.
        let reply =
            send(get(&client, &gw, "/v1/echo/c").header("x-request-id", filler(62 * 1024))).await;
        assert_refused(&reply, 431, "61440", protocol);
        let id = reply.header("x-request-id").unwrap_or_default();
        assert!(
            id.len() < 100,
            "{protocol}: X-Request-Id {} bytes",
            id.len()
        );
    }
    assert_eq!(fixture.total_calls(), 0, "nothing reaches the service");
    // Large headers within the limit, and not forwarded, are fine.
    let reply = send(
        gw.request(Method::GET, "/v1/echo/d")
            .header("x-filler", filler(50 * 1024)),
    )
    .await;
    assert_eq!(reply.assert_json(200)["id"], "d");
}

/// A raw HTTP/1.1 exchange: sends `head`, reads until the server closes.
async fn raw_exchange(addr: SocketAddr, head: String) -> String {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        stream.write_all(head.as_bytes()).expect("write");
        let mut received = Vec::new();
        let _ = stream.read_to_end(&mut received);
        String::from_utf8_lossy(&received).into_owned()
    })
    .await
    .expect("blocking task")
}

#[tokio::test]
async fn a_long_request_line_from_a_raw_client_gets_the_json_414() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let line = |n| {
        format!(
            "GET /v1/echo/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            filler(n)
        )
    };
    let received = raw_exchange(gw.addr(), line(10 * 1024)).await;
    assert!(
        received.starts_with("HTTP/1.1 414 "),
        "received {received:?}"
    );
    assert!(
        received
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{received:?}"
    );
    let body = received.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {received:?}"));
    assert_eq!(body["code"], 8, "{body}");

    // Past what hyper can hold (64 KiB), hyper answers 414 itself, without
    // the JSON body.
    let received = raw_exchange(gw.addr(), line(70 * 1024)).await;
    assert!(
        received.starts_with("HTTP/1.1 414 "),
        "received {received:?}"
    );
    assert_eq!(fixture.total_calls(), 0, "nothing reaches the service");
}

#[tokio::test]
async fn the_limits_are_settings() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(
        &fixture,
        &["--max-uri-bytes", "100", "--max-header-bytes", "2000"],
    )
    .await;
    let reply = gw.get(&format!("/v1/echo/{}", filler(100))).await;
    assert_refused(&reply, 414, "100 bytes", "--max-uri-bytes 100");
    let reply = send(
        gw.request(Method::GET, "/v1/echo/a")
            .header("x-filler", filler(2000)),
    )
    .await;
    assert_refused(&reply, 431, "2000 bytes", "--max-header-bytes 2000");
    assert_eq!(fixture.total_calls(), 0);
    assert_eq!(
        gw.get("/v1/echo/short").await.assert_json(200)["id"],
        "short"
    );
}
