//! The HTTP gateway: an axum router that turns each HTTP request into a call
//! of the gRPC service through a tonic client. It computes nothing itself, so
//! it can run on another host (`tensorwire gateway --upstream URL`).
//!
//! What the gateway does is translation: it reads the HTTP formats clients
//! already send (JSON with base64 `.npy`, nested JSON lists, multipart files,
//! form fields, raw `.npy` and image bodies), builds the messages of the gRPC
//! contract, and writes the answer back in the format the client asked for.
//! Parsing a `.npy` or a JSON list and decoding an image into pixels are codec
//! work of the same kind; statistics, filtering and image inspection are the
//! service's.
//!
//! Map of the module:
//! - [`error`]: `GatewayError`, the one JSON error shape and the gRPC → HTTP
//!   status table;
//! - `seed`: the routes existing Flask clients POST to;
//! - `native`: the `/v1/*` routes, health, metrics and the OpenAPI document;
//! - `upload`: reading bodies piece by piece, `.npy` uploads that go to the
//!   streaming RPCs while they arrive;
//! - `upstream`: the calls of the gRPC service (unary or streaming by size)
//!   and their results;
//! - `request`: what the routes share about a request (open without a key,
//!   media type, a `.npy` body's reservation, the fallbacks), so that no
//!   route borrows from another;
//! - `accept`: `Accept` negotiation; `image_codec`: image bodies;
//! - `metrics`: Prometheus counters; `openapi`: the document and its test;
//! - `pages`: the browser pages, `GET /docs` (Swagger UI) and `GET /` (the
//!   playground), with their assets.

mod accept;
mod auth;
mod drain;
pub(crate) mod error;
mod image_codec;
mod kserve;
mod memory;
mod metrics;
mod native;
mod openapi;
mod pages;
mod request;
mod seed;
mod tensors;
mod upload;
mod upstream;

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::GatewayError;

use crate::config::ConnectionTimeouts;
pub use crate::config::GatewayConfig;

/// What the gateway shares with the process around it, beyond its flags.
#[derive(Clone, Debug, Default)]
pub(crate) struct GatewayExtras {
    /// Keys checked before a body is read (empty: the upstream decides).
    pub api_keys: crate::auth::ApiKeys,
    /// The gRPC service's metrics, shown on `/metrics` when the service runs
    /// in the same process.
    pub service_metrics: Option<Arc<crate::grpc_layers::metrics::ServiceMetrics>>,
    /// The channel to the upstream's `inference.GRPCInferenceService`, for
    /// the `/v2` routes (without one they answer 500).
    pub kserve_channel: Option<Channel>,
    /// The memory budget the gateway's buffers are reserved in: the
    /// service's own in `serve` (one budget for the process), else one of
    /// the default size (`--memory-budget`'s default).
    pub budget: Option<crate::budget::MemoryBudget>,
}

/// The gRPC client the gateway calls: the crate's own client.
pub type Upstream = crate::client::Client;

/// A lazily connecting client of the gRPC server at `url`.
pub fn connect_upstream(url: &str) -> anyhow::Result<Upstream> {
    Upstream::connect_lazy(url, crate::client::ClientOptions::default())
        .with_context(|| format!("bad upstream URL {url:?}"))
}

/// What every handler shares: the upstream client, the settings and the
/// metrics. Cloning is cheap (one `Arc`).
#[derive(Clone)]
pub(crate) struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    upstream: Upstream,
    config: GatewayConfig,
    metrics: metrics::Metrics,
    api_keys: crate::auth::ApiKeys,
    kserve: Option<kserve::KServeUpstream>,
    budget: crate::budget::MemoryBudget,
}

impl AppState {
    fn new(upstream: Upstream, config: GatewayConfig, extras: GatewayExtras) -> AppState {
        AppState(Arc::new(Inner {
            upstream: upstream.configured(upstream::client_options(&config)),
            config,
            metrics: metrics::Metrics::new(extras.service_metrics),
            api_keys: extras.api_keys,
            budget: extras.budget.unwrap_or_else(|| {
                crate::budget::MemoryBudget::new(crate::config::Limits::default().memory_budget)
            }),
            kserve: extras.kserve_channel.map(|channel| {
                kserve::KServeUpstream::new(channel)
                    .max_decoding_message_size(usize::MAX)
                    .max_encoding_message_size(usize::MAX)
            }),
        }))
    }

    /// The client of the Open Inference Protocol service, if connected.
    pub(crate) fn kserve(&self) -> Option<kserve::KServeUpstream> {
        self.0.kserve.clone()
    }

    /// The client of the service, without a caller's key or deadline.
    pub(crate) fn upstream(&self) -> &Upstream {
        &self.0.upstream
    }

    pub(crate) fn api_keys(&self) -> &crate::auth::ApiKeys {
        &self.0.api_keys
    }

