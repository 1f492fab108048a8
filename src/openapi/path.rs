//! [`PathTemplate`] → OpenAPI path, in one of two [`PathParams`] styles.
//!
//! An OpenAPI path parameter is one segment, and generated clients
//! percent-encode any `/` in its value, while a template variable may span
//! several (`{name=blogs/*/posts/*}`, `{path=**}`).
//!
//! [`PathParams::Expanded`] (the default) writes such a variable as the
//! segments it stands for, one parameter per `*`, named after the literal
//! before it less its trailing `s` (`/v1/{name=blogs/*/posts/*}` becomes
//! `/v1/blogs/{blog}/posts/{post}`), as grpc-gateway's generator does with
//! `expand_slashed_path_patterns`. It is the same route: the gateway matches
//! `/v1/blogs/b1/posts/p1` either way. A variable holding `**` cannot be
//! expanded (its segments are not counted) and stays one parameter.
//!
//! [`PathParams::Template`] keeps one parameter per variable, named after its
//! field path as grpc-gateway names it (`/v1/{name}`); its schema's `pattern`
//! says what the value expands to and its description that the `/`s are
//! sent as they are.
//!
//! In both, a `*` or `**` outside any variable becomes a parameter too
//! (`wildcard1`, ...), since OpenAPI has no anonymous segments.

use std::ops::Range;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::compile::{PathTemplate, Segment, Variable};

/// How a path variable spanning several segments is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PathParams {
    /// One parameter per `*` of the variable, between its literals:
    /// `/v1/blogs/{blog}/posts/{post}`. What client generators can call.
    #[default]
    Expanded,
    /// One parameter per variable, its value holding the `/`s:
    /// `/v1/{name}` with the pattern `^blogs/[^/]+/posts/[^/]+$`.
    Template,
}

impl PathParams {
    /// The setting's value, as `--openapi-path-params` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            PathParams::Expanded => "expanded",
            PathParams::Template => "template",
        }
    }
}

impl std::str::FromStr for PathParams {
    type Err = String;

    fn from_str(text: &str) -> Result<PathParams, String> {
        match text {
            "expanded" => Ok(PathParams::Expanded),
            "template" => Ok(PathParams::Template),
            other => Err(format!("{other:?} is neither `expanded` nor `template`")),
        }
    }
}

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
    /// The template variable (and `Route::path_fields` entry) it stands for
    /// or is one segment of; `None` for a `*` or `**` outside any variable.
    pub(super) variable: Option<usize>,
    /// The template segments the value covers.
    pub(super) segments: Range<usize>,
    /// What the value spans, as in the template (`blogs/*/posts/*`), when it
    /// is more than one plain segment.
    pub(super) expansion: Option<String>,
    /// The regular expression the value matches, with `expansion`.
    pub(super) pattern: Option<String>,
    /// For one `*` of an expanded variable: the variable's value with its
    /// parameters named, e.g. `blogs/{blog}/posts/{post}`.
    pub(super) segment_of: Option<String>,
}

