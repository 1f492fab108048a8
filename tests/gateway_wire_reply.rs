//! Unary replies written as JSON straight from their protobuf encoding
//! (the compiled transcoder) answer byte for byte what the decoded path
//! writes (`transcode::json::to_vec` of the decoded reply): the fixture's
//! `Echo` answers the same `Thing`, with every kind of field, through a
//! custom-verb route and through its create, whose `Location` is read from
//! the reply's encoding.

mod support;

use restgate::transcode::{json, JsonOptions};
use serde_json::{json, Value};
use support::{start_fixture, Gateway};

/// What the decoded path writes for a `Thing` sent as `sent` and echoed.
fn decoded_reply(sent: &Value, options: &JsonOptions) -> String {
    let proto = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    let mut compiler = protox::Compiler::new([proto]).expect("the proto folder");
    compiler
        .include_imports(true)
        .open_file("testing/v1/fixture.proto")
        .expect("the fixture compiles");
    let thing = compiler
        .descriptor_pool()
        .get_message_by_name("testing.v1.Thing")
        .expect("the fixture's Thing");
    let body = serde_json::to_vec(sent).expect("JSON");
    let message = json::from_slice(thing, &body, &JsonOptions::default()).expect("a Thing");
    String::from_utf8(json::to_vec(&message, options).expect("writes")).expect("UTF-8")
}

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
    for (query, enum_numbers) in [("", false), ("?$alt=json;enum-encoding=int", true)] {
        let options = JsonOptions {
            enum_numbers,
            ..JsonOptions::default()
        };
        let decoded = decoded_reply(&every_field(), &options);
        let created = gw.post(&format!("/v1/echo{query}"), &every_field()).await;
        created.assert_status(201);
        assert_eq!(created.header("location"), Some("/v1/echo/x"));
        assert_eq!(created.text, decoded, "query {query:?}");
        let wire = gw
            .post(
                &format!("/v1/echo/shelves/1/books/2:check{query}"),
                &every_field(),
            )
            .await;
        wire.assert_status(200);
        assert_eq!(wire.header("content-type"), Some("application/json"));
        assert_eq!(wire.text, decoded, "query {query:?}");
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
    let options = JsonOptions {
        proto_field_names: true,
        emit_unpopulated: true,
        ..JsonOptions::default()
    };
    let decoded = decoded_reply(&sent, &options);
    let created = gw.post("/v1/echo", &sent).await;
    created.assert_status(201);
    assert_eq!(created.header("location"), Some("/v1/echo/x"));
    assert_eq!(created.text, decoded);
    let wire = gw.post("/v1/echo/shelves/1/books/2:check", &sent).await;
    wire.assert_status(200);
    assert_eq!(wire.text, decoded);
    assert!(wire.text.contains("\"by_number\""), "{}", wire.text);
}
