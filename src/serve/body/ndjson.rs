//! A streaming request's NDJSON body: read a line at a time, each
//! non-empty line one request message, built by the route's body rules
//! with the path and query fields applied, and handed on as soon as the
//! line is complete.

use std::sync::Arc;

use axum::body::Body as AxumBody;
use bytes::BytesMut;
use futures_util::Stream;
use http_body_util::BodyExt;
use prost_reflect::DynamicMessage;
use tokio::sync::oneshot;

use super::{drain, media_type};
use crate::compile::{Captures, RouteId};
use crate::serve::{ServeError, Shared};
use crate::transcode::{self, RequestParts};

/// `application/x-ndjson` or `application/jsonl`, with parameters.
pub(in crate::serve) fn is_ndjson(content_type: &str) -> bool {
    let essence = media_type(content_type);
    essence == "application/x-ndjson" || essence == "application/jsonl"
}

/// A request body read as NDJSON: one message per non-empty line.
pub(in crate::serve) struct Lines {
    shared: Arc<Shared>,
    route: RouteId,
    captures: Captures,
    query: Option<String>,
    body: AxumBody,
    buffer: BytesMut,
    /// How much of `buffer` is known to hold no newline.
    searched: usize,
    /// The number of the line being read, from 1.
    line: usize,
    /// Told why the body cannot be read further; dropped at a good end.
    failed: Option<oneshot::Sender<ServeError>>,
    /// Signalled with a failure: aborts the call.
    abort: Option<oneshot::Sender<()>>,
}

impl Lines {
    /// Reads `body` for `route` of `shared`. A failure is told to
    /// `failed`, and `abort` signalled.
    pub(in crate::serve) fn new(
        shared: Arc<Shared>,
        route: RouteId,
        captures: Captures,
        query: Option<String>,
        body: AxumBody,
        (failed, abort): (oneshot::Sender<ServeError>, oneshot::Sender<()>),
    ) -> Lines {
        Lines {
            shared,
            route,
            captures,
            query,
            body,
            buffer: BytesMut::new(),
            searched: 0,
            line: 0,
            failed: Some(failed),
            abort: Some(abort),
        }
    }

    /// The messages, each sent as soon as its line is complete. A bad line
    /// or body reports its error and then never ends, so the call is
    /// cancelled by the reply side rather than half-closed.
    pub(in crate::serve) fn messages(self) -> impl Stream<Item = DynamicMessage> + Send + 'static {
        futures_util::stream::unfold(self, |mut lines| async move {
            match lines.next().await {
                Ok(Some(message)) => Some((message, lines)),
                Ok(None) => None,
                Err(error) => {
                    if matches!(error, ServeError::PayloadTooLarge(_)) {
                        // As for a whole body: read the rest (bounded) so
                        // that the client sees the 413, not a broken pipe.
                        drain(std::mem::take(&mut lines.body)).await;
                    }
                    if let Some(failed) = lines.failed.take() {
                        let _ = failed.send(error);
                    }
                    if let Some(abort) = lines.abort.take() {
                        let _ = abort.send(());
                    }
                    std::future::pending().await
                }
            }
        })
    }

    /// The next line's message; `None` at the end of the body.
    async fn next(&mut self) -> Result<Option<DynamicMessage>, ServeError> {
        let limit = self.shared.options.max_body_bytes;
        loop {
            let unsearched = self.buffer.get(self.searched..).unwrap_or_default();
            let newline = unsearched.iter().position(|b| *b == b'\n');
            if let Some(end) = newline.map(|at| self.searched + at) {
                self.searched = 0;
                let line = self.buffer.split_to(end + 1);
                if let Some(message) = self.message(&line)? {
                    return Ok(Some(message));
                }
                continue;
            }
            self.searched = self.buffer.len();
            if self.buffer.len() > limit {
                return Err(ServeError::PayloadTooLarge(limit));
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => return Err(ServeError::BodyRead(e.to_string())),
                None => {
                    self.searched = 0;
                    let rest = self.buffer.split();
                    return self.message(&rest);
                }
            }
        }
    }

    /// The message of one line; `None` for a blank line.
    fn message(&mut self, line: &[u8]) -> Result<Option<DynamicMessage>, ServeError> {
        self.line += 1;
        let limit = self.shared.options.max_body_bytes;
        if line.len() > limit + 1 {
            return Err(ServeError::PayloadTooLarge(limit));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let route = self.shared.route(self.route);
        let message = transcode::build_request(
            route,
            RequestParts {
                captures: &self.captures,
                query: self.query.as_deref(),
                body: line,
                content_type: None,
            },
            &self.shared.options.json,
        )
        .map_err(|error| ServeError::Line {
            line: self.line,
            error,
        })?;
        Ok(Some(message))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ndjson_content_types() {
        assert!(super::is_ndjson("application/x-ndjson"));
        assert!(super::is_ndjson("application/jsonl; charset=utf-8"));
        assert!(!super::is_ndjson("application/json"));
    }
}
