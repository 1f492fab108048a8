//! What settles a `(google.api.http)` binding's operation where its shape
//! alone leaves it open, and the reason, for `restgate check --verbose`.
//!
//! - A `post` on a template that ends in a literal is a create (201 +
//!   `Location`) only when the route table derives the created item's URI
//!   for it: an item route (replace or get) under the collection (SPEC §4,
//!   see `location.rs`). Any other `post` (`/v1/echo`, a search, a verb, a
//!   template ending in a variable) is a plain POST answering 200, of kind
//!   `custom`. With [`GoogleApiCreates::Never`] every `post` is plain, as
//!   grpc-gateway answers them.
//! - A `get` on a template that ends in a literal is a list only when it
//!   answers a collection page (AIP-132): a message with a repeated field of
//!   messages, or a stream of messages. Otherwise it gets a singleton
//!   (AIP-156), e.g. an avatar answered as a `google.api.HttpBody`.
//!
//! `(restgate.rest)` names its operation outright and is never reclassified.
//! Pure: reads descriptors, decides, explains.

use std::fmt;

use prost_reflect::{Kind, MessageDescriptor, MethodDescriptor};

use super::binding::BoundField;
use super::location::LocationError;
use super::route::HTTP_BODY;
use super::rule::{RestRule, RouteKind, RuleSource};
use super::template::PathTemplate;

/// Whether a `(google.api.http)` `post` may be a create (setting
/// `google-api-creates`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[cfg_attr(feature = "server", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum GoogleApiCreates {
    /// A `post` is a create when the table derives its item's URI.
    #[default]
    Auto,
    /// Every `post` is a plain POST answering 200, as with grpc-gateway.
    Never,
}

impl GoogleApiCreates {
    /// `auto` or `never`, as the setting is written.
    pub fn as_str(self) -> &'static str {
        match self {
            GoogleApiCreates::Auto => "auto",
            GoogleApiCreates::Never => "never",
        }
    }
}

impl fmt::Display for GoogleApiCreates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The choices the route compiler leaves to its user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// Whether a `(google.api.http)` `post` may be a create.
    pub google_api_creates: GoogleApiCreates,
}

/// Why a `(google.api.http)` binding has its kind, where its shape alone
/// does not say: every `post`, and every `get` on a template ending in a
/// literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindReason {
    /// A `post` whose created item this item route names (`GET
    /// /v1/echo/{id}`): a create.
    Creates {
        /// The item route, method and template.
        item: String,
    },
    /// A `post` on a collection whose created item's URI cannot be derived.
    NoItem(LocationError),
    /// A `post` on a template that ends in a variable: no collection.
    NotOnCollection,
    /// A `post` with a custom verb.
    Verb,
    /// A `post` on a collection, with `google-api-creates = never`.
    CreatesOff,
    /// A `get` answering a message with a repeated field of messages.
    Page {
        /// The message answered.
        reply: String,
        /// Its repeated message field.
        field: String,
    },
    /// A `get` answering a stream of messages.
    Stream {
        /// The streamed message.
        reply: String,
    },
    /// A `get` answering one message that is no collection page.
    Singleton {
        /// The message (or field) answered.
        reply: String,
    },
}

impl fmt::Display for KindReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KindReason::Creates { item } => {
                write!(f, "the item route {item} names the created item")
            }
            KindReason::NoItem(reason) => reason.fmt(f),
            KindReason::NotOnCollection => {
                f.write_str("the template ends in a variable, not a collection")
            }
            KindReason::Verb => f.write_str("a custom verb"),
            KindReason::CreatesOff => f.write_str("google-api-creates is never"),
            KindReason::Page { reply, field } => {
                write!(
                    f,
                    "the reply {reply} is a collection page (repeated {field})"
                )
            }
            KindReason::Stream { reply } => write!(f, "the reply is a stream of {reply}"),
            KindReason::Singleton { reply } => {
                write!(
                    f,
                    "the reply {reply} is no collection page (no repeated field of messages)"
                )
            }
        }
    }
}

