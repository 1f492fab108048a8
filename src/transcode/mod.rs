//! HTTP ↔ protobuf: builds the request message from the matched route's path
//! values, query string and JSON body, and turns the reply (or a gRPC error)
//! back into JSON. `google.api.HttpBody` fields carry raw bodies instead.
//! Google's system parameters in the query (`$alt=json;enum-encoding=int`)
//! fill no field: they choose how the reply is written.
//!
//! Knows fields, not sockets: nothing here does I/O. All proto3 JSON goes
//! through [`json`], one narrow interface over prost-reflect's serde support;
//! [`plan`] is the compiled transcoder (JSON bytes ↔ wire bytes, no
//! message in between) that keeps the same rules, with [`json`] as its test
//! oracle.

mod error;
pub mod json;
mod location;
mod mask;
pub mod plan;
pub mod precondition;
mod request;
mod request_wire;
mod response;
pub mod rfc3339;
mod scalar;
mod system;
mod wire_field;

pub use error::TranscodeError;
pub use json::JsonOptions;
pub use location::{location, wire_location};
pub use plan::{MessagePlan, PlanCache};
pub use request::{build_request, RequestParts};
pub use request_wire::RequestPlan;
pub use response::{raw_reply, reply_body, status_details, wire_reply_fits, RawBody};
pub use system::{system_params, Alt, SystemParams};
