//! A keyed create the service's HTTP/2 server refused unprocessed (its
//! stream reset with `REFUSED_STREAM`, which RFC 9113 §8.7 says no
//! application saw) leaves the key free: the answer is a 503, and once the
//! service is back the retry with the key creates. The refusing server is
//! the h2 crate's, on the address the bundled example is then served on
//! again; the gateway runs in process.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use support::{Gateway, RestartableExample, WAIT};
use tokio::net::TcpListener;

/// An HTTP/2 server on `listener` that resets every stream with
/// `REFUSED_STREAM`, counting them. Aborting the task closes it all.
fn refuse_every_stream(
    listener: TcpListener,
    refused: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let refused = refused.clone();
            connections.spawn(async move {
                let Ok(mut connection) = h2::server::handshake(tcp).await else {
                    return;
                };
                while let Some(Ok((_request, mut respond))) = connection.accept().await {
                    refused.fetch_add(1, Ordering::SeqCst);
                    respond.send_reset(h2::Reason::REFUSED_STREAM);
                }
            });
            while connections.try_join_next().is_some() {}
        }
    })
}

#[tokio::test]
async fn a_create_refused_unprocessed_leaves_the_key_free() {
    let mut example = RestartableExample::start().await;
    let gw = Gateway::example(example.addr).await;
    example.stop().await;

    let until = tokio::time::Instant::now() + WAIT;
    let listener = loop {
        match TcpListener::bind(example.addr).await {
            Ok(listener) => break listener,
            Err(e) => {
                assert!(tokio::time::Instant::now() < until, "bind again: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let refused = Arc::new(AtomicUsize::new(0));
    let refusing = refuse_every_stream(listener, refused.clone());

    let user = json!({"displayName": "Ada"});
    let first = gw.keyed(Method::POST, "/v1/users", "k", &user).await;
    first.assert_error(503, 14);
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(refused.load(Ordering::SeqCst), 1, "POST is never retried");

    refusing.abort();
    let _ = refusing.await;
    example.resume().await;
    let created = gw.keyed(Method::POST, "/v1/users", "k", &user).await;
    created.assert_json(201);
    assert_eq!(created.header("idempotent-replayed"), None, "{created:?}");
    assert_eq!(created.header("location"), Some("/v1/users/1"));
    let again = gw.keyed(Method::POST, "/v1/users", "k", &user).await;
    again.assert_json(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}
