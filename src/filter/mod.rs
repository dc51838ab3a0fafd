//! The Gaussian filter engine: `scipy.ndimage.gaussian_filter`, bit for bit.
//!
//! [`plan`] checks a call against the input's dtype and shape, before any
//! data arrives, and computes the kernels; [`FilterPlan::run`] filters a
//! tensor with all cores (rayon's global pool). [`gaussian_filter`] does both.
//! The engine knows nothing of gRPC or HTTP.
//!
//! Why hand-written: no Rust crate reproduces scipy's results to the bit
//! (the kernel's normalisation by NumPy's pairwise sum, the FMA in its
//! derivative polynomials, the folded correlation order, the `DBL_EPSILON`
//! symmetry test, the storage of each pass in the output dtype with x86-64 C
//! casts). `ndarray-ndimage` differs in all of these, and is neither cache-
//! blocked nor vectorised. The modules:
//!
//! - `error`: why a call is refused, read by `params` and `kernel`;
//! - `params`: the parameters, limits and their resolution into passes;
//! - [`param_text`]: the parameters' names, and their values written as text
//!   (the one parser of the CLI, the gateway and the KServe model);
//! - `kernel`: scipy's kernels and their folding;
//! - `boundary`: the eight boundary modes as index maps;
//! - `cast`: reading dtypes as `f64`, and scipy's and NumPy's casts back;
//! - `correlate`: the passes themselves, tiled, vectorised and parallel.
//!
//! Beyond scipy: float16 and bfloat16 (which scipy refuses) are filtered as
//! float32 and rounded back to the 16-bit type at the end; derivative
//! orders above 3 (which scipy accepts) are refused.

mod boundary;
mod cast;
mod combine;
mod correlate;
mod error;
mod kernel;
mod numpy_exp;
mod op_plan;
pub mod param_text;
mod params;
pub mod pool;
mod slabs;

#[cfg(test)]
pub(crate) mod golden_tests;
#[cfg(test)]
pub(crate) use golden_tests::{golden_dir, manifest_case_count};
#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod scipy_tests;
#[cfg(test)]
pub(crate) mod test_util;

use bytes::Bytes;
use rayon::prelude::*;

pub use combine::Combine;
pub use error::FilterError;
pub use kernel::KernelExp;
pub use op_plan::OpPlan;
pub use params::{BoundaryMode, FilterLimits, GaussianParams};
#[cfg(test)]
pub(crate) use slabs::run_in_slabs;
pub use slabs::{SlabCutter, SlabJob, SlabPlan};

use crate::tensor::{DType, Tensor, TensorLimits, validate_shape};
use correlate::{Component, Shared, filter_component, reader, writer};
pub(crate) use params::resolve_axes;
use params::{PassPlan, resolve_pass_1d, resolve_passes};

/// A checked filter call for one dtype and shape, with its kernels computed.
#[derive(Clone, Debug)]
pub struct FilterPlan {
    dtype: DType,
    shape: Vec<usize>,
    output_dtype: DType,
    passes: Vec<PassPlan>,
    cval: f64,
    cval_imag: f64,
    output_nbytes: usize,
    /// Kernel taps the call computes (elements × (2·radius + 1), summed
    /// over the passes and the parts of a complex array).
    taps: u128,
    /// Smallest result buffer recycled through `pool` (see
    /// `pool::SLAB_POOL_MIN_BYTES` for why a slab's plan pools more).
    pool_min: usize,
}

/// Checks `params` against an input of `dtype` and `shape` before any data
/// arrives (a stream calls it on the header) and before anything is
/// allocated, and computes the kernels.
pub fn plan(
    dtype: DType,
    shape: &[usize],
    params: &GaussianParams,
    limits: &FilterLimits,
) -> Result<FilterPlan, FilterError> {
    let passes = resolve_passes(shape.len(), params, limits)?;
    plan_passes(dtype, shape, passes, params, limits)
}

