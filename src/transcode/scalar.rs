//! Text ↔ field values for path variables, query parameters and `Location`:
//! numbers, bools, strings, bytes (base64), enums by name or number (any
//! number for an open proto3 enum; a declared one for a closed proto2 enum),
//! and well-known types in their JSON string forms.

use base64::Engine as _;
use prost_reflect::{DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, Syntax, Value};

use super::{json, JsonOptions, TranscodeError};

/// Parses `text` as a value of `field`'s kind (the element kind for a
/// repeated field). `name` is the dotted path, for messages.
pub(super) fn parse(
    field: &FieldDescriptor,
    name: &str,
    text: &str,
) -> Result<Value, TranscodeError> {
    let bad = |reason: &str| TranscodeError::BadValue {
        field: name.to_owned(),
        value: text.to_owned(),
        reason: reason.to_owned(),
    };
    let value = match field.kind() {
        Kind::String => Value::String(text.to_owned()),
        Kind::Bytes => Value::Bytes(
            decode_base64(text)
                .ok_or_else(|| bad("expected base64"))?
                .into(),
        ),
        Kind::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("expected true or false")),
        },
        kind @ (Kind::Int32
        | Kind::Sint32
        | Kind::Sfixed32
        | Kind::Int64
        | Kind::Sint64
        | Kind::Sfixed64
        | Kind::Uint32
        | Kind::Fixed32
        | Kind::Uint64
        | Kind::Fixed64) => {
            let n = json::parse_integer(&kind, text).map_err(|reason| bad(&reason))?;
            integer_value(&kind, n)
        }
        Kind::Float => Value::F32(parse_float(text, true).map_err(|reason| bad(&reason))? as f32),
        Kind::Double => Value::F64(parse_float(text, false).map_err(|reason| bad(&reason))?),
        Kind::Enum(e) => match e.get_value_by_name(text) {
            Some(v) => Value::EnumNumber(v.number()),
            None => Value::EnumNumber(
                text.parse()
                    .ok()
                    .filter(|n| is_open(&e) || e.get_value(*n).is_some())
                    .ok_or_else(|| bad(&format!("not a value of {}", e.full_name())))?,
            ),
        },
        Kind::Message(m) => {
            // Wrappers (`google.protobuf.Int64Value`...) hold one `value` field;
            // other well-known types (Timestamp, Duration, FieldMask) parse from
            // their JSON string form.
            if m.full_name().starts_with("google.protobuf.") && m.full_name().ends_with("Value") {
                if let Some(inner) = m.get_field_by_name("value") {
                    let mut wrapper = DynamicMessage::new(m);
                    wrapper.set_field(&inner, parse(&inner, name, text)?);
                    return Ok(Value::Message(wrapper));
                }
            }
            let options = JsonOptions::default();
            let message = json::from_value(m, serde_json::Value::String(text.to_owned()), &options)
                .map_err(|e| bad(&e.to_string()))?;
            Value::Message(message)
        }
    };
    Ok(value)
}

/// Whether `e` is open: any number is a value of it, kept as sent (proto3),
/// as the JSON body already reads it. prost-reflect does not say; the enum's
/// file syntax does (proto2 enums are closed: only their declared numbers).
fn is_open(e: &EnumDescriptor) -> bool {
    e.parent_file().syntax() == Syntax::Proto3
}

/// An integer already checked to be in `kind`'s range.
fn integer_value(kind: &Kind, n: i128) -> Value {
    match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(n as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(n as i64),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(n as u32),
        _ => Value::U64(n as u64),
    }
}

/// A `float` (`single`) or `double`, exactly rounded; out of range refused.
fn parse_float(text: &str, single: bool) -> Result<f64, String> {
    match text {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => json::parse_float(text, single),
    }
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let trimmed = text.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed))
        .or_else(|_| STANDARD.decode(text))
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

/// The text of a scalar value, as it appears in a URI: what [`parse`] reads.
/// `None` for messages, lists and maps.
pub(super) fn to_text(value: &Value) -> Option<String> {
    Some(match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(n) => n.to_string(),
        Value::F64(n) => n.to_string(),
        Value::EnumNumber(n) => n.to_string(),
        Value::Bytes(b) => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b),
        Value::Message(_) | Value::List(_) | Value::Map(_) => return None,
    })
}
