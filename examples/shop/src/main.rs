//! Serves the shop over gRPC and REST on one listener:
//! `cargo run -p shop-example -- [ADDR]` (default 127.0.0.1:8090).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "listening on http://{} (gRPC and REST)",
        listener.local_addr()?
    );
    axum::serve(listener, shop_example::app(shop_example::Shop::default())?)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
