//! Tower layers around the gRPC routes, outermost first:
//! - [`metrics`]: counts, latencies and bytes per RPC, refusals by reason;
//! - [`deadline`]: the call's deadline (the client's `grpc-timeout`, capped
//!   by `--grpc-request-timeout-secs`) answered as `DEADLINE_EXCEEDED`, and
//!   the idle timeout on request bodies (slow or stalled uploads);
//! - [`reservation`]: a unary message is reserved in the memory budget from
//!   its 5-byte length prefix, before tonic reads it;
//! - [`compression`]: answers are compressed only when the client sent a
//!   compressed request or the operator asked (`--compress-responses`), and
//!   only the messages that shrink.

pub mod compression;
pub mod deadline;
pub mod metrics;
pub mod reservation;

/// The boxed error type of bodies and services.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future of a layer's `call`: the boxed answer of the inner service.
pub type ResponseFuture<E> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<http::Response<tonic::body::Body>, E>> + Send>,
>;

/// The path prefix of the tensorwire service's methods.
pub const SERVICE_PATH: &str = "/tensorwire.v1.TensorService/";

/// The path prefix of the Open Inference Protocol's service (`kserve`).
pub const KSERVE_PATH: &str = "/inference.GRPCInferenceService/";

/// The method name of a request path, for labels: one of the service's
/// methods, `health`, `reflection`, or `other` (so that scanners cannot grow
/// the metrics without bound).
pub fn method_label(path: &str) -> &'static str {
    if let Some(method) = path.strip_prefix(SERVICE_PATH) {
        return crate::proto::SERVICE_METHODS
            .iter()
            .find(|(m, _)| *m == method)
            .map_or("other", |(m, _)| m);
    }
    if let Some(method) = path.strip_prefix(KSERVE_PATH) {
        return crate::kserve::grpc::SERVED
            .iter()
            .find(|m| **m == method)
            .copied()
            .unwrap_or("other");
    }
    if path.starts_with("/grpc.health.v1.Health/") {
        "health"
    } else if path.starts_with("/grpc.reflection.") {
        "reflection"
    } else {
        "other"
    }
}
