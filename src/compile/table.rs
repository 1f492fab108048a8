//! [`RouteTable`]: every REST binding of the loaded services, checked.
//!
//! [`RouteTable::compile`] walks each service method, reads its
//! [`RestRule`]s, parses the templates, binds the fields, classifies the
//! operation, rejects what SPEC §2 forbids (create on an item, replace on a
//! collection, missing or wrong fields, conflicts, both annotations on one
//! method), derives each create's `Location` and settles what a
//! `(google.api.http)` binding's shape leaves open (`classify.rs`: a `post`
//! that names no item is a plain POST). It reports every finding of the run
//! at once, each at its annotation's `file:line:col`.
//!
//! A google.api.http method and template bound again is not a conflict but
//! a warning: the binding declared last is served, as grpc-gateway serves
//! it, and the others are kept apart as shadowed, listed but never matched.

use std::collections::HashMap;

use prost_reflect::{FieldDescriptor, FileDescriptor, Kind, MessageDescriptor, MethodDescriptor};
use serde::Serialize;

use super::binding::{self, Body, BoundField, PathFields, Role};
use super::classify::{self, CompileOptions, KindReason};
use super::diagnostic::{Diagnostic, Diagnostics, Position};
use super::error::{CompileError, RouteError};
use super::location::{self, ItemUri, LocationError};
use super::matcher::{Lookup, Matcher};
use super::rule::{RestRule, RouteKind, RuleSource};
use super::source::{self, Descriptors};
use super::template::{PathTemplate, TemplateShape};

/// One REST binding of one RPC, with every field it touches resolved.
#[derive(Debug, Clone)]
pub struct Route {
    /// The HTTP method.
    pub method: http::Method,
    /// The path template.
    pub template: PathTemplate,
    /// The operation.
    pub kind: RouteKind,
    /// The annotation it came from.
    pub source: RuleSource,
    /// The RPC it calls.
    pub rpc: MethodDescriptor,
    /// One per variable of `template`, in order: the request field it fills.
    pub path_fields: Vec<BoundField>,
    /// What the request body fills.
    pub body: Body,
    /// The reply field sent as the response body; `None` for the whole reply.
    pub response_body: Option<BoundField>,
    /// For create: how `Location` is built; `None` when it cannot be.
    pub location: Option<ItemUri>,
    /// Set when this binding is never served: a google.api.http binding of
    /// the same HTTP method and template declared after it wins, as in
    /// grpc-gateway. The winner's RPC, `package.Service/Method`. Such a
    /// route is in [`RouteTable::bindings`], never in [`RouteTable::routes`].
    pub shadowed_by: Option<String>,
    /// Its place among every binding declared, served or shadowed.
    declared: usize,
    /// For a `(google.api.http)` `post`, or `get` on a template ending in a
    /// literal: why it has its kind (see [`Route::why`]).
    pub reason: Option<KindReason>,
}

/// The message whose fields carry a raw HTTP body of any content type
/// (`content_type`, `data`) instead of JSON: SPEC §3.
pub const HTTP_BODY: &str = "google.api.HttpBody";

/// Whether `message` is [`HTTP_BODY`].
fn is_http_body(message: &MessageDescriptor) -> bool {
    message.full_name() == HTTP_BODY
}

/// Whether `field` holds one [`HTTP_BODY`] message.
fn holds_http_body(field: &FieldDescriptor) -> bool {
    !field.is_list()
        && !field.is_map()
        && matches!(field.kind(), Kind::Message(m) if is_http_body(&m))
}

impl Route {
    /// Whether the request body is raw, of any content type, because what
    /// it fills is a `google.api.HttpBody` (the whole request or the body
    /// field); otherwise it is JSON. A client-streaming method's body is
    /// NDJSON, whatever its messages are.
    pub fn raw_request(&self) -> bool {
        if self.rpc.is_client_streaming() {
            return false;
        }
        match &self.body {
            Body::None => false,
            Body::Whole => is_http_body(&self.rpc.input()),
            Body::Field(field) => holds_http_body(field.leaf()),
        }
    }

    /// Whether the answer body is raw, because what is answered (the whole
    /// reply or the `response_body` field) is a `google.api.HttpBody`. A
    /// server-streaming method answers NDJSON or SSE, whatever its messages
    /// are.
    pub fn raw_reply(&self) -> bool {
        if self.rpc.is_server_streaming() {
            return false;
        }
        match &self.response_body {
            None => is_http_body(&self.rpc.output()),
            Some(field) => holds_http_body(field.leaf()),
        }
    }

