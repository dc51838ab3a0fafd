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
//!
//! Each is a [`WrapCall`] (what it does to one call) put around the routes
//! by a [`CallLayer`].

use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Body;
use tower::{Layer, Service};

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

/// The service inside a layer: gRPC requests in, gRPC answers out, with a
/// future and an error that may move to another task (to be boxed).
pub trait GrpcService:
    Service<
        Request<tonic::body::Body>,
        Response = Response<tonic::body::Body>,
        Future: Send + 'static,
        Error: Send + 'static,
    >
{
}

impl<S> GrpcService for S where
    S: Service<
            Request<tonic::body::Body>,
            Response = Response<tonic::body::Body>,
            Future: Send + 'static,
            Error: Send + 'static,
        >
{
}

/// A request body the layers accept: bytes, with any error tonic can read.
pub trait GrpcBody: Body<Data = Bytes, Error: Into<BoxError>> + Unpin + Send + 'static {}

impl<B> GrpcBody for B where B: Body<Data = Bytes, Error: Into<BoxError>> + Unpin + Send + 'static {}

/// What a gRPC layer does to one call: it sends `request` on to `inner`
/// (its body wrapped, when the layer watches the request) and returns the
/// future of the answer (wrapped, when the layer watches the answer).
pub trait WrapCall: Clone {
    /// Passes one call through the layer to `inner`.
    fn call<S: GrpcService, B: GrpcBody>(&self, inner: &mut S, request: Request<B>) -> Answer<S>;
}

/// The future of the answer of a layer's inner service `S`.
pub type Answer<S> = ResponseFuture<<S as Service<Request<tonic::body::Body>>>::Error>;

/// Puts a [`WrapCall`] around a service, as a [`CallService`].
#[derive(Clone, Copy, Debug)]
pub struct CallLayer<W> {
    wrapper: W,
}

impl<W> CallLayer<W> {
    /// A layer that passes every call through `wrapper`.
    pub fn new(wrapper: W) -> CallLayer<W> {
        CallLayer { wrapper }
    }
}

impl<W: Clone, S> Layer<S> for CallLayer<W> {
    type Service = CallService<W, S>;

    fn layer(&self, inner: S) -> CallService<W, S> {
        CallService {
            inner,
            wrapper: self.wrapper.clone(),
        }
    }
}

/// A service whose calls pass through a [`WrapCall`] on their way to
/// `inner`; ready when `inner` is.
#[derive(Clone, Debug)]
pub struct CallService<W, S> {
    inner: S,
    wrapper: W,
}

impl<W: WrapCall, S: GrpcService, B: GrpcBody> Service<Request<B>> for CallService<W, S> {
    type Response = Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.wrapper.call(&mut self.inner, request)
    }
}

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
