//! [`RedisStore`]: keys in Redis, shared by several gateway replicas.

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use prost::Message;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError, Script, Value};
use tokio::runtime::{Handle, Id as RuntimeId};

use super::entry::Entry;
use super::{millis, Claim, IdempotencyStore, Record, StoreError, StoreFuture};

/// Fewest remembered claims before those whose lease ran out are dropped.
const MIN_SWEEP_AT: usize = 1024;

/// How long to wait for a connection, and for a reply.
const TIMEOUT: Duration = Duration::from_secs(2);

/// `SET NX PX` or, if the key exists, its value, in one atomic step (no
/// window where the key vanishes between a failed `SET` and the `GET`).
/// KEYS[1]: the key; ARGV[1]: the in-flight entry; ARGV[2]: the lease, ms.
/// Answers 1 when claimed, else the entry there.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return redis.call('GET', KEYS[1])",
    )
});

/// Stores the answer if the key is absent or still holds our claim, not if
/// another claim or answer has taken it since ours ran out. ARGV[1]: our
/// in-flight entry (empty if unknown: never equal to an entry); ARGV[2]: the
/// answer; ARGV[3]: ttl, ms.
static COMPLETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0",
    )
});

/// Deletes the key only if it still holds our in-flight entry (ARGV[1]).
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0",
    )
});

/// Idempotency keys in Redis: every gateway pointed at the same server (and
/// prefix) shares them, and a claim is one atomic script, so of several
/// replicas racing on one key exactly one wins. Redis expires entries itself
/// (`PX`).
///
/// Each in-flight entry carries a random token, and this store remembers the
/// entries it wrote, so `complete` and `release` only touch the key while it
/// is still this store's claim: a replica whose lease ran out cannot delete
/// or overwrite the claim another replica has taken since.
///
/// Connections: redis' async connections run a driver task on the tokio
/// runtime that opened them, and a gateway runs one runtime per worker
/// thread, so the store keeps one multiplexed connection per thread (made on
/// first use, made again if that thread's runtime changed or the connection
/// broke).
pub struct RedisStore {
    client: redis::Client,
    /// `HOST:PORT`, for messages (never the password).
    addr: String,
    prefix: String,
    conns: Mutex<HashMap<ThreadId, (RuntimeId, MultiplexedConnection)>>,
    held: Mutex<Held>,
}

/// The claims this store holds: full key → the in-flight entry it wrote and
/// when its lease runs out. A caller that drops its future between `claim`
/// and `complete`/`release` leaves one behind; those are dropped once
/// their lease is over, when the map has doubled since the last sweep.
struct Held {
    entries: HashMap<String, (Vec<u8>, Instant)>,
    sweep_at: usize,
}

impl Held {
    fn insert(&mut self, key: String, entry: Vec<u8>, lease: Duration) {
        let now = Instant::now();
        let until = now.checked_add(lease).unwrap_or(now);
        self.entries.insert(key, (entry, until));
        if self.entries.len() >= self.sweep_at {
            self.entries.retain(|_, (_, until)| *until > now);
            self.sweep_at = (self.entries.len() * 2).max(MIN_SWEEP_AT);
        }
    }

    fn remove(&mut self, key: &str) -> Option<Vec<u8>> {
        self.entries.remove(key).map(|(entry, _)| entry)
    }
}

impl RedisStore {
    /// The prefix of every key this store writes, unless set otherwise.
    pub const DEFAULT_PREFIX: &'static str = "restgate:idem:";

