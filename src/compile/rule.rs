//! [`RestRule`]: the REST bindings an RPC's options declare, read from either
//! annotation source and not yet checked against the request message.
//!
//! `(restgate.rest)` names the operation outright (create → POST on a
//! collection, replace → PUT on an item, ...). `(google.api.http)` names an
//! HTTP method; its bindings are classified by shape instead (a `post` on a
//! template ending in a literal may be a create, a `put` ending in a
//! variable is a replace, a `get` ending in a literal may be a list, a
//! `:verb` is custom, the rest by method) so existing protos keep working
//! unchanged. Where the shape leaves it open, `classify.rs` settles it from
//! the reply and the item routes.

use std::fmt;

use prost::Message as _;
use prost_reflect::MethodDescriptor;

use super::template::PathTemplate;
use crate::pb::google::api::{http_rule, HttpRule};
use crate::pb::restgate::{rest_rule, RestRule as RestOption};

/// Field number of `(google.api.http)` in `google.protobuf.MethodOptions`.
pub(crate) const HTTP_EXTENSION: i32 = 72_295_728;
/// Field number of `(restgate.rest)` in `google.protobuf.MethodOptions`.
pub(crate) const REST_EXTENSION: i32 = 50_842;

/// The REST operation a route performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    /// POST on a collection; the service picks the URI (201 + Location). A
    /// `(google.api.http)` `post` is one only when the table derives the
    /// created item's URI.
    Create,
    /// PUT on an item; the client picks the URI; idempotent.
    Replace,
    /// GET on an item, or on a singleton (AIP-156).
    Get,
    /// GET on a collection, answering a page of it (AIP-132).
    List,
    /// DELETE on an item.
    Delete,
    /// PATCH: a partial update.
    Update,
    /// Anything else: custom verbs and methods, and `(google.api.http)`
    /// posts that create nothing (200).
    Custom,
}

impl RouteKind {
    /// The lowercase name used in `restgate routes` output.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Create => "create",
            RouteKind::Replace => "replace",
            RouteKind::Get => "get",
            RouteKind::List => "list",
            RouteKind::Delete => "delete",
            RouteKind::Update => "update",
            RouteKind::Custom => "custom",
        }
    }
}

impl fmt::Display for RouteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which annotation a binding came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum RuleSource {
    /// `option (restgate.rest)`: checked by every rule of the spec.
    #[serde(rename = "restgate.rest")]
    Rest,
    /// `option (google.api.http)`: classified, checked for fields and conflicts only.
    #[serde(rename = "google.api.http")]
    Http,
}

impl RuleSource {
    /// The option's extension number, for locating it in source info.
    pub fn extension(self) -> i32 {
        match self {
            RuleSource::Rest => REST_EXTENSION,
            RuleSource::Http => HTTP_EXTENSION,
        }
    }
}

impl fmt::Display for RuleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuleSource::Rest => "(restgate.rest)",
            RuleSource::Http => "(google.api.http)",
        })
    }
}

/// One binding as declared: HTTP method, template text, body selectors.
/// For `(restgate.rest)` the kind is declared; for `(google.api.http)` it is
/// decided by [`RestRule::classify`] once the template is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestRule {
    /// The annotation it came from.
    pub source: RuleSource,
    /// The HTTP method.
    pub method: http::Method,
    /// The declared operation (`(restgate.rest)` only).
    pub declared: Option<RouteKind>,
    /// The path template as written.
    pub template: String,
    /// `body`: empty for none, `*` for the whole request.
    pub body: String,
    /// `response_body`: empty for the whole reply.
    pub response_body: String,
    /// `item` (`(restgate.rest)` only): the item template for `Location`.
    pub item: String,
}

