//! The tensor core: dtypes, validated shapes, and the raw little-endian buffer
//! every other module passes around.
//!
//! A [`Tensor`] is always valid once built: its byte length equals
//! `product(shape) * itemsize`, computed with checked arithmetic and held
//! under a [`TensorLimits`]. Numbers that come from the wire (shape, lengths)
//! go through [`validate_shape`] before anything is allocated from them.
//! The module knows nothing of gRPC or HTTP; `proto.rs` converts.

use bytes::Bytes;
use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};
use num_complex::{Complex32, Complex64};
use thiserror::Error;

/// Element type of a tensor, NumPy's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// `bool`: one byte, 0 or 1.
    Bool,
    /// `uint8`.
    UInt8,
    /// `int8`.
    Int8,
    /// `uint16`.
    UInt16,
    /// `int16`.
    Int16,
    /// `uint32`.
    UInt32,
    /// `int32`.
    Int32,
    /// `uint64`.
    UInt64,
    /// `int64`.
    Int64,
    /// `float16` (IEEE half).
    Float16,
    /// `bfloat16` (no NumPy equivalent; ml_dtypes' name).
    BFloat16,
    /// `float32`.
    Float32,
    /// `float64`.
    Float64,
    /// `complex64`: two float32, real then imaginary.
    Complex64,
    /// `complex128`: two float64, real then imaginary.
    Complex128,
}

impl DType {
    /// Every dtype, in the order of the proto enum.
    pub const ALL: [DType; 15] = [
        DType::Bool,
        DType::UInt8,
        DType::Int8,
        DType::UInt16,
        DType::Int16,
        DType::UInt32,
        DType::Int32,
        DType::UInt64,
        DType::Int64,
        DType::Float16,
        DType::BFloat16,
        DType::Float32,
        DType::Float64,
        DType::Complex64,
        DType::Complex128,
    ];

    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        match self {
            DType::Bool | DType::UInt8 | DType::Int8 => 1,
            DType::UInt16 | DType::Int16 | DType::Float16 | DType::BFloat16 => 2,
            DType::UInt32 | DType::Int32 | DType::Float32 => 4,
            DType::UInt64 | DType::Int64 | DType::Float64 | DType::Complex64 => 8,
            DType::Complex128 => 16,
        }
    }

    /// NumPy's name for the dtype (`"float32"`, `"bfloat16"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::UInt8 => "uint8",
            DType::Int8 => "int8",
            DType::UInt16 => "uint16",
            DType::Int16 => "int16",
            DType::UInt32 => "uint32",
            DType::Int32 => "int32",
            DType::UInt64 => "uint64",
            DType::Int64 => "int64",
            DType::Float16 => "float16",
            DType::BFloat16 => "bfloat16",
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Complex64 => "complex64",
            DType::Complex128 => "complex128",
        }
    }

    /// Looks a dtype up by its NumPy name.
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }

    /// True for the two complex dtypes.
    pub fn is_complex(self) -> bool {
        matches!(self, DType::Complex64 | DType::Complex128)
    }

    /// True for bool and the integer dtypes.
    pub fn is_integer_or_bool(self) -> bool {
        matches!(
            self,
            DType::Bool
                | DType::UInt8
                | DType::Int8
                | DType::UInt16
                | DType::Int16
                | DType::UInt32
                | DType::Int32
                | DType::UInt64
                | DType::Int64
        )
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Bounds on what a tensor may be; checked before any allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorLimits {
    /// Largest number of axes.
    pub max_rank: usize,
    /// Largest data size in bytes.
    pub max_bytes: u64,
}

impl Default for TensorLimits {
    fn default() -> Self {
        TensorLimits {
            max_rank: 32,
            max_bytes: 4 << 30,
        }
    }
}

/// Why a tensor is not valid.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TensorError {
    /// The dtype code is 0 or not one of the known values.
    #[error(
        "dtype is unspecified or unknown (code {0}); use one of DTYPE_BOOL .. DTYPE_COMPLEX128"
    )]
    UnknownDType(i32),
    /// More axes than the limit.
    #[error("rank {rank} exceeds the limit of {max} axes")]
    RankTooLarge {
        /// Number of axes given.
        rank: usize,
        /// The limit.
        max: usize,
    },
    /// The product of the non-zero axes of the shape is over `isize::MAX`
    /// (2^63 - 1 on 64-bit hosts), even if another axis is 0: NumPy refuses
    /// such a shape ("array is too big") and ndarray cannot view it.
    #[error(
        "shape {shape:?} is too large: the product of its non-zero axes does not fit in 63 bits"
    )]
    ShapeOverflow {
        /// The shape given.
        shape: Vec<u64>,
    },
    /// The data would be larger than the byte limit.
    #[error(
        "tensor of shape {shape:?} and dtype {dtype} needs {nbytes} bytes, over the limit of {max} bytes"
    )]
    TooLarge {
        /// The shape given.
        shape: Vec<u64>,
        /// The dtype given.
        dtype: DType,
        /// Bytes the tensor needs.
        nbytes: u128,
        /// The limit.
        max: u64,
    },
    /// The data length does not equal `product(shape) * itemsize`.
    #[error("data has {actual} bytes but shape {shape:?} of {dtype} needs {expected}")]
    DataLength {
        /// The shape given.
        shape: Vec<usize>,
        /// The dtype given.
        dtype: DType,
        /// Bytes expected.
        expected: usize,
        /// Bytes received.
        actual: usize,
    },
    /// A bool element is neither 0 nor 1.
    #[error("bool element {index} has byte value {value}; bool data must be 0 or 1")]
    BadBool {
        /// Flat index of the element.
        index: usize,
        /// Its byte.
        value: u8,
    },
}

