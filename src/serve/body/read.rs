//! A request body read whole: up to the size limit (413 beyond, the rest
//! drained so the client sees the answer), within the in-flight budget
//! (503 beyond, drained too), a JSON media type unless the route takes a raw
//! body (415 otherwise).

use axum::body::Body as AxumBody;
use bytes::Bytes;
use http::{header, HeaderMap};
use http_body_util::BodyExt;

use super::Reservation;
use crate::serve::ServeError;

/// The most a refused body is read (and thrown away) before answering 413:
/// answering while the client is still sending makes many HTTP clients see a
/// broken pipe instead of the 413, so a body up to this size is drained first.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;
/// How long draining a refused body may take.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads the rest of a refused body, up to [`DRAIN_LIMIT`] bytes and
/// [`DRAIN_TIME`], and throws it away.
pub(in crate::serve) async fn drain(mut body: AxumBody) {
    let mut seen: u64 = 0;
    let reading = async {
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len() as u64);
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, reading).await;
}

/// Reads a body up to `limit` bytes (413 beyond it): a JSON body (415 for
/// another content type), or with `raw` a body of any content type. Its
/// bytes are held in `held` first — its whole `Content-Length` at once, else
/// as they arrive — and a body that does not fit the budget is refused
/// ([`ServeError::BodiesInFlight`]).
pub(in crate::serve) async fn read_body(
    headers: &HeaderMap,
    mut body: AxumBody,
    limit: usize,
    raw: bool,
    held: &mut Reservation,
) -> Result<Bytes, ServeError> {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Bodies the decompression layer decoded have lost the header; what
    // is left it could not (or was told not to) decode.
    if let Some(coding) = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
    {
        drain(body).await;
        return Err(ServeError::UnsupportedContentEncoding(coding));
    }
    if length.is_some_and(|n| n > limit as u64) {
        drain(body).await;
        return Err(ServeError::PayloadTooLarge(limit));
    }
    let declared = length.map_or(0, |n| n as usize);
    if !held.grow(declared) {
        drain(body).await;
        return Err(ServeError::BodiesInFlight);
    }
    let mut buffer = bytes::BytesMut::with_capacity(declared);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ServeError::BodyRead(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if buffer.len() + data.len() > limit {
            drain(body).await;
            return Err(ServeError::PayloadTooLarge(limit));
        }
        let beyond = (buffer.len() + data.len()).saturating_sub(declared.max(buffer.len()));
        if !held.grow(beyond) {
            drain(body).await;
            return Err(ServeError::BodiesInFlight);
        }
        buffer.extend_from_slice(&data);
    }
    if !buffer.is_empty() && !raw {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(content_type) {
            return Err(ServeError::UnsupportedMediaType(content_type.to_owned()));
        }
    }
    Ok(buffer.freeze())
}

/// A `Content-Type`'s media type without its parameters, in lower case.
pub(in crate::serve) fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// `application/json`, with parameters, or any `application/*+json`.
fn is_json(content_type: &str) -> bool {
    let essence = media_type(content_type);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_content_types() {
        assert!(super::is_json("application/json"));
        assert!(super::is_json("Application/JSON; charset=utf-8"));
        assert!(super::is_json("application/merge-patch+json"));
        assert!(!super::is_json("text/plain"));
        assert!(!super::is_json(""));
    }
}
