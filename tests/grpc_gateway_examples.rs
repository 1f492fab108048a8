//! grpc-gateway's own example protos, as Debian's
//! `golang-github-grpc-ecosystem-grpc-gateway-dev` installs them, used
//! unchanged: for each file `restgate check` passes (warnings allowed),
//! `routes --format json` lists every binding the descriptors declare (counted
//! here from the `google.api.http` options with prost-reflect), `openapi`
//! passes the independent validator, and `serve` answers a request on one
//! of its routes against a real gRPC backend (an echo server over the same
//! descriptors) on 127.0.0.1.
//!
//! The protos are not copied into the repository: when the package is
//! missing every test fails, asking for `scripts/install-test-tools`.

mod support;

use std::path::{Path, PathBuf};

use prost_reflect::{DescriptorPool, DynamicMessage, Value as Field};
use reqwest::Method;
use serde_json::{json, Value};
use support::echo_backend::EchoBackend;
use support::openapi_validator::validate_openapi;
use support::{send, Gateway};

/// Where Debian's package puts grpc-gateway's sources.
const GRPC_GATEWAY: &str = "/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway";

/// The package of every example.
const PACKAGE: &str = "grpc.gateway.examples.examplepb";

/// The grpc-gateway source tree; panics, saying how to get it, when absent.
fn root() -> &'static Path {
    let root = Path::new(GRPC_GATEWAY);
    assert!(
        root.join("examples/proto/examplepb").is_dir(),
        "grpc-gateway's example protos are not installed ({GRPC_GATEWAY}/examples/proto/examplepb \
         is missing): run scripts/install-test-tools (it installs Debian's \
         golang-github-grpc-ecosystem-grpc-gateway-dev)"
    );
    root
}

/// The example file `name` (`echo_service`).
fn proto(name: &str) -> PathBuf {
    root().join(format!("examples/proto/examplepb/{name}.proto"))
}

/// The include paths grpc-gateway's own build uses: the examples, its copy
/// of googleapis, and the tree itself for `protoc-gen-swagger/options`.
fn includes() -> Vec<PathBuf> {
    let root = root();
    vec![
        root.join("examples/proto"),
        root.join("third_party/googleapis"),
        root.to_path_buf(),
    ]
}

/// `--proto <file> -I <each include>`.
fn input_args(name: &str) -> Vec<String> {
    let mut args = vec!["--proto".to_owned(), proto(name).display().to_string()];
    for include in includes() {
        args.push("-I".to_owned());
        args.push(include.display().to_string());
    }
    args
}

/// Runs the binary; returns (exit code, stdout, stderr).
fn restgate(command: &[&str], name: &str) -> (i32, String, String) {
    let out = support::restgate()
        .args(command)
        .args(input_args(name))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run restgate");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

/// The file and its imports compiled with protox directly, not through
/// restgate's loader: what protoc sees.
fn pool(name: &str) -> DescriptorPool {
    let mut compiler = protox::Compiler::new(includes()).expect("the include paths exist");
    compiler
        .include_imports(true)
        .open_file(proto(name))
        .unwrap_or_else(|e| panic!("protox compiles {name}.proto: {e}"));
    // The pool, not a prost_types set, which would drop the options'
    // extensions (`google.api.http`).
    compiler.descriptor_pool()
}

/// (HTTP method, template, `package.Service/Method`) of every
/// `google.api.http` binding in `pool`: each rule and its
/// `additional_bindings`, in declaration order.
fn declared_bindings(pool: &DescriptorPool) -> Vec<(String, String, String)> {
    let http = pool
        .get_extension_by_name("google.api.http")
        .expect("the protos import google/api/annotations.proto");
    let mut out = Vec::new();
    for service in pool.services() {
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&http) {
                continue;
            }
            let rpc = format!("{}/{}", service.full_name(), method.name());
            let rule = options.get_extension(&http);
            let rule = rule.as_message().expect("HttpRule is a message");
            out.push(pattern(rule, &rpc));
            let more = rule.get_field_by_name("additional_bindings");
            for extra in more.as_ref().and_then(|v| v.as_list()).unwrap_or(&[]) {
                out.push(pattern(extra.as_message().expect("an HttpRule"), &rpc));
            }
        }
    }
    out
}

