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

/// Independent accumulators of [`StatsAccumulator`]'s fold.
const LANES: usize = 8;

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
        match self.dtype {
            DType::Bool => self.fold::<bool>(bytes, |v| f64::from(u8::from(v))),
            DType::UInt8 => self.fold::<u8>(bytes, f64::from),
            DType::Int8 => self.fold::<i8>(bytes, f64::from),
            DType::UInt16 => self.fold::<u16>(bytes, f64::from),
            DType::Int16 => self.fold::<i16>(bytes, f64::from),
            DType::UInt32 => self.fold::<u32>(bytes, f64::from),
            DType::Int32 => self.fold::<i32>(bytes, f64::from),
            DType::UInt64 => self.fold::<u64>(bytes, |v| v as f64),
            DType::Int64 => self.fold::<i64>(bytes, |v| v as f64),
            DType::Float16 => self.fold::<f16>(bytes, f64::from),
            DType::BFloat16 => self.fold::<bf16>(bytes, f64::from),
            DType::Float32 => {
                #[cfg(target_arch = "x86_64")]
                let bytes = {
                    let (simd, rest) = bytes.split_at(bytes.len() - bytes.len() % simd::BLOCK);
                    let (sum, min, max) = simd::fold_f32(simd);
                    self.absorb::<f32>(simd, sum, min, max, f64::from);
                    rest
                };
                self.fold::<f32>(bytes, f64::from)
            }
            DType::Float64 => {
                #[cfg(target_arch = "x86_64")]
                let bytes = {
                    let (simd, rest) = bytes.split_at(bytes.len() - bytes.len() % simd::BLOCK);
                    let (sum, min, max) = simd::fold_f64(simd);
                    self.absorb::<f64>(simd, sum, min, max, |v| v);
                    rest
                };
                self.fold::<f64>(bytes, |v| v)
            }
            DType::Complex64 | DType::Complex128 => {}
        }
    }

    /// Folds whole elements of `T` in, in [`LANES`] independent lanes the
    /// compiler turns into SIMD: no lane waits for another's addition, and
    /// min/max are plain compares. A NaN element does not reach min/max that
    /// way, but it makes the piece's sum NaN; only then is the piece scanned
    /// for NaN (a sum of +inf and -inf is NaN too, with no NaN element).
    #[inline(always)]
    fn fold<T: Element>(&mut self, bytes: &[u8], to_f64: impl Fn(T) -> f64 + Copy) {
        let size = T::DTYPE.itemsize();
        let value = |element: &[u8]| to_f64(T::read_le(element));
        let mut sum = [0.0f64; LANES];
        let mut min = [f64::INFINITY; LANES];
        let mut max = [f64::NEG_INFINITY; LANES];
        let blocks = bytes.chunks_exact(size * LANES);
        let tail = blocks.remainder();
        for block in blocks {
            for lane in 0..LANES {
                let v = value(&block[lane * size..(lane + 1) * size]);
                sum[lane] += v;
                min[lane] = if v < min[lane] { v } else { min[lane] };
                max[lane] = if v > max[lane] { v } else { max[lane] };
            }
        }
        for element in tail.chunks_exact(size) {
            let v = value(element);
            sum[0] += v;
            min[0] = if v < min[0] { v } else { min[0] };
            max[0] = if v > max[0] { v } else { max[0] };
        }
        let fold_lanes = |lanes: [f64; LANES], f: fn(f64, f64) -> f64| {
            lanes.into_iter().reduce(f).expect("lanes")
        };
        self.absorb(
            bytes,
            sum.iter().sum(),
            fold_lanes(min, f64::min),
            fold_lanes(max, f64::max),
            to_f64,
        );
    }

    /// Adds the sum, min and max of the whole elements `bytes` (NaN ignored
    /// by min and max) to the running figures. A NaN sum means a NaN element
    /// or both infinities; only then are the elements scanned for NaN.
    #[inline(always)]
    fn absorb<T: Element>(
        &mut self,
        bytes: &[u8],
        sum: f64,
        min: f64,
        max: f64,
        to_f64: impl Fn(T) -> f64,
    ) {
        let size = T::DTYPE.itemsize();
        if sum.is_nan() && !self.saw_nan {
            self.saw_nan = bytes
                .chunks_exact(size)
                .any(|e| to_f64(T::read_le(e)).is_nan());
        }
        self.count += (bytes.len() / size) as u64;
        self.sum += sum;
        self.min = self.min.min(min);
        self.max = self.max.max(max);
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

/// The float32 and float64 folds in SSE2 (part of every x86_64 CPU): four
/// float32 min/max per instruction and the sums in float64 pairs, about five
/// times the speed of the lane fold the compiler leaves scalar. Min and max
/// skip NaN (`minps` keeps its second operand when either is NaN); the
/// caller finds NaN through the sum.
#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    /// The folds take whole blocks of this many bytes.
    pub(super) const BLOCK: usize = 64;

    /// Sum, min and max of the float32 elements of `bytes`, whole blocks.
    pub(super) fn fold_f32(bytes: &[u8]) -> (f64, f64, f64) {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { fold_f32_sse2(bytes) }
    }

    /// Sum, min and max of the float64 elements of `bytes`, whole blocks.
    pub(super) fn fold_f64(bytes: &[u8]) -> (f64, f64, f64) {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { fold_f64_sse2(bytes) }
    }

    /// The float32 lanes of four registers.
    fn ps(v: [__m128; 4]) -> [[f32; 4]; 4] {
        // SAFETY: __m128 and [f32; 4] have the same size, and every bit
        // pattern is a valid float.
        unsafe { std::mem::transmute::<[__m128; 4], [[f32; 4]; 4]>(v) }
    }

    /// The float64 lanes of four registers.
    fn pd(v: [__m128d; 4]) -> [[f64; 2]; 4] {
        // SAFETY: __m128d and [f64; 2] have the same size, and every bit
        // pattern is a valid float.
        unsafe { std::mem::transmute::<[__m128d; 4], [[f64; 2]; 4]>(v) }
    }

    #[target_feature(enable = "sse2")]
    fn fold_f32_sse2(bytes: &[u8]) -> (f64, f64, f64) {
        debug_assert_eq!(bytes.len() % BLOCK, 0);
        let mut min = [_mm_set1_ps(f32::INFINITY); 4];
        let mut max = [_mm_set1_ps(f32::NEG_INFINITY); 4];
        let mut sum = [_mm_setzero_pd(); 4];
        for block in bytes.chunks_exact(BLOCK) {
            for (lane, v) in block.chunks_exact(16).enumerate() {
                let f = |i: usize| f32::from_le_bytes(v[4 * i..4 * i + 4].try_into().expect("4"));
                let x = _mm_setr_ps(f(0), f(1), f(2), f(3));
                min[lane] = _mm_min_ps(x, min[lane]);
                max[lane] = _mm_max_ps(x, max[lane]);
                let pair = lane / 2 * 2;
                sum[pair] = _mm_add_pd(sum[pair], _mm_cvtps_pd(x));
                sum[pair + 1] = _mm_add_pd(sum[pair + 1], _mm_cvtps_pd(_mm_movehl_ps(x, x)));
            }
        }
        let (min, max, sum) = (ps(min), ps(max), pd(sum));
        (
            sum.as_flattened().iter().sum(),
            min.as_flattened()
                .iter()
                .fold(f64::INFINITY, |m, &v| m.min(v.into())),
            max.as_flattened()
                .iter()
                .fold(f64::NEG_INFINITY, |m, &v| m.max(v.into())),
        )
    }

    #[target_feature(enable = "sse2")]
    fn fold_f64_sse2(bytes: &[u8]) -> (f64, f64, f64) {
        debug_assert_eq!(bytes.len() % BLOCK, 0);
        let mut min = [_mm_set1_pd(f64::INFINITY); 4];
        let mut max = [_mm_set1_pd(f64::NEG_INFINITY); 4];
        let mut sum = [_mm_setzero_pd(); 4];
        for block in bytes.chunks_exact(BLOCK) {
            for (lane, v) in block.chunks_exact(16).enumerate() {
                let f = |i: usize| f64::from_le_bytes(v[8 * i..8 * i + 8].try_into().expect("8"));
                let x = _mm_setr_pd(f(0), f(1));
                min[lane] = _mm_min_pd(x, min[lane]);
                max[lane] = _mm_max_pd(x, max[lane]);
                sum[lane] = _mm_add_pd(sum[lane], x);
            }
        }
        let (min, max, sum) = (pd(min), pd(max), pd(sum));
        (
            sum.as_flattened().iter().sum(),
            min.as_flattened()
                .iter()
                .fold(f64::INFINITY, |m, &v| m.min(v)),
            max.as_flattened()
                .iter()
                .fold(f64::NEG_INFINITY, |m, &v| m.max(v)),
        )
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

    /// Min, max and mean the obvious way, one element at a time.
    fn reference(values: &[f64]) -> Stats {
        if values.iter().any(|v| v.is_nan()) {
            return Stats {
                min: f64::NAN,
                max: f64::NAN,
                mean: f64::NAN,
            };
        }
        Stats {
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            mean: values.iter().sum::<f64>() / values.len() as f64,
        }
    }

    /// Streams `bytes` in pieces of every size in `pieces` and checks the
    /// statistics against [`reference`].
    fn check_streamed(dtype: DType, bytes: &[u8], values: &[f64]) {
        let want = reference(values);
        for piece in [1, 3, 5, 63, 64, 65, 1000, bytes.len()] {
            let mut acc = StatsAccumulator::new(dtype);
            bytes.chunks(piece).for_each(|p| acc.update(p));
            let got = acc.finish().unwrap();
            let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
            assert!(
                same(got.min, want.min),
                "{dtype:?} piece {piece}: {got:?} vs {want:?}"
            );
            assert!(
                same(got.max, want.max),
                "{dtype:?} piece {piece}: {got:?} vs {want:?}"
            );
            assert!(
                same(got.mean, want.mean) || (got.mean - want.mean).abs() <= 1e-9 * want.mean.abs(),
                "{dtype:?} piece {piece}: {got:?} vs {want:?}"
            );
        }
    }

    #[test]
    fn simd_and_lane_folds_match_the_obvious_fold() {
        // 1003 elements: whole SIMD blocks, whole lanes and a ragged tail.
        let values: Vec<f64> = (0..1003)
            .map(|i| ((i * 2654435761usize) % 4093) as f64 - 2000.5)
            .collect();
        let f32s: Vec<u8> = values
            .iter()
            .flat_map(|&v| (v as f32).to_le_bytes())
            .collect();
        check_streamed(DType::Float32, &f32s, &values);
        let f64s: Vec<u8> = values.iter().flat_map(|&v| v.to_le_bytes()).collect();
        check_streamed(DType::Float64, &f64s, &values);
        let ints: Vec<i16> = values.iter().map(|&v| v as i16).collect();
        let i16s: Vec<u8> = ints.iter().flat_map(|v| v.to_le_bytes()).collect();
        let as_f64: Vec<f64> = ints.iter().map(|&v| f64::from(v)).collect();
        check_streamed(DType::Int16, &i16s, &as_f64);
    }

    #[test]
    fn nan_anywhere_and_both_infinities_are_seen_by_the_fast_folds() {
        let base: Vec<f64> = (0..203).map(|i| i as f64 * 0.25 - 7.0).collect();
        // A NaN in the SIMD blocks, in the lanes, in the tail.
        for at in [0, 17, 150, 202] {
            let mut values = base.clone();
            values[at] = f64::NAN;
            let f32s: Vec<u8> = values
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect();
            check_streamed(DType::Float32, &f32s, &values);
            let f64s: Vec<u8> = values.iter().flat_map(|&v| v.to_le_bytes()).collect();
            check_streamed(DType::Float64, &f64s, &values);
        }
        // +inf and -inf: min and max are the infinities, the mean is NaN.
        let mut values = base;
        values[3] = f64::INFINITY;
        values[190] = f64::NEG_INFINITY;
        let f32s: Vec<u8> = values
            .iter()
            .flat_map(|&v| (v as f32).to_le_bytes())
            .collect();
        let mut acc = StatsAccumulator::new(DType::Float32);
        acc.update(&f32s);
        let stats = acc.finish().unwrap();
        assert_eq!((stats.min, stats.max), (f64::NEG_INFINITY, f64::INFINITY));
        assert!(stats.mean.is_nan());
    }
}
