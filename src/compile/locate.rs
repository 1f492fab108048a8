//! Where a finding points: [`Locator`] finds an RPC's annotation (and the
//! text inside it a finding is about) in its file, as `file:line:col`;
//! [`Place`] is where a binding is declared, for findings naming another.

use prost_reflect::{FileDescriptor, MethodDescriptor};

use super::binding::Role;
use super::diagnostic::{Diagnostic, Position};
use super::error::RouteError;
use super::location;
use super::route::Route;
use super::rule::{RestRule, RouteKind, RuleSource};
use super::source::Descriptors;
use super::template::PathTemplate;

/// Where a binding is declared, for findings that name another binding.
#[derive(Debug, Clone)]
pub(super) struct Place {
    /// The file as the user knows it.
    pub(super) file: String,
    pub(super) position: Option<Position>,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some(Position { line, column }) => write!(f, "{}:{line}:{column}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// Which text of the rule a finding should point at.
pub(super) fn needle<'r>(rule: &'r RestRule, error: &RouteError) -> &'r str {
    match error {
        RouteError::Binding(b) => match b.role() {
            Role::Body => &rule.body,
            Role::ResponseBody => &rule.response_body,
            Role::PathVariable => &rule.template,
        },
        RouteError::MissingBody { .. } | RouteError::Rule(_) => "",
        RouteError::UnexpectedBody { .. } => &rule.body,
        RouteError::BadItemTemplate { .. } => &rule.item,
        _ => &rule.template,
    }
}

/// Points findings about one RPC at its annotation.
pub(super) struct Locator<'a> {
    pub(super) descriptors: &'a Descriptors,
    pub(super) file: &'a FileDescriptor,
    pub(super) rpc: &'a MethodDescriptor,
}

impl Locator<'_> {
    pub(super) fn position(
        &self,
        source: Option<RuleSource>,
        needle: &str,
        inside: Option<usize>,
    ) -> Option<Position> {
        let method_path = self.rpc.path();
        let needle = (!needle.is_empty()).then_some((needle, inside));
        let option_path = |ext: i32| [method_path, &[4, ext]].concat();
        let mut tries: Vec<Vec<i32>> = match source {
            Some(s) => vec![option_path(s.extension())],
            None => vec![
                option_path(RuleSource::Rest.extension()),
                option_path(RuleSource::Http.extension()),
            ],
        };
        tries.push([method_path, &[4]].concat());
        tries.push(method_path.to_vec());
        tries
            .iter()
            .find_map(|p| self.descriptors.position(self.file, p, needle))
    }

    /// Where `rule`, the `nth` of its RPC with that template text, is declared.
    pub(super) fn place(&self, rule: &RestRule, nth: usize) -> Place {
        let method_path = self.rpc.path();
        let option = [method_path, &[4, rule.source.extension()]].concat();
        let position = self
            .descriptors
            .position_nth(self.file, &option, Some((&rule.template, None)), nth)
            .or_else(|| self.position(Some(rule.source), &rule.template, None));
        Place {
            file: self.descriptors.display_name(self.file),
            position,
        }
    }

    fn finding(
        &self,
        rule: Option<&RestRule>,
        needle: &str,
        e: RouteError,
        warn: bool,
    ) -> Diagnostic {
        let inside = match &e {
            RouteError::BadTemplate { source, .. } | RouteError::BadItemTemplate { source, .. } => {
                Some(source.offset)
            }
            _ => None,
        };
        let position = self.position(rule.map(|r| r.source), needle, inside);
        let file = self.descriptors.display_name(self.file);
        let message = format!("{}: {e}", self.rpc.full_name());
        if warn {
            Diagnostic::warning(file, position, message)
        } else {
            Diagnostic::error(file, position, message)
        }
    }

    pub(super) fn error(&self, rule: Option<&RestRule>, needle: &str, e: RouteError) -> Diagnostic {
        self.finding(rule, needle, e, false)
    }

    /// For a create with an explicit `item`: builds its Location now.
    pub(super) fn derive_location(
        &self,
        rule: &RestRule,
        routes: &mut [Route],
        found: &mut Vec<Diagnostic>,
    ) {
        let Some(route) = routes.last_mut() else {
            return;
        };
        if route.kind != RouteKind::Create || rule.item.is_empty() {
            return;
        }
        let item = match PathTemplate::parse(&rule.item) {
            Ok(item) => item,
            Err(source) => {
                let e = RouteError::BadItemTemplate {
                    template: rule.item.clone(),
                    source,
                };
                found.push(self.error(Some(rule), &rule.item, e));
                return;
            }
        };
        match location::item_uri(&route.template, &item, &route.rpc.output()) {
            Ok(uri) => route.location = Some(uri),
            Err(reason) => {
                let e = RouteError::NoLocation {
                    template: rule.template.clone(),
                    reason,
                };
                found.push(self.error(Some(rule), &rule.item, e));
            }
        }
    }
}
