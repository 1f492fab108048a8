//! How far one unary call got on the wire, as the transport saw it: whether
//! the request was handed to a connection (and neither given back nor
//! refused unprocessed), and whether that connection then failed before the
//! whole reply came. A failure can then say whether the service may have
//! acted on the call: [`UpstreamError::Interrupted`], the `sent` of
//! [`UpstreamError::DeadlineExceeded`] — or that it surely did not:
//! [`UpstreamError::Refused`].

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::http2::ReplyBody;
use super::UpstreamError;

/// One call's progress, shared by the call and its connection's futures.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// The request was handed to a connection, which did not give it back.
    sent: AtomicBool,
    /// The connection failed after that, before the reply was whole.
    broke: AtomicBool,
    /// The server refused the request unprocessed (and it was not sent
    /// again after that).
    refused: AtomicBool,
}

impl Progress {
    /// The request is handed to a connection (or to the service in process).
    pub(super) fn handed_over(&self) {
        self.refused.store(false, Ordering::Release);
        self.sent.store(true, Ordering::Release);
    }

    /// The connection gave the request back unsent.
    pub(super) fn given_back(&self) {
        self.sent.store(false, Ordering::Release);
    }

    /// The connection failed with `error` after the request was handed over.
    /// A stream the server refused unprocessed (RFC 9113 §8.7: above the
    /// last stream id of a graceful `GOAWAY`, or reset with
    /// `REFUSED_STREAM`) was not acted on; any other failure may have
    /// reached the service.
    pub(super) fn failed(&self, error: &h2::Error) {
        if refused_unprocessed(error) {
            self.given_back();
            self.refused.store(true, Ordering::Release);
        } else {
            self.broke.store(true, Ordering::Release);
        }
    }

    /// The connection failed while the reply's body was read.
    pub(super) fn broke_reading(&self) {
        // The reply's headers came: the service has the call.
        self.handed_over();
        self.broke.store(true, Ordering::Release);
    }

    /// Whether the request may have reached the service.
    pub(super) fn sent(&self) -> bool {
        self.sent.load(Ordering::Acquire)
    }

    /// `error`, the failure of a call that had until `deadline` (`timeout`
    /// from its start), as [`within`] settles it: a failure once the
    /// deadline has passed is the deadline's, and either is
    /// [explained](Progress::explain).
    pub(super) fn failed_by(
        &self,
        error: UpstreamError,
        deadline: tokio::time::Instant,
        timeout: Duration,
    ) -> UpstreamError {
        let error = if tokio::time::Instant::now() >= deadline {
            UpstreamError::DeadlineExceeded {
                timeout,
                sent: false,
            }
        } else {
            error
        };
        self.explain(error)
    }

    /// `error`, the call's failure, saying what the service may have seen:
    /// a failure of a connection the request had been sent on is
    /// [`UpstreamError::Interrupted`], whatever tonic made of it, and one
    /// that refused it unprocessed [`UpstreamError::Refused`]; a passed
    /// deadline says whether the request had been sent.
    pub(super) fn explain(&self, error: UpstreamError) -> UpstreamError {
        let broke = self.broke.load(Ordering::Acquire) && self.sent();
        let refused = self.refused.load(Ordering::Acquire) && !self.sent();
        match error {
            UpstreamError::DeadlineExceeded { timeout, .. } => UpstreamError::DeadlineExceeded {
                timeout,
                sent: self.sent(),
            },
            UpstreamError::Status(status) if broke => {
                UpstreamError::Interrupted(status.message().to_owned())
            }
            UpstreamError::Unavailable(message) if broke => UpstreamError::Interrupted(message),
            UpstreamError::Status(status) if refused => {
                UpstreamError::Refused(status.message().to_owned())
            }
            UpstreamError::Unavailable(message) if refused => UpstreamError::Refused(message),
            other => other,
        }
    }
}

/// `call` given `timeout`, its failure explained by how far it got
/// (`progress`: a reference, or the `Arc` the call shares).
///
/// A call that fails once its deadline has passed failed by the deadline,
/// whatever the service said: a service keeps the same deadline (it was
/// sent as `grpc-timeout`), and its own answer to it (tonic's is
/// `CANCELLED`, "Timeout expired") can come before the gateway's timer is
/// served, which rounds up to the next millisecond.
///
/// It bounds the calls made through tonic's generic client
/// ([`Upstream::unary_with`](super::Upstream::unary_with): the in-process
/// service, and callers outside the request path). A request's call over
/// the network does not come here: [`unary`](super::unary) bounds each of
/// its steps with one timer of its own, and shares only
/// [`Progress::failed_by`] with this.
///
/// A combinator, not an `async fn`: an `async fn` keeps its argument `call`
/// in its state beside the `Timeout` it is moved into, which doubled the
/// size of the call's future.
pub(super) fn within<'p, T>(
    timeout: Duration,
    call: impl std::future::Future<Output = Result<T, UpstreamError>> + 'p,
    progress: impl std::ops::Deref<Target = Progress> + 'p,
) -> impl std::future::Future<Output = Result<T, UpstreamError>> + 'p {
    use futures_util::FutureExt as _;
    let deadline = tokio::time::Instant::now() + timeout;
    let passed = move || UpstreamError::DeadlineExceeded {
        timeout,
        sent: false,
    };
    tokio::time::timeout_at(deadline, call).map(move |outcome| {
        outcome
            .unwrap_or_else(|_| Err(passed()))
            .map_err(|error| progress.failed_by(error, deadline, timeout))
    })
}

