//! One rule to one [`Route`]: the template parsed, the operation
//! classified, what SPEC §2 forbids a `(restgate.rest)` rule refused, and
//! the path variables, body and response body bound to fields.

use prost_reflect::MethodDescriptor;

use super::binding::{self, Body, PathFields, Role};
use super::classify::{self, CompileOptions};
use super::error::RouteError;
use super::route::Route;
use super::rule::{RestRule, RouteKind, RuleSource};
use super::template::PathTemplate;

/// Parses, classifies and binds one rule, the `declared`-th binding (0-based).
pub(super) fn build(
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
        rest_kind_fits(rule, &template, kind)?;
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

/// What SPEC §2 forbids a `(restgate.rest)` rule: a create on an item
/// template, a replace on a collection template.
fn rest_kind_fits(
    rule: &RestRule,
    template: &PathTemplate,
    kind: RouteKind,
) -> Result<(), RouteError> {
    match kind {
        RouteKind::Create if !template.ends_in_literal() => {
            let collection = rule
                .template
                .rsplit_once('/')
                .map(|(c, _)| c)
                .filter(|c| !c.is_empty())
                .unwrap_or("/v1/items")
                .to_owned();
            Err(RouteError::CreateOnItem {
                template: rule.template.clone(),
                collection,
            })
        }
        RouteKind::Replace if !template.ends_in_variable() => {
            Err(RouteError::ReplaceOnCollection {
                template: rule.template.clone(),
            })
        }
        _ => Ok(()),
    }
}
