//! The hand-written floor of the load benchmark (`benches/load.sh`): an
//! axum → tonic proxy for exactly three routes of the bundled example
//! `UserService`, with the JSON written by hand.
//!
//! | route                     | gRPC method   | answer                         |
//! |---------------------------|---------------|--------------------------------|
//! | `POST /v1/users`          | `CreateUser`  | 201, `Location`, the user JSON |
//! | `PUT /v1/users/{user_id}` | `ReplaceUser` | 200, the user JSON             |
//! | `GET /v1/users/{user_id}` | `GetUser`     | 200, the user JSON             |
//!
//! ```text
//! static_proxy --upstream http://127.0.0.1:50051 --listen 127.0.0.1:8080 [--workers N]
//! ```
//!
//! The architecture is the one restgate itself uses: one **current-thread**
//! tokio runtime per worker thread (default: one per core), each with its own
//! `SO_REUSEPORT` listener on the same address and its own upstream HTTP/2
//! connection. The tonic client runs directly over hyper's
//! `http2::SendRequest` (no tonic `Channel`, no tower `Buffer` task), so a
//! request never leaves the thread that accepted it. Prints
//! `listening on http://ADDR` on stdout once every worker is connected and
//! listening. A worker whose upstream connection drops answers 502 from then
//! on (a benchmark floor, not a product: no reconnection).

use std::error::Error as _;
use std::future::Future;
use std::io;
use std::io::Write as _;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt as _;
use axum::Router;
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use restgate::pb::examples::v1::user_service_client::UserServiceClient;
use restgate::pb::examples::v1::{
    CreateUserRequest, GetUserRequest, ReplaceUserRequest, Role, User,
};
use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpStream;
use tonic::body::Body as GrpcBody;
use tonic::Code;

/// The tonic transport: one HTTP/2 connection's request sender, used as a
/// tower service. `poll_ready` only reports a closed connection; `call`
/// hands the request to the connection task on the same runtime.
#[derive(Clone)]
struct H2Channel {
    send: SendRequest<GrpcBody>,
}

/// The future of [`H2Channel::call`]: hyper's `send_request` future, boxed
/// because its type cannot be named.
type H2Future =
    Pin<Box<dyn Future<Output = Result<http::Response<Incoming>, hyper::Error>> + Send>>;

impl tower::Service<http::Request<GrpcBody>> for H2Channel {
    type Response = http::Response<Incoming>;
    type Error = hyper::Error;
    type Future = H2Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.send.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
        Box::pin(self.send.send_request(request))
    }
}

/// A worker's upstream client; cloning it is cheap (the connection is shared).
type Client = UserServiceClient<H2Channel>;

/// The command line.
struct Args {
    upstream: http::Uri,
    listen: SocketAddr,
    workers: usize,
}

const USAGE: &str =
    "usage: static_proxy --upstream http://HOST:PORT --listen ADDR:PORT [--workers N]";

fn parse_args() -> Result<Args, String> {
    let mut upstream = None;
    let mut listen = None;
    let mut workers = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--upstream" => {
                let uri: http::Uri = value()?.parse().map_err(|e| format!("--upstream: {e}"))?;
                if uri.scheme_str() != Some("http") || uri.authority().is_none() {
                    return Err("--upstream must look like http://HOST:PORT".into());
                }
                upstream = Some(uri);
            }
            "--listen" => {
                listen = Some(value()?.parse().map_err(|e| format!("--listen: {e}"))?);
            }
            "--workers" => {
                let n: usize = value()?.parse().map_err(|e| format!("--workers: {e}"))?;
                workers = Some(n.max(1));
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args {
        upstream: upstream.ok_or("--upstream is required")?,
        listen: listen.ok_or("--listen is required")?,
        workers: workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
    })
}

