//! [`PathTemplate`]: the google.api.http path template grammar, parsed once.
//!
//! ```text
//! Template  = "/" Segments [ Verb ] ;
//! Segments  = Segment { "/" Segment } ;
//! Segment   = "*" | "**" | LITERAL | Variable ;
//! Variable  = "{" FieldPath [ "=" Segments ] "}" ;
//! FieldPath = IDENT { "." IDENT } ;
//! Verb      = ":" LITERAL ;
//! ```
//!
//! A template is flattened into [`Segment`]s (literal, `*`, `**`); each
//! [`Variable`] covers a range of them (`{name}` alone covers one `*`). `**`
//! may only be the last segment. The flattened form is what routing and
//! conflict detection compare: `/v1/{name=shelves/*}` has the same
//! [`shape`](PathTemplate::shape) as `/v1/shelves/{shelf}`.
//!
//! Parsing only checks the grammar; whether a variable names a real field is
//! the binding step's business.

mod parser;

use std::fmt;
use std::ops::Range;

/// A dotted path of proto field names, as written in a template or a `body`:
/// `name`, `book.name`. Never empty; every part is an identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(Vec<String>);

impl FieldPath {
    /// Parses `a.b.c`; `None` when empty or when a part is not an identifier.
    pub fn parse(text: &str) -> Option<FieldPath> {
        let parts: Vec<String> = text.split('.').map(str::to_owned).collect();
        parts
            .iter()
            .all(|p| is_ident(p))
            .then_some(FieldPath(parts))
    }

    /// The names, outermost first.
    pub fn parts(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One flattened path segment of a template.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// Matches exactly this text (compared after percent-decoding the request path).
    Literal(String),
    /// `*`: exactly one non-empty segment.
    Any,
    /// `**`: zero or more segments, to the end of the path.
    Rest,
}

/// A `{field.path=...}` variable: which request field it fills and which
/// segments it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The request field the captured text fills.
    pub field_path: FieldPath,
    /// Indexes into [`PathTemplate::segments`]; never empty.
    pub segments: Range<usize>,
}

impl Variable {
    /// Whether the variable captures exactly one segment (`{id}` or `{id=*}`).
    pub fn is_single_segment(&self, template: &PathTemplate) -> bool {
        self.segments.len() == 1 && template.segments[self.segments.start] == Segment::Any
    }
}

/// A parsed path template such as `/v1/{name=shelves/*/books/*}:move`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    text: String,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
    verb: Option<String>,
}

/// Why a template does not parse. `offset` is a byte offset into the
/// template text, pointing at the offending character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (at byte {offset})")]
pub struct TemplateError {
    /// Byte offset of the problem in the template text.
    pub offset: usize,
    /// What is wrong, in words.
    pub reason: String,
}

/// What a template matches, with variables expanded into their patterns:
/// `/v1/{name=shelves/*}` and `/v1/shelves/{id}` have the same shape. Two
/// routes with the same method and shape are a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemplateShape {
    /// The flattened segments.
    pub segments: Vec<Segment>,
    /// The custom verb, if any.
    pub verb: Option<String>,
}

impl fmt::Display for TemplateShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.segments {
            f.write_str("/")?;
            match segment {
                Segment::Literal(text) => f.write_str(text)?,
                Segment::Any => f.write_str("*")?,
                Segment::Rest => f.write_str("**")?,
            }
        }
        if let Some(verb) = &self.verb {
            write!(f, ":{verb}")?;
        }
        Ok(())
    }
}

