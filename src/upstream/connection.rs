//! [`Upstream`]: one gRPC service, reached over the network — one or more
//! endpoints, balanced and failed over (see `remote/`), over reused HTTP/2
//! connections (per worker runtime) — or called in process.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Uri};
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::body::Body;
use tonic::codec::Codec;
use tonic::metadata::MetadataMap;
use tonic::Status;

use super::http2::{Link, Outgoing, ReplyBody, SendError};
use super::progress::{within, Progress, Watched};
use super::remote::{Pool, Remote};
use super::{DynamicCodec, RemoteSpec, ReplyMessage, RequestMessage, UnaryCodec, UpstreamError};

/// A successful unary reply: its message decoded ([`DynamicMessage`]) or
/// as the call's codec reads it ([`ReplyMessage`] for [`UnaryCodec`]).
#[derive(Debug)]
pub struct Reply<M = DynamicMessage> {
    /// The reply message.
    pub message: M,
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
    /// gRPC servers over the network: one or more endpoints.
    Remote(RemoteSpec),
    /// A tonic service in this process.
    Local(LocalService),
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Remote(spec) => write!(f, "Remote({spec})"),
            Endpoint::Local(_) => f.write_str("Local"),
        }
    }
}

/// One upstream. Cheap to share within a worker; each worker runtime makes
/// its own, so connections never cross runtimes.
#[derive(Debug)]
pub struct Upstream {
    pub(super) transport: Transport,
}

#[derive(Debug)]
pub(super) enum Transport {
    /// Endpoints over the network, each with one HTTP/2 connection made on
    /// first use and remade when it breaks.
    Remote(Arc<Remote>),
    /// The service itself.
    Local {
        origin: Uri,
        service: LocalServiceDebug,
    },
}

/// A [`LocalService`] that prints as `LocalService`.
pub(super) struct LocalServiceDebug(pub(super) LocalService);

impl std::fmt::Debug for LocalServiceDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalService")
    }
}

impl Upstream {
    /// An upstream for `endpoint`.
    pub fn from_endpoint(endpoint: &Endpoint) -> Result<Upstream, UpstreamError> {
        match endpoint {
            Endpoint::Remote(spec) => Upstream::remote(spec),
            Endpoint::Local(service) => Ok(Upstream {
                transport: Transport::Local {
                    origin: Uri::from_static("http://in-process/"),
                    service: LocalServiceDebug(service.clone()),
                },
            }),
        }
    }

    /// An upstream at `uri` (`http://host:port`): [`RemoteSpec::single`].
    pub fn new(uri: &Uri) -> Result<Upstream, UpstreamError> {
        Upstream::remote(&RemoteSpec::single(uri.clone()))
    }

    /// An upstream served by the endpoints of `spec`. Checks the spec and
    /// loads its TLS files now (errors name the file); resolves and
    /// connects lazily, on the first call.
    pub fn remote(spec: &RemoteSpec) -> Result<Upstream, UpstreamError> {
        Ok(Upstream {
            transport: Transport::Remote(Arc::new(Remote::new(spec)?)),
        })
    }

    /// One unary call of `path` with `request`, within `timeout`. A remote
    /// call goes to the next endpoint that is up (round robin); one that
    /// cannot be connected to is passed over for the next, and a call that
    /// never left (its connection had just broken) is sent again elsewhere.
    /// A call whose connection broke after it was sent fails
    /// [`UpstreamError::Interrupted`]: the service may have acted on it.
    pub async fn unary(
        &self,
        path: PathAndQuery,
        request: DynamicMessage,
        metadata: MetadataMap,
        reply: MessageDescriptor,
        timeout: Duration,
    ) -> Result<Reply, UpstreamError> {
        let codec = DynamicCodec::new(reply);
        self.unary_with(path, request, metadata, codec, timeout)
            .await
    }

    /// [`Upstream::unary`], the reply read by `codec`.
    pub async fn unary_with<C>(
        &self,
        path: PathAndQuery,
        request: C::Encode,
        metadata: MetadataMap,
        reply: C,
        timeout: Duration,
    ) -> Result<Reply<C::Decode>, UpstreamError>
    where
        C: Codec + Send + 'static,
        C::Encode: Send + Sync + 'static,
        C::Decode: Sync,
    {
        let mut request =
            tonic::Request::from_parts(metadata, tonic::Extensions::default(), request);
        request.set_timeout(timeout);
        let progress = Arc::new(Progress::default());
        let call = async {
            match &self.transport {
                Transport::Remote(remote) => {
                    let pool = remote.pool().await?;
                    let (mut connection, origin) = Connection::open(remote, &pool).await?;
                    connection.admits(request.metadata(), None, &path, &origin)?;
                    connection.progress = Arc::clone(&progress);
                    let grpc = tonic::client::Grpc::with_origin(connection, origin);
                    unary_over(grpc, path, request, reply).await
                }
                Transport::Local { origin, service } => {
                    progress.handed_over();
                    let grpc = tonic::client::Grpc::with_origin(service.0.clone(), origin.clone());
                    unary_over(grpc, path, request, reply).await
                }
            }
        };
        within(timeout, call, &*progress).await
    }
}

