//! `restgate routes`: the real binary prints the route table of the bundled
//! example, of the same protos given with `--proto`, and of a descriptor set
//! compiled from them, identically.

mod support;

use std::path::Path;

use serde_json::Value;

fn restgate(args: &[&str]) -> (i32, String, String) {
    let out = support::restgate()
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run restgate");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

fn routes_json(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["routes", "--format", "json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = restgate(&all);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr, "");
    serde_json::from_str(&stdout).expect("routes --format json prints JSON")
}

/// (method, path, kind, rpc, body) of every binding the example must have.
const REQUIRED: &[(&str, &str, &str, &str, Option<&str>)] = &[
    (
        "POST",
        "/v1/users",
        "create",
        "examples.v1.UserService/CreateUser",
        Some("user"),
    ),
    (
        "PUT",
        "/v1/users/{user_id}",
        "replace",
        "examples.v1.UserService/ReplaceUser",
        Some("user"),
    ),
    (
        "GET",
        "/v1/users/{user_id}",
        "get",
        "examples.v1.UserService/GetUser",
        None,
    ),
    (
        "GET",
        "/v1/users",
        "list",
        "examples.v1.UserService/ListUsers",
        None,
    ),
    (
        "DELETE",
        "/v1/users/{user_id}",
        "delete",
        "examples.v1.UserService/DeleteUser",
        None,
    ),
    (
        "PATCH",
        "/v1/users/{user_id}",
        "update",
        "examples.v1.UserService/UpdateUser",
        Some("user"),
    ),
    (
        "POST",
        "/v1/users/{user_id}/accounts",
        "create",
        "examples.v1.AccountService/CreateAccount",
        Some("account"),
    ),
    (
        "PUT",
        "/v1/users/{user_id}/accounts/{account_id}",
        "replace",
        "examples.v1.AccountService/ReplaceAccount",
        Some("account"),
    ),
    (
        "GET",
        "/v1/users/{user_id}/accounts/{account_id}",
        "get",
        "examples.v1.AccountService/GetAccount",
        None,
    ),
    (
        "POST",
        "/v1/blogs",
        "create",
        "examples.v1.BlogService/CreateBlog",
        Some("blog"),
    ),
    (
        "PUT",
        "/v1/blogs/{blog_id}",
        "replace",
        "examples.v1.BlogService/ReplaceBlog",
        Some("blog"),
    ),
    // google.api.http: a `post` on a collection with an item route is a
    // create, `{name=...}` variables, a custom verb.
    (
        "POST",
        "/v1/{parent=blogs/*}/posts",
        "create",
        "examples.v1.BlogService/CreatePost",
        Some("post"),
    ),
    (
        "GET",
        "/v1/{name=blogs/*/posts/*}",
        "get",
        "examples.v1.BlogService/GetPost",
        None,
    ),
    (
        "GET",
        "/v1/posts/{name=**}",
        "get",
        "examples.v1.BlogService/GetPost",
        None,
    ),
    // Streaming methods: custom verbs next to the item routes.
    (
        "GET",
        "/v1/users:stream",
        "custom",
        "examples.v1.UserService/StreamUsers",
        None,
    ),
    (
        "POST",
        "/v1/users:import",
        "custom",
        "examples.v1.UserService/ImportUsers",
        Some("user"),
    ),
    (
        "POST",
        "/v1/users:lookup",
        "custom",
        "examples.v1.UserService/LookupUsers",
        Some("*"),
    ),
    (
        "PUT",
        "/v1/users/{user_id}/avatar",
        "custom",
        "examples.v1.UserService/SetAvatar",
        Some("avatar"),
    ),
    // A GET on a literal answering one HttpBody: a singleton, not a list.
    (
        "GET",
        "/v1/users/{user_id}/avatar",
        "get",
        "examples.v1.UserService/GetAvatar",
        None,
    ),
    (
        "POST",
        "/v1/{name=blogs/*/posts/*}:publish",
        "custom",
        "examples.v1.BlogService/PublishPost",
        Some("*"),
    ),
];

fn assert_example_routes(routes: &[Value]) {
    for (method, path, kind, rpc, body) in REQUIRED {
        let found: Vec<&Value> = routes
            .iter()
            .filter(|r| r["method"] == *method && r["path"] == *path)
            .collect();
        assert_eq!(found.len(), 1, "{method} {path} appears once");
        let route = found[0];
        assert_eq!(route["kind"], *kind, "{method} {path}");
        assert_eq!(route["rpc"], *rpc, "{method} {path}");
        assert_eq!(route["body"].as_str(), *body, "{method} {path}");
    }
    assert_eq!(routes.len(), 23);
}

#[test]
fn bundled_example_has_every_binding() {
    let routes = routes_json(&[]);
    assert_example_routes(&routes);
    let create = routes
        .iter()
        .find(|r| r["rpc"] == "examples.v1.AccountService/CreateAccount")
        .unwrap();
    assert_eq!(
        create["location"],
        "/v1/users/{user_id}/accounts/{account_id}"
    );
    assert_eq!(create["path_fields"], serde_json::json!(["user_id"]));
    assert_eq!(create["request"], "examples.v1.CreateAccountRequest");
    assert_eq!(create["response"], "examples.v1.Account");
    assert_eq!(create["source"], "restgate.rest");
}

#[test]
fn same_routes_from_proto_files() {
    let routes = routes_json(&[
        "--proto",
        "proto/examples/v1/users.proto",
        "proto/examples/v1/blogs.proto",
        "-I",
        "proto",
    ]);
    assert_example_routes(&routes);
    assert_eq!(routes, routes_json(&[]));
}

fn write_descriptor_set(dir: &Path, source_info: bool) -> String {
    let mut compiler = protox::Compiler::new(["proto"]).unwrap();
    compiler
        .include_imports(true)
        .include_source_info(source_info);
    compiler
        .open_files(["examples/v1/users.proto", "examples/v1/blogs.proto"])
        .unwrap();
    let path = dir.join(format!("example-{source_info}.binpb"));
    std::fs::write(&path, compiler.encode_file_descriptor_set()).unwrap();
    path.display().to_string()
}

#[test]
fn same_routes_from_a_descriptor_set() {
    let dir = tempfile::tempdir().unwrap();
    for source_info in [true, false] {
        let set = write_descriptor_set(dir.path(), source_info);
        let routes = routes_json(&["--descriptor-set", &set]);
        assert_example_routes(&routes);
        assert_eq!(routes, routes_json(&[]));
    }
}

#[test]
fn table_is_aligned() {
    let (code, stdout, _) = restgate(&["routes"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 24);
    let header = lines[0];
    assert!(header.starts_with("METHOD  PATH"));
    let rpc_col = header.find("RPC").unwrap();
    for line in &lines[1..] {
        assert_eq!(&line[rpc_col..rpc_col + 12], "examples.v1.", "{line}");
    }
    assert!(lines.contains(&"POST    /v1/users                                  create   examples.v1.UserService/CreateUser         user"));
}

#[test]
fn google_api_http_protos_work_unchanged() {
    let routes = routes_json(&["--proto", "tests/fixtures/valid/library.proto"]);
    let kind = |method: &str, path: &str| {
        routes
            .iter()
            .find(|r| r["method"] == method && r["path"] == path)
            .map(|r| r["kind"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{method} {path}"))
    };
    assert_eq!(kind("POST", "/v1/shelves"), "create");
    assert_eq!(kind("PUT", "/v1/{shelf.name=shelves/*}"), "replace");
    assert_eq!(kind("GET", "/v1/{name=shelves/*}"), "get");
    assert_eq!(kind("DELETE", "/v1/{name=shelves/*}"), "delete");
    // No route names an item under /v1/books: a plain POST.
    assert_eq!(kind("POST", "/v1/books"), "custom");
    assert_eq!(kind("POST", "/v1/{name=shelves/*/books/*}:move"), "custom");
    assert_eq!(kind("HEAD", "/v1/{name=shelves/*}"), "custom");
    let title = routes
        .iter()
        .find(|r| r["path"] == "/v1/{name=shelves/*/books/*}:title")
        .unwrap();
    assert_eq!(title["response_body"], "title");
    let create = routes
        .iter()
        .find(|r| r["path"] == "/v1/{parent=shelves/*}/books")
        .unwrap();
    assert_eq!(create["location"], "/v1/{name=shelves/*/books/*}");
    assert_eq!(routes.len(), 10, "NotRouted has no binding");
}

#[test]
fn a_shadowed_google_api_http_binding_is_listed_and_marked() {
    let args = ["--proto", "tests/fixtures/valid/shadowed.proto"];
    let (code, stdout, stderr) = restgate(&[&["routes", "--format", "json"][..], &args].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr.matches(": warning: ").count(), 2, "{stderr}");
    let routes: Vec<Value> = serde_json::from_str(&stdout).expect("JSON");
    let listed: Vec<(&str, &str, &Value)> = routes
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap(),
                r["rpc"].as_str().unwrap(),
                &r["shadowed_by"],
            )
        })
        .collect();
    let fetch = "fixtures.v1.Things/FetchThing";
    assert_eq!(
        listed,
        [
            (
                "/v1/things/{thing_id}",
                "fixtures.v1.Things/GetThing",
                &Value::from(fetch)
            ),
            ("/v1/things/{thing_id=*}", fetch, &Value::from(fetch)),
            ("/v1/sizes/{sizes}", fetch, &Value::Null),
            ("/v1/things/{thing_id}", fetch, &Value::Null),
        ]
    );
    let (code, table, _) = restgate(&[&["routes"][..], &args].concat());
    assert_eq!(code, 0);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(
        lines[1]
            .contains("fixtures.v1.Things/GetThing (shadowed by fixtures.v1.Things/FetchThing)"),
        "{table}"
    );
    assert!(!lines[4].contains("shadowed"), "{table}");
}
