//! The streaming test service (`proto/testing/v1/streams.proto`), served on
//! 127.0.0.1:0 in a tokio task.
//!
//! The test paces what it sends (`Paced` waits for [`StreamsHandle::release`]
//! before each tick) and sees what it received: every `Sum` tick as it
//! arrives, how `Sum` calls ended, and how many `Hang` streams were
//! cancelled by their client going away.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use restgate::pb::testing::v1::streams_server::{Streams, StreamsServer};
use restgate::pb::testing::v1::{FailAfterRequest, HangRequest, PacedRequest, Tick, Total};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tonic::{Code, Request, Response, Status, Streaming};

use super::WAIT;

/// What the service saw, shared with the test.
#[derive(Debug)]
struct Seen {
    /// Permits for `Paced` ticks.
    release: Semaphore,
    /// `Hang` streams whose client went away.
    cancelled: watch::Sender<usize>,
    /// Every `Sum` tick received so far, in order.
    summed: watch::Sender<Vec<Tick>>,
    /// `Sum` calls that ended with their input (`completed`) or with an
    /// error, such as a cancellation (`aborted`).
    sum_ends: watch::Sender<(usize, usize)>,
}

/// A running streaming service. Dropping it stops the server.
pub(crate) struct StreamsHandle {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    seen: Arc<Seen>,
    _stop: oneshot::Sender<()>,
}

impl StreamsHandle {
    /// Lets `n` more `Paced` ticks go.
    pub(crate) fn release(&self, n: usize) {
        self.seen.release.add_permits(n);
    }

    /// Waits (at most [`WAIT`]) until `n` `Hang` streams were cancelled;
    /// returns the count then.
    pub(crate) async fn wait_cancelled(&self, n: usize) -> usize {
        wait_for(&self.seen.cancelled, |c| *c >= n).await;
        *self.seen.cancelled.borrow()
    }

    /// Waits (at most [`WAIT`]) until `Sum` received `n` ticks; returns
    /// those received then.
    pub(crate) async fn wait_summed(&self, n: usize) -> Vec<Tick> {
        wait_for(&self.seen.summed, |t| t.len() >= n).await;
        self.seen.summed.borrow().clone()
    }

    /// Waits (at most [`WAIT`]) until `n` `Sum` calls ended either way;
    /// returns `(completed, aborted)` then.
    pub(crate) async fn wait_sum_ends(&self, n: usize) -> (usize, usize) {
        wait_for(&self.seen.sum_ends, |(c, a)| c + a >= n).await;
        *self.seen.sum_ends.borrow()
    }
}

async fn wait_for<T>(value: &watch::Sender<T>, done: impl FnMut(&T) -> bool) {
    let mut receiver = value.subscribe();
    let _ = tokio::time::timeout(WAIT, receiver.wait_for(done)).await;
}

/// Serves the streaming service on 127.0.0.1:0.
pub(crate) async fn start_streams() -> StreamsHandle {
    start_streams_with_window(None).await
}

/// [`start_streams`] with HTTP/2 flow-control windows (per stream and per
/// connection) of `window` bytes instead of the server's default.
pub(crate) async fn start_streams_with_window(window: Option<u32>) -> StreamsHandle {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind streams");
    let addr = listener.local_addr().expect("streams address");
    let seen = Arc::new(Seen {
        release: Semaphore::new(0),
        cancelled: watch::Sender::new(0),
        summed: watch::Sender::new(Vec::new()),
        sum_ends: watch::Sender::new((0, 0)),
    });
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(
        Server::builder()
            .initial_stream_window_size(window)
            .initial_connection_window_size(window)
            .add_service(StreamsServer::new(StreamsImpl { seen: seen.clone() }))
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                let _ = stopped.await;
            }),
    );
    StreamsHandle {
        addr,
        seen,
        _stop: stop,
    }
}

struct StreamsImpl {
    seen: Arc<Seen>,
}

type Ticks = Pin<Box<dyn Stream<Item = Result<Tick, Status>> + Send + 'static>>;

fn tick(seq: i64) -> Tick {
    Tick {
        seq,
        label: format!("tick {seq}"),
    }
}

#[tonic::async_trait]
impl Streams for StreamsImpl {
    type PacedStream = Ticks;

    async fn paced(&self, request: Request<PacedRequest>) -> Result<Response<Ticks>, Status> {
        let count = request.into_inner().count;
        let seen = self.seen.clone();
        let ticks = futures::stream::unfold(1, move |seq| {
            let seen = seen.clone();
            async move {
                if seq > i64::from(count) {
                    return None;
                }
                seen.release.acquire().await.ok()?.forget();
                Some((Ok(tick(seq)), seq + 1))
            }
        });
        let mut response = Response::new(Box::pin(ticks) as Ticks);
        response
            .metadata_mut()
            .insert("paced-count", count.to_string().parse().expect("ASCII"));
        Ok(response)
    }

    type FailAfterStream = Ticks;

    async fn fail_after(
        &self,
        request: Request<FailAfterRequest>,
    ) -> Result<Response<Ticks>, Status> {
        let request = request.into_inner();
        let ticks = (1..=i64::from(request.count)).map(|seq| Ok(tick(seq)));
        let failure = Status::new(Code::from_i32(request.code), request.message);
        let stream =
            futures::stream::iter(ticks).chain(futures::stream::once(async { Err(failure) }));
        Ok(Response::new(Box::pin(stream)))
    }

    type HangStream = Ticks;

    async fn hang(&self, _request: Request<HangRequest>) -> Result<Response<Ticks>, Status> {
        let (sender, receiver) = mpsc::channel(1);
        let seen = self.seen.clone();
        tokio::spawn(async move {
            if sender.send(Ok(tick(1))).await.is_ok() {
                // The receiver goes when the client cancelled the call.
                sender.closed().await;
            }
            seen.cancelled.send_modify(|c| *c += 1);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }

    async fn sum(&self, request: Request<Streaming<Tick>>) -> Result<Response<Total>, Status> {
        let mut ticks = request.into_inner();
        let mut total = Total::default();
        loop {
            match ticks.message().await {
                Ok(Some(tick)) => {
                    total.sum += tick.seq;
                    total.count += 1;
                    total.labels.push(tick.label.clone());
                    self.seen.summed.send_modify(|t| t.push(tick));
                }
                Ok(None) => break,
                Err(status) => {
                    self.seen.sum_ends.send_modify(|(_, a)| *a += 1);
                    return Err(status);
                }
            }
        }
        self.seen.sum_ends.send_modify(|(c, _)| *c += 1);
        Ok(Response::new(total))
    }

    type EchoStream = Ticks;

    async fn echo(&self, request: Request<Streaming<Tick>>) -> Result<Response<Ticks>, Status> {
        Ok(Response::new(Box::pin(request.into_inner())))
    }
}
