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
//! - `params`: the parameters, limits, errors and their resolution into passes;
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
mod correlate;
mod kernel;
mod params;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod scipy_tests;
#[cfg(test)]
mod test_util;

use bytes::Bytes;
use rayon::prelude::*;

pub use params::{BoundaryMode, FilterError, FilterLimits, GaussianParams};

use crate::tensor::{DType, Tensor, TensorLimits, validate_shape};
use correlate::{Component, filter_component, reader, writer};
use params::{PassPlan, resolve_passes};

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
    Ok(FilterPlan {
        dtype,
        shape: shape.to_vec(),
        output_dtype,
        passes,
        cval: params.cval,
        cval_imag: params.cval_imag,
        output_nbytes,
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

    /// Filters `input`. Blocks the calling thread while all cores work;
    /// call it from `spawn_blocking` in async code.
    ///
    /// # Panics
    /// If `input`'s dtype or shape is not the one the plan was made for
    /// (a programming error).
    pub fn run(&self, input: &Tensor) -> Tensor {
        let mut data = self.run_bytes(input);
        if self.output_dtype == DType::Bool {
            // scipy's `(npy_bool)` cast can leave bytes like 255 (NumPy
            // reads any non-zero byte as True); a tensor's bool bytes must
            // be 0 or 1, so they are normalised to the same truth values.
            let mut v = data.to_vec();
            v.iter_mut().for_each(|b| *b = u8::from(*b != 0));
            data = Bytes::from(v);
        }
        let shape: Vec<u64> = self.shape.iter().map(|&d| d as u64).collect();
        let limits = TensorLimits {
            max_rank: usize::MAX,
            max_bytes: u64::MAX,
        };
        let valid = validate_shape(self.output_dtype, &shape, &limits)
            .expect("the plan checked the output size");
        Tensor::from_valid(self.output_dtype, valid, data)
            .expect("the engine writes exactly the output's bytes")
    }

    /// The result's bytes exactly as scipy leaves them in memory (for bool
    /// output, possibly bytes other than 0 and 1).
    pub(crate) fn run_bytes(&self, input: &Tensor) -> Bytes {
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
        if self.passes.is_empty() || input.is_empty() {
            if self.output_dtype == self.dtype {
                return input.data().clone();
            }
            return Bytes::from(cast::astype(input.data(), self.dtype, self.output_dtype));
        }
        let narrow = matches!(self.output_dtype, DType::Float16 | DType::BFloat16);
        let work_dtype = if narrow {
            DType::Float32
        } else {
            self.output_dtype
        };
        let len = input.len();
        let mut work = zeroed_buffer(len * work_dtype.itemsize());
        let parts = if self.dtype.is_complex() { 2 } else { 1 };
        for part in 0..parts {
            let write = writer(work_dtype, part).expect("float16/bfloat16 are computed as float32");
            filter_component(
                &self.shape,
                &self.passes,
                Component {
                    input: input.data(),
                    read: reader(self.dtype, part),
                    output: &mut work,
                    write,
                    cval: if part == 0 { self.cval } else { self.cval_imag },
                },
            );
        }
        if !narrow {
            return Bytes::from(work);
        }
        let mut out = zeroed_buffer(self.output_nbytes);
        const CHUNK: usize = 1 << 16;
        out.par_chunks_mut(2 * CHUNK)
            .zip(work.par_chunks(4 * CHUNK))
            .for_each(|(o, w)| cast::narrow_f32(w, self.output_dtype, o));
        Bytes::from(out)
    }
}

/// A zeroed buffer for a result. Large ones get the kernel's transparent
/// huge pages where it offers them on request (Linux, `madvise` mode, as
/// here): a fresh 128 MiB buffer otherwise costs 32 768 page faults, which
/// took longer than the filtering itself. NumPy asks for the same.
pub(crate) fn zeroed_buffer(len: usize) -> Vec<u8> {
    // calloc maps fresh zero pages without touching them, so the advice
    // below still applies to every page.
    let mut buf = vec![0u8; len];
    advise_huge_pages(&mut buf);
    buf
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(buf: &mut [u8]) {
    const MADV_HUGEPAGE: i32 = 14;
    const HUGE: usize = 2 << 20;
    unsafe extern "C" {
        fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
    }
    if buf.len() < 4 * HUGE {
        return;
    }
    let start = buf.as_mut_ptr() as usize;
    let first = start.next_multiple_of(HUGE);
    let last = (start + buf.len()) / HUGE * HUGE;
    if last > first {
        // SAFETY: the range lies inside `buf`, which we own; the advice
        // changes how pages are backed, never their contents. Its result is
        // ignored: without huge pages the buffer works the same, only slower.
        unsafe { madvise(first as *mut std::ffi::c_void, last - first, MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_buf: &mut [u8]) {}

/// `scipy.ndimage.gaussian_filter(input, **params)`: [`plan`] then [`FilterPlan::run`].
pub fn gaussian_filter(
    input: &Tensor,
    params: &GaussianParams,
    limits: &FilterLimits,
) -> Result<Tensor, FilterError> {
    Ok(plan(input.dtype(), input.shape(), params, limits)?.run(input))
}