/// What is wrong with an RPC's options as a whole (before any template is parsed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Both annotation sources on one method.
    #[error("both (restgate.rest) and (google.api.http) are set; keep one of them")]
    Ambiguous {
        /// The RPC's full name.
        rpc: String,
    },
    /// `(restgate.rest)` without any of create/replace/get/list/delete/update.
    #[error(
        "(restgate.rest) names no operation; set one of create, replace, get, list, delete, update"
    )]
    NoOperation {
        /// The RPC's full name.
        rpc: String,
    },
    /// A `google.api.http` rule (or additional binding) without a pattern.
    #[error("(google.api.http) has a binding with no get/put/post/delete/patch/custom pattern")]
    NoPattern {
        /// The RPC's full name.
        rpc: String,
    },
    /// `custom { kind: "..." }` that is not an HTTP method token.
    #[error("(google.api.http): custom kind {kind:?} is not an HTTP method")]
    BadCustomKind {
        /// The RPC's full name.
        rpc: String,
        /// The kind as written.
        kind: String,
    },
    /// `additional_bindings` inside an additional binding.
    #[error("(google.api.http): additional_bindings may not nest")]
    NestedBindings {
        /// The RPC's full name.
        rpc: String,
    },
    /// The options could not be decoded at all.
    #[error("the method options do not decode: {reason}")]
    Undecodable {
        /// The RPC's full name.
        rpc: String,
        /// The decoder's message.
        reason: String,
    },
}

/// The two options restgate reads, decoded by field number from the encoded
/// `MethodOptions`. Decoding by number works whether or not the pool that
/// produced the options knows the extensions (a descriptor set may carry them
/// as unknown fields).
#[derive(Clone, PartialEq, prost::Message)]
struct RestOptions {
    #[prost(message, optional, tag = "72295728")]
    http: Option<HttpRule>,
    #[prost(message, optional, tag = "50842")]
    rest: Option<RestOption>,
}

impl RestRule {
    /// Every binding the RPC's options declare; empty when it has none.
    pub fn read(rpc: &MethodDescriptor) -> Result<Vec<RestRule>, RuleError> {
        let name = rpc.full_name().to_owned();
        let encoded = rpc.options().encode_to_vec();
        let options =
            RestOptions::decode(encoded.as_slice()).map_err(|e| RuleError::Undecodable {
                rpc: name.clone(),
                reason: e.to_string(),
            })?;
        match (options.rest, options.http) {
            (Some(_), Some(_)) => Err(RuleError::Ambiguous { rpc: name }),
            (Some(rest), None) => Ok(vec![from_rest(&name, rest)?]),
            (None, Some(http)) => {
                let mut rules = vec![from_http(&name, &http)?];
                for extra in &http.additional_bindings {
                    if !extra.additional_bindings.is_empty() {
                        return Err(RuleError::NestedBindings { rpc: name });
                    }
                    rules.push(from_http(&name, extra)?);
                }
                Ok(rules)
            }
            (None, None) => Ok(Vec::new()),
        }
    }

    /// The operation this binding's shape suggests, given its parsed
    /// template: for `(restgate.rest)` the declared one, final; for
    /// `(google.api.http)` a `post` on a literal is provisionally a create
    /// and a `get` on a literal a list, until the reply and the item routes
    /// are known.
    pub fn classify(&self, template: &PathTemplate) -> RouteKind {
        if let Some(kind) = self.declared {
            return kind;
        }
        if template.verb().is_some() {
            return RouteKind::Custom;
        }
        match self.method {
            http::Method::POST if template.ends_in_literal() => RouteKind::Create,
            http::Method::PUT if template.ends_in_variable() => RouteKind::Replace,
            http::Method::GET if template.ends_in_literal() => RouteKind::List,
            http::Method::GET => RouteKind::Get,
            http::Method::DELETE => RouteKind::Delete,
            http::Method::PATCH => RouteKind::Update,
            _ => RouteKind::Custom,
        }
    }
}

fn from_rest(rpc: &str, rest: RestOption) -> Result<RestRule, RuleError> {
    use rest_rule::Operation;
    let (kind, method, template) = match rest.operation {
        Some(Operation::Create(t)) => (RouteKind::Create, http::Method::POST, t),
        Some(Operation::Replace(t)) => (RouteKind::Replace, http::Method::PUT, t),
        Some(Operation::Get(t)) => (RouteKind::Get, http::Method::GET, t),
        Some(Operation::List(t)) => (RouteKind::List, http::Method::GET, t),
        Some(Operation::Delete(t)) => (RouteKind::Delete, http::Method::DELETE, t),
        Some(Operation::Update(t)) => (RouteKind::Update, http::Method::PATCH, t),
        None => {
            return Err(RuleError::NoOperation {
                rpc: rpc.to_owned(),
            })
        }
    };
    Ok(RestRule {
        source: RuleSource::Rest,
        method,
        declared: Some(kind),
        template,
        body: rest.body,
        response_body: rest.response_body,
        item: rest.item,
    })
}

