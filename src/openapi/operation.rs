//! One [`Route`] → one OpenAPI operation: its id, tag, summary and
//! description (from the RPC's proto comment), parameters, request body and
//! responses; for a streaming method, its NDJSON and SSE media types.

use prost_reflect::Kind;
use serde_json::{json, Value};

use super::path::OpenApiPath;
use super::schema::{describe, Form, Schemas};
use super::{comments, parameters, responses};
use crate::compile::{Body, FieldBehavior, Route};

/// What the document decided about the operation before building it.
#[derive(Debug)]
pub(super) struct Placement<'a> {
    /// The rendered path the operation sits under.
    pub(super) path: &'a OpenApiPath,
    /// Unique across the document.
    pub(super) operation_id: String,
    /// The tag of the route's service.
    pub(super) tag: &'a str,
}

/// The operation object for `route`.
pub(super) fn build(route: &Route, at: &Placement<'_>, schemas: &mut Schemas) -> Value {
    let mut operation = json!({
        "operationId": at.operation_id,
        "tags": [at.tag],
    });
    if let Some(comment) = comments::of(&route.rpc.parent_file(), route.rpc.path()) {
        operation["summary"] = Value::String(comments::summary(&comment));
        operation["description"] = Value::String(comment);
    }
    let mut params = parameters::path(route, at.path, schemas);
    params.extend(parameters::query(route, schemas));
    params.extend(parameters::headers(route));
    if !params.is_empty() {
        operation["parameters"] = Value::Array(params);
    }
    if let Some(body) = request_body(route, schemas) {
        operation["requestBody"] = body;
    }
    operation["responses"] = Value::Object(responses::of(route, schemas));
    streaming(route, &mut operation);
    operation["x-restgate-rpc"] = Value::String(route.rpc_name());
    operation["x-restgate-kind"] = Value::String(route.kind.as_str().to_owned());
    operation
}

/// The request body: the `body` field's value, or the whole request for `*`;
/// raw bytes of any media type when that is a `google.api.HttpBody`.
fn request_body(route: &Route, schemas: &mut Schemas) -> Option<Value> {
    if route.raw_request() {
        return Some(json!({
            "description": "The raw body, of any media type; its `Content-Type` is passed on with it.",
            "required": body_required(route),
            "content": { "*/*": { "schema": super::responses::raw_schema() } },
        }));
    }
    let input = route.rpc.input();
    let (schema, description) = match &route.body {
        Body::None => return None,
        Body::Whole => (
            schemas.message(&input),
            format!("The whole request, `{}`.", input.full_name()),
        ),
        Body::Field(field) => {
            let leaf = field.leaf();
            let text = match leaf.kind() {
                Kind::Message(m) if !leaf.is_list() && !leaf.is_map() => {
                    format!("The request field `{}` (`{}`).", field.path, m.full_name())
                }
                _ => format!("The request field `{}`.", field.path),
            };
            let mut schema = schemas.field(leaf, Form::Json);
            if let Some(comment) = comments::of(&leaf.parent_file(), leaf.path()) {
                describe(&mut schema, &comment);
            }
            (schema, text)
        }
    };
    Some(json!({
        "description": description,
        "required": body_required(route),
        "content": { "application/json": { "schema": schema } },
    }))
}

/// Whether the request needs a body: the gateway takes an empty one as an
/// empty message, so only when what the body fills is `REQUIRED`
/// (`google.api.field_behavior`) — the `body` field, or with `*` a field
/// the path does not fill. Never for client streaming, whose empty body
/// is a stream of no messages.
fn body_required(route: &Route) -> bool {
    if route.rpc.is_client_streaming() {
        return false;
    }
    match &route.body {
        Body::None => false,
        Body::Field(field) => FieldBehavior::of(field.leaf()).required,
        Body::Whole => route.rpc.input().fields().any(|f| {
            let by_path = route.path_fields.iter().any(|p| p.fields[0] == f);
            !by_path && FieldBehavior::of(&f).required
        }),
    }
}

