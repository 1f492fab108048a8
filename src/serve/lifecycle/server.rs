//! The server seam: [`run`] serves a table on bound listeners and returns a
//! [`Running`] handle, which tells the address, swaps the table (reload) and
//! stops the workers. `restgate serve` and the tests start the gateway the
//! same way.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tokio::sync::watch;

use super::workers::{self, Connections};
use super::Current;
use crate::serve::Shared;

/// Serves `shared` on `listeners` (see [`bind`](super::bind); one worker
/// thread each), until [`Running::shutdown`] or the handle is dropped.
pub fn run(
    listeners: Vec<TcpListener>,
    shared: Arc<Shared>,
    connections: Connections,
) -> std::io::Result<Running> {
    let addr = match listeners.first() {
        Some(listener) => listener.local_addr()?,
        None => return Err(std::io::Error::other("no listener to serve on")),
    };
    let current = Current::new(shared);
    let (stop, stopped) = watch::channel(false);
    let workers = workers::start(&current, listeners, &connections, &stopped)?;
    Ok(Running {
        addr,
        current,
        stop,
        workers,
    })
}

/// A running gateway: its address, the table it serves, its workers and the
/// switch that stops them. Dropping it stops accepting without waiting.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    current: Arc<Current>,
    stop: watch::Sender<bool>,
    workers: Vec<thread::JoinHandle<()>>,
}

impl Running {
    /// The address the workers accept on (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The table being served; [`Current::swap`] reloads it.
    pub fn current(&self) -> &Current {
        &self.current
    }

    /// Drains for `delay` before [`Running::shutdown`]: `/readyz` answers
    /// 503 "draining" and HTTP/1 replies carry `Connection: close` at once,
    /// while the listeners keep accepting, so that a load balancer that
    /// polls readiness stops sending here before any connection is refused.
    /// Returns when `delay` is over (at once for 0).
    pub fn drain(&self, delay: Duration) {
        self.current.start_draining();
        if !delay.is_zero() {
            tracing::info!(?delay, "draining: /readyz answers 503, still accepting");
            thread::sleep(delay);
        }
    }

    /// Stops accepting (HTTP/2 connections get GOAWAY, idle HTTP/1 ones
    /// are closed), lets requests in flight finish for at most `grace`,
    /// then returns (the workers still running are left to the process exit).
    pub fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = std::time::Instant::now() + grace;
        for worker in std::mem::take(&mut self.workers) {
            while !worker.is_finished() && std::time::Instant::now() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
            if worker.is_finished() {
                let _ = worker.join();
            } else {
                tracing::warn!(
                    ?grace,
                    "requests still in flight after the grace period; exiting anyway"
                );
                return;
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
