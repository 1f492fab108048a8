//! [`WorkerService`]: what a worker's connections call for each request.
//!
//! Most requests are REST requests that, of the whole [`live_app`] router,
//! only meet its fallback (the pipeline's handler), the reply compression
//! layer and the `Connection: close` of draining. Those go straight to the
//! handler, through the same compression layer: the router's dispatch, its
//! middleware's boxed service and futures, and the request decompression
//! layer's wrapping of a body that is not encoded cost about 6–12 µs of CPU
//! per request, some 15 % of the gateway's (BENCHMARKS.md, "The REST path
//! without the router"). Every other request — an operational or explorer
//! path, an encoded body, any request when CORS is on — goes through the
//! router, which would have served the direct ones the same way.
//!
//! A request that names no `Accept-Encoding` skips the compression layer
//! too (its reply is never compressed), and gets from [`vary`] the one
//! thing the layer would have added: `Vary: Accept-Encoding` on a reply it
//! would have compressed for a client that asked. Wrapping and boxing the
//! reply's body cost about 1 µs per request (BENCHMARKS.md).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::future::RouteFuture;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{header, HeaderValue, Version};
use tower_http::compression::Compression;

use super::app::{reply_predicate, ReplyPredicate};
use super::{docs, live_app, ops, Live};
use crate::serve::handler;

/// The handler behind the router's reply compression.
type Compressed = Compression<Direct, ReplyPredicate>;

/// A worker's service: REST requests straight to the handler, the rest
/// through its [`live_app`] router. One pointer: every connection's task
/// holds a clone (and hyper's connection state another) for as long as it
/// is open.
#[derive(Clone)]
pub struct WorkerService(Arc<Parts>);

/// What [`WorkerService`] dispatches with.
struct Parts {
    live: Arc<Live>,
    router: axum::Router,
    /// The paths the router has routes for (the rest meet its fallback).
    routed: RoutedPaths,
    /// CORS is on: its layer answers preflights and marks every reply, so
    /// every request goes through the router.
    cors: bool,
    /// The router's reply compression, around the handler, when it is on.
    compression: Option<Compressed>,
    /// Which replies it compresses.
    predicate: ReplyPredicate,
}

impl WorkerService {
    /// The service of a worker serving what `live` holds. Its paths, CORS
    /// and compression settings are the first table's, as the router's
    /// are (a reload does not move them).
    pub fn new(live: Arc<Live>) -> WorkerService {
        let first = live.gateway();
        let options = &first.shared.options;
        let direct = Direct(Arc::clone(&live));
        let compression = options.compress_responses.then(|| {
            Compression::new(direct).compress_when(reply_predicate(options.compress_min_bytes))
        });
        WorkerService(Arc::new(Parts {
            router: live_app(Arc::clone(&live)),
            routed: RoutedPaths::new(&options.ops_prefix),
            cors: options.cors.is_some(),
            compression,
            predicate: reply_predicate(options.compress_min_bytes),
            live,
        }))
    }

    /// Whether `request` goes through the router.
    fn routed<B>(&self, request: &http::Request<B>) -> bool {
        let parts = &self.0;
        parts.cors
            || request.headers().contains_key(header::CONTENT_ENCODING)
            || parts.routed.contains(request.uri().path())
    }
}

impl std::fmt::Debug for WorkerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerService")
            .field("routed", &self.0.routed)
            .field("cors", &self.0.cors)
            .field("compression", &self.0.compression.is_some())
            .finish_non_exhaustive()
    }
}

impl<B> hyper::service::Service<http::Request<B>> for WorkerService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Reply;

    fn call(&self, request: http::Request<B>) -> Reply {
        if self.routed(&request) {
            let mut router = self.0.router.clone();
            return Reply::Routed(tower::Service::call(&mut router, request));
        }
        let request = request.map(Body::new);
        let compression = self.0.compression.as_ref();
        match compression {
            Some(compression) if request.headers().contains_key(header::ACCEPT_ENCODING) => {
                Reply::Compressed(tower::Service::call(&mut compression.clone(), request))
            }
            _ => {
                let reply = boxed(Arc::clone(&self.0.live), request);
                match compression {
                    Some(_) => Reply::Uncompressed(reply, self.0.predicate.clone()),
                    None => Reply::Direct(reply),
                }
            }
        }
    }
}

/// The operational and explorer paths under the ops prefix: exactly the
/// four operational ones, and every path under `{prefix}/docs` (whether or
/// not the explorer is on: the router's fallback serves what it lacks).
#[derive(Debug)]
struct RoutedPaths {
    exact: [String; 4],
    docs: String,
}

impl RoutedPaths {
    fn new(prefix: &str) -> RoutedPaths {
        RoutedPaths {
            exact: ops::paths(prefix),
            docs: docs::page_path(prefix),
        }
    }

