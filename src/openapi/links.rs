//! A create's `links`: from its `201` to the created item's get and replace
//! operations, each path parameter of the item filled by a runtime
//! expression, so that tools (schemathesis' stateful runs, explorers) can
//! follow a create to the item it made.
//!
//! The item is the route table's item route of the create (its
//! [`ItemUri`](crate::compile::ItemUri), the same one `Location` is built
//! from). A parameter of the collection's part of the path comes from the
//! create request's path (`$request.path.user_id`); the item's own comes
//! from the reply (`$response.body#/accountId`, or a resource `name`). When
//! one cannot be written so (one segment of a resource name, as in the
//! expanded `/v1/blogs/{blog}/posts/{post}`), the link goes to another
//! binding of the same RPC that takes the whole name, if there is one
//! (`/v1/posts/{name=**}`); else that operation gets no link, and
//! `Location` still names the item.

use http::Method;
use serde_json::{json, Map, Value};

use super::path::{OpenApiPath, PathParam};
use super::schema::Schemas;
use crate::compile::{ItemUri, ItemValue, Route, RouteKind};

/// The `links` of `create`'s 201: one per get or replace route of its item,
/// keyed by the target's operation id. Empty when `create` is no create,
/// has no item, or no target's parameters can all be filled.
pub(super) fn of(
    create: &Route,
    rendered: &OpenApiPath,
    routes: &[Route],
    placed: &[Option<(OpenApiPath, String)>],
    schemas: &Schemas,
) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(item) = create
        .location
        .as_ref()
        .filter(|_| create.kind == RouteKind::Create)
    else {
        return out;
    };
    let collection_len = create.template.segments().len();
    for (route, place) in routes.iter().zip(placed) {
        let Some((target, id)) = place else {
            continue;
        };
        let wanted = route.method == Method::GET || route.method == Method::PUT;
        if !wanted || route.template.as_str() != item.template.as_str() {
            continue;
        }
        let parameters: Option<Map<String, Value>> = target
            .params
            .iter()
            .map(|param| {
                let value = expression(param, item, collection_len, rendered, schemas)?;
                Some((param.name.clone(), Value::String(value)))
            })
            .collect();
        match parameters {
            Some(parameters) => insert(&mut out, route, id, parameters),
            None => other_binding(create, route, routes, placed, schemas, &mut out),
        }
    }
    out
}

fn insert(out: &mut Map<String, Value>, route: &Route, id: &str, parameters: Map<String, Value>) {
    let verb = if route.method == Method::GET {
        "Gets"
    } else {
        "Replaces"
    };
    out.insert(
        id.to_owned(),
        json!({
            "operationId": id,
            "parameters": parameters,
            "description": format!("{verb} the created resource."),
        }),
    );
}

/// When the item route's parameters cannot all be filled, another binding
/// of the same RPC and method whose every parameter is a whole variable
/// naming a field of the reply (`GET /v1/posts/{name=**}` with the reply's
/// `name`): the same operation on the same item.
fn other_binding(
    create: &Route,
    item_route: &Route,
    routes: &[Route],
    placed: &[Option<(OpenApiPath, String)>],
    schemas: &Schemas,
    out: &mut Map<String, Value>,
) {
    let reply = create.rpc.output();
    for (route, place) in routes.iter().zip(placed) {
        let Some((target, id)) = place else {
            continue;
        };
        let same = route.rpc == item_route.rpc
            && route.method == item_route.method
            && route.template.as_str() != item_route.template.as_str();
        if !same {
            continue;
        }
        let parameters: Option<Map<String, Value>> = target
            .params
            .iter()
            .map(|param| {
                let bound = route.path_fields.get(param.variable?)?;
                if param.segment_of.is_some() {
                    return None;
                }
                let mut message = reply.clone();
                let mut pointer = Vec::new();
                for (k, part) in bound.path.parts().iter().enumerate() {
                    let field = message.get_field_by_name(part)?;
                    pointer.push(schemas.property_name(&field));
                    if k + 1 < bound.path.parts().len() {
                        match field.kind() {
                            prost_reflect::Kind::Message(inner) => message = inner,
                            _ => return None,
                        }
                    }
                }
                let value = format!("$response.body#/{}", pointer.join("/"));
                Some((param.name.clone(), Value::String(value)))
            })
            .collect();
        if let Some(parameters) = parameters {
            insert(out, route, id, parameters);
        }
    }
}

/// The runtime expression that fills `param` of the item's path.
fn expression(
    param: &PathParam,
    item: &ItemUri,
    collection_len: usize,
    create: &OpenApiPath,
    schemas: &Schemas,
) -> Option<String> {
    if param.segments.end <= collection_len {
        // The collection's part: the create request's parameter at the
        // same segments.
        let from = create
            .params
            .iter()
            .find(|p| p.segments == param.segments)?;
        return Some(format!("$request.path.{}", from.name));
    }
    if param.segment_of.is_some() {
        return None;
    }
    match item.values.get(param.variable?)? {
        ItemValue::PathVariable(i) => {
            let from = create
                .params
                .iter()
                .find(|p| p.variable == Some(*i) && p.segment_of.is_none())?;
            Some(format!("$request.path.{}", from.name))
        }
        ItemValue::Reply(field) => {
            let pointer: Vec<String> = field
                .fields
                .iter()
                .map(|f| schemas.property_name(f))
                .collect();
            Some(format!("$response.body#/{}", pointer.join("/")))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::compile::{Descriptors, RouteTable};
    use crate::openapi::{document, OpenApiOptions, PathParams};

    fn links(style: PathParams, path: &str) -> serde_json::Value {
        let table = RouteTable::compile(&Descriptors::bundled()).unwrap().table;
        let options = OpenApiOptions {
            path_params: style,
            ..OpenApiOptions::default()
        };
        let doc = document(&table, &options);
        doc["paths"][path]["post"]["responses"]["201"]["links"].clone()
    }

    #[test]
    fn creates_link_to_their_items() {
        let users = links(PathParams::Expanded, "/v1/users");
        assert_eq!(
            users["UserService_GetUser"]["parameters"],
            serde_json::json!({ "user_id": "$response.body#/userId" })
        );
        assert_eq!(
            users["UserService_ReplaceUser"]["operationId"],
            "UserService_ReplaceUser"
        );
        let accounts = links(PathParams::Expanded, "/v1/users/{user_id}/accounts");
        assert_eq!(
            accounts["AccountService_GetAccount"]["parameters"],
            serde_json::json!({
                "user_id": "$request.path.user_id",
                "account_id": "$response.body#/accountId",
            })
        );
        // One segment of a resource name has no runtime expression: the link
        // goes to the binding that takes the whole name.
        let posts = links(PathParams::Expanded, "/v1/blogs/{blog}/posts");
        assert_eq!(
            posts,
            serde_json::json!({ "BlogService_GetPost_1": {
                "operationId": "BlogService_GetPost_1",
                "parameters": { "name": "$response.body#/name" },
                "description": "Gets the created resource.",
            } })
        );
        let posts = links(PathParams::Template, "/v1/{parent}/posts");
        assert_eq!(
            posts["BlogService_GetPost"]["parameters"],
            serde_json::json!({ "name": "$response.body#/name" })
        );
    }
}