/// What `kind` means to a client, for the `so ...` of a reason.
pub(crate) fn outcome(method: &http::Method, kind: RouteKind) -> String {
    match kind {
        RouteKind::Create => "a create answering 201 + Location".to_owned(),
        RouteKind::List => "a list".to_owned(),
        RouteKind::Get => "a get of a singleton".to_owned(),
        RouteKind::Custom => format!("a plain {method} answering 200"),
        other => format!("{other}"),
    }
}

/// The kind of a bound rule, given the kind its shape suggests
/// ([`RestRule::classify`]) and what it answers, and the reason where the
/// shape alone does not say. A `post` left a create here becomes one only
/// once its item route is found (`link_locations` in `item_link.rs`).
pub(crate) fn settle(
    rule: &RestRule,
    template: &PathTemplate,
    shaped: RouteKind,
    rpc: &MethodDescriptor,
    response_body: Option<&BoundField>,
    options: &CompileOptions,
) -> (RouteKind, Option<KindReason>) {
    if rule.source != RuleSource::Http {
        return (shaped, None);
    }
    let on_literal = template.verb().is_none() && template.ends_in_literal();
    match rule.method {
        http::Method::POST if template.verb().is_some() => {
            (RouteKind::Custom, Some(KindReason::Verb))
        }
        http::Method::POST if !on_literal => (RouteKind::Custom, Some(KindReason::NotOnCollection)),
        http::Method::POST if options.google_api_creates == GoogleApiCreates::Never => {
            (RouteKind::Custom, Some(KindReason::CreatesOff))
        }
        http::Method::GET if on_literal => {
            let reason = page_or_singleton(rpc, response_body);
            let kind = match reason {
                KindReason::Singleton { .. } => RouteKind::Get,
                _ => RouteKind::List,
            };
            (kind, Some(reason))
        }
        _ => (shaped, None),
    }
}

/// Whether the rpc answers a collection page: a stream of messages, a
/// repeated message field as `response_body`, or a message (the reply or
/// the `response_body` field) with a repeated field of messages. A
/// `google.api.HttpBody` is a raw body, never a page.
fn page_or_singleton(rpc: &MethodDescriptor, response_body: Option<&BoundField>) -> KindReason {
    let output = rpc.output();
    if rpc.is_server_streaming() {
        return KindReason::Stream {
            reply: output.full_name().to_owned(),
        };
    }
    let (answered, name) = match response_body {
        None => (Some(output.clone()), output.full_name().to_owned()),
        Some(field) => {
            let leaf = field.leaf();
            let name = format!("{}.{}", output.full_name(), field.path);
            match leaf.kind() {
                Kind::Message(_) if leaf.is_list() => {
                    return KindReason::Page {
                        reply: output.full_name().to_owned(),
                        field: field.path.to_string(),
                    };
                }
                Kind::Message(m) if !leaf.is_map() => (Some(m), name),
                _ => (None, name),
            }
        }
    };
    match answered.as_ref().and_then(repeated_message_field) {
        Some(field) => KindReason::Page { reply: name, field },
        None => KindReason::Singleton { reply: name },
    }
}