    /// The calls of one request, reserving what they hold in `memory`.
    pub(crate) fn calls(
        &self,
        credentials: upstream::Credentials,
        memory: &memory::RequestMemory,
    ) -> upstream::Calls {
        upstream::Calls::new(
            self.0.upstream.clone(),
            &self.0.config,
            credentials,
            memory.clone(),
        )
    }

    /// The memory budget the gateway reserves its buffers in.
    pub(crate) fn budget(&self) -> &crate::budget::MemoryBudget {
        &self.0.budget
    }

    pub(crate) fn config(&self) -> &GatewayConfig {
        &self.0.config
    }

    pub(crate) fn metrics(&self) -> &metrics::Metrics {
        &self.0.metrics
    }

    /// The size limit of a body, as `usize`.
    pub(crate) fn body_limit(&self) -> u64 {
        self.0.config.max_body_bytes
    }
}

/// Every route: path, method name (as OpenAPI spells it) and handler. The
/// router is built from this list and the OpenAPI test compares the document
/// with it, so a route cannot be served without being documented.
pub(crate) fn routes() -> Vec<(String, &'static str, MethodRouter<AppState>)> {
    let fixed: Vec<(&str, &str, MethodRouter<AppState>)> = vec![
        ("/", "post", post(seed::filter_upload)),
        ("/receive_array", "post", post(seed::receive_array)),
        ("/receive_tensor", "post", post(seed::receive_tensor)),
        ("/receive_list", "post", post(seed::receive_list)),
        ("/im_size", "post", post(seed::im_size)),
        ("/v1/describe", "post", post(native::describe)),
        ("/v1/image_size", "post", post(native::image_size)),
        ("/v1/tensors", "post", post(tensors::put)),
        ("/v1/tensors", "get", get(tensors::list)),
        ("/v1/tensors/{id}", "get", get(tensors::get)),
        ("/v1/tensors/{id}", "delete", delete(tensors::delete)),
        ("/healthz", "get", get(native::healthz)),
        ("/metrics", "get", get(native::metrics)),
        ("/openapi.json", "get", get(native::openapi)),
        // The Open Inference Protocol (KServe v2).
        ("/v2", "get", get(kserve::server_metadata)),
        ("/v2/health/live", "get", get(kserve::live)),
        ("/v2/health/ready", "get", get(kserve::ready)),
        ("/v2/models/{name}", "get", get(kserve::model_metadata)),
        (
            "/v2/models/{name}/versions/{version}",
            "get",
            get(kserve::model_metadata),
        ),
        ("/v2/models/{name}/ready", "get", get(kserve::model_ready)),
        (
            "/v2/models/{name}/versions/{version}/ready",
            "get",
            get(kserve::model_ready),
        ),
        ("/v2/models/{name}/infer", "post", post(kserve::infer)),
        (
            "/v2/models/{name}/versions/{version}/infer",
            "post",
            post(kserve::infer),
        ),
    ];
    let operations = crate::ops::ALL.iter().map(|&op| {
        let handler = post(move |state, memory, uri, headers, body| {
            native::apply(op, state, memory, uri, headers, body)
        });
        (format!("/v1/{}", op.name), "post", handler)
    });
    fixed
        .into_iter()
        .map(|(path, method, handler)| (path.to_owned(), method, handler))
        .chain(operations)
        .collect()
}

/// The gateway's router with every layer, calling `upstream`, with no keys
/// of its own and the default timeouts.
pub fn router(upstream: Upstream, config: GatewayConfig) -> Router {
    router_with(
        upstream,
        config,
        GatewayExtras::default(),
        ConnectionTimeouts::default(),
    )
}

/// The gateway's router with every layer, calling `upstream`.
pub(crate) fn router_with(
    upstream: Upstream,
    config: GatewayConfig,
    extras: GatewayExtras,
    timeouts: ConnectionTimeouts,
) -> Router {
    let state = AppState::new(upstream, config.clone(), extras);
    let body_idle = timeouts.body_read();
    let mut app = Router::new();
    for (path, _, handler) in routes() {
        app = app.route(&path, handler);
    }
    // Pages are not API routes (not in the OpenAPI document); `GET /` joins
    // the seed's `POST /` in one method router.
    for (path, handler) in pages::routes() {
        app = app.route(path, handler);
    }
    let limit = usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX);
    let mut app = app
        .fallback(request::not_found)
        .method_not_allowed_fallback(request::method_not_allowed)
        // Extractors (multipart) honour this limit; `RequestBodyLimitLayer`
        // gives the same limit to bodies read as streams (413 up front when
        // Content-Length already says too much; `json_error_bodies` gives
        // that answer the JSON shape), and `RequestBodyTimeoutLayer` fails a
        // body that sends nothing for `body_idle` (408, `BodyStalled`).
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyTimeoutLayer::new(body_idle))
        .layer(RequestBodyLimitLayer::new(limit))
        // Keys are checked before the body is touched.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        // Every request gets its reservation in the memory budget, kept
        // until its answer body is done.
        .layer(middleware::from_fn_with_state(state.clone(), memory::hold))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(middleware::from_fn(drain::drain_unread_bodies))
        .with_state(state);
    if let Some(timeout) = config.request_timeout() {
        app = app.layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            timeout,
        ));
    }
    let body_limit = config.max_body_bytes;
    app.layer(middleware::map_response(move |response| {
        json_error_bodies(body_limit, response)
    }))
    .layer(middleware::from_fn(kserve::protocol_errors))
    .layer(CompressionLayer::new().compress_when(compressible()))
    .layer(
        TraceLayer::new_for_http()
            .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
            .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
    )
}

