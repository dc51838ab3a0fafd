//! `scipy.ndimage.gaussian_gradient_magnitude(input, sigma, output=None,
//! mode='reflect', cval=0.0, *, axes=None, truncate=4.0, radius=None)`:
//! the root of the sum over the filtered axes of squared first derivatives
//! of a Gaussian (`derivative_sum`), in the output dtype.

use super::derivative_sum::{self, SumOf};
use super::{Operation, SigmaAxes};
use crate::filter::Combine;
use crate::proto::pb::op_params::Op;

/// The operation.
pub(super) static OP: Operation = derivative_sum::operation(SumOf {
    name: "gaussian_gradient_magnitude",
    summary: "Gradient magnitude with Gaussian derivatives (scipy.ndimage.gaussian_gradient_magnitude), bit for bit",
    sigma_axes: SigmaAxes::Input,
    derivative: 1,
    plan: |dtype, shape, params, limits| {
        let rule = (1, SigmaAxes::Input, Combine::RootSumOfSquares);
        derivative_sum::plan_sum(dtype, shape, params, limits, rule)
    },
    unwrap: |op| match op {
        Op::GaussianGradientMagnitude(p) => Some(derivative_sum::to_common(p.clone())),
        _ => None,
    },
    wrap: |p| derivative_sum::from_common(p).map(Op::GaussianGradientMagnitude),
});
