//! Starting the listeners: the gRPC service (with reflection and health) and
//! the HTTP gateway, both bound before either serves so the addresses
//! actually bound (port 0 picks one) are known and logged up front.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tower::util::MapResponseLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

use crate::auth::ApiKeys;
use crate::config::{Limits, ServeConfig};
use crate::proto::{self, pb::tensor_service_server::TensorServiceServer};
use crate::service::TensorServiceImpl;
use tonic::service::interceptor::InterceptedService;

/// A server whose listeners are bound and serving.
#[derive(Debug)]
pub struct RunningServer {
    /// Where the gRPC listener is bound.
    pub grpc_addr: SocketAddr,
    /// Where the HTTP listener is bound.
    pub http_addr: SocketAddr,
    shutdown: CancellationToken,
    grace: std::time::Duration,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
}

impl RunningServer {
    /// The token that stops both listeners when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until both listeners have stopped (after the token is
    /// cancelled); in-flight requests get the grace period to finish.
    pub async fn wait(self) -> anyhow::Result<()> {
        let stopped = async {
            for task in self.tasks {
                task.await.context("listener task panicked")??;
            }
            anyhow::Ok(())
        };
        tokio::pin!(stopped);
        tokio::select! {
            result = &mut stopped => return result,
            () = self.shutdown.cancelled() => {}
        }
        match tokio::time::timeout(self.grace, stopped).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(grace = ?self.grace, "in-flight requests did not finish within the grace period");
                Ok(())
            }
        }
    }

    /// Stops both listeners and waits for them.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }
}

/// Binds both listeners and starts serving; returns once both are bound.
pub async fn start(config: &ServeConfig) -> anyhow::Result<RunningServer> {
    let grpc_listener = TcpListener::bind(config.grpc_addr)
        .await
        .with_context(|| format!("cannot bind the gRPC address {}", config.grpc_addr))?;
    let http_listener = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot bind the HTTP address {}", config.http_addr))?;
    let grpc_addr = grpc_listener.local_addr()?;
    let http_addr = http_listener.local_addr()?;
    let shutdown = CancellationToken::new();

    let keys = ApiKeys::load(&config.api_keys, config.api_key_file.as_deref())?;
    let loopback_only = grpc_addr.ip().is_loopback() && http_addr.ip().is_loopback();
    if !(keys.enabled() || loopback_only) {
        tracing::warn!(
            %grpc_addr, %http_addr,
            "listening beyond loopback with no API key: anyone who can reach these ports can use the service (set --api-key)"
        );
    }
    let grpc = tokio::spawn(serve_grpc(
        grpc_listener,
        config.limits.clone(),
        keys,
        shutdown.clone(),
    ));
    // The gateway reaches the service over loopback like any other client
    // (measured no slower than an in-process client; see ARCHITECTURE.md).
    let upstream = crate::gateway::connect_upstream(&format!("http://{grpc_addr}"))?;
    let mut gateway = config.gateway.clone();
    gateway.image_limits = config.limits.image();
    let http = tokio::spawn(crate::gateway::serve(
        http_listener,
        upstream,
        gateway,
        shutdown.clone(),
    ));
    tracing::info!(%grpc_addr, %http_addr, "tensorwire listening");
    Ok(RunningServer {
        grpc_addr,
        http_addr,
        shutdown,
        grace: config.shutdown_grace(),
        tasks: vec![grpc, http],
    })
}

/// The gRPC service with its message limits and compression settings.
pub fn tensor_service(limits: Limits) -> TensorServiceServer<TensorServiceImpl> {
    let max_message = usize::try_from(limits.max_message_bytes).unwrap_or(usize::MAX);
    TensorServiceServer::new(TensorServiceImpl::new(limits))
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message)
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .send_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Zstd)
}

async fn serve_grpc(
    listener: TcpListener,
    limits: Limits,
    keys: ApiKeys,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<TensorServiceServer<TensorServiceImpl>>()
        .await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    // grpcurl 1.8 asks the older v1alpha protocol.
    let reflection_v1alpha = reflection().build_v1alpha()?;

    tonic::transport::Server::builder()
        // Large HTTP/2 windows let one streamed upload run near memory speed
        // instead of waiting for window updates every 64 KiB.
        .initial_stream_window_size(Some(8 << 20))
        .initial_connection_window_size(Some(16 << 20))
        // Clients may send 1 MiB frames: a 1 MiB data piece is one frame,
        // not 64.
        .max_frame_size(Some(1 << 20))
        .tcp_nodelay(true)
        .layer(MapResponseLayer::new(
            oversized_message_is_resource_exhausted,
        ))
        .layer(
            // A refused request is the client's mistake, not a server error.
            TraceLayer::new_for_grpc().on_failure(DefaultOnFailure::new().level(Level::WARN)),
        )
        // Health stays open; everything else needs a key when keys are set.
        .add_service(health_service)
        .add_service(InterceptedService::new(reflection_v1, keys.clone()))
        .add_service(InterceptedService::new(reflection_v1alpha, keys.clone()))
        .add_service(InterceptedService::new(tensor_service(limits), keys))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled_owned())
        .await
        .context("gRPC server failed")
}

/// tonic refuses a message over the size limit with `OUT_OF_RANGE` (checked on
/// the 5-byte frame header, before anything is allocated); the contract says
/// a size limit is `RESOURCE_EXHAUSTED`, with a message that says what to do.
/// Such a refusal is a trailers-only response, so the status is in the
/// headers, where this rewrites it.
fn oversized_message_is_resource_exhausted<B>(
    mut response: http::Response<B>,
) -> http::Response<B> {
    let headers = response.headers_mut();
    let oversized = headers.get("grpc-status").is_some_and(|v| v == "11")
        && headers
            .get("grpc-message")
            .is_some_and(|m| m.to_str().is_ok_and(|m| m.contains("length%20too%20large")));
    if oversized {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
        headers.insert(
            "grpc-message",
            http::HeaderValue::from_static(
                "the message is larger than the server's --max-message-bytes limit; send large tensors and images with DescribeStream, GaussianFilterStream or ImageSizeStream",
            ),
        );
    }
    response
}
