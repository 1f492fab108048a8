//! Compression both ways: replies above 1 KiB gzip, br or zstd by
//! `Accept-Encoding` (q-values honoured) with `Vary: Accept-Encoding`, small
//! replies as they are; request bodies in gzip, br or zstd decoded with the
//! body limit on the decoded bytes (a gzip bomb is a 413 before any call), an
//! unknown encoding a 415.

#[path = "support/backend.rs"]
mod backend;
mod support;

use std::io::{Read, Write};

use backend::Backend;
use reqwest::Method;
use serde_json::{json, Value};
use support::{send, Gateway, Reply};

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

#[tokio::test]
async fn large_replies_are_compressed_by_accept_encoding() {
    let backend = Backend::plain().await;
    let gw = Gateway::example(backend.addr).await;
    let name = "Ada ".repeat(600);
    gw.put("/v1/users/1", &json!({"displayName": name}))
        .await
        .assert_json(201);
    gw.put("/v1/users/2", &json!({"displayName": "Bo"}))
        .await
        .assert_json(201);
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
