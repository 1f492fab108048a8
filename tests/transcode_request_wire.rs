//! The request written as wire bytes by the compiled transcoder
//! (`restgate::transcode::RequestPlan`) against the request built as a
//! message (`restgate::transcode::build_request` with `If-Match` applied),
//! on every route of the bundled descriptors and of `tests/fixtures/valid`
//! that has a plan: random bodies of the body's message (sometimes empty,
//! sometimes broken or carrying an unknown field), random path values
//! (sometimes the body names another item than the URI), random query
//! parameters (fields, unknown names, fields the body fills) and
//! sometimes an `If-Match` tag.
//!
//! Both must accept and refuse the same requests (the same kind of error),
//! and what both accept must decode to the same message.

// Shared with tests/transcode_plan.rs, which uses all of it.
#[allow(dead_code)]
#[path = "transcode_plan/generate.rs"]
mod generate;

use std::path::Path;

use base64::Engine as _;
use prost::Message as _;
use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, Syntax, Value};
use restgate::compile::{Body, Descriptors, Input, Route, RouteTable};
use restgate::transcode::{
    build_request, json, precondition, JsonOptions, PlanCache, RequestParts, RequestPlan,
};

use generate::Rng;

pub(crate) fn proto3(message: &MessageDescriptor) -> bool {
    message.parent_file().syntax() == Syntax::Proto3
}

/// Every route of the bundled descriptors and of the valid fixtures.
fn routes() -> Vec<Route> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut routes = RouteTable::compile(&Descriptors::bundled())
        .expect("the bundled descriptors compile")
        .table
        .routes()
        .to_vec();
    let fixtures = root.join("tests/fixtures/valid");
    for entry in std::fs::read_dir(&fixtures).expect("tests/fixtures/valid") {
        let file = entry.expect("entry").path();
        if file.extension().is_none_or(|e| e != "proto") {
            continue;
        }
        let input = Input::Protos {
            files: vec![file.clone()],
            includes: vec![fixtures.clone(), root.join("proto")],
        };
        let compiled =
            RouteTable::load(&input).unwrap_or_else(|e| panic!("{} compiles: {e}", file.display()));
        routes.extend(compiled.table.routes().iter().cloned());
    }
    routes
}

/// A path or query value's text for a scalar `value`.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(n) => n.to_string(),
        Value::F64(n) => n.to_string(),
        Value::EnumNumber(n) => n.to_string(),
        Value::Bytes(b) => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b),
        Value::Message(_) | Value::List(_) | Value::Map(_) => String::new(),
    }
}

/// A random path value for a field of `kind`: a value of its type, or now
/// and then text that is none.
fn path_text(kind: &Kind, rng: &mut Rng) -> String {
    if rng.chance(5) {
        return "not-a-value".to_owned();
    }
    let text = text(&generate::value(kind, rng, 3));
    // A path value is one decoded segment: no empty ones.
    if text.is_empty() {
        "x".to_owned()
    } else {
        text
    }
}

/// The message the body fills, if the route takes a JSON message body.
fn body_message(route: &Route) -> Option<MessageDescriptor> {
    match &route.body {
        Body::None => None,
        Body::Whole => Some(route.rpc.input()),
        Body::Field(field) => match field.leaf().kind() {
            Kind::Message(m) => Some(m),
            _ => None,
        },
    }
}

/// A random body for `route`, written with `options`.
fn body(route: &Route, rng: &mut Rng, options: &JsonOptions) -> Vec<u8> {
    let Some(desc) = body_message(route) else {
        return Vec::new();
    };
    match rng.below(10) {
        0 => Vec::new(),
        1 => b"{\"no_such_field\": 1}".to_vec(),
        2 => b"{\"".to_vec(),
        _ => {
            let mut message = generate::message(&desc, rng, 0);
            // Now and then the body names the item the URI names.
            if rng.chance(50) {
                for var in &route.path_fields {
                    let leaf = var.leaf();
                    if let Some(field) = desc.get_field_by_name(leaf.name()) {
                        if field.kind() == leaf.kind() && !field.is_list() {
                            message.clear_field(&field);
                        }
                    }
                }
            }
            json::to_vec(&message, options).expect("a generated message writes as JSON")
        }
    }
}

