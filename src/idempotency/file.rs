//! [`FileStore`]: keys in a redb database file, so they survive a restart.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message;
use redb::{Database, DatabaseError, Durability, ReadableTable, TableDefinition};

use super::entry::Entry;
use super::{millis, Claim, IdempotencyStore, Record, StoreError, StoreFuture};

/// The one table: key → prost-encoded [`Entry`].
const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency_keys");

/// Every this many claims, the claim's transaction also drops expired
/// entries, and commits durably (so pages that non-durable commits free are
/// reused: redb reclaims them only after a durable commit).
const SWEEP_EVERY: u64 = 1024;

/// Idempotency keys in a redb file (an embedded, ACID, pure-Rust key-value
/// store): a gateway restarted on the same file replays answers stored
/// before the restart.
///
/// A claim is one write transaction (redb allows one at a time, so a claim
/// is atomic). Claims and releases commit without an fsync
/// ([`Durability::None`]): an in-flight mark dies with the process anyway,
/// and losing it in a crash only frees the key early. Answers, and every
/// claim that sweeps expired entries, commit with an fsync
/// ([`Durability::Immediate`]), which also makes every earlier commit
/// durable. redb blocks, so every call runs on tokio's blocking pool.
///
/// One process at a time: opening a file another process (or another store
/// in this one) holds fails. To share keys between gateways, use Redis.
pub struct FileStore {
    db: Arc<Database>,
    path: PathBuf,
    claims: AtomicU64,
}

impl FileStore {
    /// Opens the database at `path`, creating the file if it does not exist
    /// (its directory must), and drops expired entries.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let path = path.into();
        blocking(move || Self::open_blocking(path)).await
    }

    fn open_blocking(path: PathBuf) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir.filter(|d| !d.is_dir()) {
            return Err(StoreError::Open(format!(
                "{shown}: the directory {} does not exist",
                dir.display()
            )));
        }
        let db = Database::create(&path).map_err(|e| match e {
            DatabaseError::DatabaseAlreadyOpen => StoreError::Open(format!(
                "{shown} is already open in another process (or another store in this one): \
                 each gateway needs its own file; use redis:// to share keys between gateways"
            )),
            e => StoreError::Open(format!("{shown}: {e}")),
        })?;
        let store = FileStore {
            db: Arc::new(db),
            path,
            claims: AtomicU64::new(0),
        };
        // Creates the table, so readers never meet a missing one.
        write(&store.db, Durability::Immediate, |table| {
            sweep(table, now_ms())?;
            Ok(())
        })
        .map_err(|e| StoreError::Open(format!("{shown}: {e}")))?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .finish()
    }
}

impl IdempotencyStore for FileStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a [u8],
        lease: Duration,
    ) -> StoreFuture<'a, Claim> {
        let db = Arc::clone(&self.db);
        let sweep_now =
            self.claims.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1;
        let key = key.to_owned();
        let fingerprint = fingerprint.to_vec();
        let durability = if sweep_now {
            Durability::Immediate
        } else {
            Durability::None
        };
        Box::pin(blocking(move || {
            write(&db, durability, |table| {
                let now = now_ms();
                let existing = match table.get(key.as_str()).map_err(backend)? {
                    Some(bytes) => Some(Entry::decode_for(&key, bytes.value())?),
                    None => None,
                };
                if let Some(entry) = existing.filter(|e| e.expires_at_ms > now) {
                    return Ok(entry.into_claim());
                }
                let entry =
                    Entry::in_flight(&fingerprint, now.saturating_add(millis(lease)), Vec::new());
                table
                    .insert(key.as_str(), entry.encode_to_vec().as_slice())
                    .map_err(backend)?;
                if sweep_now {
                    sweep(table, now)?;
                }
                Ok(Claim::Acquired)
            })
        }))
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        record: &'a Record,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        let db = Arc::clone(&self.db);
        let key = key.to_owned();
        let entry = Entry::completed(record.clone(), now_ms().saturating_add(millis(ttl)));
        Box::pin(blocking(move || {
            write(&db, Durability::Immediate, |table| {
                table
                    .insert(key.as_str(), entry.encode_to_vec().as_slice())
                    .map_err(backend)?;
                Ok(())
            })
        }))
    }

    fn release<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let db = Arc::clone(&self.db);
        let key = key.to_owned();
        Box::pin(blocking(move || {
            write(&db, Durability::None, |table| {
                let in_flight = match table.get(key.as_str()).map_err(backend)? {
                    Some(bytes) => Entry::decode_for(&key, bytes.value())?.is_in_flight(),
                    None => false,
                };
                if in_flight {
                    table.remove(key.as_str()).map_err(backend)?;
                }
                Ok(())
            })
        }))
    }
}

