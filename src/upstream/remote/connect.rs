//! Picking an endpoint of a [`Remote`]'s pool round robin, past the down and
//! busy ones, and connecting to it: TCP, TLS for `https://`, and the HTTP/2
//! handshake up to the server's SETTINGS, within `connect_timeout`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::pool::{Pool, Slot};
use super::Remote;
use crate::upstream::http2::Link;
use crate::upstream::preface::{Preface, PrefaceReader};
use crate::upstream::UpstreamError;

impl Remote {
    /// A live connection to one endpoint of `pool`, by round robin, going
    /// past endpoints that are down or fail to connect; its slot index.
    pub(in crate::upstream) async fn connection(
        self: &Arc<Self>,
        pool: &Pool,
    ) -> Result<(usize, Link), UpstreamError> {
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
        mut guard: tokio::sync::MutexGuard<'_, Option<Link>>,
    ) -> Result<Link, String> {
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
    async fn open(&self, slot: &Slot) -> Result<(Link, Option<u32>), String> {
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

/// The HTTP/2 client handshake over `io`, waiting for the server's first
/// SETTINGS frame; the connection runs in a task. Gives the server's
/// `SETTINGS_MAX_HEADER_LIST_SIZE`, if it stated one.
async fn handshake<T>(io: T, address: SocketAddr) -> Result<(Link, Option<u32>), String>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (io, preface) = PrefaceReader::new(io);
    let (sender, connection) = crate::upstream::http2::handshake(io)
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
