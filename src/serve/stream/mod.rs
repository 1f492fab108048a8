//! Streaming RPCs over HTTP: server-streaming and bidirectional replies
//! written as NDJSON (or Server-Sent Events on `Accept: text/event-stream`
//! or `$alt=sse`), in the JSON options the request's `$alt` asks for,
//! one message flushed per line or event as it arrives; client-streaming
//! and bidirectional requests read from an NDJSON body, one message sent
//! upstream per line as soon as the line is complete.
//!
//! The answer's headers wait for the first reply message (or the call's
//! end), so a call that fails before it answers anything gets the ordinary
//! error status and body. After that, a failure ends the stream with an
//! error line (`{"error":{…}}`) or an `event: error`. Trailers arrive after
//! the body started and are not passed on. Dropping the answer (the client
//! went away) cancels the call.

mod format;
mod replies;
mod start;

pub(super) use start::{client_streaming, holding, is_streaming, server_streaming, StreamRequest};
