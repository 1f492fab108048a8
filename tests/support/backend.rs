//! Upstream backends for the upstream tests (`tests/upstream_*.rs`, which
//! include this file by path): the bundled example services served over
//! HTTP/2 on 127.0.0.1:0, in plaintext or TLS (optionally requiring a client
//! certificate), counting the calls each one answers, and killable the hard
//! way — listener and every connection closed at once, no GOAWAY, as when
//! the process dies.
//!
//! Also a test PKI made with rcgen at test time: a CA, a server certificate
//! for `localhost` and `127.0.0.1`, a client certificate, and an unrelated
//! CA; PEM files in a temporary directory.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo};
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, Value};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use restgate::example::ExampleState;
use restgate::upstream::{self, Call, RetryPolicy, Upstream, UpstreamError};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// The longest any wait here lasts.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// A running backend. Dropping it kills it.
pub(crate) struct Backend {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    /// Connections open now.
    open: Arc<AtomicUsize>,
    server: Option<JoinHandle<()>>,
}

/// Counts an open connection while it lives.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Backend {
    /// The example services over plaintext HTTP/2.
    pub(crate) async fn plain() -> Backend {
        Backend::start("127.0.0.1:0".parse().unwrap(), None).await
    }

    /// The same on `addr` (a loopback address a killed backend had).
    pub(crate) async fn plain_at(addr: SocketAddr) -> Backend {
        Backend::start(addr, None).await
    }

    /// The example services over TLS per `config`.
    pub(crate) async fn tls(config: Arc<ServerConfig>) -> Backend {
        Backend::start(
            "127.0.0.1:0".parse().unwrap(),
            Some(TlsAcceptor::from(config)),
        )
        .await
    }

    async fn start(addr: SocketAddr, tls: Option<TlsAcceptor>) -> Backend {
        let listener = TcpListener::bind(addr).await.expect("bind backend");
        let addr = listener.local_addr().expect("backend address");
        let calls = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let routes = ExampleState::new().routes();
        let (counted, opened) = (calls.clone(), open.clone());
        let server = tokio::spawn(async move {
            // Dropped with this task: every connection task is aborted.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                opened.fetch_add(1, Ordering::SeqCst);
                let guard = Open(opened.clone());
                let (routes, counted, tls) = (routes.clone(), counted.clone(), tls.clone());
                connections.spawn(async move {
                    let _guard = guard;
                    let service = hyper::service::service_fn(move |request| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        routes.clone().oneshot(request)
                    });
                    let http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                    let _ = match tls {
                        Some(tls) => match tls.accept(tcp).await {
                            Ok(stream) => {
                                http2.serve_connection(TokioIo::new(stream), service).await
                            }
                            Err(_) => return,
                        },
                        None => http2.serve_connection(TokioIo::new(tcp), service).await,
                    };
                });
                // Forget the finished ones.
                while connections.try_join_next().is_some() {}
            }
        });
        Backend {
            addr,
            calls,
            open,
            server: Some(server),
        }
    }

    /// Calls answered (HTTP/2 requests received) so far.
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// `http://127.0.0.1:PORT` (or `https://`).
    pub(crate) fn uri(&self, scheme: &str) -> http::Uri {
        format!("{scheme}://{}", self.addr).parse().expect("URI")
    }

    /// Kills it: the listener and every connection closed, at once; returns
    /// when they are (within [`WAIT`]).
    pub(crate) async fn kill(&mut self) {
        let Some(server) = self.server.take() else {
            return;
        };
        server.abort();
        let _ = tokio::time::timeout(WAIT, server).await;
        let until = Instant::now() + WAIT;
        while self.open.load(Ordering::SeqCst) > 0 {
            assert!(Instant::now() < until, "backend connections still open");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// The example's descriptors.
fn pool() -> DescriptorPool {
    DescriptorPool::decode(restgate::pb::DESCRIPTOR_SET).expect("descriptor set")
}

/// One `CreateUser` call (never retried: a create is not idempotent).
pub(crate) async fn create_user(upstream: &Upstream, name: &str) -> Result<String, UpstreamError> {
    let pool = pool();
    let request = message(
        &pool,
        "examples.v1.CreateUserRequest",
        "user",
        "display_name",
        name,
    );
    let reply = call(
        upstream,
        "/examples.v1.UserService/CreateUser",
        request,
        &pool,
        "examples.v1.User",
    )
    .await?;
    Ok(text(&reply, "display_name"))
}

/// One `CreateBlog` call.
pub(crate) async fn create_blog(upstream: &Upstream, title: &str) -> Result<String, UpstreamError> {
    let pool = pool();
    let request = message(
        &pool,
        "examples.v1.CreateBlogRequest",
        "blog",
        "title",
        title,
    );
    let reply = call(
        upstream,
        "/examples.v1.BlogService/CreateBlog",
        request,
        &pool,
        "examples.v1.Blog",
    )
    .await?;
    Ok(text(&reply, "title"))
}

/// One `GetUser` call, retried as idempotent calls are; the user's name.
pub(crate) async fn get_user(upstream: &Upstream, id: &str) -> Result<String, UpstreamError> {
    let pool = pool();
    let descriptor = pool
        .get_message_by_name("examples.v1.GetUserRequest")
        .expect("request type");
    let mut request = DynamicMessage::new(descriptor);
    request.set_field_by_name("user_id", Value::String(id.to_owned()));
    let reply = pool
        .get_message_by_name("examples.v1.User")
        .expect("reply type");
    let call = Call {
        path: http::uri::PathAndQuery::from_static("/examples.v1.UserService/GetUser"),
        request: request.into(),
        metadata: Default::default(),
        reply,
        timeout: Duration::from_secs(10),
    };
    let reply = upstream::call(upstream, call, true, &RetryPolicy::default()).await?;
    Ok(text(&reply.message, "display_name"))
}

/// `{outer: {field: value}}` of type `name`.
pub(crate) fn message(
    pool: &DescriptorPool,
    name: &str,
    outer: &str,
    field: &str,
    value: &str,
) -> DynamicMessage {
    let descriptor = pool.get_message_by_name(name).expect("request type");
    let mut request = DynamicMessage::new(descriptor.clone());
    let inner_type = match descriptor
        .get_field_by_name(outer)
        .expect("outer field")
        .kind()
    {
        prost_reflect::Kind::Message(m) => m,
        other => panic!("{outer} is {other:?}"),
    };
    let mut inner = DynamicMessage::new(inner_type);
    inner.set_field_by_name(field, Value::String(value.to_owned()));
    request.set_field_by_name(outer, Value::Message(inner));
    request
}

async fn call(
    upstream: &Upstream,
    path: &'static str,
    request: DynamicMessage,
    pool: &DescriptorPool,
    reply: &str,
) -> Result<DynamicMessage, UpstreamError> {
    let reply: MessageDescriptor = pool.get_message_by_name(reply).expect("reply type");
    let call = Call {
        path: http::uri::PathAndQuery::from_static(path),
        request: request.into(),
        metadata: Default::default(),
        reply,
        timeout: Duration::from_secs(10),
    };
    upstream::call(upstream, call, false, &RetryPolicy::default())
        .await
        .map(|r| r.message)
}

/// The string field `field` of `message`.
pub(crate) fn text(message: &DynamicMessage, field: &str) -> String {
    message
        .get_field_by_name(field)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A CA, a server certificate it signed for `localhost` and `127.0.0.1`, a
/// client certificate it signed, and an unrelated CA; as PEM files.
pub(crate) struct Pki {
    dir: tempfile::TempDir,
    /// The CA's certificate.
    pub(crate) ca: PathBuf,
    /// Another CA's certificate, which signed nothing here.
    pub(crate) other_ca: PathBuf,
    /// The server's certificate and key.
    pub(crate) server_cert: PathBuf,
    pub(crate) server_key: PathBuf,
    /// The client's certificate and key.
    pub(crate) client_cert: PathBuf,
    pub(crate) client_key: PathBuf,
}

/// A self-signed CA's certificate (PEM) and issuer.
fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("CA key");
    let cert = params.self_signed(&key).expect("CA certificate");
    (cert.pem(), Issuer::new(params, key))
}

/// A leaf certificate (PEM) and its key, signed by `issuer`.
fn leaf(
    issuer: &Issuer<'_, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .expect("leaf params");
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().copied().unwrap_or("client"),
    );
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("leaf certificate");
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    /// Makes them all, now.
    pub(crate) fn new() -> Pki {
        let dir = tempfile::tempdir().expect("temporary directory");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write PEM");
            path
        };
        let (ca_pem, issuer) = ca("restgate test CA");
        let (other_pem, _) = ca("some other CA");
        let (server_pem, server_key) = leaf(
            &issuer,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_pem, client_key) = leaf(
            &issuer,
            &["restgate-client"],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        Pki {
            ca: write("ca.pem", &ca_pem),
            other_ca: write("other-ca.pem", &other_pem),
            server_cert: write("server.pem", &server_pem),
            server_key: write("server.key", &server_key),
            client_cert: write("client.pem", &client_pem),
            client_key: write("client.key", &client_key),
            dir,
        }
    }

    /// The server's TLS configuration (ALPN h2); with `client_auth`, a
    /// client certificate signed by the CA is required.
    pub(crate) fn server_config(&self, client_auth: bool) -> Arc<ServerConfig> {
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.server_cert)
            .expect("server certificate")
            .collect::<Result<_, _>>()
            .expect("server certificate");
        let key = PrivateKeyDer::from_pem_file(&self.server_key).expect("server key");
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocol versions");
        let builder = if client_auth {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&self.ca).expect("CA") {
                roots.add(cert.expect("CA")).expect("CA root");
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .expect("server certificate and key");
        config.alpn_protocols = vec![b"h2".to_vec()];
        Arc::new(config)
    }
}
