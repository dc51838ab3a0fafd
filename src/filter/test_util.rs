//! Helpers shared by the engine's tests: building tensors from values and
//! reading them back.

use ndarray::{ArrayD, IxDyn};

use super::*;
use crate::tensor::TypedArray;

/// A float64 tensor of `shape` holding `values` in C order.
pub(crate) fn f64_tensor(shape: &[usize], values: Vec<f64>) -> Tensor {
    let array = ArrayD::from_shape_vec(IxDyn(shape), values).expect("values match the shape");
    Tensor::from_array(&array)
}

/// A float32 tensor of `shape` holding `values` in C order.
pub(crate) fn f32_tensor(shape: &[usize], values: Vec<f32>) -> Tensor {
    let array = ArrayD::from_shape_vec(IxDyn(shape), values).expect("values match the shape");
    Tensor::from_array(&array)
}

/// The elements of a float32 or float64 tensor as f64, in C order.
pub(crate) fn values(t: &Tensor) -> Vec<f64> {
    match t.to_array() {
        TypedArray::Float64(a) => a.iter().copied().collect(),
        TypedArray::Float32(a) => a.iter().map(|&v| f64::from(v)).collect(),
        other => panic!("expected a float tensor, got {other:?}"),
    }
}

/// Filters with the default limits, panicking on a refusal.
pub(crate) fn filter(t: &Tensor, params: &GaussianParams) -> Tensor {
    gaussian_filter(t, params, &FilterLimits::default())
        .expect("the filter accepts these parameters")
}

/// Bit patterns of a tensor's elements, for exact comparisons.
pub(crate) fn bits(t: &Tensor) -> Vec<u8> {
    t.data().to_vec()
}

/// A tensor of `shape` holding `values` (any element type) in C order.
pub(crate) fn tensor_of<T: crate::tensor::Element>(
    shape: &[usize],
    values: impl IntoIterator<Item = T>,
) -> Tensor {
    let array = ArrayD::from_shape_vec(IxDyn(shape), values.into_iter().collect())
        .expect("values match the shape");
    Tensor::from_array(&array)
}

/// An endless xorshift64 stream from `seed`: cheap, reproducible test data.
pub(crate) fn xorshift(seed: u64) -> impl Iterator<Item = u64> {
    let mut state = seed | 1;
    std::iter::repeat_with(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    })
}
