//! Route lookup cost with 10 and with 10,000 routes: the trie's cost follows
//! the request path, not the table size.
//!
//! Run: `cargo bench --bench route_lookup`.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use std::fmt::Write;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use restgate::compile::{Input, Lookup, RouteTable};

/// A proto with `n` collections, each with a create and a get: `2 * n` routes.
fn table(n: usize) -> RouteTable {
    let mut text = String::from(
        "syntax = \"proto3\";\npackage bench.v1;\nimport \"restgate/annotations.proto\";\n\
         message Item { string item_id = 1; }\n\
         message CreateRequest { string parent_id = 1; Item item = 2; }\n\
         message GetRequest { string parent_id = 1; string item_id = 2; }\n\
         service Bench {\n",
    );
    for i in 0..n {
        writeln!(
            text,
            "  rpc Create{i}(CreateRequest) returns (Item) {{ option (restgate.rest) = {{ create: \"/v1/parents/{{parent_id}}/items{i}\" body: \"item\" }}; }}\n  \
             rpc Get{i}(GetRequest) returns (Item) {{ option (restgate.rest) = {{ get: \"/v1/parents/{{parent_id}}/items{i}/{{item_id}}\" }}; }}"
        )
        .unwrap();
    }
    text.push_str("}\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.proto");
    std::fs::write(&file, text).unwrap();
    let input = Input::Protos {
        files: vec![file],
        includes: vec![],
    };
    RouteTable::load(&input).unwrap().table
}

fn lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("route lookup");
    for routes in [10, 10_000] {
        let table = table(routes / 2);
        assert_eq!(table.routes().len(), routes);
        let last = routes / 2 - 1;
        let path = format!("/v1/parents/p1/items{last}/i9");
        assert!(matches!(
            table.lookup(&http::Method::GET, &path),
            Lookup::Found { .. }
        ));
        group.bench_with_input(BenchmarkId::new("GET item", routes), &path, |b, path| {
            b.iter(|| table.lookup(&http::Method::GET, path))
        });
    }
    group.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
