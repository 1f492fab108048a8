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

use hyper::server::conn::http1;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::{keep_alive, Current, ListenerTls, Live, WorkerService};
use crate::serve::limits;

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

/// How every worker treats its connections.
#[derive(Debug, Clone)]
pub struct Connections {
    /// What a client gets to finish the TLS handshake, and again to send a
    /// request's headers.
    pub header_read_timeout: Duration,
    /// TLS on the listener (HTTP/1.1 or HTTP/2 by ALPN); `None`: cleartext,
    /// HTTP/1.1 or h2c.
    pub tls: Option<Arc<ListenerTls>>,
}

/// Starts one worker thread per listener, serving `current`, until `stopped`
/// turns true.
pub(super) fn start(
    current: &Arc<Current>,
    listeners: Vec<TcpListener>,
    connections: &Connections,
    stopped: &watch::Receiver<bool>,
) -> std::io::Result<Vec<thread::JoinHandle<()>>> {
    let mut workers = Vec::with_capacity(listeners.len());
    for (i, listener) in listeners.into_iter().enumerate() {
        let (current, stopped) = (Arc::clone(current), stopped.clone());
        let connections = connections.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let worker = thread::Builder::new()
            .name(format!("restgate-worker-{i}"))
            .spawn(move || runtime.block_on(worker(current, listener, stopped, connections)))?;
        workers.push(worker);
    }
    Ok(workers)
}

/// One worker: accepts on its listener and serves each connection until
/// told to stop, then waits for its connections to finish their requests.
async fn worker(
    current: Arc<Current>,
    listener: TcpListener,
    mut stopped: watch::Receiver<bool>,
    connections: Connections,
) {
    let live = match Live::new(current) {
        Ok(live) => Arc::new(live),
        Err(e) => return tracing::error!(error = %e, "worker cannot start"),
    };
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => return tracing::error!(error = %e, "worker cannot listen"),
    };
    let builders = Arc::new(http_builders(&live, connections.header_read_timeout));
    let service = WorkerService::new(live);
    let graceful = GracefulShutdown::new();
    // What cleartext HTTP/1.1 connections, which hyper only serves while
    // they are in use (see `keep_alive`), watch for the worker to stop.
    let (stopping, _) = watch::channel(());
    let ticking = tokio::spawn(near_timer());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::debug!(error = %e, "accept failed");
                        continue;
                    }
                };
                // Replies are small and written whole: send them at once.
                let _ = stream.set_nodelay(true);
                let connection = Connection {
                    builders: Arc::clone(&builders),
                    service: service.clone(),
                    watcher: graceful.watcher(),
                    stopping: stopping.subscribe(),
                    header_read_timeout: connections.header_read_timeout,
                };
                match &connections.tls {
                    Some(tls) => tokio::spawn(connection.serve_tls(stream, tls.acceptor())),
                    None => tokio::spawn(connection.serve_cleartext(stream)),
                };
            }
            _ = stopped.wait_for(|stop| *stop) => break,
        }
    }
    drop(listener);
    ticking.abort();
    stopping.send_replace(());
    tokio::join!(graceful.shutdown(), stopping.closed());
}

/// How often [`near_timer`] ticks: well under the shortest timer a request
/// sets (the header-read timeout, 10 s by default).
const NEAR_TIMER_EVERY: Duration = Duration::from_millis(500);

/// Keeps a timer due within [`NEAR_TIMER_EVERY`] on the worker's runtime,
/// so that the timers requests set never wake the runtime through the OS.
///
/// tokio's timer driver writes to its runtime's eventfd (an unpark, as if
/// woken from another thread) whenever a timer is set that is due before
/// every timer it knew of when the runtime last went idle. Without a near
/// timer that was once per request: hyper sets a new header-read timer
/// (10 s) on a keep-alive connection after each reply, which is due before
/// the requests' own timeouts (60 s) that were all the runtime had waiting.
/// A tick every half second costs two wake-ups a second instead.
async fn near_timer() {
    let mut tick = tokio::time::interval(NEAR_TIMER_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
    }
}

