//! Why a filter call is refused: [`FilterError`], raised by the parameters'
//! resolution (`params`) and by the kernels' radius (`kernel`), both of which
//! read it from here.

use thiserror::Error;

use crate::tensor::DType;

/// Why a filter call is refused. Every message names the parameter and the
/// value at fault.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum FilterError {
    /// No sigma was given.
    #[error("sigma is required: give one value for every filtered axis, or one per axis")]
    SigmaRequired,
    /// `gaussian_filter1d` with sigma 0 (scipy's kernel divides by sigma²
    /// and raises `ZeroDivisionError`).
    #[error(
        "sigma must not be 0 for gaussian_filter1d (nor so small that its square is 0): the kernel divides by sigma squared"
    )]
    SigmaZero,
    /// A complex fill value for a real input (scipy's `correlate1d` reads
    /// `cval` as a float and raises `TypeError`).
    #[error(
        "cval_imag must be 0 for a real input: a complex cval fills only complex arrays (got {cval_imag})"
    )]
    ComplexCval {
        /// The imaginary part given.
        cval_imag: f64,
    },
    /// Kernels of a sum of derivatives (`gaussian_laplace`,
    /// `gaussian_gradient_magnitude`) not two per axis of the input.
    #[error(
        "kernels has {len} kernels for an input of rank {rank}; give none, or two per axis of the input (smoothing, then derivative; empty for an axis not filtered)"
    )]
    KernelPairs {
        /// Kernels given.
        len: usize,
        /// Rank of the input.
        rank: usize,
    },
    /// An operation that takes one value got a list.
    #[error("{param} takes one value, got {len}")]
    NotScalar {
        /// The parameter's name.
        param: &'static str,
        /// Values given.
        len: usize,
    },
    /// A per-axis list has neither one value nor one per filtered axis.
    #[error(
        "{param} has {len} values but {axes} axes are filtered; give one value, or one per filtered axis"
    )]
    ListLength {
        /// The parameter's name.
        param: &'static str,
        /// Values given.
        len: usize,
        /// Number of filtered axes.
        axes: usize,
    },
    /// An axis outside `-rank..rank`.
    #[error("axes: axis {axis} is out of range for an array of rank {rank}")]
    AxisOutOfRange {
        /// The axis as given.
        axis: i64,
        /// Rank of the input.
        rank: usize,
    },
    /// The same axis named twice.
    #[error("axes must be unique: axis {axis} names axis {resolved} a second time")]
    AxisRepeated {
        /// The axis as given.
        axis: i64,
        /// The axis it resolves to.
        resolved: usize,
    },
    /// A negative derivative order.
    #[error("order must be non-negative: got {order} for axis {axis}")]
    NegativeOrder {
        /// The filtered axis.
        axis: usize,
        /// The order given.
        order: i64,
    },
    /// A derivative order above 3.
    #[error(
        "order {order} for axis {axis} is not supported: use 0 (smoothing) or 1, 2, 3 (derivatives), or send the kernel (the Python package does)"
    )]
    OrderTooLarge {
        /// The filtered axis.
        axis: usize,
        /// The order given.
        order: i64,
    },
    /// A negative `radius`.
    #[error("radius must be a non-negative integer: got {radius} for axis {axis}")]
    NegativeRadius {
        /// The filtered axis.
        axis: usize,
        /// The radius given.
        radius: i64,
    },
    /// `truncate * sigma + 0.5` truncates to a negative radius.
    #[error(
        "truncate {truncate} with sigma {sigma} gives the negative radius {radius} for axis {axis}; truncate must be non-negative"
    )]
    NegativeTruncate {
        /// The filtered axis.
        axis: usize,
        /// Sigma of that axis.
        sigma: f64,
        /// The truncate given.
        truncate: f64,
        /// `int(truncate * sigma + 0.5)`.
        radius: f64,
    },
    /// `truncate * sigma + 0.5` is infinite or NaN (scipy cannot convert it to an integer).
    #[error(
        "sigma {sigma} and truncate {truncate} give a non-finite kernel radius for axis {axis}; both must be finite"
    )]
    NonFiniteRadius {
        /// The filtered axis.
        axis: usize,
        /// Sigma of that axis.
        sigma: f64,
        /// The truncate given.
        truncate: f64,
    },
    /// The kernel would be wider than the limit.
    #[error(
        "the kernel radius {radius} for axis {axis} exceeds the limit of {max}; use a smaller sigma, truncate or radius"
    )]
    RadiusTooLarge {
        /// The filtered axis.
        axis: usize,
        /// The radius asked for (from `radius`, or `truncate * sigma + 0.5`).
        radius: f64,
        /// The limit.
        max: usize,
    },
    /// The call would compute more kernel taps than the limit allows (a
    /// large array with a wide kernel: minutes or hours of work).
    #[error(
        "the filter would compute {taps} kernel taps (elements × (2·radius + 1), summed over the filtered axes), over the limit of {max}; use a smaller sigma, truncate or radius, or a smaller array"
    )]
    TooMuchWork {
        /// Taps the call needs.
        taps: u128,
        /// The limit.
        max: u64,
    },
    /// `kernels` has neither no entry nor one per filtered axis.
    #[error(
        "kernels has {len} entries but {axes} axes are filtered; give none, or one per filtered axis (empty for an axis with sigma <= 1e-15)"
    )]
    KernelCount {
        /// Kernels given.
        len: usize,
        /// Number of filtered axes.
        axes: usize,
    },
    /// A kernel given for an axis that scipy skips.
    #[error(
        "kernels: axis {axis} is not filtered (sigma {sigma} <= 1e-15) but has a kernel of {len} weights; give an empty kernel"
    )]
    KernelForSkippedAxis {
        /// The axis.
        axis: usize,
        /// Its sigma.
        sigma: f64,
        /// Weights given.
        len: usize,
    },
    /// A kernel whose length is not `2·radius + 1`.
    #[error(
        "kernels: the kernel for axis {axis} has {len} weights, but the call's radius {radius} needs {expected}; set radius to match"
    )]
    KernelLength {
        /// The axis.
        axis: usize,
        /// Weights given.
        len: usize,
        /// The radius the call resolves for that axis.
        radius: usize,
        /// `2·radius + 1`.
        expected: usize,
    },
    /// A weight that is NaN or infinite.
    #[error(
        "kernels: weight {index} of the kernel for axis {axis} is {value}; weights must be finite"
    )]
    KernelNotFinite {
        /// The axis.
        axis: usize,
        /// Index of the weight.
        index: usize,
        /// The weight.
        value: f64,
    },
    /// A kernel that is neither symmetric nor antisymmetric.
    #[error(
        "kernels: the kernel for axis {axis} is neither symmetric nor antisymmetric (within 2.2e-16), as every Gaussian kernel is"
    )]
    KernelNotSymmetric {
        /// The axis.
        axis: usize,
    },
    /// Complex input with a real output dtype (scipy: "output must have complex dtype").
    #[error(
        "output_dtype {output} cannot hold the result of filtering {input} input: use complex64 or complex128"
    )]
    ComplexToReal {
        /// Input dtype.
        input: DType,
        /// Requested output dtype.
        output: DType,
    },
    /// Real input with a complex output dtype (scipy: "array type not supported").
    #[error(
        "output_dtype {output} is not supported for {input} input: filter into a real dtype (scipy refuses complex output for real input)"
    )]
    RealToComplex {
        /// Input dtype.
        input: DType,
        /// Requested output dtype.
        output: DType,
    },
    /// `output_dtype` bool, which scipy refuses when named ("output must
    /// have numeric dtype"); bool input with the default output is filtered.
    #[error(
        "output_dtype bool is not supported: the output of a filter must be numeric (leave output_dtype unset to get bool for bool input)"
    )]
    BoolOutput,
    /// The result would be larger than the byte limit.
    #[error(
        "the result of shape {shape:?} and dtype {dtype} needs {nbytes} bytes, over the limit of {max} bytes"
    )]
    OutputTooLarge {
        /// Shape of the result.
        shape: Vec<usize>,
        /// Output dtype.
        dtype: DType,
        /// Bytes needed.
        nbytes: u128,
        /// The limit.
        max: u64,
    },
}
