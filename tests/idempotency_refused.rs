//! A keyed create the service's HTTP/2 server refused unprocessed (its
//! stream above the last stream id of a graceful `GOAWAY`, or reset with
//! `REFUSED_STREAM`, which RFC 9113 §8.7 says no application saw) was never
//! sent: the gateway sends it once more, to the next endpoint, where the
//! bundled example creates it once; refused there too, the answer is a 503
//! that leaves the key free, and once the service is back the retry with
//! the key creates. A stream reset with another code after the request was
//! sent may have reached the service: the key keeps the 502, and no retry
//! under it calls a service again.
//!
//! The refusing servers are the h2 crate's, and one written here on the
//! frames of RFC 9113 §4.1 (h2's server counts every stream whose headers
//! it read as processed, so its `GOAWAY` never names a stream below one it
//! read); the gateway runs in process.

#[path = "support/backend.rs"]
mod backend;
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use support::{Gateway, RestartableExample, WAIT};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// An HTTP/2 server on `listener` that resets every stream with
/// `REFUSED_STREAM`, counting them. Aborting the task closes it all.
fn refuse_every_stream(
    listener: TcpListener,
    refused: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let refused = refused.clone();
            connections.spawn(async move {
                let Ok(mut connection) = h2::server::handshake(tcp).await else {
                    return;
                };
                while let Some(Ok((_request, mut respond))) = connection.accept().await {
                    refused.fetch_add(1, Ordering::SeqCst);
                    respond.send_reset(h2::Reason::REFUSED_STREAM);
                }
            });
            while connections.try_join_next().is_some() {}
        }
    })
}

