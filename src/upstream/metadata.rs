//! HTTP headers ↔ gRPC metadata (SPEC §6).
//!
//! In: `Authorization`, `X-Request-Id`, `traceparent`, `tracestate`,
//! `If-Match`, `If-None-Match`, `Idempotency-Key`, every
//! `Grpc-Metadata-<key>` (prefix stripped), and the configured allow-list.
//! Nothing else, so hop-by-hop headers never reach the service; and
//! `idempotency-key` only from `Idempotency-Key`, so that a service
//! deduping on it sees the key the gateway holds. Out: the
//! reply's header metadata as `Grpc-Metadata-<key>`, its trailers as
//! `Grpc-Trailer-<key>`.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use tonic::metadata::MetadataMap;

/// Prefix of request and response headers that carry metadata.
pub const GRPC_METADATA: &str = "grpc-metadata-";
/// Prefix of response headers that carry trailers.
pub const GRPC_TRAILER: &str = "grpc-trailer-";

/// The key of `Idempotency-Key`, passed under its own name only.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Headers passed through under their own name.
const PASSED: &[&str] = &[
    "authorization",
    "x-request-id",
    "traceparent",
    "tracestate",
    "if-match",
    "if-none-match",
    IDEMPOTENCY_KEY,
];

/// Metadata the gRPC protocol itself uses; never copied either way.
fn is_reserved(name: &str) -> bool {
    name.starts_with("grpc-")
        || name == super::CREATED_METADATA
        || matches!(
            name,
            "content-type"
                | "te"
                | "user-agent"
                | "content-length"
                | "connection"
                | "host"
                | "date"
                | "server"
                | "transfer-encoding"
                | "keep-alive"
                | "upgrade"
                | "proxy-connection"
                | "trailer"
        )
}

/// The metadata to send upstream for a request with `headers`.
pub fn request_metadata(headers: &HeaderMap, forward: &[HeaderName]) -> MetadataMap {
    // Room for what the call adds (grpc-timeout, x-request-id, te,
    // content-type, content-length) without growing the map.
    let mut out = HeaderMap::with_capacity(8);
    for (name, value) in headers {
        let key = name.as_str();
        if let Some(stripped) = key.strip_prefix(GRPC_METADATA) {
            if !stripped.is_empty() && !is_reserved(stripped) && stripped != IDEMPOTENCY_KEY {
                if let Ok(name) = HeaderName::from_bytes(stripped.as_bytes()) {
                    out.append(name, value.clone());
                }
            }
        } else if (PASSED.contains(&key) || forward.contains(name)) && !value.is_empty() {
            out.append(name.clone(), value.clone());
        }
    }
    MetadataMap::from_headers(out)
}

/// The size one field of `name` with a value of `value` bytes adds to a
/// header list (RFC 7541 §4.1).
pub(super) fn field_size(name: &str, value: usize) -> usize {
    name.len() + value + 32
}

/// The size of the header list a gRPC call of `path` to `origin` with
/// `metadata` sends, as HTTP/2 counts it against the server's
/// `SETTINGS_MAX_HEADER_LIST_SIZE` (RFC 7541 §4.1: name + value + 32 per
/// field): the pseudo-headers, `content-type` and `te` that tonic adds,
/// and every metadata entry (`grpc-timeout` among them).
pub(super) fn header_list_size(metadata: &MetadataMap, path: &str, origin: &http::Uri) -> usize {
    let field = field_size;
    let fixed = field(":method", "POST".len())
        + field(":scheme", origin.scheme_str().unwrap_or("http").len())
        + field(
            ":authority",
            origin.authority().map_or(0, |a| a.as_str().len()),
        )
        + field(":path", path.len())
        + field("content-type", "application/grpc".len())
        + field("te", "trailers".len());
    let entries: usize = metadata
        .as_ref()
        .iter()
        .map(|(name, value)| field(name.as_str(), value.len()))
        .sum();
    fixed + entries
}

/// Copies `metadata` into `headers` as `<prefix><key>`, skipping what the
/// gRPC protocol uses.
pub fn response_headers(headers: &mut HeaderMap, metadata: &HeaderMap, prefix: &str) {
    for (name, value) in metadata {
        if is_reserved(name.as_str()) {
            continue;
        }
        if let Ok(name) = HeaderName::from_bytes(format!("{prefix}{}", name.as_str()).as_bytes()) {
            headers.append(name, HeaderValue::clone(value));
        }
    }
}

/// Reads a `Grpc-Timeout` header value (`200m`, `1S`, `5M`...: at most 8
/// digits and a unit of H, M, S, m, u or n).
pub fn grpc_timeout(value: &HeaderValue) -> Option<std::time::Duration> {
    use std::time::Duration;
    let text = value.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn grpc_timeouts() {
        use std::time::Duration;
        let t = |s: &'static str| grpc_timeout(&HeaderValue::from_static(s));
        assert_eq!(t("200m"), Some(Duration::from_millis(200)));
        assert_eq!(t("1S"), Some(Duration::from_secs(1)));
        assert_eq!(t("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(t("S"), None);
        assert_eq!(t("123456789S"), None);
        assert_eq!(t("5x"), None);
    }

    use super::*;

    #[test]
    fn only_named_headers_reach_the_service() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer t"));
        h.insert("grpc-metadata-tenant", HeaderValue::from_static("acme"));
        h.insert("grpc-metadata-grpc-timeout", HeaderValue::from_static("1S"));
        h.insert("connection", HeaderValue::from_static("keep-alive"));
        h.insert("cookie", HeaderValue::from_static("a=b"));
        h.insert("x-team", HeaderValue::from_static("blue"));
        let md = request_metadata(&h, &[HeaderName::from_static("x-team")]).into_headers();
        assert_eq!(md.get("authorization").unwrap(), "Bearer t");
        assert_eq!(md.get("tenant").unwrap(), "acme");
        assert_eq!(md.get("x-team").unwrap(), "blue");
        assert_eq!(md.len(), 3);
    }

    #[test]
    fn the_idempotency_key_comes_from_its_own_header_only() {
        let mut h = HeaderMap::new();
        h.insert("idempotency-key", HeaderValue::from_static("k1"));
        h.insert(
            "grpc-metadata-idempotency-key",
            HeaderValue::from_static("forged"),
        );
        let md = request_metadata(&h, &[]).into_headers();
        let keys: Vec<_> = md.get_all("idempotency-key").iter().collect();
        assert_eq!(keys, ["k1"]);
        h.remove("idempotency-key");
        assert!(request_metadata(&h, &[]).is_empty());
    }

    #[test]
    fn header_list_size_counts_what_http2_counts() {
        let mut md = MetadataMap::new();
        md.insert("x-request-id", "abc".parse().unwrap());
        let origin = http::Uri::from_static("http://127.0.0.1:50051");
        let size = header_list_size(&md, "/a.B/C", &origin);
        let expected =
            (7 + 4) + (7 + 4) + (10 + 15) + (5 + 6) + (12 + 16) + (2 + 8) + (12 + 3) + 7 * 32;
        assert_eq!(size, expected);
    }

    #[test]
    fn reply_metadata_is_prefixed() {
        let mut md = HeaderMap::new();
        md.insert("x-header-echo", HeaderValue::from_static("header"));
        md.insert("content-type", HeaderValue::from_static("application/grpc"));
        md.insert("grpc-status", HeaderValue::from_static("0"));
        let mut out = HeaderMap::new();
        response_headers(&mut out, &md, GRPC_TRAILER);
        assert_eq!(out.get("grpc-trailer-x-header-echo").unwrap(), "header");
        assert_eq!(out.len(), 1);
    }
}
