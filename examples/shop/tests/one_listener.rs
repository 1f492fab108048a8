//! The shop serves gRPC and REST on one listener, in process: a real HTTP
//! client and a real gRPC client against the same port and the same state.

use serde_json::{json, Value};
use shop_example::pb::orders_client::OrdersClient;
use shop_example::pb::GetOrderRequest;

#[tokio::test]
async fn rest_and_grpc_on_one_port() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = shop_example::app(shop_example::Shop::default()).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();

    let created = http
        .post(format!("{base}/v1/shops/s1/orders"))
        .json(&json!({"items": ["apple"], "totalCents": "250"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["location"], "/v1/shops/s1/orders/o1");
    let order: Value = created.json().await.unwrap();
    assert_eq!(order["totalCents"], "250");

    let replaced = http
        .put(format!("{base}/v1/shops/s1/orders/o1"))
        .json(&json!({"orderId": "other"}))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 400, "the URI names the order");

    let mut grpc = OrdersClient::connect(base.clone()).await.unwrap();
    let got = grpc
        .get_order(GetOrderRequest {
            shop_id: "s1".into(),
            order_id: "o1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.items, ["apple"]);
    assert_eq!(got.total_cents, 250);

    let missing = http
        .get(format!("{base}/v1/shops/s1/orders/o9"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let openapi: Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");
    assert!(openapi["paths"]["/v1/shops/{shop_id}/orders"]["post"].is_object());
    // The build step wrote the same operations to OUT_DIR.
    let built: Value = serde_json::from_str(shop_example::pb::OPENAPI).unwrap();
    assert_eq!(built["paths"], openapi["paths"]);
}

#[test]
fn the_built_openapi_document_passes_an_independent_validator() {
    let dir = std::env::temp_dir().join(format!("shop-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shop.json");
    std::fs::write(&file, shop_example::pb::OPENAPI).unwrap();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = std::process::Command::new(python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("run python3 (pip install openapi-spec-validator)");
    assert!(
        out.status.success(),
        "pip install openapi-spec-validator; the validator said:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
