//! The proto3 JSON corpus of [`super`]: values prost-reflect alone gets
//! wrong, each with what restgate makes of it. The full suite is protobuf's
//! conformance runner (`tests/conformance.rs`).

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, Value};
use serde_json::json;

use super::{from_slice, from_value, to_value, to_vec, JsonOptions};
use crate::transcode::TranscodeError;

const PROTO: &str = r#"
syntax = "proto3";
package corpus;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

message Kinds {
  int32 i32 = 1;
  int64 i64 = 2;
  uint32 u32 = 3;
  uint64 u64 = 4;
  sint32 s32 = 5;
  sint64 s64 = 6;
  fixed32 f32 = 7;
  fixed64 f64 = 8;
  sfixed32 sf32 = 9;
  sfixed64 sf64 = 10;
  float single = 11;
  double real = 12;
  google.protobuf.Timestamp at = 13;
  google.protobuf.Duration ttl = 14;
  google.protobuf.Any any = 15;
  repeated google.protobuf.Any anys = 16;
  Kinds child = 17;
  repeated int64 list = 18;
  map<string, uint32> counts = 19;
  google.protobuf.Int64Value wrapped = 20;
  google.protobuf.Value dynamic = 21;
  Color color = 22;
  google.protobuf.FieldMask mask = 23;
}

enum Color {
  COLOR_UNSPECIFIED = 0;
  COLOR_RED = 1;
}
"#;

fn kinds() -> MessageDescriptor {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("corpus.proto"), PROTO).expect("write proto");
    let pool: DescriptorPool = protox::Compiler::new([dir.path()])
        .and_then(|mut compiler| {
            compiler.include_imports(true).open_file("corpus.proto")?;
            Ok(compiler.descriptor_pool())
        })
        .expect("compile corpus.proto");
    pool.get_message_by_name("corpus.Kinds")
        .expect("corpus.Kinds")
}

fn read(text: &str) -> Result<DynamicMessage, TranscodeError> {
    from_slice(kinds(), text.as_bytes(), &JsonOptions::default())
}

fn written(message: &DynamicMessage) -> serde_json::Value {
    to_value(message, &JsonOptions::default()).expect("written")
}

fn refused(text: &str) -> String {
    match read(text) {
        Ok(message) => panic!("{text} was accepted as {}", written(&message)),
        Err(error) => error.to_string(),
    }
}

#[test]
fn integers_out_of_range_are_refused_bare_or_quoted_naming_the_field() {
    let cases = [
        ("i32", "2147483648", "int32"),
        ("i32", "-2147483649", "int32"),
        ("s32", "2147483648", "sint32"),
        ("sf32", "-2147483649", "sfixed32"),
        ("u32", "4294967296", "uint32"),
        ("u32", "-1", "uint32"),
        ("f32", "4294967296", "fixed32"),
        ("i64", "-9223372036854775809", "int64"),
        ("i64", "9223372036854775808", "int64"),
        ("s64", "-9223372036854775809", "sint64"),
        ("sf64", "9223372036854775808", "sfixed64"),
        ("u64", "18446744073709551616", "uint64"),
        ("u64", "-1", "uint64"),
        ("f64", "18446744073709551616", "fixed64"),
        ("i64", "1e19", "int64"),
    ];
    for (field, number, kind) in cases {
        for sent in [number.to_owned(), format!("\"{number}\"")] {
            let text = format!("{{\"{field}\": {sent}}}");
            assert_eq!(
                refused(&text),
                format!("invalid JSON body: {field}: {sent} is out of range for {kind}"),
                "{text}"
            );
        }
    }
}

