//! What a request head must be before it is routed, beyond the size limits
//! (`limits`): a path whose percent-escapes decode to UTF-8 (a route's
//! values are text: bytes that are none would reach the service as U+FFFD),
//! at most one `Content-Type` (which of two a body is in cannot be told),
//! and a `Grpc-Timeout` that reads as one (a deadline the client asked for
//! is never dropped silently). Each refusal is a 400 with the JSON error
//! body, and the service is not called.

use http::{header, HeaderMap, Uri};
use percent_encoding::percent_decode_str;

use crate::upstream;

/// Why a request head is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// A percent-escape in the path decodes to bytes that are no UTF-8.
    #[error("the path's percent-escapes do not decode to UTF-8 text")]
    PathNotUtf8,
    /// More than one `Content-Type` field.
    #[error("the request has more than one Content-Type")]
    ContentTypeTwice,
    /// A `Grpc-Timeout` that is not 1 to 8 digits and a unit (`H`, `M`, `S`,
    /// `m`, `u`, `n`), or more than one.
    #[error("invalid Grpc-Timeout {0:?}: 1 to 8 digits and a unit (H, M, S, m, u or n)")]
    GrpcTimeout(String),
}

/// `Err` when the head is one the gateway refuses.
pub(super) fn check(uri: &Uri, headers: &HeaderMap) -> Result<(), HeadError> {
    let path = uri.path();
    if path.contains('%') && percent_decode_str(path).decode_utf8().is_err() {
        return Err(HeadError::PathNotUtf8);
    }
    let mut content_types = headers.get_all(header::CONTENT_TYPE).iter();
    if content_types.next().is_some() && content_types.next().is_some() {
        return Err(HeadError::ContentTypeTwice);
    }
    let mut timeouts = headers.get_all(upstream::GRPC_TIMEOUT).iter();
    if let Some(first) = timeouts.next() {
        if upstream::grpc_timeout(first).is_none() || timeouts.next().is_some() {
            let text = String::from_utf8_lossy(first.as_bytes()).into_owned();
            return Err(HeadError::GrpcTimeout(text));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(path: &str, headers: &[(&'static str, &str)]) -> Result<(), HeadError> {
        let uri: Uri = path.parse().expect("a URI");
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, value.parse().expect("a header value"));
        }
        check(&uri, &map)
    }

    #[test]
    fn heads_that_are_refused() {
        assert_eq!(head("/v1/echo/%FF", &[]), Err(HeadError::PathNotUtf8));
        assert_eq!(head("/v1/echo/%C0%AF", &[]), Err(HeadError::PathNotUtf8));
        let two = [
            ("content-type", "application/json"),
            ("content-type", "text/plain"),
        ];
        assert_eq!(head("/v1/echo", &two), Err(HeadError::ContentTypeTwice));
        for bad in ["", "10", "123456789S", "1s", "-1S", "1.5S"] {
            assert_eq!(
                head("/v1/echo", &[("grpc-timeout", bad)]),
                Err(HeadError::GrpcTimeout(bad.to_owned())),
                "{bad:?}"
            );
        }
        let twice = [("grpc-timeout", "1S"), ("grpc-timeout", "2S")];
        assert_eq!(
            head("/v1/echo", &twice),
            Err(HeadError::GrpcTimeout("1S".to_owned()))
        );
    }

    #[test]
    fn heads_that_pass() {
        assert_eq!(head("/v1/echo/%C3%A9%2F%ZZ%", &[]), Ok(()));
        let fine = [
            ("content-type", "application/json"),
            ("grpc-timeout", "200m"),
        ];
        assert_eq!(head("/v1/echo/x", &fine), Ok(()));
    }
}
