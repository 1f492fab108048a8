//! [`Route`]: one REST binding of one RPC with every field it touches
//! resolved, what it says about its bodies (raw `google.api.HttpBody` or
//! JSON), and [`RouteSummary`], its JSON form for `restgate routes`.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor};
use serde::Serialize;

use super::binding::{Body, BoundField};
use super::classify::{self, KindReason};
use super::location::ItemUri;
use super::rule::{RouteKind, RuleSource};
use super::template::PathTemplate;

/// One REST binding of one RPC, with every field it touches resolved.
#[derive(Debug, Clone)]
pub struct Route {
    /// The HTTP method.
    pub method: http::Method,
    /// The path template.
    pub template: PathTemplate,
    /// The operation.
    pub kind: RouteKind,
    /// The annotation it came from.
    pub source: RuleSource,
    /// The RPC it calls.
    pub rpc: MethodDescriptor,
    /// One per variable of `template`, in order: the request field it fills.
    pub path_fields: Vec<BoundField>,
    /// What the request body fills.
    pub body: Body,
    /// The reply field sent as the response body; `None` for the whole reply.
    pub response_body: Option<BoundField>,
    /// For create: how `Location` is built; `None` when it cannot be.
    pub location: Option<ItemUri>,
    /// Set when this binding is never served: a google.api.http binding of
    /// the same HTTP method and template declared after it wins, as in
    /// grpc-gateway. The winner's RPC, `package.Service/Method`. Such a
    /// route is in [`RouteTable::bindings`](super::RouteTable::bindings), never in
    /// [`RouteTable::routes`](super::RouteTable::routes).
    pub shadowed_by: Option<String>,
    /// Its place among every binding declared, served or shadowed.
    pub(super) declared: usize,
    /// For a `(google.api.http)` `post`, or `get` on a template ending in a
    /// literal: why it has its kind (see [`Route::why`]).
    pub reason: Option<KindReason>,
}

/// The message whose fields carry a raw HTTP body of any content type
/// (`content_type`, `data`) instead of JSON: SPEC §3.
pub const HTTP_BODY: &str = "google.api.HttpBody";

/// Whether `message` is [`HTTP_BODY`].
fn is_http_body(message: &MessageDescriptor) -> bool {
    message.full_name() == HTTP_BODY
}

/// Whether `field` holds one [`HTTP_BODY`] message.
fn holds_http_body(field: &FieldDescriptor) -> bool {
    !field.is_list()
        && !field.is_map()
        && matches!(field.kind(), Kind::Message(m) if is_http_body(&m))
}

impl Route {
    /// Whether the request body is raw, of any content type, because what
    /// it fills is a `google.api.HttpBody` (the whole request or the body
    /// field); otherwise it is JSON. A client-streaming method's body is
    /// NDJSON, whatever its messages are.
    pub fn raw_request(&self) -> bool {
        if self.rpc.is_client_streaming() {
            return false;
        }
        match &self.body {
            Body::None => false,
            Body::Whole => is_http_body(&self.rpc.input()),
            Body::Field(field) => holds_http_body(field.leaf()),
        }
    }

    /// Whether the answer body is raw, because what is answered (the whole
    /// reply or the `response_body` field) is a `google.api.HttpBody`. A
    /// server-streaming method answers NDJSON or SSE, whatever its messages
    /// are.
    pub fn raw_reply(&self) -> bool {
        if self.rpc.is_server_streaming() {
            return false;
        }
        match &self.response_body {
            None => is_http_body(&self.rpc.output()),
            Some(field) => holds_http_body(field.leaf()),
        }
    }

    /// Why this `(google.api.http)` binding has its kind, where its shape
    /// alone does not say, as `restgate check --verbose` prints it:
    /// `POST /v1/echo: no replace or get route on /v1/echo/* to name the
    /// created item, so a plain POST answering 200`.
    pub fn why(&self) -> Option<String> {
        let reason = self.reason.as_ref()?;
        Some(format!(
            "{} {}: {reason}, so {}",
            self.method,
            self.template,
            classify::outcome(&self.method, self.kind)
        ))
    }

    /// The RPC as `package.Service/Method`.
    pub fn rpc_name(&self) -> String {
        format!(
            "{}/{}",
            self.rpc.parent_service().full_name(),
            self.rpc.name()
        )
    }

    /// A one-object summary, as `restgate routes --format json` prints it.
    pub fn summary(&self) -> RouteSummary {
        RouteSummary {
            method: self.method.to_string(),
            path: self.template.as_str().to_owned(),
            rpc: self.rpc_name(),
            kind: self.kind,
            body: self.body.selector(),
            response_body: self.response_body.as_ref().map(|f| f.path.to_string()),
            path_fields: self
                .path_fields
                .iter()
                .map(|f| f.path.to_string())
                .collect(),
            request: self.rpc.input().full_name().to_owned(),
            response: self.rpc.output().full_name().to_owned(),
            location: self
                .location
                .as_ref()
                .map(|l| l.template.as_str().to_owned()),
            source: self.source,
            shadowed_by: self.shadowed_by.clone(),
        }
    }
}

/// The JSON form of a [`Route`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteSummary {
    /// `POST`, `PUT`, ...
    pub method: String,
    /// The template as written.
    pub path: String,
    /// `package.Service/Method`.
    pub rpc: String,
    /// create, replace, get, list, delete, update or custom.
    pub kind: RouteKind,
    /// The body selector (`*`, a field) or null.
    pub body: Option<String>,
    /// The response body field, or null for the whole reply.
    pub response_body: Option<String>,
    /// The request fields the path fills, in template order.
    pub path_fields: Vec<String>,
    /// The request message's full name.
    pub request: String,
    /// The reply message's full name.
    pub response: String,
    /// For create: the item template `Location` is built from.
    pub location: Option<String>,
    /// `restgate.rest` or `google.api.http`.
    pub source: RuleSource,
    /// For a binding never served (another google.api.http binding of the
    /// same method and template, declared later, wins): that binding's RPC.
    /// Null for every served route.
    pub shadowed_by: Option<String>,
}
