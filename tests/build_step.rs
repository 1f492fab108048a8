//! The build-script API fails a user's build on a bad annotation with the
//! same `file:line:col: error:` message as `restgate check`: a real `cargo
//! build` of a fixture crate whose build.rs calls `restgate::build`.

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

#[test]
fn a_broken_annotation_fails_the_build_with_file_line_col() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("fixture");
    copy_dir(&root.join("tests/fixtures/build_broken"), &crate_dir);
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
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build must fail:\n{stderr}");
    assert!(
        stderr.contains(
            "proto/broken.proto:9:40: error: broken.v1.Things.CreateThing: create must target a collection, but \"/v1/things/{thing_id}\" ends in a variable"
        ),
        "{stderr}"
    );
}