/// `scipy.ndimage.gaussian_filter1d`'s plan: one pass along one axis (see
/// `params::resolve_pass_1d` for how its parameters differ from
/// [`plan`]'s), with the same checks of the output and the work.
pub fn plan_1d(
    dtype: DType,
    shape: &[usize],
    params: &GaussianParams,
    limits: &FilterLimits,
) -> Result<FilterPlan, FilterError> {
    let pass = resolve_pass_1d(shape.len(), params, limits)?;
    plan_passes(dtype, shape, vec![pass], params, limits)
}

/// Checks the output and the work of `passes` (the output dtype, cval and
/// its imaginary part read from `params`).
fn plan_passes(
    dtype: DType,
    shape: &[usize],
    passes: Vec<PassPlan>,
    params: &GaussianParams,
    limits: &FilterLimits,
) -> Result<FilterPlan, FilterError> {
    if params.output_dtype == Some(DType::Bool) {
        return Err(FilterError::BoolOutput);
    }
    let output_dtype = params.output_dtype.unwrap_or(dtype);
    // scipy only refuses these when it filters; with no pass it copies.
    if !passes.is_empty() {
        if dtype.is_complex() && !output_dtype.is_complex() {
            return Err(FilterError::ComplexToReal {
                input: dtype,
                output: output_dtype,
            });
        }
        if !dtype.is_complex() && params.cval_imag != 0.0 {
            return Err(FilterError::ComplexCval {
                cval_imag: params.cval_imag,
            });
        }
        if !dtype.is_complex() && output_dtype.is_complex() {
            return Err(FilterError::RealToComplex {
                input: dtype,
                output: output_dtype,
            });
        }
    }
    let len = shape
        .iter()
        .try_fold(1u128, |acc, &d| acc.checked_mul(d as u128));
    let nbytes = len.and_then(|l| l.checked_mul(output_dtype.itemsize() as u128));
    let too_large = |nbytes| FilterError::OutputTooLarge {
        shape: shape.to_vec(),
        dtype: output_dtype,
        nbytes,
        max: limits.max_output_bytes,
    };
    let nbytes = nbytes.ok_or_else(|| too_large(u128::MAX))?;
    if nbytes > u128::from(limits.max_output_bytes) {
        return Err(too_large(nbytes));
    }
    let output_nbytes = usize::try_from(nbytes).map_err(|_| too_large(nbytes))?;
    // The shape's product fits in u128 (checked above), and so does this sum
    // of at most 32 × 2 products by at most 200 001 taps.
    let elements = len.unwrap_or(u128::MAX);
    let parts = if dtype.is_complex() { 2 } else { 1 };
    let taps: u128 = passes
        .iter()
        .map(|p| elements.saturating_mul(2 * p.taps.weights().len() as u128 - 1) * parts)
        .fold(0, u128::saturating_add);
    if taps > u128::from(limits.max_taps) {
        return Err(FilterError::TooMuchWork {
            taps,
            max: limits.max_taps,
        });
    }
    Ok(FilterPlan {
        dtype,
        shape: shape.to_vec(),
        output_dtype,
        passes,
        cval: params.cval,
        cval_imag: params.cval_imag,
        output_nbytes,
        taps,
        pool_min: pool::POOL_MIN_BYTES,
    })
}

impl FilterPlan {
    /// Element type of the result.
    pub fn output_dtype(&self) -> DType {
        self.output_dtype
    }

    /// Size of the result's data in bytes.
    pub fn output_nbytes(&self) -> usize {
        self.output_nbytes
    }

    /// Shape of the input (and of the result).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of 1-D passes the filter makes (0 when every axis is skipped).
    pub fn num_passes(&self) -> usize {
        self.passes.len()
    }

