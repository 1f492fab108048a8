//! What the fuzz targets share: the fixture messages, the compiled route
//! tables (the bundled example and the test fixture service), and the
//! bundled example served in process, with the invariants every answer of
//! the gateway must keep (never a 5xx for what a client sent, every error
//! as the JSON error body).
//!
//! Everything is built once per process (the targets run single-threaded).

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use axum::body::Body;
use axum::response::Response;
use prost_reflect::{DescriptorPool, MessageDescriptor};
use restgate::compile::{Input, RouteTable};
use restgate::example::ExampleState;
use restgate::serve::{InProcess, WorkerService};

/// `proto/` of the restgate checkout this crate sits in.
fn proto_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto")
}

/// `testing/v1/fixture.proto`, where every kind of field is.
fn fixture_input() -> Input {
    let proto = proto_dir();
    Input::Protos {
        files: vec![proto.join("testing/v1/fixture.proto")],
        includes: vec![proto],
    }
}

/// The descriptors of the fixture service's protos.
pub fn fixture_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        restgate::compile::Descriptors::load(&fixture_input())
            .expect("testing/v1/fixture.proto loads")
            .pool()
            .clone()
    })
}

/// The fixture messages a target picks from with one byte: `Thing` has
/// every kind of field (scalars, enums, maps, oneofs, well-known types).
pub fn fixture_message(selector: u8) -> MessageDescriptor {
    const NAMES: [&str; 4] = [
        "testing.v1.Thing",
        "testing.v1.Nested",
        "testing.v1.Widget",
        "testing.v1.SearchThingsRequest",
    ];
    // Thing half the time: it is the one with every kind of field.
    let name = if selector & 1 == 0 {
        NAMES[0]
    } else {
        NAMES[usize::from(selector >> 1) % NAMES.len()]
    };
    fixture_pool()
        .get_message_by_name(name)
        .unwrap_or_else(|| panic!("{name} is in fixture.proto"))
}

/// The route table of the bundled example (users, accounts, blogs).
pub fn example_table() -> &'static RouteTable {
    static TABLE: OnceLock<RouteTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        RouteTable::load(&Input::Bundled)
            .expect("the bundled example compiles")
            .table
    })
}

/// The route table of the fixture service (every path and query shape the
/// integration tests use).
pub fn fixture_table() -> &'static RouteTable {
    static TABLE: OnceLock<RouteTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        RouteTable::load(&fixture_input())
            .expect("testing/v1/fixture.proto compiles")
            .table
    })
}

/// The runtime the in-process gateway runs on: one thread, as a worker.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// How many requests one example state serves before a fresh one replaces
/// it, so that what the inputs create does not pile up for the whole run.
const REQUESTS_PER_STATE: u32 = 2_000;

/// The bundled example served in process, and how many requests it served.
struct Served {
    service: WorkerService,
    requests: u32,
}

fn build_service() -> WorkerService {
    let _entered = runtime().enter();
    let state = ExampleState::new();
    let (users, accounts, blogs) = state.services();
    InProcess::new(restgate::pb::DESCRIPTOR_SET)
        .expect("the bundled descriptor set compiles")
        .service(users)
        .service(accounts)
        .service(blogs)
        .worker_service()
        .expect("the in-process service builds")
}

/// The bundled example served in process as a listener's connections are
/// served ([`WorkerService`]: REST straight to the handler, the rest
/// through the router), replaced every [`REQUESTS_PER_STATE`] requests.
pub fn example_service() -> WorkerService {
    static SERVED: Mutex<Option<Served>> = Mutex::new(None);
    let mut served = SERVED.lock().unwrap_or_else(|e| e.into_inner());
    let current = served.get_or_insert_with(|| Served {
        service: build_service(),
        requests: 0,
    });
    current.requests += 1;
    if current.requests > REQUESTS_PER_STATE {
        *current = Served {
            service: build_service(),
            requests: 1,
        };
    }
    current.service.clone()
}

/// Sends `request` through the in-process gateway and checks its answer:
/// never a 5xx (everything here is the client's doing, and the example
/// service fails only with client errors), and every 4xx carries the JSON
/// error body (a HEAD answer no body at all). Returns the answer's status and body.
pub async fn call_checked(request: http::Request<Body>) -> (http::StatusCode, bytes::Bytes) {
    let what = format!("{} {}", request.method(), request.uri());
    let response = hyper::service::Service::call(&example_service(), request)
        .await
        .unwrap_or_else(|e: Infallible| match e {});
    check_answer(&what, response).await
}

/// The invariants of one answer (see [`call_checked`]).
async fn check_answer(what: &str, response: Response) -> (http::StatusCode, bytes::Bytes) {
    let status = response.status();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    assert!(
        !status.is_server_error(),
        "{what}: answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    // A HEAD answer has GET's headers and no body (RFC 9110 §9.3.2).
    if what.starts_with("HEAD ") {
        assert!(body.is_empty(), "{what}: {status} has a body");
    } else if status.is_client_error() {
        assert!(
            content_type.starts_with("application/json"),
            "{what}: {status} with content type {content_type:?}"
        );
        let error: serde_json::Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{what}: {status} body is not JSON ({e})"));
        assert!(
            error.get("code").is_some() && error.get("message").is_some(),
            "{what}: {status} body is not the error body: {error}"
        );
    }
    (status, body)
}

/// A tower service over the example router that checks every answer, for
/// hyper to serve a connection with.
pub fn checked_service() -> impl tower::Service<
    http::Request<hyper::body::Incoming>,
    Response = http::Response<Body>,
    Error = Infallible,
    Future = impl Send,
> + Clone
       + Send {
    tower::service_fn(|request: http::Request<hyper::body::Incoming>| async move {
        let request = request.map(Body::new);
        let (status, body) = call_checked(request).await;
        let mut answer = http::Response::new(Body::from(body));
        *answer.status_mut() = status;
        Ok::<_, Infallible>(answer)
    })
}

/// The compiled plan of a fixture message (one cache for the process).
pub fn fixture_plan(desc: &MessageDescriptor) -> std::sync::Arc<restgate::transcode::MessagePlan> {
    static PLANS: OnceLock<restgate::transcode::PlanCache> = OnceLock::new();
    PLANS
        .get_or_init(restgate::transcode::PlanCache::new)
        .plan(desc)
}

/// JSON values equal, numbers as the same float: prost-reflect writes a
/// float field at 32 bits (`3.4028235e38`) or, in a reply holding an empty
/// Any, at 64 (`3.4028234663852886e38`), the same float either way.
pub fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::{Array, Number, Object};
    match (a, b) {
        (Object(x), Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, u)| y.get(k).is_some_and(|v| json_eq(u, v)))
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(u, v)| json_eq(u, v)),
        (Number(x), Number(y)) if x != y => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => {
                let single = |v: f64| f64::from(v as f32) == v;
                x as f32 == y as f32 && (single(x) || single(y))
            }
            _ => false,
        },
        _ => a == b,
    }
}