    /// Why this `(google.api.http)` binding has its kind, where its shape
    /// alone does not say, as `restgate check --verbose` prints it:
    /// `POST /v1/echo: no replace or get route on /v1/echo/* to name the
    /// created item, so a plain POST answering 200`.
    pub fn why(&self) -> Option<String> {
        let reason = self.reason.as_ref()?;
        Some(format!(
            "{} {}: {reason}, so {}",
            self.method,
            self.template,
            classify::outcome(&self.method, self.kind)
        ))
    }

    /// The RPC as `package.Service/Method`.
    pub fn rpc_name(&self) -> String {
        format!(
            "{}/{}",
            self.rpc.parent_service().full_name(),
            self.rpc.name()
        )
    }

    /// A one-object summary, as `restgate routes --format json` prints it.
    pub fn summary(&self) -> RouteSummary {
        RouteSummary {
            method: self.method.to_string(),
            path: self.template.as_str().to_owned(),
            rpc: self.rpc_name(),
            kind: self.kind,
            body: self.body.selector(),
            response_body: self.response_body.as_ref().map(|f| f.path.to_string()),
            path_fields: self
                .path_fields
                .iter()
                .map(|f| f.path.to_string())
                .collect(),
            request: self.rpc.input().full_name().to_owned(),
            response: self.rpc.output().full_name().to_owned(),
            location: self
                .location
                .as_ref()
                .map(|l| l.template.as_str().to_owned()),
            source: self.source,
            shadowed_by: self.shadowed_by.clone(),
        }
    }
}

/// The JSON form of a [`Route`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteSummary {
    /// `POST`, `PUT`, ...
    pub method: String,
    /// The template as written.
    pub path: String,
    /// `package.Service/Method`.
    pub rpc: String,
    /// create, replace, get, list, delete, update or custom.
    pub kind: RouteKind,
    /// The body selector (`*`, a field) or null.
    pub body: Option<String>,
    /// The response body field, or null for the whole reply.
    pub response_body: Option<String>,
    /// The request fields the path fills, in template order.
    pub path_fields: Vec<String>,
    /// The request message's full name.
    pub request: String,
    /// The reply message's full name.
    pub response: String,
    /// For create: the item template `Location` is built from.
    pub location: Option<String>,
    /// `restgate.rest` or `google.api.http`.
    pub source: RuleSource,
    /// For a binding never served (another google.api.http binding of the
    /// same method and template, declared later, wins): that binding's RPC.
    /// Null for every served route.
    pub shadowed_by: Option<String>,
}

/// Every route of the loaded services, in declaration order.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    /// The served routes; the matcher's indices point here.
    routes: Vec<Route>,
    /// The bindings another one of the same method and template shadows;
    /// listed, never served.
    shadowed: Vec<Route>,
    matcher: Matcher,
}

/// A compiled table and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The routes.
    pub table: RouteTable,
    /// Findings that do not stop serving (e.g. a create without `Location`).
    pub warnings: Diagnostics,
}

impl RouteTable {
    /// The routes, in declaration order (file, service, method, binding).
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Every binding the protos declare, in declaration order: the served
    /// [`RouteTable::routes`] and the shadowed ones (their
    /// [`Route::shadowed_by`] set), as `restgate routes` lists them.
    pub fn bindings(&self) -> Vec<&Route> {
        let mut all: Vec<&Route> = self.routes.iter().chain(&self.shadowed).collect();
        all.sort_by_key(|r| r.declared);
        all
    }

    /// Only the routes of the named services (full names), e.g. for a
    /// build step that exposes some services of a proto set over REST.
    pub fn retain_services(self, services: &[String]) -> RouteTable {
        let keep = |r: &Route| {
            services
                .iter()
                .any(|s| s == r.rpc.parent_service().full_name())
        };
        let routes: Vec<Route> = self.routes.into_iter().filter(keep).collect();
        let shadowed = self.shadowed.into_iter().filter(keep).collect();
        RouteTable::new(routes, shadowed)
    }

    /// The table of `routes` (served) and `shadowed`, with its matcher.
    fn new(routes: Vec<Route>, shadowed: Vec<Route>) -> RouteTable {
        let mut matcher = Matcher::default();
        for (i, route) in routes.iter().enumerate() {
            matcher.insert(&route.method, &route.template, i);
        }
        RouteTable {
            routes,
            shadowed,
            matcher,
        }
    }

