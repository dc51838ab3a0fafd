//! The 1-D Gaussian kernels, computed exactly as scipy computes them.
//!
//! Bit-exactness starts here: scipy builds `exp(-0.5/sigma² · x²)` for
//! integer `x`, normalises it by NumPy's pairwise sum, multiplies derivative
//! kernels by polynomials evaluated through a BLAS matrix product (which uses
//! FMA for some terms), then reverses the kernel and checks it for symmetry
//! with a tolerance of `DBL_EPSILON`. Every one of those steps changes the
//! last bits of the result, so each is reproduced literally; the golden cases
//! carry scipy's kernel bits and the tests here compare against them.

use super::error::FilterError;
use super::numpy_exp::numpy_avx512_exp;

/// Which float64 `exp` builds a Gaussian kernel.
///
/// scipy builds its kernels with NumPy's `exp`, and NumPy picks its `exp`
/// by CPU: with AVX-512 (and not disabled by `NPY_DISABLE_CPU_FEATURES`) it
/// runs Intel SVML's vectorised `exp`, which differs from the C library's in
/// the last bit for some arguments. Both are computed here on any CPU, so a
/// caller can ask for the scipy it compares with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KernelExp {
    /// The C library's `exp`: NumPy on a CPU without AVX-512F, or with its
    /// AVX-512 features disabled. The default.
    #[default]
    Libm,
    /// NumPy's AVX-512 `exp` (SVML's): a default NumPy on a CPU with AVX-512.
    NumpyAvx512,
}

impl KernelExp {
    /// Both, in the order of the wire's `KernelExp` enum.
    pub const ALL: [KernelExp; 2] = [KernelExp::Libm, KernelExp::NumpyAvx512];

    /// The name the text routes use: `libm` or `numpy-avx512`.
    pub fn name(self) -> &'static str {
        match self {
            KernelExp::Libm => "libm",
            KernelExp::NumpyAvx512 => "numpy-avx512",
        }
    }

    /// Looks a name up ([`KernelExp::name`]).
    pub fn from_name(name: &str) -> Option<KernelExp> {
        KernelExp::ALL.into_iter().find(|e| e.name() == name)
    }

    /// `exp(x)` as this `exp` computes it.
    pub fn exp(self, x: f64) -> f64 {
        match self {
            // Rust's `f64::exp` calls the C library's `exp`.
            KernelExp::Libm => x.exp(),
            KernelExp::NumpyAvx512 => numpy_avx512_exp(x),
        }
    }
}

impl std::fmt::Display for KernelExp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The radius scipy uses for one axis: `int(truncate * sigma + 0.5)`, or
/// `radius` when given (scipy still evaluates the truncate expression, so a
/// non-finite one is refused even then), checked against `max`.
pub(crate) fn kernel_radius(
    axis: usize,
    sigma: f64,
    truncate: f64,
    radius: Option<i64>,
    max: usize,
) -> Result<usize, FilterError> {
    let t = truncate * sigma + 0.5;
    if !t.is_finite() {
        return Err(FilterError::NonFiniteRadius {
            axis,
            sigma,
            truncate,
        });
    }
    let from_truncate = t.trunc();
    let chosen = match radius {
        Some(r) if r < 0 => return Err(FilterError::NegativeRadius { axis, radius: r }),
        Some(r) => r as f64,
        None if from_truncate < 0.0 => {
            return Err(FilterError::NegativeTruncate {
                axis,
                sigma,
                truncate,
                radius: from_truncate,
            });
        }
        None => from_truncate,
    };
    if chosen > max as f64 {
        return Err(FilterError::RadiusTooLarge {
            axis,
            radius: chosen,
            max,
        });
    }
    // In 0..=max, so exact and in range.
    Ok(chosen as usize)
}

