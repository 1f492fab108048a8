//! The query-string mapper: any query string against any route of the
//! fixture service (every scalar, enum, repeated, map, nested and
//! well-known field): never panics, and whatever it refuses is the
//! client's error (a 400), never the gateway's (a 500).
#![no_main]

use libfuzzer_sys::fuzz_target;
use restgate::transcode::{build_request, system_params, JsonOptions, RequestParts};

fuzz_target!(|input: (u8, &str)| {
    let (selector, query) = input;
    let table = restgate_fuzz::fixture_table();
    let routes = table.routes();
    let route = &routes[usize::from(selector) % routes.len()];
    if let Err(e) = system_params(route, Some(query)) {
        assert!(e.is_client_error(), "{query:?}: {e}");
    }
    let captures = vec!["1".to_owned(); route.template.variables().len()];
    let parts = RequestParts {
        captures: &captures,
        query: Some(query),
        body: b"",
        content_type: None,
    };
    let options = JsonOptions {
        deny_unknown_fields: selector & 0x80 == 0,
        ..JsonOptions::default()
    };
    if let Err(e) = build_request(route, parts, &options) {
        assert!(e.is_client_error(), "{} ?{query}: {e}", route.template);
    }
});
