//! What a request pays for its access-log line with the defaults: the
//! line formatted as `restgate serve` writes it (pretty, then JSON: by hand,
//! [`AccessLog`]) and pushed onto the queue of its non-blocking writer,
//! whose background thread writes the batches (here to a sink that
//! discards them, so the figure is the request thread's share alone, as it
//! is in `serve`). For comparison, the same line through
//! tracing-subscriber's formatter (`access_line` without an installed log),
//! which the access log used before.
//! Lines the queue had no room for are counted and printed: a dropped line
//! costs less than a queued one, so a run that drops many says so (the
//! criterion loop outruns the writer thread and drops; the CPU-time loop
//! pauses between bursts so that it does not).
//!
//! Criterion times each line on the wall clock, which a busy machine
//! inflates; each kind also prints its CPU time per line (this thread's
//! time on a CPU, from `/proc/thread-self/schedstat`, over a million
//! lines), which it does not.
//!
//! Run: `cargo bench --bench access_log`.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderValue, Method};
use restgate::config::LogFormat;
use restgate::serve::access_log::{access_line, AccessLog};
use restgate::serve::log_writer::{subscriber, writer_to};
use tracing_appender::non_blocking::ErrorCounter;
use tracing_subscriber::EnvFilter;

const ROUTE: &str = "/v1/users/{user_id}/accounts";

fn access_log(c: &mut Criterion) {
    let request_id = HeaderValue::from_static("2b6f0cc9-4a5e-4d1d-8f6e-7b0c1d2e3f40");
    let method = Method::POST;
    let latency = Duration::from_micros(412);
    for (name, format) in [("pretty", LogFormat::Pretty), ("json", LogFormat::Json)] {
        let (writer, flush) = writer_to(std::io::sink());
        let dropped = writer.error_counter();
        let mut log = AccessLog::new(format, writer);
        let mut line = || log.write(&method, ROUTE, 201, latency, &request_id);
        let label = format!("access line, {name}");
        c.bench_function(&label, |b| b.iter(&mut line));
        per_line(&label, &mut line, &dropped);
        drop(flush);

        let (writer, flush) = writer_to(std::io::sink());
        let dropped = writer.error_counter();
        let subscriber = subscriber(format, EnvFilter::new("info"), false, writer);
        let mut line = || access_line(&method, ROUTE, 201, latency, &request_id);
        let label = format!("access line through tracing, {name}");
        tracing::subscriber::with_default(subscriber, || {
            c.bench_function(&label, |b| b.iter(&mut line));
            per_line(&label, &mut line, &dropped);
        });
        drop(flush);
    }
}

/// Prints the CPU time of one `line`, over a million: in bursts of 10,000
/// (under the queue's 16,384 lines), each followed by a pause in which the
/// writer thread empties the queue, so that every line is queued (none is
/// dropped, which would cost less), as under a load the writer keeps up
/// with. The pauses are not on this thread's CPU.
fn per_line(label: &str, line: &mut impl FnMut(), dropped: &ErrorCounter) {
    let (bursts, burst) = (100, 10_000);
    let mut cpu = 0;
    let dropped_before = dropped.dropped_lines();
    for _ in 0..bursts {
        let before = cpu_ns();
        for _ in 0..burst {
            line();
        }
        cpu += cpu_ns() - before;
        std::thread::sleep(Duration::from_millis(40));
    }
    let per_line = cpu as f64 / f64::from(bursts * burst) / 1000.0;
    let lost = dropped.dropped_lines() - dropped_before;
    println!("{label}: {per_line:.3} us of CPU per line ({lost} of the million dropped)");
}

/// This thread's time on a CPU so far, in nanoseconds.
fn cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat (Linux)");
    stat.split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .expect("schedstat's first field")
}

criterion_group!(benches, access_log);
criterion_main!(benches);
