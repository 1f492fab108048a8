//! The access log: one line per answer, at INFO with target
//! `restgate::access`, in the format of every other line of `restgate
//! serve` (pretty or JSON) and filtered by `RUST_LOG` like them.
//!
//! Under load the line went through tracing-subscriber's formatter (its
//! event dispatch, `core::fmt` for each field and the time), which cost
//! about 2 µs of a request's CPU (BENCHMARKS.md, "Access log and
//! timestamps written by hand"). Once [`install`]ed, [`access_line`] writes
//! the same bytes by hand into a buffer of the worker thread's own and hands
//! them to the non-blocking writer ([`super::log_writer`]) with one queue
//! push. Without it (a terminal's coloured lines, a test's subscriber) the
//! line goes through tracing as before. The tests compare the two.

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use http::{HeaderValue, Method};
use tracing_appender::non_blocking::NonBlocking;

use crate::config::LogFormat;
use crate::transcode::rfc3339;

/// The access log's target.
pub const TARGET: &str = "restgate::access";

/// Where access lines go when they are written by hand, and the buffer
/// they are written in.
#[derive(Clone)]
pub struct AccessLog {
    format: LogFormat,
    writer: NonBlocking,
    line: Vec<u8>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// The process's access log, once [`install`]ed.
static INSTALLED: OnceLock<AccessLog> = OnceLock::new();

thread_local! {
    /// This thread's copy of the installed log, with its own line buffer
    /// (a clone of the writer per line would touch the queue's shared
    /// counters).
    static LOCAL: RefCell<Option<AccessLog>> = const { RefCell::new(None) };
}

/// Writes the process's access lines by hand, `format`ted, into `writer`
/// (the one its subscriber writes to, without colours): the first call
/// wins.
pub fn install(format: LogFormat, writer: NonBlocking) {
    let _ = INSTALLED.set(AccessLog::new(format, writer));
}

/// The access log's line for one answer: by hand once [`install`]ed, else
/// through tracing. Either way only when `RUST_LOG` enables INFO for
/// [`TARGET`].
pub fn access_line(
    method: &Method,
    route: &str,
    status: u16,
    latency: Duration,
    request_id: &HeaderValue,
) {
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return;
    }
    let Some(installed) = INSTALLED.get() else {
        return through_tracing(method, route, status, latency, request_id);
    };
    LOCAL.with(|local| {
        let Ok(mut local) = local.try_borrow_mut() else {
            return through_tracing(method, route, status, latency, request_id);
        };
        let log = local.get_or_insert_with(|| installed.clone());
        log.write(method, route, status, latency, request_id);
    });
}

/// The line as a tracing event.
fn through_tracing(
    method: &Method,
    route: &str,
    status: u16,
    latency: Duration,
    request_id: &HeaderValue,
) {
    tracing::info!(
        target: TARGET,
        method = %method,
        route,
        status,
        latency_us = latency.as_micros() as u64,
        request_id = request_id.to_str().unwrap_or("-"),
    );
}

impl AccessLog {
    /// Lines `format`ted into `writer`.
    pub fn new(format: LogFormat, writer: NonBlocking) -> AccessLog {
        AccessLog {
            format,
            writer,
            line: Vec::with_capacity(256),
        }
    }

    /// Writes one line (what [`access_line`] does once installed, without
    /// the `RUST_LOG` check).
    pub fn write(
        &mut self,
        method: &Method,
        route: &str,
        status: u16,
        latency: Duration,
        request_id: &HeaderValue,
    ) {
        let buffer = &mut self.line;
        buffer.clear();
        let line = Line {
            time: SystemTime::now(),
            method: method.as_str(),
            route,
            status,
            latency_us: latency.as_micros() as u64,
            request_id: request_id.to_str().unwrap_or("-"),
        };
        match self.format {
            LogFormat::Pretty => line.pretty(buffer),
            LogFormat::Json => line.json(buffer),
        }
        // A full queue drops the line and counts it (the writer is lossy).
        let _ = self.writer.write_all(buffer);
    }
}

/// One access line's values.
struct Line<'a> {
    time: SystemTime,
    method: &'a str,
    route: &'a str,
    status: u16,
    latency_us: u64,
    request_id: &'a str,
}

impl Line<'_> {
    /// tracing-subscriber's default (full) format without colours:
    /// `TIME  INFO restgate::access: method=POST route="/v1/users" …`,
    /// strings as `Debug` writes them.
    fn pretty(&self, out: &mut Vec<u8>) {
        rfc3339::micros(out, self.time);
        out.extend_from_slice(b"  INFO ");
        out.extend_from_slice(TARGET.as_bytes());
        out.extend_from_slice(b": method=");
        out.extend_from_slice(self.method.as_bytes());
        out.extend_from_slice(b" route=");
        quoted(out, self.route, Quote::Debug);
        out.extend_from_slice(b" status=");
        number(out, u64::from(self.status));
        out.extend_from_slice(b" latency_us=");
        number(out, self.latency_us);
        out.extend_from_slice(b" request_id=");
        quoted(out, self.request_id, Quote::Debug);
        out.push(b'\n');
    }

    /// tracing-subscriber's JSON format with the event's fields flattened.
    fn json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"timestamp\":\"");
        rfc3339::micros(out, self.time);
        out.extend_from_slice(b"\",\"level\":\"INFO\",\"method\":");
        quoted(out, self.method, Quote::Json);
        out.extend_from_slice(b",\"route\":");
        quoted(out, self.route, Quote::Json);
        out.extend_from_slice(b",\"status\":");
        number(out, u64::from(self.status));
        out.extend_from_slice(b",\"latency_us\":");
        number(out, self.latency_us);
        out.extend_from_slice(b",\"request_id\":");
        quoted(out, self.request_id, Quote::Json);
        out.extend_from_slice(b",\"target\":\"");
        out.extend_from_slice(TARGET.as_bytes());
        out.extend_from_slice(b"\"}\n");
    }
}

/// How a string value is quoted: as `Debug` writes it (the pretty format)
/// or as JSON.
#[derive(Clone, Copy)]
enum Quote {
    Debug,
    Json,
}

/// `value` in double quotes, escaped. The values are a method, a route
/// template and a header value's visible ASCII, which `Debug` and JSON
/// escape alike (`\"`, `\\`, `\t`); a value with any other byte is written
/// by `Debug` or serde_json, as tracing-subscriber writes it.
fn quoted(out: &mut Vec<u8>, value: &str, quote: Quote) {
    if !value
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) || b == b'\t')
    {
        let _ = match quote {
            Quote::Debug => write!(out, "{value:?}"),
            Quote::Json => serde_json::to_writer(&mut *out, value).map_err(std::io::Error::other),
        };
        return;
    }
    out.push(b'"');
    // Copied in runs between the bytes to escape: a byte at a time cost
    // most of a line's formatting.
    let mut rest = value.as_bytes();
    while let Some(at) = rest.iter().position(|&b| matches!(b, b'"' | b'\\' | b'\t')) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(match rest[at] {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            _ => b"\\t",
        });
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// `n` in decimal.
fn number(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests;
