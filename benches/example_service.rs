//! The bundled example gRPC service (`restgate::example`: users, accounts,
//! blogs, in memory) as a standalone backend, for the load benchmark
//! (`benches/load.sh`) and for trying the gateway by hand.
//!
//! ```text
//! example_service [ADDR]        # default 127.0.0.1:50051; port 0 picks a free one
//! ```
//!
//! Serves plaintext HTTP/2 gRPC on ADDR until Ctrl-C or SIGTERM, then
//! finishes the calls in flight and exits. Prints `listening on ADDR` on
//! stdout once the socket is bound.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    let addr: SocketAddr = match arg.as_deref().unwrap_or("127.0.0.1:50051").parse() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("example_service: bad address {arg:?}: {e}");
            eprintln!("usage: example_service [ADDR:PORT]");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("example_service: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(addr);
    println!("listening on {local}");
    let _ = std::io::stdout().flush();
    match restgate::example::serve(listener, shutdown()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("example_service: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
