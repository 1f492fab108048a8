//! The HTTP server, in two parts. The per-request pipeline — every request
//! goes to one generic handler driven by the route table — sits here:
//! `handler` (the steps in order), `stream` (streaming RPCs), `body`,
//! `call`, `answer`, `idempotency`, `limits`, `metrics`, the
//! [`access_log`], the [`log_writer`] and [`ServeError`],
//! the one place a failure becomes an HTTP answer. How the server runs
//! (workers, TLS, reload, ops endpoints, signals, in process) is
//! [`lifecycle`]'s.
//!
//! In: a compiled [`RouteTable`](crate::compile::RouteTable), upstream
//! addresses and options. Out: REST answers.

pub mod access_log;
mod answer;
mod body;
mod call;
mod conditional;
mod error;
mod gateway;
mod handler;
mod head;
mod idempotency;
pub mod lifecycle;
mod limits;
pub mod log_writer;
mod metrics;
mod options;
mod stream;

pub use body::{default_max_in_flight_bytes, BodyBudget, Reservation};
pub use error::ServeError;
pub use gateway::{Gateway, RouteServing, SetupError, Shared};
pub use head::HeadError;
pub use lifecycle::{
    app, bind, grpc_and_rest, live_app, run, Connections, Current, InProcess, ListenerTls, Live,
    Running, Signal, StopSignals, WorkerService,
};
pub use limits::{DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_URI_BYTES, MAX_URI_BYTES};
pub use metrics::Metrics;

/// Replies of at least this many bytes are compressed when the client
/// accepts an encoding, unless `compress-min-bytes` says otherwise.
pub const DEFAULT_COMPRESS_MIN_BYTES: u64 = 1024;
pub use options::{CorsOptions, ServeOptions, Upstreams};
