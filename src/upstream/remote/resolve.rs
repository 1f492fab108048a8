//! Names to endpoints: a [`Remote`]'s host names resolved lazily on the call
//! path, again in the background when due, keeping the endpoints that stay;
//! the failure cases are in the room's docs (`remote`, "Names").

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use super::pool::{Pool, Slot};
use super::Remote;
use crate::upstream::UpstreamError;

/// How soon a name that failed to resolve is tried again, while its old
/// addresses (if any) keep serving.
const RESOLVE_RETRY: Duration = Duration::from_secs(5);
/// How long "no address at all" is answered from cache before resolving
/// again; also the least time between two resolutions brought forward.
const NO_ADDRESS_RETRY: Duration = Duration::from_secs(1);

impl Remote {
    /// The endpoints to call: resolved first if never yet, resolved again
    /// in the background when due.
    pub(in crate::upstream) async fn pool(self: &Arc<Self>) -> Result<Arc<Pool>, UpstreamError> {
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
    pub(super) async fn resolve_now(self: &Arc<Self>, sooner: bool) -> Arc<Pool> {
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
    pub(super) fn refresh_in_background(self: &Arc<Self>, sooner: bool) {
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
    pub(super) async fn resolve(&self, old: &Pool) -> Arc<Pool> {
        let (found, errors) = self.lookup(old).await;
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

    /// Every target's `(target, address)` pairs, in target order: a name's
    /// addresses, or the old pool's for a name that did not resolve; and
    /// why names did not resolve.
    async fn lookup(&self, old: &Pool) -> (Vec<(usize, SocketAddr)>, Vec<String>) {
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
        (found, errors)
    }
}
