//! How the gateway runs, apart from what it does per request: the server
//! seam ([`run`] → [`Running`]), the worker threads and their listeners,
//! TLS on the listener, reload ([`Current`] swapped whole, each worker's
//! [`Live`] view), the operational endpoints, the signals, and REST served
//! in process. Every request it accepts goes to the pipeline's one handler.

mod app;
mod docs;
mod in_process;
mod keep_alive;
mod ops;
mod reload;
mod server;
mod signals;
mod tls;
mod worker_service;
mod workers;

pub use app::{app, live_app};
pub use in_process::{grpc_and_rest, InProcess};
pub use reload::{Current, Live};
pub use server::{run, Running};
pub use signals::{Signal, StopSignals};
pub use tls::ListenerTls;
pub use worker_service::WorkerService;
pub use workers::{bind, Connections};
