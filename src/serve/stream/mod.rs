//! Streaming RPCs over HTTP: server-streaming and bidirectional replies
//! written as NDJSON (or Server-Sent Events on `Accept: text/event-stream`
//! or `$alt=sse`), in the JSON options the request's `$alt` asks for,
//! one message flushed per line or event as it arrives; client-streaming
//! and bidirectional requests read from an NDJSON body, one message sent
//! upstream per line as soon as the line is complete.
//!
//! The answer's headers wait for the first reply message (or the call's
//! end), so a call that fails before it answers anything gets the ordinary
//! error status and body. After that, a failure ends the stream with an
//! error line (`{"error":{…}}`) or an `event: error`. Trailers arrive after
//! the body started and are not passed on. Dropping the answer (the client
//! went away) cancels the call.

mod format;
mod replies;
mod start;

use axum::body::Body as AxumBody;
use axum::response::Response;
use futures_util::StreamExt;

pub(super) use start::{client_streaming, server_streaming, StreamRequest};

use crate::compile::Route;

/// `response` whose body keeps `guard` until the body is dropped.
pub(super) fn holding<G: Send + 'static>(response: Response, guard: G) -> Response {
    response.map(|body| {
        let chunks = body.into_data_stream().map(move |chunk| {
            let _ = &guard;
            chunk
        });
        AxumBody::from_stream(chunks)
    })
}

/// Whether the route's RPC streams requests, replies or both.
pub(super) fn is_streaming(route: &Route) -> bool {
    route.rpc.is_client_streaming() || route.rpc.is_server_streaming()
}