/// The checked size of a tensor: its shape as `usize` and its byte length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidShape {
    /// The shape, each axis fitting in `usize`.
    pub shape: Vec<usize>,
    /// Number of elements.
    pub len: usize,
    /// Number of data bytes.
    pub nbytes: usize,
}

/// Checks a shape from the wire against the limits, with checked arithmetic,
/// before anything is allocated from it.
pub fn validate_shape(
    dtype: DType,
    shape: &[u64],
    limits: &TensorLimits,
) -> Result<ValidShape, TensorError> {
    if shape.len() > limits.max_rank {
        return Err(TensorError::RankTooLarge {
            rank: shape.len(),
            max: limits.max_rank,
        });
    }
    let overflow = || TensorError::ShapeOverflow {
        shape: shape.to_vec(),
    };
    // The product of the non-zero axes must fit, whatever the order of the
    // axes and even when another axis is 0, as NumPy and ndarray want it:
    // `[0, 2**63, 2]` is an empty tensor, but ndarray refuses to view it (the
    // typed views and the Fortran-order `.npy` reader would panic), and
    // checking left to right made `[0, 2**63, 2]` valid and `[2**63, 2, 0]`
    // not. Found by the `tensor_validation` fuzz target.
    let nonzero = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= isize::MAX as u64)
        .ok_or_else(overflow)?;
    let len = if shape.contains(&0) { 0 } else { nonzero };
    let nbytes = u128::from(len) * dtype.itemsize() as u128;
    if nbytes > u128::from(limits.max_bytes) {
        return Err(TensorError::TooLarge {
            shape: shape.to_vec(),
            dtype,
            nbytes,
            max: limits.max_bytes,
        });
    }
    // Under the byte limit, so every axis and the totals fit in usize on a
    // 64-bit host; on 32-bit hosts the conversions below catch the rest.
    let shape_usize = shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| overflow())?;
    Ok(ValidShape {
        shape: shape_usize,
        len: usize::try_from(len).map_err(|_| overflow())?,
        nbytes: usize::try_from(nbytes).map_err(|_| overflow())?,
    })
}

/// Checks that every byte of a piece of bool data is 0 or 1; `offset` is the
/// piece's first element index, for the error message.
pub fn check_bool_bytes(piece: &[u8], offset: usize) -> Result<(), TensorError> {
    match piece.iter().position(|&b| b > 1) {
        Some(i) => Err(TensorError::BadBool {
            index: offset + i,
            value: piece[i],
        }),
        None => Ok(()),
    }
}

