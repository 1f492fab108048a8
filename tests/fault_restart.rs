//! A fault test, bounded in time and count: a stream of PUTs (20 items, 10
//! versions each, sequential per item) and keyed POSTs (100 distinct keys)
//! runs through the gateway while the upstream example service is restarted
//! twice on its address, keeping its data. Clients retry what failed (a PUT
//! as is, a POST with the same `Idempotency-Key`) a bounded number of times.
//!
//! Afterwards every item holds exactly what the last PUT the client saw
//! succeed wrote, and every key made exactly one user.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};
use support::{Gateway, Reply, RestartableExample, WAIT};
use tokio::sync::watch;

/// Items written by PUT, and versions written to each.
const ITEMS: usize = 20;
const VERSIONS: usize = 10;
/// Keyed POSTs, and the tasks sending them (each sends its share in turn).
const KEYS: usize = 100;
const POSTERS: usize = 10;
/// Tries per operation, and the client's pause between them.
const TRIES: usize = 200;
const PAUSE: Duration = Duration::from_millis(20);
/// The restarts: after how many successful operations, and how long down.
const RESTARTS: [(usize, Duration); 2] = [
    (60, Duration::from_millis(150)),
    (180, Duration::from_millis(400)),
];
/// The bound on the whole run.
const RUN: Duration = Duration::from_secs(90);

/// What the clients saw.
struct Run {
    /// Successful operations so far; the restarts wait on it.
    done: watch::Sender<usize>,
    /// Answers that said the upstream was unavailable (then retried).
    unavailable: AtomicUsize,
}

impl Run {
    /// Sends `method path body` (with `key`, if any) until the answer is a
    /// success; a 503/504 (the service could not be reached) is tried
    /// again, as is a 409 (a try with the same key still in flight); any
    /// other answer fails the test.
    async fn until_ok(
        &self,
        gw: &Gateway,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: &Value,
    ) -> Reply {
        for _ in 0..TRIES {
            let reply = match key {
                Some(key) => gw.keyed(method.clone(), path, key, body).await,
                None => gw.send_json(method.clone(), path, body).await,
            };
            match reply.status.as_u16() {
                200 | 201 => {
                    self.done.send_modify(|n| *n += 1);
                    return reply;
                }
                503 | 504 | 409 => {
                    self.unavailable.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(PAUSE).await;
                }
                _ => panic!("{method} {path} (key {key:?}): {reply:?}"),
            }
        }
        panic!("{method} {path} (key {key:?}) did not succeed in {TRIES} tries");
    }
}

/// Writes versions 0..VERSIONS of item `p{item}` in turn; answers the body
/// of the last successful PUT.
async fn put_versions(run: &Run, gw: &Gateway, item: usize) -> Value {
    let path = format!("/v1/users/p{item}");
    let mut last = Value::Null;
    for version in 0..VERSIONS {
        let user = json!({
            "displayName": format!("p{item} v{version}"),
            "email": format!("p{item}.v{version}@example.com"),
        });
        let reply = run.until_ok(gw, Method::PUT, &path, None, &user).await;
        let body = reply.json();
        assert_eq!(body["displayName"], user["displayName"], "{reply:?}");
        last = body;
    }
    last
}

/// Creates one user per key of poster `p` (keys `p`, `p + POSTERS`, …) in
/// turn; answers each key's created user id.
async fn post_keys(run: &Run, gw: &Gateway, poster: usize) -> Vec<(String, String)> {
    let mut created = Vec::new();
    for k in (poster..KEYS).step_by(POSTERS) {
        let key = format!("key-{k}");
        let user = json!({"displayName": key});
        let reply = run
            .until_ok(gw, Method::POST, "/v1/users", Some(&key), &user)
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
        let id = reply.json()["userId"].as_str().expect("userId").to_owned();
        assert_eq!(reply.header("location"), Some(&*format!("/v1/users/{id}")));
        created.push((key, id));
    }
    created
}

/// Restarts the example per [`RESTARTS`] as the run progresses.
async fn restarts(example: &mut RestartableExample, done: &watch::Sender<usize>) {
    let mut progress = done.subscribe();
    for (after, down) in RESTARTS {
        tokio::time::timeout(WAIT, progress.wait_for(|n| *n >= after))
            .await
            .unwrap_or_else(|_| panic!("fewer than {after} operations done within 20 s"))
            .expect("progress");
        example.restart(down).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarting_the_upstream_loses_no_write_and_duplicates_no_create() {
    let mut example = RestartableExample::start().await;
    let gw = Gateway::example(example.addr).await;
    let run = Run {
        done: watch::Sender::new(0),
        unavailable: AtomicUsize::new(0),
    };

    let puts = join_all((0..ITEMS).map(|item| put_versions(&run, &gw, item)));
    let posts = join_all((0..POSTERS).map(|poster| post_keys(&run, &gw, poster)));
    let ((last_puts, created), ()) = tokio::time::timeout(RUN, async {
        tokio::join!(
            async { tokio::join!(puts, posts) },
            restarts(&mut example, &run.done)
        )
    })
    .await
    .expect("the run ended within its bound");
    assert_eq!(example.stops, RESTARTS.len());
    let unavailable = run.unavailable.load(Ordering::Relaxed);
    println!(
        "{} operations, {unavailable} retried answers, {} restarts",
        *run.done.borrow(),
        example.stops
    );
    assert!(unavailable > 0, "the restarts were never seen by a client");

    // Every item holds what its last successful PUT answered, exactly.
    for (item, last) in last_puts.iter().enumerate() {
        let now = gw.get(&format!("/v1/users/p{item}")).await.assert_json(200);
        assert_eq!(&now, last, "item p{item}");
        assert_eq!(
            now["displayName"],
            json!(format!("p{item} v{}", VERSIONS - 1))
        );
    }

    // Every key made exactly one user: the one its client was told of.
    let list = gw.get("/v1/users?pageSize=1000").await.assert_json(200);
    assert!(
        list.get("nextPageToken").is_none_or(|t| t == ""),
        "one page holds them all: {list}"
    );
    let users = list["users"].as_array().expect("users");
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut items = 0;
    for user in users {
        let id = user["userId"].as_str().expect("userId");
        if id.starts_with('p') {
            items += 1;
            continue;
        }
        let key = user["displayName"].as_str().expect("displayName");
        by_key
            .entry(key.to_owned())
            .or_default()
            .push(id.to_owned());
    }
    assert_eq!(items, ITEMS, "{list}");
    let duplicated: Vec<_> = by_key.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(
        duplicated.is_empty(),
        "keys that made several users: {duplicated:?}"
    );
    assert_eq!(by_key.len(), KEYS, "users made by POST");
    for (key, id) in created.iter().flatten() {
        assert_eq!(by_key.get(key), Some(&vec![id.clone()]), "key {key}");
    }
}
