//! Descriptors from the upstream's gRPC server reflection, through the real
//! binary: `serve --upstream` alone serves the routes of the example service
//! and of the fixture (v1, and a v1alpha-only server); `routes --upstream`
//! prints what `routes --proto` prints; `check --upstream` reports invalid
//! annotations; an upstream without reflection is a clear error; reflection
//! goes over the upstream's TLS settings; SIGHUP asks the reflection again,
//! and a failed fetch keeps the old table.

#[path = "support/backend.rs"]
mod backend;
mod support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::json;
use support::{dead_addr, start_example, start_fixture, start_fixture_with, Gateway, WAIT};
use tonic::body::Body;
use tonic::codegen::{http, BoxFuture, Context, Poll, Service};
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tonic_reflection::server::v1;

/// Runs `restgate <args>` (at most [`WAIT`]): exit code, stdout, stderr.
async fn restgate(args: &[&str]) -> (i32, String, String) {
    let run = tokio::process::Command::from(support::restgate())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(WAIT, run)
        .await
        .expect("restgate finishes in time")
        .expect("run restgate");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

/// An encoded descriptor set of `file` (under `proto/` or `dir`), imports
/// and source info included, options kept as written.
fn descriptor_set(dir: Option<&std::path::Path>, file: &str) -> &'static [u8] {
    let mut includes = Vec::new();
    includes.extend(dir.map(std::path::Path::to_path_buf));
    includes.push(std::path::PathBuf::from("proto"));
    let mut compiler = protox::Compiler::new(includes).expect("includes");
    compiler.include_imports(true).include_source_info(true);
    compiler.open_file(file).expect("compiles");
    compiler.encode_file_descriptor_set().leak()
}

/// Reflection v1 of `set`.
fn reflection_v1(set: &'static [u8]) -> v1::ServerReflectionServer<impl v1::ServerReflection> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(set)
        .build_v1()
        .expect("reflection v1")
}

#[tokio::test]
async fn serve_with_only_an_upstream_serves_the_example_by_reflection() {
    let example = start_example().await;
    let upstream = format!("http://{example}");
    let gw = Gateway::start(&["--upstream", &upstream]).await;

    let reply = gw.post("/v1/users", &json!({"displayName": "Ada"})).await;
    let body = reply.assert_json(201);
    let id = body["userId"].as_str().expect("userId");
    assert_eq!(reply.header("location"), Some(&*format!("/v1/users/{id}")));
    let got = gw.get(&format!("/v1/users/{id}")).await.assert_json(200);
    assert_eq!(got, body);
}

#[tokio::test]
async fn serve_with_only_an_upstream_serves_the_fixture_by_reflection_v1() {
    let set = descriptor_set(None, "testing/v1/fixture.proto");
    let fixture = start_fixture_with(Routes::new(reflection_v1(set))).await;
    let upstream = format!("http://{}", fixture.addr);
    let gw = Gateway::start(&["--upstream", &upstream]).await;

    let reply = gw
        .post("/v1/shelves/s1/widgets", &json!({"title": "t", "size": 3}))
        .await;
    let body = reply.assert_json(201);
    assert_eq!(reply.header("location"), Some("/v1/shelves/s1/widgets/w1"));
    assert_eq!(
        body,
        json!({"widgetId": "w1", "shelfId": "s1", "title": "t", "size": 3})
    );
    assert_eq!(fixture.calls("CreateWidget"), 1);
}

#[tokio::test]
async fn a_server_with_only_reflection_v1alpha_is_understood() {
    let set = descriptor_set(None, "testing/v1/fixture.proto");
    let v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(set)
        .build_v1alpha()
        .expect("reflection v1alpha");
    let fixture = start_fixture_with(Routes::new(v1alpha)).await;
    let upstream = format!("http://{}", fixture.addr);
    let gw = Gateway::start(&["--upstream", &upstream]).await;

    let reply = gw
        .put(
            "/v1/shelves/s1/widgets/w9",
            &json!({"title": "t", "size": 1}),
        )
        .await;
    let body = reply.assert_json(200);
    assert_eq!(body["widgetId"], json!("w9"));
    assert_eq!(fixture.calls("ReplaceWidget"), 1);
}

#[tokio::test]
async fn routes_and_openapi_by_reflection_match_those_of_the_protos() {
    let example = start_example().await;
    let upstream = format!("http://{example}");
    let protos = [
        "--proto",
        "proto/examples/v1/users.proto",
        "proto/examples/v1/blogs.proto",
        "-I",
        "proto",
    ];
    for command in [
        &["routes"][..],
        &["routes", "--format", "json"],
        &["openapi"],
    ] {
        let by_reflection = [command, &["--upstream", &upstream]].concat();
        let (code, reflected, stderr) = restgate(&by_reflection).await;
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stderr, "");
        let (code, from_files, stderr) = restgate(&[command, &protos[..]].concat()).await;
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(reflected, from_files, "{command:?}");
        assert!(reflected.contains("/v1/users"), "{reflected}");
    }
    let (code, stdout, stderr) = restgate(&["check", "--upstream", &upstream]).await;
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert!(stdout.starts_with("ok: "), "{stdout}");
}

