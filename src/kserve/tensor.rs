//! Datatypes and tensor contents of the Open Inference Protocol, translated
//! to and from tensorwire's dense little-endian data.
//!
//! Raw contents (`raw_input_contents`, what tritonclient sends) already are
//! tensorwire's layout for every real datatype (BOOL one byte per element,
//! FP16/BF16 two bytes), so they pass through as slices of the received
//! message. Typed contents (`InferTensorContents`) are converted element by
//! element, after their count has been checked against the shape. BYTES
//! elements are each a 4-byte little-endian length and the bytes.

use bytes::{BufMut, Bytes, BytesMut};
use half::{bf16, f16};
use tonic::Status;

use crate::service::bad_argument;

use super::pb::InferTensorContents;
use crate::tensor::{DType, TensorLimits, ValidShape, validate_shape};

/// The protocol's datatype names, in the order of `DType::ALL` (complex
/// has none).
const DATATYPES: [(&str, DType); 13] = [
    ("BOOL", DType::Bool),
    ("UINT8", DType::UInt8),
    ("INT8", DType::Int8),
    ("UINT16", DType::UInt16),
    ("INT16", DType::Int16),
    ("UINT32", DType::UInt32),
    ("INT32", DType::Int32),
    ("UINT64", DType::UInt64),
    ("INT64", DType::Int64),
    ("FP16", DType::Float16),
    ("BF16", DType::BFloat16),
    ("FP32", DType::Float32),
    ("FP64", DType::Float64),
];

/// The datatype of variable-length byte strings.
pub const BYTES: &str = "BYTES";

/// What to say about complex tensors, which the protocol cannot carry.
pub const COMPLEX_REFUSAL: &str = "complex tensors have no datatype in the Open Inference Protocol: use tensorwire's native gRPC API (tensorwire.v1.TensorService) for complex64 and complex128";

/// The dtype of a protocol datatype name; `INVALID_ARGUMENT` naming the
/// datatypes there are otherwise.
pub fn dtype_of(datatype: &str, what: &str) -> Result<DType, Status> {
    if let Some((_, dtype)) = DATATYPES.iter().find(|(name, _)| *name == datatype) {
        return Ok(*dtype);
    }
    if datatype.to_ascii_uppercase().contains("COMPLEX") {
        return Err(bad_argument(None, format!("{what}: {COMPLEX_REFUSAL}")));
    }
    Err(bad_argument(
        None,
        format!(
            "{what} has the datatype {datatype:?}, which is not one this model reads; use one of {}",
            DATATYPES.map(|(name, _)| name).join(", ")
        ),
    ))
}

/// The protocol's name of a dtype; complex dtypes have none.
pub fn datatype_of(dtype: DType) -> Result<&'static str, Status> {
    DATATYPES
        .iter()
        .find(|(_, d)| *d == dtype)
        .map(|(name, _)| *name)
        .ok_or_else(|| bad_argument(None, COMPLEX_REFUSAL))
}

/// Checks a shape from the wire (negative dimensions refused) against the
/// limits before anything is sized from it.
pub fn checked_shape(
    dtype: DType,
    shape: &[i64],
    limits: &TensorLimits,
    what: &str,
) -> Result<(Vec<u64>, ValidShape), Status> {
    let shape = shape
        .iter()
        .map(|&d| u64::try_from(d))
        .collect::<Result<Vec<u64>, _>>()
        .map_err(|_| {
            bad_argument(
                None,
                format!("{what} has the shape {shape:?}; dimensions must be non-negative"),
            )
        })?;
    let valid = validate_shape(dtype, &shape, limits).map_err(|e| {
        let e = crate::service::ServiceError::from(e);
        e.to_status(format!("{what}: {e}"))
    })?;
    Ok((shape, valid))
}

/// The data of a tensor in tensorwire's layout, from raw contents (checked
/// for length) or from typed contents (checked for count and range).
pub fn input_data(
    dtype: DType,
    valid: &ValidShape,
    raw: Option<Bytes>,
    contents: Option<&InferTensorContents>,
    what: &str,
) -> Result<Bytes, Status> {
    if let Some(raw) = raw {
        if raw.len() != valid.nbytes {
            return Err(bad_argument(
                None,
                format!(
                    "{what}: raw contents have {} bytes but shape {:?} of {} needs {}",
                    raw.len(),
                    valid.shape,
                    datatype_of(dtype)?,
                    valid.nbytes
                ),
            ));
        }
        return Ok(raw);
    }
    let empty = InferTensorContents::default();
    let contents = contents.unwrap_or(&empty);
    typed_to_bytes(dtype, valid, contents, what)
}

