//! Protobuf → JSON: arbitrary bytes decoded as a fixture message (what an
//! upstream might send), then written as the gateway writes replies: never
//! panics; what is written is valid JSON that the gateway reads back as
//! the same message (written again, the same JSON).
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost_reflect::DynamicMessage;
use restgate::transcode::{json, JsonOptions};

fuzz_target!(|input: (u8, &[u8])| {
    let (selector, bytes) = input;
    let desc = restgate_fuzz::fixture_message(selector);
    let Ok(message) = DynamicMessage::decode(desc.clone(), bytes) else {
        return;
    };
    let options = JsonOptions {
        deny_unknown_fields: true,
        emit_unpopulated: selector & 0x10 != 0,
        proto_field_names: selector & 0x20 != 0,
        enum_numbers: selector & 0x40 != 0,
    };
    // A reply that cannot be written (a Timestamp out of range, a FieldMask
    // path that is no field path) is refused: a 500 naming the field, not a
    // panic.
    let Ok(written) = json::to_vec(&message, &options) else {
        return;
    };
    let value: serde_json::Value = serde_json::from_slice(&written)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&written)));
    let read = json::from_slice(desc, &written, &JsonOptions::default()).unwrap_or_else(|e| {
        panic!(
            "does not read back ({e}): {}",
            String::from_utf8_lossy(&written)
        )
    });
    let again = json::to_vec(&read, &options).expect("what was read back is written");
    let again: serde_json::Value = serde_json::from_slice(&again).expect("JSON");
    assert_eq!(again, value, "written, read back and written again");
});
