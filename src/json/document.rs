//! A tensor as JSON: `{"dtype": "float32", "shape": [2, 3], "data": [[…], …]}`,
//! `data` nested as `numpy.ndarray.tolist()` nests it.
//!
//! Numbers are written as the shortest text that reads back to the same
//! value of the tensor's own dtype (a float32 0.1 is `0.1`, not
//! `0.10000000149011612`). JSON has no NaN or infinity: they are written as
//! `null`, as `serde_json` and JavaScript's `JSON.stringify` do. Complex
//! elements are `[real, imaginary]` pairs; bfloat16 and float16 are written
//! through float32.

use std::io::Write;

use half::{bf16, f16};

use crate::tensor::{DType, Tensor};

/// The JSON document of a tensor.
pub(crate) fn tensor_to_json(tensor: &Tensor) -> Vec<u8> {
    let data = tensor.data();
    let size = tensor.dtype().itemsize();
    let mut out = Vec::with_capacity(64 + tensor.len() * 8);
    out.extend_from_slice(b"{\"dtype\":\"");
    out.extend_from_slice(tensor.dtype().name().as_bytes());
    out.extend_from_slice(b"\",\"shape\":[");
    for (i, d) in tensor.shape().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = write!(out, "{d}");
    }
    out.extend_from_slice(b"],\"data\":");
    let mut elements = data.chunks_exact(size);
    nested(&mut out, tensor.dtype(), tensor.shape(), &mut elements);
    out.push(b'}');
    out
}

fn nested(
    out: &mut Vec<u8>,
    dtype: DType,
    shape: &[usize],
    elements: &mut std::slice::ChunksExact<'_, u8>,
) {
    match shape.split_first() {
        None => {
            if let Some(element) = elements.next() {
                write_element(out, dtype, element);
            }
        }
        Some((&len, inner)) => {
            out.push(b'[');
            for i in 0..len {
                if i > 0 {
                    out.push(b',');
                }
                nested(out, dtype, inner, elements);
            }
            out.push(b']');
        }
    }
}

fn write_element(out: &mut Vec<u8>, dtype: DType, b: &[u8]) {
    match dtype {
        DType::Bool => write_display(out, b[0] != 0),
        DType::UInt8 => write_display(out, b[0]),
        DType::Int8 => write_display(out, b[0] as i8),
        DType::UInt16 => write_display(out, u16::from_le_bytes(arr(b))),
        DType::Int16 => write_display(out, i16::from_le_bytes(arr(b))),
        DType::UInt32 => write_display(out, u32::from_le_bytes(arr(b))),
        DType::Int32 => write_display(out, i32::from_le_bytes(arr(b))),
        DType::UInt64 => write_display(out, u64::from_le_bytes(arr(b))),
        DType::Int64 => write_display(out, i64::from_le_bytes(arr(b))),
        DType::Float16 => write_f32(out, f16::from_le_bytes(arr(b)).to_f32()),
        DType::BFloat16 => write_f32(out, bf16::from_le_bytes(arr(b)).to_f32()),
        DType::Float32 => write_f32(out, f32::from_le_bytes(arr(b))),
        DType::Float64 => write_f64(out, f64::from_le_bytes(arr(b))),
        DType::Complex64 => write_pair(out, b, |out, part| {
            write_f32(out, f32::from_le_bytes(arr(part)));
        }),
        DType::Complex128 => write_pair(out, b, |out, part| {
            write_f64(out, f64::from_le_bytes(arr(part)));
        }),
    }
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    b[..N].try_into().expect("element of itemsize bytes")
}

fn write_display(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

/// A complex element as `[real, imaginary]`, each half written by `write`.
fn write_pair(out: &mut Vec<u8>, b: &[u8], write: impl Fn(&mut Vec<u8>, &[u8])) {
    let (real, imaginary) = b.split_at(b.len() / 2);
    out.push(b'[');
    write(out, real);
    out.push(b',');
    write(out, imaginary);
    out.push(b']');
}

fn write_f32(out: &mut Vec<u8>, v: f32) {
    write_float(out, v, v.is_finite());
}

fn write_f64(out: &mut Vec<u8>, v: f64) {
    write_float(out, v, v.is_finite());
}

// `{:?}` prints the shortest round-trip text of the value's own type, with
// an exponent for very large and small magnitudes (`1e300`, not 301
// digits); both are valid JSON.
fn write_float(out: &mut Vec<u8>, v: impl std::fmt::Debug, finite: bool) {
    if finite {
        let _ = write!(out, "{v:?}");
    } else {
        out.extend_from_slice(b"null");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::TensorLimits;
    use bytes::Bytes;

    fn tensor(dtype: DType, shape: &[u64], data: Vec<u8>) -> Tensor {
        Tensor::new(dtype, shape, Bytes::from(data), &TensorLimits::default()).unwrap()
    }

    #[test]
    fn nests_like_numpy_tolist() {
        let data: Vec<u8> = [1i32, 2, 3, 4, 5, 6]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let json = tensor_to_json(&tensor(DType::Int32, &[2, 3], data));
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"dtype": "int32", "shape": [2, 3], "data": [[1, 2, 3], [4, 5, 6]]})
        );
    }

    #[test]
    fn floats_are_shortest_and_non_finite_is_null() {
        let data: Vec<u8> = [0.1f32, f32::NAN, 1e30]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let json = String::from_utf8(tensor_to_json(&tensor(DType::Float32, &[3], data))).unwrap();
        assert!(json.ends_with(r#""data":[0.1,null,1e30]}"#), "{json}");
        let scalar = tensor(DType::Bool, &[], vec![1]);
        let json = String::from_utf8(tensor_to_json(&scalar)).unwrap();
        assert_eq!(json, r#"{"dtype":"bool","shape":[],"data":true}"#);
    }
}
