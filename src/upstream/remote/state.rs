//! [`Remote`]: a remote upstream in one worker, built from its checked
//! [`RemoteSpec`]: its targets, TLS connector and current [`Pool`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use http::uri::Scheme;
use http::Uri;
use tokio_rustls::TlsConnector;

use super::pool::{Pool, Slot};
use super::target::{bad_uri, Target};
use crate::upstream::{tls, RemoteSpec, UpstreamError};

/// A remote upstream in one worker: its targets, TLS, and current pool.
pub(in crate::upstream) struct Remote {
    /// The spec as written, for messages.
    pub(super) name: String,
    pub(super) targets: Vec<Target>,
    pub(super) tls: Option<TlsConnector>,
    pub(super) connect_timeout: Duration,
    pub(super) resolve_every: Option<Duration>,
    /// Whether a target is a host name; if not, the pool never changes.
    pub(super) resolves: bool,
    pub(super) pool: RwLock<Arc<Pool>>,
    /// Held while names resolve: one resolution at a time.
    pub(super) resolving: tokio::sync::Mutex<()>,
    /// Set while a background resolution is scheduled or running.
    pub(super) refreshing: AtomicBool,
    /// The round-robin counter.
    pub(super) next: AtomicUsize,
    /// Time zero of the endpoints' [`Health`](super::health::Health).
    pub(super) epoch: Instant,
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
    pub(in crate::upstream) fn new(spec: &RemoteSpec) -> Result<Remote, UpstreamError> {
        let name = spec.to_string();
        if spec.endpoints.is_empty() {
            return Err(bad_uri(
                &"(none)",
                "an upstream needs at least one endpoint",
            ));
        }
        let any_https = spec
            .endpoints
            .iter()
            .any(|u| u.scheme() == Some(&Scheme::HTTPS));
        let tls = match &spec.tls {
            Some(settings) if any_https => Some(tls::connector(settings, &name)?),
            Some(_) => {
                return Err(bad_uri(
                    &name,
                    "TLS settings are given but no endpoint is https://; use https://HOST:PORT",
                ))
            }
            None => None,
        };
        let targets = spec
            .endpoints
            .iter()
            .map(|uri| Target::new(uri, spec.tls.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
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
    pub(in crate::upstream) fn origin(&self, pool: &Pool, slot: usize) -> &Uri {
        &self.targets[pool.slots[slot].target].origin
    }

    /// The largest request header list the server of `slot`'s connection
    /// accepts (its `SETTINGS_MAX_HEADER_LIST_SIZE`); `None`: it stated none.
    pub(in crate::upstream) fn max_header_list_size(pool: &Pool, slot: usize) -> Option<u32> {
        let size = pool.slots[slot]
            .max_header_list_size
            .load(Ordering::Relaxed);
        (size != u32::MAX).then_some(size)
    }

    /// Whether `a` and `b` are endpoints of the same URI.
    pub(in crate::upstream) fn same_target(pool: &Pool, a: usize, b: usize) -> bool {
        pool.slots[a].target == pool.slots[b].target
    }

    pub(super) fn current(&self) -> Arc<Pool> {
        Arc::clone(&self.pool.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub(super) fn now(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).saturating_add(1)
    }
}
