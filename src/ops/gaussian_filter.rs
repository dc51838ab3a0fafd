//! `scipy.ndimage.gaussian_filter(input, sigma, order=0, output=None,
//! mode='reflect', cval=0.0, truncate=4.0, *, radius=None, axes=None)`:
//! one term, the engine's Gaussian filter (`filter::plan`).

use super::{Kernels, Operation, ParamSpec, SigmaAxes, spec};
use crate::filter::param_text::Param;
use crate::filter::{OpPlan, plan};
use crate::proto::pb::op_params::Op;

/// The operation.
pub(super) static OP: Operation = Operation {
    name: "gaussian_filter",
    summary: "Multidimensional Gaussian filter (scipy.ndimage.gaussian_filter), bit for bit",
    signature: "sigma, order=0, output=None, mode='reflect', cval=0.0, truncate=4.0, *, radius=None, axes=None",
    params: &[
        ParamSpec::list(
            Param::Sigma,
            "",
            "standard deviation, one for every filtered axis or one per axis (axes with sigma <= 1e-15 are left as they are)",
        ),
        ParamSpec::list(Param::Order, "0", spec::ORDER),
        ParamSpec::list(Param::Mode, "reflect", spec::MODES),
        spec::CVAL,
        spec::TRUNCATE,
        ParamSpec::list(Param::Radius, "", spec::RADIUS),
        ParamSpec::list(
            Param::Axes,
            "",
            "the axes to filter, in order; every axis by default",
        ),
        spec::CVAL_IMAG,
        spec::OUTPUT_DTYPE,
        spec::EXP,
    ],
    sigma_axes: SigmaAxes::Filtered,
    kernels: Kernels::PerAxisOrder,
    plan: |dtype, shape, params, limits| plan(dtype, shape, params, limits).map(OpPlan::from),
    unwrap: |op| match op {
        Op::GaussianFilter(params) => Some(params.clone()),
        _ => None,
    },
    wrap: |params| Ok(Op::GaussianFilter(params)),
};
