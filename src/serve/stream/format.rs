//! How a stream of replies is written: NDJSON lines or Server-Sent Events,
//! and the error line or event that ends a failed stream.

use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, HeaderValue};

use crate::serve::ServeError;

/// How a stream of replies is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// One JSON object per line (`application/x-ndjson`).
    Ndjson,
    /// Server-Sent Events (`text/event-stream`).
    Sse,
}

impl Format {
    /// SSE when the client accepts `text/event-stream` (or asked
    /// `$alt=sse`); else NDJSON.
    pub(super) fn of(headers: &HeaderMap) -> Format {
        let sse = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/event-stream"))
            });
        if sse {
            Format::Sse
        } else {
            Format::Ndjson
        }
    }

    pub(super) fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Sse => "text/event-stream",
        })
    }

    /// One reply message (its JSON).
    pub(super) fn message(self, json: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(json.len() + 8);
        match self {
            Format::Ndjson => {
                out.extend_from_slice(json);
                out.extend_from_slice(b"\n");
            }
            Format::Sse => {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(json);
                out.extend_from_slice(b"\n\n");
            }
        }
        out.freeze()
    }

    /// The error ending a stream: the error body of a failed unary call.
    pub(super) fn error(self, error: &ServeError) -> Bytes {
        let body = error.answer().body;
        let mut out = BytesMut::with_capacity(body.len() + 24);
        match self {
            Format::Ndjson => {
                out.extend_from_slice(b"{\"error\":");
                out.extend_from_slice(&body);
                out.extend_from_slice(b"}\n");
            }
            Format::Sse => {
                out.extend_from_slice(b"event: error\ndata: ");
                out.extend_from_slice(&body);
                out.extend_from_slice(b"\n\n");
            }
        }
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_format() {
        let mut headers = HeaderMap::new();
        assert_eq!(Format::of(&headers), Format::Ndjson);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        assert_eq!(Format::of(&headers), Format::Sse);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, Text/Event-Stream;q=0.5"),
        );
        assert_eq!(Format::of(&headers), Format::Sse);
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert_eq!(Format::of(&headers), Format::Ndjson);
    }

    #[test]
    fn lines_and_events() {
        assert_eq!(&Format::Ndjson.message(b"{}")[..], b"{}\n");
        assert_eq!(&Format::Sse.message(b"{}")[..], b"data: {}\n\n");
        let error = ServeError::PayloadTooLarge(1);
        let line = Format::Ndjson.error(&error);
        let value: serde_json::Value =
            serde_json::from_slice(&line).unwrap_or(serde_json::Value::Null);
        assert_eq!(value["error"]["code"], 8);
        assert!(Format::Sse
            .error(&error)
            .starts_with(b"event: error\ndata: {"));
    }
}
