//! An operation's plan: one or more Gaussian filters of the same input (its
//! terms, each a checked [`FilterPlan`] writing the output dtype), joined by
//! a [`Combine`]. `gaussian_filter` and `gaussian_filter1d` are one term;
//! `gaussian_laplace` and `gaussian_gradient_magnitude` one per filtered
//! axis. The slab path (`filter::slabs`) cuts an `OpPlan`, so every
//! operation streams larger than memory.

use bytes::Bytes;

use super::combine::{self, Combine};
use super::error::FilterError;
use super::params::{BoundaryMode, FilterLimits};
use super::{FilterPlan, pool, result_tensor};
use crate::tensor::{DType, Tensor};

/// A checked operation for one dtype and shape.
#[derive(Clone, Debug)]
pub struct OpPlan {
    terms: Vec<FilterPlan>,
    combine: Combine,
}

/// What the pass along axis 0 of a plan's terms reads beyond a row: the
/// slab path's halo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Axis0 {
    /// No term filters axis 0: rows are independent.
    None,
    /// Every term that filters axis 0 does it with this mode; the widest
    /// of their radii.
    Pass { radius: usize, mode: BoundaryMode },
    /// Terms filter axis 0 with different modes: one sub-tensor cannot
    /// serve them all, so the tensor is filtered whole.
    Mixed,
}

impl From<FilterPlan> for OpPlan {
    fn from(plan: FilterPlan) -> OpPlan {
        OpPlan {
            terms: vec![plan],
            combine: Combine::Single,
        }
    }
}

impl OpPlan {
    /// Joins `terms` (checked plans of one input dtype, shape and output
    /// dtype) with `combine`, checking their summed work against
    /// `limits.max_taps`.
    ///
    /// # Panics
    /// With no term, or terms of different shapes or dtypes (a programming
    /// error of the operation).
    pub fn new(
        terms: Vec<FilterPlan>,
        combine: Combine,
        limits: &FilterLimits,
    ) -> Result<OpPlan, FilterError> {
        let first = terms.first().expect("an operation has at least one term");
        assert!(
            terms.iter().all(|t| t.shape == first.shape
                && t.dtype == first.dtype
                && t.output_dtype == first.output_dtype),
            "the terms of an operation filter one input into one dtype"
        );
        let taps = terms.iter().map(|t| t.taps).fold(0, u128::saturating_add);
        if taps > u128::from(limits.max_taps) {
            return Err(FilterError::TooMuchWork {
                taps,
                max: limits.max_taps,
            });
        }
        Ok(OpPlan { terms, combine })
    }

    fn first(&self) -> &FilterPlan {
        &self.terms[0]
    }

    /// Element type of the input.
    pub fn dtype(&self) -> DType {
        self.first().dtype
    }

    /// Element type of the result.
    pub fn output_dtype(&self) -> DType {
        self.first().output_dtype
    }

    /// Size of the result's data in bytes.
    pub fn output_nbytes(&self) -> usize {
        self.first().output_nbytes
    }

    /// Result-sized buffers the plan holds at once while it runs: 1 for one
    /// term, 2 (the sum and the term being added) for more.
    pub fn result_buffers(&self) -> usize {
        if self.terms.len() > 1 { 2 } else { 1 }
    }

    /// Shape of the input (and of the result).
    pub fn shape(&self) -> &[usize] {
        self.first().shape()
    }

    /// Number of 1-D passes over all terms (0 when nothing is filtered).
    pub fn num_passes(&self) -> usize {
        self.terms.iter().map(FilterPlan::num_passes).sum()
    }

    /// The pass along axis 0, as the slab path needs it.
    pub(crate) fn axis0(&self) -> Axis0 {
        let mut found = Axis0::None;
        for pass in self
            .terms
            .iter()
            .flat_map(|t| t.passes.iter().filter(|p| p.axis == 0))
        {
            let radius = pass.taps.radius();
            found = match found {
                Axis0::None => Axis0::Pass {
                    radius,
                    mode: pass.mode,
                },
                Axis0::Pass { radius: r, mode } if mode == pass.mode => Axis0::Pass {
                    radius: r.max(radius),
                    mode,
                },
                _ => Axis0::Mixed,
            };
        }
        found
    }

    /// The same operation for an input of another `shape` of the same rank
    /// (a slab: see [`FilterPlan::for_shape`]).
    pub(crate) fn for_shape(&self, shape: &[usize]) -> OpPlan {
        OpPlan {
            terms: self.terms.iter().map(|t| t.for_shape(shape)).collect(),
            combine: self.combine,
        }
    }

    /// Runs the operation on `input`. Blocks the calling thread while all
    /// cores work; call it from `spawn_blocking` in async code.
    ///
    /// # Panics
    /// If `input`'s dtype or shape is not the one the plan was made for.
    pub fn run(&self, input: &Tensor) -> Tensor {
        result_tensor(self.output_dtype(), self.shape(), self.run_bytes(input))
    }

    /// The result's bytes as scipy leaves them in memory.
    pub(crate) fn run_bytes(&self, input: &Tensor) -> Bytes {
        let first = self.first();
        if self.combine == Combine::Single {
            return first.run_bytes(input);
        }
        let dtype = self.output_dtype();
        let mut acc = first.run_vec(input);
        let squares = self.combine == Combine::RootSumOfSquares;
        if squares {
            combine::square(&mut acc, dtype);
        }
        let rest = &self.terms[1..];
        for (k, term) in rest.iter().enumerate() {
            let t = term.run_vec(input);
            if squares {
                combine::add_square(&mut acc, &t, dtype, k + 1 == rest.len());
            } else {
                combine::add(&mut acc, &t, dtype);
            }
            pool::give_back_from(t, first.pool_min);
        }
        if squares && rest.is_empty() {
            combine::sqrt(&mut acc, dtype);
        }
        pool::into_bytes_from(acc, first.pool_min)
    }
}