    /// The route for `method` and `path` (still percent-encoded, no query),
    /// with its variables' values. Cost grows with the path, not the table.
    pub fn lookup(&self, method: &http::Method, path: &str) -> Lookup {
        self.matcher
            .lookup(method, path, |i| &self.routes[i].template)
    }

    /// Loads `input` and compiles it: the whole front half of every command.
    pub fn load(input: &source::Input) -> Result<Compiled, CompileError> {
        RouteTable::load_with(input, &CompileOptions::default())
    }

    /// [`RouteTable::load`] with `options`.
    pub fn load_with(
        input: &source::Input,
        options: &CompileOptions,
    ) -> Result<Compiled, CompileError> {
        let descriptors =
            Descriptors::load(input).map_err(|d| CompileError::Load(Diagnostics::new(d)))?;
        RouteTable::compile_with(&descriptors, options)
    }

    /// Compiles the REST bindings of every service in `descriptors` (the
    /// built-in files excepted), reporting every finding at once.
    pub fn compile(descriptors: &Descriptors) -> Result<Compiled, CompileError> {
        RouteTable::compile_with(descriptors, &CompileOptions::default())
    }

    /// [`RouteTable::compile`] with `options`.
    pub fn compile_with(
        descriptors: &Descriptors,
        options: &CompileOptions,
    ) -> Result<Compiled, CompileError> {
        let mut found = Vec::new();
        // Every binding declared, and where: shadowed ones are set apart
        // once all are known, since the last one declared wins.
        let mut routes: Vec<Route> = Vec::new();
        let mut places: Vec<Place> = Vec::new();
        let mut claimed: HashMap<(http::Method, TemplateShape), usize> = HashMap::new();

        for file in descriptors.pool().files() {
            if source::is_builtin(file.name()) {
                continue;
            }
            for service in file.services() {
                for rpc in service.methods() {
                    let at = Locator {
                        descriptors,
                        file: &file,
                        rpc: &rpc,
                    };
                    let rules = match RestRule::read(&rpc) {
                        Ok(rules) => rules,
                        Err(e) => {
                            found.push(at.error(None, "", RouteError::from(e)));
                            continue;
                        }
                    };
                    for (i, rule) in rules.iter().enumerate() {
                        let route = match build(&rpc, rule, routes.len(), options) {
                            Ok(route) => route,
                            Err(e) => {
                                found.push(at.error(Some(rule), needle(rule, &e), e));
                                continue;
                            }
                        };
                        let key = (route.method.clone(), route.template.shape());
                        let strict = |r: &Route| r.source == RuleSource::Rest;
                        let first = claimed.get(&key).copied();
                        if let Some(first) = first.filter(|&f| strict(&routes[f]) || strict(&route))
                        {
                            let e = RouteError::Conflict {
                                method: key.0,
                                shape: key.1.to_string(),
                                first: routes[first].rpc_name(),
                                second: route.rpc_name(),
                            };
                            found.push(at.error(Some(rule), &rule.template, e));
                            continue;
                        }
                        // google.api.http: the last binding declared wins.
                        claimed.insert(key, routes.len());
                        let nth = rules[..i]
                            .iter()
                            .filter(|r| r.source == rule.source && r.template == rule.template)
                            .count();
                        places.push(at.place(rule, nth));
                        routes.push(route);
                        at.derive_location(rule, &mut routes, &mut found);
                    }
                }
            }
        }
        let (mut routes, shadowed) = set_apart_shadowed(routes, &places, &claimed, &mut found);
        link_locations(descriptors, &mut routes, &mut found);

        let all = Diagnostics::new(found);
        if all.has_errors() {
            return Err(CompileError::Invalid(all));
        }
        Ok(Compiled {
            table: RouteTable::new(routes, shadowed),
            warnings: all,
        })
    }
}

