//! PATCH: the update mask a client did not send, computed from the fields its
//! JSON body carries, so a partial update touches only those; and the
//! output-only fields such a body may not carry.

use prost_reflect::{Kind, MessageDescriptor};

use crate::compile::FieldBehavior;

/// The proto-name paths of every field present in `json` (an object of
/// message `desc`): `{"title":"x","nested":{"count":2}}` →
/// `["title", "nested.count"]`. Plain sub-messages are descended into;
/// well-known types, maps, lists and empty objects are leaves.
pub(super) fn paths_present(desc: &MessageDescriptor, json: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(desc, json, "", &mut out);
    out
}

fn collect(
    desc: &MessageDescriptor,
    json: &serde_json::Value,
    prefix: &str,
    out: &mut Vec<String>,
) {
    let Some(object) = json.as_object() else {
        return;
    };
    for (key, value) in object {
        let Some(field) = desc
            .get_field_by_name(key)
            .or_else(|| desc.get_field_by_json_name(key))
        else {
            continue;
        };
        let path = format!("{prefix}{}", field.name());
        match field.kind() {
            Kind::Message(inner)
                if !field.is_list()
                    && !field.is_map()
                    && !inner.full_name().starts_with("google.protobuf.")
                    && value.as_object().is_some_and(|o| !o.is_empty()) =>
            {
                collect(&inner, value, &format!("{path}."), out);
            }
            _ => out.push(path),
        }
    }
}

/// The first of `paths` (as [`paths_present`] gives them) that is, or lies
/// inside, a field marked `OUTPUT_ONLY` by `google.api.field_behavior`:
/// the service sets it, so a PATCH may not write it.
pub(super) fn output_only(desc: &MessageDescriptor, paths: &[String]) -> Option<String> {
    paths.iter().find_map(|path| {
        let mut message = desc.clone();
        let mut at = Vec::new();
        for part in path.split('.') {
            let field = message.get_field_by_name(part)?;
            at.push(part);
            if FieldBehavior::of(&field).output_only {
                return Some(at.join("."));
            }
            match field.kind() {
                Kind::Message(inner) => message = inner,
                _ => return None,
            }
        }
        None
    })
}

/// The request's `google.protobuf.FieldMask` field, if it has one at the top level.
pub(super) fn mask_field(desc: &MessageDescriptor) -> Option<prost_reflect::FieldDescriptor> {
    desc.fields().find(|f| {
        !f.is_list()
            && matches!(f.kind(), Kind::Message(m) if m.full_name() == "google.protobuf.FieldMask")
    })
}
