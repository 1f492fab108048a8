//! Walks over a decoded message: the stand-ins for empty Anys (which
//! prost-reflect can neither read nor write) after a request is read and
//! before a reply is written, and refusing a reply whose Timestamp or
//! Duration has no JSON form (prost-reflect writes nanos of the wrong sign or past
//! 999,999,999 as they are) or whose FieldMask holds a path that is no
//! lower_snake_case field path (prost-reflect drops a trailing `_`). Both
//! look inside every Any whose type the pool knows.

use prost::Message as _;
use prost_reflect::{DynamicMessage, ReflectMessage, Value};

use super::strict::EMPTY_ANY;

/// Timestamps: 0001-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z.
const TIMESTAMP_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;
/// Durations: ±10,000 years.
const DURATION_SECONDS: i64 = 315_576_000_000;
const MAX_NANOS: i32 = 999_999_999;

/// Every message directly inside `message`'s fields (list items, map values).
fn children_mut(message: &mut DynamicMessage) -> impl Iterator<Item = &mut DynamicMessage> {
    message.fields_mut().flat_map(|(_, value)| {
        let items: Vec<&mut DynamicMessage> = match value {
            Value::Message(inner) => vec![inner],
            Value::List(items) => items.iter_mut().filter_map(Value::as_message_mut).collect(),
            Value::Map(entries) => entries
                .values_mut()
                .filter_map(Value::as_message_mut)
                .collect(),
            _ => Vec::new(),
        };
        items
    })
}

/// The message an Any holds, when the pool knows its type.
fn any_contents(any: &DynamicMessage) -> Option<DynamicMessage> {
    let url = any.get_field_by_name("type_url")?;
    let name = url.as_str()?.rsplit_once('/')?.1.to_owned();
    let desc = any.descriptor().parent_pool().get_message_by_name(&name)?;
    let bytes = any.get_field_by_name("value")?.as_bytes()?.clone();
    DynamicMessage::decode(desc, bytes).ok()
}

fn is_any(message: &DynamicMessage) -> bool {
    message.descriptor().full_name() == "google.protobuf.Any"
}

/// Applies `f` to every Any in `message`, looking inside those `f` leaves
/// alone (returns `false` for); whether anything changed.
fn each_any(message: &mut DynamicMessage, f: &mut impl FnMut(&mut DynamicMessage) -> bool) -> bool {
    if !is_any(message) {
        let mut changed = false;
        for child in children_mut(message) {
            changed |= each_any(child, f);
        }
        return changed;
    }
    if f(message) {
        return true;
    }
    let Some(mut contents) = any_contents(message) else {
        return false;
    };
    if !each_any(&mut contents, f) {
        return false;
    }
    message.set_field_by_name("value", Value::Bytes(contents.encode_to_vec().into()));
    true
}