/// Where a binding is declared, for findings that name another binding.
#[derive(Debug, Clone)]
struct Place {
    /// The file as the user knows it.
    file: String,
    position: Option<Position>,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some(Position { line, column }) => write!(f, "{}:{line}:{column}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// Splits the declared `routes` into served and shadowed: of the
/// google.api.http bindings claiming one method and template, the one
/// declared last is served (grpc-gateway's mux tries the handler registered
/// last first, and registers bindings in declaration order); each other one
/// gets a warning naming both places.
fn set_apart_shadowed(
    routes: Vec<Route>,
    places: &[Place],
    claimed: &HashMap<(http::Method, TemplateShape), usize>,
    found: &mut Vec<Diagnostic>,
) -> (Vec<Route>, Vec<Route>) {
    let winners: Vec<usize> = routes
        .iter()
        .map(|r| claimed[&(r.method.clone(), r.template.shape())])
        .collect();
    let names: Vec<String> = routes.iter().map(Route::rpc_name).collect();
    let (mut served, mut shadowed) = (Vec::new(), Vec::new());
    for (i, mut route) in routes.into_iter().enumerate() {
        let winner = winners[i];
        if winner == i {
            served.push(route);
            continue;
        }
        let e = RouteError::Shadowed {
            method: route.method.clone(),
            shape: route.template.shape().to_string(),
            winner: names[winner].clone(),
            at: places[winner].to_string(),
        };
        let message = format!("{}: {e}", route.rpc.full_name());
        let place = &places[i];
        found.push(Diagnostic::warning(
            place.file.clone(),
            place.position,
            message,
        ));
        route.shadowed_by = Some(names[winner].clone());
        shadowed.push(route);
    }
    (served, shadowed)
}

/// Which text of the rule a finding should point at.
fn needle<'r>(rule: &'r RestRule, error: &RouteError) -> &'r str {
    match error {
        RouteError::Binding(b) => match b.role() {
            Role::Body => &rule.body,
            Role::ResponseBody => &rule.response_body,
            Role::PathVariable => &rule.template,
        },
        RouteError::MissingBody { .. } | RouteError::Rule(_) => "",
        RouteError::UnexpectedBody { .. } => &rule.body,
        RouteError::BadItemTemplate { .. } => &rule.item,
        _ => &rule.template,
    }
}

/// Parses, classifies and binds one rule, the `declared`-th binding (0-based).
fn build(
    rpc: &MethodDescriptor,
    rule: &RestRule,
    declared: usize,
    options: &CompileOptions,
) -> Result<Route, RouteError> {
    let template =
        PathTemplate::parse(&rule.template).map_err(|source| RouteError::BadTemplate {
            template: rule.template.clone(),
            source,
        })?;
    let kind = rule.classify(&template);
    let strict = rule.source == RuleSource::Rest;
    if strict {
        match kind {
            RouteKind::Create if !template.ends_in_literal() => {
                let collection = rule
                    .template
                    .rsplit_once('/')
                    .map(|(c, _)| c)
                    .filter(|c| !c.is_empty())
                    .unwrap_or("/v1/items")
                    .to_owned();
                return Err(RouteError::CreateOnItem {
                    template: rule.template.clone(),
                    collection,
                });
            }
            RouteKind::Replace if !template.ends_in_variable() => {
                return Err(RouteError::ReplaceOnCollection {
                    template: rule.template.clone(),
                })
            }
            _ => {}
        }
    }
    let input = rpc.input();
    // A `(restgate.rest)` variable names a resource: one value. grpc-gateway
    // reads a repeated field's segment as comma-separated values.
    let fields = if strict {
        PathFields::Singular
    } else {
        PathFields::OrRepeated
    };
    let path_fields = template
        .variables()
        .iter()
        .map(|v| binding::path_variable(&input, &v.field_path, fields))
        .collect::<Result<Vec<_>, _>>()?;
    let needs_body = matches!(
        kind,
        RouteKind::Create | RouteKind::Replace | RouteKind::Update
    );
    let takes_no_body = matches!(kind, RouteKind::Get | RouteKind::List | RouteKind::Delete);
    if strict && needs_body && rule.body.is_empty() {
        return Err(RouteError::MissingBody { kind });
    }
    if strict && takes_no_body && !rule.body.is_empty() {
        return Err(RouteError::UnexpectedBody {
            kind,
            body: rule.body.clone(),
        });
    }
    let body = binding::selector(&input, &rule.body, Role::Body, strict && needs_body)?;
    let response_body = match binding::selector(
        &rpc.output(),
        &rule.response_body,
        Role::ResponseBody,
        false,
    )? {
        Body::Field(f) => Some(f),
        Body::None | Body::Whole => None,
    };
    let (kind, reason) =
        classify::settle(rule, &template, kind, rpc, response_body.as_ref(), options);
    Ok(Route {
        method: rule.method.clone(),
        template,
        kind,
        source: rule.source,
        rpc: rpc.clone(),
        path_fields,
        body,
        response_body,
        location: None,
        shadowed_by: None,
        declared,
        reason,
    })
}

/// Points findings about one RPC at its annotation.
struct Locator<'a> {
    descriptors: &'a Descriptors,
    file: &'a FileDescriptor,
    rpc: &'a MethodDescriptor,
}

