//! The unary call over the network without tonic's generic client: the
//! request (already one length-prefixed message, [`RequestMessage::framed`])
//! goes out as the headers and one DATA frame of a stream on the endpoint's
//! HTTP/2 connection ([`Connection::send`]: round robin, a request given
//! back unsent sent once elsewhere, the call's [`Progress`]), and the reply
//! is read by [`reply`](super::reply). The in-process transport and the
//! streaming calls go through tonic's `Grpc`.
//!
//! What this saves over tonic's `Grpc` per call (BENCHMARKS.md): its
//! encoder's 8 KiB buffer and the copy into it, the boxed encode body,
//! `Streaming`'s state and decode buffer (and the copy of the reply into
//! it), and the clones of the header maps `Status::from_header_map` makes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{CONTENT_TYPE, TE};
use http::uri::PathAndQuery;
use http::{HeaderName, HeaderValue, Uri};
use tokio::time::Sleep;
use tonic::metadata::MetadataMap;

use super::connection::Connection;
use super::http2::Outgoing;
use super::progress::Progress;
use super::remote::Remote;
use super::{reply, Reply, ReplyMessage, RequestMessage, UnaryCodec, UpstreamError, GRPC_TIMEOUT};

/// Metadata the gRPC protocol sets itself: never sent from a call's
/// metadata (as tonic sanitizes it).
const RESERVED: [HeaderName; 5] = [
    TE,
    CONTENT_TYPE,
    HeaderName::from_static("grpc-message"),
    HeaderName::from_static("grpc-message-type"),
    HeaderName::from_static("grpc-status"),
];

/// One unary call of `path` on `remote` within `timeout` (sent as its
/// `grpc-timeout`), the reply read by `codec`; `progress` records how far
/// it got, and explains a failure (as [`within`](super::progress::within)
/// does).
///
/// An `async` block, not an `async fn`, which would hold its arguments
/// twice (as they came, and moved into its body) in every call's state.
/// Its deadline is one timer that bounds each step ([`Bounded`]), not a
/// `Timeout` around the whole call: that call would be built, then moved
/// into the `Timeout`, that into its `Map`, and on into the caller's state,
/// about 1.5 KB each time (`memcpy` was most of a request's data-cache
/// misses; BENCHMARKS.md).
#[allow(clippy::manual_async_fn)] // see above: an `async fn` holds its arguments twice
pub(super) fn call<'a>(
    remote: &'a Arc<Remote>,
    path: PathAndQuery,
    request: RequestMessage,
    metadata: &'a MetadataMap,
    codec: &'a UnaryCodec,
    timeout: Duration,
    progress: Arc<Progress>,
) -> impl Future<Output = Result<Reply<ReplyMessage>, UpstreamError>> + Send + 'a {
    async move {
        let deadline = tokio::time::Instant::now() + timeout;
        let timer = tokio::time::sleep_until(deadline);
        tokio::pin!(timer);
        let passed = || UpstreamError::DeadlineExceeded {
            timeout,
            sent: false,
        };
        let failed = |error| progress.failed_by(error, deadline, timeout);
        let frame = request
            .framed()
            .map_err(|e| failed(UpstreamError::Status(e)))?;
        let deadline_value = deadline_header(timeout);
        let step = Bounded::new(timer.as_mut(), remote.pool());
        let pool = step
            .await
            .ok_or_else(passed)
            .and_then(|pool| pool)
            .map_err(failed)?;
        let step = Bounded::new(timer.as_mut(), Connection::open(remote, &pool));
        let (mut connection, origin) = step
            .await
            .ok_or_else(passed)
            .and_then(|opened| opened)
            .map_err(failed)?;
        connection
            .admits(metadata, Some(&deadline_value), &path, &origin)
            .map_err(failed)?;
        connection.progress = Arc::clone(&progress);
        let request =
            http_request(&origin, path, metadata, deadline_value, frame).map_err(failed)?;
        let step = Bounded::new(timer.as_mut(), connection.send(request));
        let response = step
            .await
            .ok_or_else(passed)
            .and_then(|sent| sent.map_err(UpstreamError::Status))
            .map_err(failed)?;
        let step = Bounded::new(timer.as_mut(), reply::read(response, codec, &progress));
        step.await
            .ok_or_else(passed)
            .and_then(|reply| reply)
            .map_err(failed)
    }
}

pin_project_lite::pin_project! {
    /// One step of a call: its output, or `None` once the call's deadline
    /// (`timer`, shared by its steps) passes first. The timer is only armed
    /// once a step waits.
    struct Bounded<'t, F> {
        timer: Pin<&'t mut Sleep>,
        #[pin]
        step: F,
    }
}

impl<'t, F> Bounded<'t, F> {
    fn new(timer: Pin<&'t mut Sleep>, step: F) -> Self {
        Bounded { timer, step }
    }
}

impl<F: Future> Future for Bounded<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.step.poll(cx) {
            return Poll::Ready(Some(output));
        }
        this.timer.as_mut().poll(cx).map(|()| None)
    }
}

