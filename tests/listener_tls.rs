//! TLS on the listener, through the real binary (`serve --demo --tls-cert
//! --tls-key`) with a test PKI made at test time: a client offering `h2`
//! gets HTTP/2 and a 201 + Location for a create; a client offering only
//! `http/1.1` gets HTTP/1.1; cleartext gets no HTTP answer; certificate
//! files that cannot be loaded stop the gateway at start, naming the file.

mod support;

#[path = "support/backend.rs"]
mod backend;

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backend::Pki;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::{Gateway, WAIT};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// `serve --demo` over TLS with the PKI's server certificate.
async fn tls_gateway(pki: &Pki) -> Gateway {
    let gateway = Gateway::start(&[
        "--demo",
        "--tls-cert",
        pki.server_cert.to_str().unwrap(),
        "--tls-key",
        pki.server_key.to_str().unwrap(),
    ])
    .await;
    assert!(gateway.base.starts_with("https://"), "{}", gateway.base);
    gateway
}

/// A client configuration trusting the CA in `ca` and offering `alpn`.
fn client_config(ca: &Path, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("CA") {
        roots.add(cert.expect("CA")).expect("CA root");
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// A TLS handshake with the gateway as `localhost`, bounded in time.
async fn handshake(
    gateway: &Gateway,
    config: Arc<ClientConfig>,
) -> Result<Result<TlsStream<TcpStream>, std::io::Error>, tokio::time::error::Elapsed> {
    let tcp = TcpStream::connect(gateway.addr()).await.expect("connect");
    let name = ServerName::try_from("localhost").unwrap();
    tokio::time::timeout(WAIT, TlsConnector::from(config).connect(name, tcp)).await
}

/// A TLS connection to the gateway, trusting the test CA and offering
/// `alpn`.
async fn connect(gateway: &Gateway, ca: &Path, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    handshake(gateway, client_config(ca, alpn))
        .await
        .expect("handshake within 20 s")
        .expect("TLS handshake")
}

fn alpn(stream: &TlsStream<TcpStream>) -> Option<Vec<u8>> {
    stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec)
}

#[tokio::test]
async fn a_client_offering_h2_gets_http2() {
    let pki = Pki::new();
    let gateway = tls_gateway(&pki).await;
    let stream = connect(&gateway, &pki.ca, &[b"h2", b"http/1.1"]).await;
    assert_eq!(alpn(&stream).as_deref(), Some(&b"h2"[..]));

    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let request = http::Request::post(format!(
        "https://localhost:{}/v1/users",
        gateway.addr().port()
    ))
    .header("content-type", "application/json")
    .body(Full::new(Bytes::from_static(
        br#"{"displayName":"Ada Lovelace","email":"ada@example.com"}"#,
    )))
    .unwrap();
    let response = tokio::time::timeout(WAIT, sender.send_request(request))
        .await
        .expect("answer within 20 s")
        .expect("POST /v1/users");
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/v1/users/1");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["displayName"], "Ada Lovelace", "{body}");
}

#[tokio::test]
async fn a_client_offering_only_http1_gets_http1() {
    let pki = Pki::new();
    let gateway = tls_gateway(&pki).await;
    let stream = connect(&gateway, &pki.ca, &[b"http/1.1"]).await;
    assert_eq!(alpn(&stream).as_deref(), Some(&b"http/1.1"[..]));

    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP/1.1 handshake");
    tokio::spawn(connection);
    let request = http::Request::get("/healthz")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = tokio::time::timeout(WAIT, sender.send_request(request))
        .await
        .expect("answer within 20 s")
        .expect("GET /healthz");
    assert_eq!(response.version(), http::Version::HTTP_11);
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn cleartext_gets_no_http_answer() {
    let pki = Pki::new();
    let gateway = tls_gateway(&pki).await;
    let mut tcp = TcpStream::connect(gateway.addr()).await.expect("connect");
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer))
        .await
        .expect("the gateway closes the connection")
        .ok();
    assert!(
        !answer.starts_with(b"HTTP/"),
        "an HTTP answer over cleartext: {:?}",
        String::from_utf8_lossy(&answer)
    );
}

/// Runs `restgate serve --demo <args>`, expecting it to refuse to start;
/// returns its exit code and stderr.
fn refuses(args: &[&str]) -> (Option<i32>, String) {
    let mut child = support::restgate()
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn restgate");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("restgate serve {args:?} still running 20 s later");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), stderr)
}

#[test]
fn unusable_certificate_files_stop_the_start_naming_the_file() {
    let pki = Pki::new();
    let key = pki.server_key.to_str().unwrap();
    let cert = pki.server_cert.to_str().unwrap();

    let missing = "/nonexistent/restgate/cert.pem";
    let (code, stderr) = refuses(&["--tls-cert", missing, "--tls-key", key]);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains(missing), "{stderr}");

    let junk = pki.server_cert.with_file_name("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let junk = junk.to_str().unwrap();
    let (code, stderr) = refuses(&["--tls-cert", junk, "--tls-key", key]);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains(junk), "{stderr}");

    // A certificate file given as the key: no private key in it.
    let (code, stderr) = refuses(&["--tls-cert", cert, "--tls-key", cert]);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains(cert), "{stderr}");

    // One without the other is a configuration error naming the missing key.
    let (code, stderr) = refuses(&["--tls-cert", cert]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("tls-key"), "{stderr}");
}

/// Whether a handshake trusting `ca` succeeds within the bounded wait.
async fn handshake_ok(gateway: &Gateway, ca: &Path) -> bool {
    matches!(handshake(gateway, client_config(ca, &[])).await, Ok(Ok(_)))
}

#[tokio::test]
async fn sighup_reloads_the_certificate() {
    let first = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::copy(&first.server_cert, &cert).unwrap();
    std::fs::copy(&first.server_key, &key).unwrap();
    let gateway = Gateway::spawn(&[
        "--demo",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
    .await;
    assert!(handshake_ok(&gateway, &first.ca).await);

    // A renewed certificate from another CA, in the same files.
    let second = Pki::new();
    std::fs::copy(&second.server_cert, &cert).unwrap();
    std::fs::copy(&second.server_key, &key).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gateway.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    assert!(
        gateway.wait_stderr(|s| s.contains("reloaded")).await,
        "{}",
        gateway.stderr()
    );
    assert!(
        handshake_ok(&gateway, &second.ca).await,
        "new connections get the new certificate"
    );
    assert!(
        !handshake_ok(&gateway, &first.ca).await,
        "the old certificate is gone"
    );
}
