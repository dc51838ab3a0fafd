//! The parameters of a Gaussian filter call, the limits it runs under, and
//! their resolution into a list of 1-D passes.
//!
//! [`GaussianParams`] mirrors the signature of `scipy.ndimage.gaussian_filter`
//! with the proto's conventions (an empty list means "the default", a list of
//! one value applies to every filtered axis). [`resolve_passes`] turns it
//! into the passes scipy would make, raising every error scipy raises (and a
//! few it does not, for limits) before any data is touched, so a streaming
//! call can refuse on the header alone.

use super::error::FilterError;
use super::kernel::{KernelExp, Taps, kernel_radius};
use crate::tensor::DType;

/// How values beyond the edge of an axis are made up; scipy's `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum BoundaryMode {
    /// `d c b a | a b c d | d c b a` (the default).
    #[default]
    Reflect,
    /// `k k k k | a b c d | k k k k` with `k = cval`.
    Constant,
    /// `a a a a | a b c d | d d d d`.
    Nearest,
    /// `d c b | a b c d | c b a`.
    Mirror,
    /// `a b c d | a b c d | a b c d`.
    Wrap,
    /// Same as `Constant` for filters.
    GridConstant,
    /// Same as `Reflect`.
    GridMirror,
    /// Same as `Wrap` for filters.
    GridWrap,
}

impl BoundaryMode {
    /// Every mode, in the order of the proto enum.
    pub const ALL: [BoundaryMode; 8] = [
        BoundaryMode::Reflect,
        BoundaryMode::Constant,
        BoundaryMode::Nearest,
        BoundaryMode::Mirror,
        BoundaryMode::Wrap,
        BoundaryMode::GridConstant,
        BoundaryMode::GridMirror,
        BoundaryMode::GridWrap,
    ];

    /// scipy's name for the mode (`"reflect"`, `"grid-wrap"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            BoundaryMode::Reflect => "reflect",
            BoundaryMode::Constant => "constant",
            BoundaryMode::Nearest => "nearest",
            BoundaryMode::Mirror => "mirror",
            BoundaryMode::Wrap => "wrap",
            BoundaryMode::GridConstant => "grid-constant",
            BoundaryMode::GridMirror => "grid-mirror",
            BoundaryMode::GridWrap => "grid-wrap",
        }
    }

    /// Looks a mode up by scipy's name.
    pub fn from_name(name: &str) -> Option<BoundaryMode> {
        BoundaryMode::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl std::fmt::Display for BoundaryMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The arguments of `scipy.ndimage.gaussian_filter`, with scipy's defaults.
///
/// Lists hold either one value, used for every filtered axis, or one value
/// per filtered axis (in the order of `axes`); an empty list means scipy's
/// default, except for `sigma`, which is required.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GaussianParams {
    /// Standard deviation of the Gaussian; axes with `sigma <= 1e-15` (or
    /// NaN) are left untouched, as scipy does.
    pub sigma: Vec<f64>,
    /// 0 smooths; 1, 2 and 3 convolve with that derivative of a Gaussian.
    /// Empty means 0. Signed so a negative value gets a clear error.
    pub order: Vec<i64>,
    /// Boundary mode; empty means reflect.
    pub mode: Vec<BoundaryMode>,
    /// Value beyond the edges in the constant modes (real part for complex input).
    pub cval: f64,
    /// Imaginary part of `cval`, used for complex input only.
    pub cval_imag: f64,
    /// Kernel half-width in standard deviations; `None` means 4.0.
    pub truncate: Option<f64>,
    /// Kernel half-width in samples, overriding `truncate`; empty means "from truncate".
    pub radius: Vec<i64>,
    /// Axes to filter, in order (the order changes integer results);
    /// negative values count from the end; empty means every axis.
    pub axes: Vec<i64>,
    /// Element type of the result; `None` means the input's.
    pub output_dtype: Option<DType>,
    /// Which float64 `exp` builds the kernels (scipy's depends on the
    /// caller's NumPy and CPU); the C library's by default.
    pub exp: KernelExp,
    /// Kernels made by the caller, as `correlate1d` weights (scipy's
    /// kernel reversed): empty, or one per filtered axis (in the order of
    /// `axes`), empty for an axis that is skipped. They replace the kernels
    /// built here; the other parameters are checked as usual and must give
    /// each kernel's radius.
    pub kernels: Vec<Vec<f64>>,
}

