//! The load benchmark's in-process target (`benches/load.sh`, target
//! `inprocess`): the bundled example service with its REST routes served in
//! process by `restgate::serve::InProcess`, gRPC and REST on one listener,
//! on tokio's default multi-thread runtime as a tonic server usually runs.
//!
//! ```text
//! in_process --listen 127.0.0.1:8080
//! ```

use restgate::example::ExampleState;
use restgate::serve::{grpc_and_rest, InProcess};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let mut listen = "127.0.0.1:8080".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            other => {
                return Err(
                    format!("unknown argument {other:?}; usage: in_process --listen ADDR").into(),
                )
            }
        }
    }
    let state = ExampleState::new();
    let (users, accounts, blogs) = state.services();
    let rest = InProcess::new(restgate::pb::DESCRIPTOR_SET)?
        .service(users)
        .service(accounts)
        .service(blogs)
        .router()?;
    let app = grpc_and_rest(state.routes(), rest);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
