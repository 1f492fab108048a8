//! The whole document: `info`, `tags` (one per service), `paths` (one
//! operation per route) and `components`.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::operation::{self, Placement};
use super::path::{self, OpenApiPath, PathParams};
use super::schema::Schemas;
use super::{comments, links, responses};
use crate::compile::{Route, RouteTable};

/// What the document says about itself, and how its JSON is spelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenApiOptions {
    /// `info.title`.
    pub title: String,
    /// `info.version`: the API's version, not restgate's.
    pub version: String,
    /// Property and query parameter names as proto field names (`user_id`)
    /// instead of lowerCamelCase; match the gateway's `--proto-field-names`.
    pub proto_field_names: bool,
    /// How variables spanning several segments are written
    /// (`--openapi-path-params`).
    pub path_params: PathParams,
    /// `info.license`: the API's licence as an SPDX identifier
    /// (`Apache-2.0`); `None` leaves it out, as only the API's owner knows it.
    pub license: Option<String>,
}

impl Default for OpenApiOptions {
    fn default() -> Self {
        OpenApiOptions {
            title: "restgate".to_owned(),
            version: "0.0.0".to_owned(),
            proto_field_names: false,
            path_params: PathParams::default(),
            license: None,
        }
    }
}

/// The operations OpenAPI 3.1 has a slot for; a route with another method
/// (a `custom` google.api.http kind) is listed under
/// `x-restgate-undocumented` instead.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The OpenAPI 3.1.0 document of `table`: every route an operation, every
/// message it touches a schema. Deterministic: the same table gives the
/// same document.
pub fn document(table: &RouteTable, options: &OpenApiOptions) -> Value {
    let mut schemas = Schemas::new(options.proto_field_names);
    let tags = Tags::new(table.routes());
    let mut ids = OperationIds::default();
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut undocumented = Vec::new();
    // Where each route went (path, operation id), by route index: what
    // a create's links point at.
    let mut placed: Vec<Option<(OpenApiPath, String)>> = Vec::new();
    for route in table.routes() {
        let method = route.method.as_str().to_ascii_lowercase();
        if !METHODS.contains(&method.as_str()) {
            undocumented.push(json!({
                "method": route.method.as_str(),
                "path": route.template.as_str(),
                "rpc": route.rpc_name(),
            }));
            placed.push(None);
            continue;
        }
        let rendered = place(&paths, &method, route, options.path_params);
        let at = Placement {
            path: &rendered,
            operation_id: ids.next(route),
            tag: tags.of(route),
        };
        let operation = operation::build(route, &at, &mut schemas);
        let id = at.operation_id.clone();
        paths
            .entry(rendered.path.clone())
            .or_default()
            .insert(method, operation);
        placed.push(Some((rendered, id)));
    }
    add_links(&mut paths, table, &placed, &schemas);

    let mut components = schemas.finish();
    // The error body is `Status`, unless a message of that very name took the
    // key; then google.rpc.Status, which is the same shape when it is there.
    let status_key = ["Status", "google.rpc.Status"]
        .into_iter()
        .find(|k| !components.contains_key(*k))
        .unwrap_or("google.rpc.Status");
    if !components.contains_key(status_key) {
        components.insert(status_key.to_owned(), responses::status_schema());
    }

    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": options.title,
            "version": options.version,
            "description": "REST/JSON API served by restgate in front of gRPC services. Bodies are \
                proto3 JSON: 64-bit integers are strings, enums are their names, well-known types \
                take their JSON forms. Errors are google.rpc.Status as JSON. The gateway asks for \
                no credentials of its own: `Authorization` is passed to the services, which \
                answer 401 or 403 as they decide.",
        },
        // The API is served from the root of wherever the document is fetched.
        "servers": [{ "url": "/" }],
        // No security requirement: the gateway enforces none (see above).
        "security": [],
        "tags": tags.list(),
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": responses::components(status_key),
        },
    });
    if let Some(id) = &options.license {
        doc["info"]["license"] = json!({ "name": id, "identifier": id });
    }
    if !undocumented.is_empty() {
        doc["x-restgate-undocumented"] = Value::Array(undocumented);
    }
    doc
}

