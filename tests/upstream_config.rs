//! Upstreams from the config file, through the real binary: two named
//! upstreams with two endpoints each; one endpoint of each is killed
//! mid-test and traffic moves to the other without a failed request.

#[path = "support/backend.rs"]
mod backend;
mod support;

use backend::Backend;
use serde_json::json;
use support::Gateway;

/// The example's protos as the `[input]` of a config file: the descriptors
/// come from files, and the backends count only the calls made for
/// requests.
const EXAMPLE_INPUT: &str = "[input]\nproto = [\"proto/examples/v1/users.proto\", \"proto/examples/v1/blogs.proto\"]\ninclude = [\"proto\"]\n\n";

#[tokio::test]
async fn two_upstreams_of_two_endpoints_survive_losing_one_each() {
    let mut users_a = Backend::plain().await;
    let users_b = Backend::plain().await;
    let mut rest_a = Backend::plain().await;
    let rest_b = Backend::plain().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("restgate.toml");
    std::fs::write(
        &config,
        format!(
            "{EXAMPLE_INPUT}[upstreams.users]\nendpoints = [\"{}\", \"{}\"]\nservices = [\"examples.v1.UserService\"]\nconnect-timeout = \"1s\"\n\n\
             [upstreams.rest]\nendpoints = [\"{}\", \"{}\"]\n",
            users_a.uri("http"),
            users_b.uri("http"),
            rest_a.uri("http"),
            rest_b.uri("http"),
        ),
    )
    .unwrap();
    let gw = Gateway::start(&["--config", config.to_str().unwrap()]).await;

    // Both endpoints of each upstream serve. GET is answered by whichever
    // endpoint is picked: each keeps its own users, so a list is 200 either way.
    for _ in 0..8 {
        gw.get("/v1/users").await.assert_json(200);
        gw.get("/v1/blogs/1").await.assert_error(404, 5);
    }
    assert!(
        users_a.calls() > 0 && users_b.calls() > 0,
        "users: {} / {}",
        users_a.calls(),
        users_b.calls()
    );
    assert!(
        rest_a.calls() > 0 && rest_b.calls() > 0,
        "rest: {} / {}",
        rest_a.calls(),
        rest_b.calls()
    );
    assert_eq!(users_a.calls() + users_b.calls(), 8);

    // Lose one endpoint of each: every later request succeeds on the other,
    // creates (never retried) included.
    users_a.kill().await;
    rest_a.kill().await;
    let (users_before, rest_before) = (users_b.calls(), rest_b.calls());
    for i in 0..10 {
        let reply = gw
            .post("/v1/users", &json!({"displayName": format!("u{i}")}))
            .await;
        reply.assert_json(201);
        gw.post("/v1/blogs", &json!({"title": format!("b{i}")}))
            .await
            .assert_json(201);
    }
    assert_eq!(users_b.calls() - users_before, 10);
    assert_eq!(rest_b.calls() - rest_before, 10);
}

#[tokio::test]
async fn a_tls_upstream_with_a_test_ca_from_the_config_file() {
    let pki = backend::Pki::new();
    let backend = Backend::tls(pki.server_config(false)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("restgate.toml");
    std::fs::write(
        &config,
        format!(
            "{EXAMPLE_INPUT}[upstreams.secure]\nendpoints = [\"{}\"]\n[upstreams.secure.tls]\nca-file = \"{}\"\n",
            backend.uri("https"),
            pki.ca.display()
        ),
    )
    .unwrap();
    let gw = Gateway::start(&["--config", config.to_str().unwrap()]).await;
    let created = gw
        .post("/v1/users", &json!({"displayName": "over TLS"}))
        .await;
    assert_eq!(created.assert_json(201)["displayName"], "over TLS");
    assert_eq!(backend.calls(), 1);

    // The wrong CA: the upstream is unreachable, not silently trusted.
    std::fs::write(
        &config,
        format!(
            "{EXAMPLE_INPUT}[upstreams.secure]\nendpoints = [\"{}\"]\n[upstreams.secure.tls]\nca-file = \"{}\"\n",
            backend.uri("https"),
            pki.other_ca.display()
        ),
    )
    .unwrap();
    let gw = Gateway::start(&["--config", config.to_str().unwrap()]).await;
    gw.get("/v1/users/1").await.assert_error(503, 14);
    assert_eq!(backend.calls(), 1);
}

#[tokio::test]
async fn an_upstream_timeout_bounds_its_calls() {
    let fixture = support::start_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("restgate.toml");
    std::fs::write(
        &config,
        format!(
            "timeout = \"30s\"\n[input]\nproto = [\"proto/testing/v1/fixture.proto\"]\ninclude = [\"proto\"]\n\
             [upstreams.slow]\nendpoints = [\"http://{}\"]\ntimeout = \"300ms\"\n",
            fixture.addr
        ),
    )
    .unwrap();
    let gw = Gateway::start(&["--config", config.to_str().unwrap()]).await;
    gw.get("/v1/sleep/2000").await.assert_error(504, 4);
    gw.get("/v1/sleep/10").await.assert_json(200);
}
