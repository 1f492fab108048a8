//! The gateway under test, started one of two ways, and an HTTP client that
//! talks to it:
//!
//! - in this process ([`Gateway::start`] and friends): the command line is
//!   parsed as `restgate serve … --listen 127.0.0.1:0` would parse it, and
//!   the gateway started through the same seam the binary uses
//!   (`restgate::cli::prepare_with_env`, with no environment, then
//!   `restgate::serve::run`); the address is
//!   read back from the running server. For tests of the request pipeline.
//! - as the real `restgate` binary ([`Gateway::spawn`] and friends), for
//!   tests of signals, logs, reload by SIGHUP and the process's exit.
//!   Readiness is the `listening on http[s]://…` line on stdout; stdout and
//!   stderr are then drained by background threads so the child never
//!   blocks on a full pipe.
//!
//! Dropping a [`Gateway`] stops it: it kills the process and waits for it,
//! or stops the workers. An in-process gateway given an idempotency file
//! (`--idempotency file:…`) also waits (bounded) for its workers to finish,
//! so that the file is free again; the others do not wait, as an HTTP/2
//! connection's graceful close needs the test's client, which runs on the
//! thread a wait would block.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use clap::Parser;
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::Value;
use tokio::sync::{oneshot, watch};

use super::fixture::FixtureHandle;

/// The bound on anything a test waits for: start-up, one request.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// How long dropping an in-process gateway with an idempotency file waits
/// for its workers.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// A running gateway.
pub(crate) struct Gateway {
    run: Run,
    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    pub(crate) base: String,
    /// The client every request of this gateway goes through.
    pub(crate) client: Client,
}

/// How the gateway runs.
enum Run {
    /// In this process, through the server seam.
    InProcess {
        running: Option<restgate::serve::Running>,
        /// Whether dropping it waits for the workers (they hold a file).
        wait: bool,
    },
    /// The `restgate` binary.
    Process(Process),
}

/// A spawned `restgate serve` and what it wrote on stderr.
struct Process {
    child: Child,
    stderr: Arc<Mutex<String>>,
    /// Bumped whenever more stderr arrived.
    stderr_grew: watch::Sender<usize>,
}

impl Gateway {
    /// Starts `restgate serve <args> --listen 127.0.0.1:0` in this process
    /// (relative paths from the crate's directory, the test's own) and
    /// waits (at most 20 s) until it listens.
    pub(crate) async fn start<S: AsRef<str>>(args: &[S]) -> Gateway {
        let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        let argv: Vec<String> = ["restgate", "serve"]
            .into_iter()
            .chain(args.iter().copied())
            .chain(["--listen", "127.0.0.1:0"])
            .map(str::to_owned)
            .collect();
        let restgate::cli::Args {
            command: Some(restgate::cli::Command::Serve(serve)),
        } = restgate::cli::Args::try_parse_from(&argv)
            .unwrap_or_else(|e| panic!("restgate serve {args:?}: {e}"))
        else {
            unreachable!("`serve` parses as the serve command");
        };
        // `prepare` blocks (and may ask an upstream of this test's runtime
        // for its reflection): off this thread. The settings are the
        // arguments' alone: no `RESTGATE_*` variable of the shell running
        // the tests.
        let (started, running) = oneshot::channel();
        thread::spawn(move || {
            let outcome = restgate::cli::prepare_with_env(&serve, []).and_then(|p| {
                let scheme = if p.connections.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                p.start().map(|running| (scheme, running))
            });
            let _ = started.send(outcome);
        });
        let (scheme, running) = match tokio::time::timeout(WAIT, running).await {
            Ok(Ok(Ok(started))) => started,
            Ok(Ok(Err(e))) => panic!("restgate serve {args:?}: cannot start: {e}"),
            Ok(Err(_)) => panic!("restgate serve {args:?}: start-up panicked"),
            Err(_) => panic!("restgate serve {args:?}: not listening within 20 s"),
        };
        let base = format!("{scheme}://{}", running.local_addr());
        let run = Run::InProcess {
            running: Some(running),
            wait: args.iter().any(|a| a.starts_with("file:")),
        };
        Gateway::ready(run, base)
    }

