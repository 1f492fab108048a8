//! PATCH (update): without a mask from the client, the request's FieldMask
//! is filled from the fields present in the body, so a partial update touches
//! only those; a mask the client sends is kept as sent.

mod support;

use serde_json::json;
use support::{mask_paths, set, start_example, start_fixture, Gateway};

#[tokio::test]
async fn mask_is_derived_from_the_body() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw
        .patch(
            "/v1/shelves/s1/widgets/w1",
            &json!({"title": "new", "nested": {"count": 2}}),
        )
        .await;
    let body = reply.assert_json(200);
    assert_eq!(
        mask_paths(&body["mask"]),
        set(&["title", "nested.count"]),
        "{body}"
    );
    assert_eq!(
        body["widget"],
        json!({"widgetId": "w1", "title": "new", "nested": {"count": 2}})
    );
    assert_eq!(fixture.calls("UpdateWidget"), 1);
}

#[tokio::test]
async fn derived_mask_uses_camel_case_paths() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw
        .patch(
            "/v1/shelves/s1/widgets/w1",
            &json!({"shelf_id": "s1", "size": 4}),
        )
        .await
        .assert_json(200);
    assert_eq!(
        mask_paths(&body["mask"]),
        set(&["shelfId", "size"]),
        "{body}"
    );
    assert_eq!(
        body["widget"],
        json!({"widgetId": "w1", "shelfId": "s1", "size": 4})
    );
}

#[tokio::test]
async fn client_mask_is_kept_as_sent() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw
        .patch(
            "/v1/shelves/s1/widgets/w1?updateMask=size",
            &json!({"title": "new", "nested": {"count": 2}}),
        )
        .await
        .assert_json(200);
    assert_eq!(mask_paths(&body["mask"]), set(&["size"]), "{body}");
    assert_eq!(
        body["widget"],
        json!({"widgetId": "w1", "title": "new", "nested": {"count": 2}})
    );
}

#[tokio::test]
async fn client_mask_under_its_proto_name_is_kept() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw
        .patch(
            "/v1/shelves/s1/widgets/w1?update_mask=title,nested.name",
            &json!({"title": "new"}),
        )
        .await
        .assert_json(200);
    assert_eq!(
        mask_paths(&body["mask"]),
        set(&["title", "nested.name"]),
        "{body}"
    );
}

/// The example's UpdateUser writes only the masked fields, and, without a
/// mask, never clears one: `karma` set to 0 is cleared only through the mask
/// the gateway derived.
#[tokio::test]
async fn partial_update_touches_only_the_fields_sent() {
    let gw = Gateway::example(start_example().await).await;
    let created = gw
        .post(
            "/v1/users",
            &json!({"displayName": "Ada", "email": "ada@example.com", "karma": "5"}),
        )
        .await
        .assert_json(201);
    let id = created["userId"].as_str().expect("userId");

    let patched = gw
        .patch(
            &format!("/v1/users/{id}"),
            &json!({"email": "ada@new.example", "karma": "0"}),
        )
        .await
        .assert_json(200);
    assert_eq!(patched["email"], json!("ada@new.example"));
    assert_eq!(patched["displayName"], json!("Ada"));
    // Named in the body, so in the derived mask: cleared, hence omitted.
    assert_eq!(patched.get("karma"), None, "{patched}");

    let got = gw.get(&format!("/v1/users/{id}")).await.assert_json(200);
    assert_eq!(got, patched);
}

#[tokio::test]
async fn a_field_given_twice_in_a_patch_body_is_400_and_never_sent() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = support::send(
        gw.request(reqwest::Method::PATCH, "/v1/shelves/s1/widgets/w1")
            .header("content-type", "application/json")
            .body(r#"{"title": "one", "title": "two"}"#),
    )
    .await;
    let body = reply.assert_json(400);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("given twice"),
        "{body}"
    );
    assert_eq!(fixture.calls("UpdateWidget"), 0);
}

/// What the document marks `readOnly` (`google.api.field_behavior`
/// OUTPUT_ONLY) a PATCH body may not carry: the gateway answers 400 naming
/// the field, before the service is asked (its own refusal reads
/// differently), and the user is left as it was. Writable fields pass.
#[tokio::test]
async fn output_only_fields_are_refused_in_a_patch_body() {
    let gw = Gateway::example(start_example().await).await;
    let created = gw
        .post("/v1/users", &json!({"displayName": "Ada"}))
        .await
        .assert_json(201);
    let id = created["userId"].as_str().expect("userId");
    let path = format!("/v1/users/{id}");
    for (body, field) in [
        (json!({"etag": "x"}), "user.etag"),
        (json!({"userId": id}), "user.user_id"),
        (
            json!({"createTime": null, "email": "a@b.c"}),
            "user.create_time",
        ),
        (
            json!({"update_time": "2024-01-01T00:00:00Z"}),
            "user.update_time",
        ),
    ] {
        let error = gw.patch(&path, &body).await.assert_error(400, 3);
        let message = error["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{field} is output only")),
            "{body}: {message}"
        );
    }
    assert_eq!(gw.get(&path).await.assert_json(200), created);
    let patched = gw
        .patch(&path, &json!({"email": "ada@example.com"}))
        .await
        .assert_json(200);
    assert_eq!(patched["email"], "ada@example.com");
    // A replace may echo what a get answered: the service keeps its own.
    let mut whole = patched.clone();
    whole["displayName"] = json!("Ada King");
    let replaced = gw.put(&path, &whole).await.assert_json(200);
    assert_eq!(replaced["createTime"], patched["createTime"]);
}
