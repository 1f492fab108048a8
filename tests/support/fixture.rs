//! The fixture gRPC service (`proto/testing/v1/fixture.proto`) the gateway
//! tests put behind the gateway, served on 127.0.0.1:0 in a tokio task.
//!
//! It answers as each request asks, counts the calls per RPC and records the
//! `Sleep` calls cancelled before they finished, so a test can check what the
//! gateway did (or did not) send upstream.
//!
//! `Metadata` is served as a one-message server stream, which on the wire is
//! exactly a unary call: tonic's unary server API cannot set trailers on a
//! successful reply, a stream ending in an OK status with metadata can.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prost::Message;
use restgate::pb::testing::v1::fixture_server::{Fixture, FixtureServer};
use restgate::pb::testing::v1::{
    CreateWidgetRequest, Detail, FailRequest, FlakyRequest, ListWidgetsRequest,
    ReplaceWidgetRequest, SearchThingsReply, SearchThingsRequest, SleepRequest, Thing,
    UpdateWidgetReply, UpdateWidgetRequest, Widget,
};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tonic::codegen::tokio_stream::{self, Iter};
use tonic::codegen::{http, BoxFuture, Bytes, Context, Poll, Service};
use tonic::metadata::{KeyAndValueRef, MetadataMap, MetadataValue};
use tonic::server::{NamedService, ServerStreamingService};
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tonic::{Code, Request, Response, Status};

/// How long a test waits for anything the fixture reports.
const WAIT: Duration = Duration::from_secs(20);

/// `google.rpc.Status`, the payload of `grpc-status-details-bin`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub(crate) code: i32,
    #[prost(string, tag = "2")]
    pub(crate) message: String,
    #[prost(message, repeated, tag = "3")]
    pub(crate) details: Vec<prost_types::Any>,
}

/// What the fixture saw, shared by the service and the test.
#[derive(Debug)]
struct Seen {
    calls: Mutex<HashMap<&'static str, usize>>,
    /// `Flaky` calls per key.
    flaky: Mutex<HashMap<String, i32>>,
    /// The `idempotency-key` metadata of the last CreateWidget or Flaky call.
    idempotency_key: Mutex<Option<String>>,
    /// The request of the last Echo call, as the service decoded it.
    last_echo: Mutex<Option<Thing>>,
    widgets: AtomicUsize,
    cancelled: watch::Sender<usize>,
}

impl Seen {
    fn new() -> Self {
        Self {
            calls: Mutex::new(HashMap::new()),
            flaky: Mutex::new(HashMap::new()),
            idempotency_key: Mutex::new(None),
            last_echo: Mutex::new(None),
            widgets: AtomicUsize::new(0),
            cancelled: watch::Sender::new(0),
        }
    }

    fn saw_key(&self, metadata: &tonic::metadata::MetadataMap) {
        let key = metadata
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        *self
            .idempotency_key
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = key;
    }

    fn called(&self, rpc: &'static str) {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        *calls.entry(rpc).or_default() += 1;
    }
}

/// A running fixture service. Dropping it stops the server.
pub(crate) struct FixtureHandle {
    /// Where it listens (127.0.0.1, a free port).
    pub(crate) addr: SocketAddr,
    seen: Arc<Seen>,
    _stop: oneshot::Sender<()>,
}

impl FixtureHandle {
    /// How many times `rpc` (the proto method name, e.g. `"Echo"`) was called.
    pub(crate) fn calls(&self, rpc: &str) -> usize {
        let calls = self
            .seen
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        calls.get(rpc).copied().unwrap_or(0)
    }