/// Typed contents → little-endian bytes. The count is checked against the
/// shape first, so the buffer is sized by data already received.
fn typed_to_bytes(
    dtype: DType,
    valid: &ValidShape,
    c: &InferTensorContents,
    what: &str,
) -> Result<Bytes, Status> {
    let datatype = datatype_of(dtype)?;
    let count = match dtype {
        DType::Bool => c.bool_contents.len(),
        DType::Int8 | DType::Int16 | DType::Int32 => c.int_contents.len(),
        DType::Int64 => c.int64_contents.len(),
        DType::UInt8 | DType::UInt16 | DType::UInt32 => c.uint_contents.len(),
        DType::UInt64 => c.uint64_contents.len(),
        DType::Float32 => c.fp32_contents.len(),
        DType::Float64 => c.fp64_contents.len(),
        DType::Float16 | DType::BFloat16 => {
            return Err(bad_argument(
                None,
                format!(
                    "{what}: {datatype} has no typed contents in the protocol; send it in raw_input_contents"
                ),
            ));
        }
        DType::Complex64 | DType::Complex128 => {
            return Err(bad_argument(None, COMPLEX_REFUSAL));
        }
    };
    if count != valid.len {
        return Err(bad_argument(
            None,
            format!(
                "{what}: the typed contents of {datatype} hold {count} elements but the shape {:?} needs {}",
                valid.shape, valid.len
            ),
        ));
    }
    let mut out = BytesMut::with_capacity(valid.nbytes);
    let range = |value: i128, index: usize| {
        bad_argument(
            None,
            format!("{what}: element {index} is {value}, out of the range of {datatype}"),
        )
    };
    match dtype {
        DType::Bool => c
            .bool_contents
            .iter()
            .for_each(|&b| out.put_u8(u8::from(b))),
        DType::Int8 => put_narrowed(&mut out, &c.int_contents, BytesMut::put_i8, range)?,
        DType::Int16 => put_narrowed(&mut out, &c.int_contents, BytesMut::put_i16_le, range)?,
        DType::Int32 => c.int_contents.iter().for_each(|&v| out.put_i32_le(v)),
        DType::Int64 => c.int64_contents.iter().for_each(|&v| out.put_i64_le(v)),
        DType::UInt8 => put_narrowed(&mut out, &c.uint_contents, BytesMut::put_u8, range)?,
        DType::UInt16 => put_narrowed(&mut out, &c.uint_contents, BytesMut::put_u16_le, range)?,
        DType::UInt32 => c.uint_contents.iter().for_each(|&v| out.put_u32_le(v)),
        DType::UInt64 => c.uint64_contents.iter().for_each(|&v| out.put_u64_le(v)),
        DType::Float32 => c.fp32_contents.iter().for_each(|&v| out.put_f32_le(v)),
        DType::Float64 => c.fp64_contents.iter().for_each(|&v| out.put_f64_le(v)),
        DType::Float16 | DType::BFloat16 | DType::Complex64 | DType::Complex128 => {}
    }
    Ok(out.freeze())
}

/// Appends `values` narrowed to `T` with `put`; `refuse(value, index)` for
/// the first one out of `T`'s range (the protocol carries 8- and 16-bit
/// integers in 32-bit contents).
fn put_narrowed<V: Copy + Into<i128>, T: TryFrom<V>>(
    out: &mut BytesMut,
    values: &[V],
    put: fn(&mut BytesMut, T),
    refuse: impl Fn(i128, usize) -> Status,
) -> Result<(), Status> {
    for (index, &value) in values.iter().enumerate() {
        let narrowed = T::try_from(value).map_err(|_| refuse(value.into(), index))?;
        put(out, narrowed);
    }
    Ok(())
}

/// Little-endian bytes of a dtype with typed contents → those contents;
/// `None` for FP16 and BF16, which the protocol carries only raw.
pub fn bytes_to_typed(dtype: DType, data: &[u8]) -> Option<InferTensorContents> {
    fn each<const N: usize, T>(data: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
        data.chunks_exact(N)
            .map(|c| f(c.try_into().unwrap_or([0; N])))
            .collect()
    }
    let mut c = InferTensorContents::default();
    match dtype {
        DType::Bool => c.bool_contents = data.iter().map(|&b| b != 0).collect(),
        DType::Int8 => c.int_contents = each(data, |b: [u8; 1]| i32::from(i8::from_le_bytes(b))),
        DType::Int16 => c.int_contents = each(data, |b| i32::from(i16::from_le_bytes(b))),
        DType::Int32 => c.int_contents = each(data, i32::from_le_bytes),
        DType::Int64 => c.int64_contents = each(data, i64::from_le_bytes),
        DType::UInt8 => c.uint_contents = data.iter().map(|&b| u32::from(b)).collect(),
        DType::UInt16 => c.uint_contents = each(data, |b| u32::from(u16::from_le_bytes(b))),
        DType::UInt32 => c.uint_contents = each(data, u32::from_le_bytes),
        DType::UInt64 => c.uint64_contents = each(data, u64::from_le_bytes),
        DType::Float32 => c.fp32_contents = each(data, f32::from_le_bytes),
        DType::Float64 => c.fp64_contents = each(data, f64::from_le_bytes),
        DType::Float16 | DType::BFloat16 | DType::Complex64 | DType::Complex128 => return None,
    }
    Some(c)
}