fn type_url(any: &DynamicMessage) -> String {
    any.get_field_by_name("type_url")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Empties every Any that stands in for `{}` (after a request is read).
pub(super) fn clear_empty_any(message: &mut DynamicMessage) {
    each_any(message, &mut |any| {
        if !type_url(any).starts_with(EMPTY_ANY) {
            return false;
        }
        *any = DynamicMessage::new(any.descriptor());
        true
    });
}

/// Puts the stand-in in place of every empty Any (before a reply is
/// written: prost-reflect refuses an Any without a type URL).
pub(super) fn fill_empty_any(message: &mut DynamicMessage) {
    each_any(message, &mut |any| {
        let empty = type_url(any).is_empty()
            && any
                .get_field_by_name("value")
                .is_none_or(|v| v.as_bytes().is_none_or(|b| b.is_empty()));
        let Some(name) = empty
            .then(|| stand_in(any.descriptor().parent_pool()))
            .flatten()
        else {
            return false;
        };
        any.set_field_by_name("type_url", Value::String(format!("{EMPTY_ANY}{name}")));
        true
    });
}

/// A message of the pool to stand in for an empty Any's contents: any one
/// that is not a well-known type (prost-reflect reads and writes it as
/// fields, so with none set it is `{"@type": ...}` alone).
pub(super) fn stand_in(pool: &prost_reflect::DescriptorPool) -> Option<String> {
    pool.all_messages()
        .find(|m| !m.full_name().starts_with("google.protobuf.") && !m.is_map_entry())
        .map(|m| m.full_name().to_owned())
}

/// `json` with every stand-in Any written as `{}`.
pub(super) fn strip_empty_any(json: &mut serde_json::Value) {
    match json {
        serde_json::Value::Object(object) => {
            let stand_in = object
                .get("@type")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|url| url.starts_with(EMPTY_ANY));
            if stand_in {
                object.clear();
            } else {
                object.values_mut().for_each(strip_empty_any);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_empty_any),
        _ => {}
    }
}

/// Why `message` (or a message inside it) cannot be written as JSON; else
/// whether it holds an empty Any (see [`fill_empty_any`]).
pub(super) fn check_reply(message: &DynamicMessage) -> Result<bool, String> {
    let desc = message.descriptor();
    let int = |name: &str| {
        message
            .get_field_by_name(name)
            .and_then(|v| v.as_i64().or_else(|| v.as_i32().map(i64::from)))
            .unwrap_or_default()
    };
    match desc.full_name() {
        "google.protobuf.Timestamp" => {
            let (seconds, nanos) = (int("seconds"), int("nanos"));
            if !TIMESTAMP_SECONDS.contains(&seconds) || !(0..=i64::from(MAX_NANOS)).contains(&nanos)
            {
                return Err(format!("Timestamp {seconds}s {nanos}ns is out of range"));
            }
            Ok(false)
        }
        "google.protobuf.Duration" => {
            let (seconds, nanos) = (int("seconds"), int("nanos"));
            if seconds.abs() > DURATION_SECONDS
                || nanos.abs() > i64::from(MAX_NANOS)
                || seconds.signum() * nanos.signum() < 0
            {
                return Err(format!("Duration {seconds}s {nanos}ns is out of range"));
            }
            Ok(false)
        }
        "google.protobuf.FieldMask" => {
            let paths = message.get_field_by_name("paths");
            let paths = paths
                .as_deref()
                .and_then(Value::as_list)
                .unwrap_or_default();
            let mut camel = String::new();
            for path in paths.iter().filter_map(Value::as_str) {
                camel_path(&mut camel, path).ok_or_else(|| not_a_field_path(path))?;
            }
            Ok(false)
        }
        "google.protobuf.Any" => match any_contents(message) {
            Some(contents) => check_reply(&contents),
            None => Ok(type_url(message).is_empty()),
        },
        _ => {
            let mut has_empty_any = false;
            for (field, value) in message.fields() {
                let mut check = |item: &DynamicMessage| -> Result<(), String> {
                    has_empty_any |=
                        check_reply(item).map_err(|e| format!("{}: {e}", field.json_name()))?;
                    Ok(())
                };
                match value {
                    Value::Message(inner) => check(inner)?,
                    Value::List(items) => items
                        .iter()
                        .filter_map(Value::as_message)
                        .try_for_each(&mut check)?,
                    Value::Map(entries) => entries
                        .values()
                        .filter_map(Value::as_message)
                        .try_for_each(&mut check)?,
                    _ => {}
                }
            }
            Ok(has_empty_any)
        }
    }
}

/// Why a reply's FieldMask path cannot be written.
pub(in crate::transcode) fn not_a_field_path(path: &str) -> String {
    format!("FieldMask path {path:?} is not a lower_snake_case field path")
}

/// A FieldMask path (`user.display_name`) in its JSON form
/// (`user.displayName`), appended to `out`; `None` when it is no
/// lower_snake_case field path, as protobuf's JSON writer refuses it: an
/// empty path or segment, a segment starting with a digit, a character
/// other than `a-z`, `0-9` and `_`, or a `_` not followed by a letter
/// (`a__b`, `a_1`, `a_`), all of which would not read back as written.
pub(in crate::transcode) fn camel_path(out: &mut String, path: &str) -> Option<()> {
    for (i, segment) in path.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        if segment.is_empty() || segment.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let mut upper_next = false;
        for c in segment.chars() {
            match c {
                'a'..='z' if upper_next => {
                    out.push(c.to_ascii_uppercase());
                    upper_next = false;
                }
                _ if upper_next => return None,
                '_' => upper_next = true,
                'a'..='z' | '0'..='9' => out.push(c),
                _ => return None,
            }
        }
        if upper_next {
            return None;
        }
    }
    Some(())
}
