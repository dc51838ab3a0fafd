//! Starting the listeners: the gRPC service (with reflection and health) and
//! the HTTP gateway, both bound before either serves so the addresses
//! actually bound (port 0 picks one) are known and logged up front.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tower::util::MapResponseLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

use std::sync::Arc;

use tonic::service::Routes;

use crate::auth::{ApiKeys, OpenProbes};
use crate::budget::MemoryBudget;
use crate::config::{ConnectionTimeouts, Limits, ServeConfig};
use crate::gateway::GatewayStart;
use crate::grpc_layers::CallLayer;
use crate::grpc_layers::compression::{CompressAnswers, Encoding};
use crate::grpc_layers::deadline::Deadline;
use crate::grpc_layers::metrics::{RecordMetrics, ServiceMetrics};
use crate::grpc_layers::reservation::ReserveUnary;
use crate::listen;
use crate::proto::{self, pb::tensor_service_server::TensorServiceServer};
use crate::service::TensorServiceImpl;
use crate::store::{StoreLimits, TensorStore};
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

    let keys = ApiKeys::load(&config.auth.api_keys, config.auth.api_key_file.as_deref())?;
    let loopback_only = grpc_addr.ip().is_loopback() && http_addr.ip().is_loopback();
    if !(keys.enabled() || loopback_only) {
        tracing::warn!(
            %grpc_addr, %http_addr,
            "listening beyond loopback with no API key: anyone who can reach these ports can use the service (set --api-key)"
        );
    }
    let grpc_tls = config.tls.server_config(listen::ALPN_GRPC)?;
    let http_tls = config.tls.server_config(listen::ALPN_HTTP)?;
    let budget = MemoryBudget::new(config.limits.memory_budget);
    let store = TensorStore::new(StoreLimits::from_config(&config.limits));
    let metrics = Arc::new(ServiceMetrics::new(budget.clone()).with_store(store.clone()));
    // One service for every gRPC listener: clones share the computation
    // slots, the budget and the metrics.
    let service = grpc_service(
        &config.limits,
        config.timeouts,
        (budget.clone(), store.clone()),
        metrics.clone(),
        keys.clone(),
        config.compress_responses,
    )
    .await?;
    let mut grpc_settings = listen::ConnectionSettings::new(true, config.timeouts.header_read());
    grpc_settings.tls = grpc_tls;
    grpc_settings.max_connections = config.timeouts.max_connections;
    let mut tasks = vec![tokio::spawn(listen::serve(
        grpc_listener,
        service.clone(),
        grpc_settings,
        shutdown.clone(),
    ))];
    tasks.push(tokio::spawn(sweep_store(store, shutdown.clone())));
    if let Some(path) = &config.grpc_uds {
        // Same host only: plain text (nothing crosses a network), the
        // same service, keys and limits; the socket file goes with it.
        let listener = listen::bind_unix(path)?;
        tracing::info!(grpc_uds = %path.display(), "gRPC also on a Unix socket");
        let settings = listen::ConnectionSettings::new(true, config.timeouts.header_read());
        let serving = listen::serve(listener, service.clone(), settings, shutdown.clone());
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let served = serving.await;
            let _ = std::fs::remove_file(&path);
            served
        }));
    }
    // The gateway reaches the service over loopback like any other client
    // (measured no slower than an in-process client; see ARCHITECTURE.md).
    // With TLS on, the gateway would have to verify the certificate for a
    // loopback name, so it talks to a second, plain-text gRPC listener bound
    // to 127.0.0.1 only (the same service); only the public listeners speak
    // TLS.
    let internal = if config.tls.tls_cert.is_some() {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let internal_addr = listener.local_addr()?;
        let settings = listen::ConnectionSettings::new(true, config.timeouts.header_read());
        tasks.push(tokio::spawn(listen::serve(
            listener,
            service,
            settings,
            shutdown.clone(),
        )));
        internal_addr
    } else {
        grpc_addr
    };
    let mut gateway = config.gateway.clone();
    gateway.image_limits = config.limits.image();
    let start = GatewayStart {
        upstream: format!("http://{internal}"),
        config: gateway,
        timeouts: config.timeouts,
        api_keys: keys,
        service_metrics: Some(metrics),
        tls: http_tls,
        // One budget for the process: the gateway's buffers and the
        // service's reservations come out of the same `--memory-budget`.
        budget,
    };
    tasks.push(tokio::spawn(crate::gateway::start(
        http_listener,
        start,
        shutdown.clone(),
    )?));
    let scheme = if config.tls.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(%grpc_addr, %http_addr, scheme, "tensorwire listening");
    Ok(RunningServer {
        grpc_addr,
        http_addr,
        shutdown,
        grace: config.shutdown_grace(),
        tasks,
    })
}

