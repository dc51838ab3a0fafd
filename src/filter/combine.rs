//! How an operation of several Gaussian filters joins their results, with
//! NumPy's arithmetic in the output dtype, element by element.
//!
//! scipy's `generic_laplace` stores each term in the output array's dtype
//! and adds it with `output += tmp`; `generic_gradient_magnitude` squares
//! each term in place (`np.multiply(t, t, t)`), adds, and ends with
//! `np.sqrt(output, output, casting='unsafe')`. So the arithmetic is
//! NumPy's for that dtype, not the engine's float64: integers wrap, 16-bit
//! floats compute in float32 and round once, booleans are logical, and the
//! square root of an integer runs in the float type NumPy picks for that
//! integer (float16 for 8-bit, float32 for 16-bit, float64 above) before a
//! C cast back. Written by hand because no crate reproduces NumPy's ufunc
//! loops; the golden cases of `tests/golden_ops/` pin every dtype.

use half::{bf16, f16};
use num_complex::Complex;
use rayon::prelude::*;

use super::cast::{c_i32, c_i64, c_u64};
use crate::tensor::DType;

/// How the terms of a plan become its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// One term: its result is the result.
    Single,
    /// `output = t0; output += t1; ...` in the output dtype (scipy's
    /// `generic_laplace`).
    Sum,
    /// `output = t0·t0; output += t1·t1; ...; output = sqrt(output)` in the
    /// output dtype (scipy's `generic_gradient_magnitude`).
    RootSumOfSquares,
}

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// `acc = acc + term`, element by element, as NumPy adds two arrays of
/// `dtype`.
pub(crate) fn add(acc: &mut [u8], term: &[u8], dtype: DType) {
    dispatch!(dtype, T => zip::<T>(acc, term, |a, t| a.add(t)));
}

/// `acc = acc·acc`, as NumPy squares an array of `dtype` in place.
pub(crate) fn square(acc: &mut [u8], dtype: DType) {
    dispatch!(dtype, T => map::<T>(acc, |a| a.mul(a)));
}

/// `acc = acc + term·term` (NumPy's `np.multiply(t, t, t)` then
/// `acc += t`, each rounded on its own), and the square root of the sum
/// when `last` (`np.sqrt(acc, acc, casting='unsafe')`).
pub(crate) fn add_square(acc: &mut [u8], term: &[u8], dtype: DType, last: bool) {
    if last {
        dispatch!(dtype, T => zip::<T>(acc, term, |a, t| a.add(t.mul(t)).root()));
    } else {
        dispatch!(dtype, T => zip::<T>(acc, term, |a, t| a.add(t.mul(t))));
    }
}

/// `np.sqrt(acc, acc, casting='unsafe')` for an array of `dtype`.
pub(crate) fn sqrt(acc: &mut [u8], dtype: DType) {
    dispatch!(dtype, T => map::<T>(acc, Element::root));
}

/// Runs `$body` with `$t` the element type of `$dtype`.
macro_rules! dispatch {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            DType::Bool => {
                type $t = Truth;
                $body
            }
            DType::UInt8 => {
                type $t = u8;
                $body
            }
            DType::Int8 => {
                type $t = i8;
                $body
            }
            DType::UInt16 => {
                type $t = u16;
                $body
            }
            DType::Int16 => {
                type $t = i16;
                $body
            }
            DType::UInt32 => {
                type $t = u32;
                $body
            }
            DType::Int32 => {
                type $t = i32;
                $body
            }
            DType::UInt64 => {
                type $t = u64;
                $body
            }
            DType::Int64 => {
                type $t = i64;
                $body
            }
            DType::Float16 => {
                type $t = f16;
                $body
            }
            DType::BFloat16 => {
                type $t = bf16;
                $body
            }
            DType::Float32 => {
                type $t = f32;
                $body
            }
            DType::Float64 => {
                type $t = f64;
                $body
            }
            DType::Complex64 => {
                type $t = Complex<f32>;
                $body
            }
            DType::Complex128 => {
                type $t = Complex<f64>;
                $body
            }
        }
    };
}
use dispatch;

fn map<T: Element>(acc: &mut [u8], f: impl Fn(T) -> T + Sync) {
    acc.par_chunks_mut(CHUNK * T::SIZE).for_each(|a| {
        for e in a.chunks_exact_mut(T::SIZE) {
            f(T::load(e)).store(e);
        }
    });
}

