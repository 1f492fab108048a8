//! Reply → JSON body (or, for a `google.api.HttpBody` reply, its raw bytes
//! and content type), and a gRPC error's `grpc-status-details-bin` → the
//! `details` array of the error body.

use base64::Engine as _;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, ReflectMessage};

use super::{json, JsonOptions, TranscodeError};
use crate::compile::{ItemValue, Route};

/// The JSON body for a successful reply: the whole message, or with
/// `response_body` just that field.
pub fn reply_body(
    route: &Route,
    reply: &DynamicMessage,
    options: &JsonOptions,
) -> Result<Vec<u8>, TranscodeError> {
    let Some(field) = &route.response_body else {
        return json::to_vec(reply, options);
    };
    let leaf = field.leaf();
    let value = reply.get_field(leaf);
    match (leaf.kind(), value.as_message()) {
        (Kind::Message(_), Some(inner)) if !leaf.is_list() && !leaf.is_map() => {
            json::to_vec(inner, options)
        }
        _ => {
            // A scalar, list or map: write the reply with that field alone, take its value.
            let mut only = DynamicMessage::new(reply.descriptor());
            only.set_field(leaf, value.into_owned());
            let always = JsonOptions {
                emit_unpopulated: true,
                ..*options
            };
            let mut object = json::to_value(&only, &always)?;
            let key = if options.proto_field_names {
                leaf.name()
            } else {
                leaf.json_name()
            };
            let inner = object
                .get_mut(key)
                .map(serde_json::Value::take)
                .unwrap_or_default();
            serde_json::to_vec(&inner).map_err(|e| TranscodeError::Reply(e.to_string()))
        }
    }
}

/// Whether a reply of `route` can be answered from its protobuf encoding
/// by the compiled transcoder: JSON of the whole message (no
/// `response_body`, no `google.api.HttpBody`) and an `ETag` that
/// [`super::precondition::wire_reply_etag`] reads (a create's `Location`
/// is read from the encoding by [`super::wire_location`]).
pub fn wire_reply_fits(route: &Route) -> bool {
    route.response_body.is_none()
        && !route.raw_reply()
        && super::precondition::wire_etag_readable(&route.rpc.output())
        && !location_in_oneof(route)
}

/// Whether the item URI takes a reply field that is (or is inside) a oneof
/// member: another member given after it clears it, which only decoding
/// the whole reply tells.
fn location_in_oneof(route: &Route) -> bool {
    route
        .location
        .iter()
        .flat_map(|item| &item.values)
        .any(|value| match value {
            ItemValue::Reply(field) => field.fields.iter().any(|f| f.containing_oneof().is_some()),
            ItemValue::PathVariable(_) => false,
        })
}

/// A raw answer body: what a `google.api.HttpBody` reply carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBody {
    /// Its `content_type`; `application/octet-stream` when the reply left it
    /// empty.
    pub content_type: String,
    /// Its `data`.
    pub data: bytes::Bytes,
}

/// The raw body of a reply when the route answers one
/// ([`Route::raw_reply`]): the whole reply's or the `response_body` field's
/// `google.api.HttpBody`. `None` for JSON routes.
pub fn raw_reply(route: &Route, reply: &DynamicMessage) -> Option<RawBody> {
    if !route.raw_reply() {
        return None;
    }
    let body = match &route.response_body {
        None => std::borrow::Cow::Borrowed(reply),
        Some(field) => match reply.get_field(field.leaf()) {
            std::borrow::Cow::Borrowed(value) => std::borrow::Cow::Borrowed(value.as_message()?),
            std::borrow::Cow::Owned(value) => std::borrow::Cow::Owned(value.as_message()?.clone()),
        },
    };
    let content_type = body
        .get_field_by_name("content_type")
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let data = body
        .get_field_by_name("data")
        .and_then(|v| v.as_bytes().cloned())
        .unwrap_or_default();
    Some(RawBody { content_type, data })
}

/// `google.rpc.Status`, the payload of `grpc-status-details-bin`.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// The `details` of an error body: each `Any` of the status details as JSON
/// with its `@type`, decoded when `pool` knows the type, else with its bytes
/// in base64 under `value`.
pub fn status_details(
    pool: &DescriptorPool,
    details: &[u8],
    options: &JsonOptions,
) -> Vec<serde_json::Value> {
    if details.is_empty() {
        return Vec::new();
    }
    let Ok(status) = RpcStatus::decode(details) else {
        return Vec::new();
    };
    status
        .details
        .iter()
        .map(|any| {
            let name = any.type_url.rsplit('/').next().unwrap_or_default();
            let decoded = pool
                .get_message_by_name(name)
                .and_then(|desc| DynamicMessage::decode(desc, any.value.as_slice()).ok())
                .and_then(|message| json::to_value(&message, options).ok());
            let mut object = serde_json::Map::new();
            object.insert("@type".to_owned(), any.type_url.clone().into());
            match decoded {
                Some(serde_json::Value::Object(fields)) => object.extend(fields),
                _ => {
                    let bytes = base64::engine::general_purpose::STANDARD.encode(&any.value);
                    object.insert("value".to_owned(), bytes.into());
                }
            }
            serde_json::Value::Object(object)
        })
        .collect()
}
