//! Create is POST on a collection (`201 Created` + `Location`, N tries make N
//! resources); replace is PUT on an item (`200`, N tries leave one resource,
//! the URI is authoritative over an id in the body).

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::{start_example, start_fixture, Gateway};

/// `body` without the fields a write changes every time.
fn without_write_stamps(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(fields) = body.as_object_mut() {
        fields.remove("etag");
        fields.remove("updateTime");
    }
    body
}

#[tokio::test]
async fn post_on_collection_is_201_with_location() {
    let gw = Gateway::example(start_example().await).await;
    let reply = gw
        .post(
            "/v1/users",
            &json!({"displayName": "Ada", "email": "ada@example.com"}),
        )
        .await;
    let body = reply.assert_json(201);
    let id = body["userId"].as_str().expect("userId in the reply");
    assert!(!id.is_empty());
    assert_eq!(reply.header("location"), Some(&*format!("/v1/users/{id}")));
    assert_eq!(body["displayName"], json!("Ada"));
    assert_eq!(body["email"], json!("ada@example.com"));

    let got = gw.get(&format!("/v1/users/{id}")).await.assert_json(200);
    assert_eq!(got, body);
}

#[tokio::test]
async fn n_identical_posts_make_n_resources() {
    let gw = Gateway::example(start_example().await).await;
    let user = json!({"displayName": "Ada", "email": "ada@example.com"});
    let mut locations = Vec::new();
    for _ in 0..5 {
        let reply = gw.post("/v1/users", &user).await;
        let body = reply.assert_json(201);
        let location = reply.header("location").expect("Location").to_owned();
        let id = body["userId"].as_str().expect("userId");
        assert_eq!(location, format!("/v1/users/{id}"));
        locations.push((location, body));
    }
    let distinct: BTreeSet<_> = locations.iter().map(|(l, _)| l.clone()).collect();
    assert_eq!(distinct.len(), 5, "{distinct:?}");
    for (location, created) in &locations {
        let got = gw.get(location).await.assert_json(200);
        assert_eq!(&got, created, "GET {location}");
    }
    let list = gw.get("/v1/users").await.assert_json(200);
    assert_eq!(list["users"].as_array().map(Vec::len), Some(5), "{list}");
}

#[tokio::test]
async fn n_identical_puts_leave_one_resource() {
    let gw = Gateway::example(start_example().await).await;
    let user = json!({"displayName": "Ada", "email": "ada@example.com"});
    let mut first: Option<Value> = None;
    for i in 0..5 {
        let reply = gw.put("/v1/users/77", &user).await;
        // The first PUT creates the item (the service says so): 201 + Location.
        let body = reply.assert_json(if i == 0 { 201 } else { 200 });
        let location = reply.header("location");
        assert_eq!(location, (i == 0).then_some("/v1/users/77"));
        assert_eq!(body["userId"], json!("77"));
        assert_eq!(body["displayName"], json!("Ada"));
        let stable = without_write_stamps(&body);
        match &first {
            None => first = Some(stable),
            Some(first) => assert_eq!(&stable, first),
        }
    }
    let list = gw.get("/v1/users").await.assert_json(200);
    let users = list["users"].as_array().expect("users");
    assert_eq!(users.len(), 1, "{list}");
    assert_eq!(users[0]["userId"], json!("77"));
}

#[tokio::test]
async fn put_with_conflicting_body_id_is_400_on_example() {
    let gw = Gateway::example(start_example().await).await;
    let reply = gw
        .put(
            "/v1/users/77",
            &json!({"userId": "78", "displayName": "Ada"}),
        )
        .await;
    reply.assert_error(400, 3);
    gw.get("/v1/users/77").await.assert_error(404, 5);
    gw.get("/v1/users/78").await.assert_error(404, 5);
}

#[tokio::test]
async fn put_with_conflicting_body_id_never_reaches_upstream() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw
        .put(
            "/v1/shelves/s1/widgets/w9",
            &json!({"widgetId": "other", "title": "t"}),
        )
        .await;
    reply.assert_error(400, 3);
    assert_eq!(fixture.calls("ReplaceWidget"), 0);
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn put_with_conflicting_parent_id_in_body_is_400() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw
        .put(
            "/v1/shelves/s1/widgets/w9",
            &json!({"shelfId": "s2", "title": "t"}),
        )
        .await;
    reply.assert_error(400, 3);
    assert_eq!(fixture.calls("ReplaceWidget"), 0);
}