/// The first repeated (not map) field of messages of `message`, unless
/// `message` is a raw body.
fn repeated_message_field(message: &MessageDescriptor) -> Option<String> {
    if message.full_name() == HTTP_BODY {
        return None;
    }
    message
        .fields()
        .find(|f| f.is_list() && matches!(f.kind(), Kind::Message(_)))
        .map(|f| f.name().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{Descriptors, Input, Route, RouteTable};

    /// The routes of the grpc-gateway style `library.proto` fixture.
    fn library(options: CompileOptions) -> Vec<Route> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let input = Input::Protos {
            files: vec![dir.join("tests/fixtures/valid/library.proto")],
            includes: Vec::new(),
        };
        let compiled = RouteTable::load_with(&input, &options).unwrap();
        assert!(compiled.warnings.is_empty(), "{}", compiled.warnings);
        compiled.table.routes().to_vec()
    }

    fn why(routes: &[Route], method: &str, path: &str) -> (RouteKind, String) {
        let route = routes
            .iter()
            .find(|r| r.method.as_str() == method && r.template.as_str() == path)
            .unwrap_or_else(|| panic!("{method} {path} missing"));
        let why = route
            .why()
            .unwrap_or_else(|| panic!("{method} {path}: no reason"));
        (route.kind, why)
    }

    #[test]
    fn a_google_post_creates_only_when_an_item_route_names_the_item() {
        let routes = library(CompileOptions::default());
        let (kind, text) = why(&routes, "POST", "/v1/shelves");
        assert_eq!(kind, RouteKind::Create);
        assert_eq!(text, "POST /v1/shelves: the item route PUT /v1/{shelf.name=shelves/*} names the created item, so a create answering 201 + Location");
        assert_eq!(
            why(&routes, "POST", "/v1/{parent=shelves/*}/books").0,
            RouteKind::Create
        );
        let (kind, text) = why(&routes, "POST", "/v1/books");
        assert_eq!(kind, RouteKind::Custom);
        assert_eq!(text, "POST /v1/books: no replace or get route on /v1/books/* to name the created item, so a plain POST answering 200");
        let (kind, text) = why(&routes, "POST", "/v1/{name=shelves/*/books/*}:move");
        assert_eq!(kind, RouteKind::Custom);
        assert_eq!(
            text,
            "POST /v1/{name=shelves/*/books/*}:move: a custom verb, so a plain POST answering 200"
        );
        let books = routes
            .iter()
            .find(|r| r.template.as_str() == "/v1/books")
            .unwrap();
        assert!(books.location.is_none());
        // Shapes that say it all have no reason to give.
        assert!(routes
            .iter()
            .filter(|r| r.method != http::Method::POST)
            .all(|r| r.reason.is_none()));
    }

    #[test]
    fn never_keeps_every_google_post_plain() {
        let routes = library(CompileOptions {
            google_api_creates: GoogleApiCreates::Never,
        });
        for path in ["/v1/shelves", "/v1/{parent=shelves/*}/books", "/v1/books"] {
            let (kind, text) = why(&routes, "POST", path);
            assert_eq!(kind, RouteKind::Custom, "{path}");
            assert_eq!(
                text,
                format!("POST {path}: google-api-creates is never, so a plain POST answering 200")
            );
            let route = routes.iter().find(|r| r.template.as_str() == path).unwrap();
            assert!(route.location.is_none(), "{path}");
        }
    }

    #[test]
    fn a_restgate_create_stays_a_create_whatever_the_setting() {
        let compiled = RouteTable::compile_with(
            &Descriptors::bundled(),
            &CompileOptions {
                google_api_creates: GoogleApiCreates::Never,
            },
        )
        .unwrap();
        let routes = compiled.table.routes();
        let kind = |path: &str| {
            routes
                .iter()
                .find(|r| r.method == http::Method::POST && r.template.as_str() == path)
                .map(|r| r.kind)
                .unwrap()
        };
        assert_eq!(kind("/v1/users"), RouteKind::Create);
        assert_eq!(kind("/v1/users/{user_id}/accounts"), RouteKind::Create);
        assert_eq!(kind("/v1/{parent=blogs/*}/posts"), RouteKind::Custom);
    }

    #[test]
    fn bundled_gets_on_literals_are_lists_only_when_they_answer_pages() {
        let find = crate::compile::bundled_route;
        let posts = find("GET", "/v1/{parent=blogs/*}/posts");
        assert_eq!(posts.kind, RouteKind::List);
        assert_eq!(
            posts.why().unwrap(),
            "GET /v1/{parent=blogs/*}/posts: the reply examples.v1.ListPostsResponse is a collection page (repeated posts), so a list"
        );
        let avatar = find("GET", "/v1/users/{user_id}/avatar");
        assert_eq!(avatar.kind, RouteKind::Get);
        assert_eq!(
            avatar.why().unwrap(),
            "GET /v1/users/{user_id}/avatar: the reply google.api.HttpBody is no collection page (no repeated field of messages), so a get of a singleton"
        );
    }
}