/// Gives each create's 201 the `links` to the created item's operations.
fn add_links(
    paths: &mut BTreeMap<String, Map<String, Value>>,
    table: &RouteTable,
    placed: &[Option<(OpenApiPath, String)>],
    schemas: &Schemas,
) {
    for (index, route) in table.routes().iter().enumerate() {
        let Some((rendered, id)) = &placed[index] else {
            continue;
        };
        let found = links::of(route, rendered, table.routes(), placed, schemas);
        if found.is_empty() {
            continue;
        }
        let method = route.method.as_str().to_ascii_lowercase();
        if let Some(created) = paths
            .get_mut(&rendered.path)
            .and_then(|item| item.get_mut(&method))
            .and_then(|op| op.pointer_mut("/responses/201"))
        {
            debug_assert_eq!(created.get("$ref"), None, "{id}: 201 is inline");
            created["links"] = Value::Object(found);
        }
    }
}

/// Where `route` goes under `paths`. Routes whose paths render alike share
/// a path item, one method each. When `method` is already taken there (two
/// templates that differ only inside a multi-segment variable, such as GET
/// `/v1/{name=shelves/*}` and GET `/v1/{name=shelves/*/books/*}`, both
/// `/v1/{name}`), the later route in table order gets its parameters
/// suffixed, `/v1/{name_1}`, then `_2`...: the same disambiguation as
/// grpc-gateway's generator, deterministic because the table's order is.
fn place(
    paths: &BTreeMap<String, Map<String, Value>>,
    method: &str,
    route: &Route,
    style: PathParams,
) -> OpenApiPath {
    let mut suffix = 0;
    loop {
        let rendered = path::render(&route.template, suffix, style);
        let taken = paths
            .get(&rendered.path)
            .is_some_and(|item| item.contains_key(method));
        // A template without variables renders alike at every suffix; it can
        // only collide with itself, which the route table forbids.
        if !taken || rendered.params.is_empty() {
            return rendered;
        }
        suffix += 1;
    }
}

/// `UserService_CreateUser`, then `UserService_CreateUser_1`, `_2` for the
/// RPC's additional bindings; a suffix is also added when two services of
/// different packages share a name.
#[derive(Debug, Default)]
struct OperationIds {
    used: HashSet<String>,
    bindings: HashMap<String, usize>,
}

impl OperationIds {
    fn next(&mut self, route: &Route) -> String {
        let base = format!("{}_{}", route.rpc.parent_service().name(), route.rpc.name());
        let seen = self
            .bindings
            .entry(route.rpc.full_name().to_owned())
            .or_insert(0);
        let mut n = *seen;
        *seen += 1;
        loop {
            let id = if n == 0 {
                base.clone()
            } else {
                format!("{base}_{n}")
            };
            if self.used.insert(id.clone()) {
                return id;
            }
            n += 1;
        }
    }
}

/// One tag per service with routes, named by the service's short name (its
/// full name when two services share the short one), described by its comment.
#[derive(Debug)]
struct Tags {
    /// (service full name, tag name, description), in table order.
    by_service: Vec<(String, String, Option<String>)>,
}

impl Tags {
    fn new(routes: &[Route]) -> Tags {
        let mut services = Vec::new();
        for route in routes {
            let service = route.rpc.parent_service();
            if !services
                .iter()
                .any(|s: &prost_reflect::ServiceDescriptor| s.full_name() == service.full_name())
            {
                services.push(service.clone());
            }
        }
        let by_service = services
            .iter()
            .map(|s| {
                let shared = services.iter().filter(|o| o.name() == s.name()).count() > 1;
                let name = if shared { s.full_name() } else { s.name() };
                let description = comments::of(&s.parent_file(), s.path());
                (s.full_name().to_owned(), name.to_owned(), description)
            })
            .collect();
        Tags { by_service }
    }