#[tokio::test]
async fn put_with_equal_or_absent_body_id_is_200() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let expected = json!({"widgetId": "w9", "shelfId": "s1", "title": "t"});

    let equal = gw
        .put(
            "/v1/shelves/s1/widgets/w9",
            &json!({"widgetId": "w9", "title": "t"}),
        )
        .await;
    assert_eq!(equal.assert_json(200), expected);

    let equal_proto_name = gw
        .put(
            "/v1/shelves/s1/widgets/w9",
            &json!({"widget_id": "w9", "shelf_id": "s1", "title": "t"}),
        )
        .await;
    assert_eq!(equal_proto_name.assert_json(200), expected);

    let absent = gw
        .put("/v1/shelves/s1/widgets/w9", &json!({"title": "t"}))
        .await;
    assert_eq!(absent.assert_json(200), expected);
    assert!(absent.header("location").is_none());
    assert_eq!(fixture.calls("ReplaceWidget"), 3);
}

#[tokio::test]
async fn create_under_a_user_locates_the_account() {
    let gw = Gateway::example(start_example().await).await;
    let user = gw
        .post("/v1/users", &json!({"displayName": "Ada"}))
        .await
        .assert_json(201);
    let user_id = user["userId"].as_str().expect("userId");

    let reply = gw
        .post(
            &format!("/v1/users/{user_id}/accounts"),
            &json!({"displayName": "main", "type": "ACCOUNT_TYPE_CHECKING"}),
        )
        .await;
    let account = reply.assert_json(201);
    let account_id = account["accountId"].as_str().expect("accountId");
    let location = format!("/v1/users/{user_id}/accounts/{account_id}");
    assert_eq!(reply.header("location"), Some(&*location));
    assert_eq!(account["userId"], json!(user_id));
    assert_eq!(account["type"], json!("ACCOUNT_TYPE_CHECKING"));

    let got = gw.get(&location).await.assert_json(200);
    assert_eq!(got, account);
}

#[tokio::test]
async fn create_post_locates_it_from_its_resource_name() {
    let gw = Gateway::example(start_example().await).await;
    let reply = gw.post("/v1/blogs", &json!({"title": "b"})).await;
    let blog = reply.assert_json(201);
    let blog_id = blog["blogId"].as_str().expect("blogId");
    assert_eq!(
        reply.header("location"),
        Some(&*format!("/v1/blogs/{blog_id}"))
    );

    let reply = gw
        .post(
            &format!("/v1/blogs/{blog_id}/posts"),
            &json!({"title": "t"}),
        )
        .await;
    let post = reply.assert_json(201);
    let name = post["name"].as_str().expect("post name");
    let prefix = format!("blogs/{blog_id}/posts/");
    let post_id = name.strip_prefix(&prefix).expect("name under the blog");
    assert!(!post_id.is_empty() && !post_id.contains('/'), "{name}");
    assert_eq!(reply.header("location"), Some(&*format!("/v1/{name}")));
    assert_eq!(post["title"], json!("t"));
    assert_eq!(post["state"], json!("DRAFT"));

    let got = gw.get(&format!("/v1/{name}")).await.assert_json(200);
    assert_eq!(got, post);
}

#[tokio::test]
async fn create_widget_on_fixture_locates_it() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let reply = gw
        .post("/v1/shelves/s1/widgets", &json!({"title": "t", "size": 3}))
        .await;
    let body = reply.assert_json(201);
    assert_eq!(reply.header("location"), Some("/v1/shelves/s1/widgets/w1"));
    assert_eq!(
        body,
        json!({"widgetId": "w1", "shelfId": "s1", "title": "t", "size": 3})
    );

    let again = gw
        .post("/v1/shelves/s1/widgets", &json!({"title": "t", "size": 3}))
        .await;
    again.assert_json(201);
    assert_eq!(again.header("location"), Some("/v1/shelves/s1/widgets/w2"));
    assert_eq!(fixture.calls("CreateWidget"), 2);
}
