//! JSON → protobuf wire bytes, differential: the compiled transcoder
//! (`MessagePlan::json_to_wire`) against the reference reader
//! (`transcode::json::from_slice`, then prost's encoding) on any bytes as
//! JSON of a fixture message, unknown fields refused or not. Both accept
//! or both refuse; when both accept, the plan's bytes decode to the
//! message the reference read (RELIABILITY.md lists what is compared
//! loosely and why).
//!
//! Two deliberate differences, both in the value of an unknown field that
//! is dropped: a number past f64's range (`1e400`) is read by the plan (it
//! is JSON, and never converted) and refused by the reference (serde_json
//! refuses to parse it even to skip it); a lone surrogate escape
//! (`"\udfff"`, no Unicode text) is refused by the plan, as it is in any
//! string, and let through by serde_json when it skips the value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use prost_reflect::{DynamicMessage, ReflectMessage as _};
use restgate::transcode::{json, JsonOptions};

/// `message` as decoding its encoding gives it: fields set to their
/// default dropped, as the wire has them.
fn normal(message: &DynamicMessage) -> DynamicMessage {
    DynamicMessage::decode(message.descriptor(), message.encode_to_vec().as_slice())
        .expect("an encoding decodes")
}

/// `message` as JSON (for messages whose floats are NaN, and Anys whose
/// payload fields two writers may order differently).
fn as_json(message: &DynamicMessage) -> Option<serde_json::Value> {
    let written = json::to_vec(message, &JsonOptions::default()).ok()?;
    serde_json::from_slice(&written).ok()
}

/// The same message: equal once normal, the same bytes (NaN is not equal
/// to itself), or the same JSON.
fn same(a: &DynamicMessage, b: &DynamicMessage) -> bool {
    let (a, b) = (normal(a), normal(b));
    if a == b || a.encode_to_vec() == b.encode_to_vec() {
        return true;
    }
    match (as_json(&a), as_json(&b)) {
        (Some(ja), Some(jb)) => restgate_fuzz::json_eq(&ja, &jb),
        _ => false,
    }
}

/// Whether `message`'s JSON is that of its encoding: prost-reflect keeps
/// `null` in a repeated `Value` as a Value with no kind, which its own
/// JSON writes as `null` and its encoding drops; the plan writes the
/// encoding. Nothing to compare such a message with.
fn self_consistent(message: &DynamicMessage) -> bool {
    match (as_json(message), as_json(&normal(message))) {
        (Some(a), Some(b)) => restgate_fuzz::json_eq(&a, &b),
        _ => false,
    }
}

fuzz_target!(|input: (u8, &[u8])| {
    let (selector, bytes) = input;
    let desc = restgate_fuzz::fixture_message(selector);
    let options = JsonOptions {
        deny_unknown_fields: selector & 0x80 == 0,
        ..JsonOptions::default()
    };
    let plan = restgate_fuzz::fixture_plan(&desc);
    let mut wire = Vec::new();
    let ours = plan.json_to_wire(bytes, &options, &mut wire);
    let reference = json::from_slice(desc.clone(), bytes, &options);
    let text = String::from_utf8_lossy(bytes);
    match (ours, reference) {
        (Ok(()), Ok(reference)) => {
            let decoded = DynamicMessage::decode(desc, wire.as_slice())
                .unwrap_or_else(|e| panic!("{text}: the plan's bytes do not decode ({e})"));
            if self_consistent(&reference) {
                assert!(
                    same(&decoded, &reference),
                    "{text}: different messages:\n plan {:?}\n reference {:?}",
                    as_json(&decoded),
                    as_json(&reference)
                );
            }
        }
        (Err(ours), Ok(_))
            if !options.deny_unknown_fields && ours.to_string().contains("surrogate") => {}
        (Err(ours), Ok(_)) => panic!("{text}: only the plan refuses: {ours}"),
        (Ok(()), Err(reference))
            if !options.deny_unknown_fields
                && reference
                    .to_string()
                    .contains("number out of range at line") => {}
        (Ok(()), Err(reference)) => panic!("{text}: only the reference refuses: {reference}"),
        (Err(ours), Err(_)) => {
            assert!(wire.is_empty(), "{text}: refused ({ours}) with bytes left");
        }
    }
});
