//! The idempotency stores (memory, redb file, Redis) against one behavioural
//! suite, plus what only one store has: the file surviving a reopen, two
//! Redis clients (as two gateway replicas) racing on a key, connections
//! outliving runtimes and servers. Error texts of opening a file and of the
//! `--idempotency` syntax are unit tests in `src/idempotency/`.
//!
//! The Redis tests start their own `redis-server` on a free port
//! (`support::RedisServer`); without one installed they fail (CI installs
//! it), they do not skip.

mod support;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use restgate::idempotency::{
    Claim, FileStore, IdempotencyStore, MemoryStore, Record, RedisStore, StoreError, StoreSpec,
    StoredHeader,
};
use support::RedisServer;

/// A lease or ttl nothing in a test outlives.
const LONG: Duration = Duration::from_secs(600);
/// A lease or ttl a test waits out.
const SHORT: Duration = Duration::from_millis(150);
/// Concurrent claims per race.
const RACERS: usize = 50;

fn record(fingerprint: &str) -> Record {
    let header = |name: &str, value: &[u8]| StoredHeader {
        name: name.into(),
        value: value.to_vec(),
    };
    Record {
        fingerprint: fingerprint.as_bytes().to_vec(),
        status: 201,
        headers: vec![
            header("location", b"/v1/users/42"),
            header("etag", b"\"v1\""),
        ],
        // Not UTF-8, and with a NUL: stored byte for byte.
        body: b"{\"id\":\"42\"}\0\xff\xfe".to_vec(),
    }
}

fn in_flight(fingerprint: &str) -> Claim {
    Claim::InFlight {
        fingerprint: fingerprint.as_bytes().to_vec(),
    }
}

/// `store.claim(key, fingerprint, LONG)`, unwrapped.
async fn claim(store: &dyn IdempotencyStore, key: &str, fingerprint: &str) -> Claim {
    store
        .claim(key, fingerprint.as_bytes(), LONG)
        .await
        .unwrap()
}

/// Claims `key` (as `fp-later`) until it is free again, for at most 5 s:
/// expiry is time itself, so this polls, boundedly. A claim of a held key
/// changes nothing, so polling before the expiry is harmless.
async fn claim_after_expiry(store: &dyn IdempotencyStore, key: &str) -> Claim {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let claim = claim(store, key, "fp-later").await;
        if claim == Claim::Acquired || Instant::now() > until {
            return claim;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// What every store does.
async fn suite(store: Arc<dyn IdempotencyStore>) {
    let s = &*store;
    // The first claim holds the key; later ones see it in flight.
    assert_eq!(claim(s, "k1", "fp-a").await, Claim::Acquired);
    assert_eq!(claim(s, "k1", "fp-b").await, in_flight("fp-a"));
    assert_eq!(claim(s, "k1", "fp-a").await, in_flight("fp-a"));

    // Completed: every later claim gets the answer, byte for byte.
    let answer = Claim::Completed(record("fp-a"));
    s.complete("k1", &record("fp-a"), LONG).await.unwrap();
    assert_eq!(claim(s, "k1", "fp-a").await, answer);
    assert_eq!(claim(s, "k1", "fp-b").await, answer);
    // Releasing a key with an answer leaves the answer.
    s.release("k1").await.unwrap();
    assert_eq!(claim(s, "k1", "fp-a").await, answer);

    // Released: the key is free again. Keys are independent.
    assert_eq!(claim(s, "k2", "fp-c").await, Claim::Acquired);
    s.release("k2").await.unwrap();
    assert_eq!(claim(s, "k2", "fp-d").await, Claim::Acquired);
    assert_eq!(claim(s, "k2", "fp-c").await, in_flight("fp-d"));
    assert_eq!(claim(s, "k1", "fp-a").await, answer);

    // A lease runs out: the key is free again. (What is seen before then is
    // checked only if the check ran in time: a loaded machine may stall.
    // The check is itself a claim, with a short lease: one that comes too
    // late takes the freed key, and must not keep it past the poll below.)
    let claimed = Instant::now();
    let first = s.claim("k3", b"fp-e", SHORT).await.unwrap();
    assert_eq!(first, Claim::Acquired);
    let seen = s.claim("k3", b"fp-f", SHORT).await.unwrap();
    if claimed.elapsed() < SHORT {
        assert_eq!(seen, in_flight("fp-e"));
    }
    assert_eq!(claim_after_expiry(s, "k3").await, Claim::Acquired);

    // An answer's ttl runs out: the key is free again.
    assert_eq!(claim(s, "k4", "fp-g").await, Claim::Acquired);
    let completed = Instant::now();
    s.complete("k4", &record("fp-g"), SHORT).await.unwrap();
    let seen = s.claim("k4", b"fp-g", SHORT).await.unwrap();
    if completed.elapsed() < SHORT {
        assert_eq!(seen, Claim::Completed(record("fp-g")));
    }
    assert_eq!(claim_after_expiry(s, "k4").await, Claim::Acquired);

    // Many claims at once, as spawned tasks: exactly one wins.
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let fingerprint = format!("fp-{i}");
                (
                    fingerprint.clone(),
                    claim(&*store, "race", &fingerprint).await,
                )
            })
        })
        .collect();
    let mut claims = Vec::new();
    for task in tasks {
        claims.push(task.await.unwrap());
    }
    assert_one_winner(&claims);
}

