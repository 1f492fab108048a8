//! Exactly-once creates under an `Idempotency-Key` when the failure leaves
//! unknown whether the service acted, through the gateway (in process) in
//! front of the bundled example service, served here over HTTP/2 on
//! 127.0.0.1 by a server the test controls:
//!
//! - the service creates the user, then its connection dies before the
//!   reply (every connection dropped at once, as when the process dies):
//!   the answer is a 502 that every retry with the key gets again, and the
//!   service, back up, is never called again for it: one user;
//! - the service creates the user and the deadline passes before it
//!   answers: the 504 is kept the same way;
//! - the gateway gives the request up mid-call (`--request-timeout`): the
//!   key answers a 502 from then on;
//! - the call never left (nothing listens): the 503 is not kept, and the
//!   retry creates the user;
//! - a repeat while the first call is held in the service is a 409 with
//!   `Retry-After`, a different request under the key a 422, and the first
//!   then answers 201: one call.
//!
//! The key reaches the service as `idempotency-key` metadata every time.
//! Runs with the memory, file and Redis stores.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use hyper_util::rt::{TokioExecutor, TokioIo};
use reqwest::Method;
use restgate::example::ExampleState;
use serde_json::{json, Value};
use support::{send, Gateway, RedisServer, Reply, WAIT};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tower::ServiceExt as _;

const CREATE_USER: &str = "/examples.v1.UserService/CreateUser";

/// What the service does with a `CreateUser` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Mode {
    /// Creates and answers.
    Answer = 0,
    /// Waits for [`Seen::release`], then creates and answers.
    Hold = 1,
    /// Creates, then never answers: the test kills the server.
    Vanish = 2,
}

/// What the service saw, shared with the test.
struct Seen {
    mode: AtomicU8,
    /// `CreateUser` calls that arrived.
    arrived: watch::Sender<usize>,
    /// `CreateUser` calls that created their user.
    created: watch::Sender<usize>,
    /// The `idempotency-key` metadata of every `CreateUser` call, in turn
    /// (several values joined with `, `).
    keys: Mutex<Vec<Option<String>>>,
    /// Lets held calls go on.
    release: Notify,
}

impl Seen {
    fn mode(&self) -> Mode {
        match self.mode.load(Ordering::SeqCst) {
            1 => Mode::Hold,
            2 => Mode::Vanish,
            _ => Mode::Answer,
        }
    }
}

/// The example service on a fixed loopback address, killable at once (the
/// listener and every connection closed, no GOAWAY) and startable again on
/// the same address with the same data.
struct Service {
    addr: SocketAddr,
    state: ExampleState,
    seen: Arc<Seen>,
    server: Option<JoinHandle<()>>,
}

impl Service {
    /// Serves a fresh example service on `addr` (127.0.0.1).
    async fn start_at(addr: SocketAddr, mode: Mode) -> Service {
        let seen = Arc::new(Seen {
            mode: AtomicU8::new(mode as u8),
            arrived: watch::Sender::new(0),
            created: watch::Sender::new(0),
            keys: Mutex::new(Vec::new()),
            release: Notify::new(),
        });
        let mut service = Service {
            addr,
            state: ExampleState::new(),
            seen,
            server: None,
        };
        service.resume().await;
        service
    }

    /// Serves on a free port.
    async fn start(mode: Mode) -> Service {
        Service::start_at(support::dead_addr(), mode).await
    }

