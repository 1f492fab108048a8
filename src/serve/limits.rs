//! The request-head limits: `max-uri-bytes` (414 beyond) and
//! `max-header-bytes` (431 beyond), checked before anything else, so an
//! oversized request never reaches the route table or the service; and the
//! hyper settings that keep hyper's own, bare limits above them.
//!
//! The URI counted is the request target as the client sent it: path and
//! query string (for HTTP/2, the `:path` pseudo-header). The header section
//! counted is the sum of every field's name and value length, the same over
//! HTTP/1.1 and HTTP/2 (no per-line `\r\n` nor HTTP/2's 32-byte overhead).
//!
//! hyper refuses some heads itself, with no JSON body, before the gateway
//! sees them; [`http1_max_buf_size`] and [`http2_max_header_list_size`] put
//! those refusals well above the configured limits, so within twice them the
//! gateway's own answer is the one the client gets.

use http::{HeaderMap, Uri};

use super::{ServeError, ServeOptions};

/// `max-uri-bytes` by default: nginx's request-line buffer
/// (`large_client_header_buffers 4 8k`), which most clients and proxies fit.
pub const DEFAULT_MAX_URI_BYTES: usize = 8 * 1024;
/// `max-header-bytes` by default: Envoy's `max_request_headers_kb` (60 KiB).
pub const DEFAULT_MAX_HEADER_BYTES: usize = 60 * 1024;
/// The longest URI `max-uri-bytes` may allow: the most the `http` crate (and
/// so hyper) can hold. hyper answers longer HTTP/1.1 request lines with a
/// bare 414 itself.
pub const MAX_URI_BYTES: usize = (u16::MAX - 1) as usize;

/// hyper's default HTTP/1 read buffer (8 KiB + 100 × 4 KiB): the floor of
/// [`http1_max_buf_size`].
const HYPER_DEFAULT_BUF_SIZE: usize = 8192 + 4096 * 100;

/// Header fields hyper's HTTP/1.1 parser takes (its default); a head with
/// more gets hyper's bare 431. Also the allowance of HTTP/2's per-field
/// overhead in [`http2_max_header_list_size`].
const HYPER_MAX_HEADERS: usize = 100;

/// The bytes the limits count in `headers`: each field's name and value.
pub(super) fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum()
}

/// The length of the request target: path and query, as sent.
fn uri_bytes(uri: &Uri) -> usize {
    uri.path_and_query().map_or(0, |p| p.as_str().len())
}

/// `Err` (414, or 431) when the request's URI or headers exceed the limits.
pub(super) fn check(
    uri: &Uri,
    headers: &HeaderMap,
    options: &ServeOptions,
) -> Result<(), ServeError> {
    if uri_bytes(uri) > options.max_uri_bytes {
        return Err(ServeError::UriTooLong(options.max_uri_bytes));
    }
    if header_bytes(headers) > options.max_header_bytes {
        return Err(ServeError::HeadersTooLarge(options.max_header_bytes));
    }
    Ok(())
}

/// The most the limits let through, doubled: what hyper must still read
/// for the gateway, not hyper, to answer.
fn twice_the_limits(options: &ServeOptions) -> usize {
    options
        .max_uri_bytes
        .saturating_add(options.max_header_bytes)
        .saturating_mul(2)
}

/// hyper's HTTP/1 `max_buf_size`: a request head (request line, headers,
/// `\r\n`s) up to twice the limits fits, and never less than hyper's
/// default. Beyond it hyper answers 431 with no body.
pub(super) fn http1_max_buf_size(options: &ServeOptions) -> usize {
    twice_the_limits(options)
        .saturating_add(HYPER_MAX_HEADERS * 4)
        .max(HYPER_DEFAULT_BUF_SIZE)
}

/// hyper's HTTP/2 `SETTINGS_MAX_HEADER_LIST_SIZE` (16 KiB by default, below
/// the default limits): twice the limits plus HTTP/2's 32-byte overhead for
/// as many fields as HTTP/1.1 allows. Beyond it hyper answers 431 with no
/// body, and beyond four times it closes the connection (`ENHANCE_YOUR_CALM`).
pub(super) fn http2_max_header_list_size(options: &ServeOptions) -> u32 {
    let size = twice_the_limits(options).saturating_add((HYPER_MAX_HEADERS + 5) * 32);
    u32::try_from(size).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn options(uri: usize, headers: usize) -> ServeOptions {
        ServeOptions {
            max_uri_bytes: uri,
            max_header_bytes: headers,
            ..ServeOptions::default()
        }
    }

    #[test]
    fn the_uri_counted_is_path_and_query() {
        let o = options(10, 1000);
        let ok: Uri = "/v1/a?b=cd".parse().unwrap();
        assert!(check(&ok, &HeaderMap::new(), &o).is_ok());
        let long: Uri = "/v1/a?b=cde".parse().unwrap();
        assert!(matches!(
            check(&long, &HeaderMap::new(), &o),
            Err(ServeError::UriTooLong(10))
        ));
        // HTTP/2's URI carries scheme and authority; they are not counted.
        let h2: Uri = "http://example.com:8080/v1/a?b=cd".parse().unwrap();
        assert!(check(&h2, &HeaderMap::new(), &o).is_ok());
    }

    #[test]
    fn headers_count_names_and_values() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_static("12345"));
        headers.append("x-a", HeaderValue::from_static("1"));
        assert_eq!(header_bytes(&headers), 3 + 5 + 3 + 1);
        let uri: Uri = "/".parse().unwrap();
        assert!(check(&uri, &headers, &options(10, 12)).is_ok());
        assert!(matches!(
            check(&uri, &headers, &options(10, 11)),
            Err(ServeError::HeadersTooLarge(11))
        ));
    }

    #[test]
    fn hyper_limits_sit_above_the_gateway_limits() {
        let defaults = ServeOptions::default();
        assert_eq!(http1_max_buf_size(&defaults), HYPER_DEFAULT_BUF_SIZE);
        assert_eq!(
            http2_max_header_list_size(&defaults),
            2 * (8192 + 61440) + 105 * 32
        );
        let big = options(MAX_URI_BYTES, 1 << 20);
        assert!(http1_max_buf_size(&big) > 2 * (MAX_URI_BYTES + (1 << 20)));
        assert_eq!(
            http2_max_header_list_size(&options(1, usize::MAX)),
            u32::MAX
        );
    }
}
