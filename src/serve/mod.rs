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
pub mod runtime;

use std::sync::Arc;

pub use demo::{demo_commands, start_example_service};
pub use error::ServeError;
pub use gateway::{Gateway, ServeOptions, SetupError, Shared, Upstreams};
pub use in_process::{grpc_and_rest, InProcess};

/// The axum app of one worker: the REST routes, and the OpenAPI document
/// at `/openapi.json`.
pub fn app(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .route("/openapi.json", axum::routing::get(openapi))
        .fallback(handler::handle)
        .with_state(gateway)
}

/// `GET /openapi.json`: the document of the routes this gateway serves.
async fn openapi(
    axum::extract::State(gateway): axum::extract::State<Arc<Gateway>>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        gateway.shared.openapi.clone(),
    )
        .into_response()
}
