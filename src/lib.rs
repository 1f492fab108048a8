//! restgate: a gRPC-to-REST gateway.
//!
//! Protobuf methods annotated as **create** (POST on a collection) or
//! **replace** (PUT on an item), or with the standard `google.api.http` rules,
//! are compiled into a [`compile::RouteTable`]. The rooms, in the order a
//! request flows:
//!
//! - [`compile`]: descriptors + annotations → route table, with validation and
//!   `file:line:col` diagnostics. Pure: no sockets, no async.
//! - [`example`]: the bundled example service (users, accounts, blogs), in memory.
//! - [`cli`]: the `restgate` command line.

pub mod cli;
pub mod compile;
pub mod config;
pub mod example;
pub mod idempotency;
pub mod pb;
pub mod serve;
pub mod transcode;
pub mod upstream;
