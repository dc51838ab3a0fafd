//! Narrow output types: the round trip of a result through an 8-, 16- or
//! 32-bit integer output, scalar and in AVX-512 lanes.

use crate::filter::cast::c_i32;

/// An output type whose C cast goes through a 32-bit truncation (bool and
/// the 8-, 16- and 32-bit integers): the cast keeps the low `bits` bits of
/// `(int32_t)v`, signed or not. The fused passes round their results
/// through it as they store them, in registers where a kernel can
/// ([`Narrow::round_trip_vector`]), instead of in a separate sweep over
/// the tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Narrow {
    bits: u32,
    signed: bool,
}

impl Narrow {
    /// The type of the low `bits` (8, 16 or 32) bits, signed or not.
    pub(super) const fn new(bits: u32, signed: bool) -> Self {
        assert!(bits == 8 || bits == 16 || bits == 32);
        Narrow { bits, signed }
    }

    /// `v` stored as this type and read back, as [`Store::round_trip`].
    #[inline(always)]
    pub(super) fn round_trip(self, v: f64) -> f64 {
        let t = c_i32(v);
        let unused = 32 - self.bits;
        let t = if unused == 0 {
            t
        } else if self.signed {
            (t << unused) >> unused
        } else {
            ((t as u32) << unused >> unused) as i32
        };
        f64::from(t)
    }

    /// The same for 8 lanes. `vcvttpd2dq` is exactly [`c_i32`]: it
    /// truncates, and gives `INT_MIN` for NaN and out-of-range values.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    pub(super) fn round_trip_vector(
        self,
        v: std::arch::x86_64::__m512d,
    ) -> std::arch::x86_64::__m512d {
        use std::arch::x86_64::*;
        let t = _mm512_cvttpd_epi32(v);
        let unused = _mm_cvtsi32_si128((32 - self.bits) as i32);
        let t = if self.bits == 32 {
            t
        } else if self.signed {
            _mm256_sra_epi32(_mm256_sll_epi32(t, unused), unused)
        } else {
            _mm256_srl_epi32(_mm256_sll_epi32(t, unused), unused)
        };
        _mm512_cvtepi32_pd(t)
    }
}

/// Rounds `results` through `round`, if set (the results of the paths
/// that do not round as they store).
#[inline(always)]
pub(super) fn round_results(round: Option<Narrow>, results: &mut [f64]) {
    if let Some(narrow) = round {
        for v in results {
            *v = narrow.round_trip(*v);
        }
    }
}

/// `acc` rounded through `round`, if set, for a kernel's store.
#[inline]
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) fn rounded(
    round: Option<Narrow>,
    acc: std::arch::x86_64::__m512d,
) -> std::arch::x86_64::__m512d {
    match round {
        Some(narrow) => narrow.round_trip_vector(acc),
        None => acc,
    }
}
