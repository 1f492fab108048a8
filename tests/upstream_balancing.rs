//! Upstreams of several endpoints, against real HTTP/2 servers (the example
//! services) on loopback: calls are spread round robin over the endpoints;
//! when one is killed, every later call goes to the others and succeeds —
//! creates included, which are never retried, so no retry hides a failure;
//! an endpoint that comes back serves again; a host name stands for its
//! addresses. The route → upstream wiring is the gateway's own
//! (`Shared::new`, `Gateway::target`).

#[path = "support/backend.rs"]
mod backend;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backend::{create_blog, create_user, get_user, Backend, WAIT};
use futures::future::join_all;
use restgate::compile::{Descriptors, RouteTable};
use restgate::serve::{Gateway, ServeOptions, Shared, Upstreams};
use restgate::upstream::{RemoteSpec, Upstream, UpstreamError};

fn spec(backends: &[&Backend]) -> RemoteSpec {
    RemoteSpec::new(backends.iter().map(|b| b.uri("http")).collect())
}

#[tokio::test]
async fn calls_are_spread_round_robin_over_the_endpoints() {
    let a = Backend::plain().await;
    let b = Backend::plain().await;
    let upstream = Upstream::remote(&spec(&[&a, &b])).expect("upstream");

    for i in 0..20 {
        let name = format!("user {i}");
        assert_eq!(create_user(&upstream, &name).await.expect("call"), name);
    }
    assert_eq!((a.calls(), b.calls()), (10, 10), "one call each in turn");

    // Concurrent calls too: each starts at the next endpoint.
    let names: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
    let replies = join_all(names.iter().map(|n| create_user(&upstream, n))).await;
    assert!(replies.iter().all(Result::is_ok), "{replies:?}");
    assert_eq!((a.calls(), b.calls()), (30, 30));
}

/// One call the load made: when it started and ended, and whether it
/// succeeded.
struct Outcome {
    started: Instant,
    ended: Instant,
    error: Option<String>,
}

/// The gateway for the example services with `users` serving UserService
/// and `blogs` every other service; the route index of each create.
fn gateway(users: RemoteSpec, blogs: RemoteSpec) -> (Arc<Gateway>, usize, usize) {
    let descriptors = Descriptors::decode(restgate::pb::DESCRIPTOR_SET).expect("descriptors");
    let table = RouteTable::compile(&descriptors).expect("routes").table;
    let route = |rpc: &str| {
        table
            .routes()
            .iter()
            .position(|r| r.rpc.full_name() == rpc)
            .expect("route")
    };
    let (create_user, create_blog) = (
        route("examples.v1.UserService.CreateUser"),
        route("examples.v1.BlogService.CreateBlog"),
    );
    let upstreams = Upstreams {
        default: Some(blogs),
        by_service: [("examples.v1.UserService".to_owned(), users)].into(),
    };
    let shared = Shared::new(table, &upstreams, ServeOptions::default()).expect("shared");
    let gateway = Gateway::new(Arc::new(shared)).expect("gateway");
    (Arc::new(gateway), create_user, create_blog)
}

