//! Route lookup against the bundled example's compiled table, for any
//! method and path: never panics, and what it finds is consistent with the
//! table (the route exists and has that method, one capture per variable;
//! a path known for other methods lists methods, never the one asked).
#![no_main]

use libfuzzer_sys::fuzz_target;
use restgate::compile::Lookup;

const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PURGE",
];

fuzz_target!(|input: (u8, &str)| {
    let (selector, path) = input;
    let method: http::Method = METHODS[usize::from(selector) % METHODS.len()]
        .parse()
        .expect("a method");
    let table = restgate_fuzz::example_table();
    let found = table.lookup(&method, path);
    match &found {
        Lookup::Found { route, captures } => {
            let route = &table.routes()[*route];
            // HEAD is answered by the path's GET route.
            let served = if method == http::Method::HEAD {
                http::Method::GET
            } else {
                method.clone()
            };
            assert_eq!(route.method, served, "{method} {path:?}");
            assert_eq!(
                captures.len(),
                route.template.variables().len(),
                "{method} {path:?}"
            );
        }
        Lookup::MethodNotAllowed(allowed) => {
            assert!(!allowed.is_empty(), "{method} {path:?}: no method allowed");
            assert!(
                !allowed.contains(&method),
                "{method} {path:?}: its own method refused"
            );
        }
        Lookup::Options(allowed) => {
            assert_eq!(method, http::Method::OPTIONS, "{path:?}");
            assert!(
                allowed.contains(&http::Method::OPTIONS),
                "{path:?}: OPTIONS answered without itself in Allow"
            );
        }
        Lookup::NotFound => {}
    }
    assert_eq!(
        table.lookup(&method, path),
        found,
        "{method} {path:?}: not deterministic"
    );
});
