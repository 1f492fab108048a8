//! Idempotency-key stores: where the gateway remembers, per `Idempotency-Key`,
//! that a request is running or what it answered (SPEC §5, issue 4).
//!
//! This room owns the storage half of idempotency and nothing of HTTP:
//!
//! - [`IdempotencyStore`], the one trait: [`claim`](IdempotencyStore::claim) a
//!   key atomically (exactly one of any number of racing callers wins, even
//!   across processes for Redis), then [`complete`](IdempotencyStore::complete)
//!   it with the answer or [`release`](IdempotencyStore::release) it when the
//!   service surely did not act (the call was never sent).
//! - [`Record`], the stored answer (status, headers, body, and the request's
//!   fingerprint), prost-encoded wherever it leaves memory.
//! - Three stores: [`MemoryStore`] (the default, one process),
//!   [`FileStore`] (redb on disk, survives a restart) and [`RedisStore`]
//!   (shared by several gateway replicas).
//! - [`StoreSpec`], the `--idempotency` flag's syntax (`memory`, `file:PATH`,
//!   `redis://HOST:PORT[/DB]`), and opening the store it names.
//!
//! What the fingerprint covers, and turning a [`Claim`] into a replay, a 409
//! or a 422, belong to the HTTP handler in `serve`.
//!
//! Expiry is per entry: a claim holds its key for a *lease* (so a gateway that
//! dies mid-request does not wedge the key), an answer is kept for a *ttl*.

mod entry;
mod file;
mod memory;
mod redis;
mod spec;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use self::file::FileStore;
pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;
pub use self::spec::{ParseStoreSpecError, StoreSpec};

/// How long an answer is kept when nothing else is configured (SPEC §5: 24 h).
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What is stored for a key once its request has an answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Record {
    /// The fingerprint of the request that produced the answer, so a repeat
    /// with a different request can be told apart (422).
    #[prost(bytes = "vec", tag = "1")]
    pub fingerprint: Vec<u8>,
    /// The HTTP status of the answer.
    #[prost(uint32, tag = "2")]
    pub status: u32,
    /// The response headers worth replaying (e.g. `Location`, `ETag`).
    #[prost(message, repeated, tag = "3")]
    pub headers: Vec<StoredHeader>,
    /// The response body, byte for byte.
    #[prost(bytes = "vec", tag = "4")]
    pub body: Vec<u8>,
}

/// One stored response header.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StoredHeader {
    /// The header name (lower case, as `http` gives it).
    #[prost(string, tag = "1")]
    pub name: String,
    /// The header value, raw bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// The answer to [`IdempotencyStore::claim`].
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Nobody holds the key: the caller now does (until `complete`, `release`,
    /// or the lease runs out).
    Acquired,
    /// A request with this key is running; its fingerprint.
    InFlight {
        /// The fingerprint the running request claimed the key with.
        fingerprint: Vec<u8>,
    },
    /// The key's request has completed; its stored answer.
    Completed(Record),
}

/// Why a store could not be opened or could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be opened: a missing directory, a file another
    /// process holds, a Redis server that does not answer. A startup error.
    #[error("cannot open the idempotency store: {0}")]
    Open(String),
    /// The backend failed on a call: I/O, a Redis connection or command.
    #[error("idempotency store: {0}")]
    Backend(String),
    /// A stored entry could not be decoded.
    #[error("idempotency store: corrupt entry: {0}")]
    Corrupt(String),
}

/// The future every store method returns: boxed so the trait is object safe,
/// `Send` so a handler holding it can be spawned.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A place to keep idempotency keys. Shared as one `Arc<dyn IdempotencyStore>`
/// by every worker runtime of a gateway; every method may be called from any
/// tokio runtime (current-thread or multi-thread).
pub trait IdempotencyStore: Send + Sync + fmt::Debug + 'static {
    /// Atomically: if the key is absent or expired, mark it in flight with
    /// `fingerprint` for at most `lease`, answer [`Claim::Acquired`]; else
    /// answer what is there. Exactly one of any number of concurrent callers
    /// (even in different processes for Redis) gets `Acquired`.
    fn claim<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a [u8],
        lease: Duration,
    ) -> StoreFuture<'a, Claim>;

    /// Stores the answer for a key this caller holds, kept for `ttl`.
    fn complete<'a>(
        &'a self,
        key: &'a str,
        record: &'a Record,
        ttl: Duration,
    ) -> StoreFuture<'a, ()>;

    /// Forgets a key this caller holds without an answer (the service surely
    /// did not act: the call was never sent), so the client may retry.
    /// A key that has an answer is left alone.
    fn release<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;
}

/// Whole milliseconds of `d`, at least 1 (Redis refuses `PX 0`; a zero lease
/// or ttl means "expire at once", which 1 ms is in practice).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}
