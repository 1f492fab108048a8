//! Streaming RPCs through the real gateway: server streaming as NDJSON and
//! as Server-Sent Events, each message delivered as the service sends it;
//! an error mid-stream and before the first message; a client going away
//! cancels the call; client streaming and bidirectional streaming from an
//! NDJSON request body sent line by line.

mod support;

use bytes::Bytes;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use support::{send, start_streams, start_streams_with_window, Gateway, StreamsHandle, WAIT};
use tokio::sync::mpsc;

/// `serve --proto proto/testing/v1/streams.proto` in front of `streams`.
async fn gateway(streams: &StreamsHandle) -> Gateway {
    gateway_with(streams, &[]).await
}

/// [`gateway`] with `extra` arguments.
async fn gateway_with(streams: &StreamsHandle, extra: &[&str]) -> Gateway {
    let upstream = format!("http://{}", streams.addr);
    let mut args = vec![
        "--proto",
        "proto/testing/v1/streams.proto",
        "-I",
        "proto",
        "--upstream",
        &upstream,
    ];
    args.extend_from_slice(extra);
    Gateway::start(&args).await
}

/// A streamed answer, read a piece at a time (each read bounded by WAIT).
struct Incoming {
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl Incoming {
    fn new(response: reqwest::Response) -> Incoming {
        Incoming {
            response,
            buffer: Vec::new(),
        }
    }

    /// The next piece ending with `separator`, without it; `None` at the
    /// end of the body (which must then hold no partial piece).
    async fn next(&mut self, separator: &[u8]) -> Option<String> {
        loop {
            if let Some(at) = self
                .buffer
                .windows(separator.len())
                .position(|w| w == separator)
            {
                let piece: Vec<u8> = self.buffer.drain(..at + separator.len()).collect();
                let text = String::from_utf8(piece[..at].to_vec()).expect("UTF-8 body");
                return Some(text);
            }
            let chunk = tokio::time::timeout(WAIT, self.response.chunk())
                .await
                .expect("the next piece within WAIT")
                .expect("read the body");
            match chunk {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => {
                    assert!(
                        self.buffer.is_empty(),
                        "a partial piece at the end: {:?}",
                        self.buffer
                    );
                    return None;
                }
            }
        }
    }

    /// The next NDJSON line, as JSON.
    async fn line(&mut self) -> Option<Value> {
        let line = self.next(b"\n").await?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("line {line:?}: {e}")))
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Sends `request` and waits (at most WAIT) for the answer's headers.
async fn start(request: reqwest::RequestBuilder) -> reqwest::Response {
    tokio::time::timeout(WAIT, request.send())
        .await
        .expect("answer headers within WAIT")
        .expect("send the request")
}

#[tokio::test]
async fn ndjson_delivers_each_message_as_it_is_sent() {
    let streams = start_streams().await;
    let gw = gateway(&streams).await;
    // The answer starts with the first message: let that one go.
    streams.release(1);
    let response = start(gw.request(Method::GET, "/v1/paced/2")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/x-ndjson");
    assert!(!header(&response, "x-request-id").is_empty());
    assert_eq!(header(&response, "grpc-metadata-paced-count"), "2");
    let mut lines = Incoming::new(response);
    // The second message is not sent until released, after the first arrived.
    assert_eq!(
        lines.line().await,
        Some(json!({"seq": "1", "label": "tick 1"}))
    );
    streams.release(1);
    assert_eq!(
        lines.line().await,
        Some(json!({"seq": "2", "label": "tick 2"}))
    );
    assert_eq!(lines.line().await, None);
}

#[tokio::test]
async fn an_empty_stream_is_an_empty_answer() {
    let streams = start_streams().await;
    let gw = gateway(&streams).await;
    let reply = gw.get("/v1/paced/0").await;
    reply.assert_status(200);
    assert_eq!(reply.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(reply.text, "");
}

#[tokio::test]
async fn sse_delivers_each_message_as_it_is_sent() {
    let streams = start_streams().await;
    let gw = gateway(&streams).await;
    streams.release(1);
    let response = start(
        gw.request(Method::GET, "/v1/paced/2")
            .header("accept", "text/event-stream"),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "text/event-stream");
    assert_eq!(header(&response, "cache-control"), "no-cache");
    let mut events = Incoming::new(response);
    assert_eq!(
        events.next(b"\n\n").await.as_deref(),
        Some(r#"data: {"seq":"1","label":"tick 1"}"#)
    );
    streams.release(1);
    assert_eq!(
        events.next(b"\n\n").await.as_deref(),
        Some(r#"data: {"seq":"2","label":"tick 2"}"#)
    );
    assert_eq!(events.next(b"\n\n").await, None);
}

#[tokio::test]
async fn an_error_mid_stream_ends_it_with_an_error_line_or_event() {
    let streams = start_streams().await;
    let gw = gateway(&streams).await;
    let path = "/v1/fail-after/2?code=9&message=out%20of%20ticks";
    let response = start(gw.request(Method::GET, path)).await;
    assert_eq!(response.status(), 200);
    let mut lines = Incoming::new(response);
    assert_eq!(
        lines.line().await,
        Some(json!({"seq": "1", "label": "tick 1"}))
    );
    assert_eq!(
        lines.line().await,
        Some(json!({"seq": "2", "label": "tick 2"}))
    );
    assert_eq!(
        lines.line().await,
        Some(json!({"error": {"code": 9, "message": "out of ticks", "details": []}}))
    );
    assert_eq!(lines.line().await, None);

    let response = start(
        gw.request(Method::GET, path)
            .header("accept", "text/event-stream"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut events = Incoming::new(response);
    assert!(events
        .next(b"\n\n")
        .await
        .is_some_and(|e| e.starts_with("data: ")));
    assert!(events
        .next(b"\n\n")
        .await
        .is_some_and(|e| e.starts_with("data: ")));
    assert_eq!(
        events.next(b"\n\n").await.as_deref(),
        Some(
            r#"event: error
data: {"code":9,"message":"out of ticks","details":[]}"#
        )
    );
    assert_eq!(events.next(b"\n\n").await, None);
}

#[tokio::test]
async fn an_error_before_the_first_message_is_an_ordinary_error_answer() {
    let streams = start_streams().await;
    let gw = gateway(&streams).await;
    let reply = gw
        .get("/v1/fail-after/0?code=5&message=no%20such%20ticks")
        .await;
    let body = reply.assert_error(404, 5);
    assert_eq!(body["message"], "no such ticks");
}

#[tokio::test]
async fn a_client_going_away_cancels_the_call() {
    let streams = start_streams().await;
    let gw = gateway(&streams).await;
    let response = start(gw.request(Method::GET, "/v1/hang")).await;
    assert_eq!(response.status(), 200);
    let mut lines = Incoming::new(response);
    assert_eq!(
        lines.line().await,
        Some(json!({"seq": "1", "label": "tick 1"}))
    );
    drop(lines);
    assert_eq!(
        streams.wait_cancelled(1).await,
        1,
        "the service saw the call cancelled"
    );
}

#[tokio::test]
async fn a_clients_grpc_timeout_bounds_the_whole_stream() {
    let streams = start_streams().await;
    let gw = gateway(&streams).await;
    let response = start(
        gw.request(Method::GET, "/v1/hang")
            .header("grpc-timeout", "300m"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut lines = Incoming::new(response);
    assert_eq!(
        lines.line().await,
        Some(json!({"seq": "1", "label": "tick 1"}))
    );
    // The service never ends the stream; the deadline does, and cancels it.
    let error = lines.line().await.expect("an error line");
    assert_eq!(error["error"]["code"], 4, "{error}");
    assert_eq!(lines.line().await, None);
    assert_eq!(streams.wait_cancelled(1).await, 1);
}

/// A request body the test writes line by line, and the request running.
fn body_channel() -> (mpsc::Sender<Result<Bytes, std::io::Error>>, reqwest::Body) {
    let (sender, receiver) = mpsc::channel(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_of(receiver));
    (sender, body)
}

/// An NDJSON POST to `path` whose body is written line by line through the
/// returned sender.
fn ndjson_request(
    gw: &Gateway,
    path: &str,
) -> (mpsc::Sender<Result<Bytes, std::io::Error>>, RequestBuilder) {
    let (sender, body) = body_channel();
    let request = gw
        .request(Method::POST, path)
        .header("content-type", "application/x-ndjson")
        .body(body);
    (sender, request)
}

fn tokio_stream_of<T>(mut receiver: mpsc::Receiver<T>) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

async fn write(sender: &mpsc::Sender<Result<Bytes, std::io::Error>>, text: &str) {
    tokio::time::timeout(WAIT, sender.send(Ok(Bytes::from(text.to_owned()))))
        .await
        .expect("the body is read within WAIT")
        .expect("the request is still sending");
}

#[tokio::test]
async fn client_streaming_sends_each_line_as_it_is_written() {
    let streams = start_streams().await;
    let gw = gateway(&streams).await;
    let (sender, request) = ndjson_request(&gw, "/v1/sum/a");
    let answer = tokio::spawn(send(request));
    write(&sender, "{\"seq\": 1}\n").await;
    // The first line reached the service before the second was written.
    let seen = streams.wait_summed(1).await;
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].seq, seen[0].label.as_str()), (1, "a"));
    write(&sender, "\n{\"seq\": 2, \"label\": \"ignored\"}\n{\"seq\"").await;
    write(&sender, ": 3}").await;
    drop(sender);
    let reply = answer.await.expect("request task");
    let body = reply.assert_json(200);
    assert_eq!(
        body,
        json!({"sum": "6", "count": 3, "labels": ["a", "a", "a"]})
    );
    assert_eq!(streams.wait_sum_ends(1).await, (1, 0));
}

#[tokio::test]
async fn a_client_stream_larger_than_the_services_window_arrives_whole() {
    // A 16 KiB window: the request side runs out of it again and again, and
    // must wait for the service's window updates to send the rest.
    let streams = start_streams_with_window(Some(16 * 1024)).await;
    let gw = gateway(&streams).await;
    // About 3 MB of messages, 190 windows' worth.
    let line = format!("{{\"seq\": 1, \"label\": \"{}\"}}\n", "x".repeat(1000));
    let reply = send(
        gw.request(Method::POST, "/v1/sum/a")
            .header("content-type", "application/x-ndjson")
            .body(line.repeat(3000)),
    )
    .await;
    let body = reply.assert_json(200);
    assert_eq!(body["sum"], "3000");
    assert_eq!(body["count"], 3000);
    assert_eq!(streams.wait_sum_ends(1).await, (1, 0));
}

#[tokio::test]
async fn a_bad_line_cancels_a_client_stream_and_answers_400() {
    let streams = start_streams().await;
    let gw = gateway(&streams).await;
    let (sender, request) = ndjson_request(&gw, "/v1/sum/a");
    let answer = tokio::spawn(send(request));
    write(&sender, "{\"seq\": 1}\n").await;
    assert_eq!(streams.wait_summed(1).await.len(), 1);
    write(&sender, "\n{\"seq\": \n").await;
    let reply = answer.await.expect("request task");
    let error = reply.assert_error(400, 3);
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("line 3 of the request body: invalid JSON"),
        "{message}"
    );
    // Aborted, not ended: the service did not take the input as complete.
    assert_eq!(streams.wait_sum_ends(1).await, (0, 1));
}

#[tokio::test]
async fn a_line_over_the_body_limit_is_413() {
    let streams = start_streams().await;
    let gw = gateway_with(&streams, &["--max-body-bytes", "64"]).await;
    // Each line is within the limit, the body is not: lines count, not bodies.
    let short = format!("{{\"seq\": 1, \"label\": \"{}\"}}\n", "x".repeat(30));
    let reply = send(
        gw.request(Method::POST, "/v1/sum/a")
            .header("content-type", "application/x-ndjson")
            .body(short.repeat(4)),
    )
    .await;
    assert_eq!(reply.assert_json(200)["count"], 4);
    let long = format!("{{\"seq\": 1, \"label\": \"{}\"}}\n", "x".repeat(100));
    let reply = send(
        gw.request(Method::POST, "/v1/sum/a")
            .header("content-type", "application/x-ndjson")
            .body(long.clone()),
    )
    .await;
    reply.assert_error(413, 8);
    // Much more after the long line: still read, so the client gets the 413.
    let reply = send(
        gw.request(Method::POST, "/v1/sum/a")
            .header("content-type", "application/x-ndjson")
            .body(long + &short.repeat(100_000)),
    )
    .await;
    reply.assert_error(413, 8);
}

#[tokio::test]
async fn bidirectional_streaming_answers_each_line_as_it_comes() {
    let streams = start_streams().await;
    let gw = gateway(&streams).await;
    let (sender, request) = ndjson_request(&gw, "/v1/echo-stream");
    let answer = tokio::spawn(async move { start(request).await });
    write(&sender, "{\"seq\": 1, \"label\": \"one\"}\n").await;
    let response = answer.await.expect("request task");
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/x-ndjson");
    let mut lines = Incoming::new(response);
    assert_eq!(
        lines.line().await,
        Some(json!({"seq": "1", "label": "one"}))
    );
    // The second line is written only after the first answer arrived.
    write(&sender, "{\"seq\": 2, \"label\": \"two\"}\n").await;
    assert_eq!(
        lines.line().await,
        Some(json!({"seq": "2", "label": "two"}))
    );
    write(&sender, "{\"seq\": \"x\"}\n").await;
    let error = lines.line().await.expect("an error line");
    assert_eq!(error["error"]["code"], 3, "{error}");
    assert_eq!(lines.line().await, None);
}

#[tokio::test]
async fn streaming_requests_refuse_other_bodies_and_idempotency_keys() {
    let streams = start_streams().await;
    let gw = gateway(&streams).await;
    let reply = send(
        gw.request(Method::POST, "/v1/sum/a")
            .header("content-type", "text/plain")
            .body("{\"seq\": 1}\n"),
    )
    .await;
    reply.assert_error(415, 3);
    let reply = send(
        gw.request(Method::POST, "/v1/sum/a")
            .header("content-type", "application/x-ndjson")
            .header("idempotency-key", "k1")
            .body("{\"seq\": 1}\n"),
    )
    .await;
    reply.assert_error(400, 3);
    streams.release(1);
    let reply = send(
        gw.request(Method::GET, "/v1/paced/1")
            .header("idempotency-key", "k2"),
    )
    .await;
    reply.assert_error(400, 3);
    // Nothing reached the service: a Sum would have been counted.
    let reply = send(
        gw.request(Method::POST, "/v1/sum/b")
            .header("content-type", "application/x-ndjson")
            .body(""),
    )
    .await;
    assert_eq!(reply.assert_json(200), json!({}));
    assert_eq!(streams.wait_sum_ends(1).await, (1, 0));
}

#[tokio::test]
async fn an_open_stream_holds_its_concurrency_permit_until_it_ends() {
    let streams = start_streams().await;
    let gw = gateway_with(&streams, &["--max-concurrent-requests", "1"]).await;
    streams.release(1);
    let response = start(gw.request(Method::GET, "/v1/paced/2")).await;
    assert_eq!(response.status(), 200);
    let mut lines = Incoming::new(response);
    assert_eq!(
        lines.line().await,
        Some(json!({"seq": "1", "label": "tick 1"}))
    );
    // The stream is still open: no room for another request.
    let reply = gw.get("/v1/fail-after/0?code=5").await;
    reply.assert_error(503, 14);
    streams.release(1);
    assert_eq!(
        lines.line().await,
        Some(json!({"seq": "2", "label": "tick 2"}))
    );
    assert_eq!(lines.line().await, None);
    // Ended: the permit comes back as the gateway drops the finished stream.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let reply = gw.get("/v1/fail-after/0?code=5").await;
        if reply.status != 503 {
            reply.assert_error(404, 5);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the permit never came back"
        );
        tokio::task::yield_now().await;
    }
}
