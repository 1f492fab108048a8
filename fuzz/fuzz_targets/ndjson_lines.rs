//! The NDJSON line reader of client-streaming and bidirectional requests,
//! through the bundled example served in process: an arbitrary body, cut
//! into arbitrary chunks, to `POST /v1/users:import` (client streaming) or
//! `POST /v1/users:lookup` (bidirectional). Never panics, never a 5xx, and
//! every 4xx is the JSON error body.
#![no_main]

use std::convert::Infallible;

use axum::body::Body;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, &[u8])| {
    let (selector, body) = input;
    let path = if selector & 1 == 0 {
        "/v1/users:import"
    } else {
        "/v1/users:lookup"
    };
    let content_type = if selector & 2 == 0 {
        "application/x-ndjson"
    } else {
        "application/jsonl"
    };
    // Chunks of 1 to 64 bytes, so lines and UTF-8 sequences are cut anywhere.
    let chunk = usize::from(selector >> 2) + 1;
    let chunks: Vec<Result<bytes::Bytes, Infallible>> = body
        .chunks(chunk)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let request = http::Request::post(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .expect("a request");
    restgate_fuzz::runtime().block_on(restgate_fuzz::call_checked(request));
});
