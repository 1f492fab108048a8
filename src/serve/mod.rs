//! The HTTP server: an axum app whose every request goes to one generic
//! handler driven by the route table, run on one current-thread runtime per
//! worker (see [`runtime`]).
//!
//! In: a compiled [`RouteTable`](crate::compile::RouteTable), upstream
//! addresses and options. Out: REST answers. Errors become HTTP answers only
//! in [`ServeError`]'s `IntoResponse`.

mod answer;
mod demo;
mod error;
mod gateway;
mod handler;
mod idempotency;
mod in_process;
mod metrics;
mod ops;
pub mod runtime;
mod tls;

use std::sync::Arc;

pub use demo::{demo_commands, start_example_service};
pub use error::ServeError;
pub use gateway::{CorsOptions, Gateway, ServeOptions, SetupError, Shared, Upstreams};
pub use in_process::{grpc_and_rest, InProcess};
pub use metrics::Metrics;
pub use tls::ListenerTls;

/// The axum app of one worker: the REST routes, the operational endpoints
/// (under the configured prefix) and CORS when configured.
pub fn app(gateway: Arc<Gateway>) -> axum::Router {
    let cors = gateway.shared.options.cors.clone();
    let router = ops::routes(&gateway.shared.options.ops_prefix)
        .fallback(handler::handle)
        .with_state(gateway);
    match cors {
        Some(cors) => router.layer(ops::cors_layer(&cors)),
        None => router,
    }
}
