//! Verb-aware retries: idempotent calls (PUT, GET, DELETE) are tried again on
//! a transport failure or `UNAVAILABLE`, with bounded, jittered exponential
//! backoff, inside the request's deadline. POST and PATCH are not retried
//! here (N tries of a create make N resources) but for one case: a call the
//! service's server refused unprocessed ([`UpstreamError::Refused`]), which
//! no service saw, is sent once more (to the next endpoint, or on a fresh
//! connection).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::PathAndQuery;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::metadata::MetadataMap;
use tonic::Code;

use super::{Reply, ReplyMessage, RequestMessage, UnaryCodec, Upstream, UpstreamError};

/// Retries made since start, for metrics.
static RETRIES: AtomicU64 = AtomicU64::new(0);

/// How many retries the gateway has made since it started.
pub fn retries_total() -> u64 {
    RETRIES.load(Ordering::Relaxed)
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1 = never retry). Default 3.
    pub attempts: u32,
    /// The first backoff's upper bound; doubled each retry. Default 25 ms.
    pub base: Duration,
    /// No backoff is longer than this. Default 1 s.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(25),
            max: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `n` (1-based): half the bound plus a random
    /// part of the other half, so clients that failed together do not retry
    /// together, and never less than half the bound.
    fn backoff(&self, n: u32) -> Duration {
        let bound = self.base.saturating_mul(1 << (n - 1).min(16)).min(self.max);
        let half = bound / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// Whether a failed call may be tried again: the service did not act on it,
/// or acting twice is harmless and the failure is transient.
fn is_transient(error: &UpstreamError) -> bool {
    match error {
        // Acting twice is harmless for the methods retried here.
        UpstreamError::Unavailable(_)
        | UpstreamError::Refused(_)
        | UpstreamError::Interrupted(_) => true,
        UpstreamError::Status(status) => status.code() == Code::Unavailable,
        UpstreamError::DeadlineExceeded { .. }
        | UpstreamError::BadUri { .. }
        | UpstreamError::MetadataTooLarge { .. } => false,
    }
}

/// One unary call to make.
#[derive(Debug, Clone)]
pub struct Call {
    /// `/package.Service/Method`.
    pub path: PathAndQuery,
    /// The request message, or its encoding.
    pub request: RequestMessage,
    /// The request metadata.
    pub metadata: MetadataMap,
    /// The reply's type.
    pub reply: MessageDescriptor,
    /// The whole request's deadline, retries included.
    pub timeout: Duration,
}

/// Makes `call` on `upstream`; when `idempotent`, retries transient failures
/// per `policy` while the call's deadline lasts, and otherwise a refusal
/// ([`UpstreamError::Refused`]) once.
pub async fn call(
    upstream: &Upstream,
    call: Call,
    idempotent: bool,
    policy: &RetryPolicy,
) -> Result<Reply, UpstreamError> {
    let desc = call.reply.clone();
    let reply = call_with(upstream, call, false, idempotent, policy).await?;
    let message = match reply.message {
        ReplyMessage::Decoded(message) => message,
        // Not asked for; decoded all the same.
        ReplyMessage::Wire(wire) => DynamicMessage::decode(desc.clone(), wire)
            .map_err(|e| UpstreamError::Status(super::undecodable(&desc, &e)))?,
    };
    Ok(Reply {
        message,
        headers: reply.headers,
        trailers: reply.trailers,
    })
}

/// [`call`], keeping the reply's protobuf encoding undecoded
/// ([`ReplyMessage::Wire`]) when `wire_reply`.
///
/// An `async` block, not an `async fn`, which would hold `call` twice (as
/// it came, and taken apart in its body) in every request's state.
#[allow(clippy::manual_async_fn)] // see above: an `async fn` holds its arguments twice
pub fn call_with<'a>(
    upstream: &'a Upstream,
    mut call: Call,
    wire_reply: bool,
    idempotent: bool,
    policy: &'a RetryPolicy,
) -> impl std::future::Future<Output = Result<Reply<ReplyMessage>, UpstreamError>> + Send + 'a {
    async move {
        let codec = UnaryCodec::new(call.reply, wire_reply);
        let deadline = Instant::now() + call.timeout;
        let attempts = if idempotent {
            policy.attempts.max(1)
        } else {
            policy.attempts.clamp(1, 2)
        };
        // Whether a failure of a call that is not idempotent may be tried again:
        // only when no service saw it.
        let retried = |e: &UpstreamError| {
            if idempotent {
                is_transient(e)
            } else {
                matches!(e, UpstreamError::Refused(_))
            }
        };
        let mut attempt = 1;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                // Only ever after a try that failed: it may have been sent.
                return Err(UpstreamError::DeadlineExceeded {
                    timeout: call.timeout,
                    sent: attempt > 1,
                });
            }
            // The last attempt (a call made once: the only one) takes the
            // message; the others send copies. Every attempt borrows the
            // metadata.
            let sent = if attempt >= attempts {
                std::mem::replace(&mut call.request, RequestMessage::Wire(Bytes::new()))
            } else {
                call.request.clone()
            };
            let result = upstream
                .unary_call(call.path.clone(), sent, &call.metadata, &codec, remaining)
                .await;
            let error = match result {
                Ok(reply) => return Ok(reply),
                Err(UpstreamError::DeadlineExceeded { sent, .. }) => {
                    return Err(UpstreamError::DeadlineExceeded {
                        timeout: call.timeout,
                        sent,
                    })
                }
                Err(e) if attempt >= attempts || !retried(&e) => return Err(e),
                Err(e) => e,
            };
            let wait = policy.backoff(attempt);
            if Instant::now() + wait >= deadline {
                return Err(error);
            }
            attempt += 1;
            RETRIES.fetch_add(1, Ordering::Relaxed);
            if idempotent {
                tracing::info!(rpc = %call.path, attempt, of = attempts, wait_ms = wait.as_millis() as u64, error = %error, "retrying an idempotent call");
            } else {
                tracing::info!(rpc = %call.path, wait_ms = wait.as_millis() as u64, error = %error, "sending a call the service refused unprocessed again");
            }
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_bounded_and_jittered() {
        let policy = RetryPolicy::default();
        for n in 1..20 {
            let bound = (policy.base * 2u32.pow((n - 1).min(16))).min(policy.max);
            let wait = policy.backoff(n);
            assert!(
                wait >= bound / 2 && wait <= bound,
                "retry {n}: {wait:?} outside [{:?}, {bound:?}]",
                bound / 2
            );
        }
        let waits: std::collections::HashSet<_> = (0..20).map(|_| policy.backoff(3)).collect();
        assert!(waits.len() > 1, "jittered");
    }

    #[test]
    fn only_transient_failures_are_retried() {
        assert!(is_transient(&UpstreamError::Unavailable("refused".into())));
        assert!(is_transient(&UpstreamError::Status(
            tonic::Status::unavailable("x")
        )));
        assert!(!is_transient(&UpstreamError::Status(
            tonic::Status::internal("x")
        )));
        assert!(is_transient(&UpstreamError::Interrupted("reset".into())));
        assert!(is_transient(&UpstreamError::Refused("GOAWAY".into())));
        assert!(!is_transient(&UpstreamError::DeadlineExceeded {
            timeout: Duration::from_secs(1),
            sent: true,
        }));
    }
}
