//! The request message written as protobuf wire bytes by the compiled
//! transcoder ([`RequestPlan`]), with no `DynamicMessage` for the body: what
//! a unary create, replace, get or delete sends on the hot path.
//!
//! The bytes are the body's encoding followed by the encoding of a small
//! message holding only what the URI and `If-Match` give (path values,
//! query parameters, `etag`). Protobuf reads concatenated encodings as one
//! merged message, the later value of a singular field winning and
//! submessages merging, so the service sees what
//! [`super::build_request`] builds: path values over the body's, the
//! resource's `etag` from `If-Match`. Routes where merging would differ
//! (a repeated field filled from the path: merging appends where building
//! replaces) and PATCH (whose mask is built from the body's JSON) are left
//! to [`super::build_request`]; so are raw bodies and bodies bound to a
//! scalar, list or map field.

use std::sync::Arc;

use bytes::Bytes;
use prost::Message as _;
use prost_reflect::{DynamicMessage, Kind};

use super::request::{body_counterpart, check_ids, set_uri_values};
use super::TranscodeError;
use super::{precondition, wire_field, JsonOptions, MessagePlan, PlanCache, RequestParts};
use crate::compile::{Body, Route, RouteKind};

/// Whether the body field the id check reads is (or is inside) a oneof
/// member: another member given after it clears it, which only building
/// the message tells.
fn id_in_oneof(route: &Route) -> bool {
    route.path_fields.iter().any(|var| {
        body_counterpart(route, var)
            .is_some_and(|(chain, _)| chain.iter().any(|f| f.containing_oneof().is_some()))
    })
}

/// Appends the path values to `wire` as the records encoding them in a
/// message would be, when each is a non-empty string bound to a singular
/// string field of the request itself (`/v1/users/{user_id}`): the common
/// case, written without building and encoding a `DynamicMessage` (about
/// 1 % of a GET's CPU under load). `false`, with nothing written, for any
/// other path value: the caller builds the message.
fn append_string_captures(route: &Route, captures: &[String], wire: &mut Vec<u8>) -> bool {
    let direct = route
        .path_fields
        .iter()
        .zip(captures.iter())
        .all(|(bound, value)| {
            let leaf = bound.leaf();
            bound.fields.len() == 1
                && leaf.kind() == Kind::String
                && !leaf.is_list()
                && !value.is_empty()
        });
    if !direct || route.path_fields.len() != captures.len() {
        return false;
    }
    for (bound, value) in route.path_fields.iter().zip(captures.iter()) {
        let key = u64::from(bound.leaf().number()) << 3 | 2;
        prost::encoding::encode_varint(key, wire);
        prost::encoding::encode_varint(value.len() as u64, wire);
        wire.extend_from_slice(value.as_bytes());
    }
    true
}

/// How one route's unary request is written as wire bytes.
#[derive(Debug, Clone)]
pub struct RequestPlan {
    /// The compiled transcoder of the message the body fills and, for a
    /// body bound to one field of the request, that field's number.
    body: Option<(Arc<MessagePlan>, Option<u32>)>,
}

impl RequestPlan {
    /// The plan of `route`'s requests, or `None` when they are built as a
    /// message instead (see the module doc).
    pub fn for_route(route: &Route, plans: &PlanCache) -> Option<RequestPlan> {
        let rpc = &route.rpc;
        if route.raw_request()
            || route.kind == RouteKind::Update
            || rpc.is_client_streaming()
            || rpc.is_server_streaming()
            || route.path_fields.iter().any(|p| p.leaf().is_list())
            || (route.kind == RouteKind::Replace && id_in_oneof(route))
        {
            return None;
        }
        let body = match &route.body {
            Body::None => None,
            Body::Whole => Some((plans.plan(&rpc.input()), None)),
            Body::Field(field) => {
                let leaf = field.leaf();
                match leaf.kind() {
                    Kind::Message(message) if !leaf.is_list() && !leaf.is_map() => {
                        Some((plans.plan(&message), Some(leaf.number())))
                    }
                    _ => return None,
                }
            }
        };
        Some(RequestPlan { body })
    }

    /// The request of `route` (the route this plan was made for) as wire
    /// bytes: by the rules of [`super::build_request`] and, with `if_match`
    /// (an `If-Match` entity tag), [`precondition::apply_if_match`].
    pub fn build(
        &self,
        route: &Route,
        parts: RequestParts<'_>,
        if_match: Option<&str>,
        options: &JsonOptions,
    ) -> Result<Bytes, TranscodeError> {
        let mut wire = Vec::with_capacity(parts.body.len() + 64);
        let has_body = parts.has_body();
        match &self.body {
            Some((plan, None)) if has_body => plan.json_to_wire(parts.body, options, &mut wire)?,
            Some((plan, Some(number))) if has_body => {
                plan.json_to_wire_field(*number, parts.body, options, &mut wire)?;
            }
            _ => {}
        }
        if route.kind == RouteKind::Replace {
            check_ids(route, parts.captures, |chain| {
                wire_field::field_text(&wire, chain)
            })?;
        }
        if parts.query.is_none()
            && if_match.is_none()
            && append_string_captures(route, parts.captures, &mut wire)
        {
            return Ok(wire.into());
        }
        let mut uri = DynamicMessage::new(route.rpc.input());
        set_uri_values(route, &mut uri, parts, options)?;
        if let Some(tag) = if_match {
            precondition::apply_if_match(route, &mut uri, tag);
        }
        uri.encode(&mut wire)
            .unwrap_or_else(|e| unreachable!("a Vec grows to hold any message: {e}"));
        Ok(wire.into())
    }
}
