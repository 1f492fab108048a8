//! Protobuf wire bytes → JSON, differential: the compiled transcoder
//! (`MessagePlan::wire_to_json`) against the reference writer
//! (`transcode::json::to_vec` of the message prost-reflect decodes) on any
//! bytes as a fixture message (what an upstream might send), with any of
//! the JSON options. Never panics; bytes that do not decode are refused by
//! both; a reply one cannot write the other cannot either; what both
//! write is the same JSON (as values: a map's or an Any's keys in any
//! order).
//!
//! One deliberate difference (RELIABILITY.md): a map field's record whose
//! wire type is not length-delimited is refused by the plan, as every
//! record of the wrong wire type is; prost-reflect reads its varint as the
//! length of an entry and decodes what follows as one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::encoding::{self, WireType};
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor};
use restgate::transcode::{json, JsonOptions};

/// Whether `wire` (a message of `desc`) holds, at any depth, a map
/// field's record whose wire type is not length-delimited (see the module
/// doc): prost-reflect decodes it as an entry, the plan refuses it.
fn map_record_of_wrong_wire_type(desc: &MessageDescriptor, mut wire: &[u8]) -> bool {
    while !wire.is_empty() {
        let Ok((number, wire_type)) = encoding::decode_key(&mut wire) else {
            return false;
        };
        let field = desc.get_field(number);
        if wire_type != WireType::LengthDelimited {
            if field.as_ref().is_some_and(FieldDescriptor::is_map) {
                return true;
            }
            let context = encoding::DecodeContext::default();
            if encoding::skip_field(wire_type, number, &mut wire, context).is_err() {
                return false;
            }
            continue;
        }
        let Ok(len) = encoding::decode_varint(&mut wire) else {
            return false;
        };
        let Some(inner) = usize::try_from(len).ok().and_then(|len| wire.get(..len)) else {
            return false;
        };
        wire = &wire[inner.len()..];
        if let Some(Kind::Message(inner_desc)) = field.map(|f| f.kind()) {
            if map_record_of_wrong_wire_type(&inner_desc, inner) {
                return true;
            }
        }
    }
    false
}

fuzz_target!(|input: (u8, &[u8])| {
    let (selector, bytes) = input;
    let desc = restgate_fuzz::fixture_message(selector);
    let options = JsonOptions {
        deny_unknown_fields: true,
        emit_unpopulated: selector & 0x10 != 0,
        proto_field_names: selector & 0x20 != 0,
        enum_numbers: selector & 0x40 != 0,
    };
    let plan = restgate_fuzz::fixture_plan(&desc);
    let mut ours = Vec::new();
    let result = plan.wire_to_json(bytes, &options, &mut ours);
    let Ok(message) = DynamicMessage::decode(desc.clone(), bytes) else {
        assert!(
            result.is_err(),
            "{bytes:?}: does not decode, yet the plan wrote {}",
            String::from_utf8_lossy(&ours)
        );
        return;
    };
    match (result, json::to_vec(&message, &options)) {
        (Ok(()), Ok(reference)) => {
            let ours: serde_json::Value = serde_json::from_slice(&ours)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&ours)));
            let reference: serde_json::Value =
                serde_json::from_slice(&reference).expect("the reference writes JSON");
            assert!(
                restgate_fuzz::json_eq(&ours, &reference),
                "{bytes:?} ({options:?}): different JSON:\n plan {ours}\n reference {reference}"
            );
        }
        (Err(_), Err(_)) => assert!(ours.is_empty(), "{bytes:?}: refused with bytes left"),
        (Err(_), Ok(_)) if map_record_of_wrong_wire_type(&desc, bytes) => {}
        (Err(ours), Ok(reference)) => panic!(
            "{bytes:?} ({options:?}): only the plan refuses ({ours}); the reference writes {}",
            String::from_utf8_lossy(&reference)
        ),
        (Ok(()), Err(reference)) => panic!(
            "{bytes:?} ({options:?}): only the reference refuses ({reference}); the plan writes {}",
            String::from_utf8_lossy(&ours)
        ),
    }
});
