//! REST in process: `InProcess` turns tonic service implementations into an
//! axum router (no network hop), and `grpc_and_rest` serves it and the gRPC
//! services on one listener — checked with a real HTTP client and a real
//! gRPC client against the same port; `InProcess::worker_service` is served
//! by hyper as a listener's connections are.

use restgate::example::ExampleState;
use restgate::pb::examples::v1::user_service_client::UserServiceClient;
use restgate::pb::examples::v1::GetUserRequest;
use restgate::serve::{grpc_and_rest, InProcess};
use serde_json::{json, Value};

#[tokio::test]
async fn grpc_and_rest_share_one_listener_and_one_state() {
    let state = ExampleState::new();
    let (users, accounts, blogs) = state.services();
    let rest = InProcess::new(restgate::pb::DESCRIPTOR_SET)
        .expect("the bundled descriptor set compiles")
        .service(users)
        .service(accounts)
        .service(blogs)
        .router()
        .expect("router");
    let app = grpc_and_rest(state.routes(), rest);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let http = client(std::time::Duration::from_secs(20));
    let base = format!("http://{addr}");
    let created = http
        .post(format!("{base}/v1/users"))
        .json(&json!({"displayName": "Ada"}))
        .header("Idempotency-Key", "k1")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["location"], "/v1/users/1");
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["displayName"], "Ada");

    // Same idempotency semantics as the gateway: a replay, no second user.
    let again = http
        .post(format!("{base}/v1/users"))
        .json(&json!({"displayName": "Ada"}))
        .header("Idempotency-Key", "k1")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");

    // Same statuses: a missing user is a 404 with the JSON error body.
    let missing = http.get(format!("{base}/v1/users/9")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let error: Value = missing.json().await.unwrap();
    assert_eq!(error["code"], 5);

    // gRPC on the same port sees what REST wrote.
    let mut grpc = UserServiceClient::connect(base.clone()).await.unwrap();
    let user = grpc
        .get_user(GetUserRequest {
            user_id: "1".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(user.display_name, "Ada");
    let list: Value = http
        .get(format!("{base}/v1/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["users"].as_array().map(Vec::len), Some(1));
}

/// The example's streaming methods in process: each NDJSON line goes to the
/// service as it is written and each answer comes back as it is made.
#[tokio::test]
async fn streaming_methods_stream_in_process() {
    use futures::StreamExt;
    use tokio::sync::mpsc;
    const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

    let (base, http) = serve_example(WAIT).await;

    // Client streaming: two lines, one answer.
    let imported = http
        .post(format!("{base}/v1/users:import"))
        .header("content-type", "application/x-ndjson")
        .body("{\"displayName\":\"Ada\"}\n{\"displayName\":\"Grace\"}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 200);
    let body: Value = imported.json().await.unwrap();
    assert_eq!(body["users"][1]["userId"], "2");
    assert_eq!(body["users"][1]["displayName"], "Grace");

    // Server streaming: one line per user.
    let streamed = http
        .get(format!("{base}/v1/users:stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), 200);
    assert_eq!(streamed.headers()["content-type"], "application/x-ndjson");
    let text = streamed.text().await.unwrap();
    let names: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["displayName"].clone())
        .collect();
    assert_eq!(names, [json!("Ada"), json!("Grace")]);

    // Bidirectional: line 2 is written only after answer 1 arrived; an
    // unknown user ends the stream with an error line.
    let (lines, receiver) = mpsc::channel::<Result<String, std::io::Error>>(4);
    let mut receiver = receiver;
    let body =
        reqwest::Body::wrap_stream(futures::stream::poll_fn(move |cx| receiver.poll_recv(cx)));
    let request = http
        .post(format!("{base}/v1/users:lookup"))
        .header("content-type", "application/x-ndjson")
        .body(body);
    let answer = tokio::spawn(request.send());
    lines
        .send(Ok("{\"userId\":\"2\"}\n".to_owned()))
        .await
        .unwrap();
    let answer = tokio::time::timeout(WAIT, answer)
        .await
        .expect("headers within WAIT")
        .unwrap()
        .unwrap();
    assert_eq!(answer.status(), 200);
    let mut chunks = answer.bytes_stream();
    let mut text = String::new();
    let mut next_line = async || loop {
        if let Some(end) = text.find('\n') {
            let line: String = text.drain(..=end).collect();
            return serde_json::from_str::<Value>(&line).unwrap();
        }
        let chunk = tokio::time::timeout(WAIT, chunks.next())
            .await
            .expect("a line within WAIT")
            .expect("more body")
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    };
    assert_eq!(next_line().await["displayName"], "Grace");
    lines
        .send(Ok("{\"userId\":\"9\"}\n".to_owned()))
        .await
        .unwrap();
    let error = next_line().await;
    assert_eq!(error["error"]["code"], 5, "{error}");
    assert_eq!(error["error"]["message"], "user 9 not found");
}

/// In process, the table compiled with `google_api_creates: never` answers
/// the google.api.http post on blogs' posts 200 without Location, as the
/// gateway does; the (restgate.rest) create of a blog stays 201.
#[tokio::test]
async fn in_process_follows_google_api_creates() {
    use restgate::compile::{CompileOptions, GoogleApiCreates};

    let state = ExampleState::new();
    let (users, accounts, blogs) = state.services();
    let options = CompileOptions {
        google_api_creates: GoogleApiCreates::Never,
    };
    let app = InProcess::with_compile_options(restgate::pb::DESCRIPTOR_SET, &options)
        .expect("the bundled descriptor set compiles")
        .service(users)
        .service(accounts)
        .service(blogs)
        .router()
        .expect("router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = client(std::time::Duration::from_secs(20));
    let base = format!("http://{addr}");

    let blog = http
        .post(format!("{base}/v1/blogs"))
        .json(&json!({"title": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(blog.status(), 201);
    assert_eq!(blog.headers()["location"], "/v1/blogs/1");
    let post = http
        .post(format!("{base}/v1/blogs/1/posts"))
        .json(&json!({"title": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    assert!(post.headers().get("location").is_none());
    let body: Value = post.json().await.unwrap();
    assert_eq!(body["title"], "t");
}

/// Found by fuzzing (`fuzz/`, target `ndjson_lines`): a bad line in a
/// client-streaming body was sometimes a 500 "the call was given up" in
/// process, as the service ended on the aborted body in the same poll as
/// the line failed. It is always the line's 400.
#[tokio::test]
async fn a_bad_ndjson_line_in_process_is_always_a_400() {
    let (base, http) = serve_example(std::time::Duration::from_secs(20)).await;
    // Client streaming (a good line, then a bad one) and bidirectional.
    let cases = [
        (
            "import",
            "{\"displayName\":\"A\"}\r\n{\"nope\":1}\n",
            "line 2",
        ),
        ("lookup", "{\"nope\":1}\n", "line 1"),
    ];
    for (method, body, says) in cases {
        for attempt in 0..50 {
            let reply = http
                .post(format!("{base}/v1/users:{method}"))
                .header("content-type", "application/x-ndjson")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = reply.status();
            let body: Value = reply.json().await.unwrap();
            assert_eq!(status, 400, "{method} attempt {attempt}: {body}");
            assert_eq!(body["code"], 3, "{method} attempt {attempt}: {body}");
            let message = body["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(says),
                "{method} attempt {attempt}: {message}"
            );
        }
    }
}

/// The bundled example's REST routes served in process on 127.0.0.1 (REST
/// only, one fresh state), and a client whose requests give up after
/// `timeout`: its base URL and the client.
async fn serve_example(timeout: std::time::Duration) -> (String, reqwest::Client) {
    let state = ExampleState::new();
    let (users, accounts, blogs) = state.services();
    let rest = InProcess::new(restgate::pb::DESCRIPTOR_SET)
        .expect("the bundled descriptor set compiles")
        .service(users)
        .service(accounts)
        .service(blogs)
        .router()
        .expect("router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, rest).await });
    (format!("http://{addr}"), client(timeout))
}

/// An HTTP client for loopback whose requests give up after `timeout`.
fn client(timeout: std::time::Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap()
}

/// `InProcess::worker_service` is what a listener's connections call: REST
/// straight to the handler, operational paths and encoded bodies through
/// the router. Served here by hyper on loopback, as the gateway's workers
/// serve it.
#[tokio::test]
async fn the_worker_service_answers_rest_ops_and_encoded_bodies() {
    use std::io::Write as _;
    let state = ExampleState::new();
    let (users, accounts, blogs) = state.services();
    let service = InProcess::new(restgate::pb::DESCRIPTOR_SET)
        .expect("the bundled descriptor set compiles")
        .service(users)
        .service(accounts)
        .service(blogs)
        .worker_service()
        .expect("service");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = builder.serve_connection(io, service).await;
            });
        }
    });
    let http = client(std::time::Duration::from_secs(20));
    let base = format!("http://{addr}");

    // Straight to the handler.
    let created = http
        .post(format!("{base}/v1/users"))
        .json(&json!({"displayName": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["location"], "/v1/users/1");
    assert!(created.headers().contains_key("x-request-id"));
    let missing = http.get(format!("{base}/v1/nothing")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let error: Value = missing.json().await.unwrap();
    assert_eq!(error["code"], 5);

    // Through the router: an operational path, and its 405.
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");
    let posted = http.post(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(posted.status(), 405);
    assert_eq!(posted.headers()["allow"], "GET, HEAD");

    // Through the router: a gzip body is decoded before the handler.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(br#"{"displayName":"Grace"}"#).unwrap();
    let encoded = http
        .post(format!("{base}/v1/users"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(encoded.status(), 201);
    assert_eq!(
        encoded.json::<Value>().await.unwrap()["displayName"],
        "Grace"
    );
}
