//! Request path → route: a segment trie built from the templates' own
//! grammar, so `/v1/{name=shelves/*}` and `/v1/{name=shelves/*/books/*}` live
//! side by side, literals beat variables, and `:verb` selects its own route.
//!
//! Cost is bounded by the path's length (a literal map lookup, then `*`, then
//! `**`, per segment, with backtracking only across those three), never by
//! the number of routes.

use std::borrow::Cow;
use std::collections::HashMap;

use percent_encoding::percent_decode_str;

use super::template::{PathTemplate, Segment};

/// One node per template segment position.
#[derive(Debug, Default, Clone)]
struct Node {
    literals: HashMap<Box<str>, Node>,
    any: Option<Box<Node>>,
    /// Routes whose template ends with `**` here: they match any rest.
    rest: Vec<Endpoint>,
    /// Routes whose template ends exactly here.
    end: Vec<Endpoint>,
}

/// A route ending at a node: its verb, method and index in the table.
#[derive(Debug, Clone)]
struct Endpoint {
    verb: Option<Box<str>>,
    method: http::Method,
    route: usize,
}

/// The trie over every route's template.
#[derive(Debug, Default, Clone)]
pub(crate) struct Matcher {
    root: Node,
}

/// Which route of a [`RouteTable`](super::RouteTable): its place in
/// [`routes`](super::RouteTable::routes), which it indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId(usize);

impl RouteId {
    /// Its place in the table's routes.
    pub fn index(self) -> usize {
        self.0
    }
}

impl From<usize> for RouteId {
    fn from(index: usize) -> RouteId {
        RouteId(index)
    }
}

impl std::ops::Index<RouteId> for [super::Route] {
    type Output = super::Route;

    fn index(&self, id: RouteId) -> &super::Route {
        &self[id.0]
    }
}

/// The values a request path gave its route's template variables:
/// percent-decoded, one per variable, in the template's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures(Vec<String>);

impl std::ops::Deref for Captures {
    type Target = [String];

    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl FromIterator<String> for Captures {
    fn from_iter<I: IntoIterator<Item = String>>(values: I) -> Captures {
        Captures(values.into_iter().collect())
    }
}

/// What a path resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A route for this method and path, and its variables' values.
    Found {
        /// The route.
        route: RouteId,
        /// One value per variable of the route's template, in order.
        captures: Captures,
    },
    /// The path is known but not for this method: the methods it allows
    /// (`HEAD` wherever `GET` is, and `OPTIONS`).
    MethodNotAllowed(Vec<http::Method>),
    /// `OPTIONS` on a known path that has no `OPTIONS` route of its own: the
    /// methods it allows, as for [`Lookup::MethodNotAllowed`].
    Options(Vec<http::Method>),
    /// No route has this path.
    NotFound,
}

impl Matcher {
    /// Adds route `route` on `method` + `template`.
    pub(crate) fn insert(&mut self, method: &http::Method, template: &PathTemplate, route: usize) {
        let mut node = &mut self.root;
        let endpoint = Endpoint {
            verb: template.verb().map(Box::from),
            method: method.clone(),
            route,
        };
        for segment in template.segments() {
            match segment {
                Segment::Literal(text) => {
                    node = node.literals.entry(text.as_str().into()).or_default()
                }
                Segment::Any => node = node.any.get_or_insert_with(Box::default),
                Segment::Rest => {
                    node.rest.push(endpoint);
                    return;
                }
            }
        }
        node.end.push(endpoint);
    }