/// The method and template one `HttpRule` sets.
fn pattern(rule: &DynamicMessage, rpc: &str) -> (String, String, String) {
    for method in ["get", "put", "post", "delete", "patch"] {
        if rule.has_field_by_name(method) {
            let template = rule.get_field_by_name(method).expect("set");
            let template = template.as_str().expect("a string").to_owned();
            return (method.to_ascii_uppercase(), template, rpc.to_owned());
        }
    }
    let custom = rule.get_field_by_name("custom").expect("a pattern is set");
    let custom = custom.as_message().expect("CustomHttpPattern");
    let text = |name: &str| {
        let value = custom.get_field_by_name(name).expect("set");
        value.as_str().expect("a string").to_owned()
    };
    (text("kind"), text("path"), rpc.to_owned())
}

/// `check` exits 0 and says how many routes it serves; returns stderr (the
/// warnings).
fn assert_checks(name: &str, served: usize) -> String {
    let (code, stdout, stderr) = restgate(&["check"], name);
    assert_eq!(code, 0, "{name}: check fails:\n{stderr}");
    let routes = if served == 1 { "route" } else { "routes" };
    assert!(
        stdout.starts_with(&format!("ok: {served} {routes} in ")),
        "{name}: {stdout}"
    );
    assert!(
        stderr.lines().all(|l| l.contains(": warning: ")),
        "{name}: only warnings:\n{stderr}"
    );
    stderr
}

/// `routes --format json` lists exactly the declared bindings, in order;
/// returns the listing.
fn assert_routes(name: &str) -> Vec<Value> {
    let (code, stdout, stderr) = restgate(&["routes", "--format", "json"], name);
    assert_eq!(code, 0, "{name}: routes fails:\n{stderr}");
    let listed: Vec<Value> = serde_json::from_str(&stdout).expect("routes prints JSON");
    let declared = declared_bindings(&pool(name));
    assert_eq!(
        listed.len(),
        declared.len(),
        "{name}: one entry per binding the protos declare"
    );
    let seen: Vec<(String, String, String)> = listed
        .iter()
        .map(|r| {
            let text = |key: &str| r[key].as_str().unwrap_or_default().to_owned();
            (text("method"), text("path"), text("rpc"))
        })
        .collect();
    assert_eq!(seen, declared, "{name}: the bindings, in declaration order");
    assert!(
        listed.iter().all(|r| r["source"] == "google.api.http"),
        "{name}"
    );
    listed
}

