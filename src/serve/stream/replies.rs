//! The reply side of a streaming call: the next reply message within the
//! call's deadline, each written as a line or event, a client stream's one
//! reply as a whole answer, and a failure (of either side) ending it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, StatusCode};
use prost_reflect::DynamicMessage;
use tokio::sync::oneshot;

use super::format::Format;
use super::start::failed;
use crate::compile::{Route, RouteId};
use crate::serve::answer::Answer;
use crate::serve::{call, ServeError, Shared};
use crate::transcode::{self, JsonOptions};
use crate::upstream::{self, ReplyStream, UpstreamError};

/// The reply side of a call being answered.
pub(super) struct Replies {
    pub(super) shared: Arc<Shared>,
    /// How reply messages are written (error details keep the gateway's).
    pub(super) json: JsonOptions,
    pub(super) route: RouteId,
    pub(super) reply: Option<ReplyStream>,
    /// The request side's failure, when it reads a body.
    pub(super) failure: Option<oneshot::Receiver<ServeError>>,
    /// When the whole call must have ended (and its length), when bounded:
    /// enforced here too, as a service may bound only its first answer.
    pub(super) deadline: Option<(tokio::time::Instant, Duration)>,
}

impl Replies {
    fn route(&self) -> &Route {
        self.shared.route(self.route)
    }

    /// The next reply message, `None` at a successful end. An error ends
    /// the call (the request side too).
    pub(super) async fn next(&mut self) -> Result<Option<DynamicMessage>, ServeError> {
        let Some(reply) = self.reply.as_mut() else {
            return Ok(None);
        };
        let deadline = self.deadline;
        let passed = async move {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let next = tokio::select! {
            next = reply.messages.message() => next,
            failed = failed(&mut self.failure) => {
                self.reply = None;
                return Err(failed);
            }
            () = passed => {
                self.reply = None;
                let length = deadline.map_or(Duration::ZERO, |(_, d)| d);
                return Err(self.upstream_error(UpstreamError::DeadlineExceeded {
                    timeout: length,
                    sent: true,
                }));
            }
        };
        match next {
            Ok(Some(message)) => Ok(Some(message)),
            Ok(None) => {
                self.reply = None;
                Ok(None)
            }
            Err(status) => {
                self.reply = None;
                // As in `start`: the request side's failure, if any, is the answer.
                match self.failure.as_mut().map(|f| f.try_recv()) {
                    Some(Ok(failed)) => Err(failed),
                    _ => Err(self.upstream_error(UpstreamError::Status(status))),
                }
            }
        }
    }

    /// A failed call as an error (counted in the metrics).
    pub(super) fn upstream_error(&self, error: UpstreamError) -> ServeError {
        call::failure(&self.shared, self.route(), error, false)
    }

    /// One reply message as a line or event; a message that cannot be
    /// written ends the call with an error line.
    pub(super) fn line(&mut self, format: Format, message: &DynamicMessage) -> Bytes {
        match transcode::reply_body(self.route(), message, &self.json) {
            Ok(json) => format.message(&json),
            Err(e) => {
                self.reply = None;
                format.error(&ServeError::Transcode(e))
            }
        }
    }

    /// The rest of the replies, as lines or events, ending after an error.
    /// Fused: a body may be polled again after its end (the compression
    /// layer looks for trailers), which an unfold does not allow.
    pub(super) fn lines(self, format: Format) -> impl Stream<Item = Bytes> + Send + 'static {
        let lines = futures_util::stream::unfold(Some(self), move |state| async move {
            let mut replies = state?;
            match replies.next().await {
                Ok(Some(message)) => {
                    let line = replies.line(format, &message);
                    Some((line, Some(replies)))
                }
                Ok(None) => None,
                Err(error) => {
                    log_failure(&error);
                    Some((format.error(&error), None))
                }
            }
        });
        lines.fuse()
    }

    /// A client stream's one reply, checked to be its last, as JSON.
    pub(super) async fn whole(
        mut self,
        first: Option<DynamicMessage>,
        mut headers: HeaderMap,
    ) -> Result<Answer, ServeError> {
        let message = first.ok_or_else(|| {
            self.upstream_error(UpstreamError::Status(tonic::Status::internal(
                "the service answered OK without a reply message",
            )))
        })?;
        if let Some(reply) = self.reply.as_mut() {
            match reply.messages.trailers().await {
                Ok(Some(trailers)) => upstream::response_headers(
                    &mut headers,
                    trailers.as_ref(),
                    upstream::GRPC_TRAILER,
                ),
                Ok(None) => {}
                Err(status) => return Err(self.upstream_error(UpstreamError::Status(status))),
            }
        }
        let body = transcode::reply_body(self.route(), &message, &self.json)?;
        Ok(Answer::json(StatusCode::OK, headers, body.into()))
    }
}

/// Logs a stream's failure after its answer started, as the handler logs
/// a failed request.
fn log_failure(error: &ServeError) {
    if error.status().is_server_error() {
        tracing::warn!(error = %error, "stream failed");
    } else {
        tracing::debug!(error = %error, "stream failed");
    }
}
