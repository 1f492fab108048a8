//! Compression both ways: replies of 1 KiB or more (`--compress-min-bytes`)
//! gzip, br or zstd by `Accept-Encoding` (q-values honoured) with
//! `Vary: Accept-Encoding`, small replies as they are; streamed replies
//! compressed and still delivered message by message; request bodies in gzip,
//! br or zstd decoded with the body limit on the decoded bytes (a gzip bomb
//! is a 413 before any call), an unknown encoding a 415.

#[path = "support/backend.rs"]
mod backend;
mod support;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use backend::Backend;
use reqwest::Method;
use serde_json::{json, Value};
use support::{send, start_streams, Gateway, Reply, StreamsHandle, WAIT};

/// `GET path` with `Accept-Encoding: accept`, the body kept as bytes.
async fn get_encoded(gw: &Gateway, path: &str, accept: &str) -> (Reply, Vec<u8>) {
    let response = gw
        .request(Method::GET, path)
        .header("accept-encoding", accept)
        .send()
        .await
        .expect("GET");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body").to_vec();
    let reply = Reply {
        status,
        headers,
        text: String::new(),
    };
    (reply, body)
}

fn decode(coding: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "gzip" => flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .map(drop)
            .expect("gzip"),
        "br" => brotli::Decompressor::new(data, 4096)
            .read_to_end(&mut out)
            .map(drop)
            .expect("br"),
        "zstd" => out = zstd::decode_all(data).expect("zstd"),
        other => panic!("unexpected coding {other}"),
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Seeds user 1 with a reply above the 1 KiB threshold and user 2 with
/// one below it; gives user 1's display name.
async fn seed_large_and_small(gw: &Gateway) -> String {
    let name = "Ada ".repeat(600);
    gw.put("/v1/users/1", &json!({"displayName": name}))
        .await
        .assert_json(201);
    gw.put("/v1/users/2", &json!({"displayName": "Bo"}))
        .await
        .assert_json(201);
    name
}

#[tokio::test]
async fn large_replies_are_compressed_by_accept_encoding() {
    let backend = Backend::plain().await;
    let gw = Gateway::example(backend.addr).await;
    seed_large_and_small(&gw).await;
    let plain: Value = gw.get("/v1/users/1").await.assert_json(200);

    for (accept, coding) in [
        ("gzip", "gzip"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("gzip;q=0.2, br;q=0.9", "br"),
        ("gzip;q=0, zstd", "zstd"),
    ] {
        let (reply, body) = get_encoded(&gw, "/v1/users/1", accept).await;
        reply.assert_status(200);
        assert_eq!(reply.header("content-encoding"), Some(coding), "{accept}");
        let vary = reply.header("vary").unwrap_or("").to_ascii_lowercase();
        assert!(vary.contains("accept-encoding"), "Vary {vary:?}");
        let json: Value = serde_json::from_slice(&decode(coding, &body)).expect("JSON");
        assert_eq!(json, plain, "{accept}");
    }

    let (refused, body) = get_encoded(&gw, "/v1/users/1", "gzip;q=0").await;
    assert_eq!(refused.header("content-encoding"), None, "q=0 refuses gzip");
    assert_eq!(serde_json::from_slice::<Value>(&body).expect("JSON"), plain);

    let (small, body) = get_encoded(&gw, "/v1/users/2", "gzip").await;
    small.assert_status(200);
    assert_eq!(small.header("content-encoding"), None, "small: as it is");
    let small: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(small["displayName"], "Bo");
}

/// A client that names no `Accept-Encoding` gets every reply as it is,
/// and the large ones (those compressed for a client that asks) say that
/// they vary by it, as a cache needs to know.
#[tokio::test]
async fn replies_to_a_client_naming_no_encoding_are_plain_and_vary_when_large() {
    let backend = Backend::plain().await;
    let gw = Gateway::example(backend.addr).await;
    let name = seed_large_and_small(&gw).await;
    for (path, large) in [("/v1/users/1", true), ("/v1/users/2", false)] {
        let reply = send(gw.request(Method::GET, path)).await;
        assert_eq!(reply.header("content-encoding"), None, "{path}");
        let vary = reply.header("vary").unwrap_or("").to_ascii_lowercase();
        assert_eq!(
            vary.contains("accept-encoding"),
            large,
            "{path}: Vary {vary:?}"
        );
        let json = reply.assert_json(200);
        let expected = if large { name.as_str() } else { "Bo" };
        assert_eq!(json["displayName"], expected, "{path}");
    }
}

#[tokio::test]
async fn gzip_request_bodies_are_decoded() {
    let backend = Backend::plain().await;
    let gw = Gateway::example(backend.addr).await;
    let body = json!({"displayName": "Ada"}).to_string();
    let reply = send(
        gw.request(Method::POST, "/v1/users")
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(gzip(body.as_bytes())),
    )
    .await;
    assert_eq!(reply.assert_json(201)["displayName"], "Ada");
}

#[tokio::test]
async fn a_gzip_bomb_is_413_and_never_reaches_the_service() {
    let backend = Backend::plain().await;
    let gw = Gateway::example_with(backend.addr, &["--max-body-bytes", "1048576"]).await;
    let mut inflated = br#"{"displayName": ""#.to_vec();
    inflated.resize(10 * 1024 * 1024, b'a');
    let bomb = gzip(&inflated);
    assert!(bomb.len() < 16 * 1024, "bomb of {} bytes", bomb.len());
    let before = backend.calls();
    let reply = send(
        gw.request(Method::POST, "/v1/users")
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(bomb),
    )
    .await;
    reply.assert_error(413, 8);
    assert_eq!(backend.calls(), before, "no upstream call");
}

#[tokio::test]
async fn an_unknown_content_encoding_is_415() {
    let backend = Backend::plain().await;
    let gw = Gateway::example(backend.addr).await;
    let before = backend.calls();
    let reply = send(
        gw.request(Method::POST, "/v1/users")
            .header("content-type", "application/json")
            .header("content-encoding", "compress")
            .body("{}"),
    )
    .await;
    reply.assert_error(415, 3);
    assert_eq!(backend.calls(), before, "no upstream call");
}

/// Where an incremental decoder writes: shared with the test reading it.
#[derive(Clone, Default)]
struct Decoded(Arc<Mutex<Vec<u8>>>);

impl Write for Decoded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A compressed streamed answer decoded as its pieces arrive, each read
/// bounded by WAIT.
struct DecodedStream {
    response: reqwest::Response,
    decoder: Box<dyn Write + Send>,
    decoded: Decoded,
}

impl DecodedStream {
    fn new(response: reqwest::Response, coding: &str) -> DecodedStream {
        let decoded = Decoded::default();
        let sink = decoded.clone();
        let decoder: Box<dyn Write + Send> = match coding {
            "gzip" => Box::new(flate2::write::GzDecoder::new(sink)),
            "br" => Box::new(brotli::DecompressorWriter::new(sink, 4096)),
            "zstd" => Box::new(zstd::stream::write::Decoder::new(sink).expect("zstd")),
            other => panic!("unexpected coding {other}"),
        };
        DecodedStream {
            response,
            decoder,
            decoded,
        }
    }

    /// The next decoded piece ending with `separator`, without it. It must
    /// arrive whole from what was received so far: the encoder flushed it.
    async fn next(&mut self, separator: &[u8]) -> String {
        loop {
            {
                let mut decoded = self.decoded.0.lock().expect("lock");
                if let Some(at) = decoded
                    .windows(separator.len())
                    .position(|w| w == separator)
                {
                    let piece: Vec<u8> = decoded.drain(..at + separator.len()).collect();
                    return String::from_utf8(piece[..at].to_vec()).expect("UTF-8");
                }
            }
            let chunk = tokio::time::timeout(WAIT, self.response.chunk())
                .await
                .expect("the next piece within WAIT")
                .expect("read the body")
                .expect("a piece before the end of the body");
            self.decoder.write_all(&chunk).expect("decode");
            self.decoder.flush().expect("decode");
        }
    }

    /// Reads to the end of the body: it must end the compressed stream
    /// with nothing more decoded.
    async fn end(mut self) {
        while let Some(chunk) = tokio::time::timeout(WAIT, self.response.chunk())
            .await
            .expect("the end within WAIT")
            .expect("read the body")
        {
            self.decoder.write_all(&chunk).expect("decode");
        }
        self.decoder.flush().expect("decode");
        drop(self.decoder);
        assert_eq!(*self.decoded.0.lock().expect("lock"), b"");
    }
}

/// The streaming test service behind the gateway.
async fn streams_gateway(streams: &StreamsHandle) -> Gateway {
    let upstream = format!("http://{}", streams.addr);
    Gateway::start(&[
        "--proto",
        "proto/testing/v1/streams.proto",
        "-I",
        "proto",
        "--upstream",
        &upstream,
    ])
    .await
}

#[tokio::test]
async fn streamed_replies_are_compressed_and_arrive_message_by_message() {
    let streams = start_streams().await;
    let gw = streams_gateway(&streams).await;
    for (coding, accept, separator, first, second) in [
        (
            "gzip",
            "application/x-ndjson",
            "\n",
            r#"{"seq":"1","label":"tick 1"}"#,
            r#"{"seq":"2","label":"tick 2"}"#,
        ),
        (
            "br",
            "application/x-ndjson",
            "\n",
            r#"{"seq":"1","label":"tick 1"}"#,
            r#"{"seq":"2","label":"tick 2"}"#,
        ),
        (
            "zstd",
            "application/x-ndjson",
            "\n",
            r#"{"seq":"1","label":"tick 1"}"#,
            r#"{"seq":"2","label":"tick 2"}"#,
        ),
        (
            "gzip",
            "text/event-stream",
            "\n\n",
            r#"data: {"seq":"1","label":"tick 1"}"#,
            r#"data: {"seq":"2","label":"tick 2"}"#,
        ),
    ] {
        // The answer starts with the first message: let that one go.
        streams.release(1);
        let response = tokio::time::timeout(
            WAIT,
            gw.request(Method::GET, "/v1/paced/2")
                .header("accept", accept)
                .header("accept-encoding", coding)
                .send(),
        )
        .await
        .expect("answer headers within WAIT")
        .expect("send the request");
        assert_eq!(response.status(), 200, "{coding} {accept}");
        let headers = response.headers().clone();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(header("content-type"), Some(accept));
        assert_eq!(header("content-encoding"), Some(coding), "{accept}");
        assert!(header("vary").unwrap_or("").contains("accept-encoding"));
        let mut stream = DecodedStream::new(response, coding);
        // The service holds the second message until the first was read.
        assert_eq!(stream.next(separator.as_bytes()).await, first, "{coding}");
        streams.release(1);
        assert_eq!(stream.next(separator.as_bytes()).await, second, "{coding}");
        stream.end().await;
    }
}

#[tokio::test]
async fn compress_min_bytes_is_the_smallest_reply_compressed() {
    let backend = Backend::plain().await;
    let plain = Gateway::example(backend.addr).await;
    plain
        .put("/v1/users/1", &json!({"displayName": "Ada"}))
        .await
        .assert_json(201);
    let (reply, body) = get_encoded(&plain, "/v1/users/1", "identity").await;
    reply.assert_status(200);
    let length = body.len();
    assert!(length < 1024, "a small reply: {length} bytes");
    assert_eq!(
        get_encoded(&plain, "/v1/users/1", "gzip")
            .await
            .0
            .header("content-encoding"),
        None,
        "below the default 1024 bytes"
    );

    let at = length.to_string();
    let gw = Gateway::example_with(backend.addr, &["--compress-min-bytes", &at]).await;
    let (reply, compressed) = get_encoded(&gw, "/v1/users/1", "gzip").await;
    reply.assert_status(200);
    assert_eq!(
        reply.header("content-encoding"),
        Some("gzip"),
        "{length} bytes"
    );
    assert_eq!(decode("gzip", &compressed), body);

    let above = (length + 1).to_string();
    let gw = Gateway::example_with(backend.addr, &["--compress-min-bytes", &above]).await;
    let (reply, same) = get_encoded(&gw, "/v1/users/1", "gzip").await;
    reply.assert_status(200);
    assert_eq!(reply.header("content-encoding"), None, "{length} bytes");
    assert_eq!(same, body);
}