/// Reads `count` BYTES elements in the protocol's length-prefixed form;
/// each length is checked against what is left before it is used.
pub fn split_bytes_elements(raw: &Bytes, count: usize, what: &str) -> Result<Vec<Bytes>, Status> {
    let mut elements = Vec::new();
    let mut at = 0usize;
    while at < raw.len() {
        let prefix: [u8; 4] = raw
            .get(at..at + 4)
            .and_then(|p| p.try_into().ok())
            .ok_or_else(|| {
                bad_argument(
                    None,
                    format!("{what}: BYTES raw contents end inside a 4-byte length prefix"),
                )
            })?;
        let len = u32::from_le_bytes(prefix) as usize;
        let start = at + 4;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= raw.len())
            .ok_or_else(|| {
                bad_argument(
                    None,
                    format!(
                        "{what}: a BYTES element claims {len} bytes but only {} remain",
                        raw.len() - start
                    ),
                )
            })?;
        if elements.len() == count {
            return Err(bad_argument(
                None,
                format!(
                    "{what}: BYTES raw contents hold more than the {count} elements of the shape"
                ),
            ));
        }
        elements.push(raw.slice(start..end));
        at = end;
    }
    if elements.len() != count {
        return Err(bad_argument(
            None,
            format!(
                "{what}: BYTES raw contents hold {} elements but the shape needs {count}",
                elements.len()
            ),
        ));
    }
    Ok(elements)
}

/// Writes BYTES elements in the protocol's length-prefixed form.
pub fn join_bytes_elements(elements: &[&[u8]]) -> Result<Bytes, Status> {
    let mut out = BytesMut::new();
    for element in elements {
        let len = u32::try_from(element.len())
            .map_err(|_| bad_argument(None, "a BYTES element is over 4 GiB"))?;
        out.put_u32_le(len);
        out.put_slice(element);
    }
    Ok(out.freeze())
}

/// Decodes 16-bit floats of either kind to `f64` (for JSON answers).
pub fn half_to_f64(dtype: DType, bits: [u8; 2]) -> f64 {
    match dtype {
        DType::BFloat16 => f64::from(bf16::from_le_bytes(bits)),
        _ => f64::from(f16::from_le_bytes(bits)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_real_dtype_has_a_datatype_and_back() {
        for dtype in DType::ALL {
            if dtype.is_complex() {
                let err = datatype_of(dtype).unwrap_err();
                assert!(err.message().contains("tensorwire.v1"));
                continue;
            }
            let name = datatype_of(dtype).unwrap();
            assert_eq!(dtype_of(name, "input").unwrap(), dtype);
        }
        assert!(
            dtype_of("COMPLEX64", "input 'INPUT'")
                .unwrap_err()
                .message()
                .contains("tensorwire.v1")
        );
        assert!(
            dtype_of("FP8", "input 'INPUT'")
                .unwrap_err()
                .message()
                .contains("\"FP8\"")
        );
    }

    #[test]
    fn typed_contents_round_trip_through_bytes() {
        let limits = TensorLimits::default();
        for dtype in DType::ALL {
            let Some(datatype) = datatype_of(dtype).ok() else {
                continue;
            };
            if matches!(dtype, DType::Float16 | DType::BFloat16) {
                continue;
            }
            let (_, valid) = checked_shape(dtype, &[3], &limits, "x").unwrap();
            let data: Vec<u8> = (0..valid.nbytes)
                .map(|i| u8::from(i % dtype.itemsize() == 0))
                .collect();
            let typed = bytes_to_typed(dtype, &data).unwrap();
            let back = input_data(dtype, &valid, None, Some(&typed), datatype).unwrap();
            assert_eq!(&back[..], &data[..], "{datatype}");
        }
    }

    #[test]
    fn refuses_typed_values_out_of_range_and_wrong_counts() {
        let limits = TensorLimits::default();
        let (_, valid) = checked_shape(DType::UInt8, &[2], &limits, "x").unwrap();
        let c = InferTensorContents {
            uint_contents: vec![1, 256],
            ..Default::default()
        };
        let err = input_data(DType::UInt8, &valid, None, Some(&c), "input 'INPUT'").unwrap_err();
        assert!(
            err.message().contains("element 1 is 256"),
            "{}",
            err.message()
        );
        let c = InferTensorContents {
            uint_contents: vec![1],
            ..Default::default()
        };
        assert!(input_data(DType::UInt8, &valid, None, Some(&c), "x").is_err());
        assert!(checked_shape(DType::UInt8, &[-1], &limits, "x").is_err());
    }

    #[test]
    fn bytes_elements_round_trip_and_lengths_are_checked() {
        let joined = join_bytes_elements(&[b"ab", b"", b"xyz"]).unwrap();
        let split = split_bytes_elements(&joined, 3, "x").unwrap();
        assert_eq!(
            split,
            vec![
                Bytes::from_static(b"ab"),
                Bytes::new(),
                Bytes::from_static(b"xyz")
            ]
        );
        assert!(split_bytes_elements(&joined, 2, "x").is_err());
        let lying = Bytes::from_static(&[255, 255, 255, 255, 1]);
        assert!(
            split_bytes_elements(&lying, 1, "x")
                .unwrap_err()
                .message()
                .contains("claims")
        );
        assert!(split_bytes_elements(&Bytes::from_static(&[1, 0]), 1, "x").is_err());
    }
}