/// Renders `template` in `style`. `suffix` > 0 appends `_{suffix}` to every
/// variable's parameter name, to tell apart two routes that render alike.
pub(super) fn render(template: &PathTemplate, suffix: usize, style: PathParams) -> OpenApiPath {
    let segments = template.segments();
    let mut path = String::new();
    let mut params: Vec<PathParam> = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        let variable = template
            .variables()
            .iter()
            .position(|v| v.segments.start == i);
        if let Some(index) = variable {
            let var = &template.variables()[index];
            i = var.segments.end;
            if style == PathParams::Expanded && expandable(template, var) {
                expand(template, index, suffix, &mut path, &mut params);
                continue;
            }
            let mut name = var.field_path.to_string();
            if suffix > 0 {
                name = format!("{name}_{suffix}");
            }
            let spans = &segments[var.segments.clone()];
            let plain = var.is_single_segment(template);
            push_param(
                &mut path,
                &mut params,
                PathParam {
                    name,
                    variable: Some(index),
                    segments: var.segments.clone(),
                    expansion: (!plain).then(|| expansion(spans)),
                    pattern: (!plain).then(|| pattern(spans)),
                    segment_of: None,
                },
            );
            continue;
        }
        let segment = &segments[i];
        i += 1;
        if let Segment::Literal(text) = segment {
            path.push('/');
            path.extend(utf8_percent_encode(text, LITERAL));
            continue;
        }
        let rest = *segment == Segment::Rest;
        let name = wildcard_name(template, &params);
        push_param(
            &mut path,
            &mut params,
            PathParam {
                name,
                variable: None,
                segments: i - 1..i,
                expansion: rest.then(|| "**".to_owned()),
                pattern: rest.then(|| pattern(std::slice::from_ref(segment))),
                segment_of: None,
            },
        );
    }
    if let Some(verb) = template.verb() {
        path.push(':');
        path.extend(utf8_percent_encode(verb, LITERAL));
    }
    OpenApiPath { path, params }
}

fn push_param(path: &mut String, params: &mut Vec<PathParam>, param: PathParam) {
    path.push_str("/{");
    path.push_str(&param.name);
    path.push('}');
    params.push(param);
}

/// Whether `var` spans more than one segment, none of them `**`.
fn expandable(template: &PathTemplate, var: &Variable) -> bool {
    let spans = &template.segments()[var.segments.clone()];
    !var.is_single_segment(template) && !spans.contains(&Segment::Rest)
}

/// Writes variable `index` as its segments: its literals as they are, each
/// `*` a parameter named after the literal before it.
fn expand(
    template: &PathTemplate,
    index: usize,
    suffix: usize,
    path: &mut String,
    params: &mut Vec<PathParam>,
) {
    let var = &template.variables()[index];
    let first = params.len();
    let mut shape = Vec::new();
    let mut previous: Option<&str> = None;
    for at in var.segments.clone() {
        match &template.segments()[at] {
            Segment::Literal(text) => {
                path.push('/');
                path.extend(utf8_percent_encode(text, LITERAL));
                shape.push(text.clone());
                previous = Some(text);
            }
            _ => {
                let base = previous
                    .map(singular)
                    .filter(|b| !b.is_empty())
                    .unwrap_or_else(|| var.field_path.to_string());
                let mut name = unique(template, index, params, &base);
                if suffix > 0 {
                    name = format!("{name}_{suffix}");
                }
                shape.push(format!("{{{name}}}"));
                push_param(
                    path,
                    params,
                    PathParam {
                        name,
                        variable: Some(index),
                        segments: at..at + 1,
                        expansion: None,
                        pattern: None,
                        segment_of: None,
                    },
                );
            }
        }
    }
    let shape = shape.join("/");
    for param in &mut params[first..] {
        param.segment_of = Some(shape.clone());
    }
}

/// `blogs` → `blog`: the literal before a `*` without its trailing `s`, as
/// grpc-gateway's generator names the parameter (so `shelves` gives
/// `shelve`, the same name a grpc-gateway document has).
fn singular(collection: &str) -> String {
    collection
        .strip_suffix('s')
        .unwrap_or(collection)
        .to_owned()
}

/// `base`, or `base2`, `base3`... : a name no parameter so far and no
/// other variable of `template` (than the one at `own`) uses.
fn unique(template: &PathTemplate, own: usize, so_far: &[PathParam], base: &str) -> String {
    let taken = |name: &str| {
        so_far.iter().any(|p| p.name == name)
            || template
                .variables()
                .iter()
                .enumerate()
                .any(|(i, v)| i != own && v.field_path.to_string() == name)
    };
    let mut name = base.to_owned();
    let mut n = 1;
    while taken(&name) {
        n += 1;
        name = format!("{base}{n}");
    }
    name
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
mod tests;
