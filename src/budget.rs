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
    permit: Option<OwnedSemaphorePermit>,
}

impl Reservation {
    /// Bytes held (whole KiB).
    pub fn bytes(&self) -> u64 {
        self.permit
            .as_ref()
            .map_or(0, |p| p.num_permits() as u64 * UNIT)
    }

    /// Adds `other`'s bytes to this reservation (released together).
    pub fn merge(&mut self, other: Reservation) {
        match (&mut self.permit, other.permit) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
    }
}

/// Steps in which a [`Growing`] reservation grows: few semaphore calls for
/// a body arriving in 16 KiB reads, and at most this much reserved ahead of
/// what is held.
pub const GRANULE: u64 = 1 << 20;

/// A reservation for a buffer whose final size is not known when it starts
/// (a chunked body, an answer arriving in pieces): it grows in
/// [`GRANULE`]s ahead of what is held, and is released when dropped.
#[derive(Debug)]
pub struct Growing {
    budget: MemoryBudget,
    held: Reservation,
}

impl Growing {
    /// An empty reservation in `budget`.
    pub fn new(budget: &MemoryBudget) -> Growing {
        Growing {
            budget: budget.clone(),
            held: Reservation { permit: None },
        }
    }

    /// Bytes reserved now.
    pub fn bytes(&self) -> u64 {
        self.held.bytes()
    }

    /// Makes the reservation cover `total` bytes (a granule more when that
    /// fits), or refuses at once: busy, or `total` larger than the budget.
    pub fn try_grow_to(&mut self, total: u64) -> Result<(), BudgetError> {
        let have = self.bytes();
        if total <= have {
            return Ok(());
        }
        let exact = total - have;
        let ahead = exact.next_multiple_of(GRANULE);
        let more = match self.budget.try_reserve(ahead) {
            Ok(more) => more,
            Err(_) => match self.budget.try_reserve(exact) {
                Ok(more) => more,
                Err(BudgetError::Busy {
                    free, total: all, ..
                }) if total <= all => {
                    return Err(BudgetError::Busy {
                        needed: total,
                        free,
                        total: all,
                    });
                }
                Err(_) => {
                    return Err(BudgetError::LargerThanBudget {
                        needed: total,
                        total: self.budget.total_bytes(),
                    });
                }
            },
        };
        self.held.merge(more);
        Ok(())
    }
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

    /// Reserves `bytes`, waiting until other requests free enough of the
    /// budget (back-pressure); refuses at once only what can never fit.
    pub async fn reserve_waiting(&self, bytes: u64) -> Result<Reservation, BudgetError> {
        let units = bytes.div_ceil(UNIT);
        if units == 0 {
            return Ok(Reservation { permit: None });
        }
        let too_large = || BudgetError::LargerThanBudget {
            needed: bytes,
            total: self.total_bytes(),
        };
        if units > self.total_units {
            return Err(too_large());
        }
        let count = u32::try_from(units).map_err(|_| too_large())?;
        let permit = self
            .permits
            .clone()
            .acquire_many_owned(count)
            .await
            .map_err(|_| too_large())?; // never closed
        Ok(Reservation {
            permit: Some(permit),
        })
    }

    /// Reserves `bytes` or refuses at once.
    pub fn try_reserve(&self, bytes: u64) -> Result<Reservation, BudgetError> {
        let units = bytes.div_ceil(UNIT);
        if units == 0 {
            return Ok(Reservation { permit: None });
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
                permit: Some(permit),
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
    fn a_growing_reservation_grows_in_granules_and_refuses_what_cannot_fit() {
        let budget = MemoryBudget::new(3 * GRANULE);
        let mut growing = Growing::new(&budget);
        growing.try_grow_to(10).unwrap();
        assert_eq!(budget.in_use_bytes(), GRANULE);
        growing.try_grow_to(GRANULE + 1).unwrap();
        assert_eq!(growing.bytes(), 2 * GRANULE);
        let other = budget.try_reserve(GRANULE / 2).unwrap();
        // The granule does not fit; the exact amount does.
        growing.try_grow_to(2 * GRANULE + 1).unwrap();
        assert!(matches!(
            growing.try_grow_to(3 * GRANULE),
            Err(BudgetError::Busy { .. })
        ));
        assert!(matches!(
            growing.try_grow_to(3 * GRANULE + 1),
            Err(BudgetError::LargerThanBudget { .. })
        ));
        drop((growing, other));
        assert_eq!(budget.in_use_bytes(), 0);
    }

    #[tokio::test]
    async fn a_waiting_reservation_waits_for_the_budget_to_free() {
        let budget = MemoryBudget::new(10 * UNIT);
        let first = budget.try_reserve(8 * UNIT).unwrap();
        let waiting = budget.reserve_waiting(4 * UNIT);
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), &mut waiting)
                .await
                .is_err()
        );
        drop(first);
        assert_eq!(waiting.await.unwrap().bytes(), 4 * UNIT);
        assert!(budget.reserve_waiting(11 * UNIT).await.is_err());
    }

    #[test]
    fn refuses_a_request_larger_than_the_whole_budget() {
        let budget = MemoryBudget::new(10 * UNIT);
        let err = budget.try_reserve(10 * UNIT + 1).unwrap_err();
        assert!(matches!(err, BudgetError::LargerThanBudget { .. }), "{err}");
        assert!(budget.try_reserve(u64::MAX).is_err());
    }
}
