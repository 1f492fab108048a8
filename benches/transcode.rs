//! JSON → protobuf and protobuf → JSON per byte, on a ~1 MiB structured body
//! (a `ListUsersResponse` of the bundled example with thousands of users,
//! each with nested, repeated, map, enum, int64 and Timestamp fields), and on
//! one small create body; prost-reflect's serde path (`json`, to and from
//! a `DynamicMessage`) beside the compiled plan (`plan`, JSON bytes to and
//! from wire bytes). And one `Duration`'s JSON text, through prost-types'
//! `Display` beside `transcode::rfc3339::duration`.
//!
//! Run: `cargo bench --bench transcode`.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prost::Message as _;
use restgate::compile::Descriptors;
use restgate::transcode::{json, JsonOptions, MessagePlan};

fn user(i: usize) -> serde_json::Value {
    serde_json::json!({
        "userId": i.to_string(),
        "displayName": format!("User number {i}"),
        "email": format!("user{i}@example.com"),
        "role": "ROLE_WRITER",
        "karma": (i as i64 * 7919).to_string(),
        "createTime": "2024-01-02T03:04:05Z",
        "tags": ["alpha", "beta", "gamma"],
        "labels": {"team": "blue", "tier": "gold"},
        "address": {"street": "1 Main St", "city": "Springfield", "country": "US"},
        "etag": format!("w{i}"),
    })
}

fn transcode(c: &mut Criterion) {
    let descriptors = Descriptors::bundled();
    let pool = descriptors.pool();
    let list = pool
        .get_message_by_name("examples.v1.ListUsersResponse")
        .unwrap();
    let one = pool.get_message_by_name("examples.v1.User").unwrap();
    let options = JsonOptions::default();

    let mut users = Vec::new();
    let mut body = Vec::new();
    while body.len() < 1 << 20 {
        users.push(user(users.len()));
        if users.len() % 256 == 0 {
            body = serde_json::to_vec(&serde_json::json!({ "users": users })).unwrap();
        }
    }
    let message = json::from_slice(list.clone(), &body, &options).unwrap();
    let wire = message.encode_to_vec();
    let list_plan = MessagePlan::compile(&list);
    let mut out = Vec::with_capacity(body.len());

    let mut group = c.benchmark_group("1 MiB ListUsersResponse");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.sample_size(20);
    group.bench_function("json -> protobuf", |b| {
        b.iter(|| json::from_slice(list.clone(), &body, &options).unwrap())
    });
    group.bench_function("protobuf -> json", |b| {
        b.iter(|| json::to_vec(&message, &options).unwrap())
    });
    group.bench_function("plan json -> protobuf", |b| {
        b.iter(|| {
            out.clear();
            list_plan.json_to_wire(&body, &options, &mut out).unwrap();
        })
    });
    group.bench_function("plan protobuf -> json", |b| {
        b.iter(|| {
            out.clear();
            list_plan.wire_to_json(&wire, &options, &mut out).unwrap();
        })
    });
    group.finish();

    let small = br#"{"displayName":"bench","email":"b@example.com"}"#;
    let small_message = json::from_slice(one.clone(), small, &options).unwrap();
    let small_wire = small_message.encode_to_vec();
    let one_plan = MessagePlan::compile(&one);
    let mut group = c.benchmark_group("small User");
    group.bench_function("json -> protobuf", |b| {
        b.iter(|| json::from_slice(one.clone(), small, &options).unwrap())
    });
    group.bench_function("protobuf -> json", |b| {
        b.iter(|| json::to_vec(&small_message, &options).unwrap())
    });
    // A fresh output buffer per request, as a server would have.
    group.bench_function("plan json -> protobuf", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            one_plan.json_to_wire(small, &options, &mut out).unwrap();
            out
        })
    });
    group.bench_function("plan protobuf -> json", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            one_plan
                .wire_to_json(&small_wire, &options, &mut out)
                .unwrap();
            out
        })
    });
    group.finish();
}

fn duration_text(c: &mut Criterion) {
    let mut group = c.benchmark_group("Duration 1234.5678s");
    let (seconds, nanos) = (1234, 567_800_000);
    group.bench_function("prost-types Display", |b| {
        b.iter(|| {
            use std::io::Write as _;
            let mut out = Vec::with_capacity(32);
            let value = prost_types::Duration {
                seconds: std::hint::black_box(seconds),
                nanos: std::hint::black_box(nanos),
            };
            let _ = write!(out, "{value}");
            out
        })
    });
    group.bench_function("rfc3339::duration", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(32);
            restgate::transcode::rfc3339::duration(
                &mut out,
                std::hint::black_box(seconds),
                std::hint::black_box(nanos),
            );
            out
        })
    });
    group.finish();
}

criterion_group!(benches, transcode, duration_text);
criterion_main!(benches);