    /// The same filter for an input of another `shape` of the same rank (a
    /// slab along axis 0 of the checked one: smaller, or a bounded copy of
    /// its rows, so no limit is checked again).
    fn for_shape(&self, shape: &[usize]) -> FilterPlan {
        let len: usize = shape.iter().product();
        FilterPlan {
            shape: shape.to_vec(),
            output_nbytes: len * self.output_dtype.itemsize(),
            pool_min: pool::SLAB_POOL_MIN_BYTES,
            ..self.clone()
        }
    }

    /// Filters `input`. Blocks the calling thread while all cores work;
    /// call it from `spawn_blocking` in async code.
    ///
    /// # Panics
    /// If `input`'s dtype or shape is not the one the plan was made for
    /// (a programming error).
    pub fn run(&self, input: &Tensor) -> Tensor {
        result_tensor(self.output_dtype, &self.shape, self.run_bytes(input))
    }

    /// The result's bytes exactly as scipy leaves them in memory (for bool
    /// output, possibly bytes other than 0 and 1).
    pub(crate) fn run_bytes(&self, input: &Tensor) -> Bytes {
        if (self.passes.is_empty() || input.is_empty()) && self.output_dtype == self.dtype {
            self.check_input(input);
            return input.data().clone();
        }
        pool::into_bytes_from(self.run_vec(input), self.pool_min)
    }

    fn check_input(&self, input: &Tensor) {
        assert_eq!(
            input.dtype(),
            self.dtype,
            "tensor dtype differs from the plan's"
        );
        assert_eq!(
            input.shape(),
            &self.shape[..],
            "tensor shape differs from the plan's"
        );
    }

    /// The result's bytes in a buffer of their own (from `pool`, floor
    /// `pool_min`), for a caller that goes on computing in it.
    fn run_vec(&self, input: &Tensor) -> Vec<u8> {
        self.check_input(input);
        if self.passes.is_empty() || input.is_empty() {
            if self.output_dtype == self.dtype {
                return input.data().to_vec();
            }
            return cast::astype(input.data(), self.dtype, self.output_dtype);
        }
        let narrow = matches!(self.output_dtype, DType::Float16 | DType::BFloat16);
        let work_dtype = if narrow {
            DType::Float32
        } else {
            self.output_dtype
        };
        let nbytes = input.len() * work_dtype.itemsize();
        // Recycled (see `pool`: no page faults for a result size seen
        // before) and not zeroed: the filter writes every byte before anything reads it,
        // and zeroing a result that is overwritten whole costs a memset of
        // it whenever the allocator reuses memory (as it does for sizes
        // below glibc's mmap threshold).
        let mut work = pool::take_from(nbytes, self.pool_min);
        let parts = if self.dtype.is_complex() { 2 } else { 1 };
        for part in 0..parts {
            let write = writer(work_dtype, part).expect("float16/bfloat16 are computed as float32");
            filter_component(
                &self.shape,
                &self.passes,
                Component {
                    input: input.data(),
                    read: reader(self.dtype, part),
                    output: Shared(work.as_mut_ptr()),
                    write,
                    cval: if part == 0 { self.cval } else { self.cval_imag },
                },
            );
        }
        // SAFETY: `work` has capacity `nbytes`. `filter_component` writes
        // component `part` of every element of the array (its first pass
        // stores every region of a tiling of the whole array, see
        // `correlate::first_group`; later passes rewrite values in place).
        // A real dtype has one component covering the element's bytes; a
        // complex one has two (bytes 0..s/2 and s/2..s of an s-byte element),
        // written by the two iterations above. So all `nbytes` bytes are
        // initialised. The array is not empty (checked above), and tests
        // fill the buffer with a poison pattern first so that a byte left
        // unwritten would show in the golden comparisons.
        unsafe { work.set_len(nbytes) };
        if !narrow {
            return work;
        }
        let mut out = zeroed_buffer(self.output_nbytes);
        const CHUNK: usize = 1 << 16;
        out.par_chunks_mut(2 * CHUNK)
            .zip(work.par_chunks(4 * CHUNK))
            .for_each(|(o, w)| cast::narrow_f32(w, self.output_dtype, o));
        pool::give_back_from(work, self.pool_min);
        out
    }
}

