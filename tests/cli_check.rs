//! `restgate check` on invalid protos: the real binary, one fixture per rule,
//! each finding asserted by file, line, column and text, and the exit code.

mod support;

use std::process::Output;

fn restgate(args: &[&str]) -> Output {
    support::restgate()
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run restgate")
}

fn check(fixture: &str) -> (i32, String) {
    let path = format!("tests/fixtures/invalid/{fixture}.proto");
    let out = restgate(&["check", "--proto", &path]);
    assert!(
        out.stdout.is_empty(),
        "{fixture}: nothing on stdout when invalid"
    );
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

/// Asserts that checking `fixture` fails with exactly one error, at
/// `line:col`, whose message is `message`.
fn assert_one_error(fixture: &str, line: u32, col: u32, message: &str) {
    let (code, stderr) = check(fixture);
    assert_eq!(code, 1, "{fixture}: exit code\n{stderr}");
    let expected = format!("tests/fixtures/invalid/{fixture}.proto:{line}:{col}: error: {message}\nrestgate: 1 error\n");
    assert_eq!(stderr, expected, "{fixture}");
}

#[test]
fn create_on_an_item_path() {
    assert_one_error(
        "create_on_item",
        10,
        40,
        "fixtures.v1.Things.CreateThing: create must target a collection, but \"/v1/things/{parent_id}\" ends in a variable; POST on the collection (\"/v1/things\") and let the service pick the item's URI",
    );
}

#[test]
fn replace_on_a_collection_path() {
    assert_one_error(
        "replace_on_collection",
        10,
        41,
        "fixtures.v1.Things.ReplaceThing: replace must target an item, but \"/v1/things\" does not end in a variable; PUT on the item URI the client picks, e.g. \"/v1/things/{id}\"",
    );
}

#[test]
fn path_variable_naming_a_missing_field() {
    assert_one_error(
        "missing_field",
        10,
        37,
        "fixtures.v1.Things.GetThing: path variable {thing_name}: fixtures.v1.ThingRequest has no field \"thing_name\"",
    );
}

#[test]
fn path_variable_naming_a_repeated_field() {
    assert_one_error(
        "repeated_field",
        10,
        37,
        "fixtures.v1.Things.GetThing: path variable {tags}: field fixtures.v1.ThingRequest.tags is a repeated field (string); a path variable needs a singular scalar field",
    );
}

#[test]
fn path_variable_naming_a_message_field() {
    assert_one_error(
        "message_field",
        10,
        37,
        "fixtures.v1.Things.GetThing: path variable {inner}: field fixtures.v1.ThingRequest.inner is a message (fixtures.v1.Inner); a path variable needs a singular scalar field",
    );
}

#[test]
fn body_naming_a_missing_field() {
    // The option spans several lines; the finding points at the body's string.
    assert_one_error(
        "bad_body",
        12,
        13,
        "fixtures.v1.Things.ReplaceThing: body \"thign\": fixtures.v1.ThingRequest has no field \"thign\"",
    );
}

#[test]
fn body_naming_a_field_that_is_not_a_resource() {
    assert_one_error(
        "scalar_body",
        10,
        71,
        "fixtures.v1.Things.ReplaceThing: body \"tags\": field fixtures.v1.ThingRequest.tags is a repeated field (string); it must name a singular message field carrying the resource (or be \"*\")",
    );
}

#[test]
fn create_without_a_body() {
    assert_one_error(
        "missing_body",
        10,
        5,
        "fixtures.v1.Things.CreateThing: create needs a body: set body to the request field carrying the resource, or \"*\"",
    );
}

#[test]
fn two_routes_on_the_same_method_and_path() {
    // `{thing_id}` and `{thing_id=*}` match the same requests.
    assert_one_error(
        "conflict",
        13,
        37,
        "fixtures.v1.Things.FetchThing: GET /v1/things/* is bound twice: by fixtures.v1.Things/GetThing and by fixtures.v1.Things/FetchThing",
    );
}

#[test]
fn a_google_api_http_binding_does_not_shadow_a_restgate_one() {
    // Only google.api.http bindings of one template resolve to the last
    // declared (a warning); with (restgate.rest) on either side it is an error.
    assert_one_error(
        "conflict_with_http",
        12,
        37,
        "fixtures.v1.Things.FetchThing: GET /v1/things/* is bound twice: by fixtures.v1.Things/GetThing and by fixtures.v1.Things/FetchThing",
    );
}

#[test]
fn both_annotations_on_one_method() {
    assert_one_error(
        "both_annotations",
        11,
        5,
        "fixtures.v1.Things.GetThing: both (restgate.rest) and (google.api.http) are set; keep one of them",
    );
}

#[test]
fn malformed_template_points_into_the_string() {
    // Column 49 is the unclosed '{' itself.
    assert_one_error(
        "malformed_template",
        10,
        49,
        "fixtures.v1.Things.GetThing: bad path template \"/v1/things/{thing_id\": unclosed '{' (at byte 11)",
    );
}

#[test]
fn syntax_error_in_the_proto() {
    assert_one_error("syntax_error", 11, 3, "expected ';', but found '}'");
}

#[test]
fn missing_import() {
    assert_one_error(
        "missing_import",
        8,
        1,
        "import 'vendor/missing.proto' not found",
    );
}

#[test]
fn unknown_message_type() {
    assert_one_error("unknown_type", 9, 39, "name 'Widget' is not defined");
}

#[test]
fn every_error_of_a_run_is_reported() {
    let (code, stderr) = check("several_errors");
    assert_eq!(code, 1);
    let file = "tests/fixtures/invalid/several_errors.proto";
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 5, "{stderr}");
    assert!(lines[0].starts_with(&format!(
        "{file}:11:40: error: fixtures.v1.Things.CreateThing: create must target a collection"
    )));
    assert!(lines[1].starts_with(&format!(
        "{file}:14:41: error: fixtures.v1.Things.ReplaceThing: replace must target an item"
    )));
    assert_eq!(
        lines[2],
        format!("{file}:17:39: error: fixtures.v1.Things.GetThing: path variable {{nope}}: fixtures.v1.ThingRequest has no field \"nope\"")
    );
    assert_eq!(
        lines[3],
        format!("{file}:20:62: error: fixtures.v1.Things.ListThings: bad path template \"/v1/{{name=things/*}}/x/**/y\": '**' must be the last segment (at byte 22)")
    );
    assert_eq!(lines[4], "restgate: 4 errors");
}

