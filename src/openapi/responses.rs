//! An operation's responses: the success answer (201 + `Location` for
//! create, 200 or 201 for replace, 200 otherwise) and every error status the
//! route can answer, each with the google.rpc.Status-shaped error body.
//!
//! Error responses are shared: `components/responses` holds one per status
//! (and `default`, for the statuses a service may pick that are not listed,
//! such as 401, 403 or 499), and operations `$ref` them.

use http::Method;
use prost_reflect::Kind;
use serde_json::{json, Map, Value};

use super::parameters::{has_etag, keyed, takes_if_match};
use super::schema::{Form, Schemas, SCHEMA_REF};
use crate::compile::{Body, Route, RouteKind};

/// One error response: status, `components/responses` name, description.
struct ErrorResponse {
    status: &'static str,
    name: &'static str,
    description: &'static str,
}

const ERRORS: &[ErrorResponse] = &[
    ErrorResponse { status: "400", name: "BadRequest", description: "Bad request: the body, a path or query value does not map onto the request message (bad JSON, an unknown field, a wrong type), an id in the body differs from the URI, a malformed `Idempotency-Key`, or the service answered INVALID_ARGUMENT, FAILED_PRECONDITION or OUT_OF_RANGE." },
    ErrorResponse { status: "404", name: "NotFound", description: "Not found: no route matches the path, or the service answered NOT_FOUND." },
    ErrorResponse { status: "405", name: "MethodNotAllowed", description: "Method not allowed: the path is known, but not with this method. `Allow` lists the methods it takes." },
    ErrorResponse { status: "409", name: "Conflict", description: "Conflict: the service answered ALREADY_EXISTS or ABORTED, or a request with the same `Idempotency-Key` is still running." },
    ErrorResponse { status: "412", name: "PreconditionFailed", description: "Precondition failed: the request carried `If-Match` or `If-None-Match` and the service answered FAILED_PRECONDITION." },
    ErrorResponse { status: "413", name: "ContentTooLarge", description: "Content too large: the body is over the gateway's size limit." },
    ErrorResponse { status: "415", name: "UnsupportedMediaType", description: "Unsupported media type: the body must be `application/json`." },
    ErrorResponse { status: "422", name: "UnprocessableContent", description: "Unprocessable content: this `Idempotency-Key` was used for a different request." },
    ErrorResponse { status: "429", name: "TooManyRequests", description: "Too many requests: the service answered RESOURCE_EXHAUSTED." },
    ErrorResponse { status: "500", name: "InternalServerError", description: "Internal error: the service answered INTERNAL, UNKNOWN or DATA_LOSS, or its reply could not be written as JSON." },
    ErrorResponse { status: "501", name: "NotImplemented", description: "Not implemented: the service answered UNIMPLEMENTED." },
    ErrorResponse { status: "503", name: "ServiceUnavailable", description: "Service unavailable: the service cannot be reached or answered UNAVAILABLE, or the gateway is overloaded. Safe to retry." },
    ErrorResponse { status: "504", name: "GatewayTimeout", description: "Gateway timeout: the service did not answer before the deadline (`Grpc-Timeout`, or the gateway's default)." },
    ErrorResponse { status: "default", name: "Error", description: "Any other error, with the gRPC status mapped as the gateway's table says (e.g. 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 499 CANCELLED)." },
];

/// The statuses every route can answer.
const ALWAYS: &[&str] = &[
    "400", "404", "405", "409", "429", "500", "501", "503", "504", "default",
];

/// The `responses` object of `route`'s operation.
pub(super) fn of(route: &Route, schemas: &mut Schemas) -> Map<String, Value> {
    let mut out = Map::new();
    let content = if route.raw_reply() {
        json!({ "*/*": { "schema": raw_schema() } })
    } else {
        json!({ "application/json": { "schema": reply_schema(route, schemas) } })
    };
    let mut headers = Map::new();
    if reply_has_etag(route) {
        headers.insert(
            "ETag".to_owned(),
            header("The resource's entity tag (its `etag` field), for `If-Match`."),
        );
    }
    if keyed(route) {
        headers.insert(
            "Idempotent-Replayed".to_owned(),
            header("`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`."),
        );
    }
    let success = |description: String, location: Option<&str>| {
        let mut headers = headers.clone();
        if let Some(text) = location {
            let mut location = header(text);
            location["schema"]["format"] = json!("uri-reference");
            headers.insert("Location".to_owned(), location);
        }
        let mut response = json!({ "description": description });
        if route.method != Method::HEAD {
            response["content"] = content.clone();
        }
        if !headers.is_empty() {
            response["headers"] = Value::Object(headers);
        }
        response
    };
    match route.kind {
        RouteKind::Create => {
            let (description, location) = match &route.location {
                Some(item) => (
                    "Created. `Location` names the new resource; the body is the resource.".to_owned(),
                    Some(format!("The created resource's URI, from the item template `{}`.", item.template)),
                ),
                None => (
                    "Created; the body is the resource. No route names the item, so no `Location` is sent.".to_owned(),
                    None,
                ),
            };
            out.insert("201".to_owned(), success(description, location.as_deref()));
        }
        RouteKind::Replace => {
            out.insert(
                "200".to_owned(),
                success("Replaced; the body is the resource.".to_owned(), None),
            );
            out.insert(
                "201".to_owned(),
                success(
                    "Created by the replace: the item did not exist and the service reports it created it."
                        .to_owned(),
                    Some("The request URI: the created item."),
                ),
            );
        }
        _ => {
            out.insert("200".to_owned(), success("OK.".to_owned(), None));
        }
    }
    for status in errors(route) {
        let error = ERRORS
            .iter()
            .find(|e| e.status == status)
            .unwrap_or_else(|| unreachable!("every status `errors` lists has an entry in ERRORS"));
        out.insert(
            status.to_owned(),
            json!({ "$ref": format!("#/components/responses/{}", error.name) }),
        );
    }
    out
}

