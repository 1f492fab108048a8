//! Two gateway processes sharing one real `redis-server` as their
//! idempotency store (`--idempotency redis://…`), in front of one example
//! service: the same key sent to both at once makes exactly one resource,
//! and either replica replays the answer the other stored.
//!
//! Needs `redis-server` on PATH (CI installs it); without it the test fails.

mod support;

use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};
use support::{dead_addr, start_example, Gateway, RedisServer, Reply};

/// Concurrent tries per gateway.
const ROUNDS: usize = 10;

fn replayed(reply: &Reply) -> bool {
    reply.header("idempotent-replayed") == Some("true")
}

/// The users the example service holds.
async fn users(gw: &Gateway) -> Vec<Value> {
    let list = gw.get("/v1/users?pageSize=1000").await.assert_json(200);
    list.get("users")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_sent_to_two_replicas_at_once_makes_one_resource() {
    let redis = RedisServer::start();
    let example = start_example().await;
    let store = redis.url();
    let args = ["--idempotency", store.as_str()];
    let (a, b) = tokio::join!(
        Gateway::example_with(example, &args),
        Gateway::example_with(example, &args)
    );
    let user = json!({"displayName": "Ada", "email": "ada@example.com"});

    let tries = (0..ROUNDS).flat_map(|_| {
        [&a, &b]
            .into_iter()
            .map(|gw| gw.keyed(Method::POST, "/v1/users", "shared-key", &user))
    });
    let replies = join_all(tries).await;

    let created = users(&a).await;
    assert_eq!(created.len(), 1, "one key, one resource: {created:#?}");
    let id = created[0]["userId"].as_str().expect("userId").to_owned();
    let location = format!("/v1/users/{id}");

    let originals: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == 201 && !replayed(r))
        .collect();
    assert_eq!(originals.len(), 1, "exactly one original: {replies:#?}");
    let original = originals[0];
    assert_eq!(original.header("location"), Some(&*location));
    assert_eq!(original.json()["userId"], json!(id));
    let mut conflicts = 0;
    for reply in &replies {
        match reply.status.as_u16() {
            409 => {
                reply.assert_error(409, 10);
                conflicts += 1;
            }
            201 if replayed(reply) => {
                assert_eq!(reply.text, original.text, "replayed body");
                assert_eq!(reply.header("location"), Some(&*location));
                assert_eq!(reply.header("etag"), original.header("etag"));
            }
            201 => {}
            _ => panic!("neither the answer, its replay nor a 409: {reply:?}"),
        }
    }
    println!(
        "{} tries: 1 original, {conflicts} conflicts, {} replays",
        replies.len(),
        replies.len() - 1 - conflicts
    );

    // Settled: both replicas replay it.
    for gw in [&a, &b] {
        let again = gw
            .keyed(Method::POST, "/v1/users", "shared-key", &user)
            .await;
        assert!(replayed(&again), "{again:?}");
        assert_eq!(again.status, 201);
        assert_eq!(again.text, original.text);
        assert_eq!(again.header("location"), Some(&*location));
    }
    assert_eq!(users(&b).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_share_answers_mismatches_and_callers() {
    let redis = RedisServer::start();
    let example = start_example().await;
    let store = redis.url();
    let args = ["--idempotency", store.as_str()];
    let a = Gateway::example_with(example, &args).await;
    let b = Gateway::example_with(example, &args).await;
    let ada = json!({"displayName": "Ada"});

    let first = a.keyed(Method::POST, "/v1/users", "k1", &ada).await;
    first.assert_json(201);
    assert!(!replayed(&first));
    let replay = b.keyed(Method::POST, "/v1/users", "k1", &ada).await;
    assert!(replayed(&replay), "{replay:?}");
    assert_eq!(replay.text, first.text);
    assert_eq!(replay.header("location"), first.header("location"));

    // What a stored on this key, b refuses for another request.
    b.keyed(
        Method::POST,
        "/v1/users",
        "k1",
        &json!({"displayName": "Bob"}),
    )
    .await
    .assert_error(422, 3);

    // Another caller's "k1" is another key, on either replica.
    let other = support::send(
        b.request(Method::POST, "/v1/users")
            .header("authorization", "Bearer other")
            .header("idempotency-key", "k1")
            .header("content-type", "application/json")
            .body(ada.to_string()),
    )
    .await;
    other.assert_json(201);
    assert!(!replayed(&other), "{other:?}");
    assert_ne!(other.header("location"), first.header("location"));
    assert_eq!(users(&a).await.len(), 2);

    // A definite error one replica stored, the other replays.
    let missing = a
        .keyed(Method::POST, "/v1/users/404/accounts", "k2", &json!({}))
        .await;
    missing.assert_error(404, 5);
    let replay = b
        .keyed(Method::POST, "/v1/users/404/accounts", "k2", &json!({}))
        .await;
    assert!(replayed(&replay), "{replay:?}");
    assert_eq!(replay.text, missing.text);

    // A call that never left (no upstream at all) one replica saw is
    // not stored: the key is free for the other.
    let cut_off = Gateway::example_with(dead_addr(), &args).await;
    let bob = json!({"displayName": "Bob"});
    cut_off
        .keyed(Method::POST, "/v1/users", "k3", &bob)
        .await
        .assert_error(503, 14);
    let ran = b.keyed(Method::POST, "/v1/users", "k3", &bob).await;
    ran.assert_json(201);
    assert!(!replayed(&ran), "{ran:?}");
    assert_eq!(users(&a).await.len(), 3);
}
