//! Prometheus metrics of the gateway, served at `GET /metrics` in the
//! OpenMetrics text format (which Prometheus reads).
//!
//! Each gateway has its own registry (no global recorder), so several
//! gateways in one process — the tests start many — keep separate counts.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::AppState;
use crate::grpc_layers::metrics::ServiceMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// The gateway's counters.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<RouteLabels, Histogram>,
    request_bytes: Family<RouteLabels, Counter>,
    response_bytes: Family<RouteLabels, Counter>,
    in_flight: Gauge,
    service: Option<Arc<ServiceMetrics>>,
}

impl Metrics {
    /// The gateway's counters, plus those of the gRPC service in the same
    /// process when there is one.
    pub(crate) fn new(service: Option<Arc<ServiceMetrics>>) -> Metrics {
        let mut root = Registry::default();
        if let Some(service) = &service {
            service.register_into(&mut root);
        }
        let registry = root.sub_registry_with_prefix("tensorwire_http");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        let duration = Family::<RouteLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0005, 2.0, 18))) as fn() -> Histogram,
        );
        registry.register(
            "request_duration_seconds",
            "Time to the answer's headers, by route",
            duration.clone(),
        );
        let request_bytes = Family::<RouteLabels, Counter>::default();
        registry.register(
            "request_body_bytes",
            "Request body bytes received, by route",
            request_bytes.clone(),
        );
        let response_bytes = Family::<RouteLabels, Counter>::default();
        registry.register(
            "response_body_bytes",
            "Response body bytes sent, by route",
            response_bytes.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "requests_in_flight",
            "Requests being handled now",
            in_flight.clone(),
        );
        Metrics {
            registry: root,
            requests,
            duration,
            request_bytes,
            response_bytes,
            in_flight,
            service,
        }
    }

    /// The OpenMetrics text of every metric.
    pub(crate) fn render(&self) -> String {
        if let Some(service) = &self.service {
            service.refresh();
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The Content-Type of [`Metrics::render`]'s text.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Middleware that counts and times every request.
pub(crate) async fn record(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // Unmatched paths share one label, so scanners cannot grow the registry.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let metrics = state.metrics();
    metrics.in_flight.inc();
    let _in_flight = InFlight(metrics.in_flight.clone());
    let labels = RouteLabels { route };
    let received = metrics.request_bytes.get_or_create(&labels).clone();
    let request = request.map(|body| counted(body, received));
    let response = next.run(request).await;
    let sent = metrics.response_bytes.get_or_create(&labels).clone();
    let response = response.map(|body| counted(body, sent));
    metrics
        .duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: labels.route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// `body`, adding the size of each data piece to `counter` as it passes.
fn counted(body: Body, counter: Counter) -> Body {
    Body::new(body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            counter.inc_by(data.len() as u64);
        }
        frame
    }))
}

/// Decrements the in-flight gauge however the request ends (even when the
/// client goes away and the handler is dropped).
struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}
