//! The memory budget: how many tensor bytes all requests together may hold.
//!
//! A request reserves its declared size (input plus result) before it reads
//! its data and gives it back when it ends, however it ends: the reservation
//! is dropped with the request, including when the client cancels or
//! disconnects. A request that does not fit is refused at once with
//! `RESOURCE_EXHAUSTED` instead of risking an out-of-memory abort.

use std::sync::Arc;

use thiserror::Error;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Budget is counted in KiB so that tokio's `u32` permit counts reach 4 TiB.
const UNIT: u64 = 1024;

/// A shared budget of in-flight tensor bytes.
#[derive(Clone, Debug)]
pub struct MemoryBudget {
    permits: Arc<Semaphore>,
    total_units: u64,
}

/// Bytes held against the budget until dropped.
#[derive(Debug)]
pub struct Reservation {
    _permit: Option<OwnedSemaphorePermit>,
}

/// Why a reservation was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BudgetError {
    /// The request alone is larger than the whole budget.
    #[error(
        "the request needs {needed} bytes of memory, more than the server's whole budget of {total} bytes"
    )]
    LargerThanBudget {
        /// Bytes asked for.
        needed: u64,
        /// The budget.
        total: u64,
    },
    /// Other requests hold too much of the budget right now.
    #[error(
        "the server is busy: the request needs {needed} bytes of memory and only {free} of {total} are free; retry later"
    )]
    Busy {
        /// Bytes asked for.
        needed: u64,
        /// Bytes free now.
        free: u64,
        /// The budget.
        total: u64,
    },
}

impl MemoryBudget {
    /// A budget of `bytes` (rounded down to whole KiB).
    pub fn new(bytes: u64) -> MemoryBudget {
        let units = (bytes / UNIT).min(Semaphore::MAX_PERMITS as u64);
        MemoryBudget {
            permits: Arc::new(Semaphore::new(units as usize)),
            total_units: units,
        }
    }

    /// The whole budget in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.total_units * UNIT
    }

    /// Bytes held by requests right now.
    pub fn in_use_bytes(&self) -> u64 {
        (self.total_units - self.permits.available_permits() as u64) * UNIT
    }

    /// Reserves `bytes` or refuses at once.
    pub fn try_reserve(&self, bytes: u64) -> Result<Reservation, BudgetError> {
        let units = bytes.div_ceil(UNIT);
        if units == 0 {
            return Ok(Reservation { _permit: None });
        }
        if units > self.total_units {
            return Err(BudgetError::LargerThanBudget {
                needed: bytes,
                total: self.total_bytes(),
            });
        }
        // Checked above: units <= total_units <= MAX_PERMITS, which fits u32
        // only up to 4 TiB; larger budgets are clamped by `new`.
        let count = u32::try_from(units).map_err(|_| BudgetError::LargerThanBudget {
            needed: bytes,
            total: self.total_bytes(),
        })?;
        match self.permits.clone().try_acquire_many_owned(count) {
            Ok(permit) => Ok(Reservation {
                _permit: Some(permit),
            }),
            Err(_) => Err(BudgetError::Busy {
                needed: bytes,
                free: self.permits.available_permits() as u64 * UNIT,
                total: self.total_bytes(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_returned_when_dropped() {
        let budget = MemoryBudget::new(10 * UNIT);
        let first = budget.try_reserve(6 * UNIT).unwrap();
        assert_eq!(budget.in_use_bytes(), 6 * UNIT);
        let err = budget.try_reserve(5 * UNIT).unwrap_err();
        assert!(matches!(err, BudgetError::Busy { free: 4096, .. }), "{err}");
        drop(first);
        assert_eq!(budget.in_use_bytes(), 0);
        assert!(budget.try_reserve(10 * UNIT).is_ok());
    }

    #[test]
    fn refuses_a_request_larger_than_the_whole_budget() {
        let budget = MemoryBudget::new(10 * UNIT);
        let err = budget.try_reserve(10 * UNIT + 1).unwrap_err();
        assert!(matches!(err, BudgetError::LargerThanBudget { .. }), "{err}");
        assert!(budget.try_reserve(u64::MAX).is_err());
    }
}
