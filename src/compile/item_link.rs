//! The `Location` of creates without an explicit `item`: each is linked,
//! once every binding is known, to the replace or get route of its item.

use super::classify::KindReason;
use super::diagnostic::Diagnostic;
use super::error::RouteError;
use super::locate::Locator;
use super::location::{self, LocationError};
use super::route::Route;
use super::rule::{RouteKind, RuleSource};
use super::source::Descriptors;

/// Derives `Location` for every create that has none yet from its item
/// route. A `(restgate.rest)` create left without one gets a warning; a
/// `(google.api.http)` `post` left without one creates nothing: a plain POST
/// answering 200.
pub(super) fn link_locations(
    descriptors: &Descriptors,
    routes: &mut [Route],
    found: &mut Vec<Diagnostic>,
) {
    for i in 0..routes.len() {
        let create = &routes[i];
        if create.kind != RouteKind::Create || create.location.is_some() {
            continue;
        }
        let service = create.rpc.parent_service();
        let mut candidates: Vec<&Route> = routes
            .iter()
            .filter(|r| matches!(r.kind, RouteKind::Replace | RouteKind::Get))
            .filter(|r| location::is_item_of(&create.template, &r.template))
            .collect();
        // Prefer the same service, then replace over get.
        candidates.sort_by_key(|r| {
            (
                r.rpc.parent_service() != service,
                r.kind != RouteKind::Replace,
            )
        });
        let mut reason = LocationError::NoItemRoute {
            wanted: location::wanted_shape(&create.template),
        };
        let mut derived = None;
        for item in candidates {
            match location::item_uri(&create.template, &item.template, &create.rpc.output()) {
                Ok(uri) => {
                    derived = Some((uri, format!("{} {}", item.method, item.template)));
                    break;
                }
                Err(e) => reason = e,
            }
        }
        match derived {
            Some((uri, item)) => {
                let create = &mut routes[i];
                create.location = Some(uri);
                if create.source == RuleSource::Http {
                    create.reason = Some(KindReason::Creates { item });
                }
            }
            None if create.source == RuleSource::Rest => {
                let file = create.rpc.parent_file();
                let at = Locator {
                    descriptors,
                    file: &file,
                    rpc: &create.rpc,
                };
                let e = RouteError::NoLocation {
                    template: create.template.as_str().to_owned(),
                    reason,
                };
                let rule_source = create.source;
                let template = create.template.as_str().to_owned();
                let position = at.position(Some(rule_source), &template, None);
                let message = format!("{}: {e}", create.rpc.full_name());
                found.push(Diagnostic::warning(
                    descriptors.display_name(&file),
                    position,
                    message,
                ));
            }
            None => {
                let post = &mut routes[i];
                post.kind = RouteKind::Custom;
                post.reason = Some(KindReason::NoItem(reason));
            }
        }
    }
}
