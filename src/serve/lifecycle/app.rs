//! The axum app of one worker: the operational endpoints under their
//! prefix, every other request to the pipeline's one handler, and CORS
//! when configured.

use std::sync::Arc;

use axum::extract::{Request, State};

use super::{docs, ops, Live};
use crate::serve::{handler, Gateway};

/// The app serving one fixed gateway (REST in process: no reload).
pub fn app(gateway: Arc<Gateway>) -> axum::Router {
    live_app(Arc::new(Live::fixed(gateway)))
}

/// The app serving whatever table `live` holds now. The ops prefix and
/// CORS settings are the first table's (a reload does not move them).
pub fn live_app(live: Arc<Live>) -> axum::Router {
    let first = live.gateway();
    let cors = first.shared.options.cors.clone();
    let prefix = &first.shared.options.ops_prefix;
    let mut router = ops::routes(prefix);
    if first.shared.options.docs {
        router = router.merge(docs::routes(prefix));
    }
    let router = router
        // The table of this request: a reload swaps it for later ones only.
        .fallback(|State(live): State<Arc<Live>>, request: Request| {
            handler::handle(live.gateway(), request)
        })
        .with_state(live);
    match cors {
        Some(cors) => router.layer(ops::cors_layer(&cors)),
        None => router,
    }
}
