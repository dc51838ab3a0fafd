//! Lingering close for HTTP/1: when a handler answers before reading the
//! whole request body (a refusal: no API key, a bad header, a too-large
//! declared size), the rest of the body is read and thrown away for a short
//! while instead of closing the socket with unread data. Otherwise the
//! kernel resets the connection and a client still sending — Python
//! `requests` sends the whole body before it reads anything — sees
//! "connection reset" instead of the 401 or 413 the gateway answered.
//!
//! Draining discards: nothing is buffered. It stops after
//! [`DRAIN_MAX_BYTES`] or [`DRAIN_MAX_TIME`], whichever comes first; then the
//! connection is closed as before.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};

/// Most bytes read and discarded after an early answer.
pub(crate) const DRAIN_MAX_BYTES: u64 = 64 << 20;
/// Longest time spent discarding after an early answer.
pub(crate) const DRAIN_MAX_TIME: Duration = Duration::from_secs(10);

/// Middleware: wraps every request body so that, if it is dropped unread,
/// its remainder is drained in the background.
pub(crate) async fn drain_unread_bodies(request: Request, next: Next) -> Response {
    let request = request.map(|body| {
        Body::new(DrainOnDrop {
            inner: Some(body),
            finished: false,
        })
    });
    next.run(request).await
}

struct DrainOnDrop {
    inner: Option<Body>,
    finished: bool,
}

impl hyper::body::Body for DrainOnDrop {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let frame = Pin::new(inner).poll_frame(cx);
        if matches!(frame, Poll::Ready(None | Some(Err(_)))) {
            self.finished = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |b| b.size_hint())
    }
}

impl Drop for DrainOnDrop {
    fn drop(&mut self) {
        let Some(mut body) = self.inner.take() else {
            return;
        };
        if self.finished || hyper::body::Body::is_end_stream(&body) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let deadline = tokio::time::Instant::now() + DRAIN_MAX_TIME;
            let mut discarded = 0u64;
            while discarded < DRAIN_MAX_BYTES {
                match tokio::time::timeout_at(deadline, body.frame()).await {
                    Ok(Some(Ok(frame))) => {
                        discarded += frame.data_ref().map_or(0, |d| d.len() as u64);
                    }
                    _ => break,
                }
            }
        });
    }
}
