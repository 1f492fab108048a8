//! Preconditions (SPEC §5): an `If-Match` entity tag goes into the request's
//! `etag` field where one exists, and the reply's resource `etag` field
//! becomes the `ETag` header.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

use crate::compile::{Body, Route};

/// The entity tag of an `If-Match` value: `"w3"` gives `w3`, a bare token
/// is taken as is. `*`, lists of several tags and weak tags (`W/"w3"`, which
/// `If-Match` never matches: RFC 9110 compares strongly) give `None`: they
/// travel as metadata only, for the service to judge.
pub fn if_match_tag(header: &str) -> Option<&str> {
    let value = header.trim();
    if value == "*" || value.contains(',') || value.is_empty() || value.starts_with("W/") {
        return None;
    }
    Some(
        value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value),
    )
}

/// A singular string field named `etag` of `message`.
fn etag_field(message: &MessageDescriptor) -> Option<FieldDescriptor> {
    message
        .get_field_by_name("etag")
        .filter(|f| matches!(f.kind(), Kind::String) && !f.is_list())
}

/// Puts `tag` into the request's `etag` field: its own, else the body
/// resource's. Returns whether there was one.
pub fn apply_if_match(route: &Route, request: &mut DynamicMessage, tag: &str) -> bool {
    let input = route.rpc.input();
    if let Some(field) = etag_field(&input) {
        request.set_field(&field, Value::String(tag.to_owned()));
        return true;
    }
    let Body::Field(body) = &route.body else {
        return false;
    };
    let body = body.leaf();
    let Kind::Message(resource) = body.kind() else {
        return false;
    };
    let Some(field) = etag_field(&resource) else {
        return false;
    };
    if body.is_list() || body.is_map() {
        return false;
    }
    match request.get_field_mut(body) {
        Value::Message(resource) => {
            resource.set_field(&field, Value::String(tag.to_owned()));
            true
        }
        _ => false,
    }
}

/// The `ETag` header for a reply: the resource's non-empty `etag` field (of
/// the `response_body` field when there is one), quoted as a strong tag.
pub fn reply_etag(route: &Route, reply: &DynamicMessage) -> Option<String> {
    // Read in place: a copy of the reply cost about ten allocations.
    match &route.response_body {
        Some(field) => resource_etag(reply.get_field(field.leaf()).as_message()?),
        None => resource_etag(reply),
    }
}

/// Whether [`wire_reply_etag`] reads the `ETag` of replies of type `reply`
/// as [`reply_etag`] would: their `etag` field, if any, is in no oneof
/// (another member given after it would clear it).
pub fn wire_etag_readable(reply: &MessageDescriptor) -> bool {
    etag_field(reply).is_none_or(|f| f.containing_oneof().is_none())
}

/// [`reply_etag`] for a route with no `response_body`, read straight from
/// the reply's protobuf encoding `wire` (of type `reply`).
pub fn wire_reply_etag(reply: &MessageDescriptor, wire: &[u8]) -> Option<String> {
    let field = etag_field(reply)?;
    quoted(super::wire_field::last_string(wire, field.number())?)
}

/// The resource's non-empty `etag` field, quoted as a strong tag.
fn resource_etag(resource: &DynamicMessage) -> Option<String> {
    let field = etag_field(&prost_reflect::ReflectMessage::descriptor(resource))?;
    let value = resource.get_field(&field);
    quoted(value.as_str()?)
}

/// A non-empty tag, quoted as a strong tag unless it is quoted already.
fn quoted(tag: &str) -> Option<String> {
    if tag.is_empty() {
        return None;
    }
    if tag.starts_with('"') || tag.starts_with("W/\"") {
        return Some(tag.to_owned());
    }
    // Exactly as long as it is, so that a header value made of it takes
    // its bytes without copying.
    let mut quoted = String::with_capacity(tag.len() + 2);
    quoted.push('"');
    quoted.push_str(tag);
    quoted.push('"');
    Some(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tags_from_if_match() {
        assert_eq!(if_match_tag("\"w3\""), Some("w3"));
        assert_eq!(if_match_tag("W/\"w3\""), None);
        assert_eq!(if_match_tag("w3"), Some("w3"));
        assert_eq!(if_match_tag("*"), None);
        assert_eq!(if_match_tag("\"a\", \"b\""), None);
    }
}
