//! Unary replies written as JSON straight from their protobuf encoding
//! (the compiled transcoder) answer byte for byte what the decoded path
//! answers: the fixture's `Echo` answers the same `Thing`, with every kind
//! of field, through a custom-verb route (written from the wire) and
//! through its create (decoded: its `Location` reads the reply).

mod support;

use serde_json::{json, Value};
use support::{start_fixture, Gateway};

/// A `Thing` with every kind of field set, `nested.name` as the custom
/// verb's path gives it. One entry per map: the service writes a map's
/// entries in no fixed order.
fn every_field() -> Value {
    json!({
        "id": "x",
        "big": "-9007199254740993",
        "ubig": "18446744073709551615",
        "small": -7,
        "ratio": 0.25,
        "flag": true,
        "color": "GREEN",
        "tags": ["a", "b"],
        "colors": ["RED", "GREEN"],
        "labels": {"k": ""},
        "byNumber": {"-2": {"name": "n", "count": 3}},
        "nested": {"name": "shelves/1/books/2", "count": 1, "child": {"name": "c"}},
        "at": "2024-01-02T03:04:05.123Z",
        "ttl": "1.500s",
        "mask": "a.b,cD",
        "maybe": "0",
        "extra": {"k": [1, "two", null, {"x": false}]},
        "blob": "AQID/w==",
        "number": 0,
        "bigs": ["1", "-2"],
        "note": "",
    })
}

#[tokio::test]
async fn wire_replies_answer_what_decoded_replies_answer() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &[]).await;
    for query in ["", "?$alt=json;enum-encoding=int"] {
        let decoded = gw.post(&format!("/v1/echo{query}"), &every_field()).await;
        decoded.assert_status(201);
        assert_eq!(decoded.header("location"), Some("/v1/echo/x"));
        let wire = gw
            .post(
                &format!("/v1/echo/shelves/1/books/2:check{query}"),
                &every_field(),
            )
            .await;
        wire.assert_status(200);
        assert_eq!(wire.header("content-type"), Some("application/json"));
        assert_eq!(wire.text, decoded.text, "query {query:?}");
    }
}

#[tokio::test]
async fn wire_replies_keep_the_proto_names_and_unpopulated_options() {
    let fixture = start_fixture().await;
    let gw = Gateway::fixture(&fixture, &["--proto-field-names", "--emit-unpopulated"]).await;
    let sent = json!({
        "id": "x",
        "by_number": {"1": {"name": "n"}},
        "nested": {"name": "shelves/1/books/2"},
    });
    let decoded = gw.post("/v1/echo", &sent).await;
    decoded.assert_status(201);
    let wire = gw.post("/v1/echo/shelves/1/books/2:check", &sent).await;
    wire.assert_status(200);
    assert_eq!(wire.text, decoded.text);
    assert!(wire.text.contains("\"by_number\""), "{}", wire.text);
}
