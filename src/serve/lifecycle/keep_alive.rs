//! Cleartext HTTP/1.1 connections that hold little more than their socket
//! while idle between requests.
//!
//! hyper keeps an HTTP/1 connection's read buffer (8 KiB, grown to 16 KiB
//! after the first request) and its write buffer (8 KiB) for the
//! connection's whole life, and has no setting to release them between
//! requests: three quarters of an idle keep-alive connection's memory
//! (BENCHMARKS.md). So each hyper connection here serves only until it is
//! idle: every request read to its end, every reply sent and flushed, and
//! nothing more from the client for [`IDLE_GRACE`]. Then [`IdleIo`] shows
//! hyper the end of input, which hyper takes as the client closing an idle connection:
//! it ends without writing anything or shutting the socket, and hands the
//! socket back. The connection then waits for the client's next bytes with
//! its socket only, and serves them with a new hyper connection. hyper still
//! parses, times and answers every request.
//!
//! When hyper does not keep the connection (`Connection: close`, HTTP/1.0,
//! draining, a request body left unread, an error), it ends without that
//! read, and the socket is shut down as hyper would have. An idle wait ends
//! after the header-read timeout, as hyper's own timer would end it, or at
//! once when the worker stops.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::{Buf, Bytes};
use http::{Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// The gateway's app as hyper calls it.
type App = super::WorkerService;

/// How long a connection with nothing in flight keeps its hyper connection
/// before it is put down to its socket. A client that sends its next
/// request sooner (any client under load) is served by the same hyper
/// connection: putting it down and building a new one after every reply
/// cost about 10 µs of CPU per request (BENCHMARKS.md). At least the
/// workers' 500 ms tick, so that this timer is never the earliest one a
/// worker has and never wakes it through the OS.
const IDLE_GRACE: Duration = Duration::from_secs(1);

/// Serves `stream` (cleartext HTTP/1.1, nothing read from it yet) until the
/// client closes it, hyper ends it, it idles past `header_read_timeout`, or
/// `stopping` changes (the worker stops).
pub(super) async fn serve(
    stream: TcpStream,
    builder: &http1::Builder,
    mut app: App,
    mut stopping: watch::Receiver<()>,
    header_read_timeout: Duration,
) {
    let mut io = IdleIo::new(stream);
    loop {
        let exchanges = Arc::new(Exchanges::default());
        io.start(Arc::clone(&exchanges));
        let tracked = Tracked { app, exchanges };
        // Boxed: only a connection in use holds hyper's state.
        let mut connection = Box::new(builder.serve_connection(io, tracked));
        let mut stopped = false;
        let served = loop {
            tokio::select! {
                served = std::future::poll_fn(|cx| connection.poll_without_shutdown(cx)) => break served,
                _ = stopping.changed(), if !stopped => {
                    stopped = true;
                    Pin::new(&mut *connection).graceful_shutdown();
                }
            }
        };
        // The emptied box freed here, not at the end of the idle wait.
        let parts = {
            let connection = connection;
            (*connection).into_parts()
        };
        (io, app) = (parts.io, parts.service.app);
        if !io.ended_idle || stopped {
            // The client closing while idle is an empty connection to hyper.
            let closed_idle = io.exchanges.started.load(Ordering::Acquire) == 0;
            match served {
                Err(e) if !(closed_idle && e.is_incomplete_message()) => {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                _ => {}
            }
            return io.shut_down().await;
        }
        // Bytes hyper read but had not parsed (the start of a pipelined
        // request) are read again by the next connection, which then
        // starts at once. Copied: they share hyper's whole read buffer.
        io.unread = Bytes::copy_from_slice(&parts.read_buf);
        drop(parts.read_buf);
        if io.unread.is_empty() {
            tokio::select! {
                next = tokio::time::timeout(header_read_timeout, io.readable()) => {
                    if !matches!(next, Ok(true)) {
                        return io.shut_down().await;
                    }
                }
                _ = stopping.changed() => return io.shut_down().await,
            }
        }
    }
}

/// What one hyper connection's exchanges have got to. The counts only
/// grow, and an exchange counts as read and answered once each.
#[derive(Debug, Default)]
struct Exchanges {
    /// Requests hyper handed to the app.
    started: AtomicUsize,
    /// Requests whose body reached its end (at once for no body).
    read: AtomicUsize,
    /// Replies whose body hyper is done with (sent, or given up).
    answered: AtomicUsize,
}

impl Exchanges {
    /// At least one exchange, and all of them read and answered.
    fn all_finished(&self) -> bool {
        let started = self.started.load(Ordering::Acquire);
        started > 0
            && self.read.load(Ordering::Acquire) == started
            && self.answered.load(Ordering::Acquire) == started
    }
}

/// The client's socket as hyper reads and writes it: shows hyper the end of
/// input once the connection is idle (see the module docs).
#[derive(Debug)]
struct IdleIo {
    stream: TokioIo<TcpStream>,
    exchanges: Arc<Exchanges>,
    /// Bytes to give hyper before reading the socket.
    unread: Bytes,
    /// Written since hyper last flushed (hyper flushes once its own buffer
    /// is empty).
    unflushed: bool,
    /// The end of input was shown to hyper.
    ended_idle: bool,
    /// Ends the idle grace; armed (`grace_armed`) when hyper first finds
    /// nothing to read with nothing in flight. One per connection, reset
    /// each time, not a new timer per request.
    grace: Pin<Box<tokio::time::Sleep>>,
    grace_armed: bool,
}

impl IdleIo {
    fn new(stream: TcpStream) -> Self {
        IdleIo {
            stream: TokioIo::new(stream),
            exchanges: Arc::default(),
            unread: Bytes::new(),
            unflushed: false,
            ended_idle: false,
            grace: Box::pin(tokio::time::sleep(IDLE_GRACE)),
            grace_armed: false,
        }
    }

    /// Ready for a new hyper connection, whose exchanges are `exchanges`.
    fn start(&mut self, exchanges: Arc<Exchanges>) {
        self.exchanges = exchanges;
        self.unflushed = false;
        self.ended_idle = false;
        self.grace_armed = false;
    }

    /// Waits until the socket is readable: the client's next bytes, or its
    /// close, which the next hyper connection reads. (Waiting costs no
    /// system call: the runtime's poller says when.)
    async fn readable(&self) -> bool {
        self.stream.inner().readable().await.is_ok()
    }

    /// Shuts the socket down (a FIN after everything written), as hyper
    /// does when it ends a connection itself.
    async fn shut_down(self) {
        let _ = self.stream.into_inner().shutdown().await;
    }
}

impl Read for IdleIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.unread.is_empty() {
            let n = this.unread.len().min(buf.remaining());
            buf.put_slice(&this.unread[..n]);
            this.unread.advance(n);
            return Poll::Ready(Ok(()));
        }
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Pending if !this.unflushed && this.exchanges.all_finished() => {
                if !this.grace_armed {
                    let deadline = tokio::time::Instant::now() + IDLE_GRACE;
                    this.grace.as_mut().reset(deadline);
                    this.grace_armed = true;
                }
                // Woken by the client's bytes or by the end of the grace.
                ready!(this.grace.as_mut().poll(cx));
                this.ended_idle = true;
                Poll::Ready(Ok(()))
            }
            Poll::Pending => Poll::Pending,
            polled => {
                // Something came (or the socket failed): a new grace when
                // the connection is next idle.
                this.grace_armed = false;
                polled
            }
        }
    }
}

