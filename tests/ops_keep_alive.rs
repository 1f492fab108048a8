//! Keep-alive HTTP/1.1 connections, which the gateway serves one exchange
//! at a time and holds with little more than their socket while idle
//! (src/serve/lifecycle/keep_alive.rs): requests in turn with pauses between,
//! pipelined requests and one split across writes, a body left unread,
//! `Connection: close`, and the header-read timeout of an idle connection
//! and of a second request head that stalls. Each on one raw connection.

mod support;

use std::time::Duration;

use support::{start_fixture, Gateway, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One reply read off the connection.
#[derive(Debug)]
struct Reply {
    status: u16,
    /// The head, lower-cased.
    head: String,
    body: String,
}

/// A raw client connection and the bytes read but not yet taken.
struct Client {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl Client {
    async fn connect(gw: &Gateway) -> Client {
        let stream = TcpStream::connect(gw.addr()).await.expect("connect");
        Client {
            stream,
            pending: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads more, or `None` when the gateway closed the connection.
    async fn read_more(&mut self) -> Option<()> {
        let mut buf = [0u8; 4096];
        let read = tokio::time::timeout(WAIT, self.stream.read(&mut buf))
            .await
            .expect("the gateway neither answered nor closed");
        match read {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                Some(())
            }
        }
    }

    /// The next reply (a `Content-Length` body), or `None` if the gateway
    /// closed the connection before sending one.
    async fn reply(&mut self) -> Option<Reply> {
        loop {
            if let Some(end) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.pending[..end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().expect("content-length"))
                    .unwrap_or(0);
                while self.pending.len() < end + 4 + length {
                    self.read_more().await.expect("closed inside a reply body");
                }
                let rest = self.pending.split_off(end + 4 + length);
                let body = String::from_utf8_lossy(&self.pending[end + 4..]).into_owned();
                self.pending = rest;
                let status = head[9..12].parse().expect("status");
                return Some(Reply { status, head, body });
            }
            self.read_more().await?;
        }
    }

    /// Waits for the gateway to close the connection; what it sent before.
    async fn closed(&mut self) -> String {
        while self.read_more().await.is_some() {}
        String::from_utf8_lossy(&self.pending).into_owned()
    }
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").into_bytes()
}

fn echoed(reply: &Reply, id: &str) {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        reply.body.contains(&format!("\"id\":\"{id}\"")),
        "{reply:?}"
    );
}

#[tokio::test]
async fn requests_in_turn_are_answered_on_one_connection() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let mut client = Client::connect(&gw).await;
    for i in 0..3 {
        let id = format!("turn{i}");
        client.send(&get(&format!("/v1/echo/{id}"))).await;
        echoed(&client.reply().await.expect("a reply"), &id);
        // Idle between requests: the connection waits with its socket only.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = br#"{"id":"posted"}"#;
    let post = format!(
        "POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    client.send(post.as_bytes()).await;
    client.send(body).await;
    // A create: 201 with its Location.
    let created = client.reply().await.expect("a reply");
    assert_eq!(created.status, 201, "{created:?}");
    assert!(
        created.head.contains("location: /v1/echo/posted"),
        "{created:?}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.send(&get("/v1/echo/last")).await;
    echoed(&client.reply().await.expect("a reply"), "last");
    assert_eq!(fixture.calls("Echo"), 5);
}

#[tokio::test]
async fn pipelined_and_split_requests_are_answered_in_order() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let mut client = Client::connect(&gw).await;
    let (a, b, c) = (get("/v1/echo/a"), get("/v1/echo/b"), get("/v1/echo/c"));
    client.send(&[&a[..], &b[..], &c[..10]].concat()).await;
    for id in ["a", "b"] {
        echoed(&client.reply().await.expect("a reply"), id);
    }
    // The rest of the third head, once the first two are answered.
    tokio::time::sleep(Duration::from_millis(100)).await;
    client.send(&c[10..]).await;
    echoed(&client.reply().await.expect("a reply"), "c");
    assert_eq!(fixture.calls("Echo"), 3);
}

#[tokio::test]
async fn a_body_left_unread_is_never_read_as_a_request() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let mut client = Client::connect(&gw).await;
    // A route that does not exist is answered without reading the body,
    // which here looks like a request of its own.
    let smuggled = get("/v1/echo/smuggled");
    let post = format!(
        "POST /v1/nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
        smuggled.len()
    );
    client
        .send(&[post.as_bytes(), &smuggled[..]].concat())
        .await;
    let refused = client.reply().await.expect("a reply");
    assert_eq!(refused.status, 404, "{refused:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.send(&get("/v1/echo/after")).await;
    // Either the connection goes on with the next request, or it is closed.
    if let Some(next) = client.reply().await {
        echoed(&next, "after");
        assert_eq!(fixture.calls("Echo"), 1);
    } else {
        assert_eq!(fixture.calls("Echo"), 0);
    }
}

#[tokio::test]
async fn connection_close_ends_the_connection_after_its_reply() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let mut client = Client::connect(&gw).await;
    client.send(&get("/v1/echo/first")).await;
    echoed(&client.reply().await.expect("a reply"), "first");
    client
        .send(b"GET /v1/echo/bye HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await;
    let reply = client.reply().await.expect("a reply");
    echoed(&reply, "bye");
    assert!(reply.head.contains("connection: close"), "{reply:?}");
    assert_eq!(client.closed().await, "");
}

#[tokio::test]
async fn an_idle_connection_and_a_stalled_second_head_are_closed_after_header_read_timeout() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--header-read-timeout", "300ms"]).await;

    let mut idle = Client::connect(&gw).await;
    idle.send(&get("/v1/echo/idle")).await;
    echoed(&idle.reply().await.expect("a reply"), "idle");
    let sent = idle.closed().await;
    assert!(
        sent.is_empty() || sent.starts_with("HTTP/1.1 408"),
        "{sent:?}"
    );

    let mut stalled = Client::connect(&gw).await;
    stalled.send(&get("/v1/echo/first")).await;
    echoed(&stalled.reply().await.expect("a reply"), "first");
    stalled.send(b"GET /v1/echo/stalled HT").await;
    let sent = stalled.closed().await;
    assert!(
        sent.is_empty() || sent.starts_with("HTTP/1.1 408"),
        "{sent:?}"
    );
    assert_eq!(
        fixture.calls("Echo"),
        2,
        "the stalled request is not served"
    );
}
