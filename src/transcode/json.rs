//! The one narrow interface for proto3 canonical JSON, over prost-reflect's
//! serde support (the well-kept reflection crate's mapping: lowerCamelCase,
//! int64 as strings, enums as names, well-known types in their JSON forms).
//!
//! Measured before writing anything cleverer: prost-reflect's serde path costs
//! about 8.5 µs per small request and 0.07 µs per byte of structured JSON.
//! Everything that converts JSON goes through here, so a streaming
//! transcoder can replace these functions and keep them as its test oracle.
//!
//! The mapping is the one protobuf's conformance suite checks (its Required
//! and Recommended JSON tests pass: `tests/conformance.rs`). Where
//! prost-reflect differs, this side of the interface makes up for it: request
//! JSON goes through the module `strict` first (exact integers and floats,
//! duplicate fields, strict Timestamps, empty Anys), and a reply is checked
//! by the module `checks` before it is written (Timestamps and Durations out
//! of range, FieldMask paths that are no field paths).
//! The strict pass reads the text once more per level of nesting before
//! prost-reflect reads it, on top of the figures above; a body nested
//! deeper than serde_json reads is refused before that (module `depth`).

mod checks;
mod depth;
mod number;
mod strict;
#[cfg(test)]
mod tests;

pub(super) use checks::{camel_path, not_a_field_path};
pub(super) use number::{float as parse_float, integer as parse_integer};

use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions};

use super::TranscodeError;

/// How JSON is read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonOptions {
    /// Refuse request fields the message does not have (400). Default: true.
    pub deny_unknown_fields: bool,
    /// Write fields that hold their default value. Default: false.
    pub emit_unpopulated: bool,
    /// Write proto field names (`user_id`) instead of lowerCamelCase. Default: false.
    pub proto_field_names: bool,
    /// Write enums as numbers instead of names (`$alt=json;enum-encoding=int`
    /// asks it for one reply). Default: false.
    pub enum_numbers: bool,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            deny_unknown_fields: true,
            emit_unpopulated: false,
            proto_field_names: false,
            enum_numbers: false,
        }
    }
}

impl JsonOptions {
    fn de(&self) -> DeserializeOptions {
        DeserializeOptions::new().deny_unknown_fields(self.deny_unknown_fields)
    }

    fn ser(&self) -> SerializeOptions {
        SerializeOptions::new()
            .skip_default_fields(!self.emit_unpopulated)
            .use_proto_field_name(self.proto_field_names)
            .use_enum_numbers(self.enum_numbers)
    }
}

/// Parses JSON bytes into a message of type `desc`. A value that does not
/// fit its field (an integer out of range, a second 60) is refused with the
/// field's path, never clamped or altered.
pub fn from_slice(
    desc: MessageDescriptor,
    bytes: &[u8],
    options: &JsonOptions,
) -> Result<DynamicMessage, TranscodeError> {
    let error = |e: serde_json::Error| TranscodeError::Json(e.to_string());
    depth::check(bytes)?;
    match strict::prepare(&desc, bytes)? {
        strict::Prepared::AsSent => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let message = DynamicMessage::deserialize_with_options(desc, &mut de, &options.de())
                .map_err(error)?;
            de.end().map_err(error)?;
            Ok(message)
        }
        strict::Prepared::Rewritten {
            value,
            has_empty_any,
        } => {
            let mut message = DynamicMessage::deserialize_with_options(desc, value, &options.de())
                .map_err(error)?;
            if has_empty_any {
                checks::clear_empty_any(&mut message);
            }
            Ok(message)
        }
    }
}

/// Converts an already-parsed JSON value into a message of type `desc`,
/// by the same rules as [`from_slice`] (serde_json reads floats exactly:
/// its `float_roundtrip` feature; an integer it could not hold exactly is
/// out of every integer range).
pub fn from_value(
    desc: MessageDescriptor,
    value: serde_json::Value,
    options: &JsonOptions,
) -> Result<DynamicMessage, TranscodeError> {
    let bytes = serde_json::to_vec(&value).map_err(|e| TranscodeError::Json(e.to_string()))?;
    from_slice(desc, &bytes, options)
}

/// Writes a message as JSON bytes.
pub fn to_vec(message: &DynamicMessage, options: &JsonOptions) -> Result<Vec<u8>, TranscodeError> {
    if checks::check_reply(message).map_err(TranscodeError::Reply)? {
        let mut with_stand_ins = message.clone();
        checks::fill_empty_any(&mut with_stand_ins);
        let value = written(&with_stand_ins, options)?;
        return serde_json::to_vec(&value).map_err(|e| TranscodeError::Reply(e.to_string()));
    }
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::new(&mut out);
    message
        .serialize_with_options(&mut ser, &options.ser())
        .map_err(|e| TranscodeError::Reply(e.to_string()))?;
    Ok(out)
}

/// Writes a message as a JSON value (for embedding, e.g. error details).
pub fn to_value(
    message: &DynamicMessage,
    options: &JsonOptions,
) -> Result<serde_json::Value, TranscodeError> {
    if checks::check_reply(message).map_err(TranscodeError::Reply)? {
        let mut with_stand_ins = message.clone();
        checks::fill_empty_any(&mut with_stand_ins);
        return written(&with_stand_ins, options);
    }
    written(message, options)
}

/// `message` as JSON, its empty-Any stand-ins written as `{}`.
fn written(
    message: &DynamicMessage,
    options: &JsonOptions,
) -> Result<serde_json::Value, TranscodeError> {
    let mut value = message
        .serialize_with_options(serde_json::value::Serializer, &options.ser())
        .map_err(|e| TranscodeError::Reply(e.to_string()))?;
    checks::strip_empty_any(&mut value);
    Ok(value)
}
