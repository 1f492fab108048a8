//! The route compiler: descriptors + annotations → [`RouteTable`].
//!
//! In: `.proto` files (compiled in process, no `protoc`), encoded descriptor
//! sets, the encoded files an upstream's server reflection sent (fetched
//! elsewhere), or the bundled example ([`Input`]). Out: a [`RouteTable`] in which
//! every binding has its HTTP method, [`PathTemplate`], operation
//! ([`RouteKind`]), RPC, and resolved fields, or every finding of the run as
//! `file:line:col: error: message` [`Diagnostics`].
//!
//! Pure: no sockets, no async. Everything that serves, documents or generates
//! code reads the table this room builds, never the annotations themselves.

mod assemble;
mod behavior;
mod binding;
mod classify;
mod diagnostic;
mod error;
mod item_link;
mod locate;
mod location;
mod matcher;
mod route;
mod rule;
mod shadowing;
mod source;
mod table;
mod template;

pub use behavior::FieldBehavior;
pub use binding::{Body, BoundField};
pub use classify::{CompileOptions, GoogleApiCreates, KindReason};
pub use diagnostic::{Diagnostic, Diagnostics, Position, Severity};
pub use error::{CompileError, RouteError};
pub use location::{ItemUri, ItemValue, LocationError};
pub use matcher::{Captures, Lookup, RouteId};
pub use route::{Route, RouteSummary, HTTP_BODY};
pub use rule::{RestRule, RouteKind, RuleSource};
pub use source::{Descriptors, Input};
pub use table::{Compiled, RouteTable};

/// The bundled example's route `method template`, for unit tests across
/// the crate.
#[cfg(test)]
pub(crate) fn bundled_route(method: &str, template: &str) -> Route {
    let compiled =
        RouteTable::compile(&Descriptors::bundled()).expect("the bundled example compiles");
    compiled
        .table
        .route_at(method, template)
        .unwrap_or_else(|| panic!("{method} {template} missing"))
        .clone()
}
pub use template::{FieldPath, PathTemplate, Segment, TemplateError, TemplateShape, Variable};