/// The schema of a raw (`google.api.HttpBody`) body: any bytes.
pub(super) fn raw_schema() -> Value {
    json!({ "type": "string", "format": "binary" })
}

/// The error statuses `route` can answer.
fn errors(route: &Route) -> Vec<&'static str> {
    let mut statuses = ALWAYS.to_vec();
    if takes_if_match(route) {
        statuses.push("412");
    }
    if route.raw_request() {
        statuses.push("413");
    } else if route.body != Body::None {
        statuses.extend(["413", "415"]);
    }
    if keyed(route) {
        statuses.push("422");
    }
    statuses
}

/// The body of a success: the reply, or its `response_body` field.
fn reply_schema(route: &Route, schemas: &mut Schemas) -> Value {
    match &route.response_body {
        Some(field) => schemas.field(field.leaf(), Form::Json),
        None => schemas.message(&route.rpc.output()),
    }
}

/// Whether the replied resource has an `etag` field (the gateway's `ETag`).
fn reply_has_etag(route: &Route) -> bool {
    match &route.response_body {
        None => has_etag(&route.rpc.output()),
        Some(field) => match field.leaf().kind() {
            Kind::Message(m) if !field.leaf().is_list() && !field.leaf().is_map() => has_etag(&m),
            _ => false,
        },
    }
}

fn header(description: &str) -> Value {
    json!({ "description": description, "schema": { "type": "string" } })
}

/// `components/responses`: every error response, its body a `$ref` to
/// `status_schema` (the `components/schemas` key of [`status_schema`]).
pub(super) fn components(status_key: &str) -> Map<String, Value> {
    ERRORS
        .iter()
        .map(|e| {
            let mut response = json!({
                "description": e.description,
                "content": { "application/json": { "schema": { "$ref": format!("{SCHEMA_REF}{status_key}") } } },
            });
            if e.status == "405" {
                response["headers"] =
                    json!({ "Allow": header("The methods the path takes, e.g. `GET, PUT`.") });
            }
            (e.name.to_owned(), response)
        })
        .collect()
}

/// The error body: google.rpc.Status in proto3 JSON form.
pub(super) fn status_schema() -> Value {
    json!({
        "type": "object",
        "description": "An error: google.rpc.Status in proto3 JSON form.",
        "properties": {
            "code": { "type": "integer", "format": "int32", "description": "The gRPC status code (google.rpc.Code), e.g. 5 for NOT_FOUND." },
            "message": { "type": "string", "description": "What went wrong, for a developer." },
            "details": {
                "type": "array",
                "description": "Details the service attached, each a packed message with its `@type`.",
                "items": {
                    "type": "object",
                    "properties": { "@type": { "type": "string" } },
                    "required": ["@type"],
                    "additionalProperties": true,
                },
            },
        },
        "required": ["code", "message"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, template: &str) -> Route {
        crate::compile::bundled_route(method, template)
    }

    fn statuses(map: &Map<String, Value>) -> Vec<&str> {
        map.keys().map(String::as_str).collect()
    }

    #[test]
    fn statuses_per_operation() {
        let mut schemas = Schemas::new(false);
        let create = of(&route("POST", "/v1/users"), &mut schemas);
        assert_eq!(
            statuses(&create),
            [
                "201", "400", "404", "405", "409", "413", "415", "422", "429", "500", "501", "503",
                "504", "default"
            ]
        );
        let headers = create["201"]["headers"].as_object().unwrap();
        assert_eq!(
            statuses(headers),
            ["ETag", "Idempotent-Replayed", "Location"]
        );
        assert_eq!(create["400"]["$ref"], "#/components/responses/BadRequest");
        let replace = of(&route("PUT", "/v1/users/{user_id}"), &mut schemas);
        assert!(
            replace.contains_key("200")
                && replace.contains_key("201")
                && replace.contains_key("412")
        );
        assert!(!replace.contains_key("422"));
        let get = of(&route("GET", "/v1/{name=blogs/*/posts/*}"), &mut schemas);
        assert!(!get.contains_key("413") && !get.contains_key("412"));
        assert!(get["200"].get("headers").is_none(), "a Post has no etag");
        assert_eq!(
            get["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/examples.v1.Post"
        );
        let delete = of(&route("DELETE", "/v1/users/{user_id}"), &mut schemas);
        assert_eq!(
            delete["200"]["content"]["application/json"]["schema"]["type"],
            "object"
        );
    }

    #[test]
    fn every_error_response_is_described() {
        let all = components("Status");
        assert_eq!(all.len(), ERRORS.len());
        for (name, response) in &all {
            assert!(
                !response["description"].as_str().unwrap().is_empty(),
                "{name}"
            );
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Status"
            );
        }
        assert!(all["MethodNotAllowed"]["headers"]["Allow"].is_object());
        assert_eq!(
            status_schema()["properties"]["details"]["items"]["required"][0],
            "@type"
        );
    }
}
