//! [`Upstream`]: one gRPC service endpoint, reached over one reused HTTP/2
//! connection (per worker runtime), reconnected when it breaks.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::uri::{PathAndQuery, Scheme};
use http::{HeaderMap, Uri};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tokio::net::TcpStream;
use tonic::body::Body;
use tonic::metadata::MetadataMap;
use tonic::Status;

use super::{DynamicCodec, UpstreamError};

/// How long to wait for a TCP connection before answering 503.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A successful unary reply.
#[derive(Debug)]
pub struct Reply {
    /// The reply message.
    pub message: DynamicMessage,
    /// The reply's header metadata.
    pub headers: HeaderMap,
    /// The reply's trailers (without `grpc-status`/`grpc-message`).
    pub trailers: HeaderMap,
}

/// A tonic service called in process, with no network hop: what the
/// generated `FooServer::new(implementation)` is, boxed.
pub type LocalService = tower::util::BoxCloneSyncService<
    http::Request<Body>,
    http::Response<Body>,
    std::convert::Infallible,
>;

/// Where an upstream is: a gRPC server over the network, or a tonic service
/// in this process.
#[derive(Clone)]
pub enum Endpoint {
    /// `http://host:port`.
    Remote(Uri),
    /// A tonic service in this process.
    Local(LocalService),
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Remote(uri) => write!(f, "Remote({uri})"),
            Endpoint::Local(_) => f.write_str("Local"),
        }
    }
}

/// One upstream endpoint. Cheap to share within a worker; each worker
/// runtime makes its own, so connections never cross runtimes.
#[derive(Debug)]
pub struct Upstream {
    origin: Uri,
    transport: Transport,
}

#[derive(Debug)]
enum Transport {
    /// One HTTP/2 connection, made on first use and remade when it breaks.
    Remote {
        address: String,
        slot: tokio::sync::Mutex<Option<SendRequest<Body>>>,
    },
    /// The service itself.
    Local(LocalServiceDebug),
}

/// A [`LocalService`] that prints as `LocalService`.
struct LocalServiceDebug(LocalService);

impl std::fmt::Debug for LocalServiceDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalService")
    }
}

impl Upstream {
    /// An upstream for `endpoint`.
    pub fn from_endpoint(endpoint: &Endpoint) -> Result<Upstream, UpstreamError> {
        match endpoint {
            Endpoint::Remote(uri) => Upstream::new(uri),
            Endpoint::Local(service) => Ok(Upstream {
                origin: Uri::from_static("http://in-process/"),
                transport: Transport::Local(LocalServiceDebug(service.clone())),
            }),
        }
    }

    /// An upstream at `uri` (`http://host:port`). Connects lazily.
    pub fn new(uri: &Uri) -> Result<Upstream, UpstreamError> {
        let bad = |reason: &str| UpstreamError::BadUri {
            uri: uri.to_string(),
            reason: reason.to_owned(),
        };
        match uri.scheme() {
            Some(s) if *s == Scheme::HTTP => {}
            Some(s) if *s == Scheme::HTTPS => {
                return Err(bad(
                    "TLS to upstreams is not supported yet; use http:// (plaintext HTTP/2)",
                ))
            }
            _ => return Err(bad("expected http://HOST:PORT")),
        }
        let authority = uri.authority().ok_or_else(|| bad("missing host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let origin = Uri::builder()
            .scheme(Scheme::HTTP)
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        Ok(Upstream {
            origin,
            transport: Transport::Remote {
                address: format!("{host}:{port}"),
                slot: tokio::sync::Mutex::new(None),
            },
        })
    }

    /// The live connection, or a new one. Concurrent callers wait for one
    /// connection attempt instead of each making their own.
    async fn connection(
        address: &str,
        slot: &tokio::sync::Mutex<Option<SendRequest<Body>>>,
    ) -> Result<Connection, UpstreamError> {
        let mut slot = slot.lock().await;
        if let Some(sender) = slot.as_ref().filter(|s| !s.is_closed()) {
            return Ok(Connection(sender.clone()));
        }
        *slot = None;
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| UpstreamError::Unavailable(format!("connecting to {address} timed out")))?
            .map_err(|e| UpstreamError::Unavailable(format!("cannot connect to {address}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .adaptive_window(true)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| {
                UpstreamError::Unavailable(format!("HTTP/2 handshake with {address} failed: {e}"))
            })?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "upstream connection closed");
            }
        });
        *slot = Some(sender.clone());
        Ok(Connection(sender))
    }

    /// One unary call of `path` with `request`, within `timeout`.
    pub async fn unary(
        &self,
        path: PathAndQuery,
        request: DynamicMessage,
        metadata: MetadataMap,
        reply: MessageDescriptor,
        timeout: Duration,
    ) -> Result<Reply, UpstreamError> {
        let mut request =
            tonic::Request::from_parts(metadata, tonic::Extensions::default(), request);
        request.set_timeout(timeout);
        let call = async {
            match &self.transport {
                Transport::Remote { address, slot } => {
                    let connection = Upstream::connection(address, slot).await?;
                    let grpc = tonic::client::Grpc::with_origin(connection, self.origin.clone());
                    unary_over(grpc, path, request, reply).await
                }
                Transport::Local(service) => {
                    let grpc =
                        tonic::client::Grpc::with_origin(service.0.clone(), self.origin.clone());
                    unary_over(grpc, path, request, reply).await
                }
            }
        };
        match tokio::time::timeout(timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(UpstreamError::DeadlineExceeded(timeout)),
        }
    }
}

/// One unary call over any gRPC transport. Unary on the wire, read as a
/// stream so that header metadata and trailers stay apart (tonic's unary
/// helper merges them).
async fn unary_over<T>(
    mut grpc: tonic::client::Grpc<T>,
    path: PathAndQuery,
    request: tonic::Request<DynamicMessage>,
    reply: MessageDescriptor,
) -> Result<Reply, UpstreamError>
where
    T: tonic::client::GrpcService<Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError>,
{
    grpc.ready()
        .await
        .map_err(|e| UpstreamError::Unavailable(e.into().to_string()))?;
    let response = grpc
        .server_streaming(request, path, DynamicCodec::new(reply))
        .await
        .map_err(UpstreamError::Status)?;
    let (headers, mut stream, _) = response.into_parts();
    let message = stream
        .message()
        .await
        .map_err(UpstreamError::Status)?
        .ok_or_else(|| {
            UpstreamError::Status(Status::internal(
                "the service answered OK without a reply message",
            ))
        })?;
    let trailers = stream
        .trailers()
        .await
        .map_err(UpstreamError::Status)?
        .unwrap_or_default();
    Ok(Reply {
        message,
        headers: headers.into_headers(),
        trailers: trailers.into_headers(),
    })
}

/// A tower service over one HTTP/2 connection: what tonic's `Grpc` calls.
/// Connection failures become `UNAVAILABLE` statuses (tonic would read a
/// broken connection as `CANCELLED` or `UNKNOWN`), since the service may
/// never have seen the call.
#[derive(Debug, Clone)]
struct Connection(SendRequest<Body>);

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<hyper::body::Incoming>, Status>> + Send>>;

impl tower::Service<http::Request<Body>> for Connection {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = Status;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.0
            .poll_ready(cx)
            .map_err(|e| Status::unavailable(format!("upstream connection failed: {e}")))
    }

    fn call(&mut self, request: http::Request<Body>) -> ResponseFuture {
        let sent = self.0.send_request(request);
        Box::pin(async move {
            sent.await
                .map_err(|e| Status::unavailable(format!("upstream connection failed: {e}")))
        })
    }
}
