//! Path values + query string + JSON body → the request message (SPEC §3).
//! A body that fills a `google.api.HttpBody` is taken raw instead: its bytes
//! become `data` and its `Content-Type` becomes `content_type`.
//!
//! Order: the body first, then the replace/update id check (the URI is
//! authoritative: a different id in the body is a 400 before any call), then
//! the path values (a repeated field's as comma-separated values), then the
//! query string into every remaining field, then the PATCH update mask when
//! the client sent none. Google's system parameters (`$alt`, `key`…) in the
//! query fill no field (see `system`).

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

use super::{json, mask, scalar, system, JsonOptions, TranscodeError};
use crate::compile::{Body, BoundField, Route, RouteKind};

/// The parts of an HTTP request the message is built from.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// One decoded value per template variable (from the route lookup).
    pub captures: &'a [String],
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The request body (JSON, or raw for [`Route::raw_request`]), possibly
    /// empty.
    pub body: &'a [u8],
    /// The request's `Content-Type`, if any: kept with a raw body.
    pub content_type: Option<&'a str>,
}

impl RequestParts<'_> {
    /// Whether the body carries anything (a body of only whitespace fills
    /// no field, as no body does).
    pub(super) fn has_body(&self) -> bool {
        self.body.iter().any(|b| !b.is_ascii_whitespace())
    }
}

/// Builds the request message for `route`.
pub fn build_request(
    route: &Route,
    parts: RequestParts<'_>,
    options: &JsonOptions,
) -> Result<DynamicMessage, TranscodeError> {
    let input = route.rpc.input();
    let has_body = parts.has_body();
    let mask_field = (route.kind == RouteKind::Update)
        .then(|| mask::mask_field(&input))
        .flatten();

    // The body. For PATCH the JSON is looked at too, to learn which fields it carries.
    let (mut message, present_paths) =
        body_message(route, parts, has_body, mask_field.is_some(), options)?;

    if matches!(route.kind, RouteKind::Replace | RouteKind::Update) {
        check_ids(route, parts.captures, |chain| {
            field_ref(&message, chain).and_then(|v| scalar::to_text(&v))
        })?;
    }

    let mut mask_sent = mask_field.as_ref().is_some_and(|f| message.has_field(f));
    let set = set_uri_values(route, &mut message, parts, options)?;
    if let Some(mask) = &mask_field {
        mask_sent |= set
            .iter()
            .any(|chain| chain.len() == 1 && chain[0] == *mask);
    }

    if let (Some(mask), Some(paths), false) = (mask_field, present_paths, mask_sent) {
        set_mask(&mut message, &mask, paths);
    }
    Ok(message)
}

/// Sets the path values, then the query parameters, into `message`;
/// returns the field chains the query set.
pub(super) fn set_uri_values(
    route: &Route,
    message: &mut DynamicMessage,
    parts: RequestParts<'_>,
    options: &JsonOptions,
) -> Result<Vec<Vec<FieldDescriptor>>, TranscodeError> {
    for (bound, capture) in route.path_fields.iter().zip(parts.captures) {
        *field_mut(message, &bound.fields) = path_value(bound, capture)?;
    }
    let mut set = Vec::new();
    if let Some(query) = parts.query {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            set.extend(set_query_param(route, message, &key, &value, options)?);
        }
    }
    Ok(set)
}

/// The message the body fills, and for PATCH (`with_mask`) the field paths
/// the body's JSON carries, for the update mask.
fn body_message(
    route: &Route,
    parts: RequestParts<'_>,
    has_body: bool,
    with_mask: bool,
    options: &JsonOptions,
) -> Result<(DynamicMessage, Option<Vec<String>>), TranscodeError> {
    let input = route.rpc.input();
    let mut present_paths = None;
    let message = match (&route.body, has_body) {
        (Body::Whole, _) if route.raw_request() => http_body(input.clone(), parts),
        (Body::Field(field), _) if route.raw_request() => {
            let mut message = DynamicMessage::new(input.clone());
            let leaf = field.leaf();
            if let Kind::Message(body) = leaf.kind() {
                message.set_field(leaf, Value::Message(http_body(body, parts)));
            }
            message
        }
        (Body::None, _) | (_, false) => DynamicMessage::new(input.clone()),
        (Body::Whole, true) => {
            // The bytes, not a parsed value, are transcoded: a parsed value
            // has already dropped a field given twice, which is a 400.
            let message = json::from_slice(input.clone(), parts.body, options)?;
            if with_mask {
                let paths = mask::paths_present(&input, &parse_json(parts.body)?);
                refuse_output_only(&input, &paths, "")?;
                present_paths = Some(paths);
            }
            message
        }
        (Body::Field(field), true) => {
            let mut message = DynamicMessage::new(input.clone());
            let leaf = field.leaf();
            let value = match leaf.kind() {
                Kind::Message(m) if !leaf.is_list() && !leaf.is_map() => {
                    let value = json::from_slice(m.clone(), parts.body, options)?;
                    if with_mask {
                        let paths = mask::paths_present(&m, &parse_json(parts.body)?);
                        refuse_output_only(&m, &paths, &format!("{}.", field.path))?;
                        present_paths = Some(paths);
                    }
                    Value::Message(value)
                }
                _ => non_message_body(&input, leaf, parts.body, options)?,
            };
            message.set_field(leaf, value);
            message
        }
    };
    Ok((message, present_paths))
}