/// The engine's result bytes as a tensor of `dtype` and `shape` (sizes the
/// plan checked). scipy's `(npy_bool)` cast can leave bool bytes like 255
/// (NumPy reads any non-zero byte as True); a tensor's bool bytes must be 0
/// or 1, so they are normalised to the same truth values.
fn result_tensor(dtype: DType, shape: &[usize], mut data: Bytes) -> Tensor {
    if dtype == DType::Bool {
        let mut v = data.to_vec();
        v.iter_mut().for_each(|b| *b = u8::from(*b != 0));
        data = Bytes::from(v);
    }
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let limits = TensorLimits {
        max_rank: usize::MAX,
        max_bytes: u64::MAX,
    };
    let valid = validate_shape(dtype, &shape, &limits).expect("the plan checked the output size");
    Tensor::from_valid(dtype, valid, data).expect("the engine writes exactly the output's bytes")
}

/// An empty buffer with capacity for a `len`-byte result, to be written
/// whole through its pointer before its length is set. Large ones get the
/// huge pages that [`zeroed_buffer`] asks for. Under `cfg(test)` the memory
/// is filled with a poison pattern (bytes 0xa5: no NaN, zero or small
/// integer), so any byte the engine forgot to write fails a golden case.
pub(crate) fn uninit_buffer(len: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(len);
    #[cfg(test)]
    buf.resize(len, 0xa5);
    // The pointer to the allocation's start, whatever the length.
    advise_huge_pages(buf.as_mut_ptr(), len);
    #[cfg(test)]
    buf.clear();
    buf
}

/// A zeroed buffer for a result. Large ones get the kernel's transparent
/// huge pages where it offers them on request (Linux, `madvise` mode, as
/// here): a fresh 128 MiB buffer otherwise costs 32 768 page faults, which
/// took longer than the filtering itself. NumPy asks for the same.
pub(crate) fn zeroed_buffer(len: usize) -> Vec<u8> {
    // calloc maps fresh zero pages without touching them, so the advice
    // below still applies to every page.
    let mut buf = vec![0u8; len];
    advise_huge_pages(buf.as_mut_ptr(), len);
    buf
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, len: usize) {
    const HUGE: usize = 2 << 20;
    if len < 4 * HUGE {
        return;
    }
    let start = ptr as usize;
    let first = start.next_multiple_of(HUGE);
    let last = (start + len) / HUGE * HUGE;
    if last > first {
        // SAFETY: the range lies inside the `len` bytes allocated at `ptr`
        // (a buffer the caller owns, initialised or not); the advice
        // changes how pages are backed, never their contents. Its result is
        // ignored: without huge pages the buffer works the same, only slower.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                last - first,
                libc::MADV_HUGEPAGE,
            )
        };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _len: usize) {}