/// `openapi` writes a document the validator accepts; returns it.
fn assert_openapi(name: &str) -> Value {
    let (code, stdout, stderr) = restgate(&["openapi"], name);
    assert_eq!(code, 0, "{name}: openapi fails:\n{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("openapi prints JSON");
    validate_openapi(name, &doc);
    doc
}

/// A backend over `name`'s descriptors and a gateway in front of it.
async fn serve(name: &str) -> (EchoBackend, Gateway) {
    let backend = EchoBackend::start(pool(name)).await;
    let mut args = input_args(name);
    args.extend(["--upstream".to_owned(), backend.url()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let gateway = Gateway::start(&args).await;
    (backend, gateway)
}

/// The listing's entry for `method path` bound to `rpc` (its method name).
fn listed<'a>(routes: &'a [Value], method: &str, path: &str, rpc: &str) -> &'a Value {
    let rpc = format!("{PACKAGE}.{rpc}");
    routes
        .iter()
        .find(|r| r["method"] == method && r["path"] == path && r["rpc"] == rpc.as_str())
        .unwrap_or_else(|| panic!("{method} {path} of {rpc} not listed"))
}

/// The values of a repeated field of `message`.
fn list(message: &DynamicMessage, field: &str) -> Vec<Field> {
    let value = message
        .get_field_by_name(field)
        .unwrap_or_else(|| panic!("no field {field}"));
    value.as_list().expect("a repeated field").to_vec()
}

/// These google.api.http `post`s name no item route under their template,
/// so they are plain POSTs, as behind grpc-gateway: 200 and no `Location`
/// (README, "google.api.http").
fn assert_post_succeeded(reply: &support::Reply) {
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert!(
        reply.headers.get("location").is_none(),
        "a plain POST names no Location: {:?}",
        reply.headers
    );
}

/// The repeated path-variable route of `a_bit_of_everything.proto`, with
/// one segment per field.
fn repeated_path(segments: &[&str; 16]) -> String {
    format!(
        "/v1/example/a_bit_of_everything_repeated/{}",
        segments.join("/")
    )
}

#[tokio::test]
async fn a_bit_of_everything_reads_repeated_path_variables() {
    let name = "a_bit_of_everything";
    assert_checks(name, declared_bindings(&pool(name)).len());
    let routes = assert_routes(name);
    let repeated = "/v1/example/a_bit_of_everything_repeated/{path_repeated_float_value}/{path_repeated_double_value}/{path_repeated_int64_value}/{path_repeated_uint64_value}/{path_repeated_int32_value}/{path_repeated_fixed64_value}/{path_repeated_fixed32_value}/{path_repeated_bool_value}/{path_repeated_string_value}/{path_repeated_bytes_value}/{path_repeated_uint32_value}/{path_repeated_enum_value}/{path_repeated_sfixed32_value}/{path_repeated_sfixed64_value}/{path_repeated_sint32_value}/{path_repeated_sint64_value}";
    let route = listed(
        &routes,
        "GET",
        repeated,
        "ABitOfEverythingService/GetRepeatedQuery",
    );
    assert_eq!(route["path_fields"].as_array().map(Vec::len), Some(16));
    assert_eq!(route["shadowed_by"], Value::Null);

    let doc = assert_openapi(name);
    let params = &doc["paths"][repeated]["get"]["parameters"];
    let float = params
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "path_repeated_float_value"))
        .expect("the float parameter");
    assert_eq!(float["in"], "path");
    assert_eq!(float["style"], "simple");
    assert_eq!(float["explode"], false);
    assert_eq!(
        float["schema"],
        json!({ "type": "array", "items": { "type": "number", "format": "float" } })
    );

    let (backend, gw) = serve(name).await;
    let path = repeated_path(&[
        "1.5,2.5",
        "0.25,-1",
        "-9007199254740993,7",
        "18446744073709551615,0",
        "-5,6",
        "1,2",
        "3,4",
        "true,false",
        "a,b%2Cc",
        "aGk=,AQI",
        "8,9",
        "ONE,0",
        "-1,1",
        "-2,2",
        "-3,3",
        "-4,4",
    ]);
    let reply = gw.get(&path).await.assert_json(200);
    let call = backend.only_call();
    assert_eq!(
        call.rpc,
        format!("{PACKAGE}.ABitOfEverythingService/GetRepeatedQuery")
    );
    let request = &call.request;
    assert_eq!(
        list(request, "path_repeated_float_value"),
        [Field::F32(1.5), Field::F32(2.5)]
    );
    assert_eq!(
        list(request, "path_repeated_double_value"),
        [Field::F64(0.25), Field::F64(-1.0)]
    );
    assert_eq!(
        list(request, "path_repeated_int64_value"),
        [Field::I64(-9_007_199_254_740_993), Field::I64(7)]
    );
    assert_eq!(
        list(request, "path_repeated_uint64_value"),
        [Field::U64(u64::MAX), Field::U64(0)]
    );
    assert_eq!(
        list(request, "path_repeated_bool_value"),
        [Field::Bool(true), Field::Bool(false)]
    );
    // The segment is split after percent-decoding, as grpc-gateway does.
    assert_eq!(
        list(request, "path_repeated_string_value"),
        [
            Field::String("a".into()),
            Field::String("b".into()),
            Field::String("c".into())
        ]
    );
    assert_eq!(
        list(request, "path_repeated_bytes_value"),
        [
            Field::Bytes(b"hi".to_vec().into()),
            Field::Bytes(vec![1, 2].into())
        ]
    );
    assert_eq!(
        list(request, "path_repeated_enum_value"),
        [Field::EnumNumber(1), Field::EnumNumber(0)]
    );
    assert_eq!(
        list(request, "path_repeated_sint64_value"),
        [Field::I64(-4), Field::I64(4)]
    );
    // The echo comes back as proto3 JSON.
    assert_eq!(reply["pathRepeatedFloatValue"], json!([1.5, 2.5]));
    assert_eq!(
        reply["pathRepeatedInt64Value"],
        json!(["-9007199254740993", "7"])
    );
    assert_eq!(reply["pathRepeatedEnumValue"], json!(["ONE", "ZERO"]));
    assert_eq!(reply["pathRepeatedBytesValue"], json!(["aGk=", "AQI="]));
    assert_eq!(reply["pathRepeatedFixed32Value"], json!([3, 4]));

    // One bad element is the client's error, named by field; no call.
    let mut segments = [
        "1", "1", "1", "1", "1", "1", "1", "true", "s", "AA", "1", "ONE", "1", "1", "1", "1",
    ];
    for (index, bad, field) in [
        (0, "1.5,x", "path_repeated_float_value"),
        (4, "1,99999999999", "path_repeated_int32_value"),
        (7, "true,yes", "path_repeated_bool_value"),
        (11, "ONE,TWO", "path_repeated_enum_value"),
        (3, "1,-1", "path_repeated_uint64_value"),
        (0, "1.5,,2.5", "path_repeated_float_value"),
    ] {
        let good = segments[index];
        segments[index] = bad;
        let body = gw.get(&repeated_path(&segments)).await.assert_error(400, 3);
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{bad}: {message}");
        segments[index] = good;
    }
    assert_eq!(backend.calls().len(), 1, "no call for a bad path value");
}

