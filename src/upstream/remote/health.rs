//! [`Health`]: whether an endpoint is up, and the backoff of one that failed
//! to connect: 1 s, doubling with each further failure, up to 30 s.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// The first backoff of an endpoint that failed to connect.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest backoff.
pub(super) const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// How long an endpoint stays down after `failures` failed connection
/// attempts in a row (at least one): 1 s, 2 s, 4 s, … up to 30 s.
pub(super) fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    BACKOFF_MIN.saturating_mul(1 << doublings).min(BACKOFF_MAX)
}

/// Whether an endpoint is up, and its backoff when it is not. Times are
/// nanoseconds since the [`Remote`](super::Remote)'s epoch, plus one, so that 0 means up
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
    pub(super) fn failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }
}
