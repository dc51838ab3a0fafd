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
const CHUNK: usize = 1 << 15;

/// `acc += term`, element by element, as NumPy adds two arrays of `dtype`.
pub(crate) fn add(acc: &mut [u8], term: &[u8], dtype: DType) {
    zip_elements(acc, term, dtype, |a, t| binary(dtype, Op::Add, a, t));
}

/// `buf *= buf`, element by element, as NumPy squares an array of `dtype`.
pub(crate) fn square(buf: &mut [u8], dtype: DType) {
    map_elements(buf, dtype, |a| binary(dtype, Op::Mul, a, a));
}

/// `np.sqrt(buf, buf, casting='unsafe')` for an array of `dtype`.
pub(crate) fn sqrt(buf: &mut [u8], dtype: DType) {
    map_elements(buf, dtype, |a| sqrt_one(dtype, a));
}

/// An element's bits, whatever its dtype (complex: both parts).
type Bits = u128;

#[derive(Clone, Copy)]
enum Op {
    Add,
    Mul,
}

fn map_elements(buf: &mut [u8], dtype: DType, f: impl Fn(Bits) -> Bits + Sync) {
    let size = dtype.itemsize();
    buf.par_chunks_mut(CHUNK * size).for_each(|chunk| {
        for e in chunk.chunks_exact_mut(size) {
            let v = f(read(e));
            write(e, v);
        }
    });
}

fn zip_elements(acc: &mut [u8], term: &[u8], dtype: DType, f: impl Fn(Bits, Bits) -> Bits + Sync) {
    let size = dtype.itemsize();
    acc.par_chunks_mut(CHUNK * size)
        .zip(term.par_chunks(CHUNK * size))
        .for_each(|(a, t)| {
            for (e, o) in a.chunks_exact_mut(size).zip(t.chunks_exact(size)) {
                let v = f(read(e), read(o));
                write(e, v);
            }
        });
}

fn read(e: &[u8]) -> Bits {
    let mut b = [0u8; 16];
    b[..e.len()].copy_from_slice(e);
    u128::from_le_bytes(b)
}

fn write(e: &mut [u8], v: Bits) {
    let n = e.len();
    e.copy_from_slice(&v.to_le_bytes()[..n]);
}

/// One element of `a op b` in `dtype`, on raw bits.
fn binary(dtype: DType, op: Op, a: Bits, b: Bits) -> Bits {
    macro_rules! int {
        ($t:ty) => {{
            let (x, y) = (a as $t, b as $t);
            let r = match op {
                Op::Add => x.wrapping_add(y),
                Op::Mul => x.wrapping_mul(y),
            };
            Bits::from(r)
        }};
    }
    let f32_op = |x: f32, y: f32| match op {
        Op::Add => x + y,
        Op::Mul => x * y,
    };
    let f64_op = |x: f64, y: f64| match op {
        Op::Add => x + y,
        Op::Mul => x * y,
    };
    match dtype {
        // NumPy's bool add is `or`, its multiply `and`.
        DType::Bool => Bits::from(match op {
            Op::Add => a != 0 || b != 0,
            Op::Mul => a != 0 && b != 0,
        }),
        DType::UInt8 | DType::Int8 => int!(u8),
        DType::UInt16 | DType::Int16 => int!(u16),
        DType::UInt32 | DType::Int32 => int!(u32),
        DType::UInt64 | DType::Int64 => int!(u64),
        DType::Float16 => {
            let r = f32_op(half_f32(a), half_f32(b));
            Bits::from(f16::from_f32(r).to_bits())
        }
        DType::BFloat16 => {
            let r = f32_op(bf16_f32(a), bf16_f32(b));
            Bits::from(bf16::from_f32(r).to_bits())
        }
        DType::Float32 => Bits::from(f32_op(f32_of(a), f32_of(b)).to_bits()),
        DType::Float64 => Bits::from(f64_op(f64_of(a), f64_of(b)).to_bits()),
        // NumPy's complex multiply (its AVX2 loop on x86-64, taken with
        // and without NPY_DISABLE_CPU_FEATURES): two fused multiply-adds,
        // `re = fma(a, c, -(b·d))`, `im = fma(a, d, b·c)`.
        DType::Complex64 => {
            let (ar, ai) = (f32_of(a), f32_of(a >> 32));
            let (br, bi) = (f32_of(b), f32_of(b >> 32));
            let (r, i) = match op {
                Op::Add => (ar + br, ai + bi),
                Op::Mul => (ar.mul_add(br, -(ai * bi)), ar.mul_add(bi, ai * br)),
            };
            Bits::from(r.to_bits()) | (Bits::from(i.to_bits()) << 32)
        }
        DType::Complex128 => {
            let (ar, ai) = (f64_of(a), f64_of(a >> 64));
            let (br, bi) = (f64_of(b), f64_of(b >> 64));
            let (r, i) = match op {
                Op::Add => (ar + br, ai + bi),
                Op::Mul => (ar.mul_add(br, -(ai * bi)), ar.mul_add(bi, ai * br)),
            };
            Bits::from(r.to_bits()) | (Bits::from(i.to_bits()) << 64)
        }
    }
}

