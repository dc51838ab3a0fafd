//! The 1-D Gaussian kernels, computed exactly as scipy computes them.
//!
//! Bit-exactness starts here: scipy builds `exp(-0.5/sigma² · x²)` for
//! integer `x`, normalises it by NumPy's pairwise sum, multiplies derivative
//! kernels by polynomials evaluated through a BLAS matrix product (which uses
//! FMA for some terms), then reverses the kernel and checks it for symmetry
//! with a tolerance of `DBL_EPSILON`. Every one of those steps changes the
//! last bits of the result, so each is reproduced literally; the golden cases
//! carry scipy's kernel bits and the tests here compare against them.

use super::params::FilterError;

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
/// `x = -r..=r`, before reversal. `order` is 0..=3.
pub(crate) fn gaussian_kernel(sigma: f64, order: u32, radius: usize) -> Vec<f64> {
    let r = radius as i64;
    let sigma2 = sigma * sigma;
    let a = -0.5 / sigma2;
    // x² is an int64 array in NumPy, converted to float64 by the product.
    let mut phi: Vec<f64> = (-r..=r).map(|x| (a * (x * x) as f64).exp()).collect();
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
    pub(crate) fn gaussian(sigma: f64, order: u32, radius: usize) -> Taps {
        Taps::from_kernel(&gaussian_kernel(sigma, order, radius))
    }

    /// Folds an odd-length kernel (in scipy's order, before reversal):
    /// reverses it and runs scipy's symmetry tests. Those compare with a
    /// tolerance of `DBL_EPSILON`, so a derivative kernel whose weights are
    /// all tiny counts as symmetric, and scipy then adds the pairs; so do we.
    pub(crate) fn from_kernel(kernel: &[f64]) -> Taps {
        debug_assert!(kernel.len() % 2 == 1);
        let w: Vec<f64> = kernel.iter().rev().copied().collect();
        let size1 = w.len() / 2;
        let symmetric = !(1..=size1).any(|ii| (w[size1 + ii] - w[size1 - ii]).abs() > f64::EPSILON);
        // A kernel that fails both tests (impossible for Gaussians) would take
        // scipy's general path; Gaussians are always one or the other.
        let k = (0..=size1).map(|m| w[size1 - m]).collect();
        Taps {
            k,
            anti: !symmetric,
        }
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
        let k = gaussian_kernel(2.0, 0, 8);
        assert_eq!(k.len(), 17);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for i in 0..8 {
            assert_eq!(k[i].to_bits(), k[16 - i].to_bits());
        }
        assert!(!Taps::from_kernel(&k).is_antisymmetric());
    }

    #[test]
    fn first_derivative_kernel_is_antisymmetric() {
        let t = Taps::gaussian(1.0, 1, 4);
        assert!(t.is_antisymmetric());
        assert_eq!(t.weights()[0], 0.0);
        // The reversed kernel's left weight is the original's right one: positive x gives negative weight.
        assert!(t.weights()[1] < 0.0);
    }

    #[test]
    fn tiny_derivative_kernel_counts_as_symmetric_as_in_scipy() {
        let t = Taps::gaussian(1e9, 1, 2);
        assert!(!t.is_antisymmetric());
    }

    #[test]
    fn radius_truncates_toward_zero_like_python_int() {
        assert_eq!(kernel_radius(0, 0.5, 4.0, None, 10), Ok(2));
        assert_eq!(kernel_radius(0, 1.0, -1.0, None, 10), Ok(0));
        assert_eq!(kernel_radius(0, 1.0, 4.0, Some(7), 10), Ok(7));
    }
}