#[test]
fn every_file_of_a_run_is_reported() {
    let out = restgate(&[
        "check",
        "--proto",
        "tests/fixtures/invalid/syntax_error.proto",
        "--proto",
        "tests/fixtures/invalid/missing_import.proto",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tests/fixtures/invalid/missing_import.proto:8:1: error: import"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tests/fixtures/invalid/syntax_error.proto:11:3: error: expected ';'"),
        "{stderr}"
    );
    assert!(stderr.ends_with("restgate: 2 errors\n"), "{stderr}");
}

#[test]
fn unreadable_proto_is_a_clear_error() {
    let out = restgate(&["check", "--proto", "tests/fixtures/does_not_exist.proto"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        "tests/fixtures/does_not_exist.proto: error: cannot read: No such file or directory (os error 2)\nrestgate: 1 error\n"
    );
}

#[test]
fn unreadable_descriptor_set_is_a_clear_error() {
    let out = restgate(&[
        "check",
        "--descriptor-set",
        "tests/fixtures/valid/library.proto",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(
            "tests/fixtures/valid/library.proto: error: not a valid FileDescriptorSet"
        ),
        "{stderr}"
    );
}

#[test]
fn valid_protos_pass() {
    let out = restgate(&["check"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok: 23 routes in 3 services\n"
    );
    assert!(out.stderr.is_empty());

    let out = restgate(&["check", "--proto", "tests/fixtures/valid/library.proto"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ok: 10 routes in 1 service\n"
    );
}

#[test]
fn create_without_location_is_a_warning() {
    let out = restgate(&["check", "--proto", "tests/fixtures/valid/no_location.proto"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "tests/fixtures/valid/no_location.proto:10:40: warning: nolocation.v1.Events.CreateEvent: create on \"/v1/events\" answers 201 without Location: no replace or get route on /v1/events/* to name the created item; add a replace or get route on the item, or set item\n"
    );
}

#[test]
fn proto_and_descriptor_set_are_exclusive() {
    let out = restgate(&["check", "--proto", "a.proto", "--descriptor-set", "b.bin"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}
