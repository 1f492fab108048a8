//! How long the route compiler takes on a proto with 1,000 annotated methods:
//! the whole `restgate check` front half (parse + link the proto, read the
//! annotations, bind, validate, derive Locations), and the route-table step
//! alone on already-loaded descriptors.
//!
//! Run: `cargo bench --bench compile_routes`.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::fmt::Write;

use criterion::{criterion_group, criterion_main, Criterion};
use restgate::compile::{Descriptors, Input, RouteTable};

/// A proto with `n` resources, each with a create and a replace: `2 * n` methods.
fn proto(n: usize) -> String {
    let mut text = String::from(
        "syntax = \"proto3\";\npackage bench.v1;\nimport \"restgate/annotations.proto\";\n\
         message Item { string item_id = 1; string title = 2; int64 size = 3; }\n\
         message CreateRequest { string parent_id = 1; Item item = 2; }\n\
         message ReplaceRequest { string parent_id = 1; string item_id = 2; Item item = 3; }\n\
         service Bench {\n",
    );
    for i in 0..n {
        writeln!(
            text,
            "  rpc Create{i}(CreateRequest) returns (Item) {{ option (restgate.rest) = {{ create: \"/v1/parents/{{parent_id}}/items{i}\" body: \"item\" }}; }}\n  \
             rpc Replace{i}(ReplaceRequest) returns (Item) {{ option (restgate.rest) = {{ replace: \"/v1/parents/{{parent_id}}/items{i}/{{item_id}}\" body: \"item\" }}; }}"
        )
        .unwrap();
    }
    text.push_str("}\n");
    text
}

fn compile_1000_methods(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.proto");
    std::fs::write(&file, proto(500)).unwrap();
    let input = Input::Protos {
        files: vec![file],
        includes: vec![],
    };
    let compiled = RouteTable::load(&input).unwrap();
    assert_eq!(compiled.table.routes().len(), 1000);

    c.bench_function("load+compile 1000 methods (.proto)", |b| {
        b.iter(|| RouteTable::load(&input).unwrap())
    });
    let descriptors = Descriptors::load(&input).unwrap();
    c.bench_function("compile 1000 methods (route table only)", |b| {
        b.iter(|| RouteTable::compile(&descriptors).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = compile_1000_methods
}
criterion_main!(benches);
