//! The real `restgate` binary, run as `restgate serve … --listen
//! 127.0.0.1:0`, and an HTTP client that talks to it.
//!
//! Readiness is the `listening on http[s]://…` line on stdout; stdout and stderr
//! are then drained by background threads so the child never blocks on a full
//! pipe. Dropping a [`Gateway`] kills the process.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::Value;
use tokio::sync::{oneshot, watch};

use super::fixture::FixtureHandle;

/// The bound on anything a test waits for: start-up, one request.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// A running gateway process.
pub(crate) struct Gateway {
    child: Child,
    /// `http://127.0.0.1:PORT` (`https://` with TLS), as the gateway
    /// printed it.
    pub(crate) base: String,
    /// The client every request of this gateway goes through.
    pub(crate) client: Client,
    stderr: Arc<Mutex<String>>,
    /// Bumped whenever more stderr arrived.
    stderr_grew: watch::Sender<usize>,
}

impl Gateway {
    /// Spawns `restgate serve <args> --listen 127.0.0.1:0` in the crate's
    /// directory and waits (at most 20 s) for its `listening on` line.
    pub(crate) async fn start(args: &[&str]) -> Gateway {
        let mut child = Command::new(env!("CARGO_BIN_EXE_restgate"))
            .arg("serve")
            .args(args)
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
        assert!(
            base.starts_with("http://127.0.0.1:") || base.starts_with("https://127.0.0.1:"),
            "listening on {base:?}: expected http[s]://127.0.0.1:PORT"
        );
        let client = Client::builder()
            .no_proxy()
            .timeout(WAIT)
            .build()
            .expect("reqwest client");
        Gateway {
            child,
            base,
            client,
            stderr,
            stderr_grew,
        }
    }

    /// `serve --proto proto/testing/v1/fixture.proto -I proto --upstream
    /// http://<fixture> <extra>`.
    pub(crate) async fn fixture(fixture: &FixtureHandle, extra: &[&str]) -> Gateway {
        let upstream = format!("http://{}", fixture.addr);
        let mut args = vec![
            "--proto",
            "proto/testing/v1/fixture.proto",
            "-I",
            "proto",
            "--upstream",
            &upstream,
        ];
        args.extend_from_slice(extra);
        Gateway::start(&args).await
    }

    /// `serve --proto <the example's protos> --upstream http://<addr>`: the
    /// descriptors from files, so the example need not be up at start.
    pub(crate) async fn example(addr: SocketAddr) -> Gateway {
        Gateway::example_with(addr, &[]).await
    }

    /// `serve --proto <the example's protos> --upstream http://<addr> <extra>`.
    pub(crate) async fn example_with(addr: SocketAddr, extra: &[&str]) -> Gateway {
        let upstream = format!("http://{addr}");
        let mut args = vec![
            "--proto",
            "proto/examples/v1/users.proto",
            "proto/examples/v1/blogs.proto",
            "-I",
            "proto",
            "--upstream",
            &upstream,
        ];
        args.extend_from_slice(extra);
        Gateway::start(&args).await
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

    /// The gateway's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends the process SIGTERM (`kill -TERM <pid>`).
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {}: {status}", self.child.id());
    }

    /// Waits (at most 20 s) for the process to exit and returns its exit
    /// code, `None` when a signal ended it. Panics, showing stderr, when it
    /// is still running after 20 s.
    pub(crate) async fn wait_exit(&mut self) -> Option<i32> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match self.child.try_wait() {
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
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits (at most 20 s) until what the gateway wrote on stderr satisfies
    /// `done`; returns whether it did.
    pub(crate) async fn wait_stderr(&self, done: impl Fn(&str) -> bool) -> bool {
        let mut grew = self.stderr_grew.subscribe();
        let stderr = self.stderr.clone();
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
