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
            ServiceError::ResourceExhausted(_) => Code::ResourceExhausted,
            ServiceError::Wire(status) => status.code(),
            ServiceError::Internal(_) => Code::Internal,
        }
    }
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Status {
        match err {
            ServiceError::Wire(status) => status,
            other => Status::new(other.code(), other.to_string()),
        }
    }
}