impl Write for IdleIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.unflushed = true;
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.unflushed = true;
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(Pin::new(&mut this.stream).poll_flush(cx))?;
        this.unflushed = false;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The app, counting the exchanges of one hyper connection.
#[derive(Debug)]
struct Tracked {
    app: App,
    exchanges: Arc<Exchanges>,
}

impl Service<Request<Incoming>> for Tracked {
    type Response = Response<AnsweredBody>;
    type Error = <App as Service<Request<RequestBody>>>::Error;
    type Future = TrackedReply<<App as Service<Request<RequestBody>>>::Future>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.exchanges.started.fetch_add(1, Ordering::AcqRel);
        let exchanges = &self.exchanges;
        let request = request.map(|body| RequestBody::new(body, Arc::clone(exchanges)));
        TrackedReply {
            reply: self.app.call(request),
            exchanges: Some(Arc::clone(&self.exchanges)),
        }
    }
}

/// The app's reply to come, its body counted once hyper is done with it.
#[derive(Debug)]
struct TrackedReply<F> {
    reply: F,
    exchanges: Option<Arc<Exchanges>>,
}

impl<F, E> Future for TrackedReply<F>
where
    F: Future<Output = Result<Response<Body>, E>> + Unpin,
{
    type Output = Result<Response<AnsweredBody>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let reply = ready!(Pin::new(&mut self.reply).poll(cx))?;
        let exchanges = self.exchanges.take().unwrap_or_default();
        Poll::Ready(Ok(reply.map(|body| AnsweredBody { body, exchanges })))
    }
}

/// A request's body, counted as read when it reaches its end.
#[derive(Debug)]
struct RequestBody {
    body: Incoming,
    /// Until counted as read.
    exchanges: Option<Arc<Exchanges>>,
}

impl RequestBody {
    fn new(body: Incoming, exchanges: Arc<Exchanges>) -> Self {
        let mut body = RequestBody {
            body,
            exchanges: Some(exchanges),
        };
        body.count_if_ended(false);
        body
    }

    fn count_if_ended(&mut self, ended: bool) {
        if ended || http_body::Body::is_end_stream(&self.body) {
            if let Some(exchanges) = self.exchanges.take() {
                exchanges.read.fetch_add(1, Ordering::AcqRel);
            }
        }
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = ready!(Pin::new(&mut self.body).poll_frame(cx));
        // An error is not an end: hyper does not keep that connection.
        let ended = frame.is_none();
        self.count_if_ended(ended);
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A reply's body, counted as answered when hyper drops it.
#[derive(Debug)]
struct AnsweredBody {
    body: Body,
    exchanges: Arc<Exchanges>,
}

impl Drop for AnsweredBody {
    fn drop(&mut self) {
        self.exchanges.answered.fetch_add(1, Ordering::AcqRel);
    }
}

impl http_body::Body for AnsweredBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