/// Whether `error` says the server did not process the stream: a graceful
/// `GOAWAY` (`NO_ERROR`) whose last stream id is below it, or its reset
/// with `REFUSED_STREAM`.
fn refused_unprocessed(error: &h2::Error) -> bool {
    let reason = error.reason();
    error.is_remote()
        && ((error.is_go_away() && reason == Some(h2::Reason::NO_ERROR))
            || (error.is_reset() && reason == Some(h2::Reason::REFUSED_STREAM)))
}

/// A reply body that records in its call's [`Progress`] a failure to read
/// it: the connection broke with the reply half read.
pub(super) struct Watched {
    pub(super) body: ReplyBody,
    pub(super) progress: Arc<Progress>,
}

impl http_body::Body for Watched {
    type Data = bytes::Bytes;
    type Error = h2::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, h2::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &frame {
            self.progress.broke_reading();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_after_the_call_was_sent_is_an_interruption() {
        let progress = Progress::default();
        progress.handed_over();
        progress.broke.store(true, Ordering::Release);
        let explained = progress.explain(UpstreamError::Status(tonic::Status::unavailable(
            "upstream connection failed: connection reset",
        )));
        assert!(
            matches!(explained, UpstreamError::Interrupted(ref m) if m.contains("reset")),
            "{explained:?}"
        );
    }

    #[test]
    fn the_service_s_own_status_is_its_answer() {
        let progress = Progress::default();
        progress.handed_over();
        let explained = progress.explain(UpstreamError::Status(tonic::Status::unavailable("busy")));
        assert!(
            matches!(explained, UpstreamError::Status(ref s) if s.message() == "busy"),
            "{explained:?}"
        );
    }

    #[test]
    fn a_call_refused_unprocessed_is_refused_unless_sent_again() {
        let progress = Progress::default();
        progress.handed_over();
        progress.given_back();
        progress.refused.store(true, Ordering::Release);
        let failure = || {
            UpstreamError::Status(tonic::Status::unavailable(
                "upstream connection failed: refused",
            ))
        };
        let explained = progress.explain(failure());
        assert!(
            matches!(explained, UpstreamError::Refused(ref m) if m.contains("refused")),
            "{explained:?}"
        );
        // Sent again elsewhere, where it failed otherwise: not a refusal.
        progress.handed_over();
        progress.broke.store(true, Ordering::Release);
        let explained = progress.explain(failure());
        assert!(
            matches!(explained, UpstreamError::Interrupted(_)),
            "{explained:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_fails_as_its_deadline_passes_failed_by_the_deadline() {
        let timeout = Duration::from_millis(200);
        let progress = Progress::default();
        progress.handed_over();
        // The service answers its own copy of the deadline at the same
        // instant, before the gateway's timer is served.
        let service_gave_up = async {
            tokio::time::sleep(timeout).await;
            Err::<(), _>(UpstreamError::Status(tonic::Status::cancelled(
                "Timeout expired",
            )))
        };
        let outcome = within(timeout, service_gave_up, &progress).await;
        assert!(
            matches!(
                outcome,
                Err(UpstreamError::DeadlineExceeded { sent: true, .. })
            ),
            "{outcome:?}"
        );
        // Before the deadline, the service's failure is its answer.
        let early = async {
            tokio::time::sleep(timeout / 2).await;
            Err::<(), _>(UpstreamError::Status(tonic::Status::cancelled("gone")))
        };
        let outcome = within(timeout, early, &progress).await;
        assert!(
            matches!(outcome, Err(UpstreamError::Status(ref s)) if s.message() == "gone"),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_deadline_says_whether_the_call_was_sent() {
        let progress = Progress::default();
        let deadline = || UpstreamError::DeadlineExceeded {
            timeout: Duration::from_secs(1),
            sent: false,
        };
        assert!(matches!(
            progress.explain(deadline()),
            UpstreamError::DeadlineExceeded { sent: false, .. }
        ));
        progress.handed_over();
        assert!(matches!(
            progress.explain(deadline()),
            UpstreamError::DeadlineExceeded { sent: true, .. }
        ));
        progress.given_back();
        assert!(matches!(
            progress.explain(deadline()),
            UpstreamError::DeadlineExceeded { sent: false, .. }
        ));
    }
}
