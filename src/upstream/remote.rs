//! The endpoints of a remote upstream and how a call picks one.
//!
//! - **Endpoints.** Every address of every URI of the [`RemoteSpec`] is one
//!   endpoint ([`Slot`]) holding at most one HTTP/2 connection, made on first
//!   use and remade when it breaks. A [`Remote`] belongs to one worker
//!   runtime, so connections never cross runtimes.
//! - **Connected.** A connection counts as made once the server's first
//!   SETTINGS frame arrived (within `connect_timeout`); the endpoint keeps
//!   its `SETTINGS_MAX_HEADER_LIST_SIZE`, against which every call's
//!   metadata is checked before it is sent (see [`preface`](super::preface)).
//! - **Round robin.** Each call starts at the next endpoint (one relaxed
//!   atomic counter per worker): HTTP/2 multiplexes calls over each
//!   connection, so spreading calls, not connections, spreads the load.
//! - **Down endpoints.** When connecting to an endpoint fails (refused,
//!   timed out, TLS handshake failed), it is marked down for a backoff of
//!   1 s, doubling with each further failure up to 30 s, and the call moves
//!   on to the next endpoint at once. An endpoint comes back by connecting
//!   again after its backoff. Only when no endpoint is up (or every one
//!   failed) does a call try the down ones too, as a last resort, and answer
//!   [`UpstreamError::Unavailable`] when they fail as well: a single-endpoint
//!   upstream thus behaves as before, trying on every call.
//! - **Broken connections.** A connection found closed is remade. A call
//!   that its connection gives back unsent (it had just closed) is sent
//!   over another endpoint's connection, once; a call already written to a
//!   connection that then broke answers `UNAVAILABLE`, since the service may
//!   have seen it: [`retry`](super::retry) tries idempotent ones again.
//! - **Concurrent connecting.** A caller that finds an endpoint busy
//!   connecting moves on to the next endpoint instead of waiting, and waits
//!   for it only when nothing else is up: a blackholed endpoint costs
//!   `connect_timeout` to the one call that tried it, not to every call.
//! - **Names.** Host names are resolved with [`tokio::net::lookup_host`]
//!   lazily on the call path: the first call waits for the resolution; after
//!   that, the call that finds it `resolve_every` old starts a new one in a
//!   background task and goes on with the addresses it has. Addresses that
//!   stay keep their connection and their health; a name that fails to
//!   resolve keeps its old addresses (and is tried again within 5 s); with
//!   no address at all, calls answer 503 with the resolver's error, which is
//!   cached for 1 s. When every endpoint fails, a resolution is brought
//!   forward (at most once a second), since the addresses may have moved —
//!   unless `resolve_every` is `None`: then names are resolved once (until
//!   that succeeds). Each worker resolves for itself.
//!
//! The hot path — a resolved pool, an up endpoint with a live connection —
//! costs a read lock and an `Arc` clone of the pool, one atomic increment
//! and an uncontended `try_lock`: no allocation.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use http::uri::Scheme;
use http::Uri;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;
use tonic::body::Body;

use super::preface::{Preface, PrefaceReader};
use super::{tls, RemoteSpec, UpstreamError};

/// The first backoff of an endpoint that failed to connect.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest backoff.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How soon a name that failed to resolve is tried again, while its old
/// addresses (if any) keep serving.
const RESOLVE_RETRY: Duration = Duration::from_secs(5);
/// How long "no address at all" is answered from cache before resolving
/// again; also the least time between two resolutions brought forward.
const NO_ADDRESS_RETRY: Duration = Duration::from_secs(1);

/// How long an endpoint stays down after `failures` failed connection
/// attempts in a row (at least one): 1 s, 2 s, 4 s, … up to 30 s.
pub(super) fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    BACKOFF_MIN.saturating_mul(1 << doublings).min(BACKOFF_MAX)
}

/// Whether an endpoint is up, and its backoff when it is not. Times are
/// nanoseconds since the [`Remote`]'s epoch, plus one, so that 0 means up
/// and the common check needs no clock read.
#[derive(Debug, Default)]
pub(super) struct Health {
    failures: AtomicU32,
    down_until: AtomicU64,
}

