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
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::watch;

use super::{limits, live_app, Current, ListenerTls, Live};

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
    /// Stops accepting, lets requests in flight finish for at most `grace`,
    /// then returns (the workers still running are left to the process exit).
    pub fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = std::time::Instant::now() + grace;
        for worker in self.workers {
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

/// Starts one worker thread per listener, serving `shared`, over TLS when
/// `tls` is given. A client gets `header_read_timeout` to finish the TLS
/// handshake and again to send a request's headers.
pub fn start(
    current: Arc<Current>,
    listeners: Vec<TcpListener>,
    header_read_timeout: Duration,
    tls: Option<Arc<ListenerTls>>,
) -> std::io::Result<Running> {
    let (stop, stopped) = watch::channel(false);
    let mut workers = Vec::with_capacity(listeners.len());
    for (i, listener) in listeners.into_iter().enumerate() {
        let current = Arc::clone(&current);
        let stopped = stopped.clone();
        let tls = tls.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let worker = thread::Builder::new()
            .name(format!("restgate-worker-{i}"))
            .spawn(move || {
                runtime.block_on(worker(current, listener, stopped, header_read_timeout, tls))
            })?;
        workers.push(worker);
    }
    Ok(Running { stop, workers })
}

/// One worker: accepts on its listener and serves each connection (HTTP/1.1
/// or HTTP/2: over TLS, chosen by ALPN, when `tls` is given, else cleartext
/// with h2c) until told to stop, then waits for its connections to finish
/// their requests.
async fn worker(
    current: Arc<Current>,
    listener: TcpListener,
    mut stopped: watch::Receiver<bool>,
    header_read_timeout: Duration,
    tls: Option<Arc<ListenerTls>>,
) {
    let live = match Live::new(current) {
        Ok(live) => Arc::new(live),
        Err(e) => return tracing::error!(error = %e, "worker cannot start"),
    };
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => return tracing::error!(error = %e, "worker cannot listen"),
    };
    // hyper's own head limits sit above the gateway's (see `limits`), so
    // that an oversized request gets the gateway's JSON answer. They are
    // the first table's: a reload does not move them.
    let options = &live.gateway().shared.options;
    let (buffer, header_list) = (
        limits::http1_max_buf_size(options),
        limits::http2_max_header_list_size(options),
    );
    let service = TowerToHyperService::new(live_app(live));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(buffer);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(header_list);
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::debug!(error = %e, "accept failed");
                        continue;
                    }
                };
                // Replies are small and written whole: send them at once.
                let _ = stream.set_nodelay(true);
                let builder = builder.clone();
                let service = service.clone();
                let watcher = graceful.watcher();
                if let Some(tls) = &tls {
                    let acceptor = tls.acceptor();
                    tokio::spawn(async move {
                        let stream = match tokio::time::timeout(header_read_timeout, acceptor.accept(stream)).await {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => return tracing::debug!(error = %e, "TLS handshake failed"),
                            Err(_) => return tracing::debug!("TLS handshake timed out"),
                        };
                        // The protocol the client picked by ALPN: serve only
                        // that one, so hyper's header timeout starts at once.
                        let builder = match stream.get_ref().1.alpn_protocol() {
                            Some(b"h2") => builder.http2_only(),
                            Some(b"http/1.1") => builder.http1_only(),
                            _ => builder,
                        };
                        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                        if let Err(e) = watcher.watch(connection.into_owned()).await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                    continue;
                }
                tokio::spawn(async move {
                    // hyper's header timeout only starts once it knows the
                    // protocol: a client that sends nothing, or half the HTTP/2
                    // preface, is cut off here.
                    if tokio::time::timeout(header_read_timeout, protocol_known(&stream)).await.is_err() {
                        return;
                    }
                    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(connection.into_owned()).await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = stopped.wait_for(|stop| *stop) => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Waits until the first bytes tell HTTP/1 from HTTP/2 (the 24-byte
/// prior-knowledge preface, or anything that diverges from it), or the peer
/// closes.
async fn protocol_known(stream: &tokio::net::TcpStream) {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let mut buf = [0u8; 24];
    loop {
        match stream.peek(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) if n >= PREFACE.len() || buf[..n] != PREFACE[..n] => return,
            // A partial preface: look again shortly. (Peeking leaves the
            // socket readable, so waiting for readiness would spin.)
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// The signals that stop (SIGTERM, Ctrl-C) or reload (SIGHUP) the gateway, listened for from
/// the moment this is made: make it before announcing readiness, so a
/// signal that comes right after is handled, not fatal.
#[derive(Debug)]
pub struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM or Ctrl-C: drain and exit.
    Stop,
    /// SIGHUP: load the protos, config and certificates again.
    Reload,
}

impl StopSignals {
    /// Registers the handlers; call inside a tokio runtime.
    pub fn listen() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                term: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
                hangup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// Waits for the next one.
    pub async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => Signal::Stop,
            _ = self.interrupt.recv() => Signal::Stop,
            _ = self.hangup.recv() => Signal::Reload,
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Stop
        }
    }
}
