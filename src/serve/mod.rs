//! The HTTP server: an axum app whose every request goes to one generic
//! handler driven by the route table, run on one current-thread runtime per
//! worker (see [`runtime`]).
//!
//! In: a compiled [`RouteTable`](crate::compile::RouteTable), upstream
//! addresses and options. Out: REST answers. Errors become HTTP answers only
//! in [`ServeError`]'s `IntoResponse`.

mod answer;
mod demo;
mod docs;
mod error;
mod gateway;
mod handler;
mod idempotency;
mod in_process;
mod limits;
mod metrics;
mod ops;
pub mod runtime;
mod stream;
mod tls;

use std::sync::Arc;

pub use demo::{demo_commands, start_example_service};
pub use error::ServeError;
pub use gateway::{
    CorsOptions, Current, Gateway, Live, ServeOptions, SetupError, Shared, Upstreams,
};
pub use in_process::{grpc_and_rest, InProcess};
pub use limits::{DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_URI_BYTES, MAX_URI_BYTES};
pub use metrics::Metrics;
pub use tls::ListenerTls;

/// The axum app of one worker: the REST routes, the operational endpoints
/// (under the configured prefix) and CORS when configured.
pub fn app(gateway: Arc<Gateway>) -> axum::Router {
    live_app(Arc::new(Live::fixed(gateway)))
}

/// The axum app of one worker serving whatever table `live` holds now. The
/// ops prefix and CORS settings are the first table's (a reload does not
/// move them).
pub fn live_app(live: Arc<Live>) -> axum::Router {
    let first = live.gateway();
    let cors = first.shared.options.cors.clone();
    let prefix = &first.shared.options.ops_prefix;
    let router = ops::routes(prefix)
        .merge(docs::routes(prefix))
        .fallback(handler::handle)
        .with_state(live);
    match cors {
        Some(cors) => router.layer(ops::cors_layer(&cors)),
        None => router,
    }
}