impl Health {
    /// Whether the endpoint is in its backoff at `now()`.
    pub(super) fn is_down(&self, now: impl FnOnce() -> u64) -> bool {
        let until = self.down_until.load(Ordering::Relaxed);
        until != 0 && now() < until
    }

    /// Records a failed connection attempt at `now`; the backoff it starts.
    pub(super) fn failed(&self, now: u64) -> Duration {
        let failures = self
            .failures
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        let wait = backoff(failures);
        let until = now.saturating_add(wait.as_nanos() as u64).max(1);
        self.down_until.store(until, Ordering::Relaxed);
        wait
    }

    /// Records a connection made; whether the endpoint had been failing.
    pub(super) fn succeeded(&self) -> bool {
        self.down_until.store(0, Ordering::Relaxed);
        self.failures.swap(0, Ordering::Relaxed) > 0
    }

    /// Failed attempts in a row.
    fn failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }
}

/// One URI of the spec.
struct Target {
    /// The URI as written, for messages.
    uri: String,
    /// The host, without IPv6 brackets.
    host: String,
    port: u16,
    /// `scheme://authority/`: the `:scheme` and `:authority` of requests.
    origin: Uri,
    /// For `https://`: the name presented and verified.
    tls_name: Option<ServerName<'static>>,
    /// The address, when the host is one: never resolved.
    address: Option<SocketAddr>,
}

/// One endpoint: an address of a target, its connection and its health.
pub(super) struct Slot {
    /// Index into [`Remote::targets`].
    target: usize,
    address: SocketAddr,
    connection: tokio::sync::Mutex<Option<SendRequest<Body>>>,
    /// The `SETTINGS_MAX_HEADER_LIST_SIZE` of its connection's server;
    /// `u32::MAX` when it stated none. Set before the connection is shared.
    max_header_list_size: AtomicU32,
    health: Health,
}

impl Slot {
    fn new(target: usize, address: SocketAddr) -> Arc<Slot> {
        Arc::new(Slot {
            target,
            address,
            connection: tokio::sync::Mutex::new(None),
            max_header_list_size: AtomicU32::new(u32::MAX),
            health: Health::default(),
        })
    }
}

/// The endpoints at one moment; replaced whole when names resolve anew.
pub(super) struct Pool {
    slots: Vec<Arc<Slot>>,
    /// When names were last resolved; `None`: never (or nothing to resolve).
    resolved_at: Option<Instant>,
    /// When to resolve again; `None`: never.
    refresh_at: Option<Instant>,
    /// Why there is no endpoint, when there is none.
    error: Option<String>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addresses: Vec<SocketAddr> = self.slots.iter().map(|s| s.address).collect();
        f.debug_struct("Pool")
            .field("addresses", &addresses)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// The endpoints' addresses, in pick order.
    #[cfg(test)]
    pub(super) fn addresses(&self) -> Vec<SocketAddr> {
        self.slots.iter().map(|s| s.address).collect()
    }
}

