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

/// First element where `got` and `want` (elements of `dtype`) differ, with
/// both bit patterns: the project's "bit for bit" (any NaN equals any NaN,
/// of any float width, `-0.0` differs from `0.0`; a NaN's payload and sign
/// are not part of the result, as they depend on the order the engine's
/// vector and scalar paths meet the NaNs in).
pub(crate) fn first_mismatch(
    dtype: DType,
    got: &[u8],
    want: &[u8],
) -> Option<(usize, String, String)> {
    let size = match dtype {
        DType::Float32 | DType::Complex64 => 4,
        DType::Float64 | DType::Complex128 => 8,
        d => d.itemsize(),
    };
    let per = dtype.itemsize() / size;
    let nan = |b: &[u8]| match (dtype, b.len()) {
        (DType::Float16, 2) => {
            let v = u16::from_le_bytes([b[0], b[1]]);
            v & 0x7c00 == 0x7c00 && v & 0x03ff != 0
        }
        (DType::BFloat16, 2) => {
            let v = u16::from_le_bytes([b[0], b[1]]);
            v & 0x7f80 == 0x7f80 && v & 0x007f != 0
        }
        (DType::Float32 | DType::Complex64, 4) => {
            f32::from_le_bytes(b.try_into().expect("4 bytes")).is_nan()
        }
        (DType::Float64 | DType::Complex128, 8) => {
            f64::from_le_bytes(b.try_into().expect("8 bytes")).is_nan()
        }
        _ => false,
    };
    for (k, (g, w)) in got
        .chunks_exact(size)
        .zip(want.chunks_exact(size))
        .enumerate()
    {
        if g != w && !(nan(g) && nan(w)) {
            let hex = |b: &[u8]| {
                b.iter()
                    .rev()
                    .map(|x| format!("{x:02x}"))
                    .collect::<String>()
            };
            return Some((k / per, hex(g), hex(w)));
        }
    }
    None
}
