//! The pass over request JSON before prost-reflect reads it: the rules of
//! proto3 JSON that prost-reflect's serde support does not keep, applied to
//! the text as sent, guided by the message's descriptor.
//!
//! - integers are read exactly, bare or quoted, in any number form (`1e5`),
//!   and refused out of their field's range (serde_json alone turns
//!   `-9223372036854775809` into a float that lands on `i64::MIN`);
//! - floats and doubles are rounded once, to their own width
//!   (`3.4028235e+38` is `f32::MAX`, `2.22507e-308` is the nearest double);
//! - a field given twice (also as its JSON and its proto name) is refused;
//! - a Timestamp with second `60` or more than 9 fractional digits is refused;
//! - `{}` as a `google.protobuf.Any` is the empty Any, and an Any of a
//!   well-known type without `value` holds that type's default.
//!
//! What comes out is a `serde_json::Value` with those numbers written as
//! exact values, for prost-reflect to read: it still decides everything
//! else (types, unknown fields, enums, bytes, the other well-known types).
//! The text is split one level at a time with `serde_json::value::RawValue`,
//! so that number literals reach this pass as written.

use std::collections::HashSet;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::number;
use crate::transcode::TranscodeError;

/// The `@type` prefix of the stand-in for an empty Any (prost-reflect
/// refuses an Any without `@type`): after reading, every Any with it is
/// emptied, and a request that sends one is refused.
pub(super) const EMPTY_ANY: &str = "restgate.invalid.empty-any/";

/// The request JSON, ready for prost-reflect.
pub(super) struct Prepared {
    pub(super) value: Value,
    /// Whether an empty Any stands in somewhere (see [`EMPTY_ANY`]).
    pub(super) has_empty_any: bool,
}

/// Prepares `bytes`, the JSON of a `desc` message.
pub(super) fn prepare(desc: &MessageDescriptor, bytes: &[u8]) -> Result<Prepared, TranscodeError> {
    let raw: &RawValue = serde_json::from_slice(bytes).map_err(syntax)?;
    let mut pass = Pass {
        has_empty_any: false,
    };
    let value = pass.message(desc, raw, "")?;
    Ok(Prepared {
        value,
        has_empty_any: pass.has_empty_any,
    })
}

fn syntax(error: serde_json::Error) -> TranscodeError {
    TranscodeError::Json(error.to_string())
}

/// A refused value, naming its field and showing the value as sent:
/// `user.karma: -9223372036854775809 is out of range for int64`.
fn refused(path: &str, text: &str, reason: &str) -> TranscodeError {
    let field = if path.is_empty() { "the message" } else { path };
    TranscodeError::Json(format!("{field}: {text} is {reason}"))
}

/// One level of JSON, its children still raw.
enum Node<'a> {
    Object(Vec<(String, &'a RawValue)>),
    Array(Vec<&'a RawValue>),
    String(String),
    Number(&'a str),
    /// `true`, `false`, `null`.
    Other,
}

fn node(raw: &RawValue) -> Result<Node<'_>, TranscodeError> {
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'{') => Node::Object(serde_json::from_str::<Entries<'_>>(text).map_err(syntax)?.0),
        Some(b'[') => Node::Array(serde_json::from_str(text).map_err(syntax)?),
        Some(b'"') => Node::String(serde_json::from_str(text).map_err(syntax)?),
        Some(b'-' | b'0'..=b'9') => Node::Number(text),
        _ => Node::Other,
    })
}

/// A raw value prost-reflect reads as it is.
fn plain(raw: &RawValue) -> Result<Value, TranscodeError> {
    serde_json::from_str(raw.get()).map_err(syntax)
}

/// An object's entries in order, duplicates kept.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

struct Pass {
    has_empty_any: bool,
}

impl Pass {
    fn message(
        &mut self,
        desc: &MessageDescriptor,
        raw: &RawValue,
        path: &str,
    ) -> Result<Value, TranscodeError> {
        if desc.full_name().starts_with("google.protobuf.") {
            if let Some(value) = self.well_known(desc, raw, path)? {
                return Ok(value);
            }
        }
        match node(raw)? {
            Node::Object(entries) => self.fields(desc, entries, path).map(Value::Object),
            _ => plain(raw),
        }
    }