    /// Connects to `url` (`redis://HOST:PORT[/DB]`) and `PING`s the server,
    /// so a wrong address is an error now. Keys get
    /// [`DEFAULT_PREFIX`](Self::DEFAULT_PREFIX).
    /// Must be called on a tokio runtime.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Open(format!("Redis URL {url:?}: {e}")))?;
        let addr = client.get_connection_info().addr().to_string();
        let store = RedisStore {
            client,
            addr,
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            conns: Mutex::default(),
            held: Mutex::new(Held {
                entries: HashMap::new(),
                sweep_at: MIN_SWEEP_AT,
            }),
        };
        let opened = async {
            let mut conn = store.conn().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map_err(|e| store.failed(e))
        };
        if let Err(e) = opened.await {
            let reason = match e {
                StoreError::Backend(reason) => reason,
                e => e.to_string(),
            };
            return Err(StoreError::Open(reason));
        }
        Ok(store)
    }

    /// The same store with keys under `prefix` instead of [`DEFAULT_PREFIX`](Self::DEFAULT_PREFIX)
    /// (e.g. to keep two gateways on one server apart).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// A connection usable on the current thread's runtime.
    async fn conn(&self) -> Result<MultiplexedConnection, StoreError> {
        let runtime = Handle::try_current()
            .map_err(|_| StoreError::Backend("the Redis store needs a tokio runtime".into()))?
            .id();
        let thread = thread::current().id();
        if let Some((rt, conn)) = lock(&self.conns).get(&thread) {
            if *rt == runtime {
                return Ok(conn.clone());
            }
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| self.failed(e))?;
        lock(&self.conns).insert(thread, (runtime, conn.clone()));
        Ok(conn)
    }

    /// Turns a Redis error into a store error, and forgets this thread's
    /// connection if the error says it is broken (the next call reconnects).
    fn failed(&self, e: RedisError) -> StoreError {
        if e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error() {
            lock(&self.conns).remove(&thread::current().id());
        }
        StoreError::Backend(format!("Redis at {}: {e}", self.addr))
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn claim_async(
        &self,
        key: &str,
        fingerprint: &[u8],
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let full = self.full_key(key);
        let token = uuid::Uuid::new_v4().as_bytes().to_vec();
        let entry = Entry::in_flight(fingerprint, 0, token).encode_to_vec();
        let mut conn = self.conn().await?;
        let answer: Value = CLAIM
            .key(&full)
            .arg(entry.as_slice())
            .arg(millis(lease))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed(e))?;
        match answer {
            Value::Int(1) => {
                lock(&self.held).insert(full, entry, lease);
                Ok(Claim::Acquired)
            }
            Value::BulkString(bytes) => Ok(Entry::decode_for(key, &bytes)?.into_claim()),
            other => Err(StoreError::Backend(format!(
                "Redis at {}: unexpected answer to a claim: {other:?}",
                self.addr
            ))),
        }
    }

    async fn complete_async(
        &self,
        key: &str,
        record: &Record,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let full = self.full_key(key);
        let answer = Entry::completed(record.clone(), 0).encode_to_vec();
        // Not claimed here (or the claim was forgotten after its lease ran
        // out): store the answer only where no other claim or answer is.
        let ours = lock(&self.held).remove(&full).unwrap_or_default();
        let mut conn = self.conn().await?;
        let stored = COMPLETE
            .key(&full)
            .arg(ours.as_slice())
            .arg(answer.as_slice())
            .arg(millis(ttl))
            .invoke_async::<i64>(&mut conn)
            .await
            .map(|n| n == 1)
            .map_err(|e| self.failed(e))?;
        if !stored {
            tracing::debug!(
                key,
                "not storing an answer: the key was claimed again after its lease ran out"
            );
        }
        Ok(())
    }

    async fn release_async(&self, key: &str) -> Result<(), StoreError> {
        let full = self.full_key(key);
        let Some(ours) = lock(&self.held).remove(&full) else {
            return Ok(());
        };
        let mut conn = self.conn().await?;
        RELEASE
            .key(&full)
            .arg(ours.as_slice())
            .invoke_async::<i64>(&mut conn)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update is a single insert or remove: never half-done.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("addr", &self.addr)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl IdempotencyStore for RedisStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a [u8],
        lease: Duration,
    ) -> StoreFuture<'a, Claim> {
        Box::pin(self.claim_async(key, fingerprint, lease))
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        record: &'a Record,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(self.complete_async(key, record, ttl))
    }

    fn release<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(self.release_async(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgotten_claims_are_dropped_once_their_lease_is_over() {
        let mut held = Held {
            entries: HashMap::new(),
            sweep_at: MIN_SWEEP_AT,
        };
        for i in 0..MIN_SWEEP_AT - 1 {
            held.insert(format!("old{i}"), vec![1], Duration::ZERO);
        }
        assert_eq!(held.entries.len(), MIN_SWEEP_AT - 1);
        // Reaching the threshold sweeps every claim whose lease is over.
        held.insert("live".into(), vec![2], Duration::from_secs(60));
        assert_eq!(held.entries.len(), 1);
        assert_eq!(held.remove("live"), Some(vec![2]));
        assert_eq!(held.remove("live"), None);
    }
}