    fn of(&self, route: &Route) -> &str {
        let service = route.rpc.parent_service();
        self.by_service
            .iter()
            .find(|(full, _, _)| full == service.full_name())
            .map(|(_, name, _)| name.as_str())
            .unwrap_or_else(|| unreachable!("Tags::new saw every route's service"))
    }

    fn list(&self) -> Vec<Value> {
        self.by_service
            .iter()
            .map(|(_, name, description)| {
                let mut tag = json!({ "name": name });
                if let Some(text) = description {
                    tag["description"] = Value::String(text.clone());
                }
                tag
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{Descriptors, Input};

    fn library(path_params: PathParams) -> Value {
        let input = Input::Protos {
            files: vec![concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/valid/library.proto"
            )
            .into()],
            includes: vec![],
        };
        let compiled = RouteTable::load(&input).unwrap();
        let options = OpenApiOptions {
            path_params,
            ..OpenApiOptions::default()
        };
        document(&compiled.table, &options)
    }

    #[test]
    fn colliding_paths_both_appear() {
        let doc = library(PathParams::Template);
        let paths = doc["paths"].as_object().unwrap();
        // GET shelves/* and GET shelves/*/books/* both render as /v1/{name}.
        let shelf = &paths["/v1/{name}"];
        assert_eq!(shelf["get"]["operationId"], "Library_GetShelf");
        assert_eq!(shelf["delete"]["operationId"], "Library_DeleteShelf");
        assert_eq!(shelf["head"]["operationId"], "Library_Head");
        let book = &paths["/v1/{name_1}"]["get"];
        assert_eq!(book["operationId"], "Library_GetBook");
        assert_eq!(book["parameters"][0]["name"], "name_1");
        assert_eq!(
            book["parameters"][0]["schema"]["pattern"],
            "^shelves/[^/]+/books/[^/]+$"
        );
        assert!(paths.contains_key("/v1/{name}:move") && paths.contains_key("/v1/{shelf.name}"));
        assert_eq!(
            paths["/v1/books"]["post"]["operationId"],
            "Library_CreateBook_1"
        );
        assert_eq!(doc["tags"], json!([{ "name": "Library" }]));
    }

    #[test]
    fn expanded_paths_do_not_collide() {
        let doc = library(PathParams::Expanded);
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(
            paths["/v1/shelves/{shelve}"]["get"]["operationId"],
            "Library_GetShelf"
        );
        let book = &paths["/v1/shelves/{shelve}/books/{book}"]["get"];
        assert_eq!(book["operationId"], "Library_GetBook");
        let names: Vec<&str> = book["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["shelve", "book"]);
        assert!(
            !paths.keys().any(|p| p.contains("_1}")),
            "{:?}",
            paths.keys()
        );
        assert_eq!(doc["servers"], json!([{ "url": "/" }]));
        assert_eq!(doc["security"], json!([]));
    }

    #[test]
    fn bundled_document_shape() {
        let table = RouteTable::compile(&Descriptors::bundled()).unwrap().table;
        let options = OpenApiOptions {
            title: "Example".to_owned(),
            version: "1.2.3".to_owned(),
            ..OpenApiOptions::default()
        };
        let doc = document(&table, &options);
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["title"], "Example");
        assert_eq!(doc["info"]["version"], "1.2.3");
        assert_eq!(
            doc["components"]["schemas"]["Status"]["properties"]["code"]["type"],
            "integer"
        );
        let tags: Vec<&str> = doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(tags, ["UserService", "AccountService", "BlogService"]);
        assert_eq!(
            doc["paths"]["/v1/posts/{name}"]["get"]["operationId"],
            "BlogService_GetPost_1"
        );
        assert_eq!(doc, document(&table, &options), "deterministic");
        assert!(doc.get("x-restgate-undocumented").is_none());
    }

    #[test]
    fn operation_ids_stay_unique() {
        let table = RouteTable::compile(&Descriptors::bundled()).unwrap().table;
        let mut ids = OperationIds::default();
        let route = &table.routes()[0];
        ids.used.insert(format!(
            "{}_{}",
            route.rpc.parent_service().name(),
            route.rpc.name()
        ));
        assert!(ids.next(route).ends_with("_1"));
    }
}