#[tokio::test]
async fn flow_combination_serves_the_binding_declared_last() {
    let name = "flow_combination";
    let declared = declared_bindings(&pool(name));
    // Two templates are each bound three times; one binding of each serves.
    let stderr = assert_checks(name, declared.len() - 4);
    let file = proto(name).display().to_string();
    let warning = |line: u32, column: u32, rpc: &str, shape: &str, winner_at: &str| {
        format!(
            "{file}:{line}:{column}: warning: {PACKAGE}.FlowCombination.{rpc}: POST {shape} is \
             bound again by {PACKAGE}.FlowCombination/{winner} at {file}:{winner_at}, which is \
             served instead: of google.api.http bindings of one method and template the one \
             declared last wins, as in grpc-gateway, so this one is never served",
            winner = if shape.ends_with("/rpc") {
                "RpcPathNestedRpc"
            } else {
                "RpcPathNestedStream"
            },
        )
    };
    let expected = [
        warning(
            89,
            10,
            "RpcPathSingleNestedRpc",
            "/rpc/path-nested/*/rpc",
            "104:11",
        ),
        warning(
            100,
            11,
            "RpcPathNestedRpc",
            "/rpc/path-nested/*/rpc",
            "104:11",
        ),
        warning(
            148,
            10,
            "RpcPathSingleNestedStream",
            "/rpc/path-nested/*/stream",
            "163:11",
        ),
        warning(
            159,
            11,
            "RpcPathNestedStream",
            "/rpc/path-nested/*/stream",
            "163:11",
        ),
    ];
    assert_eq!(stderr.lines().collect::<Vec<_>>(), expected, "{stderr}");

    let routes = assert_routes(name);
    let shadowed: Vec<(&str, &str, &str)> = routes
        .iter()
        .filter(|r| !r["shadowed_by"].is_null())
        .map(|r| {
            (
                r["rpc"].as_str().unwrap_or_default(),
                r["body"].as_str().unwrap_or("-"),
                r["shadowed_by"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let rpc = |m: &str| format!("{PACKAGE}.FlowCombination/{m}");
    assert_eq!(
        shadowed,
        [
            (
                rpc("RpcPathSingleNestedRpc").as_str(),
                "-",
                rpc("RpcPathNestedRpc").as_str()
            ),
            (
                rpc("RpcPathNestedRpc").as_str(),
                "-",
                rpc("RpcPathNestedRpc").as_str()
            ),
            (
                rpc("RpcPathSingleNestedStream").as_str(),
                "-",
                rpc("RpcPathNestedStream").as_str()
            ),
            (
                rpc("RpcPathNestedStream").as_str(),
                "-",
                rpc("RpcPathNestedStream").as_str()
            ),
        ]
    );
    let served: Vec<&Value> = routes
        .iter()
        .filter(|r| r["path"] == "/rpc/path-nested/{a.str}/rpc" && r["shadowed_by"].is_null())
        .collect();
    assert_eq!(served.len(), 1, "{served:?}");
    assert_eq!(served[0]["rpc"], rpc("RpcPathNestedRpc"));
    assert_eq!(served[0]["body"], "c");

    // The table shows the shadowed bindings too.
    let (code, table, _) = restgate(&["routes"], name);
    assert_eq!(code, 0);
    assert_eq!(table.lines().count(), declared.len() + 1, "{table}");
    let marked: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("(shadowed by "))
        .collect();
    assert_eq!(marked.len(), 4, "{table}");
    assert!(
        marked[0].contains(&format!(
            "{} (shadowed by {})",
            rpc("RpcPathSingleNestedRpc"),
            rpc("RpcPathNestedRpc")
        )),
        "{table}"
    );

    assert_openapi(name);

    // The last binding (body "c") answers, as grpc-gateway's mux does.
    let (backend, gw) = serve(name).await;
    let reply = gw
        .post("/rpc/path-nested/hello/rpc", &json!("payload"))
        .await;
    assert_post_succeeded(&reply);
    assert_eq!(reply.json(), json!({}));
    let call = backend.only_call();
    assert_eq!(call.rpc, rpc("RpcPathNestedRpc"));
    let a = call.request.get_field_by_name("a").expect("a");
    let a = a.as_message().expect("UnaryProto");
    assert_eq!(
        a.get_field_by_name("str").as_deref(),
        Some(&Field::String("hello".into()))
    );
    assert_eq!(
        call.request.get_field_by_name("c").as_deref(),
        Some(&Field::String("payload".into()))
    );
}

#[tokio::test]
async fn stream_serves_a_server_stream() {
    let name = "stream";
    assert_checks(name, declared_bindings(&pool(name)).len());
    let routes = assert_routes(name);
    listed(
        &routes,
        "GET",
        "/v1/example/a_bit_of_everything",
        "StreamService/List",
    );
    listed(
        &routes,
        "POST",
        "/v1/example/a_bit_of_everything/bulk",
        "StreamService/BulkCreate",
    );
    assert_openapi(name);

    let (backend, gw) = serve(name).await;
    let reply = send(gw.request(Method::GET, "/v1/example/a_bit_of_everything")).await;
    reply.assert_status(200);
    assert_eq!(reply.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(reply.text, "{}\n");
    assert_eq!(
        backend.only_call().rpc,
        format!("{PACKAGE}.StreamService/List")
    );
}

#[tokio::test]
async fn echo_service_echoes() {
    let name = "echo_service";
    assert_checks(name, declared_bindings(&pool(name)).len());
    let routes = assert_routes(name);
    let route = listed(
        &routes,
        "GET",
        "/v1/example/echo1/{id}/{line_num}/{status.note}",
        "EchoService/Echo",
    );
    assert_eq!(
        route["path_fields"],
        json!(["id", "line_num", "status.note"])
    );
    assert_openapi(name);

    let (backend, gw) = serve(name).await;
    let reply = gw.get("/v1/example/echo/abc/42").await.assert_json(200);
    assert_eq!(reply["id"], "abc");
    assert_eq!(reply["num"], "42");
    let call = backend.only_call();
    assert_eq!(call.rpc, format!("{PACKAGE}.EchoService/Echo"));
    assert_eq!(
        call.request.get_field_by_name("num").as_deref(),
        Some(&Field::I64(42))
    );
}

#[tokio::test]
async fn wrappers_round_trip() {
    let name = "wrappers";
    assert_checks(name, declared_bindings(&pool(name)).len());
    let routes = assert_routes(name);
    let route = listed(
        &routes,
        "POST",
        "/v1/example/wrappers",
        "WrappersService/Create",
    );
    assert_eq!(route["body"], "*");
    assert_openapi(name);

    let (backend, gw) = serve(name).await;
    let sent =
        json!({ "stringValue": "hello", "int32Value": 5, "int64Value": "7", "boolValue": false });
    let reply = gw.post("/v1/example/wrappers", &sent).await;
    assert_post_succeeded(&reply);
    assert_eq!(reply.json(), sent);
    assert_eq!(
        backend.only_call().rpc,
        format!("{PACKAGE}.WrappersService/Create")
    );
}

#[tokio::test]
async fn response_body_answers_one_field() {
    let name = "response_body_service";
    assert_checks(name, declared_bindings(&pool(name)).len());
    let routes = assert_routes(name);
    let route = listed(
        &routes,
        "GET",
        "/responsebody/{data}",
        "ResponseBodyService/GetResponseBody",
    );
    assert_eq!(route["response_body"], "response");
    assert_openapi(name);

    let (backend, gw) = serve(name).await;
    let reply = gw.get("/responsebody/foo").await.assert_json(200);
    assert_eq!(reply, json!({ "data": "foo" }));
    assert_eq!(
        backend.only_call().rpc,
        format!("{PACKAGE}.ResponseBodyService/GetResponseBody")
    );
}
