//! A real `redis-server` of the test's own on a free loopback port, for the
//! tests of the Redis idempotency store. Without one installed the test
//! fails, it does not skip: CI installs it.
//!
//! Readiness is the server's own `Ready to accept connections` log line,
//! then one TCP connection; the process is killed on drop.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;

use super::gateway::WAIT;

/// A running `redis-server`, killed on drop.
pub(crate) struct RedisServer {
    child: Child,
    /// The loopback port it listens on.
    pub(crate) port: u16,
}

impl RedisServer {
    /// Starts one on a free port and waits (at most 20 s) until it accepts
    /// connections. A port found free can be taken before the server binds
    /// it, so a server that exits early is tried again on another port.
    pub(crate) fn start() -> RedisServer {
        (0..3)
            .find_map(|_| RedisServer::spawn(free_port()))
            .expect("redis-server exited before it was ready, on 3 free ports in a row")
    }

    /// The server on `port` (e.g. a stopped server's, to start it again),
    /// ready; `None` when it exited first (the port was taken).
    pub(crate) fn spawn(port: u16) -> Option<RedisServer> {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "notice"])
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): the Redis idempotency tests need a real \
                     server on PATH; install it (Debian: apt-get install redis-server)"
                )
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready, is_ready) = mpsc::channel::<()>();
        // Reads the log to its end, so the server never blocks on the pipe.
        thread::spawn(move || {
            let mut ready = Some(ready);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.contains("Ready to accept connections") {
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(());
                    }
                }
            }
        });
        let server = RedisServer { child, port };
        match is_ready.recv_timeout(WAIT) {
            Ok(()) => {
                TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| {
                    panic!("redis-server said it was ready on port {port}, but: {e}")
                });
                Some(server)
            }
            // The log ended without the line: the server exited.
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("redis-server on port {port} was not ready within 20 s")
            }
        }
    }

    /// `redis://127.0.0.1:PORT`, the `--idempotency` value.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listened on a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}
