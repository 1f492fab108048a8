//! Shadowed bindings: of the `(google.api.http)` bindings claiming one
//! method and template, only the one declared last is served; the others
//! are set apart (listed, never matched) with a warning naming both.

use std::collections::HashMap;

use super::diagnostic::Diagnostic;
use super::error::RouteError;
use super::locate::Place;
use super::route::Route;
use super::template::TemplateShape;

/// Splits the declared `routes` into served and shadowed: of the
/// google.api.http bindings claiming one method and template, the one
/// declared last is served (grpc-gateway's mux tries the handler registered
/// last first, and registers bindings in declaration order); each other one
/// gets a warning naming both places.
pub(super) fn set_apart_shadowed(
    routes: Vec<Route>,
    places: &[Place],
    claimed: &HashMap<(http::Method, TemplateShape), usize>,
    found: &mut Vec<Diagnostic>,
) -> (Vec<Route>, Vec<Route>) {
    let winners: Vec<usize> = routes
        .iter()
        .map(|r| claimed[&(r.method.clone(), r.template.shape())])
        .collect();
    let names: Vec<String> = routes.iter().map(Route::rpc_name).collect();
    let (mut served, mut shadowed) = (Vec::new(), Vec::new());
    for (i, mut route) in routes.into_iter().enumerate() {
        let winner = winners[i];
        if winner == i {
            served.push(route);
            continue;
        }
        let e = RouteError::Shadowed {
            method: route.method.clone(),
            shape: route.template.shape().to_string(),
            winner: names[winner].clone(),
            at: places[winner].to_string(),
        };
        let message = format!("{}: {e}", route.rpc.full_name());
        let place = &places[i];
        found.push(Diagnostic::warning(
            place.file.clone(),
            place.position,
            message,
        ));
        route.shadowed_by = Some(names[winner].clone());
        shadowed.push(route);
    }
    (served, shadowed)
}
