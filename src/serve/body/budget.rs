//! [`BodyBudget`]: the bytes of request bodies the gateway holds at once,
//! every worker together (`max-in-flight-bytes`). A body's bytes are
//! reserved before they are kept — all of them at once when it declares a
//! `Content-Length`, else as they arrive — and given back when its request
//! is answered; a body that does not fit is refused (503 with
//! `Retry-After`) instead of growing the gateway's memory. The transcoder's
//! working memory grows with the body, so this bounds it too (see
//! RELIABILITY.md for the peak per body shape).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use prometheus::IntGauge;

/// The default budget: room for two bodies of the largest size accepted per
/// worker, never less than 1 MiB.
pub fn default_max_in_flight_bytes(max_body_bytes: usize, workers: usize) -> usize {
    max_body_bytes
        .saturating_mul(2)
        .saturating_mul(workers.max(1))
        .max(1024 * 1024)
}

/// The bytes of request bodies held now, and the most allowed.
#[derive(Debug, Clone)]
pub struct BodyBudget(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    limit: usize,
    used: AtomicUsize,
    /// `restgate_request_body_bytes_in_flight`.
    gauge: IntGauge,
}

/// Bytes of a budget held for one request; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: BodyBudget,
    bytes: usize,
}

impl BodyBudget {
    /// A budget of `limit` bytes, shown by `gauge`.
    pub fn new(limit: usize, gauge: IntGauge) -> BodyBudget {
        BodyBudget(Arc::new(Inner {
            limit,
            used: AtomicUsize::new(0),
            gauge,
        }))
    }

    /// The most bytes it allows.
    pub fn limit(&self) -> usize {
        self.0.limit
    }

    /// An empty reservation, to grow as a body arrives.
    pub fn empty(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            bytes: 0,
        }
    }

    /// Takes `bytes` if they fit.
    fn take(&self, bytes: usize) -> bool {
        let inner = &self.0;
        let fits = inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes)
                    .filter(|total| *total <= inner.limit)
            })
            .is_ok();
        if fits {
            inner.gauge.add(bytes as i64);
        }
        fits
    }

    fn give_back(&self, bytes: usize) {
        self.0.used.fetch_sub(bytes, Ordering::AcqRel);
        self.0.gauge.sub(bytes as i64);
    }
}

impl Reservation {
    /// Holds `bytes` more; `false` (and nothing more held) when they do not
    /// fit.
    pub fn grow(&mut self, bytes: usize) -> bool {
        if bytes == 0 {
            return true;
        }
        let fits = self.budget.take(bytes);
        if fits {
            self.bytes += bytes;
        }
        fits
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.budget.give_back(self.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(limit: usize) -> BodyBudget {
        BodyBudget::new(limit, IntGauge::new("g", "g").unwrap())
    }

    #[test]
    fn reservations_fit_within_the_limit_and_give_back_on_drop() {
        let b = budget(100);
        let mut first = b.empty();
        assert!(first.grow(60));
        let mut second = b.empty();
        assert!(!second.grow(41), "60 + 41 > 100");
        assert!(second.grow(40));
        assert!(!first.grow(1));
        assert_eq!(b.0.gauge.get(), 100);
        drop(first);
        assert_eq!(b.0.gauge.get(), 40);
        let mut third = b.empty();
        assert!(third.grow(60));
        drop((second, third));
        assert_eq!(b.0.used.load(Ordering::Relaxed), 0);
        assert_eq!(b.0.gauge.get(), 0);
    }

    #[test]
    fn the_default_holds_two_largest_bodies_per_worker() {
        assert_eq!(default_max_in_flight_bytes(4 << 20, 2), 16 << 20);
        assert_eq!(default_max_in_flight_bytes(1000, 1), 1 << 20);
        assert_eq!(default_max_in_flight_bytes(usize::MAX, 4), usize::MAX);
    }
}