impl Locator<'_> {
    fn position(
        &self,
        source: Option<RuleSource>,
        needle: &str,
        inside: Option<usize>,
    ) -> Option<Position> {
        let method_path = self.rpc.path();
        let needle = (!needle.is_empty()).then_some((needle, inside));
        let option_path = |ext: i32| [method_path, &[4, ext]].concat();
        let mut tries: Vec<Vec<i32>> = match source {
            Some(s) => vec![option_path(s.extension())],
            None => vec![
                option_path(RuleSource::Rest.extension()),
                option_path(RuleSource::Http.extension()),
            ],
        };
        tries.push([method_path, &[4]].concat());
        tries.push(method_path.to_vec());
        tries
            .iter()
            .find_map(|p| self.descriptors.position(self.file, p, needle))
    }

    /// Where `rule`, the `nth` of its RPC with that template text, is declared.
    fn place(&self, rule: &RestRule, nth: usize) -> Place {
        let method_path = self.rpc.path();
        let option = [method_path, &[4, rule.source.extension()]].concat();
        let position = self
            .descriptors
            .position_nth(self.file, &option, Some((&rule.template, None)), nth)
            .or_else(|| self.position(Some(rule.source), &rule.template, None));
        Place {
            file: self.descriptors.display_name(self.file),
            position,
        }
    }

    fn finding(
        &self,
        rule: Option<&RestRule>,
        needle: &str,
        e: RouteError,
        warn: bool,
    ) -> Diagnostic {
        let inside = match &e {
            RouteError::BadTemplate { source, .. } | RouteError::BadItemTemplate { source, .. } => {
                Some(source.offset)
            }
            _ => None,
        };
        let position = self.position(rule.map(|r| r.source), needle, inside);
        let file = self.descriptors.display_name(self.file);
        let message = format!("{}: {e}", self.rpc.full_name());
        if warn {
            Diagnostic::warning(file, position, message)
        } else {
            Diagnostic::error(file, position, message)
        }
    }

    fn error(&self, rule: Option<&RestRule>, needle: &str, e: RouteError) -> Diagnostic {
        self.finding(rule, needle, e, false)
    }

    /// For a create with an explicit `item`: builds its Location now.
    fn derive_location(&self, rule: &RestRule, routes: &mut [Route], found: &mut Vec<Diagnostic>) {
        let Some(route) = routes.last_mut() else {
            return;
        };
        if route.kind != RouteKind::Create || rule.item.is_empty() {
            return;
        }
        let item = match PathTemplate::parse(&rule.item) {
            Ok(item) => item,
            Err(source) => {
                let e = RouteError::BadItemTemplate {
                    template: rule.item.clone(),
                    source,
                };
                found.push(self.error(Some(rule), &rule.item, e));
                return;
            }
        };
        match location::item_uri(&route.template, &item, &route.rpc.output()) {
            Ok(uri) => route.location = Some(uri),
            Err(reason) => {
                let e = RouteError::NoLocation {
                    template: rule.template.clone(),
                    reason,
                };
                found.push(self.error(Some(rule), &rule.item, e));
            }
        }
    }
}

