//! A real gRPC server for protos that have no generated Rust stubs (such as
//! grpc-gateway's examples): every method of a [`DescriptorPool`] served on
//! 127.0.0.1:0, each request decoded as a [`DynamicMessage`] and recorded,
//! and answered with a message of the method's output type holding the
//! request's fields of the same name, number and type (so an echo is an
//! echo). A field with no counterpart that holds a message is filled the
//! same way from the request, so `ResponseBodyOut.response.data` repeats
//! `ResponseBodyIn.data`.
//!
//! Unary and server-streaming methods answer (a stream with one message);
//! client- and bidi-streaming methods answer `UNIMPLEMENTED`.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use futures::stream::{self, Iter};
use prost_reflect::{
    DescriptorPool, DynamicMessage, Kind, MessageDescriptor, MethodDescriptor, ReflectMessage,
};
use restgate::upstream::DynamicCodec;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::codegen::{http, BoxFuture, Context, Poll, Service};
use tonic::server::{Grpc, ServerStreamingService, UnaryService};
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tonic::{Request, Response, Status};

/// How deep a reply is filled through fields with no counterpart.
const MAX_FILL_DEPTH: usize = 4;

/// One request the backend received.
#[derive(Debug, Clone)]
pub(crate) struct EchoCall {
    /// `package.Service/Method`.
    pub(crate) rpc: String,
    /// The request as decoded.
    pub(crate) request: DynamicMessage,
}

/// A running echo backend. Dropping it stops the server.
pub(crate) struct EchoBackend {
    /// Where it listens (127.0.0.1, a free port).
    pub(crate) addr: SocketAddr,
    calls: Arc<Mutex<Vec<EchoCall>>>,
    _stop: oneshot::Sender<()>,
}

impl EchoBackend {
    /// Serves every method of `pool` on 127.0.0.1:0 until dropped.
    pub(crate) async fn start(pool: DescriptorPool) -> EchoBackend {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the echo backend");
        let addr = listener.local_addr().expect("echo backend address");
        let calls = Arc::new(Mutex::new(Vec::new()));
        let dispatch = Dispatch {
            pool,
            calls: calls.clone(),
        };
        // Every path reaches the dispatcher, which reads the method from it.
        let routes = Routes::from(axum::Router::new().fallback_service(dispatch));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(
            Server::builder()
                .add_routes(routes)
                .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                    let _ = stopped.await;
                }),
        );
        EchoBackend {
            addr,
            calls,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:PORT`, for `--upstream`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every call received so far, in order.
    pub(crate) fn calls(&self) -> Vec<EchoCall> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The one call received; panics, listing them, when there were others.
    #[track_caller]
    pub(crate) fn only_call(&self) -> EchoCall {
        let calls = self.calls();
        match calls.as_slice() {
            [one] => one.clone(),
            _ => panic!("expected exactly one upstream call, got {calls:#?}"),
        }
    }
}

/// Finds the method a request's path names and serves it.
#[derive(Clone)]
struct Dispatch {
    pool: DescriptorPool,
    calls: Arc<Mutex<Vec<EchoCall>>>,
}

impl Dispatch {
    /// The method of a gRPC path, `/package.Service/Method`.
    fn method(&self, path: &str) -> Option<MethodDescriptor> {
        let (service, method) = path.strip_prefix('/')?.split_once('/')?;
        self.pool
            .get_service_by_name(service)?
            .methods()
            .find(|m| m.name() == method)
    }
}

impl Service<http::Request<axum::body::Body>> for Dispatch {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<axum::body::Body>) -> Self::Future {
        let Some(method) = self.method(req.uri().path()) else {
            let status = Status::unimplemented(format!("no method {}", req.uri().path()));
            return Box::pin(async move { Ok(status.into_http()) });
        };
        let echo = Echo {
            method: method.clone(),
            calls: self.calls.clone(),
        };
        Box::pin(async move {
            let mut grpc = Grpc::new(DynamicCodec::new(method.input()));
            let reply = match (method.is_client_streaming(), method.is_server_streaming()) {
                (false, false) => grpc.unary(echo, req).await,
                (false, true) => grpc.server_streaming(echo, req).await,
                _ => Status::unimplemented("the echo backend serves no client streams").into_http(),
            };
            Ok(reply)
        })
    }
}

/// Records a request and answers it.
struct Echo {
    method: MethodDescriptor,
    calls: Arc<Mutex<Vec<EchoCall>>>,
}

impl Echo {
    fn answer(&self, request: DynamicMessage) -> DynamicMessage {
        let reply = fill(&request, &self.method.output(), 0);
        let rpc = format!(
            "{}/{}",
            self.method.parent_service().full_name(),
            self.method.name()
        );
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(EchoCall { rpc, request });
        reply
    }
}

impl UnaryService<DynamicMessage> for Echo {
    type Response = DynamicMessage;
    type Future = Ready<Result<Response<DynamicMessage>, Status>>;

    fn call(&mut self, request: Request<DynamicMessage>) -> Self::Future {
        ready(Ok(Response::new(self.answer(request.into_inner()))))
    }
}

impl ServerStreamingService<DynamicMessage> for Echo {
    type Response = DynamicMessage;
    type ResponseStream = Iter<std::vec::IntoIter<Result<DynamicMessage, Status>>>;
    type Future = Ready<Result<Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, request: Request<DynamicMessage>) -> Self::Future {
        let reply = self.answer(request.into_inner());
        ready(Ok(Response::new(stream::iter(vec![Ok(reply)]))))
    }
}

/// A message of type `output` holding `request`'s fields of the same name,
/// number and type; a message field without one is filled likewise.
fn fill(request: &DynamicMessage, output: &MessageDescriptor, depth: usize) -> DynamicMessage {
    let mut reply = DynamicMessage::new(output.clone());
    for field in output.fields() {
        let twin = request.descriptor().get_field(field.number()).filter(|f| {
            f.name() == field.name()
                && f.kind() == field.kind()
                && f.cardinality() == field.cardinality()
        });
        match (twin, field.kind()) {
            (Some(twin), _) => {
                if request.has_field(&twin) {
                    let value = request.get_field(&twin).into_owned();
                    reply
                        .try_set_field(&field, value)
                        .expect("a field of the same type takes the value");
                }
            }
            (None, Kind::Message(inner))
                if !field.is_list() && !field.is_map() && depth < MAX_FILL_DEPTH =>
            {
                let nested = fill(request, &inner, depth + 1);
                if nested.fields().next().is_some() {
                    reply.set_field(&field, prost_reflect::Value::Message(nested));
                }
            }
            (None, _) => {}
        }
    }
    reply
}
