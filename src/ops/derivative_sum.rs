//! What `gaussian_laplace` and `gaussian_gradient_magnitude` share: their
//! parameters, their message, and their plan: one Gaussian filter per
//! filtered axis, of derivative order `d` along that axis and 0 along the
//! others, each stored in the output dtype, joined by a `Combine`.
//!
//! scipy's quirks, kept. `gaussian_laplace` normalises `sigma` to the
//! filtered axes, then spreads it over the input's axes (0 for the others,
//! which are then not smoothed) only when fewer axes than the rank are
//! filtered; with every axis filtered, the list applies to axes 0, 1, ...
//! whatever the order of `axes`. `gaussian_gradient_magnitude` hands
//! `sigma` to `gaussian_filter` as it is (one value, or one per axis of the
//! input: every axis is smoothed, `axes` only picks the derivatives). Term
//! `k` filters every axis with the `k`-th mode. `radius` goes on to
//! `gaussian_filter` unchanged, so a list must have one value per axis of
//! the input.

use super::{Kernels, Operation, ParamSpec, SigmaAxes, spec};
use crate::filter::param_text::Param;
use crate::filter::{
    Combine, FilterError, FilterLimits, GaussianParams, OpPlan, plan, resolve_axes,
};
use crate::proto::pb;
use crate::proto::pb::op_params::Op;
use crate::tensor::DType;

/// What a sum of derivatives declares beyond its name: how it plans and
/// which `OpParams` field carries it.
pub(super) struct SumOf {
    /// scipy's name.
    pub name: &'static str,
    /// One line on what it computes.
    pub summary: &'static str,
    /// Which axes a list of sigma runs over.
    pub sigma_axes: SigmaAxes,
    /// The derivative order along each term's axis.
    pub derivative: u32,
    /// Its plan (`plan_sum` with its order, sigma rule and combine).
    pub plan: fn(DType, &[usize], &GaussianParams, &FilterLimits) -> Result<OpPlan, FilterError>,
    /// Its message out of `OpParams`.
    pub unwrap: fn(&Op) -> Option<pb::GaussianParams>,
    /// Its message into `OpParams` (`from_common`, then its field).
    pub wrap: fn(pb::GaussianParams) -> Result<Op, FilterError>,
}

/// The operation a sum of derivatives declares: scipy's signature and the
/// parameters of both sums.
pub(super) const fn operation(sum: SumOf) -> Operation {
    Operation {
        name: sum.name,
        summary: sum.summary,
        signature: "sigma, output=None, mode='reflect', cval=0.0, *, axes=None, truncate=4.0, radius=None",
        params: PARAMS,
        sigma_axes: sum.sigma_axes,
        kernels: Kernels::SmoothAndDerivative(sum.derivative),
        plan: sum.plan,
        unwrap: sum.unwrap,
        wrap: sum.wrap,
    }
}

/// The parameters, in scipy's order.
pub(super) const PARAMS: &[ParamSpec] = &[
    ParamSpec::list(
        Param::Sigma,
        "",
        "standard deviation: one value, or one per filtered axis (gaussian_laplace) or per axis of the input (gaussian_gradient_magnitude), as scipy reads it",
    ),
    spec::OUTPUT_DTYPE,
    ParamSpec::list(
        Param::Mode,
        "reflect",
        "one for every term, or one per filtered axis (term k filters every axis with it)",
    ),
    spec::CVAL,
    ParamSpec::list(
        Param::Axes,
        "",
        "the axes whose derivatives are summed, in order; every axis by default",
    ),
    spec::TRUNCATE,
    ParamSpec::list(
        Param::Radius,
        "",
        "kernel half-width in samples, one or one per axis of the input, overriding truncate",
    ),
    spec::CVAL_IMAG,
    spec::EXP,
];

/// Moves the fields the message and the common form share.
macro_rules! shared_fields {
    ($from:expr, $to:path { $($extra:ident: $value:expr),* }) => {{
        let p = $from;
        $to {
            sigma: p.sigma,
            mode: p.mode,
            cval: p.cval,
            truncate: p.truncate,
            radius: p.radius,
            axes: p.axes,
            cval_imag: p.cval_imag,
            output_dtype: p.output_dtype,
            exp: p.exp,
            kernels: p.kernels,
            $($extra: $value),*
        }
    }};
}

/// The message in the common form.
pub(super) fn to_common(p: pb::GaussianDerivativeSumParams) -> pb::GaussianParams {
    shared_fields!(p, pb::GaussianParams { order: vec![] })
}

/// The common form as the message (`order`, which neither operation
/// takes, is refused).
pub(super) fn from_common(
    p: pb::GaussianParams,
) -> Result<pb::GaussianDerivativeSumParams, FilterError> {
    if !p.order.is_empty() {
        return Err(FilterError::NotScalar {
            param: "order",
            len: p.order.len(),
        });
    }
    Ok(shared_fields!(p, pb::GaussianDerivativeSumParams {}))
}

/// The terms, in the order of `axes`, joined by `combine`.
pub(super) fn plan_sum(
    dtype: DType,
    shape: &[usize],
    params: &GaussianParams,
    limits: &FilterLimits,
    (derivative, sigma_rule, combine): (i64, SigmaAxes, Combine),
) -> Result<OpPlan, FilterError> {
    let rank = shape.len();
    if params.sigma.is_empty() {
        return Err(FilterError::SigmaRequired);
    }
    let axes = resolve_axes(&params.axes, rank)?;
    let n = axes.len();
    let list = |param: &'static str, len: usize| {
        if len > 1 && len != n {
            Err(FilterError::ListLength {
                param,
                len,
                axes: n,
            })
        } else {
            Ok(())
        }
    };
    if sigma_rule == SigmaAxes::Filtered {
        list("sigma", params.sigma.len())?;
    }
    let sigma_of = |k: usize| params.sigma[if params.sigma.len() == 1 { 0 } else { k }];
    if n == 0 {
        // scipy: `output[...] = input[...]`: a plan with no pass copies.
        let copy = GaussianParams {
            sigma: vec![0.0],
            ..params.clone()
        };
        return Ok(OpPlan::from(plan(dtype, shape, &copy, limits)?));
    }
    // sigma per axis of the input, as scipy hands it to gaussian_filter.
    let sigma: Vec<f64> = if sigma_rule == SigmaAxes::Input {
        params.sigma.clone()
    } else if n < rank {
        let mut full = vec![0.0; rank];
        for (k, &axis) in axes.iter().enumerate() {
            full[axis] = sigma_of(k);
        }
        full
    } else {
        (0..rank).map(sigma_of).collect()
    };
    list("mode", params.mode.len())?;
    if !params.kernels.is_empty() && params.kernels.len() != 2 * rank {
        return Err(FilterError::KernelPairs {
            len: params.kernels.len(),
            rank,
        });
    }
    let mut terms = Vec::with_capacity(n);
    for (k, &axis) in axes.iter().enumerate() {
        let kernels = if params.kernels.is_empty() {
            vec![]
        } else {
            (0..rank)
                .map(|a| params.kernels[2 * a + usize::from(a == axis)].clone())
                .collect()
        };
        let term = GaussianParams {
            sigma: sigma.clone(),
            order: (0..rank)
                .map(|a| if a == axis { derivative } else { 0 })
                .collect(),
            mode: params
                .mode
                .get(k)
                .or(params.mode.first())
                .into_iter()
                .copied()
                .collect(),
            axes: vec![],
            kernels,
            ..params.clone()
        };
        terms.push(plan(dtype, shape, &term, limits)?);
    }
    OpPlan::new(terms, combine, limits)
}
