//! Reserving a unary message in the memory budget before it is read.
//!
//! tonic reads a unary request's whole message (up to `--max-message-bytes`)
//! before the handler runs, so the handler's own reservation would come after
//! the memory is already spent. This layer looks at the message's 5-byte gRPC
//! prefix (compressed flag, big-endian length) as it arrives and reserves that
//! many bytes first; when the budget is spent the body fails with
//! `RESOURCE_EXHAUSTED` (marked retryable) and tonic never buffers the rest.
//! The reservation lasts until tonic has decoded the message; the handler
//! then reserves input and result for the computation itself.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http::Request;
use hyper::body::{Body, Frame, SizeHint};
use tower::{Layer, Service};

use super::{BoxError, KSERVE_PATH, SERVICE_PATH};
use crate::budget::{MemoryBudget, Reservation};
use crate::service::ServiceError;

/// Whether `method` of the service is unary (tonic buffers its one
/// message whole), from the proto's method table.
fn is_unary(method: &str) -> bool {
    crate::proto::SERVICE_METHODS
        .iter()
        .any(|(m, client_streams)| *m == method && !client_streams)
}

/// Adds [`ReserveUnary`] around a service.
#[derive(Clone, Debug)]
pub struct ReserveUnaryLayer {
    budget: MemoryBudget,
    max_message_bytes: u64,
}

impl ReserveUnaryLayer {
    /// Reserves from `budget`; a compressed message reserves
    /// `max_message_bytes`, the most it can inflate to.
    pub fn new(budget: MemoryBudget, max_message_bytes: u64) -> ReserveUnaryLayer {
        ReserveUnaryLayer {
            budget,
            max_message_bytes,
        }
    }
}

impl<S> Layer<S> for ReserveUnaryLayer {
    type Service = ReserveUnary<S>;

    fn layer(&self, inner: S) -> ReserveUnary<S> {
        ReserveUnary {
            inner,
            layer: self.clone(),
        }
    }
}

/// Wraps the request body of unary calls in a [`ReservingBody`].
#[derive(Clone, Debug)]
pub struct ReserveUnary<S> {
    inner: S,
    layer: ReserveUnaryLayer,
}

impl<S, B> Service<Request<B>> for ReserveUnary<S>
where
    S: Service<Request<tonic::body::Body>>,
    B: Body<Data = Bytes> + Unpin + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> S::Future {
        let unary = request
            .uri()
            .path()
            .strip_prefix(SERVICE_PATH)
            .is_some_and(is_unary)
            || request
                .uri()
                .path()
                .strip_prefix(KSERVE_PATH)
                .is_some_and(|m| m == "ModelInfer");
        let request = if unary {
            let layer = self.layer.clone();
            request.map(|body| tonic::body::Body::new(ReservingBody::new(body, layer)))
        } else {
            // The streaming methods reserve from their header message
            // themselves.
            request.map(tonic::body::Body::new)
        };
        self.inner.call(request)
    }
}

/// A body that reserves its first gRPC message's length before passing the
/// message's bytes on.
#[derive(Debug)]
pub struct ReservingBody<B> {
    inner: B,
    layer: ReserveUnaryLayer,
    prefix: [u8; 5],
    prefix_len: usize,
    reservation: Option<Reservation>,
}

impl<B> ReservingBody<B> {
    fn new(inner: B, layer: ReserveUnaryLayer) -> ReservingBody<B> {
        ReservingBody {
            inner,
            layer,
            prefix: [0; 5],
            prefix_len: 0,
            reservation: None,
        }
    }

    /// Takes the prefix bytes of `data`; once all five are in, reserves.
    fn observe(&mut self, data: &Bytes) -> Result<(), tonic::Status> {
        if self.prefix_len == self.prefix.len() {
            return Ok(());
        }
        let mut data = data.clone();
        let take = (self.prefix.len() - self.prefix_len).min(data.remaining());
        data.copy_to_slice(&mut self.prefix[self.prefix_len..self.prefix_len + take]);
        self.prefix_len += take;
        if self.prefix_len < self.prefix.len() {
            return Ok(());
        }
        let compressed = self.prefix[0] != 0;
        let length = u64::from(u32::from_be_bytes([
            self.prefix[1],
            self.prefix[2],
            self.prefix[3],
            self.prefix[4],
        ]));
        if length > self.layer.max_message_bytes {
            // tonic refuses it from the same prefix before reading it.
            return Ok(());
        }
        let bytes = if compressed {
            self.layer.max_message_bytes
        } else {
            length
        };
        match self.layer.budget.try_reserve(bytes) {
            Ok(reservation) => {
                self.reservation = Some(reservation);
                Ok(())
            }
            Err(error) => Err(ServiceError::Budget(error).into()),
        }
    }
}

impl<B> Body for ReservingBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        Poll::Ready(match frame {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref()
                    && let Err(status) = self.observe(data)
                {
                    return Poll::Ready(Some(Err(Box::new(status))));
                }
                Some(Ok(frame))
            }
            Some(Err(error)) => Some(Err(error.into())),
            None => None,
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `prefix` in two pieces (it may arrive split) and returns the
    /// body and what the second piece gave.
    fn observe_prefix(
        prefix: [u8; 5],
        budget: &MemoryBudget,
    ) -> (
        ReservingBody<http_body_util::Empty<Bytes>>,
        Result<(), tonic::Status>,
    ) {
        let mut body = ReservingBody::new(
            http_body_util::Empty::new(),
            ReserveUnaryLayer::new(budget.clone(), 64 << 20),
        );
        body.observe(&Bytes::copy_from_slice(&prefix[..2])).unwrap();
        assert!(body.reservation.is_none());
        let result = body.observe(&Bytes::copy_from_slice(&prefix[2..]));
        (body, result)
    }

    #[test]
    fn reserves_the_declared_length_from_the_prefix() {
        let budget = MemoryBudget::new(1 << 20);
        let (body, result) = observe_prefix([0, 0, 8, 0, 0], &budget);
        result.unwrap();
        assert_eq!(budget.in_use_bytes(), 512 << 10);
        drop(body);
        assert_eq!(budget.in_use_bytes(), 0);
    }

    #[test]
    fn a_spent_budget_refuses_with_a_retryable_status() {
        let budget = MemoryBudget::new(1 << 20);
        let _held = budget.try_reserve(900 << 10).unwrap();
        let (_, result) = observe_prefix([0, 0, 8, 0, 0], &budget);
        let status = result.unwrap_err();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.metadata().get("retry-after").is_some());
        assert!(status.message().contains("busy"), "{}", status.message());
    }

    #[test]
    fn a_message_larger_than_the_budget_is_refused_for_good() {
        let budget = MemoryBudget::new(1 << 20);
        let (_, result) = observe_prefix([0, 0, 32, 0, 0], &budget);
        let status = result.unwrap_err();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.metadata().get("retry-after").is_none());
    }

    #[test]
    fn a_compressed_message_reserves_the_message_limit() {
        let budget = MemoryBudget::new(128 << 20);
        let (_body, result) = observe_prefix([1, 0, 0, 0, 10], &budget);
        result.unwrap();
        assert_eq!(budget.in_use_bytes(), 64 << 20);
    }
}
