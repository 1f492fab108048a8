//! What a request pays for its access-log line with the defaults: the
//! line formatted by `restgate serve`'s subscriber (pretty, then JSON) and
//! pushed onto the queue of its non-blocking writer, whose background
//! thread writes the batches (here to a sink that discards them, so the
//! figure is the request thread's share alone, as it is in `serve`).
//! Lines the queue had no room for are counted and printed: a dropped line
//! costs less than a queued one, so a run that drops many says so.
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
use restgate::serve::log_writer::{access_line, subscriber, writer_to};
use tracing_subscriber::EnvFilter;

fn access_log(c: &mut Criterion) {
    let request_id = HeaderValue::from_static("2b6f0cc9-4a5e-4d1d-8f6e-7b0c1d2e3f40");
    let method = Method::POST;
    for (name, format) in [("pretty", LogFormat::Pretty), ("json", LogFormat::Json)] {
        let (writer, flush) = writer_to(std::io::sink());
        let dropped = writer.error_counter();
        let subscriber = subscriber(format, EnvFilter::new("info"), false, writer);
        let line = || {
            access_line(
                &method,
                "/v1/users/{user_id}/accounts",
                201,
                Duration::from_micros(412),
                &request_id,
            )
        };
        tracing::subscriber::with_default(subscriber, || {
            c.bench_function(&format!("access line, {name}"), |b| b.iter(line));
            let lines = 1_000_000;
            let before = cpu_ns();
            for _ in 0..lines {
                line();
            }
            let per_line = (cpu_ns() - before) as f64 / lines as f64 / 1000.0;
            println!("access line, {name}: {per_line:.3} us of CPU per line");
        });
        drop(flush);
        println!(
            "access line, {name}: {} lines dropped",
            dropped.dropped_lines()
        );
    }
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
