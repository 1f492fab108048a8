//! The build-script API fails a user's build on a bad annotation with the
//! same `file:line:col: error:` message as `restgate check`: a real `cargo
//! build` of a fixture crate whose build.rs calls `restgate::build`. And the
//! builder's `google_api_creates` reaches the route table and OpenAPI
//! document it writes.

use std::path::Path;
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `cargo build` of the fixture crate `tests/fixtures/<name>` (built in a
/// temporary copy, against this restgate): its output and where it is.
fn build_fixture(name: &str) -> (std::process::Output, tempfile::TempDir, std::path::PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("fixture");
    copy_dir(&root.join("tests/fixtures").join(name), &crate_dir);
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml.in"))
        .unwrap()
        .replace("@RESTGATE@", root.to_str().unwrap());
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap();
    // The same dependency versions as restgate's own build, from the local cache.
    std::fs::copy(root.join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();

    let out = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet"])
        .current_dir(&crate_dir)
        // A target dir of its own beside restgate's, reused across runs.
        .env(
            "CARGO_TARGET_DIR",
            root.join("target").join("build-step-fixture"),
        )
        .output()
        .expect("run cargo");
    (out, dir, crate_dir)
}

#[test]
fn a_broken_annotation_fails_the_build_with_file_line_col() {
    let (out, _dir, _) = build_fixture("build_broken");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build must fail:\n{stderr}");
    assert!(
        stderr.contains(
            "proto/broken.proto:9:40: error: broken.v1.Things.CreateThing: create must target a collection, but \"/v1/things/{thing_id}\" ends in a variable"
        ),
        "{stderr}"
    );
}

/// `google_api_creates(Never)` on the builder: the route table and the
/// OpenAPI document it writes keep the google.api.http post at 200, the
/// (restgate.rest) create at 201.
#[test]
fn the_builder_takes_google_api_creates() {
    let (out, _dir, crate_dir) = build_fixture("build_creates");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the build must pass:\n{stderr}");
    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(crate_dir.join("generated").join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        serde_json::from_str(&text).unwrap()
    };
    let routes = read("restgate_routes.json");
    let kind = |path: &str| {
        routes
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["method"] == "POST" && r["path"] == path)
            .map(|r| r["kind"].clone())
            .unwrap_or_else(|| panic!("POST {path} in {routes}"))
    };
    assert_eq!(kind("/v1/things"), "custom");
    assert_eq!(kind("/v1/things/{thing_id}/labels"), "create");
    let openapi = read("restgate_openapi.json");
    let things = &openapi["paths"]["/v1/things"]["post"]["responses"];
    assert!(
        things["200"].is_object() && things.get("201").is_none(),
        "{things}"
    );
    let labels = &openapi["paths"]["/v1/things/{thing_id}/labels"]["post"]["responses"];
    assert!(labels["201"]["headers"]["Location"].is_object(), "{labels}");
}