/// Compresses JSON and text answers (when the client asks, through
/// `Accept-Encoding`), never `.npy` or images: tensor data barely compresses
/// and gzip would cost more CPU than the whole filter. Python `requests`
/// always sends `Accept-Encoding: gzip`, so this matters for the seed routes.
fn compressible() -> impl Predicate {
    SizeAbove::new(1024).and(|_: StatusCode, _, headers: &header::HeaderMap, _: &_| {
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.starts_with("application/json")
                    || ct.starts_with("text/")
                    || ct.starts_with("application/openmetrics-text")
            })
    })
}

/// Gives the answers that tower layers make without a JSON body (the
/// timeout's 504, the body limit's 413) the gateway's JSON error shape.
async fn json_error_bodies(body_limit: u64, response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json {
        return response;
    }
    if status == StatusCode::GATEWAY_TIMEOUT
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        return GatewayError::Timeout.into_response();
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return GatewayError::BodyTooLarge { limit: body_limit }.into_response();
    }
    response
}

/// Serves the gateway on `listener` in plain HTTP with the default
/// timeouts until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    upstream: Upstream,
    config: GatewayConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let settings =
        crate::listen::ConnectionSettings::new(false, ConnectionTimeouts::default().header_read());
    serve_app(listener, router(upstream, config), settings, shutdown).await
}

/// What differs between the gateway `tensorwire serve` runs beside the
/// service and the one `tensorwire gateway` runs alone (see [`start`]).
#[derive(Clone, Debug)]
pub struct GatewayStart {
    /// URL of the gRPC server the gateway calls (`http://host:port`).
    pub upstream: String,
    /// The gateway's flags.
    pub config: GatewayConfig,
    /// Connection and body timeouts.
    pub timeouts: ConnectionTimeouts,
    /// Keys checked before a body is read (empty: the upstream decides).
    pub api_keys: crate::auth::ApiKeys,
    /// The gRPC service's metrics, when it runs in the same process.
    pub service_metrics: Option<Arc<crate::grpc_layers::metrics::ServiceMetrics>>,
    /// TLS for the HTTP listener, or `None` for plain text.
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// The memory budget the gateway's buffers are reserved in (the
    /// service's in `serve`, its own `--memory-budget` in `gateway`).
    pub budget: crate::budget::MemoryBudget,
}

/// Starts a gateway on `listener`: connects (lazily) to the upstream, builds
/// the router with every layer and the Open Inference Protocol routes, and
/// returns the future that serves it until `shutdown` is cancelled. Both
/// `tensorwire serve` and `tensorwire gateway` start their gateway here.
pub fn start(
    listener: TcpListener,
    start: GatewayStart,
    shutdown: CancellationToken,
) -> anyhow::Result<impl Future<Output = anyhow::Result<()>> + Send + 'static> {
    let upstream = connect_upstream(&start.upstream)?;
    let extras = GatewayExtras {
        api_keys: start.api_keys,
        service_metrics: start.service_metrics,
        kserve_channel: Some(upstream.channel()),
        budget: Some(start.budget),
    };
    let mut settings = crate::listen::ConnectionSettings::new(false, start.timeouts.header_read());
    settings.tls = start.tls;
    settings.max_connections = start.timeouts.max_connections;
    let app = router_with(upstream, start.config, extras, start.timeouts);
    Ok(serve_app(listener, app, settings, shutdown))
}

/// Serves a gateway router on `listener` with `settings` (TLS, timeouts)
/// until `shutdown` is cancelled.
pub(crate) async fn serve_app(
    listener: TcpListener,
    app: Router,
    settings: crate::listen::ConnectionSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    crate::listen::serve(listener, app, settings, shutdown)
        .await
        .context("HTTP server failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_of_the_flags_equal_gateway_config_default() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            gateway: GatewayConfig,
        }
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.gateway, GatewayConfig::default());
    }
}