/// Sets the request's update mask (field `mask`) to `paths`.
fn set_mask(message: &mut DynamicMessage, mask: &FieldDescriptor, paths: Vec<String>) {
    let Kind::Message(mask_desc) = mask.kind() else {
        unreachable!("mask_field checked the kind")
    };
    let mut value = DynamicMessage::new(mask_desc);
    let list = paths.into_iter().map(Value::String).collect();
    value.set_field_by_name("paths", Value::List(list));
    message.set_field(mask, Value::Message(value));
}

/// The value a path variable's decoded `capture` gives its field. A
/// repeated field (google.api.http allows one) reads the segment as
/// comma-separated values, as grpc-gateway does: `1.5,2.5` is two floats;
/// each element parses like a query value, and a bad one is a 400 naming
/// the field.
fn path_value(bound: &BoundField, capture: &str) -> Result<Value, TranscodeError> {
    let leaf = bound.leaf();
    let name = bound.path.to_string();
    if !leaf.is_list() {
        return scalar::parse(leaf, &name, capture);
    }
    let items = capture
        .split(',')
        .map(|element| scalar::parse(leaf, &name, element))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::List(items))
}

/// A PATCH body may not carry an output-only field (the document marks it
/// `readOnly`): the service sets it, and the mask built from the body would
/// ask to write it. `prefix` is the body field's path, for the message.
fn refuse_output_only(
    message: &MessageDescriptor,
    paths: &[String],
    prefix: &str,
) -> Result<(), TranscodeError> {
    match mask::output_only(message, paths) {
        Some(path) => Err(TranscodeError::OutputOnly(format!("{prefix}{path}"))),
        None => Ok(()),
    }
}

/// A `google.api.HttpBody` (of type `descriptor`) holding the raw body and
/// its content type.
fn http_body(descriptor: MessageDescriptor, parts: RequestParts<'_>) -> DynamicMessage {
    let mut message = DynamicMessage::new(descriptor);
    if let Some(content_type) = parts.content_type {
        message.set_field_by_name("content_type", Value::String(content_type.to_owned()));
    }
    message.set_field_by_name(
        "data",
        Value::Bytes(bytes::Bytes::copy_from_slice(parts.body)),
    );
    message
}

fn parse_json(body: &[u8]) -> Result<serde_json::Value, TranscodeError> {
    serde_json::from_slice(body).map_err(|e| TranscodeError::Json(e.to_string()))
}

/// A body bound to a scalar, repeated or map field (google.api.http allows
/// it): read as the value of that one field.
fn non_message_body(
    input: &MessageDescriptor,
    leaf: &FieldDescriptor,
    body: &[u8],
    options: &JsonOptions,
) -> Result<Value, TranscodeError> {
    let value = parse_json(body)?;
    let wrapped = serde_json::json!({ leaf.name(): value });
    let mut message = json::from_value(input.clone(), wrapped, options)?;
    Ok(message
        .take_field(leaf)
        .unwrap_or_else(|| Value::default_value_for_field(leaf)))
}

/// The value slot at the end of `chain`, creating the messages on the way.
fn field_mut<'m>(message: &'m mut DynamicMessage, chain: &[FieldDescriptor]) -> &'m mut Value {
    let (last, parents) = chain
        .split_last()
        .unwrap_or_else(|| unreachable!("bound paths are never empty"));
    let mut current = message;
    for parent in parents {
        current = match current.get_field_mut(parent) {
            Value::Message(inner) => inner,
            other => unreachable!(
                "binding checked {} is a message, found {other:?}",
                parent.name()
            ),
        };
    }
    current.get_field_mut(last)
}