impl Upstream {
    /// One unary call as [`call_with`](super::call_with) makes it, the
    /// reply read by `codec`: over the network without tonic's generic
    /// client ([`unary`](super::unary)), in process through it
    /// ([`Upstream::unary_with`]). Otherwise as [`Upstream::unary`].
    ///
    /// `metadata` is borrowed: over the network it is written straight into
    /// the call's headers, so that a call that may be tried again needs no
    /// copy of it per try; tonic's client takes a copy.
    ///
    /// A combinator, not an `async fn`: every request's future is moved
    /// whole into a box, and each layer's into the one above it as it is
    /// built, so a layer of its own would be one more copy of the call.
    pub(super) fn unary_call<'a>(
        &'a self,
        path: PathAndQuery,
        request: RequestMessage,
        metadata: &'a MetadataMap,
        codec: &'a UnaryCodec,
        timeout: Duration,
    ) -> impl Future<Output = Result<Reply<ReplyMessage>, UpstreamError>> + Send + 'a {
        use futures_util::future::Either;
        let Transport::Remote(remote) = &self.transport else {
            // Boxed: tonic's generic client is larger than the whole network
            // call, whose future would otherwise reserve its size.
            let in_process =
                self.unary_with(path, request, metadata.clone(), codec.clone(), timeout);
            return Either::Left(Box::pin(in_process));
        };
        let progress = Arc::new(Progress::default());
        let call = super::unary::call(remote, path, request, metadata, codec, timeout, progress);
        Either::Right(call)
    }
}

/// An owned gRPC transport to an upstream, for a call the gateway makes on
/// its own behalf (server reflection): tonic's `Grpc` and generated clients
/// take it, with the origin [`Upstream::channel`] gives.
pub type Channel =
    tower::util::BoxCloneSyncService<http::Request<Body>, http::Response<Body>, Status>;

impl Upstream {
    /// A transport over one live connection of this upstream (a remote one:
    /// the next endpoint that is up, connected within its connect timeout),
    /// and the origin its requests carry. Unlike [`Upstream::unary`], a
    /// request the connection gives back unsent is not sent again.
    pub async fn channel(&self) -> Result<(Channel, Uri), UpstreamError> {
        match &self.transport {
            Transport::Remote(remote) => {
                let pool = remote.pool().await?;
                let (slot, sender) = remote.connection(&pool).await?;
                let origin = remote.origin(&pool, slot).clone();
                let service = tower::service_fn(move |request: http::Request<Body>| {
                    let link = sender.clone();
                    async move {
                        let response = link.send(request.map(Outgoing::Stream)).await.map_err(
                            |e| match e {
                                SendError::Unsent { error, .. } | SendError::Failed(error) => {
                                    connection_failed(&error)
                                }
                            },
                        )?;
                        Ok::<_, Status>(response.map(Body::new))
                    }
                });
                Ok((Channel::new(service), origin))
            }
            Transport::Local { origin, service } => {
                let service = tower::ServiceExt::map_err(service.0.clone(), |never| match never {});
                Ok((Channel::new(service), origin.clone()))
            }
        }
    }
}

/// One unary call over any gRPC transport. Unary on the wire, read as a
/// stream so that header metadata and trailers stay apart (tonic's unary
/// helper merges them).
async fn unary_over<T, C>(
    mut grpc: tonic::client::Grpc<T>,
    path: PathAndQuery,
    request: tonic::Request<C::Encode>,
    reply: C,
) -> Result<Reply<C::Decode>, UpstreamError>
where
    C: Codec + Send + 'static,
    C::Encode: Send + Sync + 'static,
    C::Decode: Sync,
    T: tonic::client::GrpcService<Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError>,
{
    grpc.ready()
        .await
        .map_err(|e| UpstreamError::Unavailable(e.into().to_string()))?;
    let response = grpc
        .server_streaming(request, path, reply)
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

/// A tower service over one endpoint's HTTP/2 connection: what tonic's
/// `Grpc` calls. A request the connection gives back unsent (it had
/// closed, or was going away) goes to another endpoint's connection, once. Connection failures
/// become `UNAVAILABLE` statuses (tonic would read a broken connection as
/// `CANCELLED` or `UNKNOWN`), since the service may never have seen the
/// call.
pub(super) struct Connection<'a> {
    pub(super) remote: &'a Arc<Remote>,
    pub(super) pool: &'a Pool,
    pub(super) slot: usize,
    pub(super) sender: Link,
    /// How far the call got on it.
    pub(super) progress: Arc<Progress>,
}

