//! The hot loops compiled once per instruction set (plain, AVX2, AVX-512F),
//! and the choice among them by [`super::level`]'s run-time level.
//!
//! The portable loops ([`super::region`]'s, [`super::flat`]'s) are
//! `#[inline(always)]`, so each wrapper that [`compiled`] generates, with
//! its `#[target_feature]`, gets its own copy of them vectorised for that
//! instruction set; the AVX-512 kernels ([`super::avx512`]) are written
//! with intrinsics and chosen inside those loops. Wider vectors leave
//! results unchanged: every output is computed alone, in scipy's order.

use super::level::{Simd, simd};
use super::narrow::Narrow;
use super::{LaneFns, Region, Stencil, StoreFns, View};
use crate::filter::cast::{
    LBF16, LC64Im, LC64Re, LC128Im, LC128Re, LF16, LF32, LF64, LI8, LI16, LI32, LI64, LU8, LU16,
    LU32, LU64, Lane, Store,
};
use crate::tensor::DType;

/// A compiled [`super::region::region`] for one lane and form.
/// `spare` is scratch for the short-line path.
pub(super) type RegionFn = unsafe fn(View, Stencil, Region, &mut [f64], &mut Vec<f64>);

/// A compiled [`super::region::store_region`].
pub(super) type StoreFn = unsafe fn(*mut u8, (usize, usize, usize), Region, &[f64]);

/// A compiled [`super::region::round_trip`].
pub(super) type RoundTripFn = unsafe fn(&mut [f64]);

