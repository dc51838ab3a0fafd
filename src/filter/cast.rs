//! Element conversions: reading any dtype as `f64`, storing `f64` into an
//! output dtype with scipy's C casts, and NumPy's `astype` for the path that
//! filters no axis.
//!
//! scipy converts every input line to `double`, filters, and stores each
//! result with a plain C cast, `(type)value`. On x86-64 with gcc that is not
//! Rust's saturating `as`: integers of 16 bits or less are truncated through
//! a 32-bit `cvttsd2si` and keep the low bits, `uint32` goes through 64 bits,
//! `int32`/`int64` get `INT_MIN` for NaN or overflow, and `uint64` subtracts
//! 2^63 from large values first. The functions here reproduce those results
//! exactly (the golden cases pin each one), independent of the host.
//!
//! Elements are read and written through byte pointers with explicit
//! little-endian conversion, so tensor data needs no alignment and the code
//! is right on big-endian hosts too.

use half::{bf16, f16};

use crate::tensor::DType;

/// `(int32_t)v` as x86-64 computes it: truncation, or `INT_MIN` when the
/// result does not fit or `v` is NaN.
#[inline(always)]
pub(crate) fn c_i32(v: f64) -> i32 {
    let fits = v > -2147483649.0 && v < 2147483648.0;
    // Written as two selects around an unchecked conversion (of an in-range
    // value only) so it vectorises; Rust's saturating `as` does not.
    let x = if fits { v } else { 0.0 };
    // SAFETY: x truncates to a value in i32's range and is not NaN.
    let t = unsafe { x.to_int_unchecked::<i32>() };
    if fits { t } else { i32::MIN }
}

/// `(int64_t)v` as x86-64 computes it.
#[inline(always)]
pub(crate) fn c_i64(v: f64) -> i64 {
    let fits = (-9223372036854775808.0..9223372036854775808.0).contains(&v);
    let x = if fits { v } else { 0.0 };
    // SAFETY: x truncates to a value in i64's range and is not NaN.
    let t = unsafe { x.to_int_unchecked::<i64>() };
    if fits { t } else { i64::MIN }
}

/// `(uint64_t)v` as gcc compiles it for x86-64 without AVX-512: values from
/// 2^63 up are converted after subtracting 2^63 and get the top bit back;
/// NaN takes the first branch.
#[inline(always)]
pub(crate) fn c_u64(v: f64) -> u64 {
    const TWO63: f64 = 9223372036854775808.0;
    if v >= TWO63 {
        (c_i64(v - TWO63) as u64) ^ (1 << 63)
    } else {
        c_i64(v) as u64
    }
}

/// Reads one real component of an element as `f64`.
///
/// `STRIDE` is the distance in bytes between consecutive elements and
/// `OFFSET` the component's position in an element (non-zero for the
/// imaginary part of complex numbers).
pub(crate) trait Lane: Copy + Send + Sync + 'static {
    /// Bytes from one element to the next.
    const STRIDE: usize;
    /// Bytes from an element's start to this component.
    const OFFSET: usize;
    /// Reads the component at `p` (already offset).
    ///
    /// # Safety
    /// `p` must point to at least the component's size of readable bytes.
    unsafe fn load(p: *const u8) -> f64;
}

/// A lane that can also be written, with scipy's C cast.
pub(crate) trait Store: Lane {
    /// Writes `v` cast to the element type at `p` (already offset).
    ///
    /// # Safety
    /// `p` must point to the component's size of writable bytes.
    unsafe fn store(p: *mut u8, v: f64);
    /// `v` after a store and a load: what the next pass reads back.
    fn round_trip(v: f64) -> f64;
}

/// Reads element `index` of the component at `base`.
///
/// # Safety
/// Element `index` must lie inside the buffer `base` points into.
#[inline(always)]
pub(crate) unsafe fn load_at<L: Lane>(base: *const u8, index: usize) -> f64 {
    // SAFETY: the caller guarantees the element is in bounds.
    unsafe { L::load(base.add(index * L::STRIDE + L::OFFSET)) }
}

