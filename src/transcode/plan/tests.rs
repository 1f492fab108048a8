//! Regression cases of the compiled transcoder found by fuzzing it against
//! [`crate::transcode::json`] (`fuzz/fuzz_targets/wire_to_json.rs`); the
//! property tests are `tests/transcode_plan.rs`.

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};

use super::MessagePlan;
use crate::transcode::{json, JsonOptions};

fn lists() -> MessageDescriptor {
    let dir = tempfile::tempdir().expect("temp dir");
    let proto = "syntax = \"proto3\"; package t; message Lists { repeated int64 bigs = 1; }";
    std::fs::write(dir.path().join("t.proto"), proto).expect("write proto");
    let pool: DescriptorPool = protox::Compiler::new([dir.path()])
        .and_then(|mut compiler| {
            compiler.open_file("t.proto")?;
            Ok(compiler.descriptor_pool())
        })
        .expect("compile t.proto");
    pool.get_message_by_name("t.Lists").expect("t.Lists")
}

#[test]
fn an_empty_packed_run_is_an_empty_list_left_out() {
    let desc = lists();
    let plan = MessagePlan::compile(&desc);
    // Field 1, length-delimited, no bytes: a packed run of no numbers.
    let wire = [0x0a, 0x00];
    for (emit_unpopulated, want) in [(false, "{}"), (true, r#"{"bigs":[]}"#)] {
        let options = JsonOptions {
            emit_unpopulated,
            ..JsonOptions::default()
        };
        let mut out = Vec::new();
        plan.wire_to_json(&wire, &options, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), want);
        let message = DynamicMessage::decode(desc.clone(), &wire[..]).unwrap();
        assert_eq!(json::to_vec(&message, &options).unwrap(), want.as_bytes());
    }
    // Two runs, one empty: the other's numbers.
    let mut out = Vec::new();
    plan.wire_to_json(
        &[0x0a, 0x00, 0x0a, 0x01, 0x05],
        &JsonOptions::default(),
        &mut out,
    )
    .unwrap();
    assert_eq!(out, br#"{"bigs":["5"]}"#);
}