    /// The `idempotency-key` metadata of the last CreateWidget or Flaky call.
    pub(crate) fn last_idempotency_key(&self) -> Option<String> {
        self.seen
            .idempotency_key
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The request of the last Echo call, as the service decoded it.
    pub(crate) fn last_echo(&self) -> Option<Thing> {
        self.seen
            .last_echo
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many calls, of every RPC, reached the fixture.
    pub(crate) fn total_calls(&self) -> usize {
        let calls = self
            .seen
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        calls.values().sum()
    }

    /// How many `Sleep` calls were dropped before they finished.
    pub(crate) fn cancelled(&self) -> usize {
        *self.seen.cancelled.borrow()
    }

    /// Waits (at most 20 s) until at least `n` `Sleep` calls were cancelled;
    /// returns whether they were.
    pub(crate) async fn wait_cancelled(&self, n: usize) -> bool {
        let mut rx = self.seen.cancelled.subscribe();
        let outcome = tokio::time::timeout(WAIT, rx.wait_for(|c| *c >= n)).await;
        matches!(outcome, Ok(Ok(_)))
    }
}

/// Serves the fixture on 127.0.0.1:0 until the handle is dropped.
pub(crate) async fn start_fixture() -> FixtureHandle {
    start_fixture_with(Routes::default()).await
}

/// Serves the fixture and the services of `extra` (e.g. server reflection)
/// on 127.0.0.1:0 until the handle is dropped.
pub(crate) async fn start_fixture_with(extra: Routes) -> FixtureHandle {
    serve_fixture(extra, Server::builder()).await
}

/// Serves the fixture with an HTTP/2 `SETTINGS_MAX_HEADER_LIST_SIZE` of
/// `max` bytes instead of tonic's default (hyper's 16 KiB).
pub(crate) async fn start_fixture_accepting(max: u32) -> FixtureHandle {
    serve_fixture(
        Routes::default(),
        Server::builder().http2_max_header_list_size(max),
    )
    .await
}

async fn serve_fixture(extra: Routes, mut server: Server) -> FixtureHandle {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind fixture");
    let addr = listener.local_addr().expect("fixture address");
    let seen = Arc::new(Seen::new());
    let service = FixtureService {
        inner: FixtureServer::new(FixtureImpl { seen: seen.clone() }),
        seen: seen.clone(),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(
        server
            .add_routes(extra.add_service(service))
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                let _ = stopped.await;
            }),
    );
    FixtureHandle {
        addr,
        seen,
        _stop: stop,
    }
}

/// Serves the bundled example service on 127.0.0.1:0 until the test's
/// runtime ends.
pub(crate) async fn start_example() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind example");
    let addr = listener.local_addr().expect("example address");
    tokio::spawn(restgate::example::serve(listener, std::future::pending()));
    addr
}

/// The generated server, except for `Metadata`, answered here with trailers.
#[derive(Clone)]
struct FixtureService {
    inner: FixtureServer<FixtureImpl>,
    seen: Arc<Seen>,
}

impl NamedService for FixtureService {
    const NAME: &'static str = "testing.v1.Fixture";
}

impl Service<http::Request<tonic::body::Body>> for FixtureService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        if req.uri().path() != "/testing.v1.Fixture/Metadata" {
            return self.inner.call(req);
        }
        let seen = self.seen.clone();
        Box::pin(async move {
            let codec = tonic_prost::ProstCodec::<Thing, ()>::default();
            let mut grpc = tonic::server::Grpc::new(codec);
            Ok(grpc.server_streaming(MetadataStream(seen), req).await)
        })
    }
}

/// `Metadata` as a stream of one message followed by an OK status that
/// carries the trailer.
struct MetadataStream(Arc<Seen>);

type OneThing = Iter<std::vec::IntoIter<Result<Thing, Status>>>;

impl ServerStreamingService<()> for MetadataStream {
    type Response = Thing;
    type ResponseStream = OneThing;
    type Future = BoxFuture<Response<OneThing>, Status>;

    fn call(&mut self, request: Request<()>) -> Self::Future {
        self.0.called("Metadata");
        let thing = metadata_thing(request.metadata());
        Box::pin(async move {
            let mut trailer = MetadataMap::new();
            trailer.insert("x-trailer-echo", MetadataValue::from_static("trailer"));
            let end = Status::with_metadata(Code::Ok, "", trailer);
            let mut response = Response::new(tokio_stream::iter(vec![Ok(thing), Err(end)]));
            response
                .metadata_mut()
                .insert("x-header-echo", MetadataValue::from_static("header"));
            Ok(response)
        })
    }
}

/// A `Thing` whose labels are every ASCII metadata entry received.
fn metadata_thing(metadata: &MetadataMap) -> Thing {
    let mut labels = HashMap::new();
    for entry in metadata.iter() {
        if let KeyAndValueRef::Ascii(key, value) = entry {
            if let Ok(value) = value.to_str() {
                labels.insert(key.as_str().to_owned(), value.to_owned());
            }
        }
    }
    Thing {
        labels,
        ..Thing::default()
    }
}

/// Counts cancelled `Sleep` calls: dropped before `finish`.
struct SleepGuard {
    seen: Arc<Seen>,
    finished: bool,
}

impl Drop for SleepGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.seen.cancelled.send_modify(|n| *n += 1);
        }
    }
}

struct FixtureImpl {
    seen: Arc<Seen>,
}

#[tonic::async_trait]
impl Fixture for FixtureImpl {
    async fn echo(&self, request: Request<Thing>) -> Result<Response<Thing>, Status> {
        self.seen.called("Echo");
        let thing = request.into_inner();
        *self
            .seen
            .last_echo
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(thing.clone());
        Ok(Response::new(thing))
    }