/// Writes element `index` of the component at `base`.
///
/// # Safety
/// Element `index` must lie inside the buffer `base` points into, and no one
/// else may access it concurrently.
#[inline(always)]
pub(crate) unsafe fn store_at<S: Store>(base: *mut u8, index: usize, v: f64) {
    // SAFETY: the caller guarantees the element is in bounds and exclusive.
    unsafe { S::store(base.add(index * S::STRIDE + S::OFFSET), v) }
}

macro_rules! lane {
    ($name:ident, $t:ty, $stride:expr, $offset:expr, |$x:ident| $to_f64:expr) => {
        #[doc = concat!("Lane of `", stringify!($t), "` components, ", stringify!($stride), " bytes apart.")]
        #[derive(Clone, Copy)]
        pub(crate) struct $name;
        impl Lane for $name {
            const STRIDE: usize = $stride;
            const OFFSET: usize = $offset;
            #[inline(always)]
            unsafe fn load(p: *const u8) -> f64 {
                // A typed unaligned read: a byte-array read compiles to a
                // call to memcpy per element inside the AVX2 functions.
                // SAFETY: the caller guarantees size_of::<$t>() readable bytes.
                let $x = <$t>::from_le(unsafe { p.cast::<$t>().read_unaligned() });
                $to_f64
            }
        }
    };
}

macro_rules! store {
    ($name:ident, $t:ty, |$v:ident| $cast:expr, |$x:ident| $bits:expr, $back:expr) => {
        impl Store for $name {
            #[inline(always)]
            unsafe fn store(p: *mut u8, $v: f64) {
                let $x = $cast;
                let bits = $bits;
                // A typed unaligned write, for the same reason as in `lane!`.
                // SAFETY: the caller guarantees size_of::<$t>() writable bytes.
                unsafe { p.cast::<$t>().write_unaligned(<$t>::to_le(bits)) }
            }
            #[inline(always)]
            fn round_trip($v: f64) -> f64 {
                let $x = $cast;
                $back
            }
        }
    };
}

lane!(LU8, u8, 1, 0, |x| f64::from(x));
lane!(LI8, i8, 1, 0, |x| f64::from(x));
lane!(LU16, u16, 2, 0, |x| f64::from(x));
lane!(LI16, i16, 2, 0, |x| f64::from(x));
lane!(LU32, u32, 4, 0, |x| f64::from(x));
lane!(LI32, i32, 4, 0, |x| f64::from(x));
lane!(LU64, u64, 8, 0, |x| x as f64);
lane!(LI64, i64, 8, 0, |x| x as f64);
lane!(LF16, u16, 2, 0, |x| f64::from(f16::from_bits(x).to_f32()));
lane!(LBF16, u16, 2, 0, |x| f64::from(bf16::from_bits(x).to_f32()));
lane!(LF32, u32, 4, 0, |x| f64::from(f32::from_bits(x)));
lane!(LF64, u64, 8, 0, |x| f64::from_bits(x));
lane!(LC64Re, u32, 8, 0, |x| f64::from(f32::from_bits(x)));
lane!(LC64Im, u32, 8, 4, |x| f64::from(f32::from_bits(x)));
lane!(LC128Re, u64, 16, 0, |x| f64::from_bits(x));
lane!(LC128Im, u64, 16, 8, |x| f64::from_bits(x));

// bool output is scipy's `(npy_bool)v`, an unsigned char: the low byte of a
// 32-bit truncation, so e.g. -1.0 stores 255. Bool input is read as that byte.
store!(LU8, u8, |v| c_i32(v) as u8, |x| x, f64::from(x));
store!(LI8, u8, |v| c_i32(v) as i8, |x| x as u8, f64::from(x));
store!(LU16, u16, |v| c_i32(v) as u16, |x| x, f64::from(x));
store!(LI16, u16, |v| c_i32(v) as i16, |x| x as u16, f64::from(x));
store!(LU32, u32, |v| c_i64(v) as u32, |x| x, f64::from(x));
store!(LI32, u32, |v| c_i32(v), |x| x as u32, f64::from(x));
store!(LU64, u64, |v| c_u64(v), |x| x, x as f64);
store!(LI64, u64, |v| c_i64(v), |x| x as u64, x as f64);
store!(LF32, u32, |v| v as f32, |x| x.to_bits(), f64::from(x));
store!(LF64, u64, |v| v, |x| x.to_bits(), x);
store!(LC64Re, u32, |v| v as f32, |x| x.to_bits(), f64::from(x));
store!(LC64Im, u32, |v| v as f32, |x| x.to_bits(), f64::from(x));
store!(LC128Re, u64, |v| v, |x| x.to_bits(), x);
store!(LC128Im, u64, |v| v, |x| x.to_bits(), x);

