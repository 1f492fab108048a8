//! The one OpenAPI generator, reached two ways through the real binary:
//! `restgate openapi --output FILE` and `GET /openapi.json` on the gateway
//! give the same document.

mod support;

use std::process::Command;

use serde_json::Value;
use support::{start_example, Gateway};

#[tokio::test]
async fn the_command_and_the_gateway_serve_the_same_document() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    let out = Command::new(env!("CARGO_BIN_EXE_restgate"))
        .args(["openapi", "--output", file.to_str().unwrap()])
        .output()
        .expect("run restgate openapi");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written["openapi"], "3.1.0");
    assert!(written["paths"]["/v1/users"]["post"]["responses"]["201"].is_object());

    let gw = Gateway::example(start_example().await).await;
    let reply = gw.get("/openapi.json").await;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), written);
}