/// hyper's connection settings, one set per worker shared by its
/// connections: HTTP/1.1 or HTTP/2 by ALPN or preface (`auto`), and
/// cleartext HTTP/1.1 alone.
struct Builders {
    auto: auto::Builder<TokioExecutor>,
    http1: http1::Builder,
}

/// hyper's connection settings. Its own head limits sit above the
/// gateway's (see `limits`), so that an oversized request gets the
/// gateway's JSON answer. They are the first table's: a reload does not
/// move them.
fn http_builders(live: &Live, header_read_timeout: Duration) -> Builders {
    let options = &live.gateway().shared.options;
    let mut http1 = http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(limits::http1_max_buf_size(options));
    let mut auto = auto::Builder::new(TokioExecutor::new());
    auto.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(limits::http1_max_buf_size(options));
    auto.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(limits::http2_max_header_list_size(options));
    Builders { auto, http1 }
}

/// One accepted connection and what serves it.
struct Connection {
    builders: Arc<Builders>,
    service: WorkerService,
    watcher: Watcher,
    stopping: watch::Receiver<()>,
    header_read_timeout: Duration,
}

impl Connection {
    /// HTTP/1.1 or HTTP/2 over TLS, the protocol chosen by ALPN.
    async fn serve_tls(self, stream: TcpStream, acceptor: tokio_rustls::TlsAcceptor) {
        let accepting = tokio::time::timeout(self.header_read_timeout, acceptor.accept(stream));
        let stream = match accepting.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return tracing::debug!(error = %e, "TLS handshake failed"),
            Err(_) => return tracing::debug!("TLS handshake timed out"),
        };
        // The protocol the client picked by ALPN: serve only that one, so
        // hyper's header timeout starts at once.
        let builder = match stream.get_ref().1.alpn_protocol() {
            Some(b"h2") => self.builders.auto.clone().http2_only(),
            Some(b"http/1.1") => self.builders.auto.clone().http1_only(),
            _ => self.builders.auto.clone(),
        };
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), self.service);
        if let Err(e) = self.watcher.watch(connection.into_owned()).await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    }

    /// Cleartext HTTP/1.1, or HTTP/2 with prior knowledge (h2c).
    async fn serve_cleartext(self, stream: TcpStream) {
        // hyper's header timeout only starts once it knows the protocol: a
        // client that sends nothing, or half the HTTP/2 preface, is cut off
        // here.
        let known = tokio::time::timeout(self.header_read_timeout, protocol_known(&stream));
        let Ok(Some(http2)) = known.await else {
            return;
        };
        if !http2 {
            let Connection {
                builders,
                service,
                watcher,
                stopping,
                header_read_timeout,
            } = self;
            // Watched by `stopping` instead: hyper only serves it while in use.
            drop(watcher);
            let http1 = &builders.http1;
            return keep_alive::serve(stream, http1, service, stopping, header_read_timeout).await;
        }
        let connection = self
            .builders
            .auto
            .serve_connection_with_upgrades(TokioIo::new(stream), self.service);
        // Boxed: an HTTP/1.1 connection's task does not reserve its size.
        if let Err(e) = Box::pin(self.watcher.watch(connection.into_owned())).await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    }
}

/// Waits until the first bytes tell HTTP/1 from HTTP/2 (the 24-byte
/// prior-knowledge preface, or anything that diverges from it): true for
/// HTTP/2, `None` if the peer closes first.
async fn protocol_known(stream: &TcpStream) -> Option<bool> {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let mut buf = [0u8; 24];
    loop {
        match stream.peek(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) if n >= PREFACE.len() || buf[..n] != PREFACE[..n] => {
                return Some(buf[..n] == *PREFACE)
            }
            // A partial preface: look again shortly. (Peeking leaves the
            // socket readable, so waiting for readiness would spin.)
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}
