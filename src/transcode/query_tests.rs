//! Unit tests of the query-string mapper (`request.rs`): enums and system
//! parameters, on the fixture protos (proto3) and a proto2 file written here.

use super::*;
use crate::compile::{Input, RouteTable};

const CLOSED: &str = r#"
    syntax = "proto2";
    package closed.v1;
    import "google/api/annotations.proto";
    service Closed {
      rpc Get(GetRequest) returns (GetRequest) {
        option (google.api.http) = { get: "/v1/closed/{name}" };
      }
    }
    enum Level { LOW = 1; HIGH = 2; }
    message GetRequest {
      optional string name = 1;
      optional Level level = 2;
      optional string key = 3;
      optional string alt = 4;
    }
"#;

fn table(files: Vec<std::path::PathBuf>, includes: Vec<std::path::PathBuf>) -> RouteTable {
    RouteTable::load(&Input::Protos { files, includes })
        .expect("protos compile")
        .table
}

fn route<'t>(table: &'t RouteTable, template: &str) -> &'t Route {
    table
        .routes()
        .iter()
        .find(|r| r.method == http::Method::GET && r.template.as_str() == template)
        .unwrap_or_else(|| panic!("GET {template} missing"))
}

fn build(route: &Route, capture: &str, query: &str) -> Result<DynamicMessage, TranscodeError> {
    let captures = [capture.to_owned()];
    let parts = RequestParts {
        captures: &captures,
        query: Some(query),
        body: b"",
        content_type: None,
    };
    build_request(route, parts, &JsonOptions::default())
}

fn fixture() -> RouteTable {
    table(
        vec!["proto/testing/v1/fixture.proto".into()],
        vec!["proto".into()],
    )
}

#[test]
fn proto3_enums_are_open() {
    let table = fixture();
    let echo = route(&table, "/v1/echo/{id}");
    let message = build(echo, "a", "color=99&colors=RED&colors=-3").expect("open enum");
    assert_eq!(
        message.get_field_by_name("color").as_deref(),
        Some(&Value::EnumNumber(99))
    );
    assert_eq!(
        message.get_field_by_name("colors").as_deref(),
        Some(&Value::List(vec![
            Value::EnumNumber(1),
            Value::EnumNumber(-3)
        ]))
    );
}

#[test]
fn unknown_enum_names_and_non_numbers_are_refused() {
    let table = fixture();
    let echo = route(&table, "/v1/echo/{id}");
    for query in [
        "color=PURPLE",
        "color=1.5",
        "color=2147483648",
        "colors=red",
    ] {
        match build(echo, "a", query) {
            Err(TranscodeError::BadValue { field, reason, .. }) => {
                assert_eq!(field, query.split('=').next().unwrap_or_default());
                assert!(reason.contains("testing.v1.Color"), "{query}: {reason}");
            }
            other => panic!("{query}: {other:?}"),
        }
    }
}

#[test]
fn system_parameters_fill_no_field() {
    let table = fixture();
    let echo = route(&table, "/v1/echo/{id}");
    let query = "%24alt=json%3Benum-encoding%3Dint&alt=json&key=k&quotaUser=q\
                 &prettyPrint=false&fields=id&$.xgafv=2&small=3";
    let message = build(echo, "a", query).expect("system parameters skipped");
    let mut expected = DynamicMessage::new(echo.rpc.input());
    expected.set_field_by_name("id", Value::String("a".to_owned()));
    expected.set_field_by_name("small", Value::I32(3));
    assert_eq!(message, expected);
    // An unknown `$` name is an unknown parameter like any other.
    assert_eq!(
        build(echo, "a", "$ct=text/plain"),
        Err(TranscodeError::UnknownParameter("$ct".to_owned()))
    );
}

fn closed() -> (tempfile::TempDir, RouteTable) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("closed.proto");
    std::fs::write(&file, CLOSED).expect("write closed.proto");
    let table = table(vec![file], vec![dir.path().to_owned()]);
    (dir, table)
}

#[test]
fn proto2_enums_are_closed() {
    let (_dir, table) = closed();
    let get = route(&table, "/v1/closed/{name}");
    let message = build(get, "n", "level=2").expect("declared number");
    assert_eq!(
        message.get_field_by_name("level").as_deref(),
        Some(&Value::EnumNumber(2))
    );
    match build(get, "n", "level=99") {
        Err(TranscodeError::BadValue { field, reason, .. }) => {
            assert_eq!(field, "level");
            assert!(reason.contains("closed.v1.Level"), "{reason}");
        }
        other => panic!("level=99: {other:?}"),
    }
}

#[test]
fn a_bare_name_that_names_a_field_fills_it() {
    let (_dir, table) = closed();
    let get = route(&table, "/v1/closed/{name}");
    let message = build(get, "n", "key=k&alt=proto&$key=dropped&$alt=json")
        .expect("fields named key and alt");
    assert_eq!(
        message.get_field_by_name("key").as_deref(),
        Some(&Value::String("k".to_owned()))
    );
    assert_eq!(
        message.get_field_by_name("alt").as_deref(),
        Some(&Value::String("proto".to_owned()))
    );
    // Neither is then a system parameter: no refusal of `alt=proto`.
    assert_eq!(
        super::super::system_params(get, Some("key=k&alt=proto&$alt=json")),
        Ok(super::super::SystemParams::default())
    );
}
