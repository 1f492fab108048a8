//! Picking an endpoint of a [`Remote`]'s pool round robin, past the down and
//! busy ones, and connecting to it: TCP, TLS for `https://`, and the HTTP/2
//! handshake up to the server's SETTINGS, within `connect_timeout`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tonic::body::Body;

use super::pool::{Pool, Slot};
use super::Remote;
use crate::upstream::preface::{Preface, PrefaceReader};
use crate::upstream::UpstreamError;

impl Remote {
    /// A live connection to one endpoint of `pool`, by round robin, going
    /// past endpoints that are down or fail to connect; its slot index.
    pub(in crate::upstream) async fn connection(
        self: &Arc<Self>,
        pool: &Pool,
    ) -> Result<(usize, SendRequest<Body>), UpstreamError> {
        let n = pool.slots.len();
        if n == 0 {
            return Err(UpstreamError::Unavailable(
                pool.error
                    .clone()
                    .unwrap_or_else(|| format!("{} has no endpoint", self.name)),
            ));
        }
        let start = if n == 1 {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % n
        };
        // Endpoints that failed or were passed over; allocates only then.
        let mut tried: Vec<usize> = Vec::new();
        let mut busy: Vec<usize> = Vec::new();
        let mut last_error = None;
        // Up and free: connect at once.
        for i in (start..n).chain(0..start) {
            let slot = &pool.slots[i];
            if slot.health.is_down(|| self.now()) {
                continue;
            }
            let Ok(guard) = slot.connection.try_lock() else {
                busy.push(i);
                continue;
            };
            match self.connected(slot, guard).await {
                Ok(sender) => return Ok((i, sender)),
                Err(e) => {
                    tried.push(i);
                    last_error = Some(e);
                }
            }
        }
        // Up but busy connecting: wait for that attempt.
        for &i in &busy {
            let slot = &pool.slots[i];
            let guard = slot.connection.lock().await;
            if slot.health.is_down(|| self.now()) {
                continue;
            }
            match self.connected(slot, guard).await {
                Ok(sender) => return Ok((i, sender)),
                Err(e) => last_error = Some(e),
            }
            tried.push(i);
        }
        // Nothing up answers: the down ones, as a last resort.
        for i in (start..n).chain(0..start) {
            if tried.contains(&i) {
                continue;
            }
            let slot = &pool.slots[i];
            let guard = slot.connection.lock().await;
            match self.connected(slot, guard).await {
                Ok(sender) => return Ok((i, sender)),
                Err(e) => last_error = Some(e),
            }
        }
        if self.resolves && self.resolve_every.is_some() {
            // The addresses may have moved.
            self.refresh_in_background(true);
        }
        let error =
            last_error.unwrap_or_else(|| format!("every endpoint of {} is down", self.name));
        Err(UpstreamError::Unavailable(if n > 1 {
            format!("{error} (all {n} endpoints of {} failed)", self.name)
        } else {
            error
        }))
    }

    /// The slot's live connection, or a new one.
    async fn connected(
        &self,
        slot: &Slot,
        mut guard: tokio::sync::MutexGuard<'_, Option<SendRequest<Body>>>,
    ) -> Result<SendRequest<Body>, String> {
        if let Some(sender) = guard.as_ref().filter(|s| !s.is_closed()) {
            return Ok(sender.clone());
        }
        *guard = None;
        // Boxed: connecting is rare, and its state (TCP, TLS and the
        // HTTP/2 handshake) would otherwise be part of every call's future.
        match Box::pin(self.open(slot)).await {
            Ok((sender, limit)) => {
                slot.max_header_list_size
                    .store(limit.unwrap_or(u32::MAX), Ordering::Relaxed);
                if slot.health.succeeded() {
                    tracing::info!(upstream = %self.name, endpoint = %slot.address, "upstream endpoint is back");
                }
                *guard = Some(sender.clone());
                Ok(sender)
            }
            Err(error) => {
                super::failures::connect_failed();
                let wait = slot.health.failed(self.now());
                if slot.health.failures() == 1 {
                    tracing::warn!(upstream = %self.name, endpoint = %slot.address, %error, retry_in_ms = wait.as_millis() as u64, "upstream endpoint down");
                } else {
                    tracing::debug!(upstream = %self.name, endpoint = %slot.address, %error, retry_in_ms = wait.as_millis() as u64, "upstream endpoint still down");
                }
                Err(error)
            }
        }
    }

