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
//!
//! The steps live beside it: `assemble.rs` (one rule → one [`Route`]),
//! `locate.rs` (where findings point), `shadowing.rs` and `item_link.rs`
//! (the passes once every binding is known).

use std::collections::HashMap;

use super::assemble::build;
use super::classify::CompileOptions;
use super::diagnostic::Diagnostics;
use super::error::{CompileError, RouteError};
use super::item_link::link_locations;
use super::locate::{needle, Locator, Place};
use super::matcher::{Lookup, Matcher};
use super::route::Route;
use super::rule::{RestRule, RuleSource};
use super::shadowing::set_apart_shadowed;
use super::source::{self, Descriptors};
use super::template::TemplateShape;

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

    /// The served route `method template` (`"POST"`, `"/v1/users"`), as
    /// `restgate routes` names it.
    pub fn route_at(&self, method: &str, template: &str) -> Option<&Route> {
        self.routes
            .iter()
            .find(|r| r.method.as_str() == method && r.template.as_str() == template)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::RouteKind;

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
        let find = crate::compile::bundled_route;
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
