//! The harness keeps the shell running the tests out of every test: with
//! `RESTGATE_*` variables set in this test process that would change
//! outcomes — `RESTGATE_BLESS=1` (the documented way to regenerate a
//! fixture, and no setting: `serve` refuses it), `RESTGATE_GOOGLE_API_CREATES=never`
//! (no post is a create) and `RESTGATE_TIMEOUT=1ms` — `routes`, `check` and
//! `serve` run through `support::restgate()`, and the gateway started in
//! process, behave as with none. The same binary run bare, with the same
//! environment, shows that the variables do bite.
//!
//! One test in this binary: it sets the process environment before any
//! other thread exists.

mod support;

use std::process::{Command, Output};

use serde_json::{json, Value};
use support::{start_fixture, Gateway};

const FIXTURE: [&str; 4] = ["--proto", "proto/testing/v1/fixture.proto", "-I", "proto"];
const HOSTILE: [(&str, &str); 3] = [
    ("RESTGATE_BLESS", "1"),
    ("RESTGATE_GOOGLE_API_CREATES", "never"),
    ("RESTGATE_TIMEOUT", "1ms"),
];

/// `command <args> <the fixture's protos>` in the crate's directory.
fn run(mut command: Command, args: &[&str]) -> Output {
    command
        .args(args)
        .args(FIXTURE)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run restgate")
}

/// The `kind` of `POST /v1/echo` in `routes --format json` output.
fn echo_kind(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let routes: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON routes");
    let echo = routes
        .iter()
        .find(|r| r["method"] == "POST" && r["path"] == "/v1/echo")
        .unwrap_or_else(|| panic!("no POST /v1/echo in {routes:?}"));
    echo["kind"].as_str().expect("kind").to_owned()
}

#[test]
fn restgate_variables_in_the_shell_change_no_test() {
    for (name, value) in HOSTILE {
        std::env::set_var(name, value);
    }
    let bare = || Command::new(env!("CARGO_BIN_EXE_restgate"));

    // They bite the binary run bare...
    assert_eq!(
        echo_kind(&run(bare(), &["routes", "--format", "json"])),
        "custom"
    );
    let serve = run(bare(), &["serve", "--upstream", "http://127.0.0.1:9"]);
    assert_eq!(serve.status.code(), Some(2), "{serve:?}");
    assert!(
        String::from_utf8_lossy(&serve.stderr).contains("RESTGATE_BLESS"),
        "{serve:?}"
    );

    // ...and not the harness's commands.
    let routes = run(support::restgate(), &["routes", "--format", "json"]);
    assert_eq!(echo_kind(&routes), "create");
    let check = run(support::restgate(), &["check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // Nor the gateways, spawned or in process.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let fixture = start_fixture().await;
        let gateways = [
            Gateway::spawn_fixture(&fixture, &[]).await,
            Gateway::fixture(&fixture, &[]).await,
        ];
        for (n, gw) in gateways.iter().enumerate() {
            let id = format!("e{n}");
            let reply = gw.post("/v1/echo", &json!({ "id": id })).await;
            assert_eq!(reply.assert_json(201), json!({ "id": id }));
            let location = format!("/v1/echo/{id}");
            assert_eq!(reply.header("location"), Some(location.as_str()));
        }
        assert_eq!(fixture.calls("Echo"), 2);
    });
}