#[tokio::test]
async fn check_by_reflection_reports_invalid_annotations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("bad/v1")).unwrap();
    std::fs::write(
        dir.path().join("bad/v1/bad.proto"),
        "syntax = \"proto3\";\npackage bad.v1;\nimport \"google/api/annotations.proto\";\n\
         service Bad {\n  rpc Get(Thing) returns (Thing) {\n    \
         option (google.api.http) = { get: \"/v1/things/{missing}\" };\n  }\n}\n\
         message Thing { string name = 1; }\n",
    )
    .unwrap();
    let set = descriptor_set(Some(dir.path()), "bad/v1/bad.proto");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        Server::builder()
            .add_service(reflection_v1(set))
            .serve_with_incoming(TcpIncoming::from(listener)),
    );

    let (code, stdout, stderr) =
        restgate(&["check", "--upstream", &format!("http://{addr}")]).await;
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("bad/v1/bad.proto:6:"), "{stderr}");
    assert!(stderr.contains("missing"), "{stderr}");
    assert!(stderr.contains("restgate: 1 error"), "{stderr}");
}

#[tokio::test]
async fn an_upstream_without_reflection_is_a_clear_error() {
    let fixture = start_fixture().await;
    let upstream = format!("http://{}", fixture.addr);
    for command in ["routes", "openapi", "check"] {
        let (code, stdout, stderr) = restgate(&[command, "--upstream", &upstream]).await;
        assert_eq!(code, 1, "{command}: {stderr}");
        assert_eq!(stdout, "");
        assert!(
            stderr.contains(&format!(
                "cannot load descriptors from upstream {upstream}: it does not serve gRPC server reflection"
            )),
            "{stderr}"
        );
    }
    let (code, stdout, stderr) =
        restgate(&["serve", "--upstream", &upstream, "--listen", "127.0.0.1:0"]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert!(
        stderr.contains("cannot load descriptors from upstream"),
        "{stderr}"
    );
    assert_eq!(fixture.total_calls(), 0);

    // Nothing listening: refused at once, named.
    let dead = format!("http://{}", dead_addr());
    let (code, _, stderr) = restgate(&["routes", "--upstream", &dead]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot load descriptors from upstream {dead}: ")),
        "{stderr}"
    );

    // --upstream with --proto is bad usage.
    let (code, _, stderr) = restgate(&[
        "routes",
        "--upstream",
        &upstream,
        "--proto",
        "proto/testing/v1/fixture.proto",
    ])
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

/// Reflection v1 that counts its calls, and answers `UNIMPLEMENTED` while
/// `refuse` is set (v1alpha is not served at all).
#[derive(Clone)]
struct Counted<S> {
    inner: S,
    calls: Arc<AtomicUsize>,
    refuse: Arc<AtomicBool>,
}

impl<S: NamedService> NamedService for Counted<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for Counted<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.refuse.load(Ordering::SeqCst) {
            let refused = tonic::Status::unimplemented("reflection is off").into_http();
            return Box::pin(async move { Ok(refused) });
        }
        Box::pin(self.inner.call(request))
    }
}

fn hup(gw: &Gateway) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gw.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[tokio::test]
async fn sighup_asks_the_reflection_again_and_a_failed_fetch_keeps_the_table() {
    let set = descriptor_set(None, "testing/v1/fixture.proto");
    let calls = Arc::new(AtomicUsize::new(0));
    let refuse = Arc::new(AtomicBool::new(false));
    let counted = Counted {
        inner: reflection_v1(set),
        calls: calls.clone(),
        refuse: refuse.clone(),
    };
    let fixture = start_fixture_with(Routes::new(counted)).await;
    let upstream = format!("http://{}", fixture.addr);
    let gw = Gateway::spawn(&["--upstream", &upstream]).await;
    let at_start = calls.load(Ordering::SeqCst);
    assert!(at_start >= 2, "a list, then the files: {at_start}");

    hup(&gw);
    assert!(gw.wait_stderr(|s| s.contains("reloaded")).await);
    assert_eq!(calls.load(Ordering::SeqCst), 2 * at_start);
    gw.get("/v1/shelves/special").await.assert_status(200);

    // Reflection off (v1 and v1alpha refused): the reload is rejected and
    // the table fetched before keeps serving.
    refuse.store(true, Ordering::SeqCst);
    hup(&gw);
    assert!(gw.wait_stderr(|s| s.contains("reload rejected")).await);
    assert!(
        gw.stderr()
            .contains("does not serve gRPC server reflection"),
        "{}",
        gw.stderr()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2 * at_start + 1);
    gw.get("/v1/shelves/special").await.assert_status(200);
    assert_eq!(fixture.calls("Special"), 2);
}

#[tokio::test]
async fn reflection_goes_over_the_upstreams_tls() {
    let pki = backend::Pki::new();
    let backend = backend::Backend::tls(pki.server_config(false)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = |name: &str, ca: &std::path::Path| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "[upstreams.secure]\nendpoints = [\"{}\"]\n[upstreams.secure.tls]\nca-file = \"{}\"\n",
                backend.uri("https"),
                ca.display()
            ),
        )
        .unwrap();
        path
    };
    let good = config("good.toml", &pki.ca);
    let gw = Gateway::start(&["--config", good.to_str().unwrap()]).await;
    let asked = backend.calls();
    assert!(asked >= 2, "a list, then the files: {asked}");
    let created = gw
        .post("/v1/users", &json!({"displayName": "over TLS"}))
        .await;
    assert_eq!(created.assert_json(201)["displayName"], "over TLS");
    assert_eq!(backend.calls(), asked + 1);

    // The wrong CA: no descriptors, a clear error, exit 1.
    let wrong = config("wrong.toml", &pki.other_ca);
    let (code, stdout, stderr) = restgate(&[
        "serve",
        "--config",
        wrong.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ])
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "cannot load descriptors from upstream {}",
            backend.uri("https").to_string().trim_end_matches('/')
        )),
        "{stderr}"
    );
    assert_eq!(backend.calls(), asked + 1);
}
