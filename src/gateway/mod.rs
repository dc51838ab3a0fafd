//! The HTTP gateway: an axum router that turns each HTTP request into a call
//! of the gRPC service through a tonic client. It computes nothing itself, so
//! it can run on another host (`tensorwire gateway --upstream URL`).

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tower_http::trace::TraceLayer;

use anyhow::Context;

/// Settings of the HTTP gateway.
#[derive(clap::Args, Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayConfig {}

/// The gRPC client the gateway calls.
pub type Upstream = crate::proto::pb::tensor_service_client::TensorServiceClient<Channel>;

/// Serves the gateway on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    _upstream: Upstream,
    _config: GatewayConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .layer(TraceLayer::new_for_http());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("HTTP server failed")
}