    fn set_mode(&self, mode: Mode) {
        self.seen.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Serves again on its address (bound anew, retried for at most 20 s).
    async fn resume(&mut self) {
        assert!(self.server.is_none(), "already serving");
        let until = tokio::time::Instant::now() + WAIT;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) => {
                    assert!(
                        tokio::time::Instant::now() < until,
                        "cannot bind {}: {e}",
                        self.addr
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        };
        let (routes, seen) = (self.state.routes(), self.seen.clone());
        self.server = Some(tokio::spawn(async move {
            // Dropped with this task: every connection is closed.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (routes, seen) = (routes.clone(), seen.clone());
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        serve(routes.clone(), seen.clone(), request)
                    });
                    let http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                    let _ = http2.serve_connection(TokioIo::new(tcp), service).await;
                });
                while connections.try_join_next().is_some() {}
            }
        }));
    }

    /// Kills it: the listener and every connection closed at once.
    async fn kill(&mut self) {
        let server = self.server.take().expect("serving");
        server.abort();
        let _ = tokio::time::timeout(WAIT, server).await;
    }

    /// Waits (at most 20 s) until `count` reaches `n`.
    async fn wait(count: &watch::Sender<usize>, n: usize, what: &str) {
        let mut rx = count.subscribe();
        let reached = tokio::time::timeout(WAIT, rx.wait_for(|c| *c >= n)).await;
        assert!(
            matches!(reached, Ok(Ok(_))),
            "{what}: {} of {n} within 20 s",
            *count.borrow()
        );
    }

    fn arrived(&self) -> usize {
        *self.seen.arrived.borrow()
    }

    fn created(&self) -> usize {
        *self.seen.created.borrow()
    }

    fn keys(&self) -> Vec<Option<String>> {
        self.seen
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One HTTP/2 request to the example's routes, `CreateUser` as the mode says.
async fn serve(
    routes: tonic::service::Routes,
    seen: Arc<Seen>,
    request: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<tonic::body::Body>, std::convert::Infallible> {
    if request.uri().path() != CREATE_USER {
        return routes.oneshot(request).await;
    }
    let values: Vec<&str> = request
        .headers()
        .get_all("idempotency-key")
        .iter()
        .map(|v| v.to_str().unwrap_or("<not ASCII>"))
        .collect();
    let key = (!values.is_empty()).then(|| values.join(", "));
    seen.keys
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(key);
    let mode = seen.mode();
    seen.arrived.send_modify(|n| *n += 1);
    if mode == Mode::Hold {
        seen.release.notified().await;
    }
    // The whole unary call: the user is stored when this completes.
    let response = routes.oneshot(request).await;
    seen.created.send_modify(|n| *n += 1);
    if mode == Mode::Vanish {
        std::future::pending::<()>().await;
    }
    response
}

/// The store flags of each run, and what keeps the store alive.
enum Store {
    Memory,
    File(tempfile::TempDir),
    Redis(RedisServer),
}

impl Store {
    fn args(&self) -> Vec<String> {
        match self {
            Store::Memory => Vec::new(),
            Store::File(dir) => vec![
                "--idempotency".to_owned(),
                format!("file:{}", dir.path().join("keys.redb").display()),
            ],
            Store::Redis(redis) => vec!["--idempotency".to_owned(), redis.url()],
        }
    }

    fn all() -> Vec<Store> {
        vec![
            Store::Memory,
            Store::File(tempfile::tempdir().expect("temporary directory")),
            Store::Redis(RedisServer::start()),
        ]
    }
}

/// The gateway in front of the service at `addr`, with `store`.
async fn gateway(addr: SocketAddr, store: &Store, extra: &[&str]) -> Gateway {
    let mut args = store.args();
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Gateway::example_with(addr, &args).await
}

/// `POST /v1/users` with `Idempotency-Key: key`.
async fn create(gw: &Gateway, key: &str, name: &str) -> Reply {
    gw.keyed(
        Method::POST,
        "/v1/users",
        key,
        &json!({ "displayName": name }),
    )
    .await
}

/// Whether the reply is marked `Idempotent-Replayed: true`.
fn replayed(reply: &Reply) -> bool {
    reply.header("idempotent-replayed") == Some("true")
}

/// Asserts `replay` is `original` again, marked as a replay.
#[track_caller]
fn assert_replay_of(replay: &Reply, original: &Reply) {
    assert!(replayed(replay), "not marked replayed: {replay:?}");
    assert_eq!(replay.status, original.status, "{replay:?}");
    assert_eq!(replay.text, original.text, "body bytes");
    assert_eq!(replay.header("location"), original.header("location"));
}

/// The display names of the service's users, through the gateway.
async fn users(gw: &Gateway) -> Vec<Value> {
    let list = gw.get("/v1/users").await.assert_json(200);
    let users = list
        .get("users")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    users.iter().map(|u| u["displayName"].clone()).collect()
}

#[tokio::test]
async fn a_create_whose_connection_died_after_acting_is_never_run_again() {
    for store in Store::all() {
        let mut service = Service::start(Mode::Vanish).await;
        let gw = gateway(service.addr, &store, &[]).await;

        let first = {
            let request = create(&gw, "once", "Ada");
            tokio::pin!(request);
            tokio::select! {
                reply = &mut request => panic!("answered before the service acted: {reply:?}"),
                () = Service::wait(&service.seen.created, 1, "created") => {}
            }
            service.kill().await;
            request.await
        };
        let body = first.assert_error(502, 2);
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("whether the service acted on it is unknown")),
            "{body}"
        );
        assert!(!replayed(&first), "{first:?}");

        // Back up, with its data; the client retries as often as it likes.
        service.set_mode(Mode::Answer);
        service.resume().await;
        for _ in 0..5 {
            assert_replay_of(&create(&gw, "once", "Ada").await, &first);
        }
        assert_eq!(service.arrived(), 1, "a retry reached the service");
        assert_eq!(users(&gw).await, vec![json!("Ada")], "one user");

        // The service is up: another key creates.
        let other = create(&gw, "twice", "Grace").await;
        other.assert_json(201);
        assert_eq!(service.created(), 2);
        assert_eq!(
            service.keys(),
            vec![Some("once".to_owned()), Some("twice".to_owned())],
            "the key reaches the service as metadata"
        );
        assert_eq!(users(&gw).await, vec![json!("Ada"), json!("Grace")]);
    }
}