    /// Finds the route for `method` and `path` (the request's path, still
    /// percent-encoded, without the query). `HEAD` finds the `GET` route of
    /// a path that has no `HEAD` route; `OPTIONS` on a known path without an
    /// `OPTIONS` route is [`Lookup::Options`]. The methods a known path
    /// allows include `HEAD` where it has `GET`, and always `OPTIONS`.
    pub(crate) fn lookup<'t>(
        &self,
        method: &http::Method,
        path: &str,
        templates: impl Fn(usize) -> &'t PathTemplate,
    ) -> Lookup {
        let found = self.resolve(method, path, &templates);
        let Lookup::MethodNotAllowed(mut allowed) = found else {
            return found;
        };
        let get = allowed.contains(&http::Method::GET);
        if *method == http::Method::HEAD && get {
            return self.resolve(&http::Method::GET, path, &templates);
        }
        if get {
            allowed.push(http::Method::HEAD);
        }
        allowed.push(http::Method::OPTIONS);
        allowed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        allowed.dedup();
        if *method == http::Method::OPTIONS {
            Lookup::Options(allowed)
        } else {
            Lookup::MethodNotAllowed(allowed)
        }
    }

    /// [`Matcher::lookup`] for exactly `method`.
    fn resolve<'t>(
        &self,
        method: &http::Method,
        path: &str,
        templates: impl Fn(usize) -> &'t PathTemplate,
    ) -> Lookup {
        let Some(rest) = path.strip_prefix('/') else {
            return Lookup::NotFound;
        };
        let mut segments: Vec<&str> = rest.split('/').collect();
        let mut allowed = Vec::new();
        // With a verb: `/v1/things/1:move` is segments [v1, things, 1] + verb `move`.
        if let Some(last) = segments.last().copied() {
            if let Some((head, verb)) = last.rsplit_once(':') {
                if !verb.is_empty() {
                    let n = segments.len();
                    segments[n - 1] = head;
                    if let Some(found) = self.find(method, &segments, Some(verb), &mut allowed) {
                        return captures(found, &segments, templates(found));
                    }
                    segments[n - 1] = last;
                }
            }
        }
        if let Some(found) = self.find(method, &segments, None, &mut allowed) {
            return captures(found, &segments, templates(found));
        }
        if allowed.is_empty() {
            Lookup::NotFound
        } else {
            allowed.sort_by(|a: &http::Method, b| a.as_str().cmp(b.as_str()));
            allowed.dedup();
            Lookup::MethodNotAllowed(allowed)
        }
    }

    /// Depth-first: literal, then `*`, then `**`. Collects the methods of
    /// every path match into `allowed` for a 405.
    fn find(
        &self,
        method: &http::Method,
        segments: &[&str],
        verb: Option<&str>,
        allowed: &mut Vec<http::Method>,
    ) -> Option<usize> {
        fn walk(
            node: &Node,
            method: &http::Method,
            segments: &[&str],
            verb: Option<&str>,
            allowed: &mut Vec<http::Method>,
        ) -> Option<usize> {
            // The other methods are only of use when nothing matches, so
            // a hit returns before collecting them (a `Vec` grown per
            // request otherwise).
            let pick = |endpoints: &[Endpoint], allowed: &mut Vec<http::Method>| {
                let here = endpoints.iter().filter(|e| e.verb.as_deref() == verb);
                if let Some(hit) = here.clone().find(|e| e.method == *method) {
                    return Some(hit.route);
                }
                allowed.extend(here.map(|e| e.method.clone()));
                None
            };
            let Some((first, rest)) = segments.split_first() else {
                return pick(&node.end, allowed).or_else(|| pick(&node.rest, allowed));
            };
            if let Some(child) = node.literals.get(decode(first).as_ref()) {
                if let Some(hit) = walk(child, method, rest, verb, allowed) {
                    return Some(hit);
                }
            }
            if !first.is_empty() {
                if let Some(child) = &node.any {
                    if let Some(hit) = walk(child, method, rest, verb, allowed) {
                        return Some(hit);
                    }
                }
            }
            pick(&node.rest, allowed)
        }
        walk(&self.root, method, segments, verb, allowed)
    }
}

/// Percent-decodes a segment, borrowing when there is nothing to decode.
fn decode(segment: &str) -> Cow<'_, str> {
    if segment.contains('%') {
        percent_decode_str(segment).decode_utf8_lossy()
    } else {
        Cow::Borrowed(segment)
    }
}