/// Splits data into consecutive pieces of at most `chunk` bytes (at least 1),
/// each a slice of `data`, not a copy: how streamed tensors are sent.
pub fn byte_pieces(data: Bytes, chunk: usize) -> impl Iterator<Item = Bytes> + Send + 'static {
    let chunk = chunk.max(1);
    let len = data.len();
    (0..len)
        .step_by(chunk)
        .map(move |start| data.slice(start..(start + chunk).min(len)))
}

/// A valid dense tensor: dtype, shape and little-endian C-order data.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    dtype: DType,
    shape: Vec<usize>,
    data: Bytes,
}

impl Tensor {
    /// Builds a tensor from parts received from the wire, checking the shape
    /// against `limits` and the data length (and bool bytes) against the shape.
    pub fn new(
        dtype: DType,
        shape: &[u64],
        data: Bytes,
        limits: &TensorLimits,
    ) -> Result<Tensor, TensorError> {
        let valid = validate_shape(dtype, shape, limits)?;
        Tensor::from_valid(dtype, valid, data)
    }

    /// Builds a tensor from a shape already checked by [`validate_shape`].
    pub fn from_valid(dtype: DType, valid: ValidShape, data: Bytes) -> Result<Tensor, TensorError> {
        if data.len() != valid.nbytes {
            return Err(TensorError::DataLength {
                shape: valid.shape,
                dtype,
                expected: valid.nbytes,
                actual: data.len(),
            });
        }
        if dtype == DType::Bool {
            check_bool_bytes(&data, 0)?;
        }
        Ok(Tensor {
            dtype,
            shape: valid.shape,
            data,
        })
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The shape; empty for a rank-0 tensor.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The raw little-endian, C-order bytes.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// Takes the raw bytes out.
    pub fn into_data(self) -> Bytes {
        self.data
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of data bytes.
    pub fn nbytes(&self) -> usize {
        self.data.len()
    }

    /// The shape as `u64`, as the wire carries it.
    pub fn shape_u64(&self) -> Vec<u64> {
        self.shape.iter().map(|&d| d as u64).collect()
    }

    /// Copies the data out into a typed ndarray.
    pub fn to_array(&self) -> TypedArray {
        fn typed<T: Element>(t: &Tensor) -> ArrayD<T> {
            let values: Vec<T> = t
                .data
                .chunks_exact(T::DTYPE.itemsize())
                .map(T::read_le)
                .collect();
            ArrayD::from_shape_vec(IxDyn(&t.shape), values)
                .expect("a valid tensor's data length matches its shape")
        }
        match self.dtype {
            DType::Bool => TypedArray::Bool(typed(self)),
            DType::UInt8 => TypedArray::UInt8(typed(self)),
            DType::Int8 => TypedArray::Int8(typed(self)),
            DType::UInt16 => TypedArray::UInt16(typed(self)),
            DType::Int16 => TypedArray::Int16(typed(self)),
            DType::UInt32 => TypedArray::UInt32(typed(self)),
            DType::Int32 => TypedArray::Int32(typed(self)),
            DType::UInt64 => TypedArray::UInt64(typed(self)),
            DType::Int64 => TypedArray::Int64(typed(self)),
            DType::Float16 => TypedArray::Float16(typed(self)),
            DType::BFloat16 => TypedArray::BFloat16(typed(self)),
            DType::Float32 => TypedArray::Float32(typed(self)),
            DType::Float64 => TypedArray::Float64(typed(self)),
            DType::Complex64 => TypedArray::Complex64(typed(self)),
            DType::Complex128 => TypedArray::Complex128(typed(self)),
        }
    }

    /// Builds a tensor from a typed ndarray of any memory layout.
    pub fn from_array<T: Element>(array: &ArrayD<T>) -> Tensor {
        let size = T::DTYPE.itemsize();
        let mut data = vec![0u8; array.len() * size];
        // `iter()` walks in logical row-major order whatever the layout.
        for (slot, value) in data.chunks_exact_mut(size).zip(array.iter()) {
            value.write_le(slot);
        }
        Tensor {
            dtype: T::DTYPE,
            shape: array.shape().to_vec(),
            data: Bytes::from(data),
        }
    }
}

/// A tensor's elements as a typed ndarray, one variant per dtype.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub enum TypedArray {
    Bool(ArrayD<bool>),
    UInt8(ArrayD<u8>),
    Int8(ArrayD<i8>),
    UInt16(ArrayD<u16>),
    Int16(ArrayD<i16>),
    UInt32(ArrayD<u32>),
    Int32(ArrayD<i32>),
    UInt64(ArrayD<u64>),
    Int64(ArrayD<i64>),
    Float16(ArrayD<f16>),
    BFloat16(ArrayD<bf16>),
    Float32(ArrayD<f32>),
    Float64(ArrayD<f64>),
    Complex64(ArrayD<Complex32>),
    Complex128(ArrayD<Complex64>),
}

impl TypedArray {
    /// Converts back into a tensor.
    pub fn to_tensor(&self) -> Tensor {
        match self {
            TypedArray::Bool(a) => Tensor::from_array(a),
            TypedArray::UInt8(a) => Tensor::from_array(a),
            TypedArray::Int8(a) => Tensor::from_array(a),
            TypedArray::UInt16(a) => Tensor::from_array(a),
            TypedArray::Int16(a) => Tensor::from_array(a),
            TypedArray::UInt32(a) => Tensor::from_array(a),
            TypedArray::Int32(a) => Tensor::from_array(a),
            TypedArray::UInt64(a) => Tensor::from_array(a),
            TypedArray::Int64(a) => Tensor::from_array(a),
            TypedArray::Float16(a) => Tensor::from_array(a),
            TypedArray::BFloat16(a) => Tensor::from_array(a),
            TypedArray::Float32(a) => Tensor::from_array(a),
            TypedArray::Float64(a) => Tensor::from_array(a),
            TypedArray::Complex64(a) => Tensor::from_array(a),
            TypedArray::Complex128(a) => Tensor::from_array(a),
        }
    }
}

/// A Rust type that stores one tensor element, with its little-endian codec.
pub trait Element: Copy + Send + Sync + 'static {
    /// The dtype this type stores.
    const DTYPE: DType;
    /// Reads one element from exactly `itemsize` little-endian bytes.
    fn read_le(bytes: &[u8]) -> Self;
    /// Writes one element into exactly `itemsize` bytes.
    fn write_le(self, out: &mut [u8]);
}

