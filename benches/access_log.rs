//! What a request pays for its access-log line with the defaults: the
//! line formatted by `restgate serve`'s subscriber (pretty, then JSON) and
//! pushed onto the queue of its non-blocking writer, whose background
//! thread writes the batches (here to a sink that discards them, so the
//! figure is the request thread's share alone, as it is in `serve`).
//! Lines the queue had no room for are counted and printed: a dropped line
//! costs less than a queued one, so a run that drops many says so.
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
        tracing::subscriber::with_default(subscriber, || {
            c.bench_function(&format!("access line, {name}"), |b| {
                b.iter(|| {
                    access_line(
                        &method,
                        "/v1/users/{user_id}/accounts",
                        201,
                        Duration::from_micros(412),
                        &request_id,
                    )
                })
            });
        });
        drop(flush);
        println!("{name}: {} lines dropped", dropped.dropped_lines());
    }
}

criterion_group!(benches, access_log);
criterion_main!(benches);