/// The value at the end of `chain`, if every message on the way is set.
fn field_ref(message: &DynamicMessage, chain: &[FieldDescriptor]) -> Option<Value> {
    let (last, parents) = chain.split_last()?;
    let mut current = message.clone();
    for parent in parents {
        if !current.has_field(parent) {
            return None;
        }
        current = current.get_field(parent).as_message()?.clone();
    }
    current
        .has_field(last)
        .then(|| current.get_field(last).into_owned())
}

/// On replace and update the URI names the item: a body naming another is a 400.
///
/// "An id in the body" is the field a dotted variable binds
/// (`{book.name=...}` with `body: "book"`), the body message's field named
/// like a path variable (`product_id`), or with `body: "*"` the very field
/// the variable fills. `body_text` reads such a field (a chain from the
/// request message) from the body as built, `None` when it is not set.
pub(super) fn check_ids(
    route: &Route,
    captures: &[String],
    body_text: impl Fn(&[FieldDescriptor]) -> Option<String>,
) -> Result<(), TranscodeError> {
    for (bound, capture) in route.path_fields.iter().zip(captures) {
        let Some((chain, name)) = body_counterpart(route, bound) else {
            continue;
        };
        match body_text(&chain) {
            Some(text) if !text.is_empty() && text != *capture => {
                return Err(TranscodeError::IdConflict {
                    field: name,
                    path: capture.clone(),
                    body: text,
                })
            }
            _ => {}
        }
    }
    Ok(())
}

/// The body field that names the same thing as a path variable, if any.
pub(super) fn body_counterpart(
    route: &Route,
    var: &BoundField,
) -> Option<(Vec<FieldDescriptor>, String)> {
    match &route.body {
        Body::None => None,
        Body::Whole => Some((var.fields.clone(), var.path.to_string())),
        Body::Field(body) => {
            let body_field = body.leaf();
            if var.fields.len() > 1 && var.fields[0] == *body_field {
                return Some((var.fields.clone(), var.path.to_string()));
            }
            let Kind::Message(resource) = body_field.kind() else {
                return None;
            };
            let same_name = resource.get_field_by_name(var.leaf().name())?;
            if same_name.is_list()
                || same_name.is_map()
                || matches!(same_name.kind(), Kind::Message(_))
            {
                return None;
            }
            let name = format!("{}.{}", body_field.name(), same_name.name());
            Some((vec![body_field.clone(), same_name], name))
        }
    }
}

/// Sets one query parameter; returns the field chain it set (`None` when an
/// unknown parameter is ignored, or for a system parameter such as `$alt`,
/// which [`super::system_params`] reads).
fn set_query_param(
    route: &Route,
    message: &mut DynamicMessage,
    key: &str,
    text: &str,
    options: &JsonOptions,
) -> Result<Option<Vec<FieldDescriptor>>, TranscodeError> {
    let input = route.rpc.input();
    if system::is_system(&input, key) {
        return Ok(None);
    }
    let Some(chain) = resolve_param(&input, key) else {
        return if options.deny_unknown_fields {
            Err(TranscodeError::UnknownParameter(key.to_owned()))
        } else {
            Ok(None)
        };
    };
    let taken_by_path = route
        .path_fields
        .iter()
        .any(|p| chain.starts_with(&p.fields) || p.fields.starts_with(&chain));
    let taken_by_body = match &route.body {
        Body::None => false,
        Body::Whole => true,
        Body::Field(b) => chain[0] == *b.leaf(),
    };
    if taken_by_path || taken_by_body {
        return Err(TranscodeError::ParameterClash(key.to_owned()));
    }
    let leaf = &chain[chain.len() - 1];
    if leaf.is_map() {
        return Err(TranscodeError::BadValue {
            field: key.to_owned(),
            value: text.to_owned(),
            reason: "map fields cannot be set from the query string".to_owned(),
        });
    }
    let value = scalar::parse(leaf, key, text)?;
    let slot = field_mut(message, &chain);
    match slot {
        Value::List(items) => items.push(value),
        _ => *slot = value,
    }
    Ok(Some(chain))
}

/// Resolves `a.b.c` (proto or lowerCamelCase names) to a field chain whose
/// every part but the last is a singular message.
fn resolve_param(input: &MessageDescriptor, key: &str) -> Option<Vec<FieldDescriptor>> {
    let mut chain = Vec::new();
    let mut current = input.clone();
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let field = current
            .get_field_by_name(part)
            .or_else(|| current.get_field_by_json_name(part))?;
        if i + 1 < parts.len() {
            match field.kind() {
                Kind::Message(inner) if !field.is_list() && !field.is_map() => current = inner,
                _ => return None,
            }
        }
        chain.push(field);
    }
    Some(chain)
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod query_tests;
