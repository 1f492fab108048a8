//! OpenAPI 3.1 from the [`RouteTable`](crate::compile::RouteTable): the one
//! generator behind `restgate openapi`, the build step and `/openapi.json`.
//!
//! In: a compiled route table and [`OpenApiOptions`]. Out: the document as a
//! `serde_json::Value`: a path item per rendered template (`path`), an
//! operation per route with its id, comment, parameters, request body and
//! every status the gateway can answer (`operation`, `parameters`,
//! `responses`, with `links` from each create to its item), and a schema
//! per message in proto3 JSON form
//! (`schema`, with `scalar` for the leaves and well-known types).
//!
//! It documents what the gateway does, reading only the table and the
//! descriptors it holds, never the annotations. No I/O, no serving: callers
//! write or serve the value.

mod comments;
mod document;
mod links;
mod operation;
mod parameters;
mod path;
mod responses;
mod scalar;
mod schema;

pub use document::{document, OpenApiOptions};
pub use path::PathParams;

/// The fixture service's descriptors (`proto/testing/v1/fixture.proto`),
/// which hold every kind of field: for this room's unit tests.
#[cfg(test)]
fn fixture_pool() -> prost_reflect::DescriptorPool {
    let input = crate::compile::Input::Protos {
        files: vec![concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proto/testing/v1/fixture.proto"
        )
        .into()],
        includes: vec![concat!(env!("CARGO_MANIFEST_DIR"), "/proto").into()],
    };
    crate::compile::Descriptors::load(&input)
        .unwrap_or_else(|e| panic!("fixture.proto loads: {e:?}"))
        .pool()
        .clone()
}