/// Defines module `$level`: the entry points of the hot loops compiled
/// with `#[target_feature(enable = $feature)]` (none for `plain`), and
/// [`LaneFns`] / [`StoreFns`] tables of them. One definition for the
/// three instruction sets, so the versions cannot drift apart.
macro_rules! compiled {
    ($level:ident $(, $feature:literal)?) => {
        mod $level {
            use crate::filter::cast::{LF64, Lane, Store};
            use crate::filter::correlate::narrow::Narrow;
            use crate::filter::correlate::region::{load_region, region, round_trip, store_region};
            use crate::filter::correlate::{LaneFns, Region, Stencil, StoreFns, View};

            /// [`region`] compiled for this instruction set.
            ///
            /// # Safety
            /// As for [`region`]; the CPU has the instruction set.
            $(#[target_feature(enable = $feature)])?
            unsafe fn region_here<L: Lane, const ANTI: bool>(
                src: View,
                st: Stencil,
                reg: Region,
                out: &mut [f64],
                spare: &mut Vec<f64>,
            ) {
                // SAFETY: forwarded from the caller.
                unsafe { region::<L, ANTI>(src, st, reg, out, spare) }
            }

            /// [`store_region`] compiled for this instruction set.
            ///
            /// # Safety
            /// As for [`store_region`]; the CPU has the instruction set.
            $(#[target_feature(enable = $feature)])?
            unsafe fn store_here<S: Store>(
                dst: *mut u8,
                shape: (usize, usize, usize),
                reg: Region,
                tile: &[f64],
            ) {
                // SAFETY: forwarded from the caller.
                unsafe { store_region::<S>(dst, shape, reg, tile) }
            }

            /// [`round_trip`] compiled for this instruction set.
            ///
            /// # Safety
            /// The CPU has the instruction set.
            $(#[target_feature(enable = $feature)])?
            unsafe fn round_trip_here<S: Store>(tile: &mut [f64]) {
                round_trip::<S>(tile)
            }

            /// The functions that read lane `L`.
            pub(in crate::filter::correlate) fn lane_fns<L: Lane>() -> LaneFns {
                LaneFns {
                    region: [region_here::<L, false>, region_here::<L, true>],
                    load: load_region::<L>,
                }
            }

            /// The functions that read and write lane `S`.
            pub(in crate::filter::correlate) fn store_fns<S: Store>(
                exact: bool,
                narrow: Option<Narrow>,
            ) -> StoreFns {
                let plain_f64 = std::any::TypeId::of::<S>()
                    == std::any::TypeId::of::<LF64>();
                StoreFns {
                    lane: lane_fns::<S>(),
                    store: store_here::<S>,
                    round_trip: round_trip_here::<S>,
                    exact,
                    narrow,
                    plain_f64,
                }
            }
        }
    };
}

compiled!(plain);
#[cfg(target_arch = "x86_64")]
compiled!(avx2, "avx2");
#[cfg(target_arch = "x86_64")]
compiled!(avx512, "avx512f");

/// The functions that read lane `L`, compiled for [`simd`]'s choice.
pub(super) fn lane_fns<L: Lane>() -> LaneFns {
    match simd() {
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => avx512::lane_fns::<L>(),
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => avx2::lane_fns::<L>(),
        _ => plain::lane_fns::<L>(),
    }
}

/// The functions that read and write lane `S`, compiled for [`simd`]'s
/// choice; `exact` and `narrow` as in [`StoreFns`].
fn store_fns<S: Store>(exact: bool, narrow: Option<Narrow>) -> StoreFns {
    match simd() {
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => avx512::store_fns::<S>(exact, narrow),
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => avx2::store_fns::<S>(exact, narrow),
        _ => plain::store_fns::<S>(exact, narrow),
    }
}

/// Reader for component `part` (0 real, 1 imaginary) of `dtype`.
pub(crate) fn reader(dtype: DType, part: usize) -> LaneFns {
    match (dtype, part) {
        (DType::Bool | DType::UInt8, _) => lane_fns::<LU8>(),
        (DType::Int8, _) => lane_fns::<LI8>(),
        (DType::UInt16, _) => lane_fns::<LU16>(),
        (DType::Int16, _) => lane_fns::<LI16>(),
        (DType::UInt32, _) => lane_fns::<LU32>(),
        (DType::Int32, _) => lane_fns::<LI32>(),
        (DType::UInt64, _) => lane_fns::<LU64>(),
        (DType::Int64, _) => lane_fns::<LI64>(),
        (DType::Float16, _) => lane_fns::<LF16>(),
        (DType::BFloat16, _) => lane_fns::<LBF16>(),
        (DType::Float32, _) => lane_fns::<LF32>(),
        (DType::Float64, _) => lane_fns::<LF64>(),
        (DType::Complex64, 0) => lane_fns::<LC64Re>(),
        (DType::Complex64, _) => lane_fns::<LC64Im>(),
        (DType::Complex128, 0) => lane_fns::<LC128Re>(),
        (DType::Complex128, _) => lane_fns::<LC128Im>(),
    }
}

/// Writer for component `part` of `dtype`; `None` for the 16-bit floats,
/// which the engine computes as float32.
pub(crate) fn writer(dtype: DType, part: usize) -> Option<StoreFns> {
    Some(match (dtype, part) {
        (DType::Bool | DType::UInt8, _) => store_fns::<LU8>(false, Some(Narrow::new(8, false))),
        (DType::Int8, _) => store_fns::<LI8>(false, Some(Narrow::new(8, true))),
        (DType::UInt16, _) => store_fns::<LU16>(false, Some(Narrow::new(16, false))),
        (DType::Int16, _) => store_fns::<LI16>(false, Some(Narrow::new(16, true))),
        (DType::UInt32, _) => store_fns::<LU32>(false, None),
        (DType::Int32, _) => store_fns::<LI32>(false, Some(Narrow::new(32, true))),
        (DType::UInt64, _) => store_fns::<LU64>(false, None),
        (DType::Int64, _) => store_fns::<LI64>(false, None),
        (DType::Float32, _) => store_fns::<LF32>(false, None),
        (DType::Float64, _) => store_fns::<LF64>(true, None),
        (DType::Complex64, 0) => store_fns::<LC64Re>(false, None),
        (DType::Complex64, _) => store_fns::<LC64Im>(false, None),
        (DType::Complex128, 0) => store_fns::<LC128Re>(true, None),
        (DType::Complex128, _) => store_fns::<LC128Im>(true, None),
        (DType::Float16 | DType::BFloat16, _) => return None,
    })
}