/// Derives `Location` for every create that has none yet from its item
/// route. A `(restgate.rest)` create left without one gets a warning; a
/// `(google.api.http)` `post` left without one creates nothing: a plain POST
/// answering 200.
fn link_locations(descriptors: &Descriptors, routes: &mut [Route], found: &mut Vec<Diagnostic>) {
    for i in 0..routes.len() {
        let create = &routes[i];
        if create.kind != RouteKind::Create || create.location.is_some() {
            continue;
        }
        let service = create.rpc.parent_service();
        let mut candidates: Vec<&Route> = routes
            .iter()
            .filter(|r| matches!(r.kind, RouteKind::Replace | RouteKind::Get))
            .filter(|r| location::is_item_of(&create.template, &r.template))
            .collect();
        // Prefer the same service, then replace over get.
        candidates.sort_by_key(|r| {
            (
                r.rpc.parent_service() != service,
                r.kind != RouteKind::Replace,
            )
        });
        let mut reason = LocationError::NoItemRoute {
            wanted: location::wanted_shape(&create.template),
        };
        let mut derived = None;
        for item in candidates {
            match location::item_uri(&create.template, &item.template, &create.rpc.output()) {
                Ok(uri) => {
                    derived = Some((uri, format!("{} {}", item.method, item.template)));
                    break;
                }
                Err(e) => reason = e,
            }
        }
        match derived {
            Some((uri, item)) => {
                let create = &mut routes[i];
                create.location = Some(uri);
                if create.source == RuleSource::Http {
                    create.reason = Some(KindReason::Creates { item });
                }
            }
            None if create.source == RuleSource::Rest => {
                let file = create.rpc.parent_file();
                let at = Locator {
                    descriptors,
                    file: &file,
                    rpc: &create.rpc,
                };
                let e = RouteError::NoLocation {
                    template: create.template.as_str().to_owned(),
                    reason,
                };
                let rule_source = create.source;
                let template = create.template.as_str().to_owned();
                let position = at.position(Some(rule_source), &template, None);
                let message = format!("{}: {e}", create.rpc.full_name());
                found.push(Diagnostic::warning(
                    descriptors.display_name(&file),
                    position,
                    message,
                ));
            }
            None => {
                let post = &mut routes[i];
                post.kind = RouteKind::Custom;
                post.reason = Some(KindReason::NoItem(reason));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_google_api_http_template_bound_again_serves_the_last_binding() {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/valid/shadowed.proto"
        );
        let input = source::Input::Protos {
            files: vec![file.into()],
            includes: Vec::new(),
        };
        let compiled = RouteTable::load(&input).unwrap();
        let warnings: Vec<String> = compiled.warnings.iter().map(|w| w.to_string()).collect();
        let shadowed = |at: &str, rpc: &str| {
            format!(
                "{file}:{at}: warning: fixtures.v1.Things.{rpc}: GET /v1/things/* is bound again \
                 by fixtures.v1.Things/FetchThing at {file}:13:34, which is served instead: of \
                 google.api.http bindings of one method and template the one declared last \
                 wins, as in grpc-gateway, so this one is never served"
            )
        };
        assert_eq!(
            warnings,
            [
                shadowed("7:39", "GetThing"),
                shadowed("11:12", "FetchThing")
            ]
        );
        let table = &compiled.table;
        let listed: Vec<(&str, Option<&str>)> = table
            .bindings()
            .iter()
            .map(|r| (r.template.as_str(), r.shadowed_by.as_deref()))
            .collect();
        let winner = Some("fixtures.v1.Things/FetchThing");
        assert_eq!(
            listed,
            [
                ("/v1/things/{thing_id}", winner),
                ("/v1/things/{thing_id=*}", winner),
                ("/v1/sizes/{sizes}", None),
                ("/v1/things/{thing_id}", None),
            ]
        );
        assert_eq!(table.routes().len(), 2);
        let Lookup::Found { route, .. } = table.lookup(&http::Method::GET, "/v1/things/t1") else {
            panic!("GET /v1/things/t1 is served");
        };
        assert_eq!(
            table.routes()[route].rpc_name(),
            "fixtures.v1.Things/FetchThing"
        );
        assert!(table.routes()[route].shadowed_by.is_none());
        // A repeated scalar is a google.api.http path variable.
        assert!(table.routes()[0].path_fields[0].leaf().is_list());
    }

    #[test]
    fn bundled_example_compiles_without_findings() {
        let compiled = RouteTable::compile(&Descriptors::bundled()).unwrap();
        assert!(compiled.warnings.is_empty(), "{}", compiled.warnings);
        let find = |method: &str, path: &str| {
            compiled
                .table
                .routes()
                .iter()
                .find(|r| r.method.as_str() == method && r.template.as_str() == path)
                .unwrap_or_else(|| panic!("{method} {path} missing"))
                .clone()
        };
        let create = find("POST", "/v1/users/{user_id}/accounts");
        assert_eq!(create.kind, RouteKind::Create);
        assert_eq!(
            create.rpc_name(),
            "examples.v1.AccountService/CreateAccount"
        );
        assert_eq!(
            create.location.unwrap().template.as_str(),
            "/v1/users/{user_id}/accounts/{account_id}"
        );
        let post = find("POST", "/v1/{parent=blogs/*}/posts");
        assert_eq!(post.kind, RouteKind::Create);
        assert_eq!(
            post.location.unwrap().template.as_str(),
            "/v1/{name=blogs/*/posts/*}"
        );
        assert_eq!(
            find("POST", "/v1/{name=blogs/*/posts/*}:publish").kind,
            RouteKind::Custom
        );
        assert_eq!(find("GET", "/v1/posts/{name=**}").kind, RouteKind::Get);
        assert_eq!(find("PATCH", "/v1/users/{user_id}").kind, RouteKind::Update);
    }
}
