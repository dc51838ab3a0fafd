//! `scipy.ndimage.gaussian_laplace(input, sigma, output=None,
//! mode='reflect', cval=0.0, *, axes=None, truncate=4.0, radius=None)`:
//! the sum over the filtered axes of second derivatives of a Gaussian
//! (`derivative_sum`), added in the output dtype.

use super::derivative_sum::{self, SumOf};
use super::{Operation, SigmaAxes};
use crate::filter::Combine;
use crate::proto::pb::op_params::Op;

/// The operation.
pub(super) static OP: Operation = derivative_sum::operation(SumOf {
    name: "gaussian_laplace",
    summary: "Laplace filter with Gaussian second derivatives (scipy.ndimage.gaussian_laplace), bit for bit",
    sigma_axes: SigmaAxes::Filtered,
    derivative: 2,
    plan: |dtype, shape, params, limits| {
        let rule = (2, SigmaAxes::Filtered, Combine::Sum);
        derivative_sum::plan_sum(dtype, shape, params, limits, rule)
    },
    unwrap: |op| match op {
        Op::GaussianLaplace(p) => Some(derivative_sum::to_common(p.clone())),
        _ => None,
    },
    wrap: |p| derivative_sum::from_common(p).map(Op::GaussianLaplace),
});