    fn fields(
        &mut self,
        desc: &MessageDescriptor,
        entries: Vec<(String, &RawValue)>,
        path: &str,
    ) -> Result<Map<String, Value>, TranscodeError> {
        let mut seen = HashSet::new();
        let mut out = Map::new();
        for (key, raw) in entries {
            let field = desc
                .get_field_by_json_name(&key)
                .or_else(|| desc.get_field_by_name(&key));
            let Some(field) = field else {
                // prost-reflect refuses or drops it, as the options say.
                out.insert(key, plain(raw)?);
                continue;
            };
            let here = join(path, &key);
            if !seen.insert(field.number()) {
                return Err(TranscodeError::Json(format!(
                    "{here}: field {} is given twice",
                    field.name()
                )));
            }
            let value = self.field(&field, raw, &here)?;
            out.insert(key, value);
        }
        Ok(out)
    }

    fn field(
        &mut self,
        field: &FieldDescriptor,
        raw: &RawValue,
        path: &str,
    ) -> Result<Value, TranscodeError> {
        if field.is_map() {
            let (Kind::Message(entry), Node::Object(entries)) = (field.kind(), node(raw)?) else {
                return plain(raw);
            };
            let kind = entry.map_entry_value_field().kind();
            let mut out = Map::new();
            for (key, raw) in entries {
                let value = self.kind(&kind, raw, &format!("{path}[{key:?}]"))?;
                out.insert(key, value);
            }
            Ok(Value::Object(out))
        } else if field.is_list() {
            let Node::Array(items) = node(raw)? else {
                return plain(raw);
            };
            let kind = field.kind();
            let values = items
                .into_iter()
                .enumerate()
                .map(|(i, raw)| self.kind(&kind, raw, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?;
            Ok(Value::Array(values))
        } else {
            self.kind(&field.kind(), raw, path)
        }
    }

    fn kind(&mut self, kind: &Kind, raw: &RawValue, path: &str) -> Result<Value, TranscodeError> {
        match kind {
            Kind::Message(desc) => self.message(desc, raw, path),
            Kind::Float | Kind::Double => float(matches!(kind, Kind::Float), raw, path),
            _ if number::is_integer(kind) => integer(kind, raw, path),
            _ => plain(raw),
        }
    }

    /// The well-known types whose JSON needs this pass; `None` for the
    /// others, read as any message.
    fn well_known(
        &mut self,
        desc: &MessageDescriptor,
        raw: &RawValue,
        path: &str,
    ) -> Result<Option<Value>, TranscodeError> {
        Ok(Some(match desc.full_name() {
            "google.protobuf.Any" => self.any(desc, raw, path)?,
            "google.protobuf.Timestamp" => timestamp(raw, path)?,
            "google.protobuf.Value" => dynamic(raw, path)?,
            "google.protobuf.Struct" | "google.protobuf.ListValue" => match node(raw)? {
                Node::Object(_) | Node::Array(_) => dynamic(raw, path)?,
                _ => plain(raw)?,
            },
            "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value" => match desc.get_field_by_name("value") {
                Some(inner) => self.kind(&inner.kind(), raw, path)?,
                None => plain(raw)?,
            },
            _ => return Ok(None),
        }))
    }

    /// `{"@type": url, ...fields}`, or `{"@type": url, "value": json}` for a
    /// well-known type.
    fn any(
        &mut self,
        desc: &MessageDescriptor,
        raw: &RawValue,
        path: &str,
    ) -> Result<Value, TranscodeError> {
        let Node::Object(mut entries) = node(raw)? else {
            return plain(raw);
        };
        let Some(at) = entries.iter().position(|(key, _)| key == "@type") else {
            if entries.is_empty() {
                return self.empty_any(desc, path);
            }
            return plain(raw);
        };
        let (_, type_raw) = entries.remove(at);
        let Node::String(type_url) = node(type_raw)? else {
            return plain(raw);
        };
        if type_url.starts_with(EMPTY_ANY) {
            return Err(refused(
                &join(path, "@type"),
                type_raw.get(),
                "not a type URL",
            ));
        }
        let name = type_url.rsplit_once('/').map_or("", |(_, name)| name);
        let Some(inner) = desc.parent_pool().get_message_by_name(name) else {
            return plain(raw); // prost-reflect names the unknown type
        };
        let mut object = if inner.full_name().starts_with("google.protobuf.") {
            let mut object = Map::new();
            let value = match entries.iter().position(|(key, _)| key == "value") {
                Some(i) => {
                    let (_, value) = entries.remove(i);
                    Some(self.message(&inner, value, &join(path, "value"))?)
                }
                None => self.well_known_default(&inner, path)?,
            };
            if let Some(value) = value {
                object.insert("value".to_owned(), value);
            }
            for (key, raw) in entries {
                object.insert(key, plain(raw)?);
            }
            object
        } else {
            self.fields(&inner, entries, path)?
        };
        object.insert("@type".to_owned(), Value::String(type_url));
        Ok(Value::Object(object))
    }

    /// The JSON of a well-known type's default value (what an Any of it
    /// without `value` holds); `None` where it has none (`Value`).
    fn well_known_default(
        &mut self,
        desc: &MessageDescriptor,
        path: &str,
    ) -> Result<Option<Value>, TranscodeError> {
        Ok(Some(match desc.full_name() {
            "google.protobuf.Any" => self.empty_any(desc, path)?,
            "google.protobuf.Empty" | "google.protobuf.Struct" => Value::Object(Map::new()),
            "google.protobuf.ListValue" => Value::Array(Vec::new()),
            "google.protobuf.Timestamp" => Value::from("1970-01-01T00:00:00Z"),
            "google.protobuf.Duration" => Value::from("0s"),
            "google.protobuf.FieldMask"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue" => Value::from(""),
            "google.protobuf.BoolValue" => Value::Bool(false),
            name if name.ends_with("Value") && name != "google.protobuf.Value" => Value::from(0),
            _ => return Ok(None),
        }))
    }

    /// The stand-in for an empty Any: an Any of a message with no fields set.
    fn empty_any(&mut self, any: &MessageDescriptor, path: &str) -> Result<Value, TranscodeError> {
        let stand_in = super::checks::stand_in(any.parent_pool())
            .ok_or_else(|| refused(path, "{}", "an empty Any, not supported here"))?;
        self.has_empty_any = true;
        Ok(serde_json::json!({ "@type": format!("{EMPTY_ANY}{stand_in}") }))
    }
}

fn integer(kind: &Kind, raw: &RawValue, path: &str) -> Result<Value, TranscodeError> {
    let text = match node(raw)? {
        Node::Number(text) => text.to_owned(),
        Node::String(text) => text,
        _ if raw.get() == "null" => return Ok(Value::Null),
        _ => return Err(refused(path, raw.get(), "not a number")),
    };
    let value = number::integer(kind, &text).map_err(|reason| refused(path, raw.get(), &reason))?;
    // In range for the kind, so within i64 or u64.
    Ok(match i64::try_from(value) {
        Ok(signed) => Value::from(signed),
        Err(_) => Value::from(u64::try_from(value).unwrap_or(u64::MAX)),
    })
}

fn float(single: bool, raw: &RawValue, path: &str) -> Result<Value, TranscodeError> {
    let text = match node(raw)? {
        Node::Number(text) => text.to_owned(),
        Node::String(text) if matches!(text.as_str(), "NaN" | "Infinity" | "-Infinity") => {
            return Ok(Value::String(text))
        }
        Node::String(text) => text,
        _ if raw.get() == "null" => return Ok(Value::Null),
        _ => return Err(refused(path, raw.get(), "not a number")),
    };
    let value = number::float(&text, single).map_err(|reason| refused(path, raw.get(), &reason))?;
    Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
}

/// A `google.protobuf.Value` (and the Struct and ListValue inside it): its
/// numbers are doubles.
fn dynamic(raw: &RawValue, path: &str) -> Result<Value, TranscodeError> {
    Ok(match node(raw)? {
        Node::Number(text) => {
            let value =
                number::float(text, false).map_err(|reason| refused(path, text, &reason))?;
            serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
        }
        Node::Object(entries) => {
            let mut out = Map::new();
            for (key, raw) in entries {
                let value = dynamic(raw, &join(path, &key))?;
                out.insert(key, value);
            }
            Value::Object(out)
        }
        Node::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, raw)| dynamic(raw, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Node::String(_) | Node::Other => plain(raw)?,
    })
}

/// A Timestamp's RFC 3339 text: what prost-reflect's own check lets through
/// and then alters (a leap second becomes the next minute; digits past the
/// ninth are dropped).
fn timestamp(raw: &RawValue, path: &str) -> Result<Value, TranscodeError> {
    let Node::String(text) = node(raw)? else {
        return plain(raw);
    };
    let b = text.as_bytes();
    // YYYY-MM-DDTHH:MM:SS[.f+](Z|±HH:MM); the layout is prost-reflect's check.
    if b.len() >= 19 && b[10] == b'T' {
        let reason = if b[11..13] > b"23"[..] {
            Some("past hour 23")
        } else if b[14..16] > b"59"[..] {
            Some("past minute 59")
        } else if b[17..19] > b"59"[..] {
            Some("past second 59 (protobuf has no leap seconds)")
        } else if b.get(19) == Some(&b'.')
            && b[20..].iter().take_while(|c| c.is_ascii_digit()).count() > 9
        {
            Some("more precise than nanoseconds (9 fractional digits)")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(refused(path, raw.get(), reason));
        }
    }
    Ok(Value::String(text))
}