    fn contains(&self, path: &str) -> bool {
        self.exact.iter().any(|p| p == path)
            || path
                .strip_prefix(self.docs.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// The handler as a tower service, for the compression layer to wrap.
#[derive(Debug, Clone)]
pub struct Direct(Arc<Live>);

impl tower::Service<Request> for Direct {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        boxed(Arc::clone(&self.0), request)
    }
}

/// [`direct`]'s future in a box allocated before the future is built, so
/// that it is built in place. `Box::pin(future)` builds it on the stack and
/// then copies all of it (3.4 KB, most of it state not yet written) into a
/// box allocated after: in callgrind's cache simulation that copy missed
/// the first-level data cache about 90 times per request, and building in
/// place leaves 30 fewer misses (the rest move to where the state is first
/// written; BENCHMARKS.md).
fn boxed(live: Arc<Live>, request: Request) -> BoxFuture<'static, Result<Response, Infallible>> {
    built_in_box(|| direct(live, request))
}

/// What `make` makes, in a box allocated before it is called.
fn built_in_box<F: Future>(make: impl FnOnce() -> F) -> Pin<Box<F>> {
    Box::into_pin(Box::write(Box::new_uninit(), make()))
}

/// The handler's answer, with `Connection: close` on HTTP/1 while
/// draining (as the router's middleware adds it).
///
/// A combinator, not an `async fn`: an `async fn` would keep `request` in
/// its state beside the handler's future it is moved into, and this future
/// is moved whole into a box per request.
fn direct(
    live: Arc<Live>,
    request: Request,
) -> impl Future<Output = Result<Response, Infallible>> + Send + 'static {
    use futures_util::FutureExt as _;
    let http1 = request.version() < Version::HTTP_2;
    handler::handle(live.gateway(), request).map(move |mut response| {
        if http1 && live.draining() {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Ok(response)
    })
}

/// [`WorkerService`]'s answer to come.
pub enum Reply {
    /// Through the router.
    Routed(RouteFuture<Infallible>),
    /// Straight from the handler, compression off.
    Direct(BoxFuture<'static, Result<Response, Infallible>>),
    /// Straight from the handler, compression on but not asked for: the
    /// reply gets the `Vary` of those the predicate compresses.
    Uncompressed(
        BoxFuture<'static, Result<Response, Infallible>>,
        ReplyPredicate,
    ),
    /// Straight from the handler, through the compression layer.
    Compressed(<Compressed as tower::Service<Request>>::Future),
}

impl Future for Reply {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Reply::Routed(reply) => Pin::new(reply).poll(cx),
            Reply::Direct(reply) => reply.as_mut().poll(cx),
            Reply::Uncompressed(reply, predicate) => reply
                .as_mut()
                .poll(cx)
                .map_ok(|response| vary(response, predicate)),
            Reply::Compressed(reply) => Pin::new(reply)
                .poll(cx)
                .map_ok(|response| response.map(Body::new)),
        }
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reply::Routed(_) => "Reply::Routed",
            Reply::Direct(_) => "Reply::Direct",
            Reply::Uncompressed(..) => "Reply::Uncompressed",
            Reply::Compressed(_) => "Reply::Compressed",
        })
    }
}

/// `response` with `Vary: Accept-Encoding` added when the compression
/// layer would add it: a reply it would compress (not already encoded, not
/// a range, as `predicate` says) that does not vary by it yet.
fn vary(mut response: Response, predicate: &ReplyPredicate) -> Response {
    use tower_http::compression::Predicate as _;
    let headers = response.headers();
    let compressible = !headers.contains_key(header::CONTENT_ENCODING)
        && !headers.contains_key(header::CONTENT_RANGE)
        && predicate.should_compress(&response);
    let varies = response.headers().get_all(header::VARY).iter().any(|v| {
        v.as_bytes()
            .windows(b"accept-encoding".len())
            .any(|w| w.eq_ignore_ascii_case(b"accept-encoding"))
    });
    if compressible && !varies {
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routers_own_paths_go_through_it() {
        for prefix in ["", "/_restgate"] {
            let routed = RoutedPaths::new(prefix);
            for path in [
                "/healthz",
                "/readyz",
                "/metrics",
                "/openapi.json",
                "/docs",
                "/docs/",
                "/docs/init.js",
            ] {
                assert!(
                    routed.contains(&format!("{prefix}{path}")),
                    "{prefix}{path}"
                );
            }
            for path in ["/v1/users", "/healthz/x", "/docsx", "/metricsz", "/"] {
                assert!(
                    !routed.contains(&format!("{prefix}{path}")),
                    "{prefix}{path}"
                );
            }
        }
    }
}