/// One element decoded for NumPy's `astype`, which casts directly between
/// types (int to int wraps, anything to bool tests for non-zero), unlike
/// scipy's filter path which always goes through `double`.
#[derive(Clone, Copy, Debug)]
enum Value {
    Int(i128),
    Float(f64),
    Complex(f64, f64),
}

fn decode(dtype: DType, b: &[u8]) -> Value {
    let f32_at = |o: usize| f32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let f64_at = |o: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[o..o + 8]);
        f64::from_le_bytes(a)
    };
    let u16_at = || u16::from_le_bytes([b[0], b[1]]);
    match dtype {
        DType::Bool | DType::UInt8 => Value::Int(i128::from(b[0])),
        DType::Int8 => Value::Int(i128::from(b[0] as i8)),
        DType::UInt16 => Value::Int(i128::from(u16_at())),
        DType::Int16 => Value::Int(i128::from(u16_at() as i16)),
        DType::UInt32 => Value::Int(i128::from(f32_at(0).to_bits())),
        DType::Int32 => Value::Int(i128::from(f32_at(0).to_bits() as i32)),
        DType::UInt64 => Value::Int(i128::from(f64_at(0).to_bits())),
        DType::Int64 => Value::Int(i128::from(f64_at(0).to_bits() as i64)),
        DType::Float16 => Value::Float(f64::from(f16::from_bits(u16_at()).to_f32())),
        DType::BFloat16 => Value::Float(f64::from(bf16::from_bits(u16_at()).to_f32())),
        DType::Float32 => Value::Float(f64::from(f32_at(0))),
        DType::Float64 => Value::Float(f64_at(0)),
        DType::Complex64 => Value::Complex(f64::from(f32_at(0)), f64::from(f32_at(4))),
        DType::Complex128 => Value::Complex(f64_at(0), f64_at(8)),
    }
}

/// Casts a real value to an integer type's bits: wrapping from integers,
/// C cast from floats.
fn to_int(v: Value, dtype: DType) -> i128 {
    match v {
        Value::Int(i) => i,
        Value::Float(f) | Value::Complex(f, _) => match dtype {
            DType::UInt32 => i128::from(c_i64(f)),
            DType::Int64 => i128::from(c_i64(f)),
            DType::UInt64 => i128::from(c_u64(f)),
            _ => i128::from(c_i32(f)),
        },
    }
}

fn to_f64(v: Value) -> f64 {
    match v {
        Value::Int(i) => i as f64,
        Value::Float(f) | Value::Complex(f, _) => f,
    }
}

fn to_f32(v: Value) -> f32 {
    match v {
        // One rounding from the integer, as C's `(float)` of an int64 does.
        Value::Int(i) => i as f32,
        Value::Float(f) | Value::Complex(f, _) => f as f32,
    }
}

