//! The well-known types in the strict pass: their JSON is their own, not
//! their fields'. A Timestamp is checked as prost-reflect would not (leap
//! seconds, digits past nanoseconds); an Any is read through its `@type`,
//! `{}` being the empty Any and an Any of a well-known type without `value`
//! holding that type's default; the wrappers of numbers are exact as their
//! fields are.

use prost_reflect::MessageDescriptor;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{node, refused, Node, Pass, Path, EMPTY_ANY};
use crate::transcode::json::checks;
use crate::transcode::TranscodeError;

impl Pass {
    /// The well-known types, whose JSON is their own; `None` for the other
    /// messages (Empty among them), read field by field.
    pub(super) fn well_known(
        &mut self,
        desc: &MessageDescriptor,
        raw: &RawValue,
        path: Path<'_>,
    ) -> Result<Option<Value>, TranscodeError> {
        Ok(Some(match desc.full_name() {
            "google.protobuf.Any" => self.any(desc, raw, path)?,
            "google.protobuf.Timestamp" => {
                if let Node::String(text) = node(raw)? {
                    check_timestamp(&text).map_err(|reason| refused(path, raw.get(), reason))?;
                }
                self.plain(raw)?
            }
            "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value" => match desc.get_field_by_name("value") {
                Some(inner) => self.kind(&inner.kind(), raw, path)?,
                None => self.plain(raw)?,
            },
            // Their JSON is not their fields': a Struct's keys are the
            // user's. Value, Struct and ListValue hold doubles, serde_json's
            // and exact.
            "google.protobuf.Struct"
            | "google.protobuf.Value"
            | "google.protobuf.ListValue"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue" => self.plain(raw)?,
            _ => return Ok(None),
        }))
    }

    /// `{"@type": url, ...fields}`, or `{"@type": url, "value": json}` for a
    /// well-known type.
    fn any(
        &mut self,
        desc: &MessageDescriptor,
        raw: &RawValue,
        path: Path<'_>,
    ) -> Result<Value, TranscodeError> {
        let Node::Object(mut entries) = node(raw)? else {
            return self.plain(raw);
        };
        let Some(at) = entries.iter().position(|(key, _)| key == "@type") else {
            if entries.is_empty() {
                return self.empty_any(desc, path);
            }
            return self.plain(raw);
        };
        let (_, type_raw) = entries.remove(at);
        let Node::String(type_url) = node(type_raw)? else {
            return self.plain(raw);
        };
        if type_url.starts_with(EMPTY_ANY) {
            let here = Path::Field(&path, "@type");
            return Err(refused(here, type_raw.get(), "not a type URL"));
        }
        let name = type_url.rsplit_once('/').map_or("", |(_, name)| name);
        let Some(inner) = desc.parent_pool().get_message_by_name(name) else {
            return self.plain(raw); // prost-reflect names the unknown type
        };
        let mut object = if inner.full_name().starts_with("google.protobuf.") {
            let mut object = Map::new();
            let value = match entries.iter().position(|(key, _)| key == "value") {
                Some(i) => {
                    let (_, value) = entries.remove(i);
                    Some(self.message(&inner, value, Path::Field(&path, "value"))?)
                }
                None => self.well_known_default(&inner, path)?,
            };
            if let Some(value) = value {
                object.insert("value".to_owned(), value);
            }
            for (key, raw) in entries {
                let value = self.plain(raw)?;
                object.insert(key.into_owned(), value);
            }
            object
        } else {
            self.fields(&inner, entries, path)?
        };
        object.insert("@type".to_owned(), Value::String(type_url.into_owned()));
        Ok(Value::Object(object))
    }

    /// The JSON of a well-known type's default value (what an Any of it
    /// without `value` holds); `None` where it has none (`Value`).
    fn well_known_default(
        &mut self,
        desc: &MessageDescriptor,
        path: Path<'_>,
    ) -> Result<Option<Value>, TranscodeError> {
        let value = match desc.full_name() {
            "google.protobuf.Value" => return Ok(None),
            "google.protobuf.Any" => return self.empty_any(desc, path).map(Some),
            "google.protobuf.Empty" | "google.protobuf.Struct" => Value::Object(Map::new()),
            "google.protobuf.ListValue" => Value::Array(Vec::new()),
            "google.protobuf.Timestamp" => Value::from("1970-01-01T00:00:00Z"),
            "google.protobuf.Duration" => Value::from("0s"),
            "google.protobuf.FieldMask"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue" => Value::from(""),
            "google.protobuf.BoolValue" => Value::Bool(false),
            name if name.ends_with("Value") => Value::from(0),
            _ => return Ok(None),
        };
        self.needs_rewrite = true;
        Ok(Some(value))
    }

    /// The stand-in for an empty Any: an Any of a message with no fields set.
    fn empty_any(
        &mut self,
        any: &MessageDescriptor,
        path: Path<'_>,
    ) -> Result<Value, TranscodeError> {
        let stand_in = checks::stand_in(any.parent_pool())
            .ok_or_else(|| refused(path, "{}", "an empty Any, not supported here"))?;
        self.needs_rewrite = true;
        self.has_empty_any = true;
        Ok(serde_json::json!({ "@type": format!("{EMPTY_ANY}{stand_in}") }))
    }
}

/// A Timestamp's RFC 3339 text: what prost-reflect's own check lets through
/// and then alters (a leap second becomes the next minute; digits past the
/// ninth are dropped).
fn check_timestamp(text: &str) -> Result<(), &'static str> {
    let b = text.as_bytes();
    // YYYY-MM-DDTHH:MM:SS[.f+](Z|±HH:MM); the layout is prost-reflect's check.
    if b.len() < 19 || b[10] != b'T' {
        return Ok(());
    }
    if b[11..13] > b"23"[..] {
        Err("past hour 23")
    } else if b[14..16] > b"59"[..] {
        Err("past minute 59")
    } else if b[17..19] > b"59"[..] {
        Err("past second 59 (protobuf has no leap seconds)")
    } else if b.get(19) == Some(&b'.')
        && b[20..].iter().take_while(|c| c.is_ascii_digit()).count() > 9
    {
        Err("more precise than nanoseconds (9 fractional digits)")
    } else {
        Ok(())
    }
}
