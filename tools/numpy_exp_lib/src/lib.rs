//! NumPy's float64 `exp` on AVX-512 CPUs (Intel SVML's `__svml_exp8_ha`),
//! emulated by tensorwire's `src/filter/numpy_exp.rs`, exported as a C
//! function so that `tools/make_filter_cases.py --emulate-avx512-exp` can
//! put it in place of `numpy.exp` inside scipy (tests/golden_avx512/).

#[path = "../../../src/filter/numpy_exp.rs"]
mod numpy_exp;

/// Writes `numpy_avx512_exp(x[i])` to `out[i]` for `i` in `0..n`.
///
/// # Safety
///
/// `x` must point to `n` readable `f64`s and `out` to `n` writable `f64`s
/// (both may be dangling when `n` is 0); the two may be the same array
/// (each element is read before it is written) but must not otherwise
/// overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tensorwire_numpy_avx512_exp_array(x: *const f64, out: *mut f64, n: usize) {
    for i in 0..n {
        // SAFETY: the caller guarantees `x` and `out` each hold `n` f64s, and
        // `i < n`; element `i` is read before element `i` is written, so
        // `x == out` is fine too.
        unsafe { *out.add(i) = numpy_exp::numpy_avx512_exp(*x.add(i)) };
    }
}
