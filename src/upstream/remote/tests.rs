//! Endpoints, backoff, round robin and resolution against real listeners on
//! 127.0.0.1.

use std::sync::Arc;
use std::time::Duration;

use super::health::{backoff, Health, BACKOFF_MAX};
use super::Remote;
use crate::upstream::RemoteSpec;

#[test]
fn backoff_doubles_from_one_second_to_thirty() {
    let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
    assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
    assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
}

#[test]
fn health_goes_down_for_its_backoff_and_comes_back() {
    let health = Health::default();
    let second = 1_000_000_000;
    assert!(!health.is_down(|| unreachable!("an endpoint never down reads no clock")));
    assert_eq!(health.failed(10 * second), Duration::from_secs(1));
    assert!(health.is_down(|| 10 * second));
    assert!(health.is_down(|| 11 * second - 1));
    assert!(!health.is_down(|| 11 * second));
    // A second failure in a row doubles the backoff.
    assert_eq!(health.failed(11 * second), Duration::from_secs(2));
    assert!(health.is_down(|| 12 * second));
    assert!(!health.is_down(|| 13 * second));
    assert!(health.succeeded(), "it had been failing");
    assert!(!health.is_down(|| 11 * second));
    assert!(!health.succeeded());
    // After a success the backoff starts over.
    assert_eq!(health.failed(20 * second), Duration::from_secs(1));
}

fn spec(uris: &[&str]) -> RemoteSpec {
    RemoteSpec::new(uris.iter().map(|u| u.parse().unwrap()).collect())
}

#[test]
fn specs_are_checked() {
    let error = |uris: &[&str]| Remote::new(&spec(uris)).unwrap_err().to_string();
    assert!(error(&[]).contains("at least one endpoint"));
    assert!(error(&["ftp://a:1"]).contains("expected http://"));
    assert!(error(&["/path"]).contains("expected http://"));
    assert!(error(&["https://a:1"]).contains("needs TLS settings"));
    let e = Remote::new(&spec(&["http://a:1"]).with_tls(Default::default()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no endpoint is https://"), "{e}");
    assert!(Remote::new(&spec(&["http://a:1", "http://[::1]:2"])).is_ok());
}

#[tokio::test]
async fn addresses_need_no_resolution() {
    let remote = Arc::new(Remote::new(&spec(&["http://127.0.0.1:1", "http://[::1]:2"])).unwrap());
    let pool = remote.pool().await.unwrap();
    assert_eq!(
        pool.addresses(),
        ["127.0.0.1:1".parse().unwrap(), "[::1]:2".parse().unwrap()]
    );
    assert!(Arc::ptr_eq(&pool, &remote.pool().await.unwrap()));
}

/// Servers that send an empty HTTP/2 SETTINGS frame, then nothing:
/// enough for a connection, since the client handshake waits for no
/// more than the server's first SETTINGS.
async fn listeners(n: usize) -> (Vec<tokio::task::JoinHandle<()>>, Vec<String>) {
    use tokio::io::AsyncWriteExt;
    let mut servers = Vec::new();
    let mut uris = Vec::new();
    for _ in 0..n {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        uris.push(format!("http://{}", l.local_addr().unwrap()));
        servers.push(tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut stream, _)) = l.accept().await {
                let _ = stream.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await;
                held.push(stream);
            }
        }));
    }
    (servers, uris)
}

#[tokio::test]
async fn round_robin_visits_every_endpoint_in_turn() {
    let (_listeners, uris) = listeners(3).await;
    let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
    let remote = Arc::new(Remote::new(&spec(&uris)).unwrap());
    let pool = remote.pool().await.unwrap();
    let mut picked = Vec::new();
    for _ in 0..6 {
        picked.push(remote.connection(&pool).await.unwrap().0);
    }
    assert_eq!(picked, [0, 1, 2, 0, 1, 2]);
}

#[tokio::test]
async fn a_refused_endpoint_is_passed_over_and_backs_off() {
    let (listeners, uris) = listeners(2).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let remote = Arc::new(Remote::new(&spec(&[&uris[0], &dead, &uris[1]])).unwrap());
    let pool = remote.pool().await.unwrap();
    let mut picked = Vec::new();
    for _ in 0..6 {
        picked.push(remote.connection(&pool).await.unwrap().0);
    }
    // The call that lands on the dead one moves to the next; later
    // calls skip it while it is down.
    assert_eq!(picked, [0, 2, 2, 0, 2, 2]);
    assert!(pool.slots[1].health.is_down(|| remote.now()));
    assert_eq!(pool.slots[1].health.failures(), 1);

    // Every endpoint down: each call tries them all and says why.
    drop(listeners);
    let only_dead = Arc::new(Remote::new(&spec(&[&dead, &dead])).unwrap());
    let pool = only_dead.pool().await.unwrap();
    for _ in 0..2 {
        let e = only_dead.connection(&pool).await.unwrap_err().to_string();
        assert!(e.contains("cannot connect to"), "{e}");
        assert!(e.contains("all 2 endpoints"), "{e}");
    }
    assert_eq!(pool.slots[0].health.failures(), 2, "tried as a last resort");
}

#[tokio::test]
async fn names_resolve_to_every_address() {
    let (_listeners, uris) = listeners(1).await;
    let port = uris[0].rsplit(':').next().unwrap();
    let remote = Arc::new(Remote::new(&spec(&[&format!("http://localhost:{port}")])).unwrap());
    let pool = remote.pool().await.unwrap();
    assert!(
        pool.addresses().iter().any(|a| a.ip().is_loopback()),
        "{:?}",
        pool.addresses()
    );
    assert!(pool.resolved_at.is_some());
    assert_eq!(
        remote.origin(&pool, 0).to_string(),
        format!("http://localhost:{port}/")
    );
    remote.connection(&pool).await.unwrap();

    let unknown = Arc::new(Remote::new(&spec(&["http://no-such-host.invalid:1"])).unwrap());
    let e = unknown.pool().await.unwrap_err().to_string();
    assert!(e.contains("no-such-host.invalid"), "{e}");
    // The failure is cached for a moment, not resolved on every call.
    let again = unknown.pool().await.unwrap_err().to_string();
    assert_eq!(e, again);
}

#[tokio::test]
async fn resolving_again_keeps_the_endpoints_that_stay() {
    let (_listeners, uris) = listeners(1).await;
    let port = uris[0].rsplit(':').next().unwrap();
    let remote = Arc::new(
        Remote::new(&spec(&[
            &format!("http://localhost:{port}"),
            "http://127.0.0.2:9",
        ]))
        .unwrap(),
    );
    let first = remote.pool().await.unwrap();
    let second = remote.resolve(&first).await;
    assert!(!Arc::ptr_eq(&first, &second));
    assert_eq!(first.addresses(), second.addresses());
    for (a, b) in first.slots.iter().zip(&second.slots) {
        assert!(
            Arc::ptr_eq(a, b),
            "the same endpoint, connection and health"
        );
    }
}