/// A non-blocking listener on `addr` with `SO_REUSEPORT`, so that every
/// worker can bind its own on the same port and the kernel spreads the
/// connections.
fn reuseport_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Opens the worker's HTTP/2 connection to the backend, retrying for a few
/// seconds while the backend starts.
async fn connect(authority: &str) -> io::Result<SendRequest<GrpcBody>> {
    let mut attempt = 0;
    let stream = loop {
        match TcpStream::connect(authority).await {
            Ok(stream) => break stream,
            Err(e) if attempt >= 50 => return Err(e),
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    stream.set_nodelay(true)?;
    let (send, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("static_proxy: upstream connection: {e}");
        }
    });
    Ok(send)
}

/// One worker thread: its own current-thread runtime, upstream connection
/// and listener. Reports on `ready` once it serves (or why it cannot).
fn worker(
    listener: std::net::TcpListener,
    upstream: http::Uri,
    ready: mpsc::Sender<Result<(), String>>,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let authority = upstream.authority().map_or("", |a| a.as_str()).to_owned();
        let authority = if upstream.port().is_some() {
            authority
        } else {
            format!("{authority}:80")
        };
        let send = match connect(&authority).await {
            Ok(send) => send,
            Err(e) => {
                let _ = ready.send(Err(format!("cannot connect to {upstream}: {e}")));
                return Ok(());
            }
        };
        let client: Client = UserServiceClient::with_origin(H2Channel { send }, upstream);
        let app = Router::new()
            .route("/v1/users", post(create_user))
            .route(
                "/v1/users/{user_id}",
                axum::routing::put(replace_user).get(get_user),
            )
            .with_state(client);
        let listener = tokio::net::TcpListener::from_std(listener)?.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let _ = ready.send(Ok(()));
        axum::serve(listener, app).await
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("static_proxy: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };

    // Bind the first listener (reading the port the kernel chose for port 0),
    // then the others on the same address.
    let mut listeners = Vec::with_capacity(args.workers);
    let mut addr = args.listen;
    for _ in 0..args.workers {
        match reuseport_listener(addr).and_then(|l| Ok((l.local_addr()?, l))) {
            Ok((local, listener)) => {
                addr = local;
                listeners.push(listener);
            }
            Err(e) => {
                eprintln!("static_proxy: cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }

    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    for (i, listener) in listeners.into_iter().enumerate() {
        let upstream = args.upstream.clone();
        let ready = ready_tx.clone();
        let done = done_tx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("static-proxy-{i}"))
            .spawn(move || {
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    worker(listener, upstream, ready)
                }));
                let _ = done.send(result);
            });
        if let Err(e) = spawned {
            eprintln!("static_proxy: cannot start worker {i}: {e}");
            return ExitCode::FAILURE;
        }
    }
    drop((ready_tx, done_tx));
    for _ in 0..args.workers {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("static_proxy: {e}");
                return ExitCode::FAILURE;
            }
            Err(_) => {
                eprintln!("static_proxy: a worker stopped before serving");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("listening on http://{addr}");
    let _ = io::stdout().flush();

    // Workers serve until the process is killed; one that stops ends it all.
    match done_rx.recv() {
        Ok(Ok(Ok(()))) | Err(_) => eprintln!("static_proxy: a worker stopped"),
        Ok(Ok(Err(e))) => eprintln!("static_proxy: worker: {e}"),
        Ok(Err(_)) => eprintln!("static_proxy: a worker panicked"),
    }
    ExitCode::FAILURE
}

// ---- handlers -------------------------------------------------------------

async fn create_user(State(mut client): State<Client>, body: Bytes) -> Response {
    let user = match parse_user(&body) {
        Ok(user) => user,
        Err(e) => return bad_json(&e),
    };
    match client
        .create_user(CreateUserRequest { user: Some(user) })
        .await
    {
        Ok(reply) => {
            let user = reply.into_inner();
            let location = format!("/v1/users/{}", utf8_percent_encode(&user.user_id, SEGMENT));
            let mut response = json(StatusCode::CREATED, &UserOut::from(&user));
            if let Ok(value) = HeaderValue::try_from(location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Err(status) => grpc_error(&status),
    }
}

async fn replace_user(
    State(mut client): State<Client>,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Response {
    let user = match parse_user(&body) {
        Ok(user) => user,
        Err(e) => return bad_json(&e),
    };
    let request = ReplaceUserRequest {
        user_id,
        user: Some(user),
    };
    match client.replace_user(request).await {
        Ok(reply) => json(StatusCode::OK, &UserOut::from(&reply.into_inner())),
        Err(status) => grpc_error(&status),
    }
}

async fn get_user(State(mut client): State<Client>, Path(user_id): Path<String>) -> Response {
    match client.get_user(GetUserRequest { user_id }).await {
        Ok(reply) => json(StatusCode::OK, &UserOut::from(&reply.into_inner())),
        Err(status) => grpc_error(&status),
    }
}

/// Characters escaped in the id of a `Location` path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

// ---- JSON by hand -----------------------------------------------------------

/// The fields of a `User` request body this proxy understands; others are
/// ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserIn {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    tags: Vec<String>,
}

fn parse_user(body: &[u8]) -> Result<User, serde_json::Error> {
    let user: UserIn = serde_json::from_slice(body)?;
    Ok(User {
        user_id: user.user_id,
        display_name: user.display_name,
        email: user.email,
        tags: user.tags,
        ..User::default()
    })
}

/// The `User` JSON answered: proto3 JSON names, default values left out, as
/// a JSON mapping would write them (int64 as a string, timestamps as RFC
/// 3339). `labels` and `address` are not written.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserOut<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    user_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    display_name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    karma: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    create_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_time: Option<String>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    etag: &'a str,
}

impl<'a> From<&'a User> for UserOut<'a> {
    fn from(user: &'a User) -> Self {
        UserOut {
            user_id: &user.user_id,
            display_name: &user.display_name,
            email: &user.email,
            role: (user.role != 0)
                .then(|| Role::try_from(user.role).map_or("", |r| r.as_str_name())),
            karma: (user.karma != 0).then(|| user.karma.to_string()),
            create_time: user.create_time.as_ref().map(rfc3339),
            update_time: user.update_time.as_ref().map(rfc3339),
            tags: &user.tags,
            etag: &user.etag,
        }
    }
}

/// `2024-05-01T12:00:00.123456789Z`, with 0, 3, 6 or 9 fraction digits as
/// the protobuf JSON mapping writes a `Timestamp`.
fn rfc3339(ts: &prost_types::Timestamp) -> String {
    let days = ts.seconds.div_euclid(86_400);
    let secs = ts.seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let nanos = ts.nanos.clamp(0, 999_999_999);
    let fraction = if nanos == 0 {
        String::new()
    } else if nanos % 1_000_000 == 0 {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    };
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{fraction}Z")
}

fn bad_json(e: &serde_json::Error) -> Response {
    error_json(
        StatusCode::BAD_REQUEST,
        Code::InvalidArgument,
        &e.to_string(),
    )
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The HTTP status of a gRPC code, as `google.rpc.Code` documents it.
fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn grpc_error(status: &tonic::Status) -> Response {
    // A status tonic made up because the call never got an answer (the
    // connection is gone) is the gateway's failure: 502.
    let http = if status.code() == Code::Unknown
        && (status.source().is_some() || status.message().starts_with("Service was not ready"))
    {
        StatusCode::BAD_GATEWAY
    } else {
        http_status(status.code())
    };
    error_json(http, status.code(), status.message())
}

fn error_json(http: StatusCode, code: Code, message: &str) -> Response {
    #[derive(Serialize)]
    struct ErrorOut<'a> {
        code: i32,
        message: &'a str,
    }
    json(
        http,
        &ErrorOut {
            code: code as i32,
            message,
        },
    )
}
