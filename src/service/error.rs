//! The service layer's failures and their one mapping to `tonic::Status`.

use thiserror::Error;
use tonic::{Code, Status};

use crate::filter::FilterError;
use crate::image::ImageError;
use crate::npy::NpyError;
use crate::tensor::TensorError;

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
    /// A stream's messages are out of order, missing or too many.
    #[error("malformed stream: {0}")]
    Stream(String),
    /// Some other argument is invalid.
    #[error("{0}")]
    InvalidArgument(String),
    /// Over a size or capacity limit.
    #[error("{0}")]
    ResourceExhausted(String),
    /// Other requests hold the memory budget now; retrying later can work.
    #[error("{0}")]
    Busy(String),
    /// The transport failed or the client went away mid-call.
    #[error(transparent)]
    Wire(#[from] Status),
    /// A bug: something that should not happen did.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// The gRPC code of this failure.
    pub fn code(&self) -> Code {
        match self {
            ServiceError::Tensor(TensorError::TooLarge { .. }) => Code::ResourceExhausted,
            ServiceError::Npy(NpyError::Tensor(TensorError::TooLarge { .. })) => {
                Code::ResourceExhausted
            }
            ServiceError::Filter(FilterError::OutputTooLarge { .. }) => Code::ResourceExhausted,
            ServiceError::Image(e) if e.is_over_limit() => Code::ResourceExhausted,
            ServiceError::Image(ImageError::Internal(_)) => Code::Internal,
            ServiceError::Tensor(_)
            | ServiceError::Image(_)
            | ServiceError::Filter(_)
            | ServiceError::Npy(_)
            | ServiceError::Stream(_)
            | ServiceError::InvalidArgument(_) => Code::InvalidArgument,
            ServiceError::ResourceExhausted(_) | ServiceError::Busy(_) => Code::ResourceExhausted,
            ServiceError::Wire(status) => status.code(),
            ServiceError::Internal(_) => Code::Internal,
        }
    }
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Status {
        match err {
            ServiceError::Wire(status) => status,
            ServiceError::Busy(message) => busy_status(message),
            other => Status::new(other.code(), other.to_string()),
        }
    }
}

/// Seconds a client refused for a busy memory budget is told to wait
/// (`retry-after` metadata; the gateway sends it as `Retry-After`).
pub const BUSY_RETRY_AFTER_SECS: u32 = 1;

/// `RESOURCE_EXHAUSTED` for a busy budget, marked as retryable: metadata
/// `retry-after` (seconds) tells clients and the gateway (429 + Retry-After)
/// apart from a size limit (413), where retrying cannot help.
pub fn busy_status(message: String) -> Status {
    let mut status = Status::resource_exhausted(message);
    status
        .metadata_mut()
        .insert("retry-after", BUSY_RETRY_AFTER_SECS.into());
    status
}