impl GaussianParams {
    /// Parameters with one sigma for every axis and every other value at its default.
    pub fn with_sigma(sigma: f64) -> GaussianParams {
        GaussianParams {
            sigma: vec![sigma],
            ..GaussianParams::default()
        }
    }
}

/// Bounds a filter call must stay within; checked by [`super::plan`] before
/// anything is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterLimits {
    /// Largest kernel radius (half-width) on any axis. The default, 100 000,
    /// allows kernels of 200 001 taps, e.g. sigma 25 000 at truncate 4.
    pub max_radius: usize,
    /// Largest result, in bytes. The default is 4 GiB, the default tensor limit.
    pub max_output_bytes: u64,
    /// Most kernel taps one call may compute: elements × (2·radius + 1),
    /// summed over the filtered axes (and over both parts of a complex
    /// array). The default, 10¹², is about a minute of both cores of a
    /// 2-core Zen 4 machine (which computes about 2·10¹⁰ taps a second);
    /// the workloads of the benchmarks need 10⁷ to 10⁹.
    pub max_taps: u64,
}

impl Default for FilterLimits {
    fn default() -> Self {
        FilterLimits {
            max_radius: 100_000,
            max_output_bytes: 4 << 30,
            max_taps: 1_000_000_000_000,
        }
    }
}

/// One 1-D correlation scipy makes: along `axis`, with `taps`, at `mode`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PassPlan {
    /// The axis filtered, in `0..rank`.
    pub axis: usize,
    /// Boundary mode on this axis.
    pub mode: BoundaryMode,
    /// The weights, folded as scipy's correlation uses them.
    pub taps: Taps,
}

/// Picks the value for filtered axis `index` from a list that holds one
/// value, one per axis, or none (`default`).
fn per_axis<T: Copy>(
    param: &'static str,
    values: &[T],
    axes: usize,
    index: usize,
    default: T,
) -> Result<T, FilterError> {
    match values.len() {
        0 => Ok(default),
        1 => Ok(values[0]),
        len if len == axes => Ok(values[index]),
        len => Err(FilterError::ListLength { param, len, axes }),
    }
}

/// Resolves `axes` against the rank: empty means all axes, negatives count
/// from the end, repeats and out-of-range axes are refused.
pub(crate) fn resolve_axes(axes: &[i64], rank: usize) -> Result<Vec<usize>, FilterError> {
    if axes.is_empty() {
        return Ok((0..rank).collect());
    }
    let rank_i = i64::try_from(rank).unwrap_or(i64::MAX);
    let mut resolved = Vec::with_capacity(axes.len());
    for &axis in axes {
        let a = if axis < 0 {
            axis.checked_add(rank_i)
        } else {
            Some(axis)
        };
        let a = match a {
            Some(a) if (0..rank_i).contains(&a) => a as usize,
            _ => return Err(FilterError::AxisOutOfRange { axis, rank }),
        };
        if resolved.contains(&a) {
            return Err(FilterError::AxisRepeated { axis, resolved: a });
        }
        resolved.push(a);
    }
    Ok(resolved)
}

