//! Unit tests of the OpenAPI path rendering.
use super::*;

/// (template, suffix, OpenAPI path, [(parameter, pattern)])
type Case = (
    &'static str,
    usize,
    &'static str,
    &'static [(&'static str, Option<&'static str>)],
);

fn rendered(template: &str, suffix: usize) -> OpenApiPath {
    render(
        &PathTemplate::parse(template).unwrap(),
        suffix,
        PathParams::Template,
    )
}

fn expanded(template: &str) -> OpenApiPath {
    render(
        &PathTemplate::parse(template).unwrap(),
        0,
        PathParams::Expanded,
    )
}

#[test]
fn expanded_variables_become_one_parameter_per_segment() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("/v1/users/{user_id}", "/v1/users/{user_id}", &["user_id"]),
        (
            "/v1/{name=blogs/*/posts/*}",
            "/v1/blogs/{blog}/posts/{post}",
            &["blog", "post"],
        ),
        (
            "/v1/{parent=blogs/*}/posts",
            "/v1/blogs/{blog}/posts",
            &["blog"],
        ),
        (
            "/v1/{name=blogs/*/posts/*}:publish",
            "/v1/blogs/{blog}/posts/{post}:publish",
            &["blog", "post"],
        ),
        (
            "/v1/{name=shelves/*/users/*/users/*}",
            "/v1/shelves/{shelve}/users/{user}/users/{user2}",
            &["shelve", "user", "user2"],
        ),
        (
            "/v1/{name=*/things/*}/{thing}",
            "/v1/{name}/things/{thing2}/{thing}",
            &["name", "thing2", "thing"],
        ),
        ("/v1/posts/{name=**}", "/v1/posts/{name}", &["name"]),
        (
            "/v1/{book.name=shelves/*/books/**}",
            "/v1/{book.name}",
            &["book.name"],
        ),
        ("/v1/{a=x/*}", "/v1/x/{x}", &["x"]),
    ];
    for (template, path, names) in cases {
        let got = expanded(template);
        assert_eq!(got.path, *path, "{template}");
        let got_names: Vec<&str> = got.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(got_names, *names, "{template}");
    }
    let got = expanded("/v1/{name=blogs/*/posts/*}");
    assert_eq!(got.params[1].variable, Some(0));
    assert_eq!(got.params[1].segments, 4..5);
    assert_eq!(
        got.params[1].segment_of.as_deref(),
        Some("blogs/{blog}/posts/{post}")
    );
    assert_eq!(got.params[1].pattern, None);
    let suffixed = render(
        &PathTemplate::parse("/v1/{parent=blogs/*}/posts").unwrap(),
        1,
        PathParams::Expanded,
    );
    assert_eq!(suffixed.path, "/v1/blogs/{blog_1}/posts");
    assert_eq!("template".parse(), Ok(PathParams::Template));
    assert!("both".parse::<PathParams>().is_err());
}

#[test]
fn templates_become_openapi_paths() {
    let cases: &[Case] = &[
        ("/v1/users", 0, "/v1/users", &[]),
        (
            "/v1/users/{user_id}",
            0,
            "/v1/users/{user_id}",
            &[("user_id", None)],
        ),
        (
            "/v1/users/{user_id=*}/accounts",
            0,
            "/v1/users/{user_id}/accounts",
            &[("user_id", None)],
        ),
        (
            "/v1/{name=blogs/*/posts/*}",
            0,
            "/v1/{name}",
            &[("name", Some("^blogs/[^/]+/posts/[^/]+$"))],
        ),
        (
            "/v1/{name=blogs/*/posts/*}:publish",
            0,
            "/v1/{name}:publish",
            &[("name", Some("^blogs/[^/]+/posts/[^/]+$"))],
        ),
        (
            "/v1/posts/{name=**}",
            0,
            "/v1/posts/{name}",
            &[("name", Some("^.*$"))],
        ),
        (
            "/v1/{book.name=shelves/*/books/**}",
            0,
            "/v1/{book.name}",
            &[("book.name", Some("^shelves/[^/]+/books(/.*)?$"))],
        ),
        (
            "/v1/{name=shelves/*}",
            2,
            "/v1/{name_2}",
            &[("name_2", Some("^shelves/[^/]+$"))],
        ),
        (
            "/v1/*/things/{id}/**",
            0,
            "/v1/{wildcard1}/things/{id}/{wildcard2}",
            &[
                ("wildcard1", None),
                ("id", None),
                ("wildcard2", Some("^.*$")),
            ],
        ),
        ("/v1/a%20b/x.y:do", 0, "/v1/a%20b/x.y:do", &[]),
        (
            "/v1/{a=x.y/*}",
            0,
            "/v1/{a}",
            &[("a", Some("^x\\.y/[^/]+$"))],
        ),
    ];
    for (template, suffix, path, params) in cases {
        let got = rendered(template, *suffix);
        assert_eq!(got.path, *path, "{template}");
        let names: Vec<(&str, Option<&str>)> = got
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.pattern.as_deref()))
            .collect();
        assert_eq!(names, *params, "{template}");
    }
}

#[test]
fn multi_segment_variables_keep_their_expansion() {
    let got = rendered("/v1/{parent=blogs/*}/posts/{post}", 0);
    assert_eq!(got.params[0].expansion.as_deref(), Some("blogs/*"));
    assert_eq!(got.params[0].variable, Some(0));
    assert_eq!(got.params[1].expansion, None);
    assert_eq!(got.params[1].variable, Some(1));
    let got = rendered("/v1/{wildcard1}/*", 0);
    assert_eq!(got.path, "/v1/{wildcard1}/{_wildcard1}");
}