#[tokio::test]
async fn a_deadline_that_passed_after_the_call_was_sent_is_kept() {
    for store in Store::all() {
        // The service creates the user and never answers.
        let service = Service::start(Mode::Vanish).await;
        let gw = gateway(service.addr, &store, &[]).await;
        let timed = |key: &'static str| {
            send(
                gw.request(Method::POST, "/v1/users")
                    .header("idempotency-key", key)
                    .header("grpc-timeout", "1S")
                    .header("content-type", "application/json")
                    .body(json!({"displayName": "Ada"}).to_string()),
            )
        };
        let first = timed("late").await;
        first.assert_error(504, 4);
        assert!(!replayed(&first));
        assert_eq!(service.created(), 1);

        service.set_mode(Mode::Answer);
        for _ in 0..3 {
            assert_replay_of(&timed("late").await, &first);
        }
        assert_eq!(service.arrived(), 1, "a retry reached the service");
        assert_eq!(users(&gw).await, vec![json!("Ada")]);
    }
}

#[tokio::test]
async fn a_request_given_up_mid_call_is_never_run_again() {
    for store in Store::all() {
        // The service creates the user and never answers; the gateway gives
        // the request up at its request timeout, before the call's deadline.
        let service = Service::start(Mode::Vanish).await;
        let gw = gateway(service.addr, &store, &["--request-timeout", "500ms"]).await;
        let first = create(&gw, "given-up", "Ada").await;
        first.assert_error(504, 4);
        assert_eq!(service.created(), 1);

        // The key's answer is stored in the background: until then, 409.
        service.set_mode(Mode::Answer);
        let until = tokio::time::Instant::now() + WAIT;
        let replay = loop {
            let reply = create(&gw, "given-up", "Ada").await;
            if reply.status != 409 {
                break reply;
            }
            assert!(tokio::time::Instant::now() < until, "still 409: {reply:?}");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        let body = replay.assert_error(502, 2);
        assert!(replayed(&replay), "{replay:?}");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("whether the service acted on it is unknown")),
            "{body}"
        );
        assert_replay_of(&create(&gw, "given-up", "Ada").await, &replay);
        assert_eq!(service.arrived(), 1, "a retry reached the service");
        assert_eq!(users(&gw).await, vec![json!("Ada")]);
    }
}

#[tokio::test]
async fn a_create_that_never_left_leaves_the_key_free() {
    for store in Store::all() {
        let addr = support::dead_addr();
        let gw = gateway(addr, &store, &[]).await;
        let refused = create(&gw, "later", "Ada").await;
        refused.assert_error(503, 14);
        assert!(!replayed(&refused));

        let service = Service::start_at(addr, Mode::Answer).await;
        let created = create(&gw, "later", "Ada").await;
        created.assert_json(201);
        assert!(!replayed(&created), "the 503 was kept: {created:?}");
        assert_eq!(service.created(), 1);
        assert_replay_of(&create(&gw, "later", "Ada").await, &created);
        assert_eq!(service.arrived(), 1);
        assert_eq!(service.keys(), vec![Some("later".to_owned())]);
    }
}

#[tokio::test]
async fn a_repeat_in_flight_is_409_with_retry_after_and_another_request_422() {
    for store in Store::all() {
        let service = Service::start(Mode::Hold).await;
        let gw = gateway(service.addr, &store, &[]).await;

        let first = tokio::spawn(send(
            gw.request(Method::POST, "/v1/users")
                .header("idempotency-key", "held")
                // Not what the service sees as the key.
                .header("grpc-metadata-idempotency-key", "forged")
                .header("content-type", "application/json")
                .body(json!({"displayName": "Ada"}).to_string()),
        ));
        Service::wait(&service.seen.arrived, 1, "arrived").await;

        let again = create(&gw, "held", "Ada").await;
        again.assert_error(409, 10);
        assert_eq!(again.header("retry-after"), Some("1"), "{again:?}");
        assert!(!replayed(&again));
        let other = create(&gw, "held", "Grace").await;
        other.assert_error(422, 3);
        assert_eq!(service.arrived(), 1, "only the first reached the service");

        service.seen.release.notify_one();
        let first = tokio::time::timeout(WAIT, first)
            .await
            .expect("the first answers within 20 s")
            .expect("the first request's task");
        first.assert_json(201);
        assert!(!replayed(&first));
        assert_eq!(first.header("location"), Some("/v1/users/1"));
        assert_replay_of(&create(&gw, "held", "Ada").await, &first);
        assert_eq!(service.arrived(), 1);
        assert_eq!(service.created(), 1);
        assert_eq!(service.keys(), vec![Some("held".to_owned())]);
        assert_eq!(users(&gw).await, vec![json!("Ada")]);
    }
}
