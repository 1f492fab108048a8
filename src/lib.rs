//! restgate: a gRPC-to-REST gateway.
//!
//! Protobuf methods annotated as **create** (POST on a collection) or
//! **replace** (PUT on an item), or with the standard `google.api.http` rules,
//! are compiled into a [`compile::RouteTable`]; everything else reads that
//! table. The rooms, in the order a request flows:
//!
//! - [`compile`]: descriptors + annotations → route table, with validation,
//!   `file:line:col` diagnostics and route lookup. Pure: no sockets, no async.
//! - `transcode`: HTTP request ↔ protobuf message, proto3 JSON, `Location`.
//! - `upstream`: gRPC calls: HTTP/2 connections, codec, deadlines, retries.
//! - `idempotency`: `Idempotency-Key` stores (memory, file, Redis).
//! - `serve`: the request pipeline (one handler driven by the table) and, in
//!   `serve::lifecycle`, how the server runs (`serve::run`, workers, TLS,
//!   reload, ops endpoints).
//! - `config` and `cli`: settings and the `restgate` command line.
//! - `example`: the bundled example service (users, accounts, blogs) and
//!   the demo that runs it.
//! - [`openapi`]: OpenAPI 3.1 from the route table.
//! - `codegen` (`restgate::build`): the build-script API.
//!
//! Cargo features: `server` (default) is the gateway; `build` is the
//! build-script API alone, without the server's dependencies.

#[cfg(feature = "server")]
pub mod cli;
#[cfg(feature = "build")]
pub mod codegen;
pub mod compile;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod example;
#[cfg(feature = "server")]
pub mod idempotency;
pub mod openapi;
pub mod pb;
#[cfg(feature = "server")]
pub mod serve;
#[cfg(feature = "server")]
pub mod transcode;
#[cfg(feature = "server")]
pub mod upstream;

/// The build-script API: `restgate::build::configure().compile(..)`.
#[cfg(feature = "build")]
pub use codegen as build;
