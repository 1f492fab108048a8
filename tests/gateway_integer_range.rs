//! Integers out of their field's range are the client's error: a bare JSON
//! number just past int64 (which a float-based JSON reader would clamp to
//! `i64::MIN`), its quoted form, and the same for every integer kind, in the
//! body of a POST or a PUT and in the query string. Each is a 400 naming
//! the field, and the upstream is never called. In-range extremes pass
//! exactly.

mod support;

use reqwest::Method;
use serde_json::json;
use support::{send, start_example, start_fixture, Gateway};

/// Sends `body` as it is written: numbers past i64/u64 cannot be built
/// with `serde_json::json!`.
async fn send_text(gw: &Gateway, method: Method, path: &str, body: &str) -> support::Reply {
    send(
        gw.request(method, path)
            .header("content-type", "application/json")
            .body(body.to_owned()),
    )
    .await
}

#[tokio::test]
async fn out_of_range_numbers_in_a_body_are_400_naming_the_field() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let cases = [
        (
            Method::POST,
            "/v1/echo",
            r#"{"big": -9223372036854775809}"#,
            "big: -9223372036854775809 is out of range for int64",
        ),
        (
            Method::POST,
            "/v1/echo",
            r#"{"big": "-9223372036854775809"}"#,
            r#"big: "-9223372036854775809" is out of range for int64"#,
        ),
        (
            Method::POST,
            "/v1/echo",
            r#"{"big": 9223372036854775808}"#,
            "big: 9223372036854775808 is out of range for int64",
        ),
        (
            Method::POST,
            "/v1/echo",
            r#"{"ubig": 18446744073709551616}"#,
            "ubig: 18446744073709551616 is out of range for uint64",
        ),
        (
            Method::POST,
            "/v1/echo",
            r#"{"ubig": -1}"#,
            "ubig: -1 is out of range for uint64",
        ),
        (
            Method::POST,
            "/v1/echo",
            r#"{"small": 2147483648}"#,
            "small: 2147483648 is out of range for int32",
        ),
        (
            Method::POST,
            "/v1/echo",
            r#"{"small": "1e10"}"#,
            r#"small: "1e10" is out of range for int32"#,
        ),
        (
            Method::POST,
            "/v1/echo",
            r#"{"bigs": [1, -9223372036854775809]}"#,
            "bigs[1]: -9223372036854775809 is out of range for int64",
        ),
        (
            Method::POST,
            "/v1/echo",
            r#"{"maybe": 9223372036854775808}"#,
            "maybe: 9223372036854775808 is out of range for int64",
        ),
        (
            Method::POST,
            "/v1/echo",
            r#"{"nested": {"count": -2147483649}}"#,
            "nested.count: -2147483649 is out of range for int32",
        ),
        (
            Method::POST,
            "/v1/shelves/s1/widgets",
            r#"{"size": 2147483648}"#,
            "size: 2147483648 is out of range for int32",
        ),
        (
            Method::PUT,
            "/v1/shelves/s1/widgets/w1",
            r#"{"size": -2147483649}"#,
            "size: -2147483649 is out of range for int32",
        ),
        (
            Method::PUT,
            "/v1/echo/e1/nested",
            r#"{"count": 2147483648}"#,
            "count: 2147483648 is out of range for int32",
        ),
    ];
    for (method, path, body, message) in cases {
        let reply = send_text(&gw, method.clone(), path, body).await;
        let error = reply.assert_error(400, 3);
        assert_eq!(
            error["message"].as_str(),
            Some(format!("invalid JSON body: {message}").as_str()),
            "{method} {path} {body}"
        );
    }
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn out_of_range_query_values_are_400_naming_the_parameter() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    for (query, field) in [
        ("big=-9223372036854775809", "big"),
        ("ubig=18446744073709551616", "ubig"),
        ("small=2147483648", "small"),
        ("nested.count=-2147483649", "nested.count"),
        ("maybe=9223372036854775808", "maybe"),
    ] {
        let reply = gw.get(&format!("/v1/echo/q?{query}")).await;
        let error = reply.assert_error(400, 3);
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!(" for {field}: out of range for ")),
            "{query}: {message}"
        );
    }
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn in_range_extremes_pass_exactly() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = r#"{"big": -9223372036854775808, "ubig": "18446744073709551615",
                   "small": "1e5", "bigs": [9223372036854775807]}"#;
    let reply = send_text(&gw, Method::POST, "/v1/echo", body).await;
    // `/v1/echo` has an item route, so this post is a create.
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!({"big": "-9223372036854775808", "ubig": "18446744073709551615",
               "small": 100000, "bigs": ["9223372036854775807"]})
    );
    assert_eq!(fixture.calls("Echo"), 1);
}

#[tokio::test]
async fn the_demo_refuses_karma_past_int64_and_creates_nothing() {
    let example = start_example().await;
    let gw = Gateway::example(example).await;
    let before = gw.get("/v1/users").await.assert_json(200);
    let body = r#"{"displayName": "Ada", "karma": -9223372036854775809}"#;
    let reply = send_text(&gw, Method::POST, "/v1/users", body).await;
    let error = reply.assert_error(400, 3);
    assert_eq!(
        error["message"],
        "invalid JSON body: karma: -9223372036854775809 is out of range for int64"
    );
    assert_eq!(gw.get("/v1/users").await.assert_json(200), before);
}
