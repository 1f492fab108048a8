//! Compiles `proto/` with protox (a pure-Rust protobuf compiler, so no
//! `protoc` is needed on any machine) and hands the result to tonic's code
//! generator.
//!
//! Two outputs land in `OUT_DIR`: the Rust code for the annotation messages and
//! the example services, and `restgate_descriptor.bin`, the encoded descriptor
//! set the binary embeds. The set is written from protox's own encoding, never
//! round-tripped through `prost_types::FileDescriptorSet`, because that type
//! has no slot for extensions and would silently drop every `(restgate.rest)`
//! and `(google.api.http)` option.

use std::{env, fs, path::PathBuf};

/// The files the binary embeds: the annotation, the google.api copies and the
/// bundled example service.
const EMBEDDED: &[&str] = &[
    "restgate/annotations.proto",
    "google/api/annotations.proto",
    "google/api/http.proto",
    "google/api/httpbody.proto",
    "google/api/field_behavior.proto",
    "grpc/health/v1/health.proto",
    "examples/v1/users.proto",
    "examples/v1/blogs.proto",
];

/// Compiled to Rust only: the fixture services the integration tests use,
/// every `.proto` file in this directory (under `proto/`).
const FIXTURES: &str = "testing/v1";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    for proto in EMBEDDED {
        compiler.open_file(proto)?;
    }
    fs::write(
        out_dir.join("restgate_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    let mut fixtures = fs::read_dir(PathBuf::from("proto").join(FIXTURES))?
        .map(|entry| entry.map(|e| e.file_name()))
        .collect::<Result<Vec<_>, _>>()?;
    fixtures.sort();
    for name in fixtures {
        let name = name.to_string_lossy();
        if name.ends_with(".proto") {
            compiler.open_file(format!("{FIXTURES}/{name}"))?;
        }
    }
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
