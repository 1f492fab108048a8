//! One endpoint's HTTP/2 connection, driven through h2 itself: the
//! [`Link`] a call opens its stream on (the handshake and its settings),
//! the reply body ([`ReplyBody`]) that gives each DATA frame back to flow
//! control as it is read, and [`Pipe`], which sends a streaming request's
//! body as it comes.
//!
//! Why not hyper's HTTP/2 client (BENCHMARKS.md): it hands every request
//! through a channel to its connection task, spawns two tasks per request
//! (one sending the body, one waiting for the reply) and answers through a
//! oneshot channel. A call here opens its stream and queues its one DATA
//! frame from the request's own task; the connection task only writes and
//! reads frames, and wakes the call when its reply comes.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use h2::client::SendRequest;
use h2::{Reason, RecvStream, SendStream};
use http_body::{Body as _, Frame};
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::body::Body;

/// The largest header list (RFC 7541 §4.1 bytes) accepted in a reply:
/// headers, or trailers, which carry `grpc-message` and
/// `grpc-status-details-bin`. The common default, 16 KiB, refused a
/// service's error message that quoted a long request field, and the
/// refusal read as a broken connection (503).
const REPLY_HEADER_LIST_LIMIT: u32 = 1024 * 1024;

/// The connection's flow-control window. h2 lets the small DATA frames it
/// holds unread cost up to half of it (256 bytes counted per frame under
/// 256 bytes) and closes the connection beyond (`ENHANCE_YOUR_CALM`,
/// `too_many_data_frames`). A unary reply is one such frame, unread until
/// the worker polls its call: with an adaptive window (64 KiB to start)
/// about 130 replies arriving at once during a burst of client connections
/// closed the connection and failed every call on it. 8 MiB holds 16,384
/// unread replies; it also bounds what the service can send ahead of the
/// gateway reading it.
const CONNECTION_WINDOW: u32 = 8 * 1024 * 1024;

/// Each call's flow-control window: a 2 MiB reply (or that much of a
/// stream) flows without waiting for the gateway's window updates.
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;

/// Streams opened before the server's SETTINGS say how many it takes.
const INITIAL_MAX_STREAMS: usize = 100;

/// The most request bytes buffered per stream beyond what the server's
/// window lets out.
const MAX_SEND_BUFFER: usize = 1024 * 1024;

/// Streams reset for a protocol error of the server before the connection
/// is given up on.
const MAX_LOCAL_ERROR_RESETS: usize = 1024;

/// One HTTP/2 connection to an endpoint, as its calls share it: cheap to
/// clone, and closed for good once [`Link::is_closed`].
#[derive(Clone)]
pub(super) struct Link {
    send: SendRequest<Bytes>,
    /// The connection ended, or refused a new stream.
    closed: Arc<AtomicBool>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// What a request sends after its headers.
pub(super) enum Outgoing {
    /// A unary call's one length-prefixed message: one DATA frame, which
    /// ends the stream.
    Frame(Bytes),
    /// A streaming call's body, sent by a [`Pipe`] of its own.
    Stream(Body),
}

/// Why [`Link::send`] failed.
pub(super) enum SendError {
    /// No stream was opened: nothing of the request left. `request` is
    /// given back when the connection itself cannot take streams (closed or
    /// going away), so that another connection may (boxed: a failure is
    /// rare, and the error travels in every call's `Result`).
    Unsent {
        request: Option<Box<http::Request<Outgoing>>>,
        error: h2::Error,
    },
    /// The stream was opened, then it or its connection failed before the
    /// reply's headers came.
    Failed(h2::Error),
}

/// The HTTP/2 client handshake over `io`: the connection's [`Link`], and
/// the future that drives the connection (to be spawned), which marks the
/// link closed when it ends.
pub(super) async fn handshake<T>(
    io: T,
) -> Result<(Link, impl Future<Output = Result<(), h2::Error>> + Send), h2::Error>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (send, connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .initial_max_send_streams(INITIAL_MAX_STREAMS)
        .max_header_list_size(REPLY_HEADER_LIST_LIMIT)
        .max_send_buffer_size(MAX_SEND_BUFFER)
        .max_local_error_reset_streams(Some(MAX_LOCAL_ERROR_RESETS))
        .enable_push(false)
        .handshake(io)
        .await?;
    let closed = Arc::new(AtomicBool::new(false));
    let link = Link {
        send,
        closed: Arc::clone(&closed),
    };
    let driven = async move {
        let ended = connection.await;
        closed.store(true, Ordering::Release);
        ended
    };
    Ok((link, driven))
}

impl Link {
    /// Whether the connection has ended or refused a new stream: a call
    /// needs another.
    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Sends `request` on a new stream (once the connection takes one more)
    /// and waits for the reply's headers; the body is read from the
    /// answer's [`ReplyBody`].
    ///
    /// An `async` block, not an `async fn`: an `async fn` keeps its
    /// arguments and the locals they are moved into side by side in its
    /// state, and `request` (256 bytes) would be in it twice while the
    /// connection is waited for. Every call's future holds this one, and
    /// is moved whole at each layer above it.
    #[allow(clippy::manual_async_fn)] // see above: an `async fn` holds its arguments twice
    pub(super) fn send(
        &self,
        request: http::Request<Outgoing>,
    ) -> impl Future<Output = Result<http::Response<ReplyBody>, SendError>> + Send + '_ {
        async move {
            let mut send = match self.send.clone().ready().await {
                Ok(send) => send,
                Err(error) => {
                    // Closed or going away: it opens no stream any more.
                    self.closed.store(true, Ordering::Release);
                    return Err(SendError::Unsent {
                        request: Some(Box::new(request)),
                        error,
                    });
                }
            };
            let response = open(&mut send, request)?;
            let response = response.await.map_err(SendError::Failed)?;
            Ok(response.map(|recv| ReplyBody {
                recv,
                data_done: false,
            }))
        }
    }
}