fn zip<T: Element>(acc: &mut [u8], term: &[u8], f: impl Fn(T, T) -> T + Sync) {
    acc.par_chunks_mut(CHUNK * T::SIZE)
        .zip(term.par_chunks(CHUNK * T::SIZE))
        .for_each(|(a, t)| {
            for (e, o) in a.chunks_exact_mut(T::SIZE).zip(t.chunks_exact(T::SIZE)) {
                f(T::load(e), T::load(o)).store(e);
            }
        });
}

/// An element of an output dtype with NumPy's arithmetic for it.
trait Element: Copy + Send + Sync {
    /// Bytes per element.
    const SIZE: usize;
    /// Reads a little-endian element.
    fn load(b: &[u8]) -> Self;
    /// Writes it little-endian.
    fn store(self, b: &mut [u8]);
    /// NumPy's `a + b`.
    fn add(self, other: Self) -> Self;
    /// NumPy's `a * b`.
    fn mul(self, other: Self) -> Self;
    /// NumPy's `np.sqrt(a, out=a, casting='unsafe')`.
    fn root(self) -> Self;
}

/// A bool element: NumPy's add is `or`, its multiply `and`, and the
/// float16 root of 0 or 1 is itself.
#[derive(Clone, Copy)]
struct Truth(u8);

impl Element for Truth {
    const SIZE: usize = 1;
    fn load(b: &[u8]) -> Truth {
        Truth(b[0])
    }
    fn store(self, b: &mut [u8]) {
        b[0] = self.0;
    }
    fn add(self, other: Truth) -> Truth {
        Truth(u8::from(self.0 != 0 || other.0 != 0))
    }
    fn mul(self, other: Truth) -> Truth {
        Truth(u8::from(self.0 != 0 && other.0 != 0))
    }
    fn root(self) -> Truth {
        Truth(u8::from(self.0 != 0))
    }
}

/// A little-endian primitive element with its three operations.
macro_rules! element {
    ($t:ty, |$a:ident, $b:ident| add $add:expr, mul $mul:expr, |$v:ident| root $root:expr) => {
        impl Element for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn load(b: &[u8]) -> $t {
                <$t>::from_le_bytes(b.try_into().expect("an element's bytes"))
            }
            fn store(self, b: &mut [u8]) {
                b.copy_from_slice(&self.to_le_bytes());
            }
            fn add(self, other: $t) -> $t {
                let ($a, $b) = (self, other);
                $add
            }
            fn mul(self, other: $t) -> $t {
                let ($a, $b) = (self, other);
                $mul
            }
            fn root(self) -> $t {
                let $v = self;
                $root
            }
        }
    };
}

/// Integers: wrapping add and multiply; the root in the float type NumPy
/// picks for the integer type, then the C cast back (from `f64`, which
/// holds every value of the narrower float types exactly).
macro_rules! integer {
    ($t:ty, |$v:ident| $root:expr) => {
        element!($t, |a, b| add a.wrapping_add(b), mul a.wrapping_mul(b), |$v| root $root);
    };
}

/// The float16 root of a small integer (NumPy's loop for 8-bit integers;
/// the integer is exact in float16, the root rounded once).
fn root_f16(v: f32) -> f64 {
    f64::from(f16::from_f32(v.sqrt()).to_f32())
}

integer!(i8, |v| c_i32(root_f16(f32::from(v))) as i8);
integer!(u8, |v| c_i32(root_f16(f32::from(v))) as u8);
integer!(i16, |v| c_i32(f64::from(f32::from(v).sqrt())) as i16);
integer!(u16, |v| c_i32(f64::from(f32::from(v).sqrt())) as u16);
integer!(i32, |v| c_i32(f64::from(v).sqrt()));
integer!(u32, |v| c_i64(f64::from(v).sqrt()) as u32);
integer!(i64, |v| c_i64((v as f64).sqrt()));
integer!(u64, |v| c_u64((v as f64).sqrt()));

// float32 and float64: one IEEE operation each.
element!(f32, |a, b| add a + b, mul a * b, |v| root v.sqrt());
element!(f64, |a, b| add a + b, mul a * b, |v| root v.sqrt());

/// 16-bit floats: each operation in float32, rounded once (for float16
/// the correctly rounded result, as NumPy computes it).
macro_rules! half_float {
    ($t:ty) => {
        impl Element for $t {
            const SIZE: usize = 2;
            fn load(b: &[u8]) -> $t {
                <$t>::from_bits(u16::from_le_bytes([b[0], b[1]]))
            }
            fn store(self, b: &mut [u8]) {
                b.copy_from_slice(&self.to_bits().to_le_bytes());
            }
            fn add(self, other: $t) -> $t {
                <$t>::from_f32(self.to_f32() + other.to_f32())
            }
            fn mul(self, other: $t) -> $t {
                <$t>::from_f32(self.to_f32() * other.to_f32())
            }
            fn root(self) -> $t {
                <$t>::from_f32(self.to_f32().sqrt())
            }
        }
    };
}

