//! The hostile requests of `hostile_inputs.rs` and what each gets, against
//! the fixture service's routes (`proto/testing/v1/fixture.proto`:
//! `POST /v1/echo` reads a whole `Thing`, which has every kind of field).

/// What a case is answered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expect {
    /// This status with the gateway's JSON error body.
    Json(u16),
    /// This status from hyper, with no body: refused while reading the head.
    Bare(u16),
}

/// One hostile request: its raw bytes and its answer.
#[derive(Debug)]
pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) expect: Expect,
    /// Whether the client closes its sending side after the bytes (for a
    /// body cut short: the gateway learns of it only then). Otherwise the
    /// connection stays open until the gateway closes it (`Connection:
    /// close`): hyper drops a connection whose client half-closed before
    /// the answer was written.
    pub(crate) hang_up: bool,
}

fn case(name: impl Into<String>, bytes: impl Into<Vec<u8>>, expect: Expect) -> Case {
    Case {
        name: name.into(),
        bytes: bytes.into(),
        expect,
        hang_up: false,
    }
}

/// [`case`], the client closing its side once the bytes are sent.
fn cut_short(name: impl Into<String>, bytes: impl Into<Vec<u8>>, expect: Expect) -> Case {
    Case {
        hang_up: true,
        ..case(name, bytes, expect)
    }
}

/// A request head (request line, `Host`, `Connection: close`, `extra`
/// header lines) followed by `body`.
fn request(method: &str, path: &str, extra: &[&str], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// `method path` with a JSON body and its length.
fn json_to(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let length = format!("Content-Length: {}", body.len());
    request(
        method,
        path,
        &["Content-Type: application/json", &length],
        body,
    )
}

/// `POST /v1/echo` with a JSON body.
fn echo(body: &[u8]) -> Vec<u8> {
    json_to("POST", "/v1/echo", body)
}

fn get(path: &str) -> Vec<u8> {
    request("GET", path, &[], b"")
}

/// Every case.
pub(crate) fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(malformed_json());
    cases.extend(wrong_types());
    cases.extend(overflowing_numbers());
    cases.extend(bad_utf8());
    cases.extend(deep_and_huge());
    cases.extend(duplicates_in_the_body());
    cases.extend(paths());
    cases.extend(queries());
    cases.extend(headers());
    cases.extend(smuggling_and_framing());
    cases
}

fn malformed_json() -> Vec<Case> {
    let bodies: [&[u8]; 20] = [
        b"{",
        b"}",
        b"[",
        b"{\"id\":",
        b"{\"id\":\"a\"",
        b"{\"id\":\"a\",}",
        b"{id:\"a\"}",
        b"{'id':'a'}",
        b"nul",
        b"tru",
        b"\"unterminated",
        b"{\"id\":\"a\"}}",
        b"{\"id\":\"a\"} {\"id\":\"b\"}",
        b"{\"id\":\"\\u12\"}",
        b"{\"id\":\"\\x\"}",
        b"{\"id\" \"a\"}",
        b"{\"small\":01}",
        b"{\"small\":+1}",
        b"{\"ratio\":NaN}",
        b"{\"id\":\"a\"\x00}",
    ];
    let mut cases: Vec<Case> = bodies
        .iter()
        .map(|b| {
            case(
                format!("malformed JSON {}", String::from_utf8_lossy(b)),
                echo(b),
                Expect::Json(400),
            )
        })
        .collect();
    // A good body cut short at every few bytes.
    let whole = br#"{"id":"x","big":"12","tags":["a","b"],"labels":{"k":"v"},"nested":{"name":"n","count":2}}"#;
    for cut in (1..whole.len()).step_by(9) {
        cases.push(case(
            format!("JSON truncated at byte {cut}"),
            echo(&whole[..cut]),
            Expect::Json(400),
        ));
    }
    cases
}

fn wrong_types() -> Vec<Case> {
    let bodies: [&str; 24] = [
        r#"[]"#,
        r#""a string""#,
        r#"42"#,
        r#"true"#,
        r#"{"id":1}"#,
        r#"{"id":{}}"#,
        r#"{"big":true}"#,
        r#"{"small":"abc"}"#,
        r#"{"small":{}}"#,
        r#"{"flag":"yes"}"#,
        r#"{"flag":1}"#,
        r#"{"tags":"a"}"#,
        r#"{"tags":[1]}"#,
        r#"{"labels":[]}"#,
        r#"{"labels":{"k":1}}"#,
        r#"{"nested":"x"}"#,
        r#"{"color":"PURPLE"}"#,
        r#"{"color":true}"#,
        r#"{"at":"yesterday"}"#,
        r#"{"ttl":"5"}"#,
        r#"{"blob":"!!!"}"#,
        r#"{"byNumber":{"x":{}}}"#,
        r#"{"ratio":"fast"}"#,
        r#"{"nope":1}"#,
    ];
    bodies
        .iter()
        .map(|b| {
            case(
                format!("wrong type {b}"),
                echo(b.as_bytes()),
                Expect::Json(400),
            )
        })
        .collect()
}

