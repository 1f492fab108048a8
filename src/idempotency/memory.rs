//! [`MemoryStore`]: keys in a map in this process, the default store.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{Claim, IdempotencyStore, Record, StoreFuture};

/// Fewest entries before the map is swept of expired ones at all.
const MIN_SWEEP_AT: usize = 1024;

/// Idempotency keys in this process's memory: fast, and gone with the
/// process. Keys are shared by every worker runtime of one gateway, not with
/// other gateways.
///
/// Expiry is checked on access. Expired entries nobody asks for again are
/// dropped by a sweep that runs when the map has grown to twice its size
/// after the previous sweep, so memory stays within about twice the live
/// entries at an amortized O(1) cost per claim.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

struct Inner {
    entries: HashMap<String, Slot>,
    /// Sweep once `entries` reaches this many.
    sweep_at: usize,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            entries: HashMap::new(),
            sweep_at: MIN_SWEEP_AT,
        }
    }
}

struct Slot {
    state: State,
    expires_at: Instant,
}

enum State {
    InFlight { fingerprint: Vec<u8> },
    Completed(Record),
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// How many keys are held (in flight or completed), counting expired
    /// ones not swept yet.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no keys are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map is consistent after every statement; a panic elsewhere while
        // holding the lock leaves nothing half-done.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim_now(&self, key: &str, fingerprint: &[u8], lease: Duration) -> Claim {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some(slot) = inner.entries.get(key) {
            if slot.expires_at > now {
                return match &slot.state {
                    State::InFlight { fingerprint } => Claim::InFlight {
                        fingerprint: fingerprint.clone(),
                    },
                    State::Completed(record) => Claim::Completed(record.clone()),
                };
            }
        }
        let slot = Slot {
            state: State::InFlight {
                fingerprint: fingerprint.to_vec(),
            },
            expires_at: deadline(now, lease),
        };
        inner.entries.insert(key.to_owned(), slot);
        if inner.entries.len() >= inner.sweep_at {
            inner.entries.retain(|_, slot| slot.expires_at > now);
            inner.sweep_at = (inner.entries.len() * 2).max(MIN_SWEEP_AT);
        }
        Claim::Acquired
    }

    fn complete_now(&self, key: &str, record: &Record, ttl: Duration) {
        let slot = Slot {
            state: State::Completed(record.clone()),
            expires_at: deadline(Instant::now(), ttl),
        };
        self.lock().entries.insert(key.to_owned(), slot);
    }

    fn release_now(&self, key: &str) {
        let mut inner = self.lock();
        if matches!(
            inner.entries.get(key),
            Some(Slot {
                state: State::InFlight { .. },
                ..
            })
        ) {
            inner.entries.remove(key);
        }
    }
}

/// `now + d`, saturating far in the future instead of overflowing.
fn deadline(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 60 * 60))
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("keys", &self.len())
            .finish()
    }
}

impl IdempotencyStore for MemoryStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a [u8],
        lease: Duration,
    ) -> StoreFuture<'a, Claim> {
        Box::pin(std::future::ready(Ok(self.claim_now(
            key,
            fingerprint,
            lease,
        ))))
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        record: &'a Record,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        self.complete_now(key, record, ttl);
        Box::pin(std::future::ready(Ok(())))
    }

    fn release<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.release_now(key);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    #[test]
    fn expired_entries_are_swept_as_the_map_grows() {
        let store = MemoryStore::new();
        for i in 0..MIN_SWEEP_AT - 1 {
            assert_eq!(
                store.claim_now(&format!("old{i}"), b"f", Duration::ZERO),
                Claim::Acquired
            );
        }
        assert_eq!(store.len(), MIN_SWEEP_AT - 1);
        // The claim that reaches the threshold sweeps every expired entry.
        assert_eq!(store.claim_now("live", b"f", LONG), Claim::Acquired);
        assert_eq!(store.len(), 1);
        assert_eq!(store.lock().sweep_at, MIN_SWEEP_AT);
    }

    #[test]
    fn the_sweep_threshold_doubles_with_live_entries() {
        let store = MemoryStore::new();
        for i in 0..MIN_SWEEP_AT {
            store.claim_now(&format!("k{i}"), b"f", LONG);
        }
        // All live: nothing swept, and the next sweep waits for twice as many.
        assert_eq!(store.len(), MIN_SWEEP_AT);
        assert_eq!(store.lock().sweep_at, 2 * MIN_SWEEP_AT);
    }

    #[test]
    fn release_leaves_an_answer_alone() {
        let store = MemoryStore::new();
        store.claim_now("k", b"f", LONG);
        let record = Record {
            fingerprint: b"f".to_vec(),
            status: 201,
            ..Record::default()
        };
        store.complete_now("k", &record, LONG);
        store.release_now("k");
        assert_eq!(store.claim_now("k", b"f", LONG), Claim::Completed(record));
    }
}