/// Turns parameters into the passes scipy makes for an input of `rank`
/// axes, in order, raising scipy's errors (and the radius limit) first.
///
/// Follows scipy's order of checks: axes, then the lengths of the per-axis
/// lists, then, for each axis that is filtered (sigma > 1e-15; NaN sigma
/// skips the axis because the comparison is false), the radius and order.
/// Axes that are skipped are not checked further, as in scipy.
pub(crate) fn resolve_passes(
    rank: usize,
    params: &GaussianParams,
    limits: &FilterLimits,
) -> Result<Vec<PassPlan>, FilterError> {
    if params.sigma.is_empty() {
        return Err(FilterError::SigmaRequired);
    }
    let axes = resolve_axes(&params.axes, rank)?;
    let n = axes.len();
    // Check every list's length up front, as scipy's _normalize_sequence does,
    // so a wrong length is reported even when every axis would be skipped.
    for (param, len) in [
        ("order", params.order.len()),
        ("sigma", params.sigma.len()),
        ("mode", params.mode.len()),
        ("radius", params.radius.len()),
    ] {
        if len > 1 && len != n {
            return Err(FilterError::ListLength {
                param,
                len,
                axes: n,
            });
        }
    }
    if !params.kernels.is_empty() && params.kernels.len() != n {
        return Err(FilterError::KernelCount {
            len: params.kernels.len(),
            axes: n,
        });
    }
    let truncate = params.truncate.unwrap_or(4.0);
    let mut passes = Vec::new();
    for (index, &axis) in axes.iter().enumerate() {
        let sigma = per_axis("sigma", &params.sigma, n, index, 0.0)?;
        let given = params.kernels.get(index);
        // `sigma > 1e-15` as scipy tests it, so NaN is skipped too.
        let filtered = sigma > 1e-15;
        if !filtered {
            if let Some(kernel) = given.filter(|k| !k.is_empty()) {
                return Err(FilterError::KernelForSkippedAxis {
                    axis,
                    sigma,
                    len: kernel.len(),
                });
            }
            continue;
        }
        let order = per_axis("order", &params.order, n, index, 0)?;
        let mode = per_axis("mode", &params.mode, n, index, BoundaryMode::Reflect)?;
        let radius = per_axis("radius", &params.radius, n, index, -1)?;
        let radius = if params.radius.is_empty() {
            None
        } else {
            Some(radius)
        };
        let r = kernel_radius(axis, sigma, truncate, radius, limits.max_radius)?;
        if order < 0 {
            return Err(FilterError::NegativeOrder { axis, order });
        }
        // The kernels built here go up to order 3; a given kernel may be of any order.
        if order > 3 && given.is_none() {
            return Err(FilterError::OrderTooLarge { axis, order });
        }
        let taps = match given {
            Some(weights) => given_taps(axis, weights, r)?,
            None => Taps::gaussian(sigma, order as u32, r, params.exp),
        };
        passes.push(PassPlan { axis, mode, taps });
    }
    Ok(passes)
}

/// The one pass of `scipy.ndimage.gaussian_filter1d` for an input of `rank`
/// axes. `params` holds one value (or none, for the defaults) of `sigma`,
/// `order`, `mode`, `radius` and `kernels`, and the axis in `axes` (none:
/// the last axis).
///
/// Unlike `gaussian_filter`, no sigma is skipped: scipy takes the radius
/// from the signed sigma (`int(truncate·sigma + 0.5)`, refused when
/// negative), builds the kernel from sigma² (so a negative sigma filters as
/// its absolute value) and divides by zero for sigma 0. Checked in scipy's
/// order: radius, order, sigma 0, then the axis.
pub(crate) fn resolve_pass_1d(
    rank: usize,
    params: &GaussianParams,
    limits: &FilterLimits,
) -> Result<PassPlan, FilterError> {
    let one = |param: &'static str, len: usize| {
        if len > 1 {
            Err(FilterError::NotScalar { param, len })
        } else {
            Ok(())
        }
    };
    one("sigma", params.sigma.len())?;
    one("order", params.order.len())?;
    one("mode", params.mode.len())?;
    one("radius", params.radius.len())?;
    one("axis", params.axes.len())?;
    one("kernels", params.kernels.len())?;
    let sigma = *params.sigma.first().ok_or(FilterError::SigmaRequired)?;
    let axis = resolve_axes(&[params.axes.first().copied().unwrap_or(-1)], rank);
    // Messages name the axis the call resolves to (0 when it is out of
    // range, which is refused after the checks scipy makes first).
    let named = axis.as_ref().map_or(0, |a| a[0]);
    let truncate = params.truncate.unwrap_or(4.0);
    let r = kernel_radius(
        named,
        sigma,
        truncate,
        params.radius.first().copied(),
        limits.max_radius,
    )?;
    let order = params.order.first().copied().unwrap_or(0);
    let given = params.kernels.first();
    if order < 0 {
        return Err(FilterError::NegativeOrder { axis: named, order });
    }
    if order > 3 && given.is_none() {
        return Err(FilterError::OrderTooLarge { axis: named, order });
    }
    // scipy divides by sigma², which underflows to 0 for |sigma| < 1e-162.
    if sigma * sigma == 0.0 {
        return Err(FilterError::SigmaZero);
    }
    let axis = axis?[0];
    let taps = match given {
        Some(weights) => given_taps(axis, weights, r)?,
        None => Taps::gaussian(sigma, order as u32, r, params.exp),
    };
    let mode = params.mode.first().copied().unwrap_or_default();
    Ok(PassPlan { axis, mode, taps })
}

