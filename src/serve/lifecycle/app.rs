//! The axum app of one worker: the operational endpoints under their
//! prefix, every other request to the pipeline's one handler; request
//! decompression, reply compression and CORS when configured, and
//! `Connection: close` on HTTP/1 replies while draining. A worker's
//! connections call it through [`WorkerService`](super::WorkerService),
//! which sends the REST requests that would only meet its fallback
//! straight to the handler; REST in process is served by it alone.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Method, Version};

use tower_http::compression::predicate::{And, NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

use super::{docs, ops, Live};
use crate::serve::{handler, Gateway, ServeError};

/// The app serving one fixed gateway (REST in process: no reload).
pub fn app(gateway: Arc<Gateway>) -> axum::Router {
    live_app(Arc::new(Live::fixed(gateway)))
}

/// The app serving whatever table `live` holds now. The ops prefix and
/// CORS settings are the first table's (a reload does not move them).
pub fn live_app(live: Arc<Live>) -> axum::Router {
    let first = live.gateway();
    let cors = first.shared.options.cors.clone();
    let prefix = &first.shared.options.ops_prefix;
    let mut router = ops::routes(prefix);
    if first.shared.options.docs {
        router = router.merge(docs::routes(prefix));
    }
    let router = router
        // A method an operational path does not serve (they all serve GET
        // and HEAD only): the JSON error body and `Allow` of every 405.
        .method_not_allowed_fallback(|| {
            let allowed = vec![Method::GET, Method::HEAD];
            std::future::ready(ServeError::MethodNotAllowed(allowed).into_response())
        })
        // The table of this request: a reload swaps it for later ones only.
        .fallback(|State(live): State<Arc<Live>>, request: Request| {
            handler::handle(live.gateway(), request)
        })
        .layer(middleware::from_fn_with_state(
            Arc::clone(&live),
            close_when_draining,
        ))
        .with_state(live);
    let options = &first.shared.options;
    let router = if options.decompress_requests {
        // Unknown codings pass through, for the pipeline to answer 415.
        router.layer(RequestDecompressionLayer::new().pass_through_unaccepted(true))
    } else {
        router
    };
    let router = if options.compress_responses {
        router.layer(compression_layer(options.compress_min_bytes))
    } else {
        router
    };
    match cors {
        Some(cors) => router.layer(ops::cors_layer(&cors)),
        None => router,
    }
}

/// gzip, br and zstd by `Accept-Encoding` (q-values honoured), for bodies
/// of at least `min_bytes`, not for gRPC or images. Streamed NDJSON and SSE
/// replies have no length, so they are compressed whatever their size; they
/// still leave message by message, as the encoder under the layer
/// (async-compression) flushes whenever the body has nothing more to give
/// yet, that is after each message the service sent (a sync flush: the
/// client decodes every byte it got).
fn compression_layer(min_bytes: u64) -> CompressionLayer<ReplyPredicate> {
    CompressionLayer::new().compress_when(reply_predicate(min_bytes))
}

/// Which replies are compressed (see [`compression_layer`]).
pub(super) type ReplyPredicate = And<And<SizeAbove, NotForContentType>, NotForContentType>;

/// Replies of at least `min_bytes`, not gRPC, not images.
pub(super) fn reply_predicate(min_bytes: u64) -> ReplyPredicate {
    SizeAbove::new(min_bytes)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
}

/// While draining, an HTTP/1 reply carries `Connection: close`, so that the
/// client's next request opens a connection the load balancer routes
/// elsewhere (hyper closes the connection after it). HTTP/2 connections get
/// GOAWAY when the listener closes.
async fn close_when_draining(
    State(live): State<Arc<Live>>,
    request: Request,
    next: Next,
) -> Response {
    let http1 = request.version() < Version::HTTP_2;
    let mut response = next.run(request).await;
    if http1 && live.draining() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
