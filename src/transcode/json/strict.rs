//! The pass over request JSON before prost-reflect reads it: the rules of
//! proto3 JSON that prost-reflect's serde support does not keep, applied to
//! the text as sent, guided by the message's descriptor.
//!
//! - integers are read exactly, bare or quoted, in any number form (`1e5`),
//!   and refused out of their field's range (serde_json alone turns
//!   `-9223372036854775809` into a float that lands on `i64::MIN`);
//! - a float is rounded once, to 32 bits (`3.4028235e+38` is `f32::MAX`,
//!   not "out of range"); doubles are serde_json's, exact with its
//!   `float_roundtrip` feature;
//! - a field given twice (also as its JSON and its proto name) is refused;
//! - a Timestamp with second `60` or more than 9 fractional digits is refused;
//! - `{}` as a `google.protobuf.Any` is the empty Any, and an Any of a
//!   well-known type without `value` holds that type's default.
//!
//! A first pass only checks, and says whether prost-reflect can read the
//! text as it is (the usual case: then it does, and its errors keep their
//! line and column). Where it cannot (`"1e5"` for an int32, a float past
//! what its f64 reading allows, an empty Any), a second pass writes a
//! `serde_json::Value` with those values made exact, for prost-reflect to
//! read instead. prost-reflect still decides everything else (types,
//! unknown fields, enums, bytes, the other well-known types). The text is
//! split one level at a time with `serde_json::value::RawValue`, so that
//! number literals reach this pass as written. The well-known types
//! (Timestamp, Any, the wrappers) are read in `well_known`.

mod well_known;

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

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

/// What prost-reflect is to read.
pub(super) enum Prepared {
    /// The text as sent.
    AsSent,
    /// The text with its values made exact.
    Rewritten {
        value: Value,
        /// Whether an empty Any stands in somewhere (see [`EMPTY_ANY`]).
        has_empty_any: bool,
    },
}

/// Checks `bytes`, the JSON of a `desc` message, and rewrites it where
/// prost-reflect would misread it.
pub(super) fn prepare(desc: &MessageDescriptor, bytes: &[u8]) -> Result<Prepared, TranscodeError> {
    let raw: &RawValue = serde_json::from_slice(bytes).map_err(syntax)?;
    let mut check = Pass::default();
    check.message(desc, raw, Path::Root)?;
    if !check.needs_rewrite {
        return Ok(Prepared::AsSent);
    }
    let mut rewrite = Pass {
        build: true,
        ..Pass::default()
    };
    let value = rewrite.message(desc, raw, Path::Root)?;
    Ok(Prepared::Rewritten {
        value,
        has_empty_any: rewrite.has_empty_any,
    })
}

fn syntax(error: serde_json::Error) -> TranscodeError {
    TranscodeError::Json(error.to_string())
}

/// Where a value sits in the body, written only for an error:
/// `user.tags[2]`, `labels["k"]`.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
            Path::Key(parent, key) => write!(f, "{parent}[{key:?}]"),
        }
    }
}

/// A refused value, naming its field and showing the value as sent:
/// `user.karma: -9223372036854775809 is out of range for int64`.
fn refused(path: Path<'_>, text: &str, reason: &str) -> TranscodeError {
    let field = match path {
        Path::Root => "the message".to_owned(),
        path => path.to_string(),
    };
    TranscodeError::Json(format!("{field}: {text} is {reason}"))
}

/// One level of JSON, its children still raw.
enum Node<'a> {
    Object(Vec<(Cow<'a, str>, &'a RawValue)>),
    Array(Vec<&'a RawValue>),
    String(Cow<'a, str>),
    Number(&'a str),
    /// `true`, `false`, `null`.
    Other,
}

fn node(raw: &RawValue) -> Result<Node<'_>, TranscodeError> {
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'{') => Node::Object(serde_json::from_str::<Entries<'_>>(text).map_err(syntax)?.0),
        Some(b'[') => Node::Array(serde_json::from_str(text).map_err(syntax)?),
        Some(b'"') if !text.contains('\\') => Node::String(Cow::Borrowed(&text[1..text.len() - 1])),
        Some(b'"') => Node::String(Cow::Owned(serde_json::from_str(text).map_err(syntax)?)),
        Some(b'-' | b'0'..=b'9') => Node::Number(text),
        _ => Node::Other,
    })
}

/// An object's entries in order, duplicates kept; keys borrowed unless
/// they hold escapes.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    entries.push((key, value));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// One walk over the body: checking only, or (`build`) writing the value
/// prost-reflect reads. A checking walk returns `Value::Null` throughout.
#[derive(Default)]
struct Pass {
    build: bool,
    /// Set by a checking walk: prost-reflect would misread the text.
    needs_rewrite: bool,
    has_empty_any: bool,
}

impl Pass {
    /// A raw value prost-reflect reads as it is.
    fn plain(&self, raw: &RawValue) -> Result<Value, TranscodeError> {
        if !self.build {
            return Ok(Value::Null);
        }
        serde_json::from_str(raw.get()).map_err(syntax)
    }

    fn message(
        &mut self,
        desc: &MessageDescriptor,
        raw: &RawValue,
        path: Path<'_>,
    ) -> Result<Value, TranscodeError> {
        if desc.full_name().starts_with("google.protobuf.") {
            if let Some(value) = self.well_known(desc, raw, path)? {
                return Ok(value);
            }
        }
        match node(raw)? {
            Node::Object(entries) => self.fields(desc, entries, path).map(Value::Object),
            _ => self.plain(raw),
        }
    }