fn overflowing_numbers() -> Vec<Case> {
    let bodies: [&str; 14] = [
        r#"{"small":2147483648}"#,
        r#"{"small":-2147483649}"#,
        r#"{"small":1e10}"#,
        r#"{"small":1.5}"#,
        r#"{"big":"9223372036854775808"}"#,
        r#"{"big":9223372036854775808}"#,
        r#"{"big":-9223372036854775809}"#,
        r#"{"big":1e19}"#,
        r#"{"ubig":-1}"#,
        r#"{"ubig":"18446744073709551616"}"#,
        r#"{"ratio":1e999}"#,
        r#"{"maybe":9223372036854775808}"#,
        r#"{"byNumber":{"2147483648":{}}}"#,
        r#"{"bigs":[1,"99999999999999999999"]}"#,
    ];
    bodies
        .iter()
        .map(|b| {
            case(
                format!("overflow {b}"),
                echo(b.as_bytes()),
                Expect::Json(400),
            )
        })
        .collect()
}

fn bad_utf8() -> Vec<Case> {
    let bodies: [&[u8]; 6] = [
        b"{\"id\":\"\xff\"}",
        b"{\"id\":\"\xc0\xaf\"}",
        b"{\"id\":\"\xe2\x82\"}",
        b"{\"\xfe\":1}",
        b"{\"id\":\"\\ud800\"}",
        b"{\"id\":\"\xed\xa0\x80\"}",
    ];
    bodies
        .iter()
        .enumerate()
        .map(|(i, b)| case(format!("bad UTF-8 #{i}"), echo(b), Expect::Json(400)))
        .collect()
}

fn deep_and_huge() -> Vec<Case> {
    let nested = |depth: usize| {
        let mut body = "{\"nested\":".to_owned();
        body.push_str(&"{\"child\":".repeat(depth));
        body.push_str("{}");
        body.push_str(&"}".repeat(depth + 1));
        body.into_bytes()
    };
    let arrays = |depth: usize| {
        let mut body = "{\"extra\":{\"a\":".to_owned();
        body.push_str(&"[".repeat(depth));
        body.push_str(&"]".repeat(depth));
        body.push_str("}}");
        body.into_bytes()
    };
    let many = |n: usize, last: &str| {
        let mut body = "{\"tags\":[".to_owned();
        body.push_str(&"\"\",".repeat(n));
        body.push_str(last);
        body.push_str("]}");
        body.into_bytes()
    };
    vec![
        case(
            "messages nested 200 deep",
            echo(&nested(200)),
            Expect::Json(400),
        ),
        case(
            "messages nested 100000 deep",
            echo(&nested(100_000)),
            Expect::Json(400),
        ),
        case(
            "Struct arrays nested 10000 deep",
            echo(&arrays(10_000)),
            Expect::Json(400),
        ),
        case(
            "bare arrays nested 100000 deep",
            echo("[".repeat(100_000).as_bytes()),
            Expect::Json(400),
        ),
        case(
            "a million strings, the last a number",
            echo(&many(1_000_000, "1")),
            Expect::Json(400),
        ),
        case(
            "an array past the body limit",
            echo(&many(1_500_000, "\"\"")),
            Expect::Json(413),
        ),
        case(
            "a string past the body limit",
            echo(format!("{{\"id\":\"{}\"}}", "x".repeat(5 << 20)).as_bytes()),
            Expect::Json(413),
        ),
    ]
}

fn duplicates_in_the_body() -> Vec<Case> {
    let bodies: [&str; 5] = [
        r#"{"id":"a","id":"b"}"#,
        r#"{"id":"a","id":"a"}"#,
        r#"{"byNumber":{},"by_number":{}}"#,
        r#"{"word":"a","number":1}"#,
        r#"{"nested":{"name":"a","name":"b"}}"#,
    ];
    bodies
        .iter()
        .map(|b| {
            case(
                format!("duplicate {b}"),
                echo(b.as_bytes()),
                Expect::Json(400),
            )
        })
        .collect()
}

