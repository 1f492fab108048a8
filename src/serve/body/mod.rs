//! Request bodies: read whole ([`read_body`]), read as NDJSON one message
//! per line for streaming requests ([`Lines`]), drained when refused
//! ([`drain`]), and their media types. Both the unary and the streaming
//! path read bodies only through here.

mod ndjson;
mod read;

pub(super) use ndjson::{is_ndjson, Lines};
pub(super) use read::{drain, media_type, read_body};
