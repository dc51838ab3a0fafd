//! `scipy.ndimage.gaussian_laplace(input, sigma, output=None,
//! mode='reflect', cval=0.0, *, axes=None, truncate=4.0, radius=None)`:
//! the sum over the filtered axes of second derivatives of a Gaussian
//! (`derivative_sum`), added in the output dtype.

use super::{Kernels, Operation, SigmaAxes, derivative_sum};
use crate::filter::Combine;
use crate::proto::pb::op_params::Op;

/// The operation.
pub(super) static OP: Operation = Operation {
    name: "gaussian_laplace",
    summary: "Laplace filter with Gaussian second derivatives (scipy.ndimage.gaussian_laplace), bit for bit",
    signature: "sigma, output=None, mode='reflect', cval=0.0, *, axes=None, truncate=4.0, radius=None",
    params: derivative_sum::PARAMS,
    sigma_axes: SigmaAxes::Filtered,
    kernels: Kernels::SmoothAndDerivative(2),
    plan: |dtype, shape, params, limits| {
        derivative_sum::plan_sum(
            dtype,
            shape,
            params,
            limits,
            (2, OP.sigma_axes, Combine::Sum),
        )
    },
    unwrap: |op| match op {
        Op::GaussianLaplace(p) => Some(derivative_sum::to_common(p.clone())),
        _ => None,
    },
    wrap: |p| derivative_sum::from_common(p).map(Op::GaussianLaplace),
};