/// One element of `np.sqrt(x, out=x, casting='unsafe')` in `dtype`.
fn sqrt_one(dtype: DType, a: Bits) -> Bits {
    // The square root in float16 (NumPy's loop for 8-bit integers and
    // float16): computed in float32 and rounded once, which is the
    // correctly rounded float16 root.
    let sqrt_f16 = |x: f32| f16::from_f32(f16::from_f32(x).to_f32().sqrt()).to_f32();
    match dtype {
        DType::Bool => Bits::from(a != 0),
        DType::Int8 => Bits::from(c_i32(f64::from(sqrt_f16(f32::from(a as u8 as i8)))) as u8),
        DType::UInt8 => Bits::from(c_i32(f64::from(sqrt_f16(f32::from(a as u8)))) as u8),
        DType::Int16 => Bits::from(c_i32(f64::from(f32::from(a as u16 as i16).sqrt())) as u16),
        DType::UInt16 => Bits::from(c_i32(f64::from(f32::from(a as u16).sqrt())) as u16),
        DType::Int32 => Bits::from(c_i32(f64::from(a as u32 as i32).sqrt()) as u32),
        DType::UInt32 => Bits::from(c_i64(f64::from(a as u32).sqrt()) as u32),
        DType::Int64 => Bits::from(c_i64((a as u64 as i64 as f64).sqrt()) as u64),
        DType::UInt64 => Bits::from(c_u64((a as u64 as f64).sqrt())),
        DType::Float16 => Bits::from(f16::from_f32(half_f32(a).sqrt()).to_bits()),
        DType::BFloat16 => Bits::from(bf16::from_f32(bf16_f32(a).sqrt()).to_bits()),
        DType::Float32 => Bits::from(f32_of(a).sqrt().to_bits()),
        DType::Float64 => Bits::from(f64_of(a).sqrt().to_bits()),
        DType::Complex64 => {
            let z = c_library::csqrtf(f32_of(a), f32_of(a >> 32));
            Bits::from(z.re.to_bits()) | (Bits::from(z.im.to_bits()) << 32)
        }
        DType::Complex128 => {
            let z = c_library::csqrt(f64_of(a), f64_of(a >> 64));
            Bits::from(z.re.to_bits()) | (Bits::from(z.im.to_bits()) << 64)
        }
    }
}

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

    /// `csqrt(re + i·im)`.
    pub(super) fn csqrt(re: f64, im: f64) -> Complex64 {
        // SAFETY: a pure function of its value argument.
        unsafe { c_csqrt(Complex64::new(re, im)) }
    }

    /// `csqrtf(re + i·im)`.
    pub(super) fn csqrtf(re: f32, im: f32) -> Complex32 {
        // SAFETY: a pure function of its value argument.
        unsafe { c_csqrtf(Complex32::new(re, im)) }
    }
}

fn half_f32(a: Bits) -> f32 {
    f16::from_bits(a as u16).to_f32()
}

fn bf16_f32(a: Bits) -> f32 {
    bf16::from_bits(a as u16).to_f32()
}

fn f32_of(a: Bits) -> f32 {
    f32::from_bits(a as u32)
}

fn f64_of(a: Bits) -> f64 {
    f64::from_bits(a as u64)
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