fn from_http(rpc: &str, rule: &HttpRule) -> Result<RestRule, RuleError> {
    use http_rule::Pattern;
    let (method, template) = match &rule.pattern {
        Some(Pattern::Get(t)) => (http::Method::GET, t.clone()),
        Some(Pattern::Put(t)) => (http::Method::PUT, t.clone()),
        Some(Pattern::Post(t)) => (http::Method::POST, t.clone()),
        Some(Pattern::Delete(t)) => (http::Method::DELETE, t.clone()),
        Some(Pattern::Patch(t)) => (http::Method::PATCH, t.clone()),
        Some(Pattern::Custom(custom)) => {
            let method = http::Method::from_bytes(custom.kind.as_bytes())
                .ok()
                .filter(|_| !custom.kind.is_empty())
                .ok_or_else(|| RuleError::BadCustomKind {
                    rpc: rpc.to_owned(),
                    kind: custom.kind.clone(),
                })?;
            (method, custom.path.clone())
        }
        None => {
            return Err(RuleError::NoPattern {
                rpc: rpc.to_owned(),
            })
        }
    };
    Ok(RestRule {
        source: RuleSource::Http,
        method,
        declared: None,
        template,
        body: rule.body.clone(),
        response_body: rule.response_body.clone(),
        item: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::source::Descriptors;

    fn rules(rpc: &str) -> Vec<RestRule> {
        let d = Descriptors::bundled();
        let m = d
            .pool()
            .services()
            .flat_map(|s| s.methods().collect::<Vec<_>>())
            .find(|m| m.full_name() == rpc)
            .unwrap();
        RestRule::read(&m).unwrap()
    }

    #[test]
    fn reads_restgate_rest() {
        let r = rules("examples.v1.AccountService.CreateAccount");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].method, http::Method::POST);
        assert_eq!(r[0].declared, Some(RouteKind::Create));
        assert_eq!(r[0].template, "/v1/users/{user_id}/accounts");
        assert_eq!(r[0].body, "account");
    }

    #[test]
    fn reads_google_api_http_with_additional_bindings() {
        let r = rules("examples.v1.BlogService.GetPost");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].source, RuleSource::Http);
        assert_eq!(r[0].template, "/v1/{name=blogs/*/posts/*}");
        assert_eq!(r[1].template, "/v1/posts/{name=**}");
    }

    #[test]
    fn classifies_google_bindings_by_shape() {
        let rule = |method: http::Method| RestRule {
            source: RuleSource::Http,
            method,
            declared: None,
            template: String::new(),
            body: String::new(),
            response_body: String::new(),
            item: String::new(),
        };
        let t = |s| PathTemplate::parse(s).unwrap();
        use http::Method as M;
        assert_eq!(
            rule(M::POST).classify(&t("/v1/{parent=shelves/*}/books")),
            RouteKind::Create
        );
        assert_eq!(
            rule(M::POST).classify(&t("/v1/{name=shelves/*}")),
            RouteKind::Custom
        );
        assert_eq!(
            rule(M::POST).classify(&t("/v1/shelves:clear")),
            RouteKind::Custom
        );
        assert_eq!(
            rule(M::PUT).classify(&t("/v1/{name=shelves/*}")),
            RouteKind::Replace
        );
        assert_eq!(rule(M::PUT).classify(&t("/v1/shelves")), RouteKind::Custom);
        assert_eq!(rule(M::GET).classify(&t("/v1/shelves")), RouteKind::List);
        assert_eq!(
            rule(M::GET).classify(&t("/v1/shelves/{id}")),
            RouteKind::Get
        );
        assert_eq!(
            rule(M::DELETE).classify(&t("/v1/shelves/{id}")),
            RouteKind::Delete
        );
        assert_eq!(
            rule(M::PATCH).classify(&t("/v1/shelves/{id}")),
            RouteKind::Update
        );
    }
}