fn paths() -> Vec<Case> {
    // Not here, as they are served: `/v1/echo/%ZZ` and `/v1/echo/%` (an
    // invalid escape is kept as the text `%ZZ`).
    let refused: [(&str, u16); 12] = [
        ("/v1/echo/%FF", 400),
        ("/v1/echo/%C0%AF", 400),
        ("/v1/echo/a%2Fb/nested/x", 404),
        ("/v1/echo%2F1", 404),
        ("/v1/../etc/passwd", 404),
        ("/v1/echo/1/../../../admin", 404),
        ("/..%2F..%2Fetc%2Fpasswd", 404),
        ("/v1/%2E%2E/echo/1/x", 404),
        ("/v1/sleep/abc", 400),
        ("/v1/sleep/99999999999999999999", 400),
        ("/v1/fail/1.5", 400),
        ("/v1/shelves/1/widgets/2/..", 404),
    ];
    let mut cases: Vec<Case> = refused
        .iter()
        .map(|(path, status)| case(format!("path {path}"), get(path), Expect::Json(*status)))
        .collect();
    cases.push(case(
        "DELETE on a POST-only path",
        request("DELETE", "/v1/echo", &[], b""),
        Expect::Json(405),
    ));
    cases.push(case(
        "an unknown method",
        request("BREW", "/v1/echo", &[], b""),
        Expect::Json(405),
    ));
    cases
}

fn queries() -> Vec<Case> {
    let queries: [&str; 12] = [
        "small=abc",
        "small=99999999999",
        "nope=1",
        "ratio=1e400",
        "id=other",
        "color=PURPLE",
        "flag=maybe",
        "at=notatime",
        "$alt=xml",
        "big=9223372036854775808",
        "nested.count=x",
        "labels=1",
    ];
    queries
        .iter()
        .map(|q| {
            case(
                format!("query {q}"),
                get(&format!("/v1/echo/1?{q}")),
                Expect::Json(400),
            )
        })
        .collect()
}