/// A remote upstream in one worker: its targets, TLS, and current pool.
pub(super) struct Remote {
    /// The spec as written, for messages.
    name: String,
    targets: Vec<Target>,
    tls: Option<TlsConnector>,
    connect_timeout: Duration,
    resolve_every: Option<Duration>,
    /// Whether a target is a host name; if not, the pool never changes.
    resolves: bool,
    pool: RwLock<Arc<Pool>>,
    /// Held while names resolve: one resolution at a time.
    resolving: tokio::sync::Mutex<()>,
    /// Set while a background resolution is scheduled or running.
    refreshing: AtomicBool,
    /// The round-robin counter.
    next: AtomicUsize,
    /// Time zero of the endpoints' [`Health`].
    epoch: Instant,
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("endpoints", &self.name)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// Checks `spec` and loads its TLS files; resolves and connects nothing.
    pub(super) fn new(spec: &RemoteSpec) -> Result<Remote, UpstreamError> {
        let name = spec.to_string();
        let bad = |uri: &dyn fmt::Display, reason: &str| UpstreamError::BadUri {
            uri: uri.to_string(),
            reason: reason.to_owned(),
        };
        if spec.endpoints.is_empty() {
            return Err(bad(&"(none)", "an upstream needs at least one endpoint"));
        }
        let any_https = spec
            .endpoints
            .iter()
            .any(|u| u.scheme() == Some(&Scheme::HTTPS));
        let tls = match &spec.tls {
            Some(settings) if any_https => Some(tls::connector(settings, &name)?),
            Some(_) => {
                return Err(bad(
                    &name,
                    "TLS settings are given but no endpoint is https://; use https://HOST:PORT",
                ))
            }
            None => None,
        };
        let mut targets = Vec::with_capacity(spec.endpoints.len());
        for uri in &spec.endpoints {
            let (secure, default_port) = match uri.scheme() {
                Some(s) if *s == Scheme::HTTP => (false, 80),
                Some(s) if *s == Scheme::HTTPS => (true, 443),
                _ => return Err(bad(uri, "expected http://HOST:PORT or https://HOST:PORT")),
            };
            let authority = uri.authority().ok_or_else(|| bad(uri, "missing host"))?;
            let host = authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            if host.is_empty() {
                return Err(bad(uri, "missing host"));
            }
            let port = authority.port_u16().unwrap_or(default_port);
            let origin = Uri::builder()
                .scheme(uri.scheme().cloned().unwrap_or(Scheme::HTTP))
                .authority(authority.clone())
                .path_and_query("/")
                .build()
                .map_err(|e| bad(uri, &e.to_string()))?;
            let tls_name = match &spec.tls {
                Some(settings) if secure => {
                    Some(tls::server_name(settings, &host).map_err(|e| bad(uri, &e))?)
                }
                _ if secure => {
                    return Err(bad(
                        uri,
                        "https:// needs TLS settings (at least a CA file to trust)",
                    ))
                }
                _ => None,
            };
            let address = host
                .parse::<IpAddr>()
                .ok()
                .map(|ip| SocketAddr::new(ip, port));
            let text = uri.to_string();
            targets.push(Target {
                uri: text.strip_suffix('/').unwrap_or(&text).to_owned(),
                host,
                port,
                origin,
                tls_name,
                address,
            });
        }
        let resolves = targets.iter().any(|t| t.address.is_none());
        let epoch = Instant::now();
        let pool = if resolves {
            Pool {
                slots: Vec::new(),
                resolved_at: None,
                refresh_at: Some(epoch),
                error: Some(format!("{name} is not resolved yet")),
            }
        } else {
            Pool {
                slots: targets
                    .iter()
                    .enumerate()
                    .filter_map(|(i, t)| Some(Slot::new(i, t.address?)))
                    .collect(),
                resolved_at: None,
                refresh_at: None,
                error: None,
            }
        };
        Ok(Remote {
            name,
            targets,
            tls,
            connect_timeout: spec.connect_timeout,
            resolve_every: spec.resolve_every,
            resolves,
            pool: RwLock::new(Arc::new(pool)),
            resolving: tokio::sync::Mutex::new(()),
            refreshing: AtomicBool::new(false),
            next: AtomicUsize::new(0),
            epoch,
        })
    }

    /// The `scheme://authority/` requests to `slot` carry.
    pub(super) fn origin(&self, pool: &Pool, slot: usize) -> &Uri {
        &self.targets[pool.slots[slot].target].origin
    }

    /// The largest request header list the server of `slot`'s connection
    /// accepts (its `SETTINGS_MAX_HEADER_LIST_SIZE`); `None`: it stated none.
    pub(super) fn max_header_list_size(pool: &Pool, slot: usize) -> Option<u32> {
        let size = pool.slots[slot]
            .max_header_list_size
            .load(Ordering::Relaxed);
        (size != u32::MAX).then_some(size)
    }