    /// Spawns `restgate serve <args> --listen 127.0.0.1:0` in the crate's
    /// directory and waits (at most 20 s) for its `listening on` line.
    pub(crate) async fn spawn<S: AsRef<str>>(args: &[S]) -> Gateway {
        let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        let mut child = super::restgate()
            .arg("serve")
            .args(&args)
            .args(["--listen", "127.0.0.1:0"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn restgate");

        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_grew = watch::Sender::new(0);
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        let grew = stderr_grew.clone();
        let err_thread = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]);
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_str(&text);
                grew.send_modify(|n| *n += 1);
            }
        });

        let stdout = child.stdout.take().expect("piped stdout");
        let (ready, listening) = oneshot::channel::<String>();
        thread::spawn(move || {
            let mut ready = Some(ready);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("listening on ") {
                    if let Some(tx) = ready.take() {
                        let url = rest.split_whitespace().next().unwrap_or("");
                        let _ = tx.send(url.to_owned());
                    }
                }
            }
        });

        let base = match tokio::time::timeout(WAIT, listening).await {
            Ok(Ok(url)) => url,
            outcome => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = err_thread.join();
                let stderr = stderr.lock().unwrap_or_else(PoisonError::into_inner);
                let why = if outcome.is_err() {
                    "no `listening on` line within 20 s"
                } else {
                    "stdout closed before a `listening on` line"
                };
                panic!("restgate serve {args:?}: {why}; stderr:\n{stderr}");
            }
        };
        let process = Process {
            child,
            stderr,
            stderr_grew,
        };
        Gateway::ready(Run::Process(process), base)
    }

    /// The gateway at `base`, with its client.
    fn ready(run: Run, base: String) -> Gateway {
        assert!(
            base.starts_with("http://127.0.0.1:") || base.starts_with("https://127.0.0.1:"),
            "listening on {base:?}: expected http[s]://127.0.0.1:PORT"
        );
        let client = Client::builder()
            .no_proxy()
            .timeout(WAIT)
            .build()
            .expect("reqwest client");
        Gateway { run, base, client }
    }

    /// The spawned process; panics for a gateway in this process.
    #[track_caller]
    fn process(&self) -> &Process {
        match &self.run {
            Run::Process(process) => process,
            Run::InProcess { .. } => {
                panic!(
                    "signals, exit codes and stderr need the binary: start it with Gateway::spawn*"
                )
            }
        }
    }

    /// `serve --proto proto/testing/v1/fixture.proto -I proto --upstream
    /// http://<fixture> <extra>`.
    pub(crate) async fn fixture(fixture: &FixtureHandle, extra: &[&str]) -> Gateway {
        Gateway::start(&fixture_args(fixture, extra)).await
    }

    /// [`Gateway::fixture`], the binary spawned.
    pub(crate) async fn spawn_fixture(fixture: &FixtureHandle, extra: &[&str]) -> Gateway {
        Gateway::spawn(&fixture_args(fixture, extra)).await
    }

    /// `serve --proto <the example's protos> --upstream http://<addr>`: the
    /// descriptors from files, so the example need not be up at start.
    pub(crate) async fn example(addr: SocketAddr) -> Gateway {
        Gateway::example_with(addr, &[]).await
    }

    /// [`Gateway::example`], the binary spawned.
    pub(crate) async fn spawn_example(addr: SocketAddr) -> Gateway {
        Gateway::spawn_example_with(addr, &[]).await
    }

    /// `serve --proto <the example's protos> --upstream http://<addr> <extra>`.
    pub(crate) async fn example_with(addr: SocketAddr, extra: &[&str]) -> Gateway {
        Gateway::start(&example_args(addr, extra)).await
    }

    /// [`Gateway::example_with`], the binary spawned.
    pub(crate) async fn spawn_example_with(addr: SocketAddr, extra: &[&str]) -> Gateway {
        Gateway::spawn(&example_args(addr, extra)).await
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The address the gateway listens on (from its `listening on` line).
    pub(crate) fn addr(&self) -> SocketAddr {
        let hostport = self
            .base
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        hostport
            .parse()
            .unwrap_or_else(|e| panic!("listening on {:?}: {e}", self.base))
    }

    /// The gateway's process id (a spawned gateway's).
    pub(crate) fn pid(&self) -> u32 {
        self.process().child.id()
    }

    /// Sends the process SIGTERM (`kill -TERM <pid>`).
    pub(crate) fn terminate(&self) {
        let pid = self.pid();
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid}: {status}");
    }

    /// Waits (at most 20 s) for the process to exit and returns its exit
    /// code, `None` when a signal ended it. Panics, showing stderr, when it
    /// is still running after 20 s.
    pub(crate) async fn wait_exit(&mut self) -> Option<i32> {
        let deadline = tokio::time::Instant::now() + WAIT;
        self.process();
        loop {
            let Run::Process(process) = &mut self.run else {
                unreachable!("checked above");
            };
            match process.child.try_wait() {
                Ok(Some(status)) => return status.code(),
                Ok(None) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(None) => panic!(
                    "restgate still running 20 s later; stderr:\n{}",
                    self.stderr()
                ),
                Err(e) => panic!("waiting for restgate: {e}"),
            }
        }
    }

    /// What the gateway wrote on stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.process()
            .stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits (at most 20 s) until what the gateway wrote on stderr satisfies
    /// `done`; returns whether it did.
    pub(crate) async fn wait_stderr(&self, done: impl Fn(&str) -> bool) -> bool {
        let process = self.process();
        let mut grew = process.stderr_grew.subscribe();
        let stderr = process.stderr.clone();
        let check = move |_: &usize| done(&stderr.lock().unwrap_or_else(PoisonError::into_inner));
        let outcome = tokio::time::timeout(WAIT, grew.wait_for(check)).await;
        matches!(outcome, Ok(Ok(_)))
    }

    /// `method path` with a JSON body and `Idempotency-Key: key`.
    pub(crate) async fn keyed(&self, method: Method, path: &str, key: &str, body: &Value) -> Reply {
        send(
            self.request(method, path)
                .header("idempotency-key", key)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    /// A request to `path`, to finish with headers or a body and [`send`].
    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> Reply {
        send(self.request(Method::GET, path)).await
    }

    /// `method path` with a JSON body (`Content-Type: application/json`).
    pub(crate) async fn send_json(&self, method: Method, path: &str, body: &Value) -> Reply {
        send(
            self.request(method, path)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    /// `POST path` with a JSON body.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send_json(Method::POST, path, body).await
    }

    /// `PUT path` with a JSON body.
    pub(crate) async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send_json(Method::PUT, path, body).await
    }

    /// `PATCH path` with a JSON body.
    pub(crate) async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send_json(Method::PATCH, path, body).await
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        match &mut self.run {
            Run::Process(process) => {
                let _ = process.child.kill();
                let _ = process.child.wait();
            }
            Run::InProcess { running, wait } => match running.take() {
                Some(running) if *wait => running.shutdown(STOP_WAIT),
                // Dropped: the workers stop accepting and finish on their own.
                _ => {}
            },
        }
    }
}

