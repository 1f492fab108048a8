//! The independent OpenAPI 3.1 validator (`openapi-spec-validator` from
//! PyPI, installed by `scripts/install-test-tools` into `target/tools/venv`)
//! run on a generated document. It runs under `python3`, or the interpreter
//! `PYTHON` names; `scripts/test` puts the venv first on `PATH`.

use std::process::Command;

use serde_json::Value;

/// Runs `python3 -m openapi_spec_validator` on the document; panics with its
/// output when it rejects the document, or asks for it when it is missing.
#[track_caller]
pub(crate) fn validate_openapi(name: &str, doc: &Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(doc).expect("the document serializes");
    std::fs::write(&file, text).expect("write the document");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python)
        .args(["-c", "import openapi_spec_validator"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "openapi-spec-validator is not installed for {python}: run \
             scripts/install-test-tools, then the tests with scripts/test (or with \
             target/tools/venv/bin first on PATH)"
        ),
    }
    let out = Command::new(&python)
        .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
        .arg(&file)
        .output()
        .expect("run openapi_spec_validator");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK"),
        "{name}: the validator rejected the document:\n{stdout}\n{stderr}"
    );
}
