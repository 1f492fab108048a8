//! Query strings as Google's own REST clients send them: the system
//! parameters (`$alt=json;enum-encoding=int`, `key`, `prettyPrint`…) are
//! accepted, `enum-encoding=int` writes that reply's enums as numbers, a
//! value the gateway cannot honour is a 400 before any call, and enums in the
//! query are open as in the body (an unknown number reaches the service).

mod support;

use serde_json::{json, Value};
use support::{start_example, start_fixture, Gateway};

#[tokio::test]
async fn enum_encoding_int_writes_enums_as_numbers() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    // As written by hand, and as Google's clients encode it.
    for alt in [
        "$alt=json;enum-encoding=int",
        "%24alt=json%3Benum-encoding%3Dint",
    ] {
        let body = gw
            .get(&format!("/v1/echo/a?color=GREEN&colors=RED&colors=2&{alt}"))
            .await
            .assert_json(200);
        assert_eq!(
            body,
            json!({"id": "a", "color": 2, "colors": [1, 2]}),
            "{alt}"
        );
    }
    assert_eq!(fixture.calls("Echo"), 2);
}

#[tokio::test]
async fn plain_alt_json_and_informational_parameters_change_nothing() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let query = "color=GREEN&alt=json&key=AIza-test&quotaUser=u1&prettyPrint=false\
                 &fields=id&%24.xgafv=2&userProject=p";
    let body = gw
        .get(&format!("/v1/echo/a?{query}"))
        .await
        .assert_json(200);
    assert_eq!(body, json!({"id": "a", "color": "GREEN"}));
    // The parameters filled no field of what the service received.
    let received = fixture.last_echo().expect("Echo was called");
    assert_eq!(received.id, "a");
    assert_eq!(received.color, 2);
    assert!(received.tags.is_empty() && received.labels.is_empty());
}

#[tokio::test]
async fn error_bodies_are_unaffected_by_enum_encoding() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw
        .get("/v1/fail/5?message=gone&$alt=json;enum-encoding=int")
        .await
        .assert_error(404, 5);
    assert_eq!(body["message"], json!("gone"));
}

#[tokio::test]
async fn an_alt_the_gateway_cannot_honour_is_a_400_before_any_call() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let cases = [
        ("alt=proto", "binary protobuf"),
        ("$alt=media", "raw media"),
        ("$alt=sse", "server-streaming"),
        ("alt=xml", "expected json"),
        ("$alt=json;enum-encoding=names", "enum-encoding=int"),
        ("callback=cb", "JSONP"),
        ("access_token=t", "Authorization"),
    ];
    for (query, reason) in cases {
        let body = gw
            .get(&format!("/v1/echo/a?{query}"))
            .await
            .assert_error(400, 3);
        let message = body["message"].as_str().unwrap_or_default();
        let name = query.split('=').next().unwrap_or_default();
        assert!(
            message.contains(&format!("system parameter {name}")) && message.contains(reason),
            "{query}: {message}"
        );
    }
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn an_unknown_enum_number_reaches_the_service() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    let body = gw
        .get("/v1/echo/a?color=99&colors=1&colors=-7")
        .await
        .assert_json(200);
    // An unknown number has no name to write: it comes back as a number.
    assert_eq!(body, json!({"id": "a", "color": 99, "colors": ["RED", -7]}));
    let received = fixture.last_echo().expect("Echo was called");
    assert_eq!(received.color, 99);
    assert_eq!(received.colors, [1, -7]);
}

#[tokio::test]
async fn an_unknown_enum_name_is_a_400_naming_the_parameter() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    for (query, name) in [
        ("color=PURPLE", "color"),
        ("colors=RED&colors=red", "colors"),
    ] {
        let body = gw
            .get(&format!("/v1/echo/a?{query}"))
            .await
            .assert_error(400, 3);
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("for {name}:")) && message.contains("testing.v1.Color"),
            "{query}: {message}"
        );
    }
    assert_eq!(fixture.total_calls(), 0);
}

#[tokio::test]
async fn a_stream_honours_enum_encoding_and_alt_sse() {
    let gw = Gateway::example(start_example().await).await;
    gw.post(
        "/v1/users",
        &json!({"displayName": "Ada", "email": "ada@example.com", "role": "ROLE_WRITER"}),
    )
    .await
    .assert_json(201);

    let reply = gw
        .get("/v1/users:stream?$alt=json;enum-encoding=int")
        .await
        .assert_status(200)
        .text
        .clone();
    let lines: Vec<Value> = reply
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    assert_eq!(lines.len(), 1, "{reply}");
    assert_eq!(lines[0]["role"], json!(2), "{reply}");

    let reply = gw.get("/v1/users:stream?$alt=sse").await;
    reply.assert_status(200);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    let data = reply
        .text
        .strip_prefix("data: ")
        .and_then(|rest| rest.lines().next())
        .unwrap_or_default();
    let event: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    assert_eq!(event["role"], json!("ROLE_WRITER"), "{}", reply.text);

    // An unknown role number reaches the service, which refuses it itself.
    let body = gw
        .get("/v1/users:stream?role=99")
        .await
        .assert_error(400, 3);
    assert_eq!(body["message"], json!("unknown role 99"));
}

#[tokio::test]
async fn alt_media_downloads_a_raw_reply() {
    let gw = Gateway::example(start_example().await).await;
    let user = gw
        .post("/v1/users", &json!({"displayName": "Ada"}))
        .await
        .assert_json(201);
    let id = user["userId"].as_str().expect("userId").to_owned();
    let avatar = format!("/v1/users/{id}/avatar");
    let image = b"\x89PNG\r\n\x1a\n\x00\xff".to_vec();
    support::send(
        gw.request(reqwest::Method::PUT, &avatar)
            .header("content-type", "image/png")
            .body(image.clone()),
    )
    .await
    .assert_json(200);

    let reply = gw
        .request(reqwest::Method::GET, &format!("{avatar}?alt=media"))
        .send()
        .await
        .expect("GET avatar");
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["content-type"], "image/png");
    assert_eq!(reply.bytes().await.expect("body").to_vec(), image);

    // A JSON method has no media to answer.
    gw.get(&format!("/v1/users/{id}?alt=media"))
        .await
        .assert_error(400, 3);
}
