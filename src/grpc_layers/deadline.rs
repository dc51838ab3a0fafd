//! Deadlines of gRPC calls and the idle timeout of request bodies.
//!
//! A call's deadline is the client's `grpc-timeout`, capped by the server's
//! `--grpc-request-timeout-secs`. When it passes before the answer starts,
//! the handler is dropped (which frees its buffers and budget reservation) and
//! the client gets `DEADLINE_EXCEEDED`; when it passes while a streamed answer
//! is being sent, the stream ends with `DEADLINE_EXCEEDED` in its trailers.
//!
//! Separately, a request body that sends nothing for `--body-read-timeout-secs`
//! while the handler waits for it (a stalled or slowloris upload) fails with
//! `DEADLINE_EXCEEDED`, so a slow client cannot hold a reservation forever.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};
use tower_http::timeout::{TimeoutBody, TimeoutError};

use super::{Answer, BoxError, GrpcBody, GrpcService, WrapCall};

/// Enforces call deadlines and the request-body idle timeout (put around
/// the routes by a [`CallLayer`](super::CallLayer)).
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    max_request: Option<Duration>,
    body_idle: Duration,
}

impl Deadline {
    /// Calls last at most `max_request` (if any) and request bodies may be
    /// idle for at most `body_idle`.
    pub fn new(max_request: Option<Duration>, body_idle: Duration) -> Deadline {
        Deadline {
            max_request,
            body_idle,
        }
    }
}

impl WrapCall for Deadline {
    fn call<S: GrpcService, B: GrpcBody>(&self, inner: &mut S, request: Request<B>) -> Answer<S> {
        let asked = parse_grpc_timeout(request.headers());
        let limit = match (asked, self.max_request) {
            (Some(asked), Some(max)) => Some(asked.min(max)),
            (asked, max) => asked.or(max),
        };
        let idle = self.body_idle;
        let request = request.map(|body| idle_timeout_body(body, idle));
        let answer = inner.call(request);
        Box::pin(async move {
            let Some(limit) = limit else {
                return answer.await;
            };
            let expires = Instant::now() + limit;
            match tokio::time::timeout_at(expires, answer).await {
                Ok(Ok(response)) => {
                    Ok(response
                        .map(|body| tonic::body::Body::new(DeadlineBody::new(body, expires))))
                }
                Ok(Err(error)) => Err(error),
                Err(_) => Ok(deadline_exceeded().into_http()),
            }
        })
    }
}

fn deadline_exceeded() -> tonic::Status {
    tonic::Status::deadline_exceeded(
        "the call's deadline passed (the client's grpc-timeout, or the server's --grpc-request-timeout-secs)",
    )
}

/// The `grpc-timeout` header as a duration: up to 8 digits and a unit
/// (`H`, `M`, `S`, `m`, `u`, `n`). A malformed value is ignored, as gRPC
/// servers do.
pub fn parse_grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get("grpc-timeout")?.to_str().ok()?;
    if text.len() < 2 || text.len() > 9 {
        return None;
    }
    let (digits, unit) = text.split_at(text.len() - 1);
    let value: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(value * 3600),
        "M" => Duration::from_secs(value * 60),
        "S" => Duration::from_secs(value),
        "m" => Duration::from_millis(value),
        "u" => Duration::from_micros(value),
        "n" => Duration::from_nanos(value),
        _ => return None,
    })
}

/// The request body with the idle timeout: tower-http's `TimeoutBody`,
/// whose timer runs while the reader waits for the next frame and restarts
/// with each frame (an idle timeout between frames, not a deadline on the
/// whole body), with its `TimeoutError` turned into `DEADLINE_EXCEEDED`:
/// tonic reports a body error that is a `Status` as that status.
fn idle_timeout_body<B>(body: B, idle: Duration) -> tonic::body::Body
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    tonic::body::Body::new(TimeoutBody::new(idle, body).map_err(move |error| {
        if error.is::<TimeoutError>() {
            let status = tonic::Status::deadline_exceeded(format!(
                "no request data arrived for {} s (--body-read-timeout-secs)",
                idle.as_secs_f64()
            ));
            Box::new(status) as BoxError
        } else {
            error
        }
    }))
}

/// A response body that ends with `DEADLINE_EXCEEDED` trailers when the
/// call's deadline passes before it is complete.
#[derive(Debug)]
pub struct DeadlineBody<B> {
    /// Dropped when the deadline passes, before the trailers go out, so
    /// what the answer holds (a streaming handler's channel, and through
    /// it the handler's stages and reservation) is let go at once.
    inner: Option<B>,
    timer: Pin<Box<Sleep>>,
    expired: bool,
}

impl<B> DeadlineBody<B> {
    fn new(inner: B, expires: Instant) -> DeadlineBody<B> {
        DeadlineBody {
            inner: Some(inner),
            timer: Box::pin(tokio::time::sleep_until(expires)),
            expired: false,
        }
    }
}

impl<B> Body for DeadlineBody<B>
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
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        if let Poll::Ready(frame) = Pin::new(inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        ready!(this.timer.as_mut().poll(cx));
        this.expired = true;
        this.inner = None;
        // The same status as an expiry before the answer starts (its
        // message, percent-encoded, names the flag).
        let status = deadline_exceeded().into_http::<()>().into_parts().0.headers;
        let mut trailers = HeaderMap::new();
        for name in ["grpc-status", "grpc-message"] {
            if let Some(value) = status.get(name) {
                trailers.insert(name, value.clone());
            }
        }
        Poll::Ready(Some(Ok(Frame::trailers(trailers))))
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn timeout(value: &str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-timeout", HeaderValue::from_str(value).unwrap());
        parse_grpc_timeout(&headers)
    }

    #[test]
    fn parses_every_unit_of_grpc_timeout() {
        assert_eq!(timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(timeout("99999999n"), Some(Duration::from_nanos(99_999_999)));
    }

    #[test]
    fn ignores_malformed_grpc_timeout() {
        for bad in ["S", "5", "5s", "123456789S", "-5S", "1.5S"] {
            assert_eq!(timeout(bad), None, "{bad}");
        }
        assert_eq!(parse_grpc_timeout(&HeaderMap::new()), None);
    }
}