fn encode(v: Value, dtype: DType, out: &mut [u8]) {
    match dtype {
        DType::Bool => {
            out[0] = u8::from(match v {
                Value::Int(i) => i != 0,
                Value::Float(f) => f != 0.0,
                Value::Complex(re, im) => re != 0.0 || im != 0.0,
            })
        }
        DType::UInt8 | DType::Int8 => out[0] = to_int(v, dtype) as u8,
        DType::UInt16 | DType::Int16 => {
            out.copy_from_slice(&(to_int(v, dtype) as u16).to_le_bytes())
        }
        DType::UInt32 | DType::Int32 => {
            out.copy_from_slice(&(to_int(v, dtype) as u32).to_le_bytes())
        }
        DType::UInt64 | DType::Int64 => {
            out.copy_from_slice(&(to_int(v, dtype) as u64).to_le_bytes())
        }
        // tensorwire computes 16-bit floats through float32.
        DType::Float16 => out.copy_from_slice(&f16::from_f32(to_f32(v)).to_bits().to_le_bytes()),
        DType::BFloat16 => out.copy_from_slice(&bf16::from_f32(to_f32(v)).to_bits().to_le_bytes()),
        DType::Float32 => out.copy_from_slice(&to_f32(v).to_le_bytes()),
        DType::Float64 => out.copy_from_slice(&to_f64(v).to_le_bytes()),
        DType::Complex64 | DType::Complex128 => {
            let (re, im) = match v {
                Value::Complex(re, im) => (re, im),
                other => (to_f64(other), 0.0),
            };
            if dtype == DType::Complex64 {
                let re32 = match v {
                    Value::Int(i) => i as f32,
                    _ => re as f32,
                };
                out[..4].copy_from_slice(&re32.to_le_bytes());
                out[4..].copy_from_slice(&(im as f32).to_le_bytes());
            } else {
                out[..8].copy_from_slice(&re.to_le_bytes());
                out[8..].copy_from_slice(&im.to_le_bytes());
            }
        }
    }
}

/// NumPy's `output[...] = input` for an output of another dtype, which is
/// what scipy returns when no axis is filtered (complex to real keeps the
/// real part, as NumPy does with a warning).
pub(crate) fn astype(data: &[u8], from: DType, to: DType) -> Vec<u8> {
    let (isz, osz) = (from.itemsize(), to.itemsize());
    let mut out = vec![0u8; data.len() / isz * osz];
    for (src, dst) in data.chunks_exact(isz).zip(out.chunks_exact_mut(osz)) {
        encode(decode(from, src), to, dst);
    }
    out
}

/// Converts float32 data to float16 or bfloat16, rounding to nearest even.
pub(crate) fn narrow_f32(data: &[u8], to: DType, out: &mut [u8]) {
    for (src, dst) in data.chunks_exact(4).zip(out.chunks_exact_mut(2)) {
        let v = f32::from_le_bytes([src[0], src[1], src[2], src[3]]);
        let bits = match to {
            DType::BFloat16 => bf16::from_f32(v).to_bits(),
            _ => f16::from_f32(v).to_bits(),
        };
        dst.copy_from_slice(&bits.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_casts_match_x86_64_gcc_not_rust_as() {
        assert_eq!(c_i32(f64::NAN), i32::MIN);
        assert_eq!(c_i32(1e30), i32::MIN);
        assert_eq!(c_i32(-1e30), i32::MIN);
        assert_eq!(c_i32(-2.9), -2);
        assert_eq!(c_i32(2147483647.9), i32::MAX);
        assert_eq!(c_i64(f64::NAN), i64::MIN);
        assert_eq!(c_u64(f64::NAN), 1 << 63);
        assert_eq!(c_u64(-1.5), u64::MAX);
        assert_eq!(c_u64(1e30), 0);
        assert_eq!(c_u64(9223372036854779904.0), 9223372036854779904);
        // Values printed by scipy for output=uint8/uint32/bool from -1.0, 256, 2**32+7, NaN.
        assert_eq!(LU8::round_trip(-1.0), 255.0);
        assert_eq!(LU8::round_trip(256.0), 0.0);
        assert_eq!(LU32::round_trip(4294967303.0), 7.0);
        assert_eq!(LU32::round_trip(f64::NAN), 0.0);
        assert_eq!(LI8::round_trip(200.0), -56.0);
    }

    #[test]
    fn astype_wraps_integers_and_tests_bool_for_nonzero() {
        let data: Vec<u8> = [300i64, -1, 1 << 40]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let out = astype(&data, DType::Int64, DType::Int8);
        assert_eq!(out, vec![44, 255, 0]);
        let data: Vec<u8> = [f64::NAN, -1.0, 0.0, 0.5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(astype(&data, DType::Float64, DType::Bool), vec![1, 1, 0, 1]);
    }
}
