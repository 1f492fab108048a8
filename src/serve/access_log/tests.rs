//! The hand-written line against tracing-subscriber's, byte for byte but
//! for the time.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::{HeaderValue, Method};
use tracing_subscriber::EnvFilter;

use super::{through_tracing, AccessLog};
use crate::config::LogFormat;
use crate::serve::log_writer::{subscriber, writer_to};

/// A sink the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        let out = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8(out.clone()).unwrap()
    }
}

type Case = (Method, &'static str, u16, Duration, HeaderValue);

fn cases() -> Vec<Case> {
    vec![
        (
            Method::POST,
            "/v1/users",
            201,
            Duration::from_micros(412),
            HeaderValue::from_static("2b6f0cc9-4a5e-4d1d-8f6e-7b0c1d2e3f40"),
        ),
        (
            Method::GET,
            "/v1/{name=shelves/*/books/*}",
            304,
            Duration::ZERO,
            HeaderValue::from_static("a \"quoted\" \\ id\twith tab"),
        ),
        (
            Method::from_bytes(b"PATCH").unwrap(),
            "-",
            503,
            Duration::from_secs(12_345),
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        ),
        (
            Method::DELETE,
            "/v1/caf\u{e9}/{id}",
            404,
            Duration::from_micros(7),
            HeaderValue::from_static("-"),
        ),
    ]
}

/// Every line of `format` for the cases, through tracing and by hand.
fn both(format: LogFormat) -> (String, String) {
    let traced = Captured::default();
    let (writer, flush) = writer_to(traced.clone());
    let subscriber = subscriber(format, EnvFilter::new("info"), false, writer);
    tracing::subscriber::with_default(subscriber, || {
        for (method, route, status, latency, id) in cases() {
            through_tracing(&method, route, status, latency, &id);
        }
    });
    drop(flush);
    let by_hand = Captured::default();
    let (writer, flush) = writer_to(by_hand.clone());
    let mut log = AccessLog::new(format, writer);
    for (method, route, status, latency, id) in cases() {
        log.write(&method, route, status, latency, &id);
    }
    drop(log);
    drop(flush);
    (traced.text(), by_hand.text())
}

/// `line` with its time (the first `YYYY-MM-DDTHH:MM:SS.ffffffZ`) as `T`.
fn without_time(line: &str) -> String {
    let start = line.find(|c: char| c.is_ascii_digit()).unwrap();
    let end = start + line[start..].find('Z').unwrap() + 1;
    let time = &line[start..end];
    assert_eq!(time.len(), 27, "{time:?} in {line:?}");
    format!("{}T{}", &line[..start], &line[end..])
}

#[test]
fn pretty_lines_by_hand_are_tracings_lines() {
    let (traced, by_hand) = both(LogFormat::Pretty);
    assert_eq!(traced.lines().count(), cases().len(), "{traced}");
    for (t, h) in traced.lines().zip(by_hand.lines()) {
        assert_eq!(without_time(h), without_time(t));
    }
    assert_eq!(by_hand.lines().count(), cases().len());
}

#[test]
fn json_lines_by_hand_are_tracings_lines() {
    let (traced, by_hand) = both(LogFormat::Json);
    assert_eq!(traced.lines().count(), cases().len(), "{traced}");
    for (t, h) in traced.lines().zip(by_hand.lines()) {
        assert_eq!(without_time(h), without_time(t));
        let value: serde_json::Value = serde_json::from_str(h).unwrap();
        assert_eq!(value["target"], "restgate::access");
    }
    assert_eq!(by_hand.lines().count(), cases().len());
}

#[test]
fn the_time_is_now() {
    let by_hand = Captured::default();
    let (writer, flush) = writer_to(by_hand.clone());
    let mut log = AccessLog::new(LogFormat::Json, writer);
    let before = std::time::SystemTime::now();
    log.write(
        &Method::GET,
        "/v1/x",
        200,
        Duration::ZERO,
        &HeaderValue::from_static("id"),
    );
    drop(flush);
    let line: serde_json::Value = serde_json::from_str(by_hand.text().trim()).unwrap();
    let time: prost_types::Timestamp = line["timestamp"].as_str().unwrap().parse().unwrap();
    let since = before.duration_since(std::time::UNIX_EPOCH).unwrap();
    let at = Duration::new(time.seconds as u64, time.nanos as u32);
    assert!(
        at + Duration::from_micros(1) >= since,
        "{at:?} before {since:?}"
    );
    assert!(
        at < since + Duration::from_secs(60),
        "{at:?} long after {since:?}"
    );
}
