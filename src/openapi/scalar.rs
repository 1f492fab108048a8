//! Scalars and well-known types → JSON Schema: the leaves of every schema.
//!
//! In JSON, 64-bit integers are strings (proto3 JSON writes them so, and
//! JavaScript numbers cannot hold them); in a path or query string they are
//! plain digits. Every integer kind carries its range (`minimum`,
//! `maximum`): the gateway refuses a value outside it. Well-known types take their JSON forms: Timestamp an RFC
//! 3339 string, Duration `1.5s`, FieldMask a comma list, wrappers their
//! wrapped value or null, Struct an object, Value anything, ListValue an
//! array, Any an object with `@type`, Empty `{}`.

use prost_reflect::{Kind, MessageDescriptor};
use serde_json::{json, Value};

use super::schema::Form;

/// A scalar (not message, not enum) value.
pub(super) fn scalar(kind: &Kind, form: Form) -> Value {
    match (kind, form) {
        (Kind::Double, _) => json!({ "type": "number", "format": "double" }),
        (Kind::Float, _) => json!({ "type": "number", "format": "float" }),
        (Kind::Int32 | Kind::Sint32 | Kind::Sfixed32, _) => json!({
            "type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX,
        }),
        (Kind::Uint32 | Kind::Fixed32, _) => json!({
            "type": "integer", "format": "uint32", "minimum": 0, "maximum": u32::MAX,
        }),
        (Kind::Int64 | Kind::Sint64 | Kind::Sfixed64, Form::Json) => json!({
            // Written as a string; read from a string or a number.
            "type": ["string", "integer"], "format": "int64", "pattern": "^-?[0-9]{1,19}$",
            "minimum": i64::MIN, "maximum": i64::MAX,
        }),
        (Kind::Int64 | Kind::Sint64 | Kind::Sfixed64, Form::Text) => json!({
            "type": "integer", "format": "int64", "minimum": i64::MIN, "maximum": i64::MAX,
        }),
        (Kind::Uint64 | Kind::Fixed64, Form::Json) => json!({
            "type": ["string", "integer"], "format": "uint64", "pattern": "^[0-9]{1,20}$",
            "minimum": 0, "maximum": u64::MAX,
        }),
        (Kind::Uint64 | Kind::Fixed64, Form::Text) => json!({
            "type": "integer", "format": "uint64", "minimum": 0, "maximum": u64::MAX,
        }),
        (Kind::Bool, _) => json!({ "type": "boolean" }),
        (Kind::String, _) => json!({ "type": "string" }),
        (Kind::Bytes, _) => json!({ "type": "string", "contentEncoding": "base64" }),
        (Kind::Message(_) | Kind::Enum(_), _) => {
            unreachable!("Schemas::singular handles messages and enums")
        }
    }
}

/// How a map key of this kind is written as a JSON property name.
pub(super) fn map_key_pattern(kind: &Kind) -> Option<&'static str> {
    match kind {
        Kind::Bool => Some("^(true|false)$"),
        Kind::Int32 | Kind::Int64 | Kind::Sint32 | Kind::Sint64 => Some("^-?[0-9]+$"),
        Kind::Sfixed32 | Kind::Sfixed64 => Some("^-?[0-9]+$"),
        Kind::Uint32 | Kind::Uint64 | Kind::Fixed32 | Kind::Fixed64 => Some("^[0-9]+$"),
        _ => None,
    }
}