/// Cuts the variables' values out of the matched segments. A single-segment
/// variable is fully decoded (`%2F` becomes data, `/`); a multi-segment one is
/// decoded segment by segment and joined with `/`, keeping an encoded `/`
/// inside a segment as `%2F` so the boundaries stay visible.
fn captures(route: usize, segments: &[&str], template: &PathTemplate) -> Lookup {
    let values = template
        .variables()
        .iter()
        .map(|var| {
            let end = if template.segments()[var.segments.end - 1] == Segment::Rest {
                segments.len()
            } else {
                var.segments.end
            };
            let parts = segments.get(var.segments.start..end).unwrap_or_default();
            if let [one] = parts {
                if var.segments.len() == 1 {
                    return decode(one).into_owned();
                }
            }
            parts
                .iter()
                .map(|p| decode(p).replace('/', "%2F"))
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    Lookup::Found {
        route: RouteId(route),
        captures: values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn table(routes: &[(&str, &str)]) -> (Matcher, Vec<PathTemplate>) {
        let mut m = Matcher::default();
        let templates: Vec<PathTemplate> = routes
            .iter()
            .map(|(_, t)| PathTemplate::parse(t).unwrap())
            .collect();
        for (i, ((method, _), t)) in routes.iter().zip(&templates).enumerate() {
            m.insert(&Method::from_bytes(method.as_bytes()).unwrap(), t, i);
        }
        (m, templates)
    }

    fn look(m: &(Matcher, Vec<PathTemplate>), method: &str, path: &str) -> Lookup {
        let templates = &m.1;
        m.0.lookup(&Method::from_bytes(method.as_bytes()).unwrap(), path, |i| {
            &templates[i]
        })
    }

    fn found(route: usize, captures: &[&str]) -> Lookup {
        Lookup::Found {
            route: RouteId(route),
            captures: captures.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn resource_names_of_different_depths_live_side_by_side() {
        let m = table(&[
            ("GET", "/v1/{name=shelves/*}"),
            ("GET", "/v1/{name=shelves/*/books/*}"),
            ("POST", "/v1/{name=shelves/*/books/*}:move"),
            ("GET", "/v1/shelves/special"),
            ("GET", "/v1/files/{path=**}"),
        ]);
        assert_eq!(look(&m, "GET", "/v1/shelves/1"), found(0, &["shelves/1"]));
        assert_eq!(
            look(&m, "GET", "/v1/shelves/1/books/2"),
            found(1, &["shelves/1/books/2"])
        );
        assert_eq!(
            look(&m, "POST", "/v1/shelves/1/books/2:move"),
            found(2, &["shelves/1/books/2"])
        );
        assert_eq!(look(&m, "GET", "/v1/shelves/special"), found(3, &[]));
        assert_eq!(look(&m, "GET", "/v1/files/a/b/c"), found(4, &["a/b/c"]));
        assert_eq!(look(&m, "GET", "/v1/files"), found(4, &[""]));
    }

    #[test]
    fn literals_beat_variables_but_methods_fall_through() {
        let m = table(&[("GET", "/v1/users/me"), ("PUT", "/v1/users/{id}")]);
        assert_eq!(look(&m, "GET", "/v1/users/me"), found(0, &[]));
        assert_eq!(look(&m, "PUT", "/v1/users/me"), found(1, &["me"]));
        assert_eq!(
            look(&m, "DELETE", "/v1/users/me"),
            Lookup::MethodNotAllowed(vec![
                Method::GET,
                Method::HEAD,
                Method::OPTIONS,
                Method::PUT
            ])
        );
        assert_eq!(
            look(&m, "GET", "/v1/users/x"),
            Lookup::MethodNotAllowed(vec![Method::OPTIONS, Method::PUT])
        );
        assert_eq!(look(&m, "GET", "/v1/nope"), Lookup::NotFound);
        assert_eq!(look(&m, "GET", "/v1/users/a/b"), Lookup::NotFound);
        assert_eq!(look(&m, "GET", "v1/users/me"), Lookup::NotFound);
    }

    #[test]
    fn head_finds_get_and_options_lists_the_methods() {
        let m = table(&[("GET", "/v1/users/{id}"), ("PUT", "/v1/users/{id}")]);
        assert_eq!(look(&m, "HEAD", "/v1/users/1"), found(0, &["1"]));
        assert_eq!(
            look(&m, "OPTIONS", "/v1/users/1"),
            Lookup::Options(vec![
                Method::GET,
                Method::HEAD,
                Method::OPTIONS,
                Method::PUT
            ])
        );
        assert_eq!(look(&m, "OPTIONS", "/v1/nope"), Lookup::NotFound);
        let puts = table(&[("PUT", "/v1/users/{id}")]);
        assert_eq!(
            look(&puts, "HEAD", "/v1/users/1"),
            Lookup::MethodNotAllowed(vec![Method::OPTIONS, Method::PUT])
        );
    }

    #[test]
    fn single_segment_variables_decode_and_never_span_slashes() {
        let m = table(&[("GET", "/v1/echo/{id}")]);
        assert_eq!(look(&m, "GET", "/v1/echo/a%2Fb"), found(0, &["a/b"]));
        assert_eq!(
            look(&m, "GET", "/v1/echo/caf%C3%A9%20x"),
            found(0, &["café x"])
        );
        assert_eq!(look(&m, "GET", "/v1/echo/a/b"), Lookup::NotFound);
        assert_eq!(look(&m, "GET", "/v1/echo/"), Lookup::NotFound);
        let m = table(&[("GET", "/v1/{name=shelves/*}")]);
        assert_eq!(
            look(&m, "GET", "/v1/shelves/a%2Fb"),
            found(0, &["shelves/a%2Fb"])
        );
    }

    #[test]
    fn verbs_select_their_own_route() {
        let m = table(&[
            ("POST", "/v1/things/{id}"),
            ("POST", "/v1/things/{id}:move"),
            ("GET", "/v1/things:count"),
        ]);
        assert_eq!(look(&m, "POST", "/v1/things/1:move"), found(1, &["1"]));
        assert_eq!(look(&m, "POST", "/v1/things/1"), found(0, &["1"]));
        assert_eq!(look(&m, "GET", "/v1/things:count"), found(2, &[]));
        // An unknown verb is part of the segment: `1:jump` is the id.
        assert_eq!(look(&m, "POST", "/v1/things/1:jump"), found(0, &["1:jump"]));
    }

    #[test]
    fn cost_does_not_depend_on_route_count() {
        let routes: Vec<(String, String)> = (0..2000)
            .map(|i| ("GET".to_owned(), format!("/v1/r{i}/{{id}}/items/{{item}}")))
            .collect();
        let refs: Vec<(&str, &str)> = routes
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let m = table(&refs);
        assert_eq!(
            look(&m, "GET", "/v1/r1999/7/items/8"),
            found(1999, &["7", "8"])
        );
    }
}
