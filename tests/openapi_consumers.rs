//! The demo's `/openapi.json` as its consumers' own tools see it, each run
//! against a live `restgate serve --demo`: the validators
//! (openapi-spec-validator, Redocly's recommended rules, Spectral's
//! `spectral:oas`) find no error; openapi-python-client generates a client
//! with every JSON operation, and a short script drives it through create,
//! get, replace, list, a sub-resource, a multi-segment name and a 404; and
//! schemathesis, bounded, finds no failure its committed allow-list does not
//! give a reason for.
//!
//! The tools are pinned and installed by `scripts/install-test-tools` into
//! `target/tools` (PyPI into `venv`, npm into `node_modules`); a missing one
//! fails the test with that advice. Their settings live in
//! `tests/consumers/`.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

fn manifest(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A tool under `target/tools`, or a panic saying how to install it.
fn tool(relative: &str) -> PathBuf {
    let path = manifest("target/tools").join(relative);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-test-tools",
        path.display()
    );
    path
}

fn python() -> PathBuf {
    tool("venv/bin/python3")
}

/// Runs `command`, panicking with its output unless it exits 0.
fn run_ok(what: &str, command: &mut Command) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run ({e}): run scripts/install-test-tools"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `restgate serve --demo` on a free loopback port, stopped when dropped.
struct Demo {
    child: Child,
    base: String,
}

impl Demo {
    fn start() -> Demo {
        let mut child = support::restgate()
            .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn restgate serve --demo");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                let rest = line.strip_prefix("listening on ")?;
                Some(rest.split_whitespace().next()?.to_owned())
            })
            .expect("the demo prints `listening on http://ADDR`");
        // Keep reading, so the demo never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Demo { child, base }
    }

    /// The served document, also written to `dir/openapi.json`.
    fn document(&self, dir: &Path) -> (Value, PathBuf) {
        let out = run_ok(
            "curl /openapi.json",
            Command::new("curl").args([
                "-sS",
                "--fail",
                "--max-time",
                "10",
                &format!("{}/openapi.json", self.base),
            ]),
        );
        let file = dir.join("openapi.json");
        std::fs::write(&file, &out.stdout).expect("write openapi.json");
        let doc = serde_json::from_slice(&out.stdout).expect("/openapi.json is JSON");
        (doc, file)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn validators_find_no_error() {
    let demo = Demo::start();
    let dir = tempfile::tempdir().unwrap();
    let (doc, file) = demo.document(dir.path());
    assert_eq!(doc["info"]["license"]["identifier"], "Apache-2.0");

    let out = run_ok(
        "openapi-spec-validator",
        Command::new(python())
            .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
            .arg(&file),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));

    run_ok(
        "redocly lint (recommended)",
        Command::new(tool("node_modules/.bin/redocly"))
            .args(["lint", "--format", "stylish", "--config"])
            .arg(manifest("tests/consumers/redocly.yaml"))
            .arg(&file)
            .env("REDOCLY_TELEMETRY", "off")
            .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true"),
    );

    run_ok(
        "spectral lint (spectral:oas)",
        Command::new(tool("node_modules/.bin/spectral"))
            .args(["lint", "--fail-severity", "error", "--ruleset"])
            .arg(manifest("tests/consumers/spectral.yaml"))
            .arg(&file),
    );
}

/// openapi-python-client's module name for `CamelCase_Words`:
/// `camel_case_words`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if c.is_ascii_uppercase()
            && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
        {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
        previous = Some(c);
    }
    out.replace("__", "_")
}

