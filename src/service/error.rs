//! The service layer's failures and their one mapping to `tonic::Status`,
//! with the standard rich error model (`google.rpc.Status` details, via
//! `tonic-types`): the meaning of a refusal is in its details, not its text.
//!
//! Every status the services make carries an `ErrorInfo` whose `reason` is
//! one of [`Reason`] and whose `domain` is [`ERROR_DOMAIN`], plus:
//! - `BadRequest` with one field violation naming the field or parameter at
//!   fault, for an invalid argument where the field is known;
//! - `QuotaFailure` naming the limit (its flag), for a refusal over a size
//!   limit or the memory budget;
//! - `RetryInfo` with the delay to wait, for a busy memory budget (also sent
//!   as `retry-after` metadata, in seconds, for clients without the details).
//!
//! The gateway chooses its HTTP status from the reason ([`Reason::of`]), the
//! Rust client exposes the details (`ClientError::details`).

use std::time::Duration;

use thiserror::Error;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::budget::BudgetError;
use crate::filter::FilterError;
use crate::image::ImageError;
use crate::npy::NpyError;
use crate::proto::FieldError;
use crate::status::{ERROR_DOMAIN, Reason};
use crate::store::StoreError;
use crate::tensor::TensorError;

/// Seconds a client refused for a busy memory budget is told to wait
/// (`RetryInfo`, and `retry-after` metadata; the gateway sends it as `Retry-After`).
pub const BUSY_RETRY_AFTER_SECS: u32 = 1;

/// `ErrorInfo` details with this reason and tensorwire's domain.
fn info(reason: Reason) -> ErrorDetails {
    ErrorDetails::with_error_info(
        reason.as_str(),
        ERROR_DOMAIN,
        std::collections::HashMap::new(),
    )
}

