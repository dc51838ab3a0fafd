//! The gateway's failures and their one mapping to HTTP.
//!
//! Every error answer has the same JSON shape, `{"message": …, "code": …}`,
//! where `code` is a gRPC status code name. Errors that come back from the
//! upstream service keep their code and message; the HTTP status follows
//! grpc-gateway's table (`runtime.HTTPStatusFromCode`), refined by the
//! status's details (the rich error model, see `crate::status::Reason`):
//! `RESOURCE_EXHAUSTED` with the reason `LIMIT_EXCEEDED` or `BUDGET_EXCEEDED`
//! is 413 (retrying cannot help), with `BUSY` 429 with `Retry-After` from its
//! `RetryInfo`. The message text is never read. One exception to keeping
//! the code: a `CANCELLED` that tonic's client raises on its own (its
//! deadline, or the upstream's connection closing under the call) is a 504
//! or a 503, never nginx's 499 "client closed request".

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use thiserror::Error;
use tonic::Code;
use tonic_types::StatusExt;

use crate::status::{Reason, code_name};

/// Why an HTTP request failed.
#[derive(Debug, Error)]
pub enum GatewayError {
    /// The upstream gRPC service refused the call or could not be reached.
    #[error("{}", upstream_message(.0))]
    Upstream(tonic::Status),
    /// A required field of a seed route is missing (`Missing 'array_data'`).
    #[error("Missing '{0}'")]
    MissingField(&'static str),
    /// A seed route's payload cannot be decoded (`Error decoding array: …`).
    #[error("Error decoding {what}: {detail}")]
    Decode {
        /// `array`, `tensor` or `image`: the noun the seed route uses.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// `POST /` without its `array` file.
    #[error("No input file received")]
    NoInputFile,
    /// Some other part of the request is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than the configured limit.
    #[error("the request body is larger than the limit of {limit} bytes (--max-body-bytes)")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A payload is over a size limit other than the body's (an image with
    /// too many pixels to decode).
    #[error("{0}")]
    TooLarge(String),
    /// The body's media type is not one the route reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No answer format in `Accept` is one the route can produce.
    #[error("{0}")]
    NotAcceptable(String),
    /// The request took longer than the configured timeout.
    #[error("the request did not complete in time (--request-timeout-secs)")]
    Timeout,
    /// The client sent nothing for longer than the body read timeout.
    #[error("the request body stalled: no data arrived within --body-read-timeout-secs")]
    BodyStalled,
    /// The gateway has API keys and the request carries none, or a wrong one.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Reading the request body failed (the client went away, bad framing).
    #[error("cannot read the request body: {0}")]
    Body(String),
    /// A bug: something that should not happen did.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::filter::param_text::ParamError> for GatewayError {
    fn from(err: crate::filter::param_text::ParamError) -> GatewayError {
        GatewayError::BadRequest(err.to_string())
    }
}

impl From<tonic::Status> for GatewayError {
    /// An upstream status, except what tonic's client reports as
    /// `CANCELLED` on its own: the gateway's deadline on the call (the
    /// request timeout, 504) or a connection to the upstream that closed
    /// under the call (503, to be retried). Neither is the HTTP client going
    /// away, which drops the request before any answer is made, and the
    /// service never answers `CANCELLED` itself.
    fn from(status: tonic::Status) -> GatewayError {
        if status.code() != Code::Cancelled {
            return GatewayError::Upstream(status);
        }
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&status);
        while let Some(err) = cause {
            if err.is::<tonic::TimeoutExpired>() {
                return GatewayError::Timeout;
            }
            cause = err.source();
        }
        GatewayError::Upstream(tonic::Status::unavailable(format!(
            "the call was cut off: {}",
            status.message()
        )))
    }
}

impl From<crate::client::ClientError> for GatewayError {
    /// The upstream's refusal as [`GatewayError::Upstream`] (see the
    /// conversion from a status); an answer the gateway cannot read is the
    /// gateway's own error.
    fn from(err: crate::client::ClientError) -> GatewayError {
        use crate::client::ClientError;
        match err {
            ClientError::Status(status) => status.into(),
            ClientError::BadAnswer(e) => {
                GatewayError::Internal(format!("the upstream answered an invalid tensor: {e}"))
            }
            ClientError::BadStream(e) => {
                GatewayError::Internal(format!("the upstream's answer is malformed: {e}"))
            }
            other => GatewayError::Internal(other.to_string()),
        }
    }
}

/// Builds the message of an upstream error; a status without one (rare) is
/// described by its code so the answer is never an empty string.
fn upstream_message(status: &tonic::Status) -> String {
    if status.message().is_empty() {
        format!("upstream answered {:?}", status.code())
    } else if status.code() == Code::Unavailable {
        format!("the gRPC upstream is unavailable: {}", status.message())
    } else {
        status.message().to_owned()
    }
}

impl GatewayError {
    /// The gRPC code this error is reported under.
    pub fn code(&self) -> Code {
        match self {
            GatewayError::Upstream(status) => status.code(),
            GatewayError::MissingField(_)
            | GatewayError::Decode { .. }
            | GatewayError::NoInputFile
            | GatewayError::BadRequest(_)
            | GatewayError::UnsupportedMediaType(_)
            | GatewayError::NotAcceptable(_)
            | GatewayError::Body(_) => Code::InvalidArgument,
            GatewayError::BodyTooLarge { .. } | GatewayError::TooLarge(_) => {
                Code::ResourceExhausted
            }
            GatewayError::Timeout | GatewayError::BodyStalled => Code::DeadlineExceeded,
            GatewayError::Unauthenticated(_) => Code::Unauthenticated,
            GatewayError::Internal(_) => Code::Internal,
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::Upstream(status) => status_of_upstream(status),
            GatewayError::BodyTooLarge { .. } | GatewayError::TooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            GatewayError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            GatewayError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            GatewayError::BodyStalled => StatusCode::REQUEST_TIMEOUT,
            other => http_status_from_code(other.code()),
        }
    }
}

/// grpc-gateway's table from gRPC code to HTTP status.
pub fn http_status_from_code(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        // nginx's "client closed request"; grpc-gateway uses it too.
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The HTTP status of an upstream status: the table, except that a refusal
/// over a size limit or larger than the whole memory budget is 413, since
/// retrying will not help, and a busy budget is 429. The reason comes from
/// the status's `ErrorInfo` details, not its text.
fn status_of_upstream(status: &tonic::Status) -> StatusCode {
    match Reason::of(status) {
        Some(Reason::LimitExceeded | Reason::BudgetExceeded) => StatusCode::PAYLOAD_TOO_LARGE,
        Some(Reason::Busy) => StatusCode::TOO_MANY_REQUESTS,
        _ => http_status_from_code(status.code()),
    }
}

/// The `Retry-After` value (whole seconds, at least 1) of a status's
/// `RetryInfo` details.
fn retry_after(status: &tonic::Status) -> Option<HeaderValue> {
    let delay = status.get_details_retry_info()?.retry_delay?;
    let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    Some(HeaderValue::from(seconds.max(1)))
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// What went wrong, for a person.
    pub message: &'a str,
    /// The gRPC status code name (`INVALID_ARGUMENT`, ...).
    pub code: &'a str,
}

/// A JSON error answer with this status, message and code.
pub fn error_response(status: StatusCode, message: &str, code: Code) -> Response {
    let body = ErrorBody {
        message,
        code: code_name(code),
    };
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(%status, error = %self, "request failed");
        } else {
            tracing::debug!(%status, error = %self, "request refused");
        }
        let mut response = error_response(status, &self.to_string(), self.code());
        if let GatewayError::NoInputFile = self {
            // The Flask original signals this in a header, and clients check it.
            response.headers_mut().insert(
                "Input-Error",
                HeaderValue::from_static("No input file received"),
            );
        }
        if let GatewayError::Upstream(status) = &self {
            if status.code() == Code::Unavailable {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            } else if let Some(seconds) = retry_after(status) {
                response.headers_mut().insert(header::RETRY_AFTER, seconds);
            }
        }
        if let GatewayError::Unauthenticated(_) = self {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_codes_map_to_grpc_gateway_statuses() {
        let cases = [
            (Code::InvalidArgument, 400),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::NotFound, 404),
            (Code::ResourceExhausted, 429),
            (Code::Unimplemented, 501),
            (Code::Unavailable, 503),
            (Code::DeadlineExceeded, 504),
            (Code::Internal, 500),
        ];
        for (code, http) in cases {
            let err = GatewayError::Upstream(tonic::Status::new(code, "x"));
            assert_eq!(err.status().as_u16(), http, "{code:?}");
        }
    }

    #[test]
    fn size_refusals_are_413_and_overload_is_429_by_their_details() {
        use crate::service::{ServiceError, limit_exceeded};
        let size = limit_exceeded("--max-tensor-bytes", "a tensor over the limit");
        assert_eq!(GatewayError::Upstream(size).status(), 413);
        let whole = tonic::Status::from(ServiceError::Budget(
            crate::budget::BudgetError::LargerThanBudget {
                needed: 9,
                total: 4,
            },
        ));
        assert_eq!(GatewayError::Upstream(whole).status(), 413);
        // Without details, the words do not matter: the table's 429.
        let worded = tonic::Status::resource_exhausted("over the limit: too large for the budget");
        assert_eq!(GatewayError::Upstream(worded).status(), 429);
        let worded = tonic::Status::out_of_range("decoded message length too large");
        assert_eq!(GatewayError::Upstream(worded).status(), 400);
        assert_eq!(GatewayError::BodyTooLarge { limit: 1 }.status(), 413);
    }

    #[test]
    fn a_busy_budget_is_429_with_retry_after_from_retry_info() {
        let busy = crate::service::busy_status(
            "the server is busy: the request needs 9 bytes of memory and only 4 of 8 are free; retry later".into(),
        );
        let response = GatewayError::Upstream(busy).into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        // The delay is read from RetryInfo, rounded up to whole seconds.
        let details = tonic_types::ErrorDetails::with_retry_info(Some(
            std::time::Duration::from_millis(2500),
        ));
        let status = tonic::Status::with_error_details(Code::ResourceExhausted, "busy", details);
        let response = GatewayError::Upstream(status).into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
    }

    #[test]
    fn what_tonic_cancels_on_its_own_is_a_timeout_or_an_unavailable_upstream() {
        let expired = tonic::Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert_eq!(expired.code(), Code::Cancelled, "tonic's own mapping");
        let response = GatewayError::from(expired).into_response();
        assert_eq!(response.status(), 504);

        let cut = tonic::Status::cancelled("operation was canceled: connection closed");
        let err = GatewayError::from(cut);
        assert_eq!(err.code(), Code::Unavailable);
        assert!(err.to_string().contains("connection closed"), "{err}");
        let response = err.into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");

        let refused = tonic::Status::invalid_argument("bad sigma");
        assert_eq!(GatewayError::from(refused).status(), 400);
    }

    #[test]
    fn seed_messages_read_as_the_flask_originals() {
        assert_eq!(
            GatewayError::MissingField("array_data").to_string(),
            "Missing 'array_data'"
        );
        let err = GatewayError::Decode {
            what: "tensor",
            detail: "bad".into(),
        };
        assert_eq!(err.to_string(), "Error decoding tensor: bad");
        assert_eq!(err.status(), 400);
    }
}