type Table<'txn> = redb::Table<'txn, &'static str, &'static [u8]>;

/// Runs `f` on the table in one write transaction and commits it.
fn write<T>(
    db: &Database,
    durability: Durability,
    f: impl FnOnce(&mut Table<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut txn = db.begin_write().map_err(backend)?;
    txn.set_durability(durability).map_err(backend)?;
    let out = {
        let mut table = txn.open_table(TABLE).map_err(backend)?;
        f(&mut table)?
    };
    txn.commit().map_err(backend)?;
    Ok(out)
}

/// Drops entries that expired before `now`, and any that do not decode.
fn sweep(table: &mut Table<'_>, now: u64) -> Result<(), StoreError> {
    table
        .retain(|key, bytes| match Entry::decode_for(key, bytes) {
            Ok(entry) => entry.expires_at_ms > now,
            Err(e) => {
                tracing::warn!(error = %e, "dropping an undecodable idempotency entry");
                false
            }
        })
        .map_err(backend)?;
    Ok(())
}

/// Runs blocking redb work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Backend(format!("the file store's worker failed: {e}")))?
}

fn backend(e: impl Into<redb::Error>) -> StoreError {
    let e: redb::Error = e.into();
    StoreError::Backend(format!("file store: {e}"))
}

/// Now, in unix milliseconds.
fn now_ms() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use redb::ReadableTableMetadata;
    use tempfile::TempDir;

    use super::*;

    fn open_error(result: Result<FileStore, StoreError>) -> String {
        match result {
            Ok(store) => panic!("opened {store:?}"),
            Err(e @ StoreError::Open(_)) => e.to_string(),
            Err(e) => panic!("not an open error: {e:?}"),
        }
    }

    async fn store() -> (TempDir, FileStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(dir.path().join("keys.redb")).await.unwrap();
        (dir, store)
    }

    fn put_raw(store: &FileStore, key: &str, bytes: &[u8]) {
        write(&store.db, Durability::Immediate, |table| {
            table.insert(key, bytes).map_err(backend)?;
            Ok(())
        })
        .unwrap();
    }

    fn len(store: &FileStore) -> u64 {
        write(&store.db, Durability::None, |table| {
            table.len().map_err(backend)
        })
        .unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_missing_directory_is_an_error_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let path = missing.join("keys.redb");
        assert_eq!(
            open_error(FileStore::open(&path).await),
            format!(
                "cannot open the idempotency store: {}: the directory {} does not exist",
                path.display(),
                missing.display()
            )
        );
        assert!(!missing.exists());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_file_already_open_is_an_error() {
        let (dir, first) = store().await;
        let path = dir.path().join("keys.redb");
        assert_eq!(
            open_error(FileStore::open(&path).await),
            format!(
                "cannot open the idempotency store: {} is already open in another process \
                 (or another store in this one): each gateway needs its own file; \
                 use redis:// to share keys between gateways",
                path.display()
            )
        );
        drop(first);
        FileStore::open(&path).await.unwrap();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_file_that_is_not_a_database_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "not a database at all. ".repeat(100)).unwrap();
        let message = open_error(FileStore::open(&path).await);
        let prefix = format!("cannot open the idempotency store: {}: ", path.display());
        assert!(message.starts_with(&prefix), "{message}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_undecodable_entry_is_corrupt_until_swept() {
        let (_dir, store) = store().await;
        put_raw(&store, "bad", &[0xff, 0xff, 0xff]);
        let err = store
            .claim("bad", b"fp", Duration::from_secs(60))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        let err = store.release("bad").await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        // An answer replaces it.
        let record = Record::default();
        store
            .complete("bad", &record, Duration::from_secs(60))
            .await
            .unwrap();
        let claim = store
            .claim("bad", b"fp", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(claim, Claim::Completed(record));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn sweeps_drop_expired_and_undecodable_entries() {
        let (_dir, store) = store().await;
        for i in 0..10 {
            let key = format!("old{i}");
            store.claim(&key, b"fp", Duration::ZERO).await.unwrap();
        }
        store
            .claim("live", b"fp", Duration::from_secs(60))
            .await
            .unwrap();
        put_raw(&store, "bad", b"\xff\xff");
        assert_eq!(len(&store), 12);
        tokio::time::sleep(Duration::from_millis(5)).await;
        write(&store.db, Durability::None, |table| sweep(table, now_ms())).unwrap();
        assert_eq!(len(&store), 1);
        // Every SWEEP_EVERY-th claim sweeps too.
        store.claim("old", b"fp", Duration::ZERO).await.unwrap();
        store.claims.store(SWEEP_EVERY - 1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(5)).await;
        store
            .claim("new", b"fp", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(len(&store), 2, "live and new");
    }
}