/// `INVALID_ARGUMENT` with `ErrorInfo` `BAD_ARGUMENT` and, when the field or
/// parameter at fault is known, a `BadRequest` violation naming it.
pub fn bad_argument(field: Option<&str>, message: impl Into<String>) -> Status {
    let message = message.into();
    let mut details = info(Reason::BadArgument);
    if let Some(field) = field {
        details.add_bad_request_violation(field, message.clone());
    }
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// `RESOURCE_EXHAUSTED` over a size limit: `ErrorInfo` `LIMIT_EXCEEDED` and
/// a `QuotaFailure` whose subject is the limit (its server flag).
pub fn limit_exceeded(limit: &str, message: impl Into<String>) -> Status {
    quota_refusal(Reason::LimitExceeded, limit, message.into())
}

fn quota_refusal(reason: Reason, limit: &str, message: String) -> Status {
    let mut details = info(reason);
    details.add_quota_failure_violation(limit, message.clone());
    Status::with_error_details(reason.code(), message, details)
}

/// `RESOURCE_EXHAUSTED` for a busy memory budget: `ErrorInfo` `BUSY`, a
/// `QuotaFailure` on `--memory-budget`, `RetryInfo` of
/// [`BUSY_RETRY_AFTER_SECS`] and the same delay as `retry-after` metadata.
pub fn busy_status(message: String) -> Status {
    let mut details = info(Reason::Busy);
    details
        .add_quota_failure_violation("--memory-budget", message.clone())
        .set_retry_info(Some(Duration::from_secs(BUSY_RETRY_AFTER_SECS.into())));
    let mut status = Status::with_error_details(Code::ResourceExhausted, message, details);
    status
        .metadata_mut()
        .insert("retry-after", BUSY_RETRY_AFTER_SECS.into());
    status
}

/// `NOT_FOUND` for a stored tensor: `ErrorInfo` `NOT_FOUND` and a
/// `ResourceInfo` naming the id.
fn stored_tensor_not_found(id: &str, message: String) -> Status {
    let mut details = info(Reason::NotFound);
    details.set_resource_info("tensorwire.v1.StoredTensor", id, "", message.clone());
    Status::with_error_details(Code::NotFound, message, details)
}

/// `INTERNAL` with `ErrorInfo` `INTERNAL`: a bug, not the client's fault.
pub fn internal(message: impl Into<String>) -> Status {
    Status::with_error_details(Code::Internal, message, info(Reason::Internal))
}

/// The refusal of a message over `--max-message-bytes`, which tonic makes
/// (as `OUT_OF_RANGE`, from the 5-byte frame header, before anything is
/// allocated) and the server rewrites to this.
pub fn message_too_large() -> Status {
    limit_exceeded(
        "--max-message-bytes",
        "the message is larger than the server's --max-message-bytes limit; send large tensors and images with DescribeStream, GaussianFilterStream or ImageSizeStream",
    )
}

/// A status tonic made itself (no details) for a request it could not
/// decode, given the meaning the contract asks for: a message over the
/// size limit (`OUT_OF_RANGE` in tonic) is [`message_too_large`]; a message
/// that is not valid protobuf, or not valid compressed data (`INTERNAL` in
/// tonic) is the client's error, `INVALID_ARGUMENT` with tonic's message.
/// `None` when the status needs no rewrite: it has details (the services
/// make every status with details), or another code.
pub fn rewrite_codec_refusal(status: &Status) -> Option<Status> {
    if !status.details().is_empty() {
        return None;
    }
    match status.code() {
        Code::OutOfRange => Some(message_too_large()),
        Code::Internal => Some(bad_argument(None, status.message())),
        _ => None,
    }
}

/// Why a call of the service failed.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// A tensor message is invalid.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// A `.npy` payload is invalid.
    #[error(transparent)]
    Npy(#[from] NpyError),
    /// Filter parameters are invalid, or the result too large.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// An image is unreadable, or over a limit.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The memory budget refused the request (too large for it, or busy).
    #[error(transparent)]
    Budget(#[from] BudgetError),
    /// A stream's messages are out of order, missing or too many.
    #[error("malformed stream: {0}")]
    Stream(String),
    /// Some other argument is invalid.
    #[error("{0}")]
    InvalidArgument(String),
    /// A named field of the request is invalid.
    #[error("{message}")]
    BadField {
        /// The field, as the proto names it (`mode`, `tensor`, ...).
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// Over a size or capacity limit.
    #[error("{0}")]
    ResourceExhausted(String),
    /// Over the limit set by a server flag.
    #[error("{message}")]
    OverLimit {
        /// The flag (`--max-message-bytes`, ...).
        limit: &'static str,
        /// What is over it, and what to do.
        message: String,
    },
    /// Other requests hold the memory budget now; retrying later can work.
    #[error("{0}")]
    Busy(String),
    /// The tensor store refused (no such tensor, or full).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The transport failed or the client went away mid-call.
    #[error(transparent)]
    Wire(#[from] Status),
    /// A bug: something that should not happen did.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<FieldError> for ServiceError {
    fn from(FieldError { field, message }: FieldError) -> Self {
        ServiceError::BadField { field, message }
    }
}

impl ServiceError {
    /// The reason of this failure (and so its gRPC code); `None` for a
    /// status from the transport, which keeps its own.
    pub fn reason(&self) -> Option<Reason> {
        Some(match self {
            ServiceError::Tensor(TensorError::TooLarge { .. })
            | ServiceError::Npy(NpyError::Tensor(TensorError::TooLarge { .. }))
            | ServiceError::Filter(FilterError::OutputTooLarge { .. })
            | ServiceError::ResourceExhausted(_)
            | ServiceError::OverLimit { .. }
            | ServiceError::Store(StoreError::Full { .. }) => Reason::LimitExceeded,
            ServiceError::Store(StoreError::NotFound(_)) => Reason::NotFound,
            ServiceError::Store(StoreError::Random(_)) => Reason::Internal,
            ServiceError::Image(e) if e.is_over_limit() => Reason::LimitExceeded,
            ServiceError::Image(ImageError::Internal(_)) | ServiceError::Internal(_) => {
                Reason::Internal
            }
            ServiceError::Budget(BudgetError::LargerThanBudget { .. }) => Reason::BudgetExceeded,
            ServiceError::Budget(BudgetError::Busy { .. }) | ServiceError::Busy(_) => Reason::Busy,
            ServiceError::Tensor(_)
            | ServiceError::Image(_)
            | ServiceError::Filter(_)
            | ServiceError::Npy(_)
            | ServiceError::Stream(_)
            | ServiceError::InvalidArgument(_)
            | ServiceError::BadField { .. } => Reason::BadArgument,
            ServiceError::Wire(_) => return None,
        })
    }

    /// The gRPC code of this failure.
    pub fn code(&self) -> Code {
        match (self, self.reason()) {
            (ServiceError::Wire(status), _) => status.code(),
            (_, Some(reason)) => reason.code(),
            (_, None) => Code::Internal,
        }
    }

    /// The field or parameter at fault, for `BadRequest`, where one is.
    pub fn field(&self) -> Option<&str> {
        Some(match self {
            ServiceError::Tensor(e) | ServiceError::Npy(NpyError::Tensor(e)) => match e {
                TensorError::UnknownDType(_) => "dtype",
                TensorError::RankTooLarge { .. } | TensorError::ShapeOverflow { .. } => "shape",
                _ => "data",
            },
            ServiceError::Npy(_) | ServiceError::Image(_) => "data",
            ServiceError::Filter(e) => filter_field(e)?,
            ServiceError::BadField { field, .. } => field,
            _ => return None,
        })
    }

    /// The limit (server flag) a refusal over a limit is about.
    fn limit(&self) -> &'static str {
        match self {
            ServiceError::OverLimit { limit, .. }
            | ServiceError::Store(StoreError::Full { limit, .. }) => limit,
            ServiceError::Image(ImageError::HeaderTooLong { .. }) => "--max-image-header-bytes",
            ServiceError::Image(ImageError::DecodeMemory { .. }) => "--max-image-decode-bytes",
            ServiceError::Image(_) => "--max-image-pixels",
            ServiceError::Budget(_) | ServiceError::Busy(_) => "--memory-budget",
            ServiceError::ResourceExhausted(_) => "request",
            _ => "--max-tensor-bytes",
        }
    }

    /// This failure as a status with `message` (the failure's own text, or
    /// that text with context) and the details of its reason; a status from
    /// the transport keeps its own message.
    pub fn to_status(&self, message: String) -> Status {
        match (self, self.reason()) {
            (ServiceError::Wire(status), _) => wire_status(status.clone()),
            (_, Some(Reason::BadArgument)) => bad_argument(self.field(), message),
            (_, Some(reason @ (Reason::LimitExceeded | Reason::BudgetExceeded))) => {
                quota_refusal(reason, self.limit(), message)
            }
            (_, Some(Reason::Busy)) => busy_status(message),
            (ServiceError::Store(StoreError::NotFound(id)), _) => {
                stored_tensor_not_found(id, message)
            }
            (_, Some(Reason::Internal | Reason::NotFound) | None) => internal(message),
        }
    }
}

/// The parameter a filter refusal is about.
fn filter_field(e: &FilterError) -> Option<&'static str> {
    Some(match e {
        FilterError::SigmaRequired
        | FilterError::SigmaZero
        | FilterError::NonFiniteRadius { .. }
        | FilterError::TooMuchWork { .. } => "sigma",
        FilterError::ListLength { param, .. } | FilterError::NotScalar { param, .. } => param,
        FilterError::AxisOutOfRange { .. } | FilterError::AxisRepeated { .. } => "axes",
        FilterError::NegativeOrder { .. } | FilterError::OrderTooLarge { .. } => "order",
        FilterError::NegativeRadius { .. } | FilterError::RadiusTooLarge { .. } => "radius",
        FilterError::NegativeTruncate { .. } => "truncate",
        FilterError::ComplexCval { .. } => "cval_imag",
        FilterError::KernelCount { .. }
        | FilterError::KernelPairs { .. }
        | FilterError::KernelForSkippedAxis { .. }
        | FilterError::KernelLength { .. }
        | FilterError::KernelNotFinite { .. }
        | FilterError::KernelNotSymmetric { .. } => "kernels",
        FilterError::ComplexToReal { .. }
        | FilterError::RealToComplex { .. }
        | FilterError::BoolOutput => "output_dtype",
        FilterError::OutputTooLarge { .. } => return None,
    })
}

/// A status from the transport as the client gets it: unchanged, except
/// that a message over the size limit in a stream (tonic's `OUT_OF_RANGE`,
/// without details) is the same refusal as in a unary call.
fn wire_status(status: Status) -> Status {
    if status.code() == Code::OutOfRange && status.details().is_empty() {
        message_too_large()
    } else {
        status
    }
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Status {
        match err {
            ServiceError::Wire(status) => wire_status(status),
            other => {
                let message = other.to_string();
                other.to_status(message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_kind_carries_its_reason_and_details() {
        let bad = Status::from(ServiceError::Filter(FilterError::NegativeOrder {
            axis: 0,
            order: -1,
        }));
        assert_eq!(bad.code(), Code::InvalidArgument);
        assert_eq!(Reason::of(&bad), Some(Reason::BadArgument));
        let violations = bad.get_details_bad_request().unwrap().field_violations;
        assert_eq!(violations[0].field, "order");
        assert_eq!(violations[0].description, bad.message());

        let limit = Status::from(ServiceError::Tensor(TensorError::TooLarge {
            shape: vec![9],
            dtype: crate::tensor::DType::Int8,
            nbytes: 9,
            max: 4,
        }));
        assert_eq!(limit.code(), Code::ResourceExhausted);
        assert_eq!(Reason::of(&limit), Some(Reason::LimitExceeded));
        let quota = limit.get_details_quota_failure().unwrap();
        assert_eq!(quota.violations[0].subject, "--max-tensor-bytes");
        assert!(limit.get_details_retry_info().is_none());

        let budget = Status::from(ServiceError::Budget(BudgetError::LargerThanBudget {
            needed: 9,
            total: 4,
        }));
        assert_eq!(Reason::of(&budget), Some(Reason::BudgetExceeded));
        assert_eq!(budget.code(), Code::ResourceExhausted);

        let busy = Status::from(ServiceError::Budget(BudgetError::Busy {
            needed: 9,
            free: 4,
            total: 8,
        }));
        assert_eq!(Reason::of(&busy), Some(Reason::Busy));
        let retry = busy.get_details_retry_info().unwrap();
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(1)));
        assert_eq!(busy.metadata().get("retry-after").unwrap(), "1");
    }

    #[test]
    fn tonic_codec_refusals_are_rewritten_and_detailed_statuses_kept() {
        let oversized = Status::out_of_range("Error, decoded message length too large");
        let rewritten = rewrite_codec_refusal(&oversized).unwrap();
        assert_eq!(rewritten.code(), Code::ResourceExhausted);
        assert_eq!(Reason::of(&rewritten), Some(Reason::LimitExceeded));
        let undecodable = Status::internal("failed to decode Protobuf message");
        let rewritten = rewrite_codec_refusal(&undecodable).unwrap();
        assert_eq!(rewritten.code(), Code::InvalidArgument);
        assert_eq!(rewritten.message(), undecodable.message());
        assert!(rewrite_codec_refusal(&internal("a bug")).is_none());
        assert!(rewrite_codec_refusal(&Status::cancelled("gone")).is_none());
        let in_stream = Status::from(ServiceError::Wire(oversized));
        assert_eq!(Reason::of(&in_stream), Some(Reason::LimitExceeded));
        // Other transport statuses pass unchanged, message and all.
        let kept = Status::from(ServiceError::Wire(undecodable.clone()));
        assert_eq!(
            (kept.code(), kept.message()),
            (undecodable.code(), undecodable.message())
        );
    }

    #[test]
    fn reasons_round_trip_and_other_domains_are_not_read() {
        for reason in Reason::ALL {
            let details = info(reason);
            assert_eq!(Reason::from_details(&details), Some(reason));
        }
        let foreign =
            ErrorDetails::with_error_info("BUSY", "example.com", std::collections::HashMap::new());
        assert_eq!(Reason::from_details(&foreign), None);
        assert_eq!(Reason::of(&Status::resource_exhausted("limit")), None);
    }
}