fn headers() -> Vec<Case> {
    let big = format!("X-Big: {}", "x".repeat(70 * 1024));
    let many: Vec<String> = (0..120).map(|i| format!("X-Many-{i}: {i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let body = br#"{"id":"a"}"#;
    vec![
        case(
            "a header past --max-header-bytes",
            request("GET", "/v1/echo/1", &[&big], b""),
            Expect::Json(431),
        ),
        case(
            "more headers than hyper reads",
            request("GET", "/v1/echo/1", &many, b""),
            Expect::Bare(431),
        ),
        case(
            "a request line past --max-uri-bytes",
            get(&format!("/v1/echo/{}", "x".repeat(10 * 1024))),
            Expect::Json(414),
        ),
        case(
            "a text/plain body to a JSON route",
            request(
                "POST",
                "/v1/echo",
                &["Content-Type: text/plain", "Content-Length: 10"],
                body,
            ),
            Expect::Json(415),
        ),
        case(
            "two Idempotency-Keys",
            request(
                "POST",
                "/v1/shelves/1/widgets",
                &[
                    "Content-Type: application/json",
                    "Idempotency-Key: a",
                    "Idempotency-Key: b",
                    "Content-Length: 10",
                ],
                body,
            ),
            Expect::Json(400),
        ),
        case(
            "two Content-Types",
            request(
                "POST",
                "/v1/echo",
                &[
                    "Content-Type: application/json",
                    "Content-Type: text/plain",
                    "Content-Length: 10",
                ],
                body,
            ),
            Expect::Json(400),
        ),
        case(
            "a Grpc-Timeout with no unit",
            request(
                "POST",
                "/v1/echo",
                &[
                    "Content-Type: application/json",
                    "Grpc-Timeout: 100",
                    "Content-Length: 10",
                ],
                body,
            ),
            Expect::Json(400),
        ),
        case(
            "a malformed If-Match",
            json_to("PUT", "/v1/shelves/1/widgets/2", body),
            Expect::Json(400),
        ),
    ]
}

/// Both `Content-Length` and `Transfer-Encoding: chunked`: hyper reads the
/// body as chunked and ignores the length (RFC 9112 §6.3), so it is served;
/// `hostile_inputs.rs` checks that apart.
pub(crate) fn length_and_chunked() -> Vec<u8> {
    request(
        "POST",
        "/v1/echo",
        &[
            "Content-Type: application/json",
            "Content-Length: 4",
            "Transfer-Encoding: chunked",
        ],
        b"a\r\n{\"id\":\"a\"}\r\n0\r\n\r\nGET /v1/echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    )
}

fn smuggling_and_framing() -> Vec<Case> {
    let body = br#"{"id":"a"}"#;
    let chunked = b"a\r\n{\"id\":\"a\"}\r\n0\r\n\r\n";
    vec![
        case(
            "two different Content-Lengths",
            request(
                "POST",
                "/v1/echo",
                &[
                    "Content-Type: application/json",
                    "Content-Length: 10",
                    "Content-Length: 4",
                ],
                body,
            ),
            Expect::Bare(400),
        ),
        case(
            "a Content-Length list",
            request(
                "POST",
                "/v1/echo",
                &["Content-Type: application/json", "Content-Length: 10, 4"],
                body,
            ),
            Expect::Bare(400),
        ),
        case(
            "a negative Content-Length",
            request("POST", "/v1/echo", &["Content-Length: -1"], body),
            Expect::Bare(400),
        ),
        case(
            "a Content-Length that is not a number",
            request("POST", "/v1/echo", &["Content-Length: ten"], body),
            Expect::Bare(400),
        ),
        case(
            "chunked, then gzip: chunked not last",
            request(
                "POST",
                "/v1/echo",
                &[
                    "Content-Type: application/json",
                    "Transfer-Encoding: chunked, gzip",
                ],
                chunked,
            ),
            Expect::Bare(400),
        ),
        case(
            "an unknown transfer coding",
            request(
                "POST",
                "/v1/echo",
                &[
                    "Content-Type: application/json",
                    "Transfer-Encoding: xchunked",
                ],
                chunked,
            ),
            Expect::Bare(400),
        ),
        case(
            "a space before the colon",
            request(
                "POST",
                "/v1/echo",
                &["Content-Type: application/json", "Content-Length : 10"],
                body,
            ),
            Expect::Bare(400),
        ),
        case(
            "an obs-fold header line",
            request("GET", "/v1/echo/1", &["X-A: a", " folded"], b""),
            Expect::Bare(400),
        ),
        case(
            "a header name with a space",
            request("GET", "/v1/echo/1", &["X Bad: a"], b""),
            Expect::Bare(400),
        ),
        case(
            "a bare LF in a header value",
            request("GET", "/v1/echo/1", &["X-A: a\nb"], b""),
            Expect::Bare(400),
        ),
        case(
            "HTTP/9.9",
            b"GET /v1/echo/1 HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
            Expect::Bare(400),
        ),
        case(
            "no version",
            b"GET /v1/echo/1\r\n\r\n".to_vec(),
            Expect::Bare(400),
        ),
        case(
            "a request line of junk",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec(),
            Expect::Bare(400),
        ),
        case(
            "a chunk size that is not hex",
            request(
                "POST",
                "/v1/echo",
                &[
                    "Content-Type: application/json",
                    "Transfer-Encoding: chunked",
                ],
                b"zz\r\n{}\r\n0\r\n\r\n",
            ),
            Expect::Json(400),
        ),
        case(
            "a chunk size that overflows",
            request(
                "POST",
                "/v1/echo",
                &[
                    "Content-Type: application/json",
                    "Transfer-Encoding: chunked",
                ],
                b"ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
            ),
            Expect::Json(400),
        ),
        cut_short(
            "a chunked body cut short",
            request(
                "POST",
                "/v1/echo",
                &[
                    "Content-Type: application/json",
                    "Transfer-Encoding: chunked",
                ],
                b"a\r\n{\"id\"",
            ),
            Expect::Json(400),
        ),
        cut_short(
            "a body shorter than its Content-Length",
            request(
                "POST",
                "/v1/echo",
                &["Content-Type: application/json", "Content-Length: 100"],
                body,
            ),
            Expect::Json(400),
        ),
        case(
            "a Content-Length past the body limit",
            request(
                "POST",
                "/v1/echo",
                &[
                    "Content-Type: application/json",
                    "Content-Length: 99999999999",
                ],
                body,
            ),
            Expect::Json(413),
        ),
        case(
            "a request smuggled after a GET's body",
            request(
                "GET",
                "/v1/fail/x",
                &["Content-Length: 37"],
                b"GET /v1/echo/smuggled HTTP/1.1\r\n\r\n",
            ),
            Expect::Json(400),
        ),
    ]
}
