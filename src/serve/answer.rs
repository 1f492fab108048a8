//! [`Answer`]: a whole HTTP answer held in memory (status, headers, body),
//! so that it can be stored for an idempotency key and replayed byte for
//! byte.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::idempotency::{Record, StoredHeader};

/// A complete answer.
#[derive(Debug, Clone)]
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

/// Whether a header is part of the answer itself, worth replaying (not
/// per-request like `X-Request-Id` or `Date`).
fn replayed(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "content-type" | "location" | "etag" | "allow"
    ) || name.as_str().starts_with("grpc-metadata-")
        || name.as_str().starts_with("grpc-trailer-")
}

impl Answer {
    /// The record to store for an idempotency key.
    pub(super) fn record(&self, fingerprint: Vec<u8>) -> Record {
        Record {
            fingerprint,
            status: u32::from(self.status.as_u16()),
            headers: self
                .headers
                .iter()
                .filter(|(name, _)| replayed(name))
                .map(|(name, value)| StoredHeader {
                    name: name.as_str().to_owned(),
                    value: value.as_bytes().to_vec(),
                })
                .collect(),
            body: self.body.to_vec(),
        }
    }

    /// The stored answer, marked `Idempotent-Replayed: true`.
    pub(super) fn replay(record: Record) -> Answer {
        let mut headers = HeaderMap::with_capacity(record.headers.len() + 1);
        for header in &record.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(header.name.as_bytes()),
                HeaderValue::from_bytes(&header.value),
            ) {
                headers.append(name, value);
            }
        }
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        Answer {
            status: u16::try_from(record.status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers,
            body: Bytes::from(record.body),
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.status, self.headers, self.body).into_response()
    }
}
