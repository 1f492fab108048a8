//! An operation's parameters: its path variables, the query parameters that
//! fill every remaining request field (SPEC §3), and the headers the gateway
//! acts on (`Idempotency-Key`, `If-Match`, `If-None-Match`; SPEC §5).

use http::Method;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{json, Value};

use super::comments;
use super::path::OpenApiPath;
use super::scalar::well_known;
use super::schema::{describe, Form, Schemas};
use crate::compile::{Body, Route, RouteKind};

/// How deep query parameters reach into nested messages: `a.b.c` at most.
const MAX_QUERY_DEPTH: usize = 3;

/// One `in: path` parameter per `{...}` of `rendered`, typed by its field.
/// A repeated field (google.api.http) is an array in one segment, its
/// values comma-separated: OpenAPI's `style: simple`, `explode: false`.
pub(super) fn path(route: &Route, rendered: &OpenApiPath, schemas: &mut Schemas) -> Vec<Value> {
    rendered
        .params
        .iter()
        .map(|param| {
            let field = param.variable.and_then(|v| route.path_fields.get(v));
            let mut lines = Vec::new();
            let repeated = param.pattern.is_none() && field.is_some_and(|b| b.leaf().is_list());
            let mut schema = match (field, &param.pattern) {
                (_, Some(pattern)) => json!({ "type": "string", "pattern": pattern }),
                (Some(_), None) if param.segment_of.is_some() => json!({ "type": "string" }),
                (Some(bound), None) => schemas.field(bound.leaf(), Form::Text),
                (None, None) => json!({ "type": "string" }),
            };
            match (field, &param.segment_of) {
                (Some(bound), Some(shape)) => {
                    lines.push(format!(
                        "One segment of the request field `{}`, which is `{shape}`.",
                        bound.path
                    ));
                }
                (Some(bound), None) => {
                    lines.push(format!("Fills the request field `{}`.", bound.path));
                    lines.extend(comments::of(
                        &bound.leaf().parent_file(),
                        bound.leaf().path(),
                    ));
                }
                (None, _) => {
                    lines.push("Matched by the route; not sent to the service.".to_owned())
                }
            }
            if repeated {
                lines.push(
                    "Repeated: several values are comma-separated in this one segment, e.g. \
                     `a,b`."
                        .to_owned(),
                );
            }
            if let Some(expansion) = &param.expansion {
                lines.push(format!(
                    "The value spans several path segments (`{expansion}`), e.g. `{}`, and is \
                     sent with its `/` unescaped. OpenAPI path parameters cannot hold `/`: an \
                     escaped `%2F` is data, not a separator, and does not match this route.",
                    expansion.replace("**", "a/b").replace('*', "1"),
                ));
            }
            if let Some(schema) = schema.as_object_mut() {
                schema.remove("description");
            }
            let mut doc = json!({
                "name": param.name,
                "in": "path",
                "required": true,
                "description": lines.join("\n\n"),
                "schema": schema,
            });
            if repeated {
                doc["style"] = json!("simple");
                doc["explode"] = json!(false);
            }
            doc
        })
        .collect()
}

/// One `in: query` parameter per request field not filled by the path or
/// the body: scalars, enums, repeated scalars and string-form well-known
/// types, nested fields by dotted name. None when the body is `*`.
pub(super) fn query(route: &Route, schemas: &mut Schemas) -> Vec<Value> {
    if route.body == Body::Whole {
        return Vec::new();
    }
    let mut out = Vec::new();
    walk(
        route,
        &route.rpc.input(),
        &mut Vec::new(),
        schemas,
        &mut out,
    );
    out
}

fn walk(
    route: &Route,
    message: &MessageDescriptor,
    chain: &mut Vec<FieldDescriptor>,
    schemas: &mut Schemas,
    out: &mut Vec<Value>,
) {
    for field in message.fields() {
        if chain.is_empty() && matches!(&route.body, Body::Field(b) if *b.leaf() == field) {
            continue;
        }
        chain.push(field.clone());
        let taken = route
            .path_fields
            .iter()
            .any(|p| chain.starts_with(&p.fields) || p.fields.starts_with(chain));
        match field.kind() {
            _ if field.is_map() => {}
            Kind::Message(inner) if well_known(&inner, Form::Text).is_none() => {
                let nestable = !field.is_list()
                    && !inner.full_name().starts_with("google.protobuf.")
                    && chain.len() < MAX_QUERY_DEPTH;
                if nestable {
                    walk(route, &inner, chain, schemas, out);
                }
            }
            _ if !taken => out.push(parameter(chain, schemas)),
            _ => {}
        }
        chain.pop();
    }
}

/// The query parameter for the field at the end of `chain`.
fn parameter(chain: &[FieldDescriptor], schemas: &mut Schemas) -> Value {
    let name: Vec<String> = chain.iter().map(|f| schemas.property_name(f)).collect();
    let leaf = &chain[chain.len() - 1];
    let mut schema = schemas.field(leaf, Form::Text);
    let mut lines: Vec<String> = comments::of(&leaf.parent_file(), leaf.path())
        .into_iter()
        .collect();
    if leaf.is_list() {
        lines.push("Repeat the parameter for several values.".to_owned());
    }
    if let Some(text) = schema.as_object_mut().and_then(|s| s.remove("description")) {
        lines.extend(text.as_str().map(str::to_owned));
    }
    let mut param = json!({
        "name": name.join("."),
        "in": "query",
        "required": false,
        "schema": schema,
    });
    if !lines.is_empty() {
        describe(&mut param, &lines.join("\n\n"));
    }
    param
}