/// `scipy.ndimage.gaussian_filter(input, **params)`: [`plan`] then [`FilterPlan::run`].
pub fn gaussian_filter(
    input: &Tensor,
    params: &GaussianParams,
    limits: &FilterLimits,
) -> Result<Tensor, FilterError> {
    Ok(plan(input.dtype(), input.shape(), params, limits)?.run(input))
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;
    use half::{bf16, f16};

    fn limits() -> FilterLimits {
        FilterLimits::default()
    }

    #[test]
    fn refuses_output_over_the_byte_limit_before_allocating() {
        let small = FilterLimits {
            max_output_bytes: 1000,
            ..limits()
        };
        let p = GaussianParams::with_sigma(1.0);
        assert!(plan(DType::Float64, &[125], &p, &small).is_ok());
        let err = plan(DType::Float64, &[126], &p, &small).unwrap_err();
        assert!(
            matches!(err, FilterError::OutputTooLarge { nbytes: 1008, .. }),
            "{err}"
        );
        // A shape whose size overflows is refused, not wrapped.
        let err = plan(DType::Complex128, &[usize::MAX, 4], &p, &limits()).unwrap_err();
        assert!(matches!(err, FilterError::OutputTooLarge { .. }), "{err}");
    }

    #[test]
    fn refuses_more_taps_than_the_limit_before_allocating() {
        let small = FilterLimits {
            max_taps: 1000,
            ..limits()
        };
        // sigma 1 at truncate 4: radius 4, 9 taps; 2 axes of 10 × 5.
        let p = GaussianParams::with_sigma(1.0);
        assert!(
            plan(DType::Float64, &[10, 5], &p, &small).is_ok(),
            "900 taps"
        );
        let err = plan(DType::Float64, &[10, 6], &p, &small).unwrap_err();
        assert!(
            matches!(
                err,
                FilterError::TooMuchWork {
                    taps: 1080,
                    max: 1000
                }
            ),
            "{err}"
        );
        // Both parts of a complex array count.
        let err = plan(DType::Complex128, &[10, 5], &p, &small).unwrap_err();
        assert!(
            matches!(err, FilterError::TooMuchWork { taps: 1800, .. }),
            "{err}"
        );
        // Skipped axes (sigma 0) cost nothing.
        let mut one_axis = GaussianParams::with_sigma(1.0);
        one_axis.sigma = vec![1.0, 0.0];
        assert!(plan(DType::Float64, &[10, 6], &one_axis, &small).is_ok());
        assert!(err.to_string().contains("kernel taps"), "{err}");
    }

    #[test]
    fn refuses_real_complex_mixes_that_scipy_refuses_but_copies_when_nothing_is_filtered() {
        let mut p = GaussianParams::with_sigma(1.0);
        p.output_dtype = Some(DType::Float64);
        assert!(matches!(
            plan(DType::Complex128, &[4], &p, &limits()),
            Err(FilterError::ComplexToReal { .. })
        ));
        p.output_dtype = Some(DType::Complex64);
        assert!(matches!(
            plan(DType::Float32, &[4], &p, &limits()),
            Err(FilterError::RealToComplex { .. })
        ));
        // sigma 0: scipy copies with NumPy's cast (real part kept).
        p.sigma = vec![0.0];
        p.output_dtype = Some(DType::Float64);
        let data: Vec<u8> = [1.5f64, 2.0, -3.0, 4.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let input = Tensor::new(
            DType::Complex128,
            &[2],
            Bytes::from(data),
            &Default::default(),
        )
        .unwrap();
        let out = gaussian_filter(&input, &p, &limits()).unwrap();
        assert_eq!(values(&out), vec![1.5, -3.0]);
    }

    #[test]
    fn refuses_bool_output_dtype_but_filters_bool_input_to_bool() {
        let mut p = GaussianParams::with_sigma(1.0);
        p.output_dtype = Some(DType::Bool);
        assert_eq!(
            plan(DType::Float64, &[4], &p, &limits()).unwrap_err(),
            FilterError::BoolOutput
        );
        let input = Tensor::new(
            DType::Bool,
            &[5],
            Bytes::from_static(&[0, 1, 1, 1, 0]),
            &Default::default(),
        )
        .unwrap();
        let out = gaussian_filter(&input, &GaussianParams::with_sigma(0.3), &limits()).unwrap();
        assert_eq!(out.dtype(), DType::Bool);
        assert!(out.data().iter().all(|&b| b <= 1));
    }

    #[test]
    fn bool_bytes_that_scipy_leaves_above_one_become_true() {
        // The second derivative at a step is about -1.9, which scipy stores
        // as the byte 255 (the low byte of the int -1).
        let input = Tensor::new(
            DType::Bool,
            &[6],
            Bytes::from_static(&[0, 0, 0, 1, 1, 1]),
            &Default::default(),
        )
        .unwrap();
        let mut p = GaussianParams::with_sigma(0.5);
        p.order = vec![2];
        p.radius = vec![1];
        let plan = plan(DType::Bool, &[6], &p, &limits()).unwrap();
        let raw = plan.run_bytes(&input);
        assert!(raw.contains(&255), "{raw:?}");
        let public = plan.run(&input);
        for (&r, &b) in raw.iter().zip(public.data().iter()) {
            assert_eq!(b, u8::from(r != 0));
        }
    }

    fn f32_then_cast(input_f32: &Tensor, p: &GaussianParams, to: DType) -> Vec<u8> {
        let mut p32 = p.clone();
        p32.output_dtype = Some(DType::Float32);
        let result = gaussian_filter(input_f32, &p32, &limits()).unwrap();
        let mut out = vec![0u8; result.len() * 2];
        cast::narrow_f32(result.data(), to, &mut out);
        out
    }

    #[test]
    fn float16_and_bfloat16_are_filtered_as_float32_and_rounded_back() {
        let vals: Vec<f32> = (0..60)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.37)
            .collect();
        let shape = [6, 10];
        let as_f32 = f32_tensor(&shape, vals.clone());
        let mut p = GaussianParams::with_sigma(1.3);
        p.order = vec![0, 1];
        for dtype in [DType::Float16, DType::BFloat16] {
            let data: Vec<u8> = vals
                .iter()
                .flat_map(|&v| match dtype {
                    DType::Float16 => f16::from_f32(v).to_bits().to_le_bytes(),
                    _ => bf16::from_f32(v).to_bits().to_le_bytes(),
                })
                .collect();
            let input = Tensor::new(
                dtype,
                &[6, 10],
                Bytes::from(data.clone()),
                &Default::default(),
            )
            .unwrap();
            let out = gaussian_filter(&input, &p, &limits()).unwrap();
            assert_eq!(out.dtype(), dtype);
            // The 16-bit input widened to float32 exactly, then filtered.
            let widened = Tensor::new(
                DType::Float32,
                &[6, 10],
                Bytes::from(cast::astype(&data, dtype, DType::Float32)),
                &Default::default(),
            )
            .unwrap();
            assert_eq!(
                out.data().to_vec(),
                f32_then_cast(&widened, &p, dtype),
                "{dtype}"
            );
        }
        // float16 output for float32 input: float32 result, rounded.
        let mut p16 = p.clone();
        p16.output_dtype = Some(DType::Float16);
        let out = gaussian_filter(&as_f32, &p16, &limits()).unwrap();
        assert_eq!(out.dtype(), DType::Float16);
        assert_eq!(
            out.data().to_vec(),
            f32_then_cast(&as_f32, &p, DType::Float16)
        );
    }

    #[test]
    fn rank_zero_and_empty_arrays_come_back_unchanged() {
        let scalar = f64_tensor(&[], vec![2.5]);
        assert_eq!(
            gaussian_filter(&scalar, &GaussianParams::with_sigma(1.0), &limits()).unwrap(),
            scalar
        );
        let empty = f64_tensor(&[0, 5], vec![]);
        let out = gaussian_filter(&empty, &GaussianParams::with_sigma(1.0), &limits()).unwrap();
        assert_eq!(out.shape(), &[0, 5]);
        assert!(out.is_empty());
    }

    #[test]
    fn plan_reports_output_dtype_and_size() {
        let mut p = GaussianParams::with_sigma(1.0);
        p.output_dtype = Some(DType::Int16);
        let plan = plan(DType::Float64, &[3, 4], &p, &limits()).unwrap();
        assert_eq!(plan.output_dtype(), DType::Int16);
        assert_eq!(plan.output_nbytes(), 24);
        assert_eq!(plan.num_passes(), 2);
    }
}
