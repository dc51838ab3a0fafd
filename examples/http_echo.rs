//! The floor for the gateway benchmarks (`bench/gateway_vs_flask.sh`): an
//! HTTP server that does nothing but read each POST body whole and send the
//! same bytes back (axum on tokio, like the gateway; no parsing, no gRPC,
//! no filter). Whatever the gateway does per request costs at least this
//! much on the same machine, so the ratio of the two says how much of a
//! workload's time is moving its bytes through HTTP at all.
//!
//! usage: cargo run --release --example http_echo -- [ADDR]   (default 127.0.0.1:0)
//! Prints `listening on ADDR` once bound.

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let app = Router::new()
        .fallback(post(|body: Bytes| async move { body }))
        .layer(DefaultBodyLimit::max(1 << 30));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