/// The HTTP/2 request of a gRPC call, as tonic's `Grpc` builds it: `POST`
/// to `origin`'s scheme and authority with `path`, the metadata (without
/// what the protocol sets) as headers, `deadline` as its `grpc-timeout`,
/// `te: trailers`, `content-type: application/grpc`, and `frame` as the one
/// DATA frame.
///
/// The headers are written into a map sized for them: a copy of the
/// metadata's map would have no room for the three added (two more
/// allocations as it grows), and taking the metadata would make a call
/// that may be tried again copy it for each try.
fn http_request(
    origin: &Uri,
    path: PathAndQuery,
    metadata: &MetadataMap,
    deadline: HeaderValue,
    frame: bytes::Bytes,
) -> Result<http::Request<Outgoing>, UpstreamError> {
    let mut parts = http::uri::Parts::default();
    parts.scheme = origin.scheme().cloned();
    parts.authority = origin.authority().cloned();
    parts.path_and_query = Some(path);
    let uri = Uri::from_parts(parts).map_err(|e| UpstreamError::BadUri {
        uri: origin.to_string(),
        reason: e.to_string(),
    })?;
    let metadata = metadata.as_ref();
    let mut headers = http::HeaderMap::with_capacity(metadata.len() + 3);
    for (name, value) in metadata {
        if !RESERVED.contains(name) && *name != GRPC_TIMEOUT {
            headers.append(name.clone(), value.clone());
        }
    }
    headers.insert(GRPC_TIMEOUT, deadline);
    headers.insert(TE, HeaderValue::from_static("trailers"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    let mut request = http::Request::new(Outgoing::Frame(frame));
    *request.method_mut() = http::Method::POST;
    *request.version_mut() = http::Version::HTTP_2;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// `timeout` as the call's `grpc-timeout`: from a second up in whole
/// milliseconds (rounded down; finer is no use to a deadline that long), so
/// that the calls a worker starts within one millisecond share one value —
/// it keeps the last it made, and a clone of it allocates nothing; shorter
/// ones as [`grpc_timeout_value`] writes them.
fn deadline_header(timeout: Duration) -> HeaderValue {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(u128, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    if timeout < Duration::from_secs(1) {
        return grpc_timeout_value(timeout);
    }
    let millis = timeout.as_millis();
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((made, value)) if *made == millis => value.clone(),
            _ => {
                let whole = Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX));
                let value = grpc_timeout_value(whole);
                *last = Some((millis, value.clone()));
                value
            }
        }
    })
}

/// `timeout` as a `grpc-timeout` value: the most precise unit whose count
/// fits the protocol's 8 digits.
fn grpc_timeout_value(timeout: Duration) -> HeaderValue {
    const MAX: u128 = 99_999_999;
    let secs = u128::from(timeout.as_secs());
    let (count, unit) = [
        (timeout.as_nanos(), 'n'),
        (timeout.as_micros(), 'u'),
        (timeout.as_millis(), 'm'),
        (secs, 'S'),
        (secs / 60, 'M'),
        (secs / 3600, 'H'),
    ]
    .into_iter()
    .find(|(count, _)| *count <= MAX)
    .unwrap_or((MAX, 'H'));
    let mut text = [0u8; 12];
    let mut cursor = &mut text[..];
    let written = std::io::Write::write_fmt(&mut cursor, format_args!("{count}{unit}"));
    let len = 12 - cursor.len();
    debug_assert!(written.is_ok(), "8 digits and a unit fit 12 bytes");
    HeaderValue::from_bytes(&text[..len]).unwrap_or(HeaderValue::from_static("99999999H"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_take_the_most_precise_unit_that_fits() {
        let value = |d| grpc_timeout_value(d).to_str().unwrap().to_owned();
        assert_eq!(value(Duration::from_millis(500)), "500000u");
        assert_eq!(value(Duration::from_millis(50)), "50000000n");
        assert_eq!(value(Duration::from_secs(60)), "60000000u");
        assert_eq!(value(Duration::from_secs(3600)), "3600000m");
        assert_eq!(value(Duration::from_secs(200_000)), "200000S");
        assert_eq!(value(Duration::from_secs(u64::MAX)), "99999999H");
        let parsed = super::super::grpc_timeout(&grpc_timeout_value(Duration::from_secs(90)));
        assert_eq!(parsed, Some(Duration::from_secs(90)));
    }

    #[test]
    fn deadlines_from_a_second_up_are_sent_in_whole_milliseconds() {
        let value = |d| deadline_header(d).to_str().unwrap().to_owned();
        assert_eq!(value(Duration::from_micros(59_999_999)), "59999000u");
        assert_eq!(value(Duration::from_micros(59_999_001)), "59999000u");
        assert_eq!(value(Duration::from_micros(59_998_999)), "59998000u");
        assert_eq!(value(Duration::from_micros(999_999)), "999999u");
        assert_eq!(value(Duration::from_secs(200_000)), "200000S");
    }

    #[test]
    fn the_request_carries_what_tonic_sends() {
        let mut metadata = MetadataMap::new();
        metadata.insert("x-request-id", "r1".parse().unwrap());
        metadata.insert("content-type", "text/plain".parse().unwrap());
        metadata.insert("grpc-status", "3".parse().unwrap());
        let origin = Uri::from_static("http://127.0.0.1:50051/");
        let path = PathAndQuery::from_static("/a.B/C");
        let frame = bytes::Bytes::from_static(&[0, 0, 0, 0, 1, 8]);
        metadata.insert("grpc-timeout", "5S".parse().unwrap());
        let deadline = HeaderValue::from_static("1000m");
        let request = http_request(&origin, path, &metadata, deadline, frame).unwrap();
        assert_eq!(request.uri(), "http://127.0.0.1:50051/a.B/C");
        assert_eq!(request.method(), http::Method::POST);
        let headers = request.headers();
        assert_eq!(headers["content-type"], "application/grpc");
        assert_eq!(headers["te"], "trailers");
        assert_eq!(headers["x-request-id"], "r1");
        assert!(headers.get("grpc-status").is_none());
        assert_eq!(headers["grpc-timeout"], "1000m");
        assert_eq!(headers.len(), 4);
    }
}
