//! `restgate serve --demo` (and a bare `restgate`): the bundled example
//! service on a loopback port, with the gateway in front of it, and curl
//! commands to try.

use std::net::SocketAddr;

/// Starts the example gRPC service on `127.0.0.1:0` in a thread of its own
/// and returns its address. It runs until the process exits.
pub fn start_example_service() -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("restgate-example".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => return tracing::error!(error = %e, "example service cannot listen"),
                };
                if let Err(e) = super::serve(listener, std::future::pending()).await {
                    tracing::error!(error = %e, "example service stopped");
                }
            })
        })?;
    Ok(addr)
}

/// Ready-to-paste commands against a demo gateway at `base`
/// (`http://127.0.0.1:8080`): create a user, replace it, open an account
/// under it, read the account back, then the streaming methods and the
/// user's avatar (a raw body). They work as printed on a fresh demo (the
/// first user and account get id 1).
pub fn demo_commands(base: &str) -> String {
    let json = "-H 'Content-Type: application/json'";
    let ndjson = "-H 'Content-Type: application/x-ndjson'";
    [
        "# create a user: POST on the collection -> 201 Created + Location".to_owned(),
        format!(
            "curl -i -X POST {base}/v1/users {json} -d '{{\"displayName\":\"Ada Lovelace\",\"email\":\"ada@example.com\"}}'"
        ),
        "# replace it: PUT on the item (idempotent: run it twice, same state)".to_owned(),
        format!(
            "curl -i -X PUT {base}/v1/users/1 {json} -d '{{\"displayName\":\"Ada King\",\"email\":\"ada@example.com\",\"role\":\"ROLE_ADMIN\"}}'"
        ),
        "# open an account under the user -> 201 + Location: /v1/users/1/accounts/1".to_owned(),
        format!(
            "curl -i -X POST {base}/v1/users/1/accounts {json} -d '{{\"displayName\":\"Savings\",\"type\":\"ACCOUNT_TYPE_SAVINGS\"}}'"
        ),
        "# read them back".to_owned(),
        format!("curl -i {base}/v1/users/1/accounts/1"),
        format!("curl -i '{base}/v1/users?pageSize=10'"),
        "# streaming: every user, one JSON line each (NDJSON), or as Server-Sent Events".to_owned(),
        format!("curl -i -N {base}/v1/users:stream"),
        format!("curl -i -N -H 'Accept: text/event-stream' {base}/v1/users:stream"),
        "# client streaming: one user per NDJSON line -> one answer; bidirectional: a user per line asked"
            .to_owned(),
        format!(
            "curl -i {base}/v1/users:import {ndjson} --data-binary '{{\"displayName\":\"Grace Hopper\"}}'"
        ),
        format!("curl -i -N {base}/v1/users:lookup {ndjson} --data-binary '{{\"userId\":\"1\"}}'"),
        "# a raw body (google.api.HttpBody): any content type, stored and answered as sent"
            .to_owned(),
        format!(
            "curl -i -X PUT {base}/v1/users/1/avatar -H 'Content-Type: image/svg+xml' --data-binary '<svg xmlns=\"http://www.w3.org/2000/svg\"/>'"
        ),
        format!("curl -i {base}/v1/users/1/avatar"),
    ]
    .join("\n")
}
