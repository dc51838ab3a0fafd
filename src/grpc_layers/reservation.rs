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

use bytes::{Buf, Bytes};
use http::Request;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};

use super::{Answer, BoxError, GrpcBody, GrpcService, KSERVE_PATH, SERVICE_PATH, WrapCall};
use crate::body::{FrameHook, HookedBody};
use crate::budget::{MemoryBudget, Reservation};
use crate::service::ServiceError;

/// Whether `method` of the service is unary (tonic buffers its one
/// message whole), from the proto's method table.
fn is_unary(method: &str) -> bool {
    crate::proto::SERVICE_METHODS
        .iter()
        .any(|(m, client_streams)| *m == method && !client_streams)
}

/// Reserves the message of unary calls from its prefix, with a
/// [`PrefixReservation`] on the request body (put around the routes by a
/// [`CallLayer`](super::CallLayer)).
#[derive(Clone, Debug)]
pub struct ReserveUnary {
    budget: MemoryBudget,
    max_message_bytes: u64,
}

impl ReserveUnary {
    /// Reserves from `budget`; a compressed message reserves
    /// `max_message_bytes`, the most it can inflate to.
    pub fn new(budget: MemoryBudget, max_message_bytes: u64) -> ReserveUnary {
        ReserveUnary {
            budget,
            max_message_bytes,
        }
    }
}

impl WrapCall for ReserveUnary {
    fn call<S: GrpcService, B: GrpcBody>(&self, inner: &mut S, request: Request<B>) -> Answer<S> {
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
            let reservation = PrefixReservation::new(self.clone());
            request.map(|body| {
                let body = body.map_err(Into::<BoxError>::into);
                tonic::body::Body::new(HookedBody::new(body, reservation))
            })
        } else {
            // The streaming methods reserve from their header message
            // themselves.
            request.map(tonic::body::Body::new)
        };
        Box::pin(inner.call(request))
    }
}

/// Watches a request body for its first gRPC message's length and reserves
/// it before the message's bytes are passed on.
#[derive(Debug)]
pub struct PrefixReservation {
    settings: ReserveUnary,
    prefix: [u8; 5],
    prefix_len: usize,
    reservation: Option<Reservation>,
}

impl PrefixReservation {
    fn new(settings: ReserveUnary) -> PrefixReservation {
        PrefixReservation {
            settings,
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
        if length > self.settings.max_message_bytes {
            // tonic refuses it from the same prefix before reading it.
            return Ok(());
        }
        let bytes = if compressed {
            self.settings.max_message_bytes
        } else {
            length
        };
        match self.settings.budget.try_reserve(bytes) {
            Ok(reservation) => {
                self.reservation = Some(reservation);
                Ok(())
            }
            Err(error) => Err(ServiceError::Budget(error).into()),
        }
    }
}

impl<B: Body<Data = Bytes, Error = BoxError>> FrameHook<B> for PrefixReservation {
    fn on_frame(&mut self, frame: &Frame<Bytes>) -> Result<(), BoxError> {
        match frame.data_ref() {
            Some(data) => self
                .observe(data)
                .map_err(|status| Box::new(status) as BoxError),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `prefix` in two pieces (it may arrive split) and returns the
    /// hook and what the second piece gave.
    fn observe_prefix(
        prefix: [u8; 5],
        budget: &MemoryBudget,
    ) -> (PrefixReservation, Result<(), tonic::Status>) {
        let mut hook = PrefixReservation::new(ReserveUnary::new(budget.clone(), 64 << 20));
        hook.observe(&Bytes::copy_from_slice(&prefix[..2])).unwrap();
        assert!(hook.reservation.is_none());
        let result = hook.observe(&Bytes::copy_from_slice(&prefix[2..]));
        (hook, result)
    }

    #[test]
    fn reserves_the_declared_length_from_the_prefix() {
        let budget = MemoryBudget::new(1 << 20);
        let (hook, result) = observe_prefix([0, 0, 8, 0, 0], &budget);
        result.unwrap();
        assert_eq!(budget.in_use_bytes(), 512 << 10);
        drop(hook);
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
        let (_hook, result) = observe_prefix([1, 0, 0, 0, 10], &budget);
        result.unwrap();
        assert_eq!(budget.in_use_bytes(), 64 << 20);
    }
}