    /// Whether `a` and `b` are endpoints of the same URI.
    pub(super) fn same_target(pool: &Pool, a: usize, b: usize) -> bool {
        pool.slots[a].target == pool.slots[b].target
    }

    fn current(&self) -> Arc<Pool> {
        Arc::clone(&self.pool.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn now(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).saturating_add(1)
    }

    /// The endpoints to call: resolved first if never yet, resolved again
    /// in the background when due.
    pub(super) async fn pool(self: &Arc<Self>) -> Result<Arc<Pool>, UpstreamError> {
        let pool = self.current();
        if !self.resolves {
            return Ok(pool);
        }
        let due = pool.refresh_at.is_some_and(|at| Instant::now() >= at);
        if pool.slots.is_empty() {
            let pool = if due {
                self.resolve_now(false).await
            } else {
                pool
            };
            return match pool.slots.is_empty() {
                false => Ok(pool),
                true => Err(UpstreamError::Unavailable(
                    pool.error
                        .clone()
                        .unwrap_or_else(|| format!("{} has no address", self.name)),
                )),
            };
        }
        if due {
            self.refresh_in_background(false);
        }
        Ok(pool)
    }

    /// Resolves now, unless another caller just did; the pool after.
    /// `sooner`: even before it is due, unless it was done within a second.
    async fn resolve_now(self: &Arc<Self>, sooner: bool) -> Arc<Pool> {
        let _one = self.resolving.lock().await;
        let pool = self.current();
        let now = Instant::now();
        let fresh = if sooner {
            pool.resolved_at
                .is_some_and(|at| now.saturating_duration_since(at) < NO_ADDRESS_RETRY)
        } else {
            pool.refresh_at.is_none_or(|at| now < at)
        };
        if fresh {
            return pool;
        }
        self.resolve(&pool).await
    }

    /// Starts a resolution in a task of this runtime, unless one runs.
    fn refresh_in_background(self: &Arc<Self>, sooner: bool) {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let remote = Arc::clone(self);
        tokio::spawn(async move {
            let _ = remote.resolve_now(sooner).await;
            remote.refreshing.store(false, Ordering::Release);
        });
    }

    /// Resolves every name, keeps the endpoints that stay (with their
    /// connections and health) and stores the new pool.
    async fn resolve(&self, old: &Pool) -> Arc<Pool> {
        let mut found: Vec<(usize, SocketAddr)> = Vec::new();
        let mut errors: Vec<String> = Vec::new();
        for (i, target) in self.targets.iter().enumerate() {
            if let Some(address) = target.address {
                found.push((i, address));
                continue;
            }
            let before = found.len();
            let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
            match tokio::time::timeout(self.connect_timeout, lookup).await {
                Ok(Ok(addresses)) => {
                    for address in addresses {
                        if !found.contains(&(i, address)) {
                            found.push((i, address));
                        }
                    }
                    if found.len() == before {
                        errors.push(format!("{} resolved to no address", target.host));
                    }
                }
                Ok(Err(e)) => errors.push(format!("cannot resolve {}: {e}", target.host)),
                Err(_) => errors.push(format!(
                    "resolving {} took longer than {:?}",
                    target.host, self.connect_timeout
                )),
            }
            if found.len() == before {
                // Keep what the name had: stale addresses beat none.
                found.extend(
                    old.slots
                        .iter()
                        .filter(|s| s.target == i)
                        .map(|s| (i, s.address)),
                );
            }
        }
        let now = Instant::now();
        let slots: Vec<Arc<Slot>> = found
            .iter()
            .map(|&(target, address)| {
                old.slots
                    .iter()
                    .find(|s| s.target == target && s.address == address)
                    .cloned()
                    .unwrap_or_else(|| Slot::new(target, address))
            })
            .collect();
        let retry = if slots.is_empty() {
            Some(NO_ADDRESS_RETRY)
        } else if !errors.is_empty() {
            Some(
                self.resolve_every
                    .map_or(RESOLVE_RETRY, |e| e.min(RESOLVE_RETRY)),
            )
        } else {
            self.resolve_every
        };
        let error = (!errors.is_empty()).then(|| errors.join("; "));
        if let Some(error) = &error {
            tracing::warn!(upstream = %self.name, %error, kept = slots.len(), "upstream names did not all resolve");
        }
        let changed = old.slots.len() != slots.len()
            || old
                .slots
                .iter()
                .zip(&slots)
                .any(|(a, b)| !Arc::ptr_eq(a, b));
        if changed && !slots.is_empty() {
            let endpoints: Vec<String> = slots.iter().map(|s| s.address.to_string()).collect();
            tracing::info!(upstream = %self.name, endpoints = %endpoints.join(","), "upstream endpoints resolved");
        }
        let pool = Arc::new(Pool {
            slots,
            resolved_at: Some(now),
            refresh_at: retry.map(|r| now + r),
            error,
        });
        *self.pool.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&pool);
        pool
    }