    async fn fail(&self, request: Request<FailRequest>) -> Result<Response<Thing>, Status> {
        self.seen.called("Fail");
        let FailRequest {
            code,
            message,
            detail,
        } = request.into_inner();
        if detail.is_empty() {
            return Err(Status::new(Code::from(code), message));
        }
        let detail = Detail {
            reason: detail,
            big: 5_000_000_000,
        };
        let status = RpcStatus {
            code,
            message: message.clone(),
            details: vec![prost_types::Any {
                type_url: "type.googleapis.com/testing.v1.Detail".to_owned(),
                value: detail.encode_to_vec(),
            }],
        };
        Err(Status::with_details(
            Code::from(code),
            message,
            Bytes::from(status.encode_to_vec()),
        ))
    }

    async fn sleep(&self, request: Request<SleepRequest>) -> Result<Response<Thing>, Status> {
        self.seen.called("Sleep");
        let millis = request.into_inner().millis;
        let mut guard = SleepGuard {
            seen: self.seen.clone(),
            finished: false,
        };
        tokio::time::sleep(Duration::from_millis(millis.max(0).unsigned_abs())).await;
        guard.finished = true;
        Ok(Response::new(Thing {
            id: "slept".to_owned(),
            big: millis,
            ..Thing::default()
        }))
    }

    async fn metadata(&self, request: Request<()>) -> Result<Response<Thing>, Status> {
        // Not reached: `FixtureService` answers `Metadata` itself.
        self.seen.called("Metadata");
        let mut response = Response::new(metadata_thing(request.metadata()));
        response
            .metadata_mut()
            .insert("x-header-echo", MetadataValue::from_static("header"));
        Ok(response)
    }

    async fn create_widget(
        &self,
        request: Request<CreateWidgetRequest>,
    ) -> Result<Response<Widget>, Status> {
        self.seen.called("CreateWidget");
        self.seen.saw_key(request.metadata());
        let request = request.into_inner();
        let n = self.seen.widgets.fetch_add(1, Ordering::SeqCst) + 1;
        let mut widget = request.widget.unwrap_or_default();
        widget.widget_id = format!("w{n}");
        widget.shelf_id = request.shelf_id;
        Ok(Response::new(widget))
    }

    async fn replace_widget(
        &self,
        request: Request<ReplaceWidgetRequest>,
    ) -> Result<Response<Widget>, Status> {
        self.seen.called("ReplaceWidget");
        let request = request.into_inner();
        let mut widget = request.widget.unwrap_or_default();
        widget.widget_id = request.widget_id;
        widget.shelf_id = request.shelf_id;
        Ok(Response::new(widget))
    }

    async fn update_widget(
        &self,
        request: Request<UpdateWidgetRequest>,
    ) -> Result<Response<UpdateWidgetReply>, Status> {
        self.seen.called("UpdateWidget");
        let request = request.into_inner();
        Ok(Response::new(UpdateWidgetReply {
            widget: request.widget,
            mask: request.update_mask,
        }))
    }

    async fn flaky(&self, request: Request<FlakyRequest>) -> Result<Response<Widget>, Status> {
        self.seen.called("Flaky");
        self.seen.saw_key(request.metadata());
        let request = request.into_inner();
        let calls = {
            let mut flaky = self
                .seen
                .flaky
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let calls = flaky.entry(request.key.clone()).or_default();
            *calls += 1;
            *calls
        };
        if calls <= request.failures {
            return Err(Status::unavailable(format!(
                "flaky call {calls} of {}",
                request.key
            )));
        }
        Ok(Response::new(Widget {
            widget_id: request.key,
            size: calls,
            ..Widget::default()
        }))
    }

    async fn special(&self, _request: Request<()>) -> Result<Response<Thing>, Status> {
        self.seen.called("Special");
        Ok(Response::new(Thing {
            id: "special".to_owned(),
            ..Thing::default()
        }))
    }

    async fn list_widgets(
        &self,
        request: Request<ListWidgetsRequest>,
    ) -> Result<Response<Thing>, Status> {
        self.seen.called("ListWidgets");
        let request = request.into_inner();
        Ok(Response::new(Thing {
            id: request.shelf_id,
            small: request.page_size,
            ..Thing::default()
        }))
    }

    async fn search_things(
        &self,
        request: Request<SearchThingsRequest>,
    ) -> Result<Response<SearchThingsReply>, Status> {
        self.seen.called("SearchThings");
        let request = request.into_inner();
        let found = Thing {
            id: request.query,
            ..Thing::default()
        };
        let count = usize::try_from(request.page_size.clamp(0, 10)).unwrap_or(0);
        Ok(Response::new(SearchThingsReply {
            things: vec![found; count],
        }))
    }
}