#[test]
fn an_enum_number_is_read_in_any_integer_form() {
    for sent in ["1", "1.0", "1e0", "\"COLOR_RED\""] {
        let message = read(&format!("{{\"color\": {sent}}}")).expect(sent);
        assert_eq!(written(&message), json!({"color": "COLOR_RED"}), "{sent}");
    }
    // Open: an unknown number is kept as sent.
    let message = read(r#"{"color": -7.0}"#).expect("-7.0");
    assert_eq!(written(&message), json!({"color": -7}));
    assert_eq!(
        refused(r#"{"color": 2147483648}"#),
        "invalid JSON body: color: 2147483648 is out of range for int32"
    );
    assert!(refused(r#"{"color": 1.5}"#).contains("not an integer"));
}

#[test]
fn a_quoted_integer_may_have_leading_zeros() {
    let message = read(r#"{"i64": "000", "i32": "007", "u64": "-0"}"#).expect("read");
    assert_eq!(written(&message), json!({"i32": 7}));
}

#[test]
fn integers_are_read_exactly_in_any_number_form() {
    let message = read(
        r#"{"i32": "1e5", "i64": -9223372036854775808, "u64": "18446744073709551615",
            "sf64": 9.223372036854775807e18, "u32": 4294967295, "s32": 100000.000}"#,
    )
    .expect("in range");
    assert_eq!(
        written(&message),
        json!({"i32": 100000, "i64": "-9223372036854775808", "u64": "18446744073709551615",
               "sf64": "9223372036854775807", "u32": 4294967295_u32, "s32": 100000})
    );
    assert_eq!(
        refused(r#"{"i32": 0.5}"#),
        "invalid JSON body: i32: 0.5 is not an integer"
    );
    // Exactly, not as an f64 rounds it (json_to_proto's finding: 2 to
    // prost-reflect).
    assert_eq!(
        refused(r#"{"i32": 2.00000000000000012417}"#),
        "invalid JSON body: i32: 2.00000000000000012417 is not an integer"
    );
    assert_eq!(
        refused(r#"{"i32": "1 "}"#),
        "invalid JSON body: i32: \"1 \" is not a number"
    );
}

#[test]
fn numbers_of_the_wrong_json_type_are_named() {
    let cases = [
        (r#"{"i32": true}"#, "i32: true is not a number"),
        (r#"{"list": [1, {}]}"#, "list[1]: {} is not a number"),
        (r#"{"real": [1.5]}"#, "real: [1.5] is not a number"),
    ];
    for (text, message) in cases {
        assert_eq!(
            refused(text),
            format!("invalid JSON body: {message}"),
            "{text}"
        );
    }
    let message = read(r#"{"i32": null, "real": null, "wrapped": null}"#).expect("nulls");
    assert_eq!(written(&message), json!({}));
}

#[test]
fn nested_values_are_named_by_their_path() {
    let cases = [
        (r#"{"child": {"i64": 9223372036854775808}}"#, "child.i64"),
        (r#"{"list": [1, -9223372036854775809]}"#, "list[1]"),
        (r#"{"counts": {"a": 4294967296}}"#, "counts[\"a\"]"),
        (r#"{"wrapped": "9223372036854775808"}"#, "wrapped"),
        (r#"{"child": {"child": {"u32": -1}}}"#, "child.child.u32"),
    ];
    for (text, path) in cases {
        let error = refused(text);
        assert!(
            error.starts_with(&format!("invalid JSON body: {path}: ")),
            "{text}: {error}"
        );
    }
}

#[test]
fn floats_are_rounded_once_to_their_width() {
    let message = read(r#"{"single": 3.4028235e+38, "real": 2.22507e-308}"#).expect("finite");
    assert_eq!(
        message.get_field_by_name("single").unwrap().as_f32(),
        Some(f32::MAX)
    );
    assert_eq!(
        message.get_field_by_name("real").unwrap().as_f64(),
        Some(2.22507e-308)
    );
    let message = read(r#"{"single": "-3.4028235e+38", "real": "NaN"}"#).expect("quoted");
    assert_eq!(
        message.get_field_by_name("single").unwrap().as_f32(),
        Some(f32::MIN)
    );
    assert!(message
        .get_field_by_name("real")
        .unwrap()
        .as_f64()
        .unwrap()
        .is_nan());
    let error = refused(r#"{"single": 3.5e38}"#);
    assert_eq!(
        error,
        "invalid JSON body: single: 3.5e38 is out of range for float"
    );
    let error = refused(r#"{"real": "1e309"}"#);
    assert_eq!(
        error,
        r#"invalid JSON body: real: "1e309" is out of range for double"#
    );
    // Through an already-parsed value too (serde_json's float_roundtrip).
    let value = serde_json::from_str(r#"{"real": 2.22507e-308}"#).unwrap();
    let message = from_value(kinds(), value, &JsonOptions::default()).unwrap();
    assert_eq!(
        message.get_field_by_name("real").unwrap().as_f64(),
        Some(2.22507e-308)
    );
}

#[test]
fn a_field_given_twice_is_refused() {
    for text in [
        r#"{"i32": 1, "i32": 2}"#,
        r#"{"child": {}, "child": {"i32": 1}}"#,
    ] {
        assert!(refused(text).contains("is given twice"), "{text}");
    }
}

#[test]
fn timestamps_are_refused_rather_than_altered() {
    for (text, reason) in [
        ("1970-01-01T00:00:60Z", "past second 59"),
        (
            "1970-01-01T00:00:00.0000000001Z",
            "more precise than nanoseconds",
        ),
        ("1970-01-01T24:00:00Z", "past hour 23"),
        ("1970-01-01T00:60:00Z", "past minute 59"),
    ] {
        let error = refused(&format!(r#"{{"at": "{text}"}}"#));
        assert!(
            error.starts_with("invalid JSON body: at: "),
            "{text}: {error}"
        );
        assert!(error.contains(reason), "{text}: {error}");
    }
    let message = read(r#"{"at": "1970-01-01T00:00:59.999999999+01:00"}"#).expect("valid");
    assert_eq!(
        written(&message),
        json!({"at": "1969-12-31T23:00:59.999999999Z"})
    );
}

#[test]
fn empty_any_is_read_and_written_as_the_empty_any() {
    let message = read(
        r#"{"any": {}, "anys": [{}, {"@type": "type.googleapis.com/google.protobuf.Empty"}]}"#,
    )
    .expect("empty Anys");
    let any = message.get_field_by_name("any").unwrap();
    let any = any.as_message().unwrap();
    assert!(message.has_field_by_name("any"));
    assert_eq!(any.encode_to_vec(), Vec::<u8>::new());
    let bytes = message.encode_to_vec();
    // any: field 15, empty; anys: an empty one, then one of Empty alone.
    let empty_url = b"type.googleapis.com/google.protobuf.Empty";
    let mut want = vec![
        0x7a,
        0,
        0x82,
        1,
        0,
        0x82,
        1,
        empty_url.len() as u8 + 2,
        0x0a,
    ];
    want.push(empty_url.len() as u8);
    want.extend_from_slice(empty_url);
    assert_eq!(bytes, want);
    assert_eq!(
        written(&message),
        json!({"any": {}, "anys": [{}, {"@type": "type.googleapis.com/google.protobuf.Empty", "value": {}}]})
    );
    let json = to_vec(&message, &JsonOptions::default()).unwrap();
    let again = from_slice(kinds(), &json, &JsonOptions::default()).unwrap();
    assert_eq!(again.encode_to_vec(), bytes);
    let error = refused(r#"{"any": {"@type": "restgate.invalid.empty-any/corpus.Kinds"}}"#);
    assert!(error.contains("not a type URL"), "{error}");
}

#[test]
fn any_contents_follow_the_same_rules() {
    let text =
        r#"{"any": {"@type": "type.googleapis.com/corpus.Kinds", "i64": "9223372036854775808"}}"#;
    assert!(refused(text).contains(r#"i64: "9223372036854775808" is out of range for int64"#));
    let text =
        r#"{"any": {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": "1e3"}}"#;
    let message = read(text).expect("an Int64Value in exponent form");
    assert_eq!(
        written(&message),
        json!({"any": {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": "1000"}})
    );
    let text = r#"{"any": {"@type": "type.googleapis.com/corpus.Kinds", "any": {}}}"#;
    let message = read(text).expect("an empty Any inside an Any");
    assert_eq!(
        written(&message),
        json!({"any": {"@type": "type.googleapis.com/corpus.Kinds", "any": {}}})
    );
}

#[test]
fn replies_without_a_json_form_are_refused() {
    let desc = kinds();
    let ttl = desc.get_field_by_name("ttl").unwrap();
    let at = desc.get_field_by_name("at").unwrap();
    let with = |field: &prost_reflect::FieldDescriptor, seconds: i64, nanos: i32| {
        let Some(inner) = field.kind().as_message().cloned() else {
            unreachable!()
        };
        let mut value = DynamicMessage::new(inner);
        value.set_field_by_name("seconds", Value::I64(seconds));
        value.set_field_by_name("nanos", Value::I32(nanos));
        let mut message = DynamicMessage::new(desc.clone());
        message.set_field(field, Value::Message(value));
        message
    };
    for message in [
        with(&ttl, 1, -1),
        with(&ttl, -1, 1),
        with(&at, 0, -1),
        with(&at, 0, 1_000_000_000),
    ] {
        let error = to_vec(&message, &JsonOptions::default()).unwrap_err();
        assert!(matches!(error, TranscodeError::Reply(_)), "{error}");
    }
    let ok = to_vec(&with(&ttl, -1, -5), &JsonOptions::default()).unwrap();
    assert_eq!(ok, br#"{"ttl":"-1.000000005s"}"#);
}

#[test]
fn a_reply_field_mask_path_that_is_no_field_path_is_refused_by_both_writers() {
    let desc = kinds();
    let mask = desc.get_field_by_name("mask").unwrap();
    let plan = crate::transcode::MessagePlan::compile(&desc);
    let options = JsonOptions::default();
    let with = |paths: &[&str]| {
        let Some(inner) = mask.kind().as_message().cloned() else {
            unreachable!()
        };
        let mut value = DynamicMessage::new(inner);
        let paths = paths.iter().map(|p| Value::String((*p).into())).collect();
        value.set_field_by_name("paths", Value::List(paths));
        let mut message = DynamicMessage::new(desc.clone());
        message.set_field(&mask, Value::Message(value));
        message
    };
    // `&._` was written as `&.` (the fuzzer's find); a trailing `_`, two in
    // a row or before a digit, an upper-case letter, an empty path or
    // segment, a segment starting with a digit would not read back either.
    for bad in [
        "&._", "a_", "a__b", "a_1", "aB", "", "a..b", "a.", "1a", "a-b", "é",
    ] {
        let message = with(&["ok", bad]);
        let error = to_vec(&message, &options).unwrap_err();
        assert!(
            matches!(&error, TranscodeError::Reply(e) if e.contains("lower_snake_case")),
            "{bad:?}: {error}"
        );
        let mut out = Vec::new();
        let error = plan
            .wire_to_json(&message.encode_to_vec(), &options, &mut out)
            .unwrap_err();
        assert!(
            matches!(&error, TranscodeError::Reply(e) if e.contains("lower_snake_case")),
            "{bad:?}: plan: {error}"
        );
    }
    let message = with(&["user.display_name", "_x", "a1_b", "v2"]);
    let want = br#"{"mask":"user.displayName,X,a1B,v2"}"#;
    assert_eq!(to_vec(&message, &options).unwrap(), want);
    let mut out = Vec::new();
    plan.wire_to_json(&message.encode_to_vec(), &options, &mut out)
        .unwrap();
    assert_eq!(out, want);
    let read_back = read(std::str::from_utf8(want).unwrap()).unwrap();
    let paths = |m: &DynamicMessage| {
        let mask = m.get_field(&mask);
        let mask = mask.as_message().expect("a FieldMask");
        format!("{:?}", mask.get_field_by_name("paths"))
    };
    assert_eq!(paths(&read_back), paths(&message));
}

#[test]
fn dynamic_values_hold_exact_doubles() {
    let message = read(r#"{"dynamic": {"a": [2.22507e-308]}}"#).expect("a Struct value");
    assert_eq!(written(&message), json!({"dynamic": {"a": [2.22507e-308]}}));
    assert!(refused(r#"{"dynamic": 1e400}"#).contains("out of range"));
    // A Struct's keys are its own, not google.protobuf.Value's fields.
    let message = read(r#"{"dynamic": {"numberValue": "abc", "fields": 1}}"#).expect("keys");
    assert_eq!(
        written(&message),
        json!({"dynamic": {"numberValue": "abc", "fields": 1.0}})
    );
}

#[test]
fn text_prost_reflect_reads_right_is_read_as_sent() {
    // Its errors keep their position then.
    let error = refused(r#"{"i64": "5", "child": 5}"#);
    assert!(error.contains("at line 1 column"), "{error}");
    // Where the text is rewritten, the pass names the field instead.
    let error = refused(r#"{"i32": "1e5", "u32": -1}"#);
    assert_eq!(
        error,
        "invalid JSON body: u32: -1 is out of range for uint32"
    );
}

#[test]
fn a_body_nested_deeper_than_serde_json_reads_is_refused_without_recursing() {
    // 100,000 levels once overflowed the worker's stack in the strict pass.
    let deep =
        |levels: usize| format!("{}{{}}{}", "{\"child\":".repeat(levels), "}".repeat(levels));
    for levels in [127, 128, 100_000] {
        assert_eq!(
            refused(&deep(levels)),
            "invalid JSON body: the body nests arrays and objects deeper than 127 levels",
            "{levels} levels"
        );
    }
    // As deep as serde_json reads, and brackets inside strings not counted.
    let text = format!(
        "{}{{\"dynamic\":\"{}\"}}{}",
        "{\"child\":".repeat(125),
        "[{".repeat(200),
        "}".repeat(125)
    );
    read(&text).expect("125 messages deep, brackets in a string");
    let in_struct = format!("{{\"dynamic\":{}{}}}", "[".repeat(40), "]".repeat(40));
    read(&in_struct).expect("a Struct value 41 levels deep");
}