half_float!(f16);
half_float!(bf16);

/// Complex numbers: NumPy's complex multiply (its AVX2 loop on x86-64,
/// taken with and without NPY_DISABLE_CPU_FEATURES) is two fused
/// multiply-adds, `re = fma(a, c, -(b·d))`, `im = fma(a, d, b·c)`; its
/// complex square root is the C library's `csqrt`.
macro_rules! complex {
    ($t:ty, $csqrt:path) => {
        impl Element for Complex<$t> {
            const SIZE: usize = 2 * std::mem::size_of::<$t>();
            fn load(b: &[u8]) -> Complex<$t> {
                let half = Self::SIZE / 2;
                Complex::new(<$t>::load(&b[..half]), <$t>::load(&b[half..]))
            }
            fn store(self, b: &mut [u8]) {
                let half = Self::SIZE / 2;
                self.re.store(&mut b[..half]);
                self.im.store(&mut b[half..]);
            }
            fn add(self, other: Complex<$t>) -> Complex<$t> {
                Complex::new(self.re + other.re, self.im + other.im)
            }
            fn mul(self, other: Complex<$t>) -> Complex<$t> {
                let (a, b, c, d) = (self.re, self.im, other.re, other.im);
                Complex::new(a.mul_add(c, -(b * d)), a.mul_add(d, b * c))
            }
            fn root(self) -> Complex<$t> {
                $csqrt(self)
            }
        }
    };
}

complex!(f32, c_library::csqrtf);
complex!(f64, c_library::csqrt);

/// The C library's complex square roots, which NumPy's complex `sqrt`
/// calls (glibc's `csqrt` is not a short formula: its `hypot` is not
/// correctly rounded, and its scaling and special cases decide the last
/// bit), so tensorwire calls the same functions rather than writing them.
mod c_library {
    use num_complex::{Complex32, Complex64};

    unsafe extern "C" {
        // `double _Complex` / `float _Complex` are passed and returned as a
        // struct of two doubles / floats on x86-64 and aarch64, which is
        // how num-complex lays out `Complex<T>` (`#[repr(C)]`).
        #[link_name = "csqrt"]
        fn c_csqrt(z: Complex64) -> Complex64;
        #[link_name = "csqrtf"]
        fn c_csqrtf(z: Complex32) -> Complex32;
    }

    /// `csqrt(z)`.
    pub(super) fn csqrt(z: Complex64) -> Complex64 {
        // SAFETY: a pure function of its value argument.
        unsafe { c_csqrt(z) }
    }

    /// `csqrtf(z)`.
    pub(super) fn csqrtf(z: Complex32) -> Complex32 {
        // SAFETY: a pure function of its value argument.
        unsafe { c_csqrtf(z) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_i8(v: &[i8]) -> Vec<u8> {
        v.iter().map(|&x| x as u8).collect()
    }

    #[test]
    fn integers_wrap_like_numpy() {
        let mut acc = bytes_i8(&[100, -128, 5]);
        add(&mut acc, &bytes_i8(&[100, -1, -5]), DType::Int8);
        assert_eq!(acc, bytes_i8(&[-56, 127, 0]));
        let mut sq = bytes_i8(&[16, -12, 3]);
        square(&mut sq, DType::Int8);
        assert_eq!(sq, bytes_i8(&[0, -112, 9]));
    }

    #[test]
    fn integer_roots_truncate_and_negative_ones_cast_nan() {
        let mut v: Vec<u8> = [15i32, 16, -4]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        sqrt(&mut v, DType::Int32);
        let got: Vec<i32> = v
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(got, vec![3, 4, i32::MIN]);
    }

    #[test]
    fn half_adds_round_once_from_float32() {
        let a = f16::from_f32(2048.0);
        let b = f16::from_f32(1.0);
        let mut acc = a.to_bits().to_le_bytes().to_vec();
        add(&mut acc, &b.to_bits().to_le_bytes(), DType::Float16);
        // 2049 is a tie between 2048 and 2050 in float16: even wins.
        assert_eq!(
            f16::from_bits(u16::from_le_bytes([acc[0], acc[1]])).to_f32(),
            2048.0
        );
    }
}
