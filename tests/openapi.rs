//! The OpenAPI 3.1 documents restgate generates — for the bundled example,
//! the fixture service and a grpc-gateway-style proto — pass an independent
//! validator (`openapi-spec-validator` from PyPI), and say what the gateway
//! does: 201 + `Location` on create, `Idempotency-Key`, `If-Match`, typed
//! query parameters, proto3 JSON schemas. The validator runs under
//! `python3`, or the interpreter `PYTHON` names.

mod support;

use std::path::PathBuf;

use restgate::compile::{Descriptors, Input, RouteTable};
use restgate::openapi::{document, OpenApiOptions, PathParams};
use serde_json::{json, Value};
use support::openapi_validator::validate_openapi as validate;

fn manifest(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn bundled() -> Value {
    let compiled = RouteTable::compile(&Descriptors::bundled()).expect("the example compiles");
    document(&compiled.table, &OpenApiOptions::default())
}

/// The bundled example's document with each variable one parameter.
fn bundled_template_form() -> Value {
    let compiled = RouteTable::compile(&Descriptors::bundled()).expect("the example compiles");
    let options = OpenApiOptions {
        path_params: PathParams::Template,
        ..OpenApiOptions::default()
    };
    document(&compiled.table, &options)
}

fn from_protos(file: &str, include: Option<&str>) -> Value {
    let input = Input::Protos {
        files: vec![manifest(file)],
        includes: include.map(manifest).into_iter().collect(),
    };
    let compiled = RouteTable::load(&input).unwrap_or_else(|e| panic!("{file} compiles: {e}"));
    document(&compiled.table, &OpenApiOptions::default())
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) => {
            let target = doc
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {pointer}"));
            resolve(doc, target)
        }
        None => value,
    }
}

fn param<'a>(operation: &'a Value, location: &str, name: &str) -> &'a Value {
    operation["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["in"] == location && p["name"] == name))
        .unwrap_or_else(|| panic!("no {location} parameter {name}"))
}

#[test]
fn bundled_example_document_is_valid_openapi_3_1() {
    validate("example", &bundled());
    validate("example_template_form", &bundled_template_form());
}

#[test]
fn fixture_document_is_valid_openapi_3_1() {
    validate(
        "fixture",
        &from_protos("proto/testing/v1/fixture.proto", Some("proto")),
    );
}

#[test]
fn library_document_is_valid_openapi_3_1() {
    validate(
        "library",
        &from_protos("tests/fixtures/valid/library.proto", None),
    );
}

#[test]
fn proto_field_names_document_is_valid_openapi_3_1() {
    let compiled = RouteTable::compile(&Descriptors::bundled()).expect("the example compiles");
    let options = OpenApiOptions {
        proto_field_names: true,
        ..OpenApiOptions::default()
    };
    let doc = document(&compiled.table, &options);
    let user = &unwrapped(&doc["components"]["schemas"]["examples.v1.User"]["properties"]);
    assert!(user.get("display_name").is_some() && user.get("displayName").is_none());
    validate("example_proto_names", &doc);
}