    /// A live connection to one endpoint of `pool`, by round robin, going
    /// past endpoints that are down or fail to connect; its slot index.
    pub(super) async fn connection(
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
        match self.open(slot).await {
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
        .adaptive_window(true)
        .max_header_list_size(REPLY_HEADER_LIST_LIMIT)
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP/2 handshake with {address} failed: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_thirty() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }

    #[test]
    fn health_goes_down_for_its_backoff_and_comes_back() {
        let health = Health::default();
        let second = 1_000_000_000;
        assert!(!health.is_down(|| unreachable!("an endpoint never down reads no clock")));
        assert_eq!(health.failed(10 * second), Duration::from_secs(1));
        assert!(health.is_down(|| 10 * second));
        assert!(health.is_down(|| 11 * second - 1));
        assert!(!health.is_down(|| 11 * second));
        // A second failure in a row doubles the backoff.
        assert_eq!(health.failed(11 * second), Duration::from_secs(2));
        assert!(health.is_down(|| 12 * second));
        assert!(!health.is_down(|| 13 * second));
        assert!(health.succeeded(), "it had been failing");
        assert!(!health.is_down(|| 11 * second));
        assert!(!health.succeeded());
        // After a success the backoff starts over.
        assert_eq!(health.failed(20 * second), Duration::from_secs(1));
    }

    fn spec(uris: &[&str]) -> RemoteSpec {
        RemoteSpec::new(uris.iter().map(|u| u.parse().unwrap()).collect())
    }

    #[test]
    fn specs_are_checked() {
        let error = |uris: &[&str]| Remote::new(&spec(uris)).unwrap_err().to_string();
        assert!(error(&[]).contains("at least one endpoint"));
        assert!(error(&["ftp://a:1"]).contains("expected http://"));
        assert!(error(&["/path"]).contains("expected http://"));
        assert!(error(&["https://a:1"]).contains("needs TLS settings"));
        let e = Remote::new(&spec(&["http://a:1"]).with_tls(Default::default()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no endpoint is https://"), "{e}");
        assert!(Remote::new(&spec(&["http://a:1", "http://[::1]:2"])).is_ok());
    }

    #[tokio::test]
    async fn addresses_need_no_resolution() {
        let remote =
            Arc::new(Remote::new(&spec(&["http://127.0.0.1:1", "http://[::1]:2"])).unwrap());
        let pool = remote.pool().await.unwrap();
        assert_eq!(
            pool.addresses(),
            ["127.0.0.1:1".parse().unwrap(), "[::1]:2".parse().unwrap()]
        );
        assert!(Arc::ptr_eq(&pool, &remote.pool().await.unwrap()));
    }

    /// Servers that send an empty HTTP/2 SETTINGS frame, then nothing:
    /// enough for a connection, since the client handshake waits for no
    /// more than the server's first SETTINGS.
    async fn listeners(n: usize) -> (Vec<tokio::task::JoinHandle<()>>, Vec<String>) {
        use tokio::io::AsyncWriteExt;
        let mut servers = Vec::new();
        let mut uris = Vec::new();
        for _ in 0..n {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            uris.push(format!("http://{}", l.local_addr().unwrap()));
            servers.push(tokio::spawn(async move {
                let mut held = Vec::new();
                while let Ok((mut stream, _)) = l.accept().await {
                    let _ = stream.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await;
                    held.push(stream);
                }
            }));
        }
        (servers, uris)
    }

    #[tokio::test]
    async fn round_robin_visits_every_endpoint_in_turn() {
        let (_listeners, uris) = listeners(3).await;
        let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
        let remote = Arc::new(Remote::new(&spec(&uris)).unwrap());
        let pool = remote.pool().await.unwrap();
        let mut picked = Vec::new();
        for _ in 0..6 {
            picked.push(remote.connection(&pool).await.unwrap().0);
        }
        assert_eq!(picked, [0, 1, 2, 0, 1, 2]);
    }

    #[tokio::test]
    async fn a_refused_endpoint_is_passed_over_and_backs_off() {
        let (listeners, uris) = listeners(2).await;
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let remote = Arc::new(Remote::new(&spec(&[&uris[0], &dead, &uris[1]])).unwrap());
        let pool = remote.pool().await.unwrap();
        let mut picked = Vec::new();
        for _ in 0..6 {
            picked.push(remote.connection(&pool).await.unwrap().0);
        }
        // The call that lands on the dead one moves to the next; later
        // calls skip it while it is down.
        assert_eq!(picked, [0, 2, 2, 0, 2, 2]);
        assert!(pool.slots[1].health.is_down(|| remote.now()));
        assert_eq!(pool.slots[1].health.failures(), 1);

        // Every endpoint down: each call tries them all and says why.
        drop(listeners);
        let only_dead = Arc::new(Remote::new(&spec(&[&dead, &dead])).unwrap());
        let pool = only_dead.pool().await.unwrap();
        for _ in 0..2 {
            let e = only_dead.connection(&pool).await.unwrap_err().to_string();
            assert!(e.contains("cannot connect to"), "{e}");
            assert!(e.contains("all 2 endpoints"), "{e}");
        }
        assert_eq!(pool.slots[0].health.failures(), 2, "tried as a last resort");
    }

    #[tokio::test]
    async fn names_resolve_to_every_address() {
        let (_listeners, uris) = listeners(1).await;
        let port = uris[0].rsplit(':').next().unwrap();
        let remote = Arc::new(Remote::new(&spec(&[&format!("http://localhost:{port}")])).unwrap());
        let pool = remote.pool().await.unwrap();
        assert!(
            pool.addresses().iter().any(|a| a.ip().is_loopback()),
            "{:?}",
            pool.addresses()
        );
        assert!(pool.resolved_at.is_some());
        assert_eq!(
            remote.origin(&pool, 0).to_string(),
            format!("http://localhost:{port}/")
        );
        remote.connection(&pool).await.unwrap();

        let unknown = Arc::new(Remote::new(&spec(&["http://no-such-host.invalid:1"])).unwrap());
        let e = unknown.pool().await.unwrap_err().to_string();
        assert!(e.contains("no-such-host.invalid"), "{e}");
        // The failure is cached for a moment, not resolved on every call.
        let again = unknown.pool().await.unwrap_err().to_string();
        assert_eq!(e, again);
    }

    #[tokio::test]
    async fn resolving_again_keeps_the_endpoints_that_stay() {
        let (_listeners, uris) = listeners(1).await;
        let port = uris[0].rsplit(':').next().unwrap();
        let remote = Arc::new(
            Remote::new(&spec(&[
                &format!("http://localhost:{port}"),
                "http://127.0.0.2:9",
            ]))
            .unwrap(),
        );
        let first = remote.pool().await.unwrap();
        let second = remote.resolve(&first).await;
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(first.addresses(), second.addresses());
        for (a, b) in first.slots.iter().zip(&second.slots) {
            assert!(
                Arc::ptr_eq(a, b),
                "the same endpoint, connection and health"
            );
        }
    }
}