/// `--proto proto/testing/v1/fixture.proto -I proto --upstream
/// http://<fixture> <extra>`.
fn fixture_args(fixture: &FixtureHandle, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--proto".to_owned(),
        "proto/testing/v1/fixture.proto".to_owned(),
        "-I".to_owned(),
        "proto".to_owned(),
        "--upstream".to_owned(),
        format!("http://{}", fixture.addr),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    args
}

/// `--proto <the example's protos> -I proto --upstream http://<addr> <extra>`.
fn example_args(addr: SocketAddr, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--proto".to_owned(),
        "proto/examples/v1/users.proto".to_owned(),
        "proto/examples/v1/blogs.proto".to_owned(),
        "-I".to_owned(),
        "proto".to_owned(),
        "--upstream".to_owned(),
        format!("http://{addr}"),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    args
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Reply {
    /// The body as JSON; panics (showing the body) when it is not.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("{} body is not JSON ({e}): {:?}", self.status, self.text))
    }

    /// The value of header `name`, when present and ASCII.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status is `status`, showing the body when it is not.
    #[track_caller]
    pub(crate) fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "status; headers {:?}; body {}",
            self.headers,
            self.text
        );
        self
    }

    /// Asserts a JSON reply: the status and `Content-Type: application/json`.
    #[track_caller]
    pub(crate) fn assert_json(&self, status: u16) -> Value {
        self.assert_status(status);
        let content_type = self.header("content-type").unwrap_or("");
        assert!(
            content_type.starts_with("application/json"),
            "content-type {content_type:?}, body {}",
            self.text
        );
        self.json()
    }

    /// Asserts an error reply: HTTP `status`, a JSON body with gRPC `code`, a
    /// string `message`, and `details` absent or an array. Returns the body.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: i64) -> Value {
        let body = self.assert_json(status);
        assert_eq!(body["code"].as_i64(), Some(code), "code in {body}");
        assert!(body["message"].is_string(), "message in {body}");
        assert!(
            body.get("details").is_none_or(Value::is_array),
            "details in {body}"
        );
        body
    }
}

/// Sends `request` and reads the whole response, all within 20 s.
pub(crate) async fn send(request: RequestBuilder) -> Reply {
    let exchange = async {
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        Ok::<_, reqwest::Error>(Reply {
            status,
            headers,
            text,
        })
    };
    match tokio::time::timeout(WAIT, exchange).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => panic!("request failed: {e:?}"),
        Err(_) => panic!("no response within 20 s"),
    }
}