    fn fields(
        &mut self,
        desc: &MessageDescriptor,
        entries: Vec<(Cow<'_, str>, &RawValue)>,
        path: Path<'_>,
    ) -> Result<Map<String, Value>, TranscodeError> {
        let mut seen = HashSet::new();
        let mut out = Map::new();
        for (key, raw) in entries {
            let field = desc
                .get_field_by_json_name(&key)
                .or_else(|| desc.get_field_by_name(&key));
            let value = match field {
                Some(field) => {
                    let here = Path::Field(&path, &key);
                    if !seen.insert(field.number()) {
                        return Err(TranscodeError::Json(format!(
                            "{here}: field {} is given twice",
                            field.name()
                        )));
                    }
                    self.field(&field, raw, here)?
                }
                // prost-reflect refuses or drops it, as the options say.
                None => self.plain(raw)?,
            };
            if self.build {
                out.insert(key.into_owned(), value);
            }
        }
        Ok(out)
    }

    fn field(
        &mut self,
        field: &FieldDescriptor,
        raw: &RawValue,
        path: Path<'_>,
    ) -> Result<Value, TranscodeError> {
        if field.is_map() {
            let (Kind::Message(entry), Node::Object(entries)) = (field.kind(), node(raw)?) else {
                return self.plain(raw);
            };
            let kind = entry.map_entry_value_field().kind();
            let mut out = Map::new();
            for (key, raw) in entries {
                let value = self.kind(&kind, raw, Path::Key(&path, &key))?;
                if self.build {
                    out.insert(key.into_owned(), value);
                }
            }
            Ok(Value::Object(out))
        } else if field.is_list() {
            let Node::Array(items) = node(raw)? else {
                return self.plain(raw);
            };
            let kind = field.kind();
            let mut out = Vec::new();
            for (i, raw) in items.into_iter().enumerate() {
                let value = self.kind(&kind, raw, Path::Index(&path, i))?;
                if self.build {
                    out.push(value);
                }
            }
            Ok(Value::Array(out))
        } else {
            self.kind(&field.kind(), raw, path)
        }
    }

    fn kind(
        &mut self,
        kind: &Kind,
        raw: &RawValue,
        path: Path<'_>,
    ) -> Result<Value, TranscodeError> {
        match kind {
            Kind::Message(desc) => self.message(desc, raw, path),
            Kind::Float | Kind::Double => self.float(matches!(kind, Kind::Float), raw, path),
            _ if number::is_integer(kind) => self.integer(kind, raw, path),
            Kind::Enum(_) => self.enum_value(raw, path),
            _ => self.plain(raw),
        }
    }

    /// An enum takes its name, or its number as an int32 written in any
    /// form an integer field takes (`2`, `2.0`, `2e0`); prost-reflect reads
    /// only names and plain integers, so another form is rewritten.
    fn enum_value(&mut self, raw: &RawValue, path: Path<'_>) -> Result<Value, TranscodeError> {
        let Node::Number(text) = node(raw)? else {
            return self.plain(raw);
        };
        let value = number::integer(&Kind::Int32, text)
            .map_err(|reason| refused(path, raw.get(), &reason))?;
        self.needs_rewrite |= text != value.to_string();
        if !self.build {
            return Ok(Value::Null);
        }
        // In int32's range.
        Ok(Value::from(i64::try_from(value).unwrap_or_default()))
    }

    fn integer(
        &mut self,
        kind: &Kind,
        raw: &RawValue,
        path: Path<'_>,
    ) -> Result<Value, TranscodeError> {
        let text = match node(raw)? {
            Node::Number(text) => Cow::Borrowed(text),
            Node::String(text) => text,
            _ if raw.get() == "null" => return self.plain(raw),
            _ => return Err(refused(path, raw.get(), "not a number")),
        };
        let value =
            number::integer(kind, &text).map_err(|reason| refused(path, raw.get(), &reason))?;
        // prost-reflect reads an integer's canonical decimal exactly, bare or
        // quoted; anything else (`1e5`, `1.0`, `"007"`, `"-0"`) it reads
        // through an f64 or not at all.
        self.needs_rewrite |= *text != *value.to_string();
        if !self.build {
            return Ok(Value::Null);
        }
        // In range for the kind, so within i64 or u64.
        Ok(match i64::try_from(value) {
            Ok(signed) => Value::from(signed),
            Err(_) => Value::from(u64::try_from(value).unwrap_or(u64::MAX)),
        })
    }

    fn float(
        &mut self,
        single: bool,
        raw: &RawValue,
        path: Path<'_>,
    ) -> Result<Value, TranscodeError> {
        let (text, quoted) = match node(raw)? {
            Node::Number(text) => (Cow::Borrowed(text), false),
            Node::String(text) if matches!(&*text, "NaN" | "Infinity" | "-Infinity") => {
                return self.plain(raw)
            }
            Node::String(text) => (text, true),
            _ if raw.get() == "null" => return self.plain(raw),
            _ => return Err(refused(path, raw.get(), "not a number")),
        };
        let value =
            number::float(&text, single).map_err(|reason| refused(path, raw.get(), &reason))?;
        // prost-reflect parses a quoted value at its own width, exactly; a
        // bare one arrives as serde_json's f64, exact for a double, but for
        // a float rounded twice, and refused past f32::MAX even when it
        // rounds to it.
        if single && !quoted {
            let as_read: f64 = text.parse().unwrap_or(f64::INFINITY);
            self.needs_rewrite |=
                as_read.abs() > f64::from(f32::MAX) || f64::from(as_read as f32) != value;
        }
        if !self.build {
            return Ok(Value::Null);
        }
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }
}
