//! TLS to upstreams, against the example services behind a real TLS
//! listener (rustls, ALPN h2) on loopback, with a test PKI made at test
//! time: the right CA works (by address and by name, SNI included); a wrong
//! CA is `Unavailable` saying why; mutual TLS works with the client
//! certificate and fails without; files that cannot be loaded are start-up
//! errors naming the file.

#[path = "support/backend.rs"]
mod backend;

use backend::{create_user, Backend, Pki};
use restgate::compile::{Descriptors, RouteTable};
use restgate::serve::{ServeOptions, SetupError, Shared, Upstreams};
use restgate::upstream::{RemoteSpec, TlsSettings, Upstream, UpstreamError};

fn trusting(ca: &std::path::Path) -> TlsSettings {
    TlsSettings {
        ca_file: Some(ca.to_owned()),
        ..TlsSettings::default()
    }
}

fn spec(uri: &str, tls: TlsSettings) -> RemoteSpec {
    RemoteSpec::single(uri.parse().expect("URI")).with_tls(tls)
}

#[track_caller]
fn unavailable(result: Result<String, UpstreamError>) -> String {
    match result {
        Err(UpstreamError::Unavailable(message)) => message,
        Err(UpstreamError::Status(status)) if status.code() == tonic::Code::Unavailable => {
            status.message().to_owned()
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn tls_with_the_test_ca() {
    let pki = Pki::new();
    let backend = Backend::tls(pki.server_config(false)).await;
    let port = backend.addr.port();

    // By address: the certificate names 127.0.0.1.
    let by_address = Upstream::remote(&spec(
        &format!("https://127.0.0.1:{port}"),
        trusting(&pki.ca),
    ))
    .expect("upstream");
    assert_eq!(create_user(&by_address, "ada").await.expect("call"), "ada");

    // By name: SNI and verification use `localhost`.
    let by_name = Upstream::remote(&spec(
        &format!("https://localhost:{port}"),
        trusting(&pki.ca),
    ))
    .expect("upstream");
    assert_eq!(create_user(&by_name, "bob").await.expect("call"), "bob");

    // An address, verified as a name given apart.
    let named = TlsSettings {
        server_name: Some("localhost".to_owned()),
        ..trusting(&pki.ca)
    };
    let upstream =
        Upstream::remote(&spec(&format!("https://127.0.0.1:{port}"), named)).expect("upstream");
    assert_eq!(create_user(&upstream, "cy").await.expect("call"), "cy");

    // A name the certificate does not hold is refused.
    let wrong_name = TlsSettings {
        server_name: Some("elsewhere.example".to_owned()),
        ..trusting(&pki.ca)
    };
    let upstream = Upstream::remote(&spec(&format!("https://127.0.0.1:{port}"), wrong_name))
        .expect("upstream");
    let message = unavailable(create_user(&upstream, "x").await);
    assert!(message.contains("TLS handshake"), "{message}");
    assert!(message.contains("elsewhere.example"), "{message}");

    assert_eq!(backend.calls(), 3);
}

#[tokio::test]
async fn a_wrong_ca_is_unavailable_with_a_clear_message() {
    let pki = Pki::new();
    let backend = Backend::tls(pki.server_config(false)).await;
    let uri = format!("https://127.0.0.1:{}", backend.addr.port());
    let upstream = Upstream::remote(&spec(&uri, trusting(&pki.other_ca))).expect("upstream");
    let message = unavailable(create_user(&upstream, "x").await);
    assert!(message.contains("TLS handshake"), "{message}");
    assert!(message.contains(&uri), "names the endpoint: {message}");
    assert!(
        message.contains("certificate") && message.contains("UnknownIssuer"),
        "says why: {message}"
    );
    assert_eq!(backend.calls(), 0);

    // Plaintext to a TLS endpoint fails too, and says so.
    let plain = Upstream::remote(&RemoteSpec::single(backend.uri("http"))).expect("upstream");
    unavailable(create_user(&plain, "x").await);
    assert_eq!(backend.calls(), 0);
}

#[tokio::test]
async fn mutual_tls_needs_the_client_certificate() {
    let pki = Pki::new();
    let backend = Backend::tls(pki.server_config(true)).await;
    let uri = format!("https://localhost:{}", backend.addr.port());

    let with_cert = TlsSettings {
        cert_file: Some(pki.client_cert.clone()),
        key_file: Some(pki.client_key.clone()),
        ..trusting(&pki.ca)
    };
    let upstream = Upstream::remote(&spec(&uri, with_cert)).expect("upstream");
    for name in ["a", "b", "c"] {
        assert_eq!(create_user(&upstream, name).await.expect("call"), name);
    }
    assert_eq!(backend.calls(), 3);

    let without = Upstream::remote(&spec(&uri, trusting(&pki.ca))).expect("upstream");
    let message = unavailable(create_user(&without, "x").await);
    assert!(
        message.to_ascii_lowercase().contains("certificate"),
        "says a certificate is missing: {message}"
    );
    assert_eq!(backend.calls(), 3);
}

#[test]
fn tls_files_that_cannot_be_loaded_are_start_up_errors() {
    let pki = Pki::new();
    let uri = "https://127.0.0.1:1";
    let refused = |tls: TlsSettings| match Upstream::remote(&spec(uri, tls)) {
        Err(e @ UpstreamError::BadUri { .. }) => e.to_string(),
        Err(e) => panic!("expected BadUri, got {e}"),
        Ok(_) => panic!("accepted"),
    };

    let missing = pki.ca.with_file_name("missing.pem");
    let message = refused(trusting(&missing));
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );

    let message = refused(TlsSettings::default());
    assert!(message.contains("CA file"), "{message}");

    // A key file that holds a certificate, not a key.
    let message = refused(TlsSettings {
        cert_file: Some(pki.client_cert.clone()),
        key_file: Some(pki.client_cert.clone()),
        ..trusting(&pki.ca)
    });
    assert!(message.contains("key file"), "{message}");
    assert!(
        message.contains(&pki.client_cert.display().to_string()),
        "{message}"
    );

    let message = refused(TlsSettings {
        cert_file: Some(pki.client_cert.clone()),
        ..trusting(&pki.ca)
    });
    assert!(message.contains("key file too"), "{message}");

    // A client certificate with another certificate's key.
    let message = refused(TlsSettings {
        cert_file: Some(pki.client_cert.clone()),
        key_file: Some(pki.server_key.clone()),
        ..trusting(&pki.ca)
    });
    assert!(message.contains("do not go together"), "{message}");

    // https:// without TLS settings.
    let e = Upstream::remote(&RemoteSpec::single(uri.parse().unwrap())).unwrap_err();
    assert!(e.to_string().contains("needs TLS settings"), "{e}");

    // The gateway will not start with such an upstream.
    let descriptors = Descriptors::decode(restgate::pb::DESCRIPTOR_SET).expect("descriptors");
    let table = RouteTable::compile(&descriptors).expect("routes").table;
    let upstreams = Upstreams {
        default: Some(spec(uri, trusting(&missing))),
        ..Upstreams::default()
    };
    match Shared::new(table, &upstreams, ServeOptions::default()) {
        Err(e @ SetupError::Upstream(_)) => {
            assert!(e.to_string().contains("missing.pem"), "{e}")
        }
        other => panic!("expected a setup error, got {other:?}"),
    }
}