/// A streaming method's media types: an NDJSON request body (one message
/// per line) for client streaming; NDJSON or Server-Sent Events replies for
/// server streaming, one message per line or event.
fn streaming(route: &Route, operation: &mut Value) {
    // `get_mut`, not indexing, which would add a null `requestBody` to a
    // route without a body.
    if let Some(body) = operation
        .get_mut("requestBody")
        .filter(|_| route.rpc.is_client_streaming())
    {
        if let Some(content) = body.get_mut("content").and_then(Value::as_object_mut) {
            if let Some(item) = content.remove("application/json") {
                content.insert("application/x-ndjson".to_owned(), item);
                let text = body["description"].as_str().unwrap_or_default().to_owned();
                body["description"] = Value::String(format!(
                    "{text} A stream: one message per line (NDJSON), each sent to the service as \
                     soon as its line is complete."
                ));
            }
        }
    }
    if !route.rpc.is_server_streaming() {
        return;
    }
    let Some(responses) = operation["responses"].as_object_mut() else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        if !status.starts_with('2') {
            continue;
        }
        let Some(item) = response
            .get_mut("content")
            .and_then(Value::as_object_mut)
            .and_then(|c| c.remove("application/json"))
        else {
            continue;
        };
        response["content"] = json!({
            "application/x-ndjson": item,
            "text/event-stream": { "schema": { "type": "string" } },
        });
        let text = response["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        response["description"] = Value::String(format!(
            "{text} A stream, written as the service sends it: one message per line \
             (NDJSON), or with `Accept: text/event-stream` one `data:` event per message. A \
             failure after the first message ends the stream with a line \
             `{{\"error\": {{\"code\", \"message\", \"details\"}}}}` (SSE: `event: error`)."
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::path::{render, PathParams};

    fn operation(method: &str, template: &str) -> Value {
        let route = &crate::compile::bundled_route(method, template);
        let path = render(&route.template, 0, PathParams::Template);
        let at = Placement {
            path: &path,
            operation_id: "Id".to_owned(),
            tag: "Tag",
        };
        build(route, &at, &mut Schemas::new(false))
    }

    #[test]
    fn summary_and_description_from_the_proto_comment() {
        let create = operation("POST", "/v1/users");
        assert_eq!(create["summary"], "Creates a user.");
        assert_eq!(
            create["description"],
            "Creates a user. The service assigns `user_id`."
        );
        assert_eq!(create["tags"], json!(["Tag"]));
        assert_eq!(create["x-restgate-kind"], "create");
        let body = &create["requestBody"];
        assert_eq!(body["required"], true);
        let schema = &body["content"]["application/json"]["schema"];
        assert_eq!(schema["$ref"], "#/components/schemas/examples.v1.User");
        assert!(schema["description"]
            .as_str()
            .unwrap()
            .contains("The user to create."));
    }

    #[test]
    fn body_star_is_the_whole_request_and_no_query() {
        let publish = operation("POST", "/v1/{name=blogs/*/posts/*}:publish");
        // Nothing in PublishPostRequest but the path's `name` is REQUIRED.
        assert_eq!(publish["requestBody"]["required"], false);
        let avatar = operation("PUT", "/v1/users/{user_id}/avatar");
        assert_eq!(avatar["requestBody"]["required"], true);
        let schema = &publish["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(
            schema["$ref"],
            "#/components/schemas/examples.v1.PublishPostRequest"
        );
        let ins: Vec<&str> = publish["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["in"].as_str().unwrap())
            .collect();
        assert_eq!(ins, ["path", "header"]);
        assert!(operation("GET", "/v1/users").get("requestBody").is_none());
    }

    #[test]
    fn streaming_methods_have_ndjson_and_sse_media_types() {
        let stream = operation("GET", "/v1/users:stream");
        let content = &stream["responses"]["200"]["content"];
        assert_eq!(
            content["application/x-ndjson"]["schema"]["$ref"],
            "#/components/schemas/examples.v1.User"
        );
        assert_eq!(content["text/event-stream"]["schema"]["type"], "string");
        assert!(content.get("application/json").is_none());

        let import = operation("POST", "/v1/users:import");
        let body = &import["requestBody"]["content"];
        assert!(body.get("application/json").is_none());
        assert_eq!(
            body["application/x-ndjson"]["schema"]["$ref"],
            "#/components/schemas/examples.v1.User"
        );
        let reply = &import["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(
            reply["$ref"],
            "#/components/schemas/examples.v1.ImportUsersResponse"
        );
        assert!(import["parameters"]
            .as_array()
            .is_none_or(|p| p.iter().all(|p| p["name"] != "Idempotency-Key")));

        // An empty stream is a stream: the body may be left out.
        assert_eq!(import["requestBody"]["required"], false);
        let lookup = operation("POST", "/v1/users:lookup");
        assert_eq!(lookup["requestBody"]["required"], false);
        assert!(lookup["requestBody"]["content"]["application/x-ndjson"].is_object());
        assert!(lookup["responses"]["200"]["content"]["text/event-stream"].is_object());
    }
}
