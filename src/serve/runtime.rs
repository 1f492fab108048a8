//! How the gateway runs: one current-thread tokio runtime per worker thread,
//! each with its own `SO_REUSEPORT` listener on the same address and its own
//! upstream connections.
//!
//! Why not tokio's multi-thread runtime: on a small machine, work stealing and
//! cross-thread wake-ups cost more per request than everything the gateway
//! itself does (measured: see BENCHMARKS.md). Per-core runtimes keep each
//! request on one thread from accept to reply while still using every core;
//! the kernel spreads connections over the listeners.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;

use axum::serve::ListenerExt as _;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::watch;

use super::{app, Gateway, Shared};

/// Binds `workers` listeners on `addr` (port 0: the first picks the port,
/// the others share it).
pub fn bind(addr: SocketAddr, workers: usize) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::with_capacity(workers);
    let mut addr = addr;
    for _ in 0..workers.max(1) {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        #[cfg(unix)]
        socket.set_reuse_port(true)?;
        socket.set_tcp_nodelay(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        let listener: TcpListener = socket.into();
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// A running gateway: its workers and the switch that stops them.
#[derive(Debug)]
pub struct Running {
    stop: watch::Sender<bool>,
    workers: Vec<thread::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, and waits for the workers.
    pub fn shutdown(self) {
        let _ = self.stop.send(true);
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

/// Starts one worker thread per listener, serving `shared`.
pub fn start(shared: Arc<Shared>, listeners: Vec<TcpListener>) -> std::io::Result<Running> {
    let (stop, stopped) = watch::channel(false);
    let mut workers = Vec::with_capacity(listeners.len());
    for (i, listener) in listeners.into_iter().enumerate() {
        let shared = Arc::clone(&shared);
        let mut stopped = stopped.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let worker = thread::Builder::new()
            .name(format!("restgate-worker-{i}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let gateway = match Gateway::new(shared) {
                        Ok(g) => Arc::new(g),
                        Err(e) => {
                            tracing::error!(error = %e, "worker cannot start");
                            return;
                        }
                    };
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(error = %e, "worker cannot listen");
                            return;
                        }
                    };
                    let shutdown = async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    };
                    // Replies are small and written whole: send them at once.
                    let listener = listener.tap_io(|tcp| {
                        let _ = tcp.set_nodelay(true);
                    });
                    if let Err(e) = axum::serve(listener, app(gateway))
                        .with_graceful_shutdown(shutdown)
                        .await
                    {
                        tracing::error!(error = %e, "worker stopped");
                    }
                });
            })?;
        workers.push(worker);
    }
    Ok(Running { stop, workers })
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