/// Checks a kernel the caller gave for `axis` (length `2·radius + 1`,
/// finite, symmetric or antisymmetric) and folds it.
fn given_taps(axis: usize, weights: &[f64], radius: usize) -> Result<Taps, FilterError> {
    let expected = 2 * radius + 1;
    if weights.len() != expected {
        return Err(FilterError::KernelLength {
            axis,
            len: weights.len(),
            radius,
            expected,
        });
    }
    if let Some((index, &value)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
        return Err(FilterError::KernelNotFinite { axis, index, value });
    }
    Taps::from_weights(weights).ok_or(FilterError::KernelNotSymmetric { axis })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(sigma: &[f64]) -> GaussianParams {
        GaussianParams {
            sigma: sigma.to_vec(),
            ..GaussianParams::default()
        }
    }

    #[test]
    fn refuses_missing_sigma() {
        let err = resolve_passes(2, &params(&[]), &FilterLimits::default()).unwrap_err();
        assert_eq!(err, FilterError::SigmaRequired);
        assert!(err.to_string().contains("sigma"));
    }

    #[test]
    fn refuses_sigma_list_of_the_wrong_length() {
        let err =
            resolve_passes(2, &params(&[1.0, 2.0, 3.0]), &FilterLimits::default()).unwrap_err();
        assert_eq!(
            err,
            FilterError::ListLength {
                param: "sigma",
                len: 3,
                axes: 2
            }
        );
    }

    #[test]
    fn refuses_repeated_axes_after_resolving_negatives() {
        let mut p = params(&[1.0]);
        p.axes = vec![0, -2];
        let err = resolve_passes(2, &p, &FilterLimits::default()).unwrap_err();
        assert_eq!(
            err,
            FilterError::AxisRepeated {
                axis: -2,
                resolved: 0
            }
        );
    }

    #[test]
    fn refuses_axes_out_of_range_in_both_directions() {
        for axis in [2, -3, i64::MIN, i64::MAX] {
            let mut p = params(&[1.0]);
            p.axes = vec![axis];
            let err = resolve_passes(2, &p, &FilterLimits::default()).unwrap_err();
            assert_eq!(err, FilterError::AxisOutOfRange { axis, rank: 2 });
        }
    }

    #[test]
    fn refuses_negative_and_too_large_orders_on_filtered_axes() {
        let mut p = params(&[1.0]);
        p.order = vec![-1];
        assert!(matches!(
            resolve_passes(1, &p, &FilterLimits::default()),
            Err(FilterError::NegativeOrder { order: -1, .. })
        ));
        p.order = vec![4];
        assert!(matches!(
            resolve_passes(1, &p, &FilterLimits::default()),
            Err(FilterError::OrderTooLarge { order: 4, .. })
        ));
    }

    #[test]
    fn skipped_axes_are_not_checked_like_scipy() {
        let mut p = params(&[0.0]);
        p.order = vec![-1];
        p.radius = vec![-5];
        p.truncate = Some(f64::NAN);
        assert_eq!(resolve_passes(1, &p, &FilterLimits::default()), Ok(vec![]));
    }

    #[test]
    fn nan_sigma_skips_the_axis_and_infinite_sigma_is_refused() {
        assert_eq!(
            resolve_passes(1, &params(&[f64::NAN]), &FilterLimits::default()),
            Ok(vec![])
        );
        let mut p = params(&[f64::INFINITY]);
        p.radius = vec![2];
        assert!(matches!(
            resolve_passes(1, &p, &FilterLimits::default()),
            Err(FilterError::NonFiniteRadius { .. })
        ));
    }

    #[test]
    fn refuses_non_finite_truncate() {
        for t in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut p = params(&[1.0]);
            p.truncate = Some(t);
            assert!(matches!(
                resolve_passes(1, &p, &FilterLimits::default()),
                Err(FilterError::NonFiniteRadius { .. })
            ));
        }
    }

    #[test]
    fn refuses_radius_over_the_limit_before_building_the_kernel() {
        let limits = FilterLimits {
            max_radius: 10,
            ..FilterLimits::default()
        };
        let err = resolve_passes(1, &params(&[1e300]), &limits).unwrap_err();
        assert!(
            matches!(err, FilterError::RadiusTooLarge { max: 10, .. }),
            "{err}"
        );
        let mut p = params(&[1.0]);
        p.radius = vec![11];
        assert!(matches!(
            resolve_passes(1, &p, &limits),
            Err(FilterError::RadiusTooLarge { .. })
        ));
    }

    #[test]
    fn refuses_negative_radius_and_negative_truncate() {
        let mut p = params(&[1.0]);
        p.radius = vec![-1];
        assert!(matches!(
            resolve_passes(1, &p, &FilterLimits::default()),
            Err(FilterError::NegativeRadius { radius: -1, .. })
        ));
        let mut p = params(&[1.0]);
        p.truncate = Some(-2.0);
        assert!(matches!(
            resolve_passes(1, &p, &FilterLimits::default()),
            Err(FilterError::NegativeTruncate { .. })
        ));
        // int(-1.0 * 1.0 + 0.5) == 0 in Python: a zero radius, not an error.
        p.truncate = Some(-1.0);
        assert!(resolve_passes(1, &p, &FilterLimits::default()).is_ok());
    }

    #[test]
    fn passes_follow_the_order_of_axes() {
        let mut p = params(&[1.0, 2.0]);
        p.axes = vec![-1, 0];
        let passes = resolve_passes(3, &p, &FilterLimits::default()).unwrap();
        assert_eq!(
            passes.iter().map(|p| p.axis).collect::<Vec<_>>(),
            vec![2, 0]
        );
        assert_eq!(passes[1].taps.radius(), 8);
    }

    #[test]
    fn given_kernels_replace_the_built_ones_and_are_checked() {
        let built = super::super::kernel::gaussian_kernel(2.0, 0, 8, KernelExp::NumpyAvx512);
        let weights: Vec<f64> = built.iter().rev().copied().collect();
        let mut p = params(&[2.0, 0.0]);
        p.kernels = vec![weights.clone(), vec![]];
        let passes = resolve_passes(2, &p, &FilterLimits::default()).unwrap();
        assert_eq!(passes.len(), 1);
        let mut q = params(&[2.0, 0.0]);
        q.exp = KernelExp::NumpyAvx512;
        assert_eq!(
            passes,
            resolve_passes(2, &q, &FilterLimits::default()).unwrap()
        );

        let limits = FilterLimits::default();
        let mut bad = p.clone();
        bad.kernels = vec![weights.clone()];
        assert_eq!(
            resolve_passes(2, &bad, &limits),
            Err(FilterError::KernelCount { len: 1, axes: 2 })
        );
        bad.kernels = vec![weights.clone(), vec![1.0]];
        assert!(matches!(
            resolve_passes(2, &bad, &limits),
            Err(FilterError::KernelForSkippedAxis {
                axis: 1,
                len: 1,
                ..
            })
        ));
        bad.kernels = vec![weights[1..].to_vec(), vec![]];
        assert_eq!(
            resolve_passes(2, &bad, &limits),
            Err(FilterError::KernelLength {
                axis: 0,
                len: 16,
                radius: 8,
                expected: 17
            })
        );
        let mut nan = weights.clone();
        nan[3] = f64::NAN;
        bad.kernels = vec![nan, vec![]];
        assert!(matches!(
            resolve_passes(2, &bad, &limits),
            Err(FilterError::KernelNotFinite {
                axis: 0,
                index: 3,
                ..
            })
        ));
        let mut lopsided = weights;
        lopsided[0] = 0.5;
        bad.kernels = vec![lopsided, vec![]];
        let err = resolve_passes(2, &bad, &limits).unwrap_err();
        assert_eq!(err, FilterError::KernelNotSymmetric { axis: 0 });
        assert!(err.to_string().contains("axis 0"), "{err}");
    }

    #[test]
    fn mode_names_round_trip() {
        for mode in BoundaryMode::ALL {
            assert_eq!(BoundaryMode::from_name(mode.name()), Some(mode));
        }
        assert_eq!(BoundaryMode::default(), BoundaryMode::Reflect);
    }
}