/// The gRPC service with its message limits; it accepts compressed requests
/// (answers are compressed by [`CompressAnswers`]).
pub(crate) fn tensor_service(native: TensorServiceImpl) -> TensorServiceServer<TensorServiceImpl> {
    let max_message = usize::try_from(native.limits().max_message_bytes).unwrap_or(usize::MAX);
    TensorServiceServer::new(native)
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message)
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
    // No `send_compressed`: tonic would compress every answer for any client
    // that merely accepts gzip; `CompressAnswers` applies the policy.
}

/// Every gRPC route (the service, reflection v1 and v1alpha, health) with the
/// layers around them, outermost first: tracing, metrics, the size-refusal
/// rewrite, deadlines, the reservation of unary messages, and the
/// compression of answers.
async fn grpc_service(
    limits: &Limits,
    timeouts: ConnectionTimeouts,
    (budget, store): (MemoryBudget, TensorStore),
    metrics: Arc<ServiceMetrics>,
    keys: ApiKeys,
    compress_responses: Option<Encoding>,
) -> anyhow::Result<
    impl tower::Service<
        http::Request<hyper::body::Incoming>,
        Response = http::Response<
            impl hyper::body::Body<Data = bytes::Bytes, Error: Into<crate::grpc_layers::BoxError>>
            + Send
            + 'static,
        >,
        Error = std::convert::Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static,
> {
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
    // One native service: the Open Inference Protocol front door calls it,
    // sharing its computation slots and budget.
    let native = TensorServiceImpl::with_budget(limits.clone(), budget.clone())
        .with_answer_idle(timeouts.body_read())
        .with_store(store);
    // Health and the Open Inference Protocol's probes stay open; everything
    // else needs a key when keys are set.
    let routes = Routes::new(health_service)
        .add_service(InterceptedService::new(reflection_v1, keys.clone()))
        .add_service(InterceptedService::new(reflection_v1alpha, keys.clone()))
        .add_service(OpenProbes::new(
            crate::kserve::grpc::server(native.clone()),
            keys.clone(),
            crate::kserve::OPEN_PROBES,
        ))
        .add_service(InterceptedService::new(tensor_service(native), keys));
    Ok(tower::ServiceBuilder::new()
        // A refused request is the client's mistake, not a server error.
        .layer(TraceLayer::new_for_grpc().on_failure(DefaultOnFailure::new().level(Level::WARN)))
        .layer(CallLayer::new(RecordMetrics::new(metrics)))
        .layer(MapResponseLayer::new(tonic_refusal_codes))
        .layer(CallLayer::new(Deadline::new(
            limits.grpc_request_timeout(),
            timeouts.body_read(),
        )))
        .layer(CallLayer::new(ReserveUnary::new(
            budget,
            limits.max_message_bytes,
        )))
        .layer(CallLayer::new(CompressAnswers::new(compress_responses)))
        .service(routes))
}

/// Drops the store's expired tensors every tenth of its TTL (at least every
/// second, at most every minute), so an idle server frees their memory
/// without waiting for a call, until `shutdown`. The store lives in memory
/// only: on shutdown it is dropped with the process.
async fn sweep_store(store: TensorStore, shutdown: CancellationToken) -> anyhow::Result<()> {
    let period = (store.limits().ttl / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut ticks = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = ticks.tick() => store.sweep(),
            () = shutdown.cancelled() => return Ok(()),
        }
    }
}

/// Gives their meaning to the refusals tonic makes itself before a handler
/// runs (trailers-only responses, so the status is in the headers): a
/// message over the size limit (`OUT_OF_RANGE` in tonic, checked on the
/// 5-byte frame header before anything is allocated) becomes
/// `RESOURCE_EXHAUSTED` with the `LIMIT_EXCEEDED` details; bytes that are not
/// a valid message (`INTERNAL` in tonic-prost) become `INVALID_ARGUMENT`
/// (INTERNAL is for the server's bugs). Every status the services make
/// carries `ErrorInfo` details, so a status without details is tonic's; see
/// [`crate::service::rewrite_codec_refusal`]. No message text is read.
fn tonic_refusal_codes<B>(mut response: http::Response<B>) -> http::Response<B> {
    let Some(status) = tonic::Status::from_header_map(response.headers()) else {
        return response;
    };
    if let Some(rewritten) = crate::service::rewrite_codec_refusal(&status) {
        let headers = response.headers_mut();
        headers.remove("grpc-message");
        headers.remove("grpc-status-details-bin");
        if let Err(error) = rewritten.add_header(headers) {
            tracing::warn!(%error, "cannot write a rewritten status");
        }
    }
    response
}
