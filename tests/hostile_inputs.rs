//! A corpus of hostile requests, each sent as raw bytes over a TCP
//! connection to the real gateway in front of the fixture service: malformed
//! and truncated JSON, wrong types, overflowing numbers, bad UTF-8, deep
//! nesting, huge arrays, `%2F` and `..` in paths, bad query values,
//! duplicate and conflicting headers, request-smuggling shapes and
//! oversized heads (the table is in `hostile_inputs/cases.rs`).
//!
//! Every one is refused with a 4xx before the service is called (its call
//! counter stays at 0) and the gateway never panics. Most answers are the
//! gateway's JSON error body; what hyper refuses while reading the request
//! head (smuggling shapes, malformed framing) gets hyper's bare `400` with
//! no body, on a connection that is then closed. Each case states which.

mod support;

#[path = "hostile_inputs/cases.rs"]
mod cases;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};

use cases::{Case, Expect};
use serde_json::Value;
use support::{start_fixture, Gateway, WAIT};

/// What came back on one connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Header names lowercased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `bytes` (then, with `hang_up`, closes the sending side) and reads
/// until the gateway closes the connection.
fn exchange(addr: SocketAddr, bytes: &[u8], hang_up: bool) -> Result<Answer, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    stream.set_write_timeout(Some(WAIT)).expect("write timeout");
    // The gateway may answer and close before it has read everything sent
    // (a 413, a 431): a write error then is not the answer.
    let _ = stream.write_all(bytes);
    if hang_up {
        let _ = stream.shutdown(Shutdown::Write);
    }
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received);
    parse_answer(&received)
}

/// The first response in `received`: status, headers, body (de-chunked).
fn parse_answer(received: &[u8]) -> Result<Answer, String> {
    let shown = || {
        String::from_utf8_lossy(received)
            .chars()
            .take(300)
            .collect::<String>()
    };
    let end = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete response head in {:?}", shown()))?;
    let head = std::str::from_utf8(&received[..end]).map_err(|_| "head not UTF-8".to_owned())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut answer = Answer {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &received[end + 4..];
    answer.body = if answer.header("transfer-encoding") == Some("chunked") {
        dechunk(rest)
    } else {
        let length = answer
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(rest.len());
        rest[..length.min(rest.len())].to_vec()
    };
    Ok(answer)
}

/// A chunked body's data.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        let stop = (start + size).min(rest.len());
        body.extend_from_slice(&rest[start..stop]);
        rest = &rest[(stop + 2).min(rest.len())..];
    }
    body
}

/// What is wrong with `answer` for `case`, if anything.
fn mismatch(case: &Case, answer: &Answer) -> Option<String> {
    let (status, json) = match case.expect {
        Expect::Json(status) => (status, true),
        Expect::Bare(status) => (status, false),
    };
    let body = String::from_utf8_lossy(&answer.body);
    if answer.status != status {
        return Some(format!(
            "status {} (want {status}); body {body}",
            answer.status
        ));
    }
    if !json {
        return (!answer.body.is_empty())
            .then(|| format!("a bare {status} was wanted, got body {body}"));
    }
    let content_type = answer.header("content-type").unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return Some(format!("content type {content_type:?}; body {body}"));
    }
    let error: Value = match serde_json::from_slice(&answer.body) {
        Ok(error) => error,
        Err(e) => return Some(format!("body is not JSON ({e}): {body}")),
    };
    let well_formed = error["code"].as_i64().is_some_and(|c| c > 0)
        && error["message"].as_str().is_some_and(|m| !m.is_empty())
        && error.get("details").is_none_or(Value::is_array);
    (!well_formed).then(|| format!("not the JSON error body: {error}"))
}

#[tokio::test]
async fn every_hostile_request_is_refused_before_the_service() {
    let fixture = start_fixture().await;
    // The binary, not in process: its stderr is read for panics.
    let gw = Gateway::spawn_fixture(&fixture, &[]).await;
    let cases = cases::all();
    assert!(cases.len() >= 100, "only {} cases", cases.len());

    let addr = gw.addr();
    let mut failures = Vec::new();
    let mut calls = 0;
    for case in &cases {
        let (bytes, hang_up) = (case.bytes.clone(), case.hang_up);
        let answer = tokio::task::spawn_blocking(move || exchange(addr, &bytes, hang_up))
            .await
            .expect("blocking task");
        let problem = match &answer {
            Ok(answer) => mismatch(case, answer),
            Err(e) => Some(e.clone()),
        };
        if let Some(problem) = problem {
            failures.push(format!("{}: {problem}", case.name));
        }
        let now = fixture.total_calls();
        if now != calls {
            failures.push(format!("{}: the service was called", case.name));
            calls = now;
        }
    }
    let stderr = gw.stderr();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}\ngateway stderr:\n{stderr}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        !stderr.contains("panicked"),
        "the gateway panicked:\n{stderr}"
    );
    assert_eq!(fixture.total_calls(), 0, "calls to the service");

    // Still serving, and the counter counts: a good request reaches the service.
    let reply = gw.get("/v1/echo/still-here").await;
    reply.assert_json(200);
    assert_eq!(fixture.total_calls(), 1);
}

#[tokio::test]
async fn a_length_and_chunked_body_is_read_as_chunked_and_nothing_is_smuggled() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let addr = gw.addr();
    let answer =
        tokio::task::spawn_blocking(move || exchange(addr, &cases::length_and_chunked(), false))
            .await
            .expect("blocking task")
            .expect("an answer");
    // The chunked body, not its first 4 bytes; the request after it on the
    // connection (`Connection: close`) is never served.
    assert_eq!(
        answer.status,
        201,
        "body {}",
        String::from_utf8_lossy(&answer.body)
    );
    let body: Value = serde_json::from_slice(&answer.body).expect("JSON");
    assert_eq!(body["id"], "a");
    assert_eq!(fixture.total_calls(), 1);
    assert_eq!(fixture.calls("Echo"), 1);
}
