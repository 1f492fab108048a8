//! Regression cases of the compiled transcoder found by fuzzing it against
//! [`crate::transcode::json`] (`fuzz/fuzz_targets/wire_to_json.rs`); the
//! property tests are `tests/transcode_plan.rs`.

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};

use super::MessagePlan;
use crate::transcode::{json, JsonOptions};

fn message(name: &str) -> MessageDescriptor {
    let dir = tempfile::tempdir().expect("temp dir");
    let proto = "syntax = \"proto3\"; package t; message Lists { repeated int64 bigs = 1; } message Outer { Strings inner = 1; } message Strings { string id = 2; oneof o { string a = 3; int32 b = 4; } } message Maps { map<string, string> names = 1; map<int32, Strings> inner = 2; } message Choice { oneof c { Strings s = 1; int32 n = 2; } } message Runs { map<string, int32> m = 1; int32 n = 2; repeated string tags = 3; }";
    std::fs::write(dir.path().join("t.proto"), proto).expect("write proto");
    let pool: DescriptorPool = protox::Compiler::new([dir.path()])
        .and_then(|mut compiler| {
            compiler.open_file("t.proto")?;
            Ok(compiler.descriptor_pool())
        })
        .expect("compile t.proto");
    pool.get_message_by_name(name).expect(name)
}