/// NumPy's pairwise summation of float64 (`add.reduce` on a contiguous
/// array): eight accumulators in blocks of 128, halves split on a multiple
/// of 8 above that. The rounding of the kernel's normalisation depends on it.
pub(crate) fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// scipy's `_gaussian_kernel1d(sigma, order, radius)`: `2r+1` weights for
/// `x = -r..=r`, before reversal, with NumPy's `exp` as `exp` computes it.
/// `order` is 0..=3.
pub(crate) fn gaussian_kernel(sigma: f64, order: u32, radius: usize, exp: KernelExp) -> Vec<f64> {
    let r = radius as i64;
    let sigma2 = sigma * sigma;
    let a = -0.5 / sigma2;
    // x² is an int64 array in NumPy, converted to float64 by the product.
    let mut phi: Vec<f64> = (-r..=r).map(|x| exp.exp(a * (x * x) as f64)).collect();
    let sum = pairwise_sum(&phi);
    for v in &mut phi {
        *v /= sum;
    }
    if order == 0 {
        return phi;
    }
    // The polynomial's coefficients come from repeated products with
    // D + P (scipy's Q_deriv); for orders up to 3 they reduce to these
    // values, each rounded as the matrix products round them.
    let c = 1.0 / -sigma2;
    let c2 = c * c;
    let three_c2 = c2 + 2.0 * c2;
    let c3 = c * c2;
    (-r..=r)
        .zip(phi)
        .map(|(x, p)| {
            let xf = x as f64;
            let poly = match order {
                1 => xf * c + 0.0,
                // The BLAS product fuses this one (c + x·0, then + x²·c²)...
                2 => ((x * x) as f64).mul_add(c2, c),
                // ...but not this one: two products, one sum (checked
                // against scipy on thousands of random sigmas and radii).
                _ => xf * three_c2 + ((x * x * x) as f64) * c3,
            };
            poly * p
        })
        .collect()
}

/// A kernel folded the way scipy's `NI_Correlate1D` uses it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Taps {
    /// `k[0]` weighs the centre, `k[m]` the pair at distance `m`: it is the
    /// weight the reversed kernel puts on the left neighbour `i - m`.
    k: Vec<f64>,
    /// True when scipy's symmetry test failed and the antisymmetric form
    /// `(left - right) * k[m]` is used instead of `(left + right) * k[m]`.
    anti: bool,
}

impl Taps {
    /// The taps of scipy's Gaussian (derivative) kernel.
    pub(crate) fn gaussian(sigma: f64, order: u32, radius: usize, exp: KernelExp) -> Taps {
        Taps::from_kernel(&gaussian_kernel(sigma, order, radius, exp))
    }

    /// Folds odd-length weights as `correlate1d` takes them (a Gaussian
    /// kernel already reversed), or `None` when they are neither symmetric
    /// nor antisymmetric by scipy's tests (scipy's general loop, which this
    /// engine does not run).
    pub(crate) fn from_weights(w: &[f64]) -> Option<Taps> {
        debug_assert!(w.len() % 2 == 1);
        let size1 = w.len() / 2;
        // scipy's tests, `fabs(..) > DBL_EPSILON` breaking out: a NaN
        // difference does not break them.
        let beyond = |d: f64| d.abs() > f64::EPSILON;
        let symmetric = !(1..=size1).any(|ii| beyond(w[size1 + ii] - w[size1 - ii]));
        let anti = !symmetric && !(1..=size1).any(|ii| beyond(w[size1 + ii] + w[size1 - ii]));
        (symmetric || anti).then(|| Taps::fold(w, anti))
    }

    /// Folds `correlate1d` weights around their centre, centre first.
    fn fold(w: &[f64], anti: bool) -> Taps {
        let size1 = w.len() / 2;
        Taps {
            k: (0..=size1).map(|m| w[size1 - m]).collect(),
            anti,
        }
    }

    /// Folds an odd-length kernel (in scipy's order, before reversal):
    /// reverses it and runs scipy's symmetry tests. Those compare with a
    /// tolerance of `DBL_EPSILON`, so a derivative kernel whose weights are
    /// all tiny counts as symmetric, and scipy then adds the pairs; so do we.
    pub(crate) fn from_kernel(kernel: &[f64]) -> Taps {
        let w: Vec<f64> = kernel.iter().rev().copied().collect();
        // A kernel that fails both tests (impossible for Gaussians) would take
        // scipy's general path; Gaussians are always one or the other.
        Taps::from_weights(&w).unwrap_or_else(|| Taps::fold(&w, true))
    }

    /// The radius: the number of pairs.
    pub(crate) fn radius(&self) -> usize {
        self.k.len() - 1
    }

