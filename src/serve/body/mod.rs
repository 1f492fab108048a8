//! Request bodies: read whole ([`read_body`]), read as NDJSON one message
//! per line for streaming requests ([`Lines`]), drained when refused
//! ([`drain`]), and their media types. Both the unary and the streaming
//! path read bodies only through here. A body read whole is held within
//! the in-flight [`BodyBudget`].

mod budget;
mod ndjson;
mod read;

pub use budget::{default_max_in_flight_bytes, BodyBudget, Reservation};

pub(super) use ndjson::{is_ndjson, Lines};
pub(super) use read::{drain, media_type, read_body};