/// Exactly one claim is `Acquired`, and every other saw the winner's
/// fingerprint in flight. Answers the winner.
fn assert_one_winner(claims: &[(String, Claim)]) -> &str {
    let winners: Vec<_> = claims
        .iter()
        .filter(|(_, c)| *c == Claim::Acquired)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one claim must win: {claims:?}");
    let winner = &winners[0].0;
    for (fingerprint, claim) in claims.iter().filter(|(f, _)| f != winner) {
        assert_eq!(*claim, in_flight(winner), "{fingerprint} lost to {winner}");
    }
    winner
}

/// Claims `key` from two OS threads, each with its own current-thread
/// runtime (as the gateway's workers are), released at once; thread `t`
/// uses `stores[t % stores.len()]` and fingerprints `fp-{t}-{i}`.
fn race_across_runtimes(stores: &[Arc<dyn IdempotencyStore>], key: &str) -> Vec<(String, Claim)> {
    let start = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let store = Arc::clone(&stores[t % stores.len()]);
            let (start, key) = (Arc::clone(&start), key.to_owned());
            thread::spawn(move || {
                let runtime = current_thread_runtime();
                start.wait();
                runtime.block_on(async {
                    let tasks: Vec<_> = (0..RACERS / 2)
                        .map(|i| {
                            let (store, key) = (Arc::clone(&store), key.clone());
                            tokio::spawn(async move {
                                let fingerprint = format!("fp-{t}-{i}");
                                (
                                    fingerprint.clone(),
                                    claim(&*store, &key, &fingerprint).await,
                                )
                            })
                        })
                        .collect();
                    let mut claims = Vec::new();
                    for task in tasks {
                        claims.push(task.await.unwrap());
                    }
                    claims
                })
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

// ---- memory ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_behaves() {
    suite(Arc::new(MemoryStore::new())).await;
}

#[test]
fn memory_store_one_winner_across_runtimes() {
    let store: Arc<dyn IdempotencyStore> = Arc::new(MemoryStore::new());
    for round in 0..5 {
        assert_one_winner(&race_across_runtimes(
            &[Arc::clone(&store)],
            &format!("k{round}"),
        ));
    }
}

// ---- file ------------------------------------------------------------------

async fn file_store(dir: &tempfile::TempDir) -> Arc<dyn IdempotencyStore> {
    Arc::new(FileStore::open(dir.path().join("keys.redb")).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_store_behaves() {
    let dir = tempfile::tempdir().unwrap();
    suite(file_store(&dir).await).await;
}

#[tokio::test(flavor = "current_thread")]
async fn file_store_behaves_on_a_current_thread_runtime() {
    let dir = tempfile::tempdir().unwrap();
    suite(file_store(&dir).await).await;
}

#[test]
fn file_store_one_winner_across_runtimes() {
    let dir = tempfile::tempdir().unwrap();
    let store = current_thread_runtime().block_on(file_store(&dir));
    for round in 0..3 {
        assert_one_winner(&race_across_runtimes(
            &[Arc::clone(&store)],
            &format!("k{round}"),
        ));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn file_store_answers_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.redb");
    {
        let store = FileStore::open(&path).await.unwrap();
        assert_eq!(claim(&store, "k", "fp-a").await, Claim::Acquired);
        store.complete("k", &record("fp-a"), LONG).await.unwrap();
        assert_eq!(claim(&store, "gone", "fp-z").await, Claim::Acquired);
        store.release("gone").await.unwrap();
    }
    // Dropped (as a stopped gateway): the file is free to open again.
    let store = FileStore::open(&path).await.unwrap();
    assert_eq!(store.path(), path);
    assert_eq!(
        claim(&store, "k", "fp-b").await,
        Claim::Completed(record("fp-a"))
    );
    assert_eq!(claim(&store, "gone", "fp-y").await, Claim::Acquired);
}

// ---- redis -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_behaves() {
    let server = RedisServer::start();
    suite(Arc::new(RedisStore::connect(&server.url()).await.unwrap())).await;
}

#[tokio::test(flavor = "current_thread")]
async fn redis_store_behaves_on_a_current_thread_runtime() {
    let server = RedisServer::start();
    let url = format!("{}/3", server.url());
    suite(Arc::new(RedisStore::connect(&url).await.unwrap())).await;
}

#[test]
fn redis_store_one_winner_across_runtimes() {
    let server = RedisServer::start();
    // Connected on a runtime that is gone before the claims run.
    let url = server.url();
    let store: Arc<dyn IdempotencyStore> = Arc::new(
        current_thread_runtime()
            .block_on(RedisStore::connect(&url))
            .unwrap(),
    );
    for round in 0..5 {
        assert_one_winner(&race_across_runtimes(
            &[Arc::clone(&store)],
            &format!("k{round}"),
        ));
    }
}

#[test]
fn redis_store_outlives_the_runtime_it_connected_on() {
    let server = RedisServer::start();
    // The connection made here runs its driver on this runtime...
    let first = current_thread_runtime();
    let store = first.block_on(RedisStore::connect(&server.url())).unwrap();
    first.block_on(async { assert_eq!(claim(&store, "k1", "fp").await, Claim::Acquired) });
    drop(first);
    // ...which is gone: a new runtime on the same thread gets a new one.
    current_thread_runtime().block_on(async {
        assert_eq!(claim(&store, "k2", "fp").await, Claim::Acquired);
        assert_eq!(claim(&store, "k1", "fp-b").await, in_flight("fp"));
    });
}

#[test]
fn redis_two_gateways_racing_on_a_key_one_wins() {
    let server = RedisServer::start();
    let runtime = current_thread_runtime();
    let a = runtime
        .block_on(RedisStore::connect(&server.url()))
        .unwrap();
    let b = runtime
        .block_on(RedisStore::connect(&server.url()))
        .unwrap();
    let stores: [Arc<dyn IdempotencyStore>; 2] = [Arc::new(a), Arc::new(b)];
    for round in 0..10 {
        let key = format!("k{round}");
        let claims = race_across_runtimes(&stores, &key);
        let winner = assert_one_winner(&claims);
        // The winner (`fp-{t}-…` claimed through stores[t]) completes; both
        // gateways then replay its answer.
        let holder = &stores[usize::from(winner.as_bytes()[3] - b'0')];
        runtime.block_on(async {
            holder.complete(&key, &record(winner), LONG).await.unwrap();
            for store in &stores {
                assert_eq!(
                    claim(&**store, &key, "fp-again").await,
                    Claim::Completed(record(winner))
                );
            }
        });
    }
}

#[tokio::test(flavor = "current_thread")]
async fn redis_release_and_complete_touch_only_their_own_claim() {
    let server = RedisServer::start();
    let a = RedisStore::connect(&server.url()).await.unwrap();
    let b = RedisStore::connect(&server.url()).await.unwrap();
    // a's lease runs out and b claims the key: a's complete and release
    // leave b's claim alone.
    assert_eq!(a.claim("k", b"fp-a", SHORT).await.unwrap(), Claim::Acquired);
    assert_eq!(claim_after_expiry(&b, "k").await, Claim::Acquired);
    a.complete("k", &record("fp-a"), LONG).await.unwrap();
    assert_eq!(claim(&a, "k", "fp-x").await, in_flight("fp-later"));
    a.release("k").await.unwrap();
    assert_eq!(claim(&a, "k", "fp-x").await, in_flight("fp-later"));
    // Nor does a complete from a store that does not hold the key.
    a.complete("k", &record("fp-a"), LONG).await.unwrap();
    assert_eq!(claim(&a, "k", "fp-x").await, in_flight("fp-later"));
    // b's answer is stored, and a release from a store that does not hold
    // the key leaves it.
    b.complete("k", &record("fp-later"), LONG).await.unwrap();
    a.release("k").await.unwrap();
    assert_eq!(
        claim(&a, "k", "fp-x").await,
        Claim::Completed(record("fp-later"))
    );
    // Prefixes keep stores apart.
    let c = RedisStore::connect(&server.url())
        .await
        .unwrap()
        .with_prefix("other:");
    assert_eq!(claim(&c, "k", "fp-c").await, Claim::Acquired);
}

#[tokio::test(flavor = "current_thread")]
async fn redis_store_reconnects_after_a_server_restart() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.unwrap();
    assert_eq!(claim(&store, "k", "fp").await, Claim::Acquired);
    let port = server.port;
    drop(server);
    // The server is gone: a clear error, not a hang.
    let err = store.claim("k2", b"fp", LONG).await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    // Back on the same port (empty): the next call reconnects.
    let _server = RedisServer::spawn(port).expect("redis-server back on its port");
    assert_eq!(claim(&store, "k2", "fp").await, Claim::Acquired);
}

#[tokio::test(flavor = "current_thread")]
async fn redis_wrong_address_is_a_startup_error() {
    let port = support::dead_addr().port();
    let spec: StoreSpec = format!("redis://127.0.0.1:{port}").parse().unwrap();
    let err = spec.open().await.unwrap_err();
    let message = err.to_string();
    let prefix = format!("cannot open the idempotency store: Redis at 127.0.0.1:{port}: ");
    assert!(
        matches!(err, StoreError::Open(_)) && message.starts_with(&prefix),
        "{message}"
    );
}

// ---- StoreSpec -------------------------------------------------------------

#[tokio::test(flavor = "current_thread")]
async fn store_specs_open_their_store() {
    let dir = tempfile::tempdir().unwrap();
    let server = RedisServer::start();
    let file = StoreSpec::File(dir.path().join("keys.redb"));
    for spec in [StoreSpec::Memory, file, StoreSpec::Redis(server.url())] {
        let store = spec.open().await.unwrap();
        assert_eq!(claim(&*store, "k", "fp").await, Claim::Acquired, "{spec}");
        assert_eq!(claim(&*store, "k", "fp").await, in_flight("fp"), "{spec}");
    }
}