    /// Connects to `slot`: TCP, TLS for `https://`, the HTTP/2 handshake up
    /// to the server's SETTINGS, all within `connect_timeout`. Also gives the
    /// server's `SETTINGS_MAX_HEADER_LIST_SIZE`, if it stated one.
    async fn open(&self, slot: &Slot) -> Result<(SendRequest<Body>, Option<u32>), String> {
        let address = slot.address;
        let target = &self.targets[slot.target];
        let connect = async {
            let tcp = TcpStream::connect(address)
                .await
                .map_err(|e| format!("cannot connect to {address} ({}): {e}", target.uri))?;
            let _ = tcp.set_nodelay(true);
            match (&self.tls, &target.tls_name) {
                (Some(connector), Some(name)) => {
                    let stream = connector.connect(name.clone(), tcp).await.map_err(|e| {
                        format!(
                            "TLS handshake with {address} ({}, server name {}) failed: {e}",
                            target.uri,
                            name.to_str()
                        )
                    })?;
                    let alpn = stream.get_ref().1.alpn_protocol();
                    if alpn.is_some_and(|p| p != b"h2") {
                        return Err(format!(
                            "{address} ({}) did not agree to HTTP/2 over TLS (ALPN h2)",
                            target.uri
                        ));
                    }
                    handshake(stream, address).await
                }
                _ => handshake(tcp, address).await,
            }
        };
        match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "connecting to {address} ({}) took longer than {:?}",
                target.uri, self.connect_timeout
            )),
        }
    }
}

/// The largest header list (RFC 7541 §4.1 bytes) accepted in a reply:
/// headers, or trailers, which carry `grpc-message` and
/// `grpc-status-details-bin`. hyper's default, 16 KiB, refused a service's
/// error message that quoted a long request field, and the refusal read as
/// a broken connection (503).
const REPLY_HEADER_LIST_LIMIT: u32 = 1024 * 1024;

/// The connection's flow-control window. h2 lets the small DATA frames it
/// holds unread cost up to half of it (256 bytes counted per frame under
/// 256 bytes) and closes the connection beyond (`ENHANCE_YOUR_CALM`,
/// `too_many_data_frames`). A unary reply is one such frame, unread until
/// the worker polls its call: with hyper's adaptive window (64 KiB to
/// start) about 130 replies arriving at once during a burst of client
/// connections closed the connection and failed every call on it. 8 MiB
/// holds 16,384 unread replies; it also bounds what the service can send
/// ahead of the gateway reading it.
const CONNECTION_WINDOW: u32 = 8 * 1024 * 1024;

/// Each call's flow-control window: a 2 MiB reply (or that much of a
/// stream) flows without waiting for the gateway's window updates.
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;

/// The HTTP/2 client handshake over `io`, waiting for the server's first
/// SETTINGS frame; the connection runs in a task. Gives the server's
/// `SETTINGS_MAX_HEADER_LIST_SIZE`, if it stated one.
async fn handshake<T>(
    io: T,
    address: SocketAddr,
) -> Result<(SendRequest<Body>, Option<u32>), String>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (io, preface) = PrefaceReader::new(io);
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_connection_window_size(CONNECTION_WINDOW)
        .initial_stream_window_size(STREAM_WINDOW)
        .max_header_list_size(REPLY_HEADER_LIST_LIMIT)
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP/2 handshake with {address} failed: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            super::failures::broke();
            tracing::debug!(error = %e, %address, "upstream connection closed");
        }
    });
    match preface.await {
        Ok(Ok(Preface::Settings {
            max_header_list_size,
        })) => Ok((sender, max_header_list_size)),
        Ok(Ok(Preface::NotSettings)) => Err(format!(
            "{address} did not open with HTTP/2 SETTINGS: not an HTTP/2 server"
        )),
        Ok(Err(error)) => Err(format!(
            "upstream connection to {address} failed before its HTTP/2 SETTINGS: {error}"
        )),
        Err(_) => Err(format!(
            "{address} closed the connection before its HTTP/2 SETTINGS"
        )),
    }
}
