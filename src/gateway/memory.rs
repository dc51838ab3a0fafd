//! The gateway's share of the memory budget: every large buffer a request
//! makes the gateway hold (its body, decoded copies, parsed lists, image
//! pixels, KServe messages, answers held whole or queued for a slow reader)
//! is reserved in the process's `MemoryBudget` before it is filled.
//!
//! The [`hold`] middleware gives each request a [`RequestMemory`] (in its
//! extensions) and ties it to the response body: what the request reserved
//! is released when its answer has been sent or dropped, not when the
//! handler returns, because an answer body can hold the result until a slow
//! client reads it. A reservation that cannot be made is refused at once,
//! with the same answer as the service's budget refusals (429 and
//! `Retry-After` when busy, 413 when it could never fit). Handlers reserve
//! from `Content-Length` before they read a body, so a request that does not
//! fit is refused before its body is read.

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use super::{AppState, GatewayError};
use crate::body::{FrameHook, HookedBody};
use crate::budget::{BudgetError, Growing, MemoryBudget};
use crate::service::ServiceError;

impl From<BudgetError> for GatewayError {
    /// A budget refusal made by the gateway reads exactly as one made by the
    /// service (the status `service::error` builds: `RESOURCE_EXHAUSTED`,
    /// `BUSY` with `RetryInfo`, or `BUDGET_EXCEEDED`), so clients and the
    /// status table see one kind of refusal wherever it was made.
    fn from(err: BudgetError) -> GatewayError {
        GatewayError::Upstream(tonic::Status::from(ServiceError::Budget(err)))
    }
}

/// What a request's reservation covers, each counted separately so that
/// covering "the body held so far" twice does not reserve it twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Account {
    /// The request body held by the gateway (whole, or up to the streaming
    /// threshold before it streams).
    Body,
    /// Copies made from the body: decoded base64, unescaped JSON text, parsed
    /// lists, image pixels, KServe messages, messages encoded for unary calls.
    Decoded,
    /// The answer held by the gateway: unary results, a streamed answer
    /// gathered whole (JSON, PNG), encoded answers, the prepaid part of a
    /// streamed answer's buffer.
    Answer,
    /// Pieces in flight between the body and a streaming call.
    Pipeline,
    /// A payload gathered before it streams (up to the streaming
    /// threshold) or whole (a `.npy` that must be reordered).
    Gathered,
}

const ACCOUNTS: usize = 5;

impl Account {
    fn index(self) -> usize {
        match self {
            Account::Body => 0,
            Account::Decoded => 1,
            Account::Answer => 2,
            Account::Pipeline => 3,
            Account::Gathered => 4,
        }
    }
}

struct Inner {
    growing: Growing,
    covered: [u64; ACCOUNTS],
}

/// One request's reservation in the memory budget, shared by its handler
/// and its answer body; released when both are gone.
#[derive(Clone)]
pub(crate) struct RequestMemory {
    budget: MemoryBudget,
    inner: Arc<Mutex<Inner>>,
}

impl RequestMemory {
    /// An empty reservation in `budget`.
    pub(crate) fn new(budget: &MemoryBudget) -> RequestMemory {
        RequestMemory {
            budget: budget.clone(),
            inner: Arc::new(Mutex::new(Inner {
                growing: Growing::new(budget),
                covered: [0; ACCOUNTS],
            })),
        }
    }

    /// The budget this request reserves from.
    pub(crate) fn budget(&self) -> &MemoryBudget {
        &self.budget
    }

    /// Makes `account` cover at least `total` bytes, or refuses at once.
    pub(crate) fn cover(&self, account: Account, total: u64) -> Result<(), GatewayError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let i = account.index();
        if total <= inner.covered[i] {
            return Ok(());
        }
        let sum: u64 = inner
            .covered
            .iter()
            .enumerate()
            .map(|(j, &c)| if j == i { total } else { c })
            .fold(0u64, u64::saturating_add);
        inner.growing.try_grow_to(sum)?;
        inner.covered[i] = total;
        Ok(())
    }

    /// Adds `bytes` to what `account` covers, or refuses at once.
    pub(crate) fn add(&self, account: Account, bytes: u64) -> Result<(), GatewayError> {
        let now = {
            let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            inner.covered[account.index()]
        };
        self.cover(account, now.saturating_add(bytes))
    }

    /// Bytes this request has reserved (granules included).
    #[cfg(test)]
    pub(crate) fn reserved(&self) -> u64 {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.growing.bytes()
    }
}

/// The `Content-Length` of a request, when it declares one.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Middleware: gives the request its [`RequestMemory`] and keeps it until
/// the answer body is done.
pub(crate) async fn hold(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let memory = RequestMemory::new(state.budget());
    request.extensions_mut().insert(memory.clone());
    let response = next.run(request).await;
    response.map(|body| Body::new(HookedBody::new(body, memory)))
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestMemory {
    type Rejection = GatewayError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<RequestMemory, GatewayError> {
        parts
            .extensions
            .get::<RequestMemory>()
            .cloned()
            .ok_or_else(|| GatewayError::Internal("the request has no memory account".into()))
    }
}

/// An answer body holds its request's reservation until it is done: the
/// reservation sees no frame and is dropped with the body.
impl<B: hyper::body::Body> FrameHook<B> for RequestMemory {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_covered_once_and_released_together() {
        let budget = MemoryBudget::new(64 << 20);
        let memory = RequestMemory::new(&budget);
        memory.cover(Account::Body, 10 << 20).unwrap();
        memory.cover(Account::Body, 4 << 20).unwrap();
        memory.add(Account::Decoded, 5 << 20).unwrap();
        assert_eq!(memory.reserved(), 15 << 20);
        // Another request holds 20 MiB: 40 more would fit the budget, not now.
        let other = budget.try_reserve(20 << 20).unwrap();
        let err = memory.cover(Account::Answer, 40 << 20).unwrap_err();
        assert_eq!(err.status(), 429);
        drop(other);
        let err = memory.cover(Account::Answer, 100 << 20).unwrap_err();
        assert_eq!(err.status(), 413);
        let clone = memory.clone();
        drop(memory);
        assert_eq!(budget.in_use_bytes(), 15 << 20);
        drop(clone);
        assert_eq!(budget.in_use_bytes(), 0);
    }
}