#[tokio::test]
async fn a_create_refused_unprocessed_leaves_the_key_free() {
    let mut example = RestartableExample::start().await;
    let gw = Gateway::example(example.addr).await;
    example.stop().await;

    let until = tokio::time::Instant::now() + WAIT;
    let listener = loop {
        match TcpListener::bind(example.addr).await {
            Ok(listener) => break listener,
            Err(e) => {
                assert!(tokio::time::Instant::now() < until, "bind again: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let refused = Arc::new(AtomicUsize::new(0));
    let refusing = refuse_every_stream(listener, refused.clone());

    let user = json!({"displayName": "Ada"});
    let first = gw.keyed(Method::POST, "/v1/users", "k", &user).await;
    first.assert_error(503, 14);
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(
        refused.load(Ordering::SeqCst),
        2,
        "a refused POST is sent once more, never more"
    );

    refusing.abort();
    let _ = refusing.await;
    example.resume().await;
    let created = gw.keyed(Method::POST, "/v1/users", "k", &user).await;
    created.assert_json(201);
    assert_eq!(created.header("idempotent-replayed"), None, "{created:?}");
    assert_eq!(created.header("location"), Some("/v1/users/1"));
    let again = gw.keyed(Method::POST, "/v1/users", "k", &user).await;
    again.assert_json(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

/// What the refusing server of [`Refuser`] does with each request once it
/// has read its headers.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// `GOAWAY(NO_ERROR)` with last stream id 0: the server is closing the
    /// connection gracefully and processed none of its streams.
    GoAway,
    /// `RST_STREAM(REFUSED_STREAM)`: not processed.
    RefusedStream,
    /// `RST_STREAM(INTERNAL_ERROR)`: the server failed while it had the
    /// call, which may have reached the service.
    InternalError,
}

/// RFC 9113 §6 frame types and flags the refusing server reads or writes.
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const ACK: u8 = 0x1;

/// One frame: the 9-byte header (24-bit length, type, flags, stream id),
/// then `payload`.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).expect("a small frame");
    let mut frame = length.to_be_bytes()[1..].to_vec();
    frame.extend([kind, flags]);
    frame.extend(stream.to_be_bytes());
    frame.extend(payload);
    frame
}

/// An HTTP/2 server on 127.0.0.1 that answers every request with
/// [`Refusal`], counting them. Dropping it closes it all.
struct Refuser {
    addr: SocketAddr,
    refused: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Refuser {
    async fn start(refusal: Refusal) -> Refuser {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let refused = Arc::new(AtomicUsize::new(0));
        let counted = refused.clone();
        let server = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                connections.spawn(refuse(tcp, refusal, counted.clone()));
                while connections.try_join_next().is_some() {}
            }
        });
        Refuser {
            addr,
            refused,
            server,
        }
    }

    fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

impl Drop for Refuser {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// One connection of [`Refuser`]: the server's SETTINGS, then every frame
/// read whole; SETTINGS and PING acknowledged, every request's HEADERS
/// answered with `refusal`, the rest ignored, until the client closes.
async fn refuse(mut tcp: TcpStream, refusal: Refusal, refused: Arc<AtomicUsize>) {
    let mut preface = [0u8; 24];
    if tcp.read_exact(&mut preface).await.is_err()
        || &preface != b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    {
        return;
    }
    if tcp.write_all(&frame(SETTINGS, 0, 0, &[])).await.is_err() {
        return;
    }
    let mut head = [0u8; 9];
    while tcp.read_exact(&mut head).await.is_ok() {
        let length = u32::from_be_bytes([0, head[0], head[1], head[2]]);
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; length as usize];
        if tcp.read_exact(&mut payload).await.is_err() {
            return;
        }
        let answer = match kind {
            SETTINGS if flags & ACK == 0 => frame(SETTINGS, ACK, 0, &[]),
            PING if flags & ACK == 0 => frame(PING, ACK, 0, &payload),
            HEADERS => {
                // Counted before the client can see the refusal.
                refused.fetch_add(1, Ordering::SeqCst);
                let code = |reason: h2::Reason| u32::from(reason).to_be_bytes();
                match refusal {
                    Refusal::GoAway => {
                        let mut last_stream_and_code = 0u32.to_be_bytes().to_vec();
                        last_stream_and_code.extend(code(h2::Reason::NO_ERROR));
                        frame(GOAWAY, 0, 0, &last_stream_and_code)
                    }
                    Refusal::RefusedStream => {
                        frame(RST_STREAM, 0, stream, &code(h2::Reason::REFUSED_STREAM))
                    }
                    Refusal::InternalError => {
                        frame(RST_STREAM, 0, stream, &code(h2::Reason::INTERNAL_ERROR))
                    }
                }
            }
            _ => continue,
        };
        if tcp.write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// The gateway (in process) with the example's protos and one upstream of
/// two endpoints, `first` then `second`: the first call of each worker
/// goes to `first`, the next to `second`.
async fn two_endpoints(first: SocketAddr, second: SocketAddr) -> (Gateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("restgate.toml");
    std::fs::write(
        &config,
        format!("[upstreams.example]\nendpoints = [\"http://{first}\", \"http://{second}\"]\n"),
    )
    .expect("write the config");
    let gw = Gateway::start(&[
        "--proto",
        "proto/examples/v1/users.proto",
        "proto/examples/v1/blogs.proto",
        "-I",
        "proto",
        "--config",
        config.to_str().expect("a UTF-8 path"),
    ])
    .await;
    (gw, dir)
}

#[tokio::test]
async fn a_create_refused_unprocessed_goes_to_the_next_endpoint_once() {
    for refusal in [Refusal::GoAway, Refusal::RefusedStream] {
        let refuser = Refuser::start(refusal).await;
        let service = backend::Backend::plain().await;
        let (gw, _config) = two_endpoints(refuser.addr, service.addr).await;

        let user = json!({"displayName": "Ada"});
        let created = gw.keyed(Method::POST, "/v1/users", "k", &user).await;
        assert_eq!(
            created.assert_json(201)["displayName"],
            "Ada",
            "{refusal:?}"
        );
        assert_eq!(created.header("idempotent-replayed"), None, "{refusal:?}");
        assert_eq!(
            created.header("location"),
            Some("/v1/users/1"),
            "{refusal:?}"
        );
        assert_eq!(refuser.refused(), 1, "{refusal:?}: refused once");
        assert_eq!(service.calls(), 1, "{refusal:?}: then created once");

        // The key holds the 201, not the refusal.
        let again = gw.keyed(Method::POST, "/v1/users", "k", &user).await;
        again.assert_json(201);
        assert_eq!(
            again.header("idempotent-replayed"),
            Some("true"),
            "{refusal:?}"
        );
        assert_eq!(again.text, created.text, "{refusal:?}");
        assert_eq!((refuser.refused(), service.calls()), (1, 1), "{refusal:?}");
    }
}

#[tokio::test]
async fn a_create_reset_after_it_was_sent_keeps_its_key() {
    let refuser = Refuser::start(Refusal::InternalError).await;
    let service = backend::Backend::plain().await;
    let (gw, _config) = two_endpoints(refuser.addr, service.addr).await;

    let user = json!({"displayName": "Ada"});
    let broken = gw.keyed(Method::POST, "/v1/users", "k", &user).await;
    broken.assert_error(502, 2);
    assert_eq!(broken.header("idempotent-replayed"), None);
    assert_eq!(refuser.refused(), 1, "sent once, never again");

    // Kept: every retry with the key gets the 502, and no service is called.
    let again = gw.keyed(Method::POST, "/v1/users", "k", &user).await;
    again.assert_error(502, 2);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!((refuser.refused(), service.calls()), (1, 0));
}