#[test]
fn create_is_201_with_location_and_takes_an_idempotency_key() {
    let doc = bundled();
    assert_eq!(doc["openapi"], "3.1.0");
    let create = &doc["paths"]["/v1/users"]["post"];
    assert_eq!(create["operationId"], "UserService_CreateUser");
    assert_eq!(create["summary"], "Creates a user.");
    assert_eq!(create["tags"], json!(["UserService"]));
    let created = &create["responses"]["201"];
    assert!(created["headers"]["Location"].is_object(), "{created}");
    assert!(created["headers"]["ETag"].is_object(), "a User has an etag");
    assert!(create["responses"].get("200").is_none());
    let key = param(create, "header", "Idempotency-Key");
    assert_eq!(key["required"], false);
    // What the gateway takes: 1 to 255 visible ASCII characters and spaces.
    assert_eq!(key["schema"]["pattern"], "^[ -~]*[!-~][ -~]*$");
    assert_eq!(key["schema"]["maxLength"], 255);
    assert_eq!(
        created["headers"]["Location"]["schema"],
        json!({ "type": "string", "format": "uri-reference" })
    );
    assert_eq!(created["headers"]["ETag"]["schema"]["type"], "string");
    assert_eq!(
        created["links"]["UserService_GetUser"]["parameters"]["user_id"],
        "$response.body#/userId"
    );
    assert_eq!(doc["servers"], json!([{ "url": "/" }]));
    assert_eq!(doc["security"], json!([]));
    assert!(
        doc["info"].get("license").is_none(),
        "only the API's owner knows it"
    );
    let body = &create["requestBody"];
    assert_eq!(body["required"], true);
    assert_eq!(
        body["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/examples.v1.User"
    );
    for status in ["400", "409", "413", "415", "422", "500", "503", "default"] {
        let error = resolve(&doc, &create["responses"][status]);
        assert!(error["description"].is_string(), "{status}");
        assert_eq!(
            error["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Status",
            "{status}"
        );
    }
    let status = &doc["components"]["schemas"]["Status"]["properties"];
    assert_eq!(status["code"]["type"], "integer");
    assert_eq!(status["message"]["type"], "string");
    assert_eq!(status["details"]["items"]["required"], json!(["@type"]));
}

#[test]
fn replace_takes_preconditions_and_may_create() {
    let doc = bundled();
    let replace = &doc["paths"]["/v1/users/{user_id}"]["put"];
    assert_eq!(replace["operationId"], "UserService_ReplaceUser");
    param(replace, "header", "If-Match");
    param(replace, "header", "If-None-Match");
    let user_id = param(replace, "path", "user_id");
    assert_eq!(user_id["required"], true);
    assert_eq!(user_id["schema"]["type"], "string");
    let responses = &replace["responses"];
    assert!(responses["200"].is_object() && responses["201"].is_object());
    assert!(responses["201"]["description"]
        .as_str()
        .unwrap()
        .contains("Created by the replace"));
    assert!(responses["412"].is_object());
    assert!(
        responses.get("422").is_none(),
        "PUT takes no Idempotency-Key"
    );
}

#[test]
fn list_has_typed_query_parameters() {
    let doc = bundled();
    let list = &doc["paths"]["/v1/users"]["get"];
    let schema = |name| resolve(&doc, &param(list, "query", name)["schema"]).clone();
    assert_eq!(schema("pageSize")["type"], "integer");
    assert_eq!(schema("pageToken")["type"], "string");
    let role = schema("role");
    assert_eq!(role["type"], "string");
    assert_eq!(
        role["enum"],
        // By name or by number, as the gateway reads query enums.
        json!([
            "ROLE_UNSPECIFIED",
            "ROLE_READER",
            "ROLE_WRITER",
            "ROLE_ADMIN",
            "0",
            "1",
            "2",
            "3"
        ])
    );
    assert_eq!(
        schema("tag"),
        json!({ "type": "array", "items": { "type": "string" } })
    );
    assert!(list.get("requestBody").is_none());
}

/// `google.api.field_behavior`: OUTPUT_ONLY is `readOnly`, REQUIRED is
/// `required`, and a request body is required only when what it fills is.
#[test]
fn field_behavior_is_read_only_and_required() {
    let doc = bundled();
    let schemas = &doc["components"]["schemas"];
    let user = &schemas["examples.v1.User"]["properties"];
    for field in ["userId", "createTime", "updateTime", "etag"] {
        assert_eq!(user[field]["readOnly"], true, "{field}");
    }
    assert!(user["displayName"].get("readOnly").is_none());
    let post = &schemas["examples.v1.Post"]["properties"];
    assert_eq!(post["state"]["readOnly"], true);
    assert!(schemas["examples.v1.User"].get("required").is_none());
    let paths = &doc["paths"];
    assert_eq!(paths["/v1/users"]["post"]["requestBody"]["required"], true);
    assert_eq!(
        paths["/v1/users/{user_id}"]["patch"]["requestBody"]["required"],
        true
    );
    for (path, method) in [
        ("/v1/users:import", "post"),
        ("/v1/users:lookup", "post"),
        ("/v1/blogs/{blog}/posts/{post}:publish", "post"),
    ] {
        assert_eq!(
            paths[path][method]["requestBody"]["required"], false,
            "{method} {path}"
        );
    }
    let list = &paths["/v1/users"]["get"];
    let size = &param(list, "query", "pageSize")["schema"];
    assert_eq!(
        (&size["minimum"], &size["maximum"]),
        (&json!(i32::MIN), &json!(i32::MAX))
    );
}

#[test]
fn schemas_are_proto3_json() {
    let doc = bundled();
    let user = &doc["components"]["schemas"]["examples.v1.User"];
    assert_eq!(user["description"], "A user of the example API.");
    let p = &unwrapped(&user["properties"]);
    assert_eq!(p["karma"]["type"], json!(["string", "integer"]));
    assert_eq!(p["karma"]["format"], "int64");
    assert_eq!(p["karma"]["description"], "Reputation points.");
    assert_eq!(p["createTime"]["type"], "string");
    assert_eq!(p["createTime"]["format"], "date-time");
    assert_eq!(p["labels"]["type"], "object");
    assert_eq!(
        p["labels"]["additionalProperties"],
        json!({ "type": "string" })
    );
    assert_eq!(p["tags"]["items"]["type"], "string");
    let role = resolve(&doc, &p["role"]["anyOf"][0]);
    assert_eq!(role["type"], "string");
    assert_eq!(role["enum"][3], "ROLE_ADMIN");
    assert_eq!(role["x-restgate-enum-numbers"]["ROLE_ADMIN"], 3);
    assert_eq!(p["role"]["anyOf"][1]["type"], "integer");
    assert_eq!(
        p["address"]["$ref"],
        "#/components/schemas/examples.v1.Address"
    );
    assert!(user["properties"].get("display_name").is_none());
}

#[test]
fn resource_names_are_one_patterned_parameter_and_verbs_stay_literal() {
    let doc = bundled_template_form();
    let publish = &doc["paths"]["/v1/{name}:publish"]["post"];
    assert_eq!(publish["operationId"], "BlogService_PublishPost");
    let name = param(publish, "path", "name");
    assert_eq!(name["schema"]["pattern"], "^blogs/[^/]+/posts/[^/]+$");
    assert!(name["description"].as_str().unwrap().contains("`/`"));
    // GetPost's two bindings: ids unique, both present.
    assert_eq!(
        doc["paths"]["/v1/{name}"]["get"]["operationId"],
        "BlogService_GetPost"
    );
    assert_eq!(
        doc["paths"]["/v1/posts/{name}"]["get"]["operationId"],
        "BlogService_GetPost_1"
    );
    // The create on a resource-name collection.
    let create = &doc["paths"]["/v1/{parent}/posts"]["post"];
    assert!(create["responses"]["201"]["headers"]["Location"].is_object());
    assert!(create["responses"]["201"]["headers"].get("ETag").is_none());
}

#[test]
fn resource_names_expand_into_one_parameter_per_segment() {
    let doc = bundled();
    let paths = doc["paths"].as_object().unwrap();
    let get = &paths["/v1/blogs/{blog}/posts/{post}"]["get"];
    assert_eq!(get["operationId"], "BlogService_GetPost");
    for name in ["blog", "post"] {
        let p = param(get, "path", name);
        assert_eq!(p["schema"], json!({ "type": "string" }), "{name}");
        let text = p["description"].as_str().unwrap();
        assert!(
            text.contains("`name`") && text.contains("`blogs/{blog}/posts/{post}`"),
            "{text}"
        );
    }
    assert_eq!(
        paths["/v1/blogs/{blog}/posts"]["post"]["operationId"],
        "BlogService_CreatePost"
    );
    assert_eq!(
        paths["/v1/blogs/{blog}/posts/{post}:publish"]["post"]["operationId"],
        "BlogService_PublishPost"
    );
    // `**` has no segment count: it stays one parameter.
    assert_eq!(
        param(&paths["/v1/posts/{name}"]["get"], "path", "name")["schema"]["pattern"],
        "^.*$"
    );
    assert!(!paths
        .keys()
        .any(|p| p.contains("{parent}") || p.contains("_1}")));
}

#[test]
fn fixture_covers_every_field_kind() {
    let doc = from_protos("proto/testing/v1/fixture.proto", Some("proto"));
    let thing = &unwrapped(&doc["components"]["schemas"]["testing.v1.Thing"]["properties"]);
    assert_eq!(thing["ubig"]["format"], "uint64");
    assert_eq!(thing["ttl"]["type"], "string");
    assert_eq!(thing["maybe"]["type"], json!(["string", "integer", "null"]));
    assert_eq!(thing["extra"]["type"], "object");
    assert_eq!(thing["blob"]["contentEncoding"], "base64");
    // GET /v1/echo/{id}: every other field in the query, nested ones dotted,
    // no maps, no Struct; the recursive `nested.child` stops at the depth limit.
    let echo = &doc["paths"]["/v1/echo/{id}"]["get"];
    let names: Vec<&str> = echo["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for want in [
        "big",
        "colors",
        "nested.name",
        "nested.child.count",
        "at",
        "ttl",
        "maybe",
        "word",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    for absent in [
        "id",
        "labels",
        "byNumber",
        "extra",
        "nested",
        "nested.child.child.name",
    ] {
        assert!(!names.contains(&absent), "{absent} in {names:?}");
    }
    assert_eq!(param(echo, "query", "big")["schema"]["type"], "integer");
    // The check binding fills nested.name from the path and takes the body `*`.
    let check = &doc["paths"]["/v1/echo/shelves/{shelve}/books/{book}:check"]["post"];
    assert!(check["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["in"] != "query"));
    // response_body: the field's schema, not the reply's.
    let nested = &doc["paths"]["/v1/echo/{id}/nested"]["get"]["responses"]["200"];
    assert_eq!(
        nested["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/testing.v1.Nested"
    );
}

/// Corners no fixture has: a `*` outside any variable, a method OpenAPI has
/// no slot for, two services named alike in different packages, and a
/// message called `Status` that takes the error schema's usual key.
#[test]
fn edge_cases_document_is_valid_and_complete() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write proto");
        path
    };
    let a = write(
        "a.proto",
        r#"syntax = "proto3";
import "google/api/annotations.proto";
// Answers with its status.
service Svc {
  // Gets a status.
  rpc Get(Status) returns (Status) {
    option (google.api.http) = {
      get: "/v1/*/status/{text}"
      additional_bindings { custom: { kind: "FOO" path: "/v1/foo" } }
    };
  }
}
message Status { string text = 1; }
"#,
    );
    let b = write(
        "b.proto",
        r#"syntax = "proto3";
package b.v1;
import "google/api/annotations.proto";
service Svc {
  rpc Get(Req) returns (Req) { option (google.api.http) = { get: "/v2/{name=x/*}" }; }
}
message Req { string name = 1; }
"#,
    );
    let input = Input::Protos {
        files: vec![a, b],
        includes: vec![dir.path().to_owned()],
    };
    let compiled = RouteTable::load(&input).unwrap_or_else(|e| panic!("compiles: {e}"));
    let doc = document(&compiled.table, &OpenApiOptions::default());

    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["Svc", "b.v1.Svc"]);
    let get = &doc["paths"]["/v1/{wildcard1}/status/{text}"]["get"];
    assert_eq!(get["operationId"], "Svc_Get");
    assert_eq!(param(get, "path", "wildcard1")["required"], true);
    assert_eq!(doc["paths"]["/v2/x/{x}"]["get"]["operationId"], "Svc_Get_1");
    assert_eq!(
        doc["x-restgate-undocumented"],
        json!([{ "method": "FOO", "path": "/v1/foo", "rpc": "Svc/Get" }])
    );
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        unwrapped(&schemas["Status"]["properties"])["text"]["type"],
        "string"
    );
    let error = resolve(&doc, &get["responses"]["404"]);
    assert_eq!(
        error["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/google.rpc.Status"
    );
    assert_eq!(
        schemas["google.rpc.Status"]["properties"]["code"]["type"],
        "integer"
    );
    validate("edge_cases", &doc);
}

/// A properties object with each `anyOf: [schema, {"type": "null"}]` (proto3
/// JSON accepts `null` for every field) unwrapped to the schema.
fn unwrapped(properties: &Value) -> Value {
    let map = properties.as_object().cloned().unwrap_or_default();
    Value::Object(
        map.into_iter()
            .map(|(k, v)| {
                let inner = v.get("anyOf").and_then(|a| a.get(0)).cloned().unwrap_or(v);
                (k, inner)
            })
            .collect(),
    )
}

#[test]
fn http_body_fields_are_raw_bodies_of_any_media_type() {
    let doc = from_protos("proto/testing/v1/media.proto", Some("proto"));
    validate("media", &doc);
    let raw = json!({ "type": "string", "format": "binary" });
    let upload = &doc["paths"]["/v1/media/{name}"]["put"];
    assert_eq!(upload["requestBody"]["content"]["*/*"]["schema"], raw);
    assert!(upload["requestBody"]["content"]
        .get("application/json")
        .is_none());
    assert!(
        upload["responses"].get("415").is_none(),
        "any media type is taken"
    );
    assert!(upload["responses"]["200"]["content"]
        .get("application/json")
        .is_some());
    let download = &doc["paths"]["/v1/media/{name}"]["get"];
    assert_eq!(
        download["responses"]["200"]["content"]["*/*"]["schema"],
        raw
    );
    let describe = &doc["paths"]["/v1/media/{name}:describe"]["get"];
    assert_eq!(
        describe["responses"]["200"]["content"]["*/*"]["schema"],
        raw
    );
    let mirror = &doc["paths"]["/v1/media:mirror"]["post"];
    assert_eq!(mirror["requestBody"]["content"]["*/*"]["schema"], raw);
    assert_eq!(mirror["responses"]["200"]["content"]["*/*"]["schema"], raw);
}

/// A user's proto importing the built-in `google/api/field_behavior.proto`:
/// REQUIRED fields are `required` (with `body: "*"`, those the path does
/// not fill make the body required), OUTPUT_ONLY ones `readOnly`.
#[test]
fn required_fields_are_listed_and_make_the_body_required() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("notes.proto");
    std::fs::write(
        &file,
        r#"syntax = "proto3";
package notes.v1;
import "google/api/annotations.proto";
import "google/api/field_behavior.proto";
service Notes {
  rpc Send(Note) returns (Note) { option (google.api.http) = { post: "/v1/{box}/notes:send" body: "*" }; }
  rpc Tag(Tagging) returns (Note) { option (google.api.http) = { post: "/v1/{box}/notes:tag" body: "*" }; }
}
message Note {
  string box = 1 [(google.api.field_behavior) = REQUIRED];
  string text = 2 [(google.api.field_behavior) = REQUIRED];
  string id = 3 [(google.api.field_behavior) = OUTPUT_ONLY];
}
message Tagging {
  string box = 1 [(google.api.field_behavior) = REQUIRED];
  string tag = 2;
}
"#,
    )
    .unwrap();
    let input = Input::Protos {
        files: vec![file],
        includes: vec![dir.path().to_owned()],
    };
    let compiled = RouteTable::load(&input).unwrap_or_else(|e| panic!("compiles: {e}"));
    let doc = document(&compiled.table, &OpenApiOptions::default());
    let note = &doc["components"]["schemas"]["notes.v1.Note"];
    assert_eq!(note["required"], json!(["box", "text"]));
    assert_eq!(note["properties"]["id"]["readOnly"], true);
    let paths = &doc["paths"];
    assert_eq!(
        paths["/v1/{box}/notes:send"]["post"]["requestBody"]["required"],
        true
    );
    // Only `box` is REQUIRED, and the path fills it.
    assert_eq!(
        paths["/v1/{box}/notes:tag"]["post"]["requestBody"]["required"],
        false
    );
    validate("notes", &doc);
}
