//! JSON → protobuf, differential: restgate's reader against prost-reflect's
//! serde support on arbitrary JSON for a fixture message. When both accept,
//! the messages are equal. When only one accepts, the difference must be one
//! of the documented strictness rules (RELIABILITY.md), each a place where
//! restgate follows proto3 JSON and prost-reflect does not:
//!
//! - restgate refuses: an integer out of its field's range (prost-reflect
//!   reads it through an f64 that lands in range), a number whose fraction
//!   is not zero that an f64 rounds to an integer, a number past f64's
//!   range in the value of an unknown field that is dropped (prost-reflect
//!   skips the value unread), a quoted integer not
//!   written as a JSON number (`"09"`, `"+1"`), a field given twice, a
//!   Timestamp with second 60 or more than nine fractional digits, bytes
//!   that are no UTF-8 inside an unknown field that is dropped;
//! - restgate accepts: an integer in exponent or fraction form (`1e5`,
//!   `"1.0"`), a float prost-reflect's f64 reading refuses, `{}` as an
//!   empty `google.protobuf.Any`;
//! - both accept, prost-reflect rounding: a 64-bit integer in exponent form
//!   past 2^53 (`4.3300000005e18`), which restgate reads exactly and
//!   prost-reflect through an f64 (4330000000499999744).
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions};
use restgate::transcode::{json, JsonOptions};

/// prost-reflect alone, as restgate would call it without its strict pass.
fn reference(
    desc: MessageDescriptor,
    bytes: &[u8],
    deny_unknown: bool,
) -> Result<DynamicMessage, String> {
    let options = DeserializeOptions::new().deny_unknown_fields(deny_unknown);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let message = DynamicMessage::deserialize_with_options(desc, &mut de, &options)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(message)
}

/// A message as JSON, for comparing messages whose floats are NaN.
fn as_json(message: &DynamicMessage) -> serde_json::Value {
    message
        .serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
        .unwrap_or_else(|e| serde_json::Value::String(format!("unwritable: {e}")))
}

/// The reasons restgate refuses what prost-reflect reads (see the module doc).
const STRICTER: [&str; 9] = [
    // A number past f64's range (`1e400`) in a dropped unknown field's
    // value, which prost-reflect skips without reading it.
    "number out of range",
    // A quoted integer that is not written as a JSON number (`"09"`, `"+1"`).
    "is not a number",
    // A fraction that is not zero, read by prost-reflect through an f64
    // that rounds it to an integer (`2.00000000000000012`).
    "is not an integer",
    // Bytes that are no UTF-8, in the value of a field dropped as unknown.
    "invalid unicode code point",
    "is out of range for",
    "is given twice",
    "past second 59",
    "more precise than nanoseconds",
    "past minute 59",
];

/// Whether `ours` (restgate's error) is one of the documented stricter rules.
fn deliberately_stricter(ours: &str) -> bool {
    STRICTER.iter().any(|reason| ours.contains(reason))
}

/// Why prost-reflect refuses what restgate reads (see the module doc).
const LAXER: [&str; 5] = [
    // An integer in exponent or fraction form, bare or quoted.
    "expected integer",
    "expected an integer",
    "invalid type: floating point",
    "invalid digit found in string",
    // `{}` as an empty Any.
    "@type",
];

/// Whether prost-reflect refused `theirs` for a documented reason restgate
/// reads the value (see the module doc).
fn deliberately_laxer(theirs: &str) -> bool {
    LAXER.iter().any(|reason| theirs.contains(reason))
}

/// Whether two messages' JSON are the same but for 64-bit integers (JSON
/// strings) that prost-reflect read through an f64: restgate reads
/// `4.3300000005e18` as 4330000000500000000 exactly, prost-reflect as the
/// nearest f64, 4330000000499999744 (see the module doc).
fn same_but_f64_rounding(ours: &serde_json::Value, theirs: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same_but_f64_rounding(v, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same_but_f64_rounding(v, w))
        }
        (Value::String(a), Value::String(b)) if a != b => {
            match (a.parse::<i128>(), b.parse::<i128>()) {
                (Ok(x), Ok(y)) => x as f64 == y as f64,
                _ => false,
            }
        }
        _ => ours == theirs,
    }
}

fuzz_target!(|input: (u8, &[u8])| {
    let (selector, bytes) = input;
    let desc = restgate_fuzz::fixture_message(selector);
    let deny_unknown = selector & 0x80 == 0;
    let options = JsonOptions {
        deny_unknown_fields: deny_unknown,
        ..JsonOptions::default()
    };
    let ours = json::from_slice(desc.clone(), bytes, &options);
    let theirs = reference(desc, bytes, deny_unknown);
    let text = String::from_utf8_lossy(bytes);
    match (ours, theirs) {
        (Ok(ours), Ok(theirs)) => {
            if ours != theirs {
                let (ours, theirs) = (as_json(&ours), as_json(&theirs));
                assert!(
                    same_but_f64_rounding(&ours, &theirs),
                    "{text}: different messages\n  ours: {ours}\ntheirs: {theirs}"
                );
            }
        }
        (Err(ours), Ok(_)) => {
            assert!(
                deliberately_stricter(&ours.to_string()),
                "{text}: only restgate refuses: {ours}"
            );
        }
        (Ok(_), Err(theirs)) => {
            assert!(
                deliberately_laxer(&theirs),
                "{text}: only prost-reflect refuses: {theirs}"
            );
        }
        (Err(_), Err(_)) => {}
    }
});