/// A well-known type's schema in `form`, or `None` when `message` is not
/// one (or, in text, has no string form).
pub(super) fn well_known(message: &MessageDescriptor, form: Form) -> Option<Value> {
    let name = message.full_name().strip_prefix("google.protobuf.")?;
    let wrapped = match name {
        "DoubleValue" => Some(Kind::Double),
        "FloatValue" => Some(Kind::Float),
        "Int64Value" => Some(Kind::Int64),
        "UInt64Value" => Some(Kind::Uint64),
        "Int32Value" => Some(Kind::Int32),
        "UInt32Value" => Some(Kind::Uint32),
        "BoolValue" => Some(Kind::Bool),
        "StringValue" => Some(Kind::String),
        "BytesValue" => Some(Kind::Bytes),
        _ => None,
    };
    if let Some(kind) = wrapped {
        let mut schema = scalar(&kind, form);
        if form == Form::Json {
            // A wrapper is its wrapped value, or null when unset.
            let mut types = match schema["type"].take() {
                Value::Array(types) => types,
                one => vec![one],
            };
            types.push(json!("null"));
            schema["type"] = Value::Array(types);
        }
        return Some(schema);
    }
    let schema = match name {
        "Timestamp" => json!({
            "type": "string", "format": "date-time",
            "description": "RFC 3339, e.g. `2024-05-01T12:00:00Z`.",
        }),
        "Duration" => json!({
            "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$",
            "description": "Seconds with an `s` suffix, e.g. `1.5s`.",
        }),
        "FieldMask" => json!({
            "type": "string",
            "description": "Field paths separated by commas, e.g. `displayName,address.city`.",
        }),
        _ if form == Form::Text => return None,
        "Struct" => json!({ "type": "object", "additionalProperties": true }),
        "Value" => json!({ "description": "Any JSON value." }),
        "ListValue" => json!({ "type": "array", "items": {} }),
        "Empty" => json!({ "type": "object", "additionalProperties": false }),
        "Any" => json!({
            "type": "object",
            "properties": { "@type": { "type": "string", "description": "The type URL of the packed message." } },
            "required": ["@type"],
            "additionalProperties": true,
            "description": "A packed message: its `@type` URL and its fields (or `value` for a well-known type).",
        }),
        _ => return None,
    };
    Some(schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::Descriptors;

    /// Looks `name` up in the fixture service's pool (wrappers, Duration,
    /// Struct...), else in the bundled one (Any).
    fn wkt(name: &str, form: Form) -> Option<Value> {
        let message = [
            super::super::fixture_pool(),
            Descriptors::bundled().pool().clone(),
        ]
        .iter()
        .find_map(|pool| pool.get_message_by_name(name))
        .unwrap_or_else(|| panic!("{name} in a pool"));
        well_known(&message, form)
    }

    #[test]
    fn scalars_in_json_and_in_text() {
        let cases = [
            (
                Kind::Int64,
                Form::Json,
                json!({ "type": ["string", "integer"], "format": "int64", "pattern": "^-?[0-9]{1,19}$", "minimum": i64::MIN, "maximum": i64::MAX }),
            ),
            (
                Kind::Sfixed64,
                Form::Text,
                json!({ "type": "integer", "format": "int64", "minimum": i64::MIN, "maximum": i64::MAX }),
            ),
            (
                Kind::Fixed64,
                Form::Json,
                json!({ "type": ["string", "integer"], "format": "uint64", "pattern": "^[0-9]{1,20}$", "minimum": 0, "maximum": u64::MAX }),
            ),
            (
                Kind::Uint64,
                Form::Text,
                json!({ "type": "integer", "format": "uint64", "minimum": 0, "maximum": u64::MAX }),
            ),
            (
                Kind::Sint32,
                Form::Json,
                json!({ "type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX }),
            ),
            (
                Kind::Float,
                Form::Json,
                json!({ "type": "number", "format": "float" }),
            ),
            (Kind::Bool, Form::Text, json!({ "type": "boolean" })),
            (
                Kind::Bytes,
                Form::Json,
                json!({ "type": "string", "contentEncoding": "base64" }),
            ),
        ];
        for (kind, form, want) in cases {
            assert_eq!(scalar(&kind, form), want, "{kind:?} {form:?}");
        }
        assert_eq!(scalar(&Kind::Fixed32, Form::Json)["maximum"], u32::MAX);
        assert_eq!(map_key_pattern(&Kind::Bool), Some("^(true|false)$"));
        assert_eq!(map_key_pattern(&Kind::String), None);
    }

    #[test]
    fn well_known_types_in_json() {
        let cases = [
            ("google.protobuf.Timestamp", "format", json!("date-time")),
            ("google.protobuf.Duration", "type", json!("string")),
            ("google.protobuf.FieldMask", "type", json!("string")),
            (
                "google.protobuf.Int64Value",
                "type",
                json!(["string", "integer", "null"]),
            ),
            (
                "google.protobuf.BoolValue",
                "type",
                json!(["boolean", "null"]),
            ),
            (
                "google.protobuf.BytesValue",
                "contentEncoding",
                json!("base64"),
            ),
            (
                "google.protobuf.Struct",
                "additionalProperties",
                json!(true),
            ),
            ("google.protobuf.ListValue", "type", json!("array")),
            ("google.protobuf.Empty", "type", json!("object")),
            ("google.protobuf.Any", "required", json!(["@type"])),
        ];
        for (name, key, want) in cases {
            assert_eq!(wkt(name, Form::Json).unwrap()[key], want, "{name}");
        }
        assert_eq!(
            wkt("google.protobuf.Value", Form::Json),
            Some(json!({ "description": "Any JSON value." }))
        );
        assert_eq!(wkt("examples.v1.User", Form::Json), None);
    }

    #[test]
    fn only_string_forms_in_text() {
        assert_eq!(
            wkt("google.protobuf.Int64Value", Form::Text).unwrap()["type"],
            "integer"
        );
        assert_eq!(
            wkt("google.protobuf.Timestamp", Form::Text).unwrap()["format"],
            "date-time"
        );
        for name in [
            "google.protobuf.Struct",
            "google.protobuf.Value",
            "google.protobuf.Any",
            "google.protobuf.Empty",
        ] {
            assert_eq!(wkt(name, Form::Text), None, "{name}");
        }
    }
}
