//! Oversized request heads are the client's error, answered by the gateway
//! with its JSON error body before the service is called: a URI over
//! `--max-uri-bytes` is a 414, headers over `--max-header-bytes` a 431, and
//! metadata larger than the service's HTTP/2 `SETTINGS_MAX_HEADER_LIST_SIZE`
//! (tonic's default: 16 KiB) a 431 too — over HTTP/1.1 and HTTP/2 alike.
//! What fits is served and forwarded whole.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use reqwest::{Client, Method, RequestBuilder};
use serde_json::Value;
use support::{
    send, start_fixture, start_fixture_accepting, start_streams, FixtureHandle, Gateway, Reply,
    WAIT,
};

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

/// hyper's HTTP/2 limit is twice the gateway's plus 32 bytes for each of
/// 105 fields (here 2 × 11000 + 3360 = 25360): past it, hyper answers 431
/// itself, without the JSON body. HTTP/1.1's buffer is at least 408 KiB.
#[tokio::test]
async fn past_twice_the_limits_http2_gets_hyper_s_own_431() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(
        &fixture,
        &["--max-uri-bytes", "1000", "--max-header-bytes", "10000"],
    )
    .await;
    let request =
        |client: &Client, n: usize| get(client, &gw, "/v1/echo/a").header("x-filler", filler(n));
    let http2 = http2_client();
    // Within twice the limits: the gateway's answer.
    assert_refused(&send(request(&http2, 20_000)).await, 431, "10000", "HTTP/2");
    // Past it: hyper's.
    let reply = send(request(&http2, 30_000)).await;
    reply.assert_status(431);
    assert!(
        reply.text.is_empty(),
        "hyper's 431 has no body: {}",
        reply.text
    );
    // HTTP/1.1 still gets the gateway's.
    assert_refused(
        &send(request(&gw.client, 30_000)).await,
        431,
        "10000",
        "HTTP/1.1",
    );
    assert_eq!(fixture.total_calls(), 0);
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

/// The metadata the service received, from the fixture's `Metadata` reply.
#[track_caller]
fn labels(reply: &Reply) -> serde_json::Map<String, Value> {
    match reply.assert_json(200).get("labels") {
        Some(Value::Object(labels)) => labels.clone(),
        other => panic!("labels: {other:?}"),
    }
}

/// `GET /v1/metadata` with `name: value`, over `client`.
async fn metadata_call(gw: &Gateway, client: &Client, name: &str, value: &str) -> Reply {
    send(get(client, gw, "/v1/metadata").header(name, value)).await
}

#[tokio::test]
async fn metadata_over_the_services_limit_is_431_before_the_call() {
    // tonic's server states SETTINGS_MAX_HEADER_LIST_SIZE 16384.
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    for (protocol, client) in clients(&gw) {
        for name in ["x-request-id", "grpc-metadata-tenant", "authorization"] {
            // Within the gateway's 60 KiB, over the service's 16 KiB.
            let reply = metadata_call(&gw, &client, name, &filler(20 * 1024)).await;
            assert_refused(&reply, 431, "16384", &format!("{protocol} {name}"));
        }
    }
    assert_eq!(fixture.total_calls(), 0, "nothing reaches the service");

    // What fits is forwarded whole, and the connection still serves.
    for (protocol, client) in clients(&gw) {
        let value = filler(12 * 1024);
        let reply = metadata_call(&gw, &client, "grpc-metadata-tenant", &value).await;
        assert_eq!(
            labels(&reply).get("tenant"),
            Some(&value.clone().into()),
            "{protocol}"
        );
        let reply = metadata_call(&gw, &client, "x-request-id", &value).await;
        assert_eq!(
            labels(&reply).get("x-request-id"),
            Some(&value.into()),
            "{protocol}"
        );
        assert_eq!(
            gw.get("/v1/echo/after").await.assert_json(200)["id"],
            "after"
        );
    }
    assert_eq!(fixture.calls("Metadata"), 4);
}

#[tokio::test]
async fn streaming_calls_are_held_to_the_same_limit() {
    let streams = start_streams().await;
    let upstream = format!("http://{}", streams.addr);
    let gw = Gateway::start(&[
        "--proto",
        "proto/testing/v1/streams.proto",
        "-I",
        "proto",
        "--upstream",
        &upstream,
    ])
    .await;
    let big = filler(20 * 1024);
    // Server streaming: refused before any message, as a whole answer.
    let reply = send(
        gw.request(Method::GET, "/v1/paced/1")
            .header("grpc-metadata-tenant", &big),
    )
    .await;
    assert_refused(&reply, 431, "16384", "server streaming");
    // Client streaming: refused before the body is sent on.
    let reply = send(
        gw.request(Method::POST, "/v1/sum/total")
            .header("content-type", "application/x-ndjson")
            .header("grpc-metadata-tenant", &big)
            .body("{\"seq\": \"1\"}\n"),
    )
    .await;
    assert_refused(&reply, 431, "16384", "client streaming");
    // Within the limit the stream is served.
    streams.release(1);
    let reply = send(
        gw.request(Method::GET, "/v1/paced/1")
            .header("grpc-metadata-tenant", filler(1024)),
    )
    .await;
    reply.assert_status(200);
    assert!(reply.text.contains("tick 1"), "{}", reply.text);
}

#[tokio::test]
async fn a_service_that_accepts_more_gets_more() {
    // The limit is the one the service states, not a fixed one.
    let fixture: FixtureHandle = start_fixture_accepting(64 * 1024).await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let value = filler(20 * 1024);
    let reply = metadata_call(&gw, &gw.client, "grpc-metadata-tenant", &value).await;
    assert_eq!(labels(&reply).get("tenant"), Some(&value.into()));
    // The gateway's own limit still holds in front of it.
    let reply = metadata_call(&gw, &gw.client, "grpc-metadata-tenant", &filler(61 * 1024)).await;
    assert_refused(&reply, 431, "61440", "over the gateway's limit");
    assert_eq!(fixture.calls("Metadata"), 1);
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

/// A reply whose trailers exceeded hyper's default 16 KiB (here a status
/// message quoting a long request field) once read as a broken connection:
/// 503. It is the service's answer.
#[tokio::test]
async fn a_long_status_message_from_the_service_is_its_answer() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--max-uri-bytes", "40000"]).await;
    let message = filler(30 * 1024);
    let reply = gw.get(&format!("/v1/fail/5?message={message}")).await;
    let body = reply.assert_error(404, 5);
    assert_eq!(body["message"].as_str().map(str::len), Some(message.len()));
    assert_eq!(fixture.calls("Fail"), 1, "called once, not retried");
}