#[test]
fn an_empty_packed_run_is_an_empty_list_left_out() {
    let desc = message("t.Lists");
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

#[test]
fn a_string_overwritten_by_a_later_record_is_still_utf8() {
    let desc = message("t.Strings");
    let plan = MessagePlan::compile(&desc);
    // `id` given twice, first as a byte that is no UTF-8; then the oneof
    // member `a` the same way, overridden by `b`; then `id` again with an
    // empty last record (the default, not written).
    for wire in [
        &[0x12, 0x01, 0xf8, 0x12, 0x01, b'x'][..],
        &[0x1a, 0x01, 0xf8, 0x20, 0x01],
        &[0x12, 0x01, 0xf8, 0x12, 0x00],
    ] {
        assert!(DynamicMessage::decode(desc.clone(), wire).is_err());
        let mut out = Vec::new();
        let error = plan
            .wire_to_json(wire, &JsonOptions::default(), &mut out)
            .unwrap_err();
        assert!(error.to_string().contains("not UTF-8"), "{error}");
    }
}

#[test]
fn a_message_record_cut_short_is_not_completed_by_the_next() {
    let desc = message("t.Outer");
    let plan = MessagePlan::compile(&desc);
    // `inner` twice: first a key with no value (field 4, a varint), then
    // a byte that, joined to it, would be that value.
    let wire = [0x0a, 0x01, 0x20, 0x0a, 0x01, 0x01];
    assert!(DynamicMessage::decode(desc.clone(), &wire[..]).is_err());
    let mut out = Vec::new();
    let error = plan
        .wire_to_json(&wire, &JsonOptions::default(), &mut out)
        .unwrap_err();
    assert!(error.to_string().contains("truncated varint"), "{error}");
    // Two whole records merge.
    let wire = [0x0a, 0x02, 0x12, 0x00, 0x0a, 0x02, 0x20, 0x01];
    plan.wire_to_json(&wire, &JsonOptions::default(), &mut out)
        .unwrap();
    assert_eq!(out, br#"{"inner":{"b":1}}"#);
}

/// A length-delimited record of field `number`.
fn len_record(number: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![number << 3 | 2, bytes.len() as u8];
    out.extend_from_slice(bytes);
    out
}

#[test]
fn runs_split_by_other_fields_and_keys_repeated_past_32_entries() {
    let desc = message("t.Runs");
    let plan = MessagePlan::compile(&desc);
    let entry = |key: &str, value: u8| {
        let mut bytes = len_record(1, key.as_bytes());
        bytes.extend([0x10, value]);
        len_record(1, &bytes)
    };
    let mut wire = Vec::new();
    wire.extend(len_record(3, b"a"));
    // An unknown field inside the run of `tags`, then `n`, then `tags` again.
    wire.extend([0x50, 0x07]);
    wire.extend(len_record(3, b"b"));
    wire.extend([0x10, 0x01]);
    wire.extend(len_record(3, b"c"));
    for i in 0..40 {
        wire.extend(entry(&format!("k{i:02}"), i));
    }
    // `n` between two runs of the map, then keys 05 and 39 again.
    wire.extend([0x10, 0x02]);
    wire.extend(entry("k05", 100));
    wire.extend(entry("k39", 101));
    let mut out = Vec::new();
    plan.wire_to_json(&wire, &JsonOptions::default(), &mut out)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut want = String::from(r#"{"m":{"#);
    for i in (0..39).filter(|&i| i != 5) {
        want.push_str(&format!(r#""k{i:02}":{i},"#));
    }
    want.push_str(r#""k05":100,"k39":101},"n":2,"tags":["a","b","c"]}"#);
    assert_eq!(text, want);
    let message = DynamicMessage::decode(desc, &wire[..]).unwrap();
    let reference = json::to_vec(&message, &JsonOptions::default()).unwrap();
    let parsed = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).unwrap();
    assert_eq!(parsed(text.as_bytes()), parsed(&reference));
}

/// The plan's verdict and JSON on `wire` (a `name`), which must be
/// prost-reflect's and the reference writer's.
fn same_as_reference(name: &str, wire: &[u8]) -> Result<String, String> {
    let desc = message(name);
    let plan = MessagePlan::compile(&desc);
    let options = JsonOptions::default();
    let mut out = Vec::new();
    let ours = plan.wire_to_json(wire, &options, &mut out);
    match DynamicMessage::decode(desc, wire) {
        Err(error) => {
            let ours = ours.expect_err("prost-reflect refuses it: so must the plan");
            Err(format!("{ours} / {error}"))
        }
        Ok(reference) => {
            ours.unwrap_or_else(|e| panic!("prost-reflect decodes it, the plan refused: {e}"));
            assert_eq!(out, json::to_vec(&reference, &options).unwrap());
            Ok(String::from_utf8(out).unwrap())
        }
    }
}

#[test]
fn a_map_entrys_key_or_value_written_over_must_still_be_utf8() {
    // An entry of `names` whose key, then whose value, comes twice, the
    // first time as a byte that is no UTF-8: only the second is written.
    for entry in [
        [0x0a, 0x01, 0xeb, 0x0a, 0x01, b'k'],
        [0x12, 0x01, 0xeb, 0x12, 0x01, b'v'],
    ] {
        let mut wire = vec![0x0a, 0x06];
        wire.extend_from_slice(&entry);
        let error = same_as_reference("t.Maps", &wire).unwrap_err();
        assert!(error.contains("not UTF-8"), "{error}");
    }
    // Both times UTF-8: the last wins.
    let wire = [0x0a, 0x06, 0x0a, 0x01, b'j', 0x0a, 0x01, b'k'];
    assert_eq!(
        same_as_reference("t.Maps", &wire).unwrap(),
        r#"{"names":{"k":""}}"#
    );
}

#[test]
fn a_map_entrys_message_value_given_twice_is_merged_and_both_checked() {
    // `inner` {1: …} with the value in two records, `id` then `b`.
    let wire = [
        0x12, 0x0b, 0x08, 0x01, 0x12, 0x03, 0x12, 0x01, b'x', 0x12, 0x02, 0x20, 0x05,
    ];
    assert_eq!(
        same_as_reference("t.Maps", &wire).unwrap(),
        r#"{"inner":{"1":{"id":"x","b":5}}}"#
    );
    // The first value's `id` no UTF-8: refused though `b` follows.
    let wire = [
        0x12, 0x0b, 0x08, 0x01, 0x12, 0x03, 0x12, 0x01, 0xeb, 0x12, 0x02, 0x20, 0x05,
    ];
    let error = same_as_reference("t.Maps", &wire).unwrap_err();
    assert!(error.contains("not UTF-8"), "{error}");
}

#[test]
fn a_oneof_message_member_overridden_by_a_later_one_must_still_decode() {
    // `s` (its `id` no UTF-8, or a record cut short), then `n`: only `n`
    // is written, yet `s` is decoded too.
    for s in [&[0x0a, 0x03, 0x12, 0x01, 0xeb][..], &[0x0a, 0x01, 0x20]] {
        let mut wire = s.to_vec();
        wire.extend_from_slice(&[0x10, 0x01]);
        same_as_reference("t.Choice", &wire).unwrap_err();
    }
    // `s` whole: `n` wins.
    let wire = [0x0a, 0x03, 0x12, 0x01, b'x', 0x10, 0x01];
    assert_eq!(same_as_reference("t.Choice", &wire).unwrap(), r#"{"n":1}"#);
}
