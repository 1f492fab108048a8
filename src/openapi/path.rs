//! [`PathTemplate`] → OpenAPI path: `/v1/{name=blogs/*/posts/*}:publish`
//! becomes `/v1/{name}:publish`, one path parameter per variable.
//!
//! An OpenAPI path parameter is one segment and cannot hold `/`, while a
//! template variable may span several (`{name=blogs/*/posts/*}`, `{path=**}`).
//! Such a variable still becomes one parameter, named after its field path
//! as grpc-gateway's OpenAPI generator names it; its schema's `pattern` says
//! what the value expands to and its description that the `/`s are sent as
//! they are. A `*` or `**` outside any variable becomes a parameter too
//! (`wildcard1`, ...), since OpenAPI has no anonymous segments.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::compile::{PathTemplate, Segment};

/// Kept as they are in a literal: what the template grammar allows unescaped.
const LITERAL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'@');

/// A template rendered for OpenAPI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OpenApiPath {
    /// The `paths` key, e.g. `/v1/users/{user_id}`.
    pub(super) path: String,
    /// One per `{...}` of `path`, in order.
    pub(super) params: Vec<PathParam>,
}

/// One path parameter of an [`OpenApiPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PathParam {
    /// The name between the braces.
    pub(super) name: String,
    /// The template variable (and `Route::path_fields` entry) it stands for;
    /// `None` for a `*` or `**` outside any variable.
    pub(super) variable: Option<usize>,
    /// What the value spans, as in the template (`blogs/*/posts/*`), when it
    /// is more than one plain segment.
    pub(super) expansion: Option<String>,
    /// The regular expression the value matches, with `expansion`.
    pub(super) pattern: Option<String>,
}

/// Renders `template`. `suffix` > 0 appends `_{suffix}` to every variable's
/// parameter name, to tell apart two routes that render alike.
pub(super) fn render(template: &PathTemplate, suffix: usize) -> OpenApiPath {
    let segments = template.segments();
    let mut path = String::new();
    let mut params = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        path.push('/');
        let variable = template
            .variables()
            .iter()
            .position(|v| v.segments.start == i);
        let param = if let Some(index) = variable {
            let var = &template.variables()[index];
            let mut name = var.field_path.to_string();
            if suffix > 0 {
                name = format!("{name}_{suffix}");
            }
            let spans = &segments[var.segments.clone()];
            let plain = var.is_single_segment(template);
            i = var.segments.end;
            PathParam {
                name,
                variable: Some(index),
                expansion: (!plain).then(|| expansion(spans)),
                pattern: (!plain).then(|| pattern(spans)),
            }
        } else {
            let segment = &segments[i];
            i += 1;
            if let Segment::Literal(text) = segment {
                path.extend(utf8_percent_encode(text, LITERAL));
                continue;
            }
            let rest = *segment == Segment::Rest;
            PathParam {
                name: wildcard_name(template, &params),
                variable: None,
                expansion: rest.then(|| "**".to_owned()),
                pattern: rest.then(|| pattern(std::slice::from_ref(segment))),
            }
        };
        path.push('{');
        path.push_str(&param.name);
        path.push('}');
        params.push(param);
    }
    if let Some(verb) = template.verb() {
        path.push(':');
        path.extend(utf8_percent_encode(verb, LITERAL));
    }
    OpenApiPath { path, params }
}

/// A name for an anonymous wildcard that no variable of `template` uses.
fn wildcard_name(template: &PathTemplate, so_far: &[PathParam]) -> String {
    let n = so_far.iter().filter(|p| p.variable.is_none()).count() + 1;
    let mut name = format!("wildcard{n}");
    while template
        .variables()
        .iter()
        .any(|v| v.field_path.to_string() == name)
    {
        name.insert(0, '_');
    }
    name
}

