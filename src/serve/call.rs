//! What a request's upstream call is made of, built once per request and
//! shared by the unary and the streaming path: the request id, the
//! metadata passed on, the deadline (`Grpc-Timeout` or the route's
//! default), the target (upstream + gRPC path); and the one conversion of a
//! failed call into a [`ServeError`] (counted in the metrics, its status
//! details decoded).

use std::time::Duration;

use http::uri::PathAndQuery;
use http::{header, HeaderMap, HeaderName, HeaderValue};
use tonic::metadata::MetadataMap;

use super::gateway::RouteServing;
use super::{Gateway, ServeError, Shared};
use crate::compile::{Route, RouteId};
use crate::transcode;
use crate::upstream::{self, Upstream, UpstreamError};

/// The request id header: taken from the request when it has one, else
/// made; always on the answer, and passed to the service as metadata. A
/// name, not a `&str`: `HeaderMap` parses and hashes a `&str` key anew on
/// every lookup (several hundred instructions each, per request).
pub(super) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's own id, or a new one.
pub(super) fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(REQUEST_ID)
        .filter(|v| !v.is_empty())
        .cloned()
        .unwrap_or_else(new_request_id)
}

/// A fresh UUID v4 request id.
pub(super) fn new_request_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4();
    HeaderValue::from_str(
        id.hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    )
    .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// One request's call: its route, metadata and deadline.
pub(super) struct CallContext<'g> {
    /// The worker's gateway.
    pub(super) gateway: &'g Gateway,
    /// The matched route.
    pub(super) id: RouteId,
    /// Its definition.
    pub(super) route: &'g Route,
    /// Its gRPC path, upstream and default deadline.
    pub(super) serving: &'g RouteServing,
    /// The headers passed on, with the request id.
    pub(super) metadata: MetadataMap,
    /// The client's own `Grpc-Timeout`, when it sent a usable one.
    pub(super) asked: Option<Duration>,
    /// Whether the request carried `If-Match`/`If-None-Match` (an empty one
    /// is no precondition).
    pub(super) precondition: bool,
}

impl<'g> CallContext<'g> {
    /// The call of route `id` for a request with `headers`.
    pub(super) fn new(
        gateway: &'g Gateway,
        id: RouteId,
        headers: &HeaderMap,
        request_id: &HeaderValue,
    ) -> CallContext<'g> {
        let shared = &gateway.shared;
        let mut metadata = upstream::request_metadata(headers, &shared.options.forward_headers);
        if !headers.contains_key(REQUEST_ID) {
            metadata.as_mut().insert(REQUEST_ID, request_id.clone());
        }
        // A request id is new with every call: HPACK sends it as a literal
        // never indexed, instead of adding each one to the connection's
        // table (evicting the headers every call repeats).
        if let Some(id) = metadata.as_mut().get_mut(REQUEST_ID) {
            id.set_sensitive(true);
        }
        let present = |name| {
            headers
                .get(name)
                .is_some_and(|v: &HeaderValue| !v.is_empty())
        };
        CallContext {
            gateway,
            id,
            route: shared.route(id),
            serving: shared.serving(id),
            metadata,
            asked: headers
                .get(upstream::GRPC_TIMEOUT)
                .and_then(upstream::grpc_timeout),
            precondition: present(header::IF_MATCH) || present(header::IF_NONE_MATCH),
        }
    }

    /// The call's deadline: the client's `Grpc-Timeout`, else the route's.
    pub(super) fn deadline(&self) -> Duration {
        self.asked.unwrap_or(self.serving.timeout)
    }

    /// The upstream and gRPC path called.
    pub(super) fn target(&self) -> (&'g Upstream, &'g PathAndQuery) {
        self.gateway.target(self.id)
    }

    /// The failed call as the request's error.
    pub(super) fn failed(&self, error: UpstreamError) -> ServeError {
        failure(&self.gateway.shared, self.route, error, self.precondition)
    }
}

/// A failed call of `route` as an error: counted in the metrics under its
/// label, the service's status details decoded as JSON. With
/// `precondition`, a `FAILED_PRECONDITION` answers 412.
pub(super) fn failure(
    shared: &Shared,
    route: &Route,
    error: UpstreamError,
    precondition: bool,
) -> ServeError {
    shared
        .metrics
        .upstream_error(route.template.as_str(), error.metric_label());
    let details = match &error {
        UpstreamError::Status(status) => transcode::status_details(
            route.rpc.parent_pool(),
            status.details(),
            &shared.options.json,
        ),
        _ => Vec::new(),
    };
    ServeError::Upstream {
        error,
        details,
        precondition,
    }
}