/// Two upstreams of two endpoints each, under a bounded load of creates
/// from four clients; one endpoint of each is killed mid-run. Calls in
/// flight at the kill may fail; every call started after it must succeed,
/// and only the survivors see them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_endpoint_moves_its_traffic_to_the_other() {
    let mut u1 = Backend::plain().await;
    let u2 = Backend::plain().await;
    let mut b1 = Backend::plain().await;
    let b2 = Backend::plain().await;
    let (gateway, user_route, blog_route) = gateway(spec(&[&u1, &u2]), spec(&[&b1, &b2]));

    const CLIENTS: usize = 4;
    const MAX_CALLS: usize = 400;
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (gateway, stop, done, outcomes) = (
                gateway.clone(),
                stop.clone(),
                done.clone(),
                outcomes.clone(),
            );
            tokio::spawn(async move {
                for i in 0..MAX_CALLS {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let started = Instant::now();
                    let name = format!("client {c} call {i}");
                    let result = if i % 2 == 0 {
                        create_user(gateway.target(user_route).0, &name).await
                    } else {
                        create_blog(gateway.target(blog_route).0, &name).await
                    };
                    let error = match result {
                        Ok(echoed) if echoed == name => None,
                        Ok(other) => Some(format!("answered {other:?} to {name:?}")),
                        Err(e) => Some(e.to_string()),
                    };
                    outcomes.lock().unwrap().push(Outcome {
                        started,
                        ended: Instant::now(),
                        error,
                    });
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();

    let wait_for = |n: usize| {
        let done = done.clone();
        async move {
            let until = Instant::now() + WAIT;
            while done.load(Ordering::SeqCst) < n {
                assert!(Instant::now() < until, "the load stalled below {n} calls");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    };
    wait_for(80).await;
    let before = (u1.calls(), u2.calls(), b1.calls(), b2.calls());
    assert!(
        before.0 > 0 && before.1 > 0 && before.2 > 0 && before.3 > 0,
        "every endpoint served before the kill: {before:?}"
    );

    let kill_started = Instant::now();
    tokio::join!(u1.kill(), b1.kill());
    let killed = Instant::now();
    let (u1_dead, b1_dead) = (u1.calls(), b1.calls());
    let (u2_at_kill, b2_at_kill) = (u2.calls(), b2.calls());
    wait_for(done.load(Ordering::SeqCst) + 160).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        tokio::time::timeout(WAIT, client)
            .await
            .expect("client finished")
            .expect("client task");
    }

    let outcomes = outcomes.lock().unwrap();
    let after: Vec<&Outcome> = outcomes.iter().filter(|o| o.started >= killed).collect();
    let failed_after: Vec<&String> = after.iter().filter_map(|o| o.error.as_ref()).collect();
    assert!(after.len() >= 160, "{} calls after the kill", after.len());
    assert!(
        failed_after.is_empty(),
        "{} of {} calls after the kill failed: {failed_after:?}",
        failed_after.len(),
        after.len()
    );
    let failed_before: Vec<&String> = outcomes
        .iter()
        .filter(|o| o.ended < kill_started)
        .filter_map(|o| o.error.as_ref())
        .collect();
    assert!(failed_before.is_empty(), "{failed_before:?}");
    // At most the calls in flight during the kill may have failed.
    let failed_during = outcomes
        .iter()
        .filter(|o| o.started < killed && o.ended >= kill_started && o.error.is_some())
        .count();
    assert!(
        failed_during <= CLIENTS,
        "{failed_during} failed during the kill"
    );

    assert_eq!((u1.calls(), b1.calls()), (u1_dead, b1_dead));
    let moved = (u2.calls() - u2_at_kill) + (b2.calls() - b2_at_kill);
    assert!(moved >= after.len(), "{moved} calls reached the survivors");
}

/// Both endpoints down: 503 (`Unavailable`) at once, saying why. One comes
/// back on its address: after its backoff, it serves again.
#[tokio::test]
async fn all_down_is_unavailable_and_an_endpoint_that_returns_serves_again() {
    let mut a = Backend::plain().await;
    let mut b = Backend::plain().await;
    let addr = a.addr;
    let upstream = Upstream::remote(&spec(&[&a, &b])).expect("upstream");
    create_user(&upstream, "x").await.expect("up");
    tokio::join!(a.kill(), b.kill());

    let started = Instant::now();
    match create_user(&upstream, "y").await {
        Err(UpstreamError::Unavailable(message)) => {
            assert!(message.contains("cannot connect"), "{message}");
            assert!(message.contains("all 2 endpoints"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));

    let a = Backend::plain_at(addr).await;
    // The last resort tries down endpoints too: no wait for the backoff.
    create_user(&upstream, "back").await.expect("a is back");
    let served = a.calls();
    assert_eq!(served, 1);
    for i in 0..10 {
        create_user(&upstream, &format!("z{i}"))
            .await
            .expect("call");
    }
    assert_eq!(a.calls(), served + 10, "a serves everything");
}

/// A host name stands for every address it resolves to; an address that
/// refuses is passed over.
#[tokio::test]
async fn a_host_name_is_resolved_and_a_dead_endpoint_passed_over() {
    let a = Backend::plain().await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let mut spec = RemoteSpec::new(vec![
        format!("http://localhost:{}", a.addr.port())
            .parse()
            .unwrap(),
        format!("http://{dead}").parse().unwrap(),
    ]);
    spec.resolve_every = Some(Duration::from_millis(50));
    let upstream = Upstream::remote(&spec).expect("upstream");
    let started = Instant::now();
    for i in 0..20 {
        create_user(&upstream, &format!("n{i}"))
            .await
            .expect("every call succeeds");
        // Long enough apart that names are resolved again meanwhile.
        if i % 5 == 4 {
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
    }
    assert_eq!(a.calls(), 20);
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A backend on a runtime and thread of its own, so that the test's runtime
/// can be kept from noticing its death before the next call is sent.
struct Remote {
    addr: std::net::SocketAddr,
    kill: std::sync::mpsc::Sender<()>,
    killed: std::sync::mpsc::Receiver<()>,
}

impl Remote {
    fn start() -> Remote {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (kill, kill_rx) = std::sync::mpsc::channel::<()>();
        let (killed_tx, killed) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut backend = Backend::plain().await;
                addr_tx.send(backend.addr).expect("send address");
                let _ = tokio::task::spawn_blocking(move || kill_rx.recv_timeout(WAIT)).await;
                backend.kill().await;
                let _ = killed_tx.send(());
            });
        });
        let addr = addr_rx.recv_timeout(WAIT).expect("backend address");
        Remote { addr, kill, killed }
    }

    /// Kills it and waits, blocking the caller's thread, until every
    /// connection is closed.
    fn kill_now(&self) {
        self.kill.send(()).expect("kill");
        self.killed.recv_timeout(WAIT).expect("killed");
    }
}

/// The connection to a killed endpoint still looks open when the next call
/// is made (this runtime has not run since the kill), and the call is
/// written to it: the gateway cannot know the service did not see it, so
/// only an idempotent call is tried again — on the other endpoint, and it
/// succeeds. Every call after it goes to the other endpoint and succeeds.
#[tokio::test(flavor = "current_thread")]
async fn a_call_on_a_connection_that_just_died_is_retried_elsewhere() {
    let a = Remote::start();
    let b = Backend::plain().await;
    let spec = RemoteSpec::new(vec![
        format!("http://{}", a.addr).parse().unwrap(),
        b.uri("http"),
    ]);
    let upstream = Upstream::remote(&spec).expect("upstream");
    // Connections to both (user 1 on each); the next call starts at `a`.
    create_user(&upstream, "on a").await.expect("a");
    create_user(&upstream, "on b").await.expect("b");
    assert_eq!(b.calls(), 1);
    a.kill_now();
    assert_eq!(
        get_user(&upstream, "1").await.expect("retried on b"),
        "on b"
    );
    for i in 0..6 {
        create_user(&upstream, &i.to_string())
            .await
            .expect("sent to b");
    }
    assert_eq!(b.calls(), 8);
}