/// (tag, operationId, "METHOD path") of every operation whose bodies are
/// all JSON: no NDJSON stream, no raw body of any media type.
fn json_operations(doc: &Value) -> Vec<(String, String, String)> {
    let is_json = |content: Option<&Value>| {
        content
            .and_then(Value::as_object)
            .is_none_or(|c| c.keys().all(|k| k == "application/json"))
    };
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let request = is_json(op.pointer("/requestBody/content"));
            let replies = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(status, _)| status.starts_with('2'))
                .all(|(_, r)| is_json(r.get("content")));
            if request && replies {
                out.push((
                    op["tags"][0].as_str().unwrap().to_owned(),
                    op["operationId"].as_str().unwrap().to_owned(),
                    format!("{} {path}", method.to_uppercase()),
                ));
            }
        }
    }
    out
}

#[test]
fn python_client_has_every_json_operation_and_drives_the_demo() {
    let demo = Demo::start();
    let dir = tempfile::tempdir().unwrap();
    let (doc, file) = demo.document(dir.path());
    let package = dir.path().join("restgate_demo_client");
    let out = run_ok(
        "openapi-python-client generate",
        Command::new(tool("venv/bin/openapi-python-client"))
            .current_dir(dir.path())
            .args(["generate", "--meta", "none", "--path"])
            .arg(&file)
            .arg("--output-path")
            .arg(&package),
    );

    let operations = json_operations(&doc);
    assert!(operations.len() >= 18, "{operations:?}");
    for (tag, id, at) in &operations {
        let module = package
            .join("api")
            .join(snake(tag))
            .join(format!("{}.py", snake(id)));
        assert!(module.exists(), "{at} ({id}): no {}", module.display());
    }
    // It warns about what it has no support for, NDJSON streams and `*/*`
    // raw bodies, and about nothing else.
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in text.lines().filter(|l| l.starts_with("WARNING parsing ")) {
        let at = line["WARNING parsing ".len()..]
            .split(" within ")
            .next()
            .unwrap();
        assert!(
            !operations.iter().any(|(_, _, op)| op == at),
            "a warning about a JSON operation: {line}"
        );
    }

    let out = run_ok(
        "tests/consumers/drive_client.py",
        Command::new(python())
            .arg(manifest("tests/consumers/drive_client.py"))
            .arg(&demo.base)
            .arg(&package),
    );
    let steps = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        steps.lines().filter(|l| l.starts_with("ok: ")).count(),
        7,
        "{steps}"
    );
}

/// Bounded: 50 examples per operation, a fixed seed, one worker (so the
/// same requests in the same order, against a fresh demo). The NDJSON
/// request bodies of `:import` and `:lookup` are left out: schemathesis has
/// no serializer for them. The `filter_too_much` health check is off: a
/// path parameter cannot hold `/` or be empty, so most strings drawn for the
/// `**` name of `GET /v1/posts/{name}` are thrown away before one is sent.
/// Each failure the run may find is listed, with its reason, in
/// `tests/consumers/schemathesis-baseline.json`.
#[test]
fn schemathesis_finds_no_failure_without_a_reason() {
    let demo = Demo::start();
    let dir = tempfile::tempdir().unwrap();
    let (_, file) = demo.document(dir.path());
    // The run may write to its baseline: give it a copy.
    let baseline = dir.path().join("baseline.json");
    std::fs::copy(
        manifest("tests/consumers/schemathesis-baseline.json"),
        &baseline,
    )
    .expect("copy the baseline");
    let out = Command::new(tool("venv/bin/schemathesis"))
        .arg("run")
        .arg(&file)
        .args(["--url", &demo.base])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,\
             negative_data_rejection,positive_data_acceptance",
            "--max-examples",
            "50",
            "--seed",
            "1",
            "--workers",
            "1",
            "--exclude-path-regex",
            ":(import|lookup)$",
            "--suppress-health-check",
            "filter_too_much",
            "--no-color",
        ])
        .arg("--baseline")
        .arg(&baseline)
        // It keeps a cache where it runs: not in the source tree.
        .current_dir(dir.path())
        .output()
        .expect("run schemathesis: run scripts/install-test-tools");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures the baseline does not list:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Known failures:"), "{stdout}");
}