impl PathTemplate {
    /// Parses a template, rejecting anything outside the grammar with the
    /// offset and a reason.
    pub fn parse(text: &str) -> Result<PathTemplate, TemplateError> {
        parser::parse(text)
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The flattened segments; never empty.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The variables, in order of appearance.
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The custom verb after the last `:`, if any.
    pub fn verb(&self) -> Option<&str> {
        self.verb.as_deref()
    }

    /// What this template matches; see [`TemplateShape`].
    pub fn shape(&self) -> TemplateShape {
        TemplateShape {
            segments: self.segments.clone(),
            verb: self.verb.clone(),
        }
    }

    /// Whether the last segment is a literal outside any variable: the
    /// template names a collection (`/v1/users/{user_id}/accounts`).
    pub fn ends_in_literal(&self) -> bool {
        let last = self.segments.len() - 1;
        matches!(self.segments[last], Segment::Literal(_)) && self.variable_at(last).is_none()
    }

    /// Whether the last segment belongs to a variable: the template names an
    /// item (`/v1/users/{user_id}`, `/v1/{name=shelves/*}`).
    pub fn ends_in_variable(&self) -> bool {
        self.variable_at(self.segments.len() - 1).is_some()
    }

    /// The variable covering segment `index`, if any.
    pub fn variable_at(&self, index: usize) -> Option<&Variable> {
        self.variables.iter().find(|v| v.segments.contains(&index))
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(t: &str) -> String {
        PathTemplate::parse(t).unwrap().shape().to_string()
    }

    fn vars(t: &str) -> Vec<(String, Range<usize>)> {
        PathTemplate::parse(t)
            .unwrap()
            .variables()
            .iter()
            .map(|v| (v.field_path.to_string(), v.segments.clone()))
            .collect()
    }

    #[test]
    fn documented_examples_parse() {
        // The templates the google.api.http documentation walks through.
        let table: &[(&str, &str)] = &[
            ("/v1/messages/{message_id}", "/v1/messages/*"),
            ("/v1/{name=messages/*}", "/v1/messages/*"),
            (
                "/v1/users/{user_id}/messages/{message_id}",
                "/v1/users/*/messages/*",
            ),
            ("/v1/{name=shelves/*/books/*}", "/v1/shelves/*/books/*"),
            ("/v1/{parent=shelves/*}/books", "/v1/shelves/*/books"),
            (
                "/v1/{name=projects/*/locations/*}/operations:cancel",
                "/v1/projects/*/locations/*/operations:cancel",
            ),
            ("/v1/{book.name=shelves/*/books/*}", "/v1/shelves/*/books/*"),
            ("/v1/{name=**}", "/v1/**"),
            ("/v1/files/**", "/v1/files/**"),
            ("/v1/*/messages", "/v1/*/messages"),
            ("/v1/messages:batchGet", "/v1/messages:batchGet"),
            ("/v1/{name=shelves/*}:move", "/v1/shelves/*:move"),
            ("/v1/a%20b", "/v1/a b"),
            ("/v1:custom", "/v1:custom"),
            ("/{a}/{b.c=x/**}:verb", "/*/x/**:verb"),
        ];
        for (template, expected) in table {
            assert_eq!(shape(template), *expected, "{template}");
        }
    }

    #[test]
    fn variables_cover_their_segments() {
        assert_eq!(
            vars("/v1/users/{user_id}/accounts/{account_id}"),
            vec![("user_id".into(), 2..3), ("account_id".into(), 4..5)]
        );
        assert_eq!(
            vars("/v1/{name=shelves/*/books/*}"),
            vec![("name".into(), 1..5)]
        );
        assert_eq!(
            vars("/v1/{book.name=shelves/*}"),
            vec![("book.name".into(), 1..3)]
        );
        let t = PathTemplate::parse("/v1/{name=**}").unwrap();
        assert_eq!(t.segments().last(), Some(&Segment::Rest));
        assert!(!t.variables()[0].is_single_segment(&t));
        let t = PathTemplate::parse("/v1/{id=*}").unwrap();
        assert!(t.variables()[0].is_single_segment(&t));
    }

    #[test]
    fn collections_end_in_literals_items_in_variables() {
        let table: &[(&str, bool, bool)] = &[
            ("/v1/users", true, false),
            ("/v1/users/{user_id}/accounts", true, false),
            ("/v1/{parent=shelves/*}/books", true, false),
            ("/v1/users/{user_id}", false, true),
            ("/v1/{name=shelves/*}", false, true),
            ("/v1/{name=shelves/books}", false, true),
            ("/v1/users/*", false, false),
            ("/v1/{name=shelves/*}:move", false, true),
        ];
        for (template, literal, variable) in table {
            let t = PathTemplate::parse(template).unwrap();
            assert_eq!(t.ends_in_literal(), *literal, "{template}");
            assert_eq!(t.ends_in_variable(), *variable, "{template}");
        }
    }

    #[test]
    fn verbs_are_split_off() {
        let t = PathTemplate::parse("/v1/{name=blogs/*/posts/*}:publish").unwrap();
        assert_eq!(t.verb(), Some("publish"));
        assert_eq!(t.segments().len(), 5);
        assert_eq!(PathTemplate::parse("/v1/x").unwrap().verb(), None);
    }

    #[test]
    fn bad_templates_are_rejected_precisely() {
        let table: &[(&str, usize, &str)] = &[
            ("", 0, "template is empty"),
            ("v1/users", 0, "template must start with '/'"),
            ("/", 1, "empty segment"),
            ("/v1/", 4, "empty segment"),
            ("/v1//users", 4, "empty segment"),
            ("/v1/{user_id", 4, "unclosed '{'"),
            ("/v1/{user_id=users/*", 4, "unclosed '{'"),
            ("/v1/user_id}", 11, "unmatched '}'"),
            ("/v1/{}", 5, "variable without a field name"),
            ("/v1/{1abc}", 5, "\"1abc\" is not a field path"),
            ("/v1/{a..b}", 5, "\"a..b\" is not a field path"),
            ("/v1/{a=x/{b}}", 9, "variables cannot nest"),
            ("/v1/{id}/{id}", 10, "variable id appears twice"),
            ("/v1/**/users", 4, "'**' must be the last segment"),
            ("/v1/***", 6, "a segment may hold at most '**'"),
            ("/v1/*x", 5, "'*' and '**' must fill a whole segment"),
            ("/v1/users:", 10, "empty verb after ':'"),
            ("/v1/a:b/c", 7, "the verb (after ':') must end the template"),
            ("/v1/a:b:c", 7, "the verb (after ':') must end the template"),
            ("/v1/a b", 5, "' ' is not allowed in a path template"),
            ("/v1/a?x=1", 5, "'?' is not allowed in a path template"),
            ("/v1/%zz", 4, "'%' must start a %XX escape"),
            ("/v1/a=b", 5, "unexpected '='"),
        ];
        for (template, offset, reason) in table {
            let err = PathTemplate::parse(template).unwrap_err();
            assert!(
                err.reason.starts_with(reason),
                "{template:?}: got {:?}, want {reason:?}",
                err.reason
            );
            assert_eq!(err.offset, *offset, "{template:?}: {}", err.reason);
        }
    }

    #[test]
    fn field_paths() {
        assert_eq!(FieldPath::parse("a.b_c").unwrap().parts(), ["a", "b_c"]);
        assert!(FieldPath::parse("").is_none());
        assert!(FieldPath::parse("a.").is_none());
        assert!(FieldPath::parse("a-b").is_none());
    }
}
