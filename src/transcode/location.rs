//! `Location` for a create: the route's [`ItemUri`](crate::compile::ItemUri)
//! filled from the request's path values and the reply's fields, the reply
//! decoded or as its protobuf encoding.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::borrow::Cow;

use prost_reflect::{DynamicMessage, FieldDescriptor, Value};

use super::{scalar, wire_field};
use crate::compile::{ItemValue, Route, Segment};

/// Characters kept as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The item URI of the resource a create made, or `None` when the route has
/// no item template or a value is missing or does not fit it (a service that
/// returns `name: ""` gets a 201 without `Location`, not a wrong one).
pub fn location(route: &Route, captures: &[String], reply: &DynamicMessage) -> Option<String> {
    location_with(route, captures, |chain| {
        let (leaf, parents) = chain.split_last()?;
        let mut current = reply;
        for parent in parents {
            match current.get_field(parent) {
                Cow::Borrowed(Value::Message(inner)) => current = inner,
                // Not set: every field in it is at its default.
                _ => return scalar::to_text(&Value::default_value_for_field(leaf)),
            }
        }
        scalar::to_text(&current.get_field(leaf))
    })
}

/// [`location`] for a reply kept as its protobuf encoding `wire`: only the
/// fields the item URI takes are read from it.
pub fn wire_location(route: &Route, captures: &[String], wire: &[u8]) -> Option<String> {
    location_with(route, captures, |chain| {
        wire_field::field_text(wire, chain)
            .or_else(|| scalar::to_text(&Value::default_value_for_field(chain.last()?)))
    })
}

/// The item URI, with `reply_text` giving the text of a reply field (a
/// chain from the reply message; its default's text when it is not set).
fn location_with(
    route: &Route,
    captures: &[String],
    reply_text: impl Fn(&[FieldDescriptor]) -> Option<String>,
) -> Option<String> {
    let item = route.location.as_ref()?;
    let template = &item.template;
    let mut values = Vec::with_capacity(item.values.len());
    for source in &item.values {
        let text = match source {
            ItemValue::PathVariable(i) => captures.get(*i)?.clone(),
            ItemValue::Reply(field) => reply_text(&field.fields)?,
        };
        if text.is_empty() {
            return None;
        }
        values.push(text);
    }

    let mut uri = String::new();
    let mut i = 0;
    let segments = template.segments();
    while i < segments.len() {
        match template
            .variables()
            .iter()
            .position(|v| v.segments.start == i)
        {
            Some(v) => {
                let var = &template.variables()[v];
                let pattern = &segments[var.segments.clone()];
                let value = &values[v];
                if !fits(pattern, value) {
                    return None;
                }
                for part in value.split('/') {
                    uri.push('/');
                    if pattern.len() == 1 {
                        // A single-segment variable: `/` inside the value is data.
                        uri.extend(utf8_percent_encode(value, SEGMENT));
                        break;
                    }
                    uri.extend(utf8_percent_encode(part, SEGMENT));
                }
                i = var.segments.end;
            }
            None => {
                uri.push('/');
                if let Segment::Literal(text) = &segments[i] {
                    uri.extend(utf8_percent_encode(text, SEGMENT));
                }
                i += 1;
            }
        }
    }
    Some(uri)
}

/// Whether `value` fits a variable's pattern: `shelves/1` fits `shelves/*`.
fn fits(pattern: &[Segment], value: &str) -> bool {
    if let [Segment::Any] = pattern {
        return true;
    }
    let parts: Vec<&str> = value.split('/').collect();
    if pattern.last() == Some(&Segment::Rest) {
        return parts.len() >= pattern.len() - 1
            && fits_each(&pattern[..pattern.len() - 1], &parts[..pattern.len() - 1]);
    }
    parts.len() == pattern.len() && fits_each(pattern, &parts)
}

fn fits_each(pattern: &[Segment], parts: &[&str]) -> bool {
    pattern.iter().zip(parts).all(|(p, part)| match p {
        Segment::Literal(text) => text == part,
        Segment::Any | Segment::Rest => !part.is_empty(),
    })
}
