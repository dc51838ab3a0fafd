//! `scipy.ndimage.gaussian_filter1d(input, sigma, axis=-1, order=0,
//! output=None, mode='reflect', cval=0.0, truncate=4.0, *, radius=None)`:
//! one pass along one axis (`filter::plan_1d`: no sigma is skipped, the
//! radius comes from the signed sigma, sigma 0 is refused as scipy's
//! division by zero).

use super::{Kernels, Operation, ParamSpec, SigmaAxes, spec};
use crate::filter::param_text::Param;
use crate::filter::{FilterError, OpPlan, plan_1d};
use crate::proto::pb;
use crate::proto::pb::op_params::Op;

/// The operation.
pub(super) static OP: Operation = Operation {
    name: "gaussian_filter1d",
    summary: "One-dimensional Gaussian filter along one axis (scipy.ndimage.gaussian_filter1d), bit for bit",
    signature: "sigma, axis=-1, order=0, output=None, mode='reflect', cval=0.0, truncate=4.0, *, radius=None",
    params: &[
        ParamSpec::one(
            Param::Sigma,
            "",
            "standard deviation (not 0; a negative one filters as its absolute value)",
        ),
        ParamSpec::one(
            Param::Axis,
            "-1",
            "the axis to filter; negative counts from the end",
        ),
        ParamSpec::one(Param::Order, "0", spec::ORDER),
        spec::OUTPUT_DTYPE,
        ParamSpec::one(Param::Mode, "reflect", spec::MODES),
        spec::CVAL,
        spec::TRUNCATE,
        ParamSpec::one(Param::Radius, "", spec::RADIUS),
        spec::CVAL_IMAG,
        spec::EXP,
    ],
    sigma_axes: SigmaAxes::Filtered,
    kernels: Kernels::One,
    plan: |dtype, shape, params, limits| plan_1d(dtype, shape, params, limits).map(OpPlan::from),
    unwrap: |op| match op {
        Op::GaussianFilter1d(p) => Some(pb::GaussianParams {
            sigma: p.sigma.into_iter().collect(),
            order: vec![p.order],
            mode: vec![p.mode],
            cval: p.cval,
            truncate: p.truncate,
            radius: p.radius.into_iter().collect(),
            axes: p.axis.into_iter().collect(),
            cval_imag: p.cval_imag,
            output_dtype: p.output_dtype,
            exp: p.exp,
            kernels: p.kernel.clone().into_iter().collect(),
        }),
        _ => None,
    },
    wrap: |p| {
        Ok(Op::GaussianFilter1d(pb::GaussianFilter1dParams {
            sigma: one("sigma", &p.sigma)?,
            axis: one("axis", &p.axes)?,
            order: one("order", &p.order)?.unwrap_or(0),
            mode: one("mode", &p.mode)?.unwrap_or(0),
            cval: p.cval,
            truncate: p.truncate,
            radius: one("radius", &p.radius)?,
            cval_imag: p.cval_imag,
            output_dtype: p.output_dtype,
            exp: p.exp,
            kernel: one("kernels", &p.kernels)?,
        }))
    },
};

/// The one value of a list parameter, `None` when empty.
fn one<T: Clone>(param: &'static str, values: &[T]) -> Result<Option<T>, FilterError> {
    match values {
        [] => Ok(None),
        [v] => Ok(Some(v.clone())),
        many => Err(FilterError::NotScalar {
            param,
            len: many.len(),
        }),
    }
}
