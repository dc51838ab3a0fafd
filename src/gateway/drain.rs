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

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;

use crate::body::{FrameHook, HookedBody};

/// Most bytes read and discarded after an early answer.
pub(crate) const DRAIN_MAX_BYTES: u64 = 64 << 20;
/// Longest time spent discarding after an early answer.
pub(crate) const DRAIN_MAX_TIME: Duration = Duration::from_secs(10);

/// Middleware: wraps every request body so that, if it is dropped unread,
/// its remainder is drained in the background.
pub(crate) async fn drain_unread_bodies(request: Request, next: Next) -> Response {
    let request =
        request.map(|body| Body::new(HookedBody::new(body, DrainOnDrop { finished: false })));
    next.run(request).await
}

/// Drains the rest of a request body dropped before its end was read.
struct DrainOnDrop {
    /// The body ended, or failed: nothing is left to drain.
    finished: bool,
}

impl FrameHook<Body> for DrainOnDrop {
    fn on_end(&mut self, _failed: bool) {
        self.finished = true;
    }

    fn on_drop(&mut self, body: &mut Body) {
        if self.finished || hyper::body::Body::is_end_stream(body) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut body = std::mem::take(body);
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
