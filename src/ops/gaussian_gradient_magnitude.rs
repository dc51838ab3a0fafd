//! `scipy.ndimage.gaussian_gradient_magnitude(input, sigma, output=None,
//! mode='reflect', cval=0.0, *, axes=None, truncate=4.0, radius=None)`:
//! the root of the sum over the filtered axes of squared first derivatives
//! of a Gaussian (`derivative_sum`), in the output dtype.

use super::{Kernels, Operation, SigmaAxes, derivative_sum};
use crate::filter::Combine;
use crate::proto::pb::op_params::Op;

/// The operation.
pub(super) static OP: Operation = Operation {
    name: "gaussian_gradient_magnitude",
    summary: "Gradient magnitude with Gaussian derivatives (scipy.ndimage.gaussian_gradient_magnitude), bit for bit",
    signature: "sigma, output=None, mode='reflect', cval=0.0, *, axes=None, truncate=4.0, radius=None",
    params: derivative_sum::PARAMS,
    sigma_axes: SigmaAxes::Input,
    kernels: Kernels::SmoothAndDerivative(1),
    plan: |dtype, shape, params, limits| {
        derivative_sum::plan_sum(
            dtype,
            shape,
            params,
            limits,
            (1, OP.sigma_axes, Combine::RootSumOfSquares),
        )
    },
    unwrap: |op| match op {
        Op::GaussianGradientMagnitude(p) => Some(derivative_sum::to_common(p.clone())),
        _ => None,
    },
    wrap: |p| derivative_sum::from_common(p).map(Op::GaussianGradientMagnitude),
};