/// The headers the gateway acts on for this route.
pub(super) fn headers(route: &Route) -> Vec<Value> {
    let mut out = Vec::new();
    if keyed(route) {
        out.push(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "Makes the request safe to retry: the first request with a key runs and its \
                answer is stored; a repeat with the same request replays it without calling the \
                service (`Idempotent-Replayed: true`), a repeat while the first still runs gets 409, \
                and the same key with a different request gets 422.",
            // What the gateway takes (else 400): 1 to 255 visible ASCII
            // characters and spaces; the spaces around it are not part of it.
            "schema": {
                "type": "string", "minLength": 1, "maxLength": 255,
                "pattern": "^[ -~]*[!-~][ -~]*$",
            },
        }));
    }
    if takes_if_match(route) {
        out.push(json!({
            "name": "If-Match",
            "in": "header",
            "required": false,
            "description": "Write only if the resource's current entity tag matches (its `etag` field). \
                The tag fills the request's `etag` field where there is one and travels as \
                metadata; a failed precondition answers 412.",
            "schema": { "type": "string" },
        }));
    }
    if route.kind == RouteKind::Replace {
        out.push(json!({
            "name": "If-None-Match",
            "in": "header",
            "required": false,
            "description": "`*`: create only, never overwrite. Passed to the service as metadata; a \
                failed precondition answers 412.",
            "schema": { "type": "string" },
        }));
    }
    out
}

/// Whether the route honours `Idempotency-Key`: every POST and PATCH of a
/// unary method (a streaming method refuses keys).
pub(super) fn keyed(route: &Route) -> bool {
    (route.method == Method::POST || route.method == Method::PATCH)
        && !route.rpc.is_client_streaming()
        && !route.rpc.is_server_streaming()
}

/// Whether `If-Match` is documented: on replace always, on update and
/// delete when the request (or its body resource) has an `etag` field.
pub(super) fn takes_if_match(route: &Route) -> bool {
    match route.kind {
        RouteKind::Replace => true,
        RouteKind::Update | RouteKind::Delete => {
            let input = route.rpc.input();
            let body_resource = match &route.body {
                Body::Field(b) => match b.leaf().kind() {
                    Kind::Message(m) => Some(m),
                    _ => None,
                },
                _ => None,
            };
            has_etag(&input) || body_resource.is_some_and(|m| has_etag(&m))
        }
        _ => false,
    }
}

/// Whether `message` has a singular string field named `etag`.
pub(super) fn has_etag(message: &MessageDescriptor) -> bool {
    message
        .get_field_by_name("etag")
        .is_some_and(|f| f.kind() == Kind::String && !f.is_list())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::path::{render, PathParams};

    fn route(method: &str, template: &str) -> Route {
        crate::compile::bundled_route(method, template)
    }

    fn names(params: &[Value]) -> Vec<&str> {
        params.iter().map(|p| p["name"].as_str().unwrap()).collect()
    }

    #[test]
    fn query_parameters_fill_the_remaining_fields() {
        let mut schemas = Schemas::new(false);
        let list = route("GET", "/v1/users");
        let params = query(&list, &mut schemas);
        assert_eq!(names(&params), ["pageSize", "pageToken", "role", "tag"]);
        assert_eq!(
            params[0]["schema"],
            json!({ "type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX })
        );
        assert_eq!(params[2]["schema"]["enum"][1], "ROLE_READER");
        assert_eq!(
            params[3]["schema"],
            json!({ "type": "array", "items": { "type": "string" } })
        );
        let patch = route("PATCH", "/v1/users/{user_id}");
        assert_eq!(names(&query(&patch, &mut schemas)), ["updateMask"]);
        assert!(query(
            &route("POST", "/v1/{name=blogs/*/posts/*}:publish"),
            &mut schemas
        )
        .is_empty());
        assert!(query(&route("GET", "/v1/users/{user_id}"), &mut schemas).is_empty());
        let mut proto = Schemas::new(true);
        assert_eq!(names(&query(&list, &mut proto))[0], "page_size");
    }

    #[test]
    fn path_parameters_are_typed_and_patterned() {
        let mut schemas = Schemas::new(false);
        let get = route("GET", "/v1/{name=blogs/*/posts/*}");
        let params = path(
            &get,
            &render(&get.template, 0, PathParams::Template),
            &mut schemas,
        );
        assert_eq!(params[0]["name"], "name");
        assert_eq!(params[0]["required"], true);
        assert_eq!(params[0]["schema"]["pattern"], "^blogs/[^/]+/posts/[^/]+$");
        let text = params[0]["description"].as_str().unwrap();
        assert!(
            text.contains("`blogs/1/posts/1`") && text.contains("%2F"),
            "{text}"
        );
        let get = route("GET", "/v1/users/{user_id}/accounts/{account_id}");
        let params = path(
            &get,
            &render(&get.template, 0, PathParams::Template),
            &mut schemas,
        );
        assert_eq!(names(&params), ["user_id", "account_id"]);
        assert_eq!(params[1]["schema"], json!({ "type": "string" }));
    }

    #[test]
    fn headers_follow_the_operation() {
        let h = |m, t| headers(&route(m, t));
        assert_eq!(names(&h("POST", "/v1/users")), ["Idempotency-Key"]);
        assert_eq!(
            names(&h("PUT", "/v1/users/{user_id}")),
            ["If-Match", "If-None-Match"]
        );
        assert_eq!(
            names(&h("PATCH", "/v1/users/{user_id}")),
            ["Idempotency-Key", "If-Match"]
        );
        assert!(h("GET", "/v1/users/{user_id}").is_empty());
        assert!(h("DELETE", "/v1/users/{user_id}").is_empty());
    }
}
