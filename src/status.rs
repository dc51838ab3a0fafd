//! The error contract every front shares: the `ErrorInfo` domain
//! ([`ERROR_DOMAIN`]) and reasons ([`Reason`]) of tensorwire's statuses, and
//! the names of gRPC codes ([`code_name`]). The service builds its statuses
//! with them (`service::error`), the client reads them back (and re-exports
//! them as its public API), the gateway picks its HTTP status from the
//! reason and writes the code's name, and the metrics label calls by it.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of tensorwire's statuses.
pub const ERROR_DOMAIN: &str = "tensorwire";

/// Why a call was refused: the stable `ErrorInfo.reason` of a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// An argument is invalid (`INVALID_ARGUMENT`); retrying the same call
    /// cannot succeed.
    BadArgument,
    /// Something is over a size limit (`RESOURCE_EXHAUSTED`): a tensor, a
    /// message, an image, a result. Retrying cannot succeed.
    LimitExceeded,
    /// The request alone needs more memory than the server's whole budget
    /// (`RESOURCE_EXHAUSTED`). Retrying cannot succeed.
    BudgetExceeded,
    /// Other requests hold the memory budget now (`RESOURCE_EXHAUSTED`);
    /// retrying after the `RetryInfo` delay can succeed.
    Busy,
    /// A bug in the server (`INTERNAL`).
    Internal,
    /// No stored tensor has the id (`NOT_FOUND`): never made, deleted,
    /// expired, or another key's.
    NotFound,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 6] = [
        Reason::BadArgument,
        Reason::LimitExceeded,
        Reason::BudgetExceeded,
        Reason::Busy,
        Reason::Internal,
        Reason::NotFound,
    ];

    /// The reason as `ErrorInfo.reason` spells it (`LIMIT_EXCEEDED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BadArgument => "BAD_ARGUMENT",
            Reason::LimitExceeded => "LIMIT_EXCEEDED",
            Reason::BudgetExceeded => "BUDGET_EXCEEDED",
            Reason::Busy => "BUSY",
            Reason::Internal => "INTERNAL",
            Reason::NotFound => "NOT_FOUND",
        }
    }

    /// The gRPC code statuses with this reason have.
    pub fn code(self) -> Code {
        match self {
            Reason::BadArgument => Code::InvalidArgument,
            Reason::LimitExceeded | Reason::BudgetExceeded | Reason::Busy => {
                Code::ResourceExhausted
            }
            Reason::Internal => Code::Internal,
            Reason::NotFound => Code::NotFound,
        }
    }

    /// The reason of a status from tensorwire's `ErrorInfo` details; `None`
    /// for a status without them (made by tonic, or by another server).
    pub fn of(status: &Status) -> Option<Reason> {
        Reason::from_details(&status.get_error_details())
    }

    /// The reason in decoded details, if they are tensorwire's.
    pub fn from_details(details: &ErrorDetails) -> Option<Reason> {
        let info = details.error_info()?;
        if info.domain != ERROR_DOMAIN {
            return None;
        }
        Reason::ALL.into_iter().find(|r| r.as_str() == info.reason)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The gRPC name of a code, as grpc-gateway and `google.rpc.Code` spell it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
