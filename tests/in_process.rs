//! REST in process: `InProcess` turns tonic service implementations into an
//! axum router (no network hop), and `grpc_and_rest` serves it and the gRPC
//! services on one listener — checked with a real HTTP client and a real
//! gRPC client against the same port.

use restgate::example::ExampleState;
use restgate::pb::examples::v1::user_service_client::UserServiceClient;
use restgate::pb::examples::v1::GetUserRequest;
use restgate::serve::{grpc_and_rest, InProcess};
use serde_json::{json, Value};

#[tokio::test]
async fn grpc_and_rest_share_one_listener_and_one_state() {
    let state = ExampleState::new();
    let (users, accounts, blogs) = state.services();
    let rest = InProcess::new(restgate::pb::DESCRIPTOR_SET)
        .expect("the bundled descriptor set compiles")
        .service(users)
        .service(accounts)
        .service(blogs)
        .router()
        .expect("router");
    let app = grpc_and_rest(state.routes(), rest);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    let created = http
        .post(format!("{base}/v1/users"))
        .json(&json!({"displayName": "Ada"}))
        .header("Idempotency-Key", "k1")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["location"], "/v1/users/1");
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["displayName"], "Ada");

    // Same idempotency semantics as the gateway: a replay, no second user.
    let again = http
        .post(format!("{base}/v1/users"))
        .json(&json!({"displayName": "Ada"}))
        .header("Idempotency-Key", "k1")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");

    // Same statuses: a missing user is a 404 with the JSON error body.
    let missing = http.get(format!("{base}/v1/users/9")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let error: Value = missing.json().await.unwrap();
    assert_eq!(error["code"], 5);

    // gRPC on the same port sees what REST wrote.
    let mut grpc = UserServiceClient::connect(base.clone()).await.unwrap();
    let user = grpc
        .get_user(GetUserRequest {
            user_id: "1".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(user.display_name, "Ada");
    let list: Value = http
        .get(format!("{base}/v1/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["users"].as_array().map(Vec::len), Some(1));
}
