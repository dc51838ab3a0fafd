//! What `Describe` tells about a tensor: dtype, shape, sizes, and for real
//! numeric dtypes the min, max and mean.
//!
//! The statistics are gathered by a [`StatsAccumulator`] fed byte pieces of
//! any size, so the streaming RPC describes a tensor of any size in O(piece)
//! memory and the unary RPC uses the very same code (in parallel slices).

use rayon::prelude::*;

use crate::tensor::{DType, Element, Tensor};
use half::{bf16, f16};

/// The description of a tensor, independent of the wire format.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSummary {
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Vec<usize>,
    /// Data bytes.
    pub nbytes: u64,
    /// Number of elements.
    pub size: u64,
    /// Min, max and mean, for real numeric and bool tensors with elements.
    pub stats: Option<Stats>,
}

/// Min, max and mean of a tensor's elements, as f64. A NaN element makes all
/// three NaN, as in NumPy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Smallest element.
    pub min: f64,
    /// Largest element.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

/// Running min/max/sum over a stream of little-endian element bytes.
#[derive(Clone, Debug)]
pub struct StatsAccumulator {
    dtype: DType,
    /// Bytes of an element split across two pieces.
    carry: Vec<u8>,
    count: u64,
    min: f64,
    max: f64,
    sum: f64,
    saw_nan: bool,
}

impl StatsAccumulator {
    /// A fresh accumulator for elements of `dtype`.
    pub fn new(dtype: DType) -> StatsAccumulator {
        StatsAccumulator {
            dtype,
            carry: Vec::with_capacity(dtype.itemsize()),
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            saw_nan: false,
        }
    }

    /// Feeds the next piece of data; pieces may split elements anywhere.
    pub fn update(&mut self, mut piece: &[u8]) {
        if self.dtype.is_complex() {
            return;
        }
        let size = self.dtype.itemsize();
        if !self.carry.is_empty() {
            let take = (size - self.carry.len()).min(piece.len());
            self.carry.extend_from_slice(&piece[..take]);
            piece = &piece[take..];
            if self.carry.len() == size {
                let element = std::mem::take(&mut self.carry);
                self.update_whole(&element);
                self.carry = element;
                self.carry.clear();
            }
        }
        let whole = piece.len() - piece.len() % size;
        self.update_whole(&piece[..whole]);
        self.carry.extend_from_slice(&piece[whole..]);
    }

    /// Folds a slice of whole elements in.
    fn update_whole(&mut self, bytes: &[u8]) {
        fn fold<T: Element>(acc: &mut StatsAccumulator, bytes: &[u8], to_f64: fn(T) -> f64) {
            for chunk in bytes.chunks_exact(T::DTYPE.itemsize()) {
                let v = to_f64(T::read_le(chunk));
                acc.count += 1;
                acc.sum += v;
                if v.is_nan() {
                    acc.saw_nan = true;
                }
                acc.min = acc.min.min(v);
                acc.max = acc.max.max(v);
            }
        }
        match self.dtype {
            DType::Bool => fold::<bool>(self, bytes, |v| f64::from(u8::from(v))),
            DType::UInt8 => fold::<u8>(self, bytes, f64::from),
            DType::Int8 => fold::<i8>(self, bytes, f64::from),
            DType::UInt16 => fold::<u16>(self, bytes, f64::from),
            DType::Int16 => fold::<i16>(self, bytes, f64::from),
            DType::UInt32 => fold::<u32>(self, bytes, f64::from),
            DType::Int32 => fold::<i32>(self, bytes, f64::from),
            DType::UInt64 => fold::<u64>(self, bytes, |v| v as f64),
            DType::Int64 => fold::<i64>(self, bytes, |v| v as f64),
            DType::Float16 => fold::<f16>(self, bytes, f64::from),
            DType::BFloat16 => fold::<bf16>(self, bytes, f64::from),
            DType::Float32 => fold::<f32>(self, bytes, f64::from),
            DType::Float64 => fold::<f64>(self, bytes, |v| v),
            DType::Complex64 | DType::Complex128 => {}
        }
    }

    /// Combines two accumulators that saw consecutive, element-aligned data.
    fn merge(mut self, other: StatsAccumulator) -> StatsAccumulator {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.saw_nan |= other.saw_nan;
        self
    }

    /// The statistics so far; `None` for complex dtypes or no elements.
    pub fn finish(&self) -> Option<Stats> {
        if self.count == 0 {
            return None;
        }
        if self.saw_nan {
            return Some(Stats {
                min: f64::NAN,
                max: f64::NAN,
                mean: f64::NAN,
            });
        }
        Some(Stats {
            min: self.min,
            max: self.max,
            mean: self.sum / self.count as f64,
        })
    }
}

/// Pieces of this many bytes are summarised in parallel by [`describe`].
const PARALLEL_PIECE: usize = 1 << 20;

/// Describes a whole tensor, using every core for large ones.
pub fn describe(tensor: &Tensor) -> TensorSummary {
    let dtype = tensor.dtype();
    // Pieces are a multiple of every itemsize, so no element is split.
    let stats = tensor
        .data()
        .par_chunks(PARALLEL_PIECE)
        .map(|piece| {
            let mut acc = StatsAccumulator::new(dtype);
            acc.update(piece);
            acc
        })
        .reduce(|| StatsAccumulator::new(dtype), StatsAccumulator::merge)
        .finish();
    TensorSummary {
        dtype,
        shape: tensor.shape().to_vec(),
        nbytes: tensor.nbytes() as u64,
        size: tensor.len() as u64,
        stats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use ndarray::Array;

    #[test]
    fn describes_min_max_mean_of_integers() {
        let t = Tensor::from_array(&Array::from_vec(vec![3i16, -7, 10, 2]).into_dyn());
        let s = describe(&t);
        assert_eq!((s.size, s.nbytes), (4, 8));
        assert_eq!(
            s.stats,
            Some(Stats {
                min: -7.0,
                max: 10.0,
                mean: 2.0
            })
        );
    }

    #[test]
    fn nan_makes_every_statistic_nan() {
        let t = Tensor::from_array(&Array::from_vec(vec![1.0f32, f32::NAN, 3.0]).into_dyn());
        let stats = describe(&t).stats.unwrap();
        assert!(stats.min.is_nan() && stats.max.is_nan() && stats.mean.is_nan());
    }

    #[test]
    fn complex_and_empty_tensors_have_no_statistics() {
        let c = Tensor::from_array(
            &Array::from_vec(vec![num_complex::Complex32::new(1.0, 2.0)]).into_dyn(),
        );
        assert_eq!(describe(&c).stats, None);
        let empty =
            Tensor::new(DType::Float64, &[0, 3], Bytes::new(), &Default::default()).unwrap();
        assert_eq!(describe(&empty).stats, None);
    }

    #[test]
    fn pieces_that_split_elements_give_the_same_statistics() {
        let values: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin() * 100.0).collect();
        let t = Tensor::from_array(&Array::from_vec(values).into_dyn());
        let whole = describe(&t).stats.unwrap();
        for piece in [1, 3, 7, 8, 13, 4096] {
            let mut acc = StatsAccumulator::new(DType::Float64);
            t.data().chunks(piece).for_each(|p| acc.update(p));
            let streamed = acc.finish().unwrap();
            assert_eq!(
                (streamed.min, streamed.max),
                (whole.min, whole.max),
                "piece {piece}"
            );
            assert!((streamed.mean - whole.mean).abs() < 1e-9, "piece {piece}");
        }
    }
}