    /// The folded weights, centre first.
    pub(crate) fn weights(&self) -> &[f64] {
        &self.k
    }

    /// True for the antisymmetric form.
    pub(crate) fn is_antisymmetric(&self) -> bool {
        self.anti
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_matches_numpy_on_values_where_order_matters() {
        // 1e16 + 1 + ... loses the ones when summed left to right but the
        // pairwise blocks keep some of them; the expected value was printed
        // by numpy: np.array([1e16] + [1.0]*200).sum() == 1.0000000000000188e16.
        let mut a = vec![1e16];
        a.extend(std::iter::repeat_n(1.0, 200));
        assert_eq!(pairwise_sum(&a), 1.0000000000000188e16);
        assert_eq!(pairwise_sum(&[]), 0.0);
    }

    #[test]
    fn order_zero_kernel_sums_to_about_one_and_is_symmetric() {
        let k = gaussian_kernel(2.0, 0, 8, KernelExp::Libm);
        assert_eq!(k.len(), 17);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for i in 0..8 {
            assert_eq!(k[i].to_bits(), k[16 - i].to_bits());
        }
        assert!(!Taps::from_kernel(&k).is_antisymmetric());
    }

    #[test]
    fn first_derivative_kernel_is_antisymmetric() {
        let t = Taps::gaussian(1.0, 1, 4, KernelExp::Libm);
        assert!(t.is_antisymmetric());
        assert_eq!(t.weights()[0], 0.0);
        // The reversed kernel's left weight is the original's right one: positive x gives negative weight.
        assert!(t.weights()[1] < 0.0);
    }

    #[test]
    fn tiny_derivative_kernel_counts_as_symmetric_as_in_scipy() {
        let t = Taps::gaussian(1e9, 1, 2, KernelExp::Libm);
        assert!(!t.is_antisymmetric());
    }

    #[test]
    fn weights_fold_like_the_reversed_kernel_and_other_shapes_are_refused() {
        for (sigma, order) in [(2.0, 0), (1.5, 1), (3.0, 2), (0.7, 3)] {
            for exp in KernelExp::ALL {
                let kernel = gaussian_kernel(sigma, order, 6, exp);
                let reversed: Vec<f64> = kernel.iter().rev().copied().collect();
                assert_eq!(
                    Taps::from_weights(&reversed),
                    Some(Taps::from_kernel(&kernel)),
                    "sigma {sigma} order {order} {exp}"
                );
            }
        }
        assert_eq!(Taps::from_weights(&[1.0, 2.0, 3.0]), None);
        let t = Taps::from_weights(&[1.0, 0.5, -1.0]).expect("antisymmetric");
        assert!(t.is_antisymmetric());
        assert_eq!(t.weights(), &[0.5, 1.0]);
    }

    #[test]
    fn the_two_exps_differ_for_the_sigmas_an_avx512_machine_showed() {
        // Issue #27's table, measured with a default NumPy on an AVX-512
        // machine: scipy's results differed from the C library's kernels for
        // sigma 2.0 and 8.0, and not for 0.5, 1.0, 1.5 and 3.0.
        for (sigma, differs) in [
            (0.5, false),
            (1.0, false),
            (1.5, false),
            (2.0, true),
            (3.0, false),
            (8.0, true),
        ] {
            let radius = (4.0 * sigma + 0.5) as usize;
            let libm = gaussian_kernel(sigma, 0, radius, KernelExp::Libm);
            let avx = gaussian_kernel(sigma, 0, radius, KernelExp::NumpyAvx512);
            assert_eq!(libm != avx, differs, "sigma {sigma}");
        }
        for name in ["libm", "numpy-avx512"] {
            assert_eq!(KernelExp::from_name(name).map(KernelExp::name), Some(name));
        }
        assert_eq!(KernelExp::from_name("avx2"), None);
    }

    #[test]
    fn radius_truncates_toward_zero_like_python_int() {
        assert_eq!(kernel_radius(0, 0.5, 4.0, None, 10), Ok(2));
        assert_eq!(kernel_radius(0, 1.0, -1.0, None, 10), Ok(0));
        assert_eq!(kernel_radius(0, 1.0, 4.0, Some(7), 10), Ok(7));
    }
}