macro_rules! le_element {
    ($($t:ty => $d:ident),* $(,)?) => {$(
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            fn read_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("itemsize bytes"))
            }
            fn write_le(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}

le_element!(
    u8 => UInt8, i8 => Int8, u16 => UInt16, i16 => Int16, u32 => UInt32,
    i32 => Int32, u64 => UInt64, i64 => Int64, f16 => Float16, bf16 => BFloat16,
    f32 => Float32, f64 => Float64,
);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn read_le(bytes: &[u8]) -> Self {
        bytes[0] != 0
    }
    fn write_le(self, out: &mut [u8]) {
        out[0] = u8::from(self);
    }
}

impl Element for Complex32 {
    const DTYPE: DType = DType::Complex64;
    fn read_le(bytes: &[u8]) -> Self {
        Complex32::new(f32::read_le(&bytes[..4]), f32::read_le(&bytes[4..]))
    }
    fn write_le(self, out: &mut [u8]) {
        self.re.write_le(&mut out[..4]);
        self.im.write_le(&mut out[4..]);
    }
}

impl Element for Complex64 {
    const DTYPE: DType = DType::Complex128;
    fn read_le(bytes: &[u8]) -> Self {
        Complex64::new(f64::read_le(&bytes[..8]), f64::read_le(&bytes[8..]))
    }
    fn write_le(self, out: &mut [u8]) {
        self.re.write_le(&mut out[..8]);
        self.im.write_le(&mut out[8..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> TensorLimits {
        TensorLimits::default()
    }

    #[test]
    fn refuses_shape_whose_product_overflows() {
        let err = validate_shape(DType::UInt8, &[u64::MAX, 2], &limits()).unwrap_err();
        assert!(matches!(err, TensorError::ShapeOverflow { .. }), "{err}");
    }

    #[test]
    fn refuses_a_huge_axis_beside_a_zero_axis_in_any_order() {
        // Found by the `tensor_validation` fuzz target
        // (tests/fuzz_regressions/tensor_validation/).
        for shape in [[0, 1 << 63, 2], [1 << 63, 2, 0], [u64::MAX, 0, 1]] {
            let err = validate_shape(DType::Float64, &shape, &limits()).unwrap_err();
            assert!(matches!(err, TensorError::ShapeOverflow { .. }), "{err}");
        }
        // Big axes whose product fits are fine, and the views take them.
        let t = Tensor::new(DType::Float64, &[0, 1 << 40, 3], Bytes::new(), &limits()).unwrap();
        assert_eq!(t.len(), 0);
        assert_eq!(t.to_array().to_tensor(), t);
    }

    #[test]
    fn refuses_shape_whose_bytes_exceed_the_limit() {
        let small = TensorLimits {
            max_rank: 4,
            max_bytes: 100,
        };
        assert!(validate_shape(DType::Float64, &[12], &small).is_ok());
        let err = validate_shape(DType::Float64, &[13], &small).unwrap_err();
        assert!(
            matches!(err, TensorError::TooLarge { nbytes: 104, .. }),
            "{err}"
        );
        // itemsize times a huge element count must not wrap around.
        let err = validate_shape(DType::Complex128, &[1 << 62], &small).unwrap_err();
        assert!(matches!(err, TensorError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn refuses_rank_over_the_limit() {
        let shape = vec![1u64; 33];
        let err = validate_shape(DType::UInt8, &shape, &limits()).unwrap_err();
        assert_eq!(err, TensorError::RankTooLarge { rank: 33, max: 32 });
    }

    #[test]
    fn refuses_data_of_the_wrong_length() {
        let err =
            Tensor::new(DType::Int32, &[2, 3], Bytes::from(vec![0u8; 23]), &limits()).unwrap_err();
        assert!(
            matches!(
                err,
                TensorError::DataLength {
                    expected: 24,
                    actual: 23,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn refuses_bool_bytes_other_than_zero_or_one() {
        let err =
            Tensor::new(DType::Bool, &[3], Bytes::from_static(&[0, 1, 2]), &limits()).unwrap_err();
        assert_eq!(err, TensorError::BadBool { index: 2, value: 2 });
    }

    #[test]
    fn rank_zero_tensor_has_one_element() {
        let t = Tensor::new(
            DType::Float64,
            &[],
            Bytes::from(2.5f64.to_le_bytes().to_vec()),
            &limits(),
        )
        .unwrap();
        assert_eq!(t.len(), 1);
        match t.to_array() {
            TypedArray::Float64(a) => assert_eq!(a.into_raw_vec_and_offset().0, vec![2.5]),
            other => panic!("wrong variant {other:?}"),
        }
    }

    #[test]
    fn every_dtype_round_trips_through_a_typed_array() {
        for dtype in DType::ALL {
            let n = 6 * dtype.itemsize();
            let mut data: Vec<u8> = (0..n).map(|i| (i * 37 % 251) as u8).collect();
            if dtype == DType::Bool {
                data.iter_mut().for_each(|b| *b &= 1);
            }
            let t = Tensor::new(dtype, &[2, 3], Bytes::from(data), &limits()).unwrap();
            let back = t.to_array().to_tensor();
            assert_eq!(back.dtype(), dtype);
            assert_eq!(back.shape(), &[2, 3]);
            // Compare bytes: NaN payloads must survive too.
            assert_eq!(back.data(), t.data(), "{dtype}");
        }
    }

    #[test]
    fn from_array_writes_fortran_layout_in_c_order() {
        let a = ndarray::Array2::from_shape_vec((2, 2).f(), vec![1i32, 2, 3, 4]).unwrap();
        let t = Tensor::from_array(&a.into_dyn());
        let values: Vec<i32> = t.data().chunks(4).map(i32::read_le).collect();
        assert_eq!(values, vec![1, 3, 2, 4]);
    }

    use ndarray::ShapeBuilder;
}