/// A random query string: scalar fields of the request (some of them
/// filled by the path or body: a clash), an unknown name, a system
/// parameter.
fn query(route: &Route, rng: &mut Rng) -> Option<String> {
    let input = route.rpc.input();
    let scalars: Vec<_> = input
        .fields()
        .filter(|f| !matches!(f.kind(), Kind::Message(_)) && !f.is_map())
        .collect();
    let mut params = Vec::new();
    for _ in 0..rng.below(3) {
        match rng.below(6) {
            0 => params.push("no_such_param=1".to_owned()),
            1 => params.push("$alt=json".to_owned()),
            _ if !scalars.is_empty() => {
                let field = rng.pick(&scalars);
                let value = text(&generate::value(&field.kind(), rng, 3));
                let value: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
                params.push(format!("{}={value}", field.name()));
            }
            _ => {}
        }
    }
    (!params.is_empty()).then(|| params.join("&"))
}

#[test]
fn the_wire_request_is_the_built_request() {
    let routes = routes();
    let plans = PlanCache::new();
    let mut rng = Rng::new(0x005e_ed0f_2e9e);
    let mut compared = 0;
    let mut accepted = 0;
    for route in &routes {
        let Some(plan) = RequestPlan::for_route(route, &plans) else {
            continue;
        };
        for _ in 0..60 {
            let options = JsonOptions {
                deny_unknown_fields: rng.chance(70),
                emit_unpopulated: rng.chance(20),
                proto_field_names: rng.chance(30),
                enum_numbers: rng.chance(30),
            };
            let captures: Vec<String> = route
                .path_fields
                .iter()
                .map(|var| path_text(&var.leaf().kind(), &mut rng))
                .collect();
            let body = body(route, &mut rng, &options);
            let query = query(route, &mut rng);
            let if_match = rng.chance(20).then_some("w3");
            let parts = RequestParts {
                captures: &captures,
                query: query.as_deref(),
                body: &body,
                content_type: Some("application/json"),
            };
            let built = build_request(route, parts, &options).map(|mut message| {
                if let Some(tag) = if_match {
                    precondition::apply_if_match(route, &mut message, tag);
                }
                message
            });
            let wire = plan.build(route, parts, if_match, &options);
            let case = || {
                format!(
                    "{} {} captures {captures:?} query {query:?} if-match {if_match:?} body {}",
                    route.method,
                    route.template.as_str(),
                    String::from_utf8_lossy(&body)
                )
            };
            compared += 1;
            match (&built, &wire) {
                (Ok(message), Ok(wire)) => {
                    accepted += 1;
                    let decoded = DynamicMessage::decode(route.rpc.input(), wire.as_ref())
                        .unwrap_or_else(|e| panic!("the wire request decodes ({e}): {}", case()));
                    let expected = DynamicMessage::decode(
                        route.rpc.input(),
                        message.encode_to_vec().as_slice(),
                    )
                    .expect("an encoding decodes");
                    assert!(
                        decoded == expected
                            || decoded.encode_to_vec() == expected.encode_to_vec()
                            || json::to_vec(&decoded, &JsonOptions::default()).ok()
                                == json::to_vec(&expected, &JsonOptions::default()).ok(),
                        "different messages: {}\nbuilt {expected:?}\nwire  {decoded:?}",
                        case()
                    );
                }
                (Err(a), Err(b)) => assert_eq!(
                    std::mem::discriminant(a),
                    std::mem::discriminant(b),
                    "different refusals ({a} / {b}): {}",
                    case()
                ),
                _ => panic!(
                    "one accepts, one refuses: built {:?}, wire {:?}: {}",
                    built.as_ref().err(),
                    wire.as_ref().err(),
                    case()
                ),
            }
        }
    }
    eprintln!("{accepted} of {compared} requests accepted by both");
    assert!(compared > 1000, "only {compared} requests compared");
    assert!(
        accepted * 4 > compared,
        "only {accepted} of {compared} requests accepted: the cases test refusals only"
    );
}

#[test]
fn patch_raw_and_streaming_routes_are_built_as_messages() {
    let plans = PlanCache::new();
    let routes = routes();
    let planned = |pick: &dyn Fn(&Route) -> bool| {
        let matching: Vec<&Route> = routes.iter().filter(|r| pick(r)).collect();
        assert!(!matching.is_empty(), "the descriptors have such routes");
        matching
            .iter()
            .filter(|r| RequestPlan::for_route(r, &plans).is_some())
            .count()
    };
    assert_eq!(planned(&|r| r.method == http::Method::PATCH), 0);
    assert_eq!(planned(&|r| r.raw_request()), 0);
    assert_eq!(planned(&|r| r.rpc.is_server_streaming()), 0);
    assert!(planned(&|r| r.method == http::Method::POST) > 0);
    assert!(planned(&|r| r.method == http::Method::PUT) > 0);
    assert!(planned(&|r| r.method == http::Method::GET) > 0);
}