impl<'a> Connection<'a> {
    /// The next live connection of `pool` (made when needed), and the
    /// origin its requests carry.
    pub(super) async fn open(
        remote: &'a Arc<Remote>,
        pool: &'a Pool,
    ) -> Result<(Connection<'a>, Uri), UpstreamError> {
        let (slot, sender) = remote.connection(pool).await?;
        let origin = remote.origin(pool, slot).clone();
        Ok((
            Connection {
                remote,
                pool,
                slot,
                sender,
                progress: Arc::default(),
            },
            origin,
        ))
    }
}

impl Connection<'_> {
    /// `Err` when a call of `path` with `metadata` would send a header list
    /// the server does not accept: the call is then not sent, since the
    /// server would refuse it (tonic, hyper: a bare 431, read as UNKNOWN)
    /// or, far over its limit, close the connection every other call shares.
    ///
    /// `deadline` is the call's `grpc-timeout` when it is not in `metadata`.
    pub(super) fn admits(
        &self,
        metadata: &MetadataMap,
        deadline: Option<&HeaderValue>,
        path: &PathAndQuery,
        origin: &Uri,
    ) -> Result<(), UpstreamError> {
        let Some(limit) = Remote::max_header_list_size(self.pool, self.slot) else {
            return Ok(());
        };
        let size = super::metadata::header_list_size(metadata, path.as_str(), origin)
            + deadline.map_or(0, |value| {
                super::metadata::field_size(super::GRPC_TIMEOUT.as_str(), value.len())
            });
        // h2 servers refuse a list that reaches the limit, not only one past it.
        if size >= limit as usize {
            return Err(UpstreamError::MetadataTooLarge { size, limit });
        }
        Ok(())
    }
}

type ResponseFuture<'a> =
    Pin<Box<dyn Future<Output = Result<http::Response<Watched>, Status>> + Send + 'a>>;

impl<'a> tower::Service<http::Request<Body>> for Connection<'a> {
    type Response = http::Response<Watched>;
    type Error = Status;
    type Future = ResponseFuture<'a>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        // A closed connection gives the request back: see `call`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> ResponseFuture<'a> {
        let progress = Arc::clone(&self.progress);
        let sent = self.send(request.map(Outgoing::Stream));
        Box::pin(async move {
            let response = sent.await?;
            Ok(response.map(|body| Watched { body, progress }))
        })
    }
}

impl<'a> Connection<'a> {
    /// Sends `request` on this connection, recording in its progress how
    /// far it got; a request the connection gives back unsent goes to
    /// another endpoint's connection, once. Answers the reply's head, its
    /// body still to read.
    pub(super) fn send(
        &mut self,
        request: http::Request<Outgoing>,
    ) -> impl Future<Output = Result<http::Response<ReplyBody>, Status>> + Send + 'a {
        let progress = Arc::clone(&self.progress);
        progress.handed_over();
        let link = self.sender.clone();
        let (remote, pool, slot) = (self.remote, self.pool, self.slot);
        async move {
            match link.send(request).await {
                Ok(response) => Ok(response),
                Err(SendError::Unsent {
                    request: Some(request),
                    ..
                }) => {
                    progress.given_back();
                    // Boxed: rare, and it may connect anew, so its future
                    // would otherwise be most of every call's.
                    Box::pin(resend(remote, pool, slot, *request, &progress)).await
                }
                Err(error) => Err(failed_sending(error, &progress)),
            }
        }
    }
}

/// Sends `request`, which the connection of `slot` gave back unsent, over
/// another live connection (which may be that endpoint's, made anew).
async fn resend(
    remote: &Arc<Remote>,
    pool: &Pool,
    slot: usize,
    mut request: http::Request<Outgoing>,
    progress: &Progress,
) -> Result<http::Response<ReplyBody>, Status> {
    tracing::debug!("upstream connection closed before the call left; sending it again");
    let (other, link) = remote
        .connection(pool)
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    if !Remote::same_target(pool, slot, other) {
        let origin = remote.origin(pool, other);
        let mut parts = std::mem::take(request.uri_mut()).into_parts();
        parts.scheme = origin.scheme().cloned();
        parts.authority = origin.authority().cloned();
        *request.uri_mut() = Uri::from_parts(parts)
            .map_err(|e| Status::internal(format!("cannot address the upstream: {e}")))?;
    }
    progress.handed_over();
    link.send(request)
        .await
        .map_err(|error| failed_sending(error, progress))
}

/// A send that failed for good, recorded in `progress`: unsent (given
/// back), or failed after its stream opened.
fn failed_sending(error: SendError, progress: &Progress) -> Status {
    match error {
        SendError::Unsent { error, .. } => {
            progress.given_back();
            connection_failed(&error)
        }
        SendError::Failed(error) => {
            progress.failed(&error);
            connection_failed(&error)
        }
    }
}

/// `UNAVAILABLE`, saying why with every cause (a TLS alert is a cause).
pub(super) fn connection_failed(error: &h2::Error) -> Status {
    let mut message = format!("upstream connection failed: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Status::unavailable(message)
}