/// Opens `request`'s stream on `send` and sends its body (its one frame,
/// or a [`Pipe`] of its own): the reply's head to come.
fn open(
    send: &mut SendRequest<Bytes>,
    request: http::Request<Outgoing>,
) -> Result<h2::client::ResponseFuture, SendError> {
    let (parts, body) = request.into_parts();
    let head = http::Request::from_parts(parts, ());
    let unsent = |error| SendError::Unsent {
        request: None,
        error,
    };
    match body {
        Outgoing::Frame(frame) => {
            let (response, mut stream) = send.send_request(head, false).map_err(unsent)?;
            stream.send_data(frame, true).map_err(SendError::Failed)?;
            Ok(response)
        }
        Outgoing::Stream(body) => {
            let end = body.is_end_stream();
            let (response, stream) = send.send_request(head, end).map_err(unsent)?;
            if !end {
                tokio::spawn(Pipe {
                    stream,
                    body,
                    waiting: None,
                });
            }
            Ok(response)
        }
    }
}

/// A reply's body: its DATA frames, each given back to the stream's and
/// the connection's flow-control windows as it is read, then its trailers.
pub(super) struct ReplyBody {
    recv: RecvStream,
    /// The DATA frames have all been read.
    data_done: bool,
}

impl http_body::Body for ReplyBody {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        if !self.data_done {
            match self.recv.poll_data(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(data))) => {
                    // Fails only once the stream is gone, when the window
                    // no longer matters.
                    let _ = self.recv.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => self.data_done = true,
            }
        }
        match self.recv.poll_trailers(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some(trailers))) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Poll::Ready(Ok(None)) => Poll::Ready(None),
            Poll::Ready(Err(error)) => Poll::Ready(Some(Err(error))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.recv.is_end_stream()
    }
}

/// Sends a streaming request's body on its stream, frame by frame as the
/// body gives them, each once the stream has window for it; ends the
/// stream with the body's end or trailers. A body that fails resets the
/// stream (`INTERNAL_ERROR`: the service sees the call fail, not its input
/// end); a stream the server reset stops the pipe.
struct Pipe {
    stream: SendStream<Bytes>,
    body: Body,
    /// A DATA frame taken from the body, waiting for window; whether it
    /// ends the stream.
    waiting: Option<(Bytes, bool)>,
}

impl Future for Pipe {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let pipe = self.get_mut();
        loop {
            // Registers for the server's RST_STREAM while waiting below.
            if pipe.stream.poll_reset(cx).is_ready() {
                return Poll::Ready(());
            }
            if let Some((_, end)) = &pipe.waiting {
                let end = *end;
                // At least one byte of window (reserved when the frame was
                // taken); h2 sends the rest as the window opens.
                while pipe.stream.capacity() == 0 {
                    match pipe.stream.poll_capacity(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(Ok(_))) => {}
                        Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(()),
                    }
                }
                let Some((data, _)) = pipe.waiting.take() else {
                    return Poll::Ready(());
                };
                if pipe.stream.send_data(data, end).is_err() || end {
                    return Poll::Ready(());
                }
                continue;
            }
            let frame = match Pin::new(&mut pipe.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(frame) => frame,
            };
            match frame {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        let end = pipe.body.is_end_stream();
                        if data.is_empty() {
                            if pipe.stream.send_data(data, end).is_err() || end {
                                return Poll::Ready(());
                            }
                        } else {
                            pipe.stream.reserve_capacity(1);
                            pipe.waiting = Some((data, end));
                        }
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            pipe.stream.reserve_capacity(0);
                            let _ = pipe.stream.send_trailers(trailers);
                            return Poll::Ready(());
                        }
                    }
                },
                Some(Err(_)) => {
                    pipe.stream.send_reset(Reason::INTERNAL_ERROR);
                    return Poll::Ready(());
                }
                None => {
                    let _ = pipe.stream.send_data(Bytes::new(), true);
                    return Poll::Ready(());
                }
            }
        }
    }
}
