//! The compile room's errors: what is wrong with one binding
//! ([`RouteError`]), and what a whole load-and-compile run reports
//! ([`CompileError`]).

use super::binding::BindingError;
use super::diagnostic::Diagnostics;
use super::location::LocationError;
use super::rule::{RouteKind, RuleError};
use super::template::TemplateError;

/// What is wrong with one binding; becomes a [`super::Diagnostic`] at the
/// binding's annotation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The RPC's options as a whole are wrong.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// The template does not parse.
    #[error("bad path template {template:?}: {source}")]
    BadTemplate {
        /// The template as written.
        template: String,
        /// Where and why.
        source: TemplateError,
    },
    /// A create whose template names an item.
    #[error("create must target a collection, but {template:?} ends in a variable; POST on the collection ({collection:?}) and let the service pick the item's URI")]
    CreateOnItem {
        /// The template as written.
        template: String,
        /// The collection it probably meant.
        collection: String,
    },
    /// A replace whose template names a collection.
    #[error("replace must target an item, but {template:?} does not end in a variable; PUT on the item URI the client picks, e.g. \"{template}/{{id}}\"")]
    ReplaceOnCollection {
        /// The template as written.
        template: String,
    },
    /// A path variable, body or response body that does not bind.
    #[error(transparent)]
    Binding(#[from] BindingError),
    /// create, replace or update without `body`.
    #[error("{kind} needs a body: set body to the request field carrying the resource, or \"*\"")]
    MissingBody {
        /// The operation.
        kind: RouteKind,
    },
    /// get, list or delete with a `body`.
    #[error("{kind} takes no request body; remove body {body:?}")]
    UnexpectedBody {
        /// The operation.
        kind: RouteKind,
        /// The body as written.
        body: String,
    },
    /// Two bindings match the same requests.
    #[error("{method} {shape} is bound twice: by {first} and by {second}")]
    Conflict {
        /// The HTTP method.
        method: http::Method,
        /// What both templates match, e.g. `/v1/users/*`.
        shape: String,
        /// The RPC bound first.
        first: String,
        /// The RPC bound again.
        second: String,
    },
    /// A google.api.http binding another one, declared later, shadows (a
    /// warning: grpc-gateway serves the later one too).
    #[error("{method} {shape} is bound again by {winner} at {at}, which is served instead: of google.api.http bindings of one method and template the one declared last wins, as in grpc-gateway, so this one is never served")]
    Shadowed {
        /// The HTTP method.
        method: http::Method,
        /// What both templates match, e.g. `/v1/users/*`.
        shape: String,
        /// The RPC served instead.
        winner: String,
        /// Where the winner is declared, `file:line:col`.
        at: String,
    },
    /// An explicit `item` template that does not parse.
    #[error("bad item template {template:?}: {source}")]
    BadItemTemplate {
        /// The template as written.
        template: String,
        /// Where and why.
        source: TemplateError,
    },
    /// A create whose `Location` cannot be built (a warning unless `item`
    /// was given explicitly).
    #[error("create on {template:?} answers 201 without Location: {reason}; add a replace or get route on the item, or set item")]
    NoLocation {
        /// The create template.
        template: String,
        /// Why.
        reason: LocationError,
    },
}

/// Why a load-and-compile run failed: the protos did not load, or their
/// annotations are invalid. Either way, every finding is in the diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// A file could not be read, parsed or resolved.
    #[error("{0}")]
    Load(Diagnostics),
    /// The annotations break the rules; warnings are included.
    #[error("{0}")]
    Invalid(Diagnostics),
}

impl CompileError {
    /// Every finding, in reading order.
    pub fn diagnostics(&self) -> &Diagnostics {
        match self {
            CompileError::Load(d) | CompileError::Invalid(d) => d,
        }
    }
}