/// The segments as the template writes them: `blogs/*/posts/*`.
fn expansion(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Segment::Literal(text) => text.as_str(),
            Segment::Any => "*",
            Segment::Rest => "**",
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// An anchored regular expression (ECMA-262) for a value spanning
/// `segments`: `*` is one non-empty segment, `**` any number of them.
pub(super) fn pattern(segments: &[Segment]) -> String {
    let mut re = String::from("^");
    for (k, segment) in segments.iter().enumerate() {
        let slash = if k > 0 { "/" } else { "" };
        match segment {
            Segment::Literal(text) => {
                re.push_str(slash);
                re.push_str(&escape(text));
            }
            Segment::Any => {
                re.push_str(slash);
                re.push_str("[^/]+");
            }
            Segment::Rest if k > 0 => re.push_str("(/.*)?"),
            Segment::Rest => re.push_str(".*"),
        }
    }
    re.push('$');
    re
}

/// Escapes regular-expression syntax in a literal.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (template, suffix, OpenAPI path, [(parameter, pattern)])
    type Case = (
        &'static str,
        usize,
        &'static str,
        &'static [(&'static str, Option<&'static str>)],
    );

    fn rendered(template: &str, suffix: usize) -> OpenApiPath {
        render(&PathTemplate::parse(template).unwrap(), suffix)
    }

    #[test]
    fn templates_become_openapi_paths() {
        let cases: &[Case] = &[
            ("/v1/users", 0, "/v1/users", &[]),
            (
                "/v1/users/{user_id}",
                0,
                "/v1/users/{user_id}",
                &[("user_id", None)],
            ),
            (
                "/v1/users/{user_id=*}/accounts",
                0,
                "/v1/users/{user_id}/accounts",
                &[("user_id", None)],
            ),
            (
                "/v1/{name=blogs/*/posts/*}",
                0,
                "/v1/{name}",
                &[("name", Some("^blogs/[^/]+/posts/[^/]+$"))],
            ),
            (
                "/v1/{name=blogs/*/posts/*}:publish",
                0,
                "/v1/{name}:publish",
                &[("name", Some("^blogs/[^/]+/posts/[^/]+$"))],
            ),
            (
                "/v1/posts/{name=**}",
                0,
                "/v1/posts/{name}",
                &[("name", Some("^.*$"))],
            ),
            (
                "/v1/{book.name=shelves/*/books/**}",
                0,
                "/v1/{book.name}",
                &[("book.name", Some("^shelves/[^/]+/books(/.*)?$"))],
            ),
            (
                "/v1/{name=shelves/*}",
                2,
                "/v1/{name_2}",
                &[("name_2", Some("^shelves/[^/]+$"))],
            ),
            (
                "/v1/*/things/{id}/**",
                0,
                "/v1/{wildcard1}/things/{id}/{wildcard2}",
                &[
                    ("wildcard1", None),
                    ("id", None),
                    ("wildcard2", Some("^.*$")),
                ],
            ),
            ("/v1/a%20b/x.y:do", 0, "/v1/a%20b/x.y:do", &[]),
            (
                "/v1/{a=x.y/*}",
                0,
                "/v1/{a}",
                &[("a", Some("^x\\.y/[^/]+$"))],
            ),
        ];
        for (template, suffix, path, params) in cases {
            let got = rendered(template, *suffix);
            assert_eq!(got.path, *path, "{template}");
            let names: Vec<(&str, Option<&str>)> = got
                .params
                .iter()
                .map(|p| (p.name.as_str(), p.pattern.as_deref()))
                .collect();
            assert_eq!(names, *params, "{template}");
        }
    }

    #[test]
    fn multi_segment_variables_keep_their_expansion() {
        let got = rendered("/v1/{parent=blogs/*}/posts/{post}", 0);
        assert_eq!(got.params[0].expansion.as_deref(), Some("blogs/*"));
        assert_eq!(got.params[0].variable, Some(0));
        assert_eq!(got.params[1].expansion, None);
        assert_eq!(got.params[1].variable, Some(1));
        let got = rendered("/v1/{wildcard1}/*", 0);
        assert_eq!(got.path, "/v1/{wildcard1}/{_wildcard1}");
    }
}
