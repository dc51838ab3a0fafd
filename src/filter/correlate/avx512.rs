//! The AVX-512F kernels, written with intrinsics: [`columns`] (down wide
//! rows, the source rows in registers), [`near`] (along short reaches, one
//! load per 8 outputs) and [`interleaved`] (many short lines of float64).
//! Each computes exactly [`super::flat::flat`]'s arithmetic, in scipy's
//! order; [`super::region::region`] picks them.

use super::Stencil;
use super::flat::flat;
use super::level::{Simd, simd};
use super::narrow::{Narrow, round_results, rounded};
use crate::filter::boundary::source_index;
use crate::filter::cast::{LF64, Lane, load_at};

/// Largest radius [`columns`] handles: its window of `2r + 1` source rows,
/// `r + 1` weights and the accumulator must fit in AVX-512's 32 registers.
pub(super) const COLUMN_RADIUS: usize = 8;

/// The interior rows of a pass down wide rows (`stride` elements apart),
/// 8 columns at a time with AVX-512, each source row loaded once per
/// group of columns: a window of the `2R + 1` source rows around the
/// output row lives in vector registers, as a ring that moves one row per
/// output, so an output costs one load instead of `2R + 1` (and no band
/// copy, see [`region`]). The window is a ring indexed by the step of a
/// `2R + 1`-fold unrolled loop, so every index is a constant and the ring
/// stays in registers. Arithmetic as in [`flat`].
///
/// `first` is the element of source row `-R` (relative to the first output
/// row) at the first column; outputs go to `dst`, rows `dst_stride` apart.
///
/// # Safety
/// The CPU must have AVX-512F. Source rows `0 .. rows + 2R` (from `first`)
/// and columns `0 .. 8·groups` must be readable; `dst` must be writable for
/// `rows` rows of `8·groups`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn columns<L: Lane, const ANTI: bool, const R: usize>(
    src: *const u8,
    first: usize,
    stride: usize,
    groups: usize,
    rows: usize,
    k: &[f64],
    round: Option<Narrow>,
    dst: *mut f64,
    dst_stride: usize,
) {
    use std::arch::x86_64::*;
    const { assert!(R >= 1 && R <= COLUMN_RADIUS) };
    assert_eq!(k.len(), R + 1);
    let mut kv = [_mm512_setzero_pd(); COLUMN_RADIUS + 1];
    for (v, &w) in kv.iter_mut().zip(k) {
        *v = _mm512_set1_pd(w);
    }
    let len = 2 * R + 1;
    for g in 0..groups {
        let col = first + 8 * g;
        // Eight consecutive elements of source row `row`, as f64.
        let load = |row: usize| {
            // The same row a few groups on (hardware prefetchers miss
            // these short walks down rows far apart): 2–5 % faster.
            let ahead = src.wrapping_add((col + row * stride) * L::STRIDE + PREFETCH_BYTES);
            _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
            let mut v = [0.0f64; 8];
            for (j, x) in v.iter_mut().enumerate() {
                // SAFETY: the caller guarantees the rows and columns exist.
                *x = unsafe { load_at::<L>(src, col + row * stride + j) };
            }
            // SAFETY: `v` holds 8 f64.
            unsafe { _mm512_loadu_pd(v.as_ptr()) }
        };
        let out = |t: usize| {
            // SAFETY: row t < rows, columns 8g .. 8g + 8 are the caller's.
            unsafe { dst.add(t * dst_stride + 8 * g) }
        };
        // Window position `j` (source row t + j for output row t) sits in
        // ring slot (S + j) mod (2R + 1) at step S of the unrolled loop.
        let mut ring = [_mm512_setzero_pd(); 2 * COLUMN_RADIUS + 1];
        for (j, slot) in ring.iter_mut().enumerate().take(2 * R) {
            *slot = load(j);
        }
        let mut t = 0;
        'rows: loop {
            macro_rules! steps {
                ($($step:literal)*) => {$(
                    if $step < len {
                        if t == rows {
                            break 'rows;
                        }
                        let at = |j: usize| ($step + j) % len;
                        ring[at(2 * R)] = load(t + 2 * R);
                        let mut acc = _mm512_mul_pd(ring[at(R)], kv[0]);
                        for m in (1..=R).rev() {
                            let (a, b) = (ring[at(R - m)], ring[at(R + m)]);
                            // Spelled out: through `tap` this loop ran 40 %
                            // slower (float64 4096², axis 0).
                            let pair = if ANTI { _mm512_sub_pd(a, b) } else { _mm512_add_pd(a, b) };
                            acc = _mm512_add_pd(acc, _mm512_mul_pd(pair, kv[m]));
                        }
                        // SAFETY: see `out`.
                        unsafe { _mm512_storeu_pd(out(t), rounded(round, acc)) };
                        t += 1;
                    }
                )*};
            }
            steps!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
        }
    }
}

/// How far along a source row [`columns`] prefetches, in bytes (4 groups
/// of float64, 8 of int32).
pub(super) const PREFETCH_BYTES: usize = 256;

/// `acc + (a ± b)·k`, one tap of scipy's order (minus when `ANTI`), in
/// 8 lanes.
#[inline]
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) fn tap<const ANTI: bool>(
    acc: std::arch::x86_64::__m512d,
    a: std::arch::x86_64::__m512d,
    b: std::arch::x86_64::__m512d,
    k: std::arch::x86_64::__m512d,
) -> std::arch::x86_64::__m512d {
    use std::arch::x86_64::*;
    let pair = if ANTI {
        _mm512_sub_pd(a, b)
    } else {
        _mm512_add_pd(a, b)
    };
    _mm512_add_pd(acc, _mm512_mul_pd(pair, k))
}

/// The 8 elements straddling two consecutive vectors: the last 4 of
/// `lo` and the first 4 of `hi`.
#[inline]
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) fn straddle(
    lo: std::arch::x86_64::__m512d,
    hi: std::arch::x86_64::__m512d,
) -> std::arch::x86_64::__m512d {
    use std::arch::x86_64::*;
    _mm512_castsi512_pd(_mm512_alignr_epi64::<4>(
        _mm512_castpd_si512(hi),
        _mm512_castpd_si512(lo),
    ))
}

/// Rows per sub-block of a first pass down rows wide enough for
/// [`columns`]: each group of columns then reads `COLUMN_ROWS + 2r` source
/// rows for `COLUMN_ROWS` outputs. Measured for float64 at radius 8 (ms for
/// both passes of 4096×4096, 16384×1024, 32768×512, 2048×8192): 8 rows
/// 24.8/27.7/29.8/25.1, 16 rows 21.8/22.2/27.0/25.1, 32 rows
/// 36.4/30.8/27.8/39.8 (more rows than this push the source rows out of L2).
pub(super) const COLUMN_ROWS: usize = 16;

/// Narrower rows keep the first pass's larger sub-blocks.
pub(super) const COLUMN_MIN_WIDTH: usize = 128;

/// Whether [`columns`] runs the interior of wide passes of radius `r`.
pub(super) fn columns_apply(r: usize) -> bool {
    (1..=COLUMN_RADIUS).contains(&r) && simd() == Simd::Avx512
}

/// A compiled [`columns`]: `(src, first, stride, groups, rows, weights,
/// round, dst, dst_stride)`.
#[cfg(target_arch = "x86_64")]
pub(super) type ColumnsFn =
    unsafe fn(*const u8, usize, usize, usize, usize, &[f64], Option<Narrow>, *mut f64, usize);

/// [`columns`] compiled for radius `r`, if it has a version for it.
#[cfg(target_arch = "x86_64")]
pub(super) fn columns_fn<L: Lane, const ANTI: bool>(r: usize) -> Option<ColumnsFn> {
    Some(match r {
        1 => columns::<L, ANTI, 1>,
        2 => columns::<L, ANTI, 2>,
        3 => columns::<L, ANTI, 3>,
        4 => columns::<L, ANTI, 4>,
        5 => columns::<L, ANTI, 5>,
        6 => columns::<L, ANTI, 6>,
        7 => columns::<L, ANTI, 7>,
        8 => columns::<L, ANTI, 8>,
        _ => return None,
    })
}

/// Farthest neighbour (radius × stride, in elements) [`near`] handles: the
/// sources of 8 consecutive outputs then all lie in the vectors before,
/// at and after them.
pub(super) const NEAR_REACH: usize = 8;

/// A [`flat`] pass of float64 whose farthest neighbour is at most
/// [`NEAR_REACH`] elements away (along the last axis, or along the pixels
/// of a row of colour channels), with AVX-512: each vector of 8 outputs
/// loads only the next vector, and shifts each tap's sources out of the
/// previous, current and next vectors with one permute each. [`flat`]
/// loads every tap's sources unaligned instead, most of those loads
/// straddle two cache lines, and they bound its speed. Arithmetic as in
/// [`flat`]. The vectors whose neighbours would reach outside
/// `start - reach .. start + len + reach` go through [`flat`].
///
/// # Safety
/// The CPU must have AVX-512F; `1 <= R` and `R · stride <= NEAR_REACH`;
/// `k.len() == R + 1`; elements `start - R·stride .. start + out.len() +
/// R·stride` must be readable at `src` (aligned or not).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn near<const ANTI: bool, const R: usize>(
    src: *const f64,
    start: usize,
    stride: usize,
    k: &[f64],
    round: Option<Narrow>,
    out: &mut [f64],
) {
    use std::arch::x86_64::*;
    const { assert!(R >= 1 && R <= NEAR_REACH) };
    assert_eq!(k.len(), R + 1);
    let reach = R * stride;
    debug_assert!(reach <= NEAR_REACH);
    let len = out.len();
    // Vectors q (outputs 8q .. 8q + 8) whose three vectors, elements
    // 8q - 8 .. 8q + 16 from `start`, lie inside the readable range.
    let q0 = usize::from(reach < 8);
    let q1 = if len + reach >= 16 {
        ((len + reach - 16) / 8 + 1).min(len / 8)
    } else {
        0
    };
    let base = src.cast::<u8>();
    if q1 <= q0 {
        // SAFETY: forwarded from the caller.
        unsafe { flat::<LF64, ANTI>(base, start, stride, k, out) };
        round_results(round, out);
        return;
    }
    let (head, rest) = out.split_at_mut(8 * q0);
    let (mid, tail) = rest.split_at_mut(8 * (q1 - q0));
    // SAFETY: forwarded from the caller, for parts of the outputs.
    unsafe {
        flat::<LF64, ANTI>(base, start, stride, k, head);
        flat::<LF64, ANTI>(base, start + 8 * q1, stride, k, tail);
    }
    round_results(round, head);
    round_results(round, tail);
    // Tap m's sources for lane j: element 8 + j - m·stride of (previous,
    // current) on the left, j + m·stride of (current, next) on the right.
    let mut left = [_mm512_setzero_si512(); R];
    let mut right = [_mm512_setzero_si512(); R];
    for m in 1..=R {
        let s = (m * stride) as i64;
        let l: [i64; 8] = std::array::from_fn(|j| 8 + j as i64 - s);
        let r: [i64; 8] = std::array::from_fn(|j| j as i64 + s);
        // SAFETY: both arrays hold 8 i64.
        unsafe {
            left[m - 1] = _mm512_loadu_si512(l.as_ptr().cast());
            right[m - 1] = _mm512_loadu_si512(r.as_ptr().cast());
        }
    }
    let kv: [__m512d; R] = std::array::from_fn(|m| _mm512_set1_pd(k[m + 1]));
    let k0 = _mm512_set1_pd(k[0]);
    // SAFETY (loads): vector q's elements start + 8q - 8 .. start + 8q + 16
    // are readable for q0 <= q < q1 (above).
    let at = start + 8 * q0;
    let load = |e: usize| {
        debug_assert!(e + reach >= start && e + 8 <= start + len + reach);
        unsafe { _mm512_loadu_pd(src.add(e)) }
    };
    let mut prev = load(at - 8);
    let mut cur = load(at);
    for (q, o) in mid.chunks_exact_mut(8).enumerate() {
        let next = load(at + 8 * q + 8);
        let mut acc = _mm512_mul_pd(cur, k0);
        for m in (0..R).rev() {
            let a = _mm512_permutex2var_pd(prev, left[m], cur);
            let b = _mm512_permutex2var_pd(cur, right[m], next);
            acc = tap::<ANTI>(acc, a, b, kv[m]);
        }
        // SAFETY: `o` is 8 outputs.
        unsafe { _mm512_storeu_pd(o.as_mut_ptr(), rounded(round, acc)) };
        (prev, cur) = (cur, next);
    }
}

/// A compiled [`near`]: `(src, start, stride, weights, round, out)`.
#[cfg(target_arch = "x86_64")]
pub(super) type NearFn = unsafe fn(*const f64, usize, usize, &[f64], Option<Narrow>, &mut [f64]);

/// [`near`] for radius `r` and `stride`, when it applies: float64 lanes,
/// AVX-512, and a farthest neighbour at most [`NEAR_REACH`] away.
#[cfg(target_arch = "x86_64")]
pub(super) fn near_fn<L: Lane, const ANTI: bool>(r: usize, stride: usize) -> Option<NearFn> {
    if std::any::TypeId::of::<L>() != std::any::TypeId::of::<LF64>()
        || simd() != Simd::Avx512
        || r * stride > NEAR_REACH
    {
        return None;
    }
    Some(match r {
        1 => near::<ANTI, 1>,
        2 => near::<ANTI, 2>,
        3 => near::<ANTI, 3>,
        4 => near::<ANTI, 4>,
        5 => near::<ANTI, 5>,
        6 => near::<ANTI, 6>,
        7 => near::<ANTI, 7>,
        8 => near::<ANTI, 8>,
        _ => return None,
    })
}

/// Longest line [`interleaved`] handles: the lines of 8 consecutive
/// outputs must fit in the 16 elements of two AVX-512 registers.
pub(super) const INTERLEAVED_LINE: usize = 5;

/// The permute tables of [`interleaved`]: for phase, tap and side, each
/// lane's element in the 16-element window and which lanes have one.
pub(super) struct Tables<'a> {
    index: &'a [[[[i64; 8]; 2]; INTERLEAVED_RADIUS + 1]; INTERLEAVED_LINE],
    present: &'a [[[u8; 2]; INTERLEAVED_RADIUS + 1]; INTERLEAVED_LINE],
    blend: bool,
}

/// A compiled [`interleaved_run`].
#[cfg(target_arch = "x86_64")]
pub(super) type InterleavedRunFn =
    unsafe fn(*const f64, &mut [f64], &Tables, f64, &[f64], usize, usize) -> usize;

/// [`interleaved_run`] for a period of `period` vectors and radius `r`,
/// for the cases whose tables fit in registers.
#[cfg(target_arch = "x86_64")]
pub(super) fn interleaved_run_fn<const ANTI: bool>(
    period: usize,
    r: usize,
) -> Option<InterleavedRunFn> {
    Some(match (period, r) {
        (1, 1) => interleaved_run::<ANTI, 1, 1, 4>,
        (1, 2) => interleaved_run::<ANTI, 1, 2, 4>,
        (1, 3) => interleaved_run::<ANTI, 1, 3, 4>,
        (1, 4) => interleaved_run::<ANTI, 1, 4, 4>,
        (3, 1) => interleaved_run::<ANTI, 3, 1, 3>,
        (3, 2) => interleaved_run::<ANTI, 3, 2, 3>,
        _ => return None,
    })
}

/// The main loop of [`interleaved`] for `P` phases and radius `R`: `V`
/// vectors a step (a multiple of `P`, from a vector of phase 0), so each
/// vector's phase, and with it its permute indices, is fixed by its place
/// in the step, and the indices, masks and weights stay in registers
/// instead of being loaded for every tap of every vector. Returns the
/// first vector it did not compute.
///
/// # Safety
/// As [`interleaved`]; `first` is a multiple of `P` and at least 1, and
/// vectors `first - 1 .. last + 1` lie inside `src`'s `out.len()` elements.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn interleaved_run<
    const ANTI: bool,
    const P: usize,
    const R: usize,
    const V: usize,
>(
    src: *const f64,
    out: &mut [f64],
    tables: &Tables,
    cval: f64,
    k: &[f64],
    first: usize,
    last: usize,
) -> usize {
    use std::arch::x86_64::*;
    const { assert!(V.is_multiple_of(P) && R >= 1 && R <= INTERLEAVED_RADIUS) };
    assert_eq!(k.len(), R + 1);
    debug_assert!(first >= 1 && first.is_multiple_of(P));
    let mut v = first;
    if v + V > last {
        return v;
    }
    // SAFETY (table loads): each row holds 8 i64.
    let index: [[[__m512i; 2]; R]; P] = std::array::from_fn(|ph| {
        std::array::from_fn(|m| {
            std::array::from_fn(|side| unsafe {
                _mm512_loadu_si512(tables.index[ph][m + 1][side].as_ptr().cast())
            })
        })
    });
    let present = tables.present;
    let kv: [__m512d; R] = std::array::from_fn(|m| _mm512_set1_pd(k[m + 1]));
    let k0 = _mm512_set1_pd(k[0]);
    let cval = _mm512_set1_pd(cval);
    // SAFETY (callers): the vector lies inside (see the function's contract).
    let vector = |v: usize| unsafe { _mm512_loadu_pd(src.add(8 * v)) };
    let (mut prev, mut cur) = (vector(v - 1), vector(v));
    while v + V <= last {
        let next: [__m512d; V] = std::array::from_fn(|u| vector(v + u + 1));
        // Vectors v - 1 .. v + V + 1 by their place from v - 1.
        let around = |j: usize| match j {
            0 => prev,
            1 => cur,
            _ => next[j - 2],
        };
        // The window 8v - 4 .. 8v + 12 of each vector, as two vectors.
        let lo: [__m512d; V] = std::array::from_fn(|u| straddle(around(u), around(u + 1)));
        let hi: [__m512d; V] = std::array::from_fn(|u| straddle(around(u + 1), around(u + 2)));
        let mut acc: [__m512d; V] = std::array::from_fn(|u| _mm512_mul_pd(around(u + 1), k0));
        (prev, cur) = (next[V - 2], next[V - 1]);
        for m in (0..R).rev() {
            for u in 0..V {
                let ph = u % P;
                let pick = |side: usize| {
                    let x = _mm512_permutex2var_pd(lo[u], index[ph][m][side], hi[u]);
                    if tables.blend {
                        _mm512_mask_blend_pd(present[ph][m + 1][side], cval, x)
                    } else {
                        x
                    }
                };
                let (a, b) = (pick(0), pick(1));
                acc[u] = tap::<ANTI>(acc[u], a, b, kv[m]);
            }
        }
        for (u, a) in acc.into_iter().enumerate() {
            // SAFETY: vector v + u < last <= out.len() / 8.
            unsafe { _mm512_storeu_pd(out.as_mut_ptr().add(8 * (v + u)), a) };
        }
        v += V;
    }
    v
}

/// Largest radius [`interleaved`] handles (its index tables are on the stack).
pub(super) const INTERLEAVED_RADIUS: usize = 16;

/// A float64 block of many short lines along the last axis (the colour
/// channels of an image), filtered in place of the transposition of
/// [`short_lines`]: 8 consecutive outputs (of several lines) at a time,
/// every source a lane picked from the 16 elements around them with one
/// AVX-512 permute per tap and side, or `cval` blended in. Which element a
/// lane needs depends only on its position in its line, so the permutes
/// repeat every `lcm(8, n)` elements: their indices are tabled once per
/// call (and kept in registers by [`interleaved_run`] for the common small
/// periods and radii). The 16 elements are shifted out of the vectors
/// before, at and after the outputs, so each vector is loaded once. Arithmetic exactly as
/// in [`flat`]. The first vectors, the last few and any whose neighbour
/// vectors would reach outside the block are computed one by one.
///
/// # Safety
/// The CPU must have AVX-512F; `src` must hold `out.len()` readable f64
/// (aligned or not),
/// `out.len()` a multiple of `n`, `1 <= n <= INTERLEAVED_LINE` and
/// `st.k.len() <= INTERLEAVED_RADIUS + 1`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn interleaved<const ANTI: bool>(
    src: *const f64,
    n: usize,
    st: Stencil,
    out: &mut [f64],
) {
    use std::arch::x86_64::*;
    let r = st.k.len() - 1;
    debug_assert!((1..=INTERLEAVED_LINE).contains(&n) && r <= INTERLEAVED_RADIUS);
    let total = out.len();
    // Vectors per period, and the tables: for phase `ph` (vector index mod
    // `period`), tap `m` and side (0 left, 1 right), each lane's element
    // in the window `base - 4 .. base + 12`, and which lanes have one
    // (the others take `cval`).
    let period = n / gcd(n, 8);
    let mut index = [[[[0i64; 8]; 2]; INTERLEAVED_RADIUS + 1]; INTERLEAVED_LINE];
    let mut present = [[[0u8; 2]; INTERLEAVED_RADIUS + 1]; INTERLEAVED_LINE];
    for ph in 0..period {
        // `lane` also sets the bit of `present` and the element `e`.
        #[allow(clippy::needless_range_loop)]
        for lane in 0..8 {
            let e = 8 * ph + lane;
            let (start, pos) = (e - e % n, e % n);
            for m in 0..=r {
                for (side, d) in [-(m as i64), m as i64].into_iter().enumerate() {
                    if let Some(q) = source_index(st.mode, pos as i64 + d, n) {
                        // start + q - (8·ph - 4) lies in 0 .. 16 as n <= 5.
                        index[ph][m][side][lane] = (start + q + 4 - 8 * ph) as i64;
                        present[ph][m][side] |= 1 << lane;
                    }
                }
            }
        }
    }
    let pair = |a: f64, b: f64| if ANTI { a - b } else { a + b };
    // One output the plain way, for the vectors at the ends.
    let one = |e: usize| {
        let (start, pos) = (e - e % n, e % n);
        let value = |d: i64| match source_index(st.mode, pos as i64 + d, n) {
            // SAFETY: start + q < total (q < n, the line is inside). The
            // input of a first pass need not be aligned for f64.
            Some(q) => unsafe { src.add(start + q).read_unaligned() },
            None => st.cval,
        };
        let mut acc = value(0) * st.k[0];
        for m in (1..=r).rev() {
            acc += pair(value(-(m as i64)), value(m as i64)) * st.k[m];
        }
        acc
    };
    // Vectors v with 8 ≤ 8v (the previous vector exists) and 8v + 16 ≤
    // total (so does the next).
    let first = period;
    let last = if total >= 16 { (total - 16) / 8 + 1 } else { 0 };
    for (e, o) in out.iter_mut().enumerate().take(8 * first) {
        *o = one(e);
    }
    let cval = _mm512_set1_pd(st.cval);
    let mut k = [_mm512_setzero_pd(); INTERLEAVED_RADIUS + 1];
    for (v, &w) in k.iter_mut().zip(st.k) {
        *v = _mm512_set1_pd(w);
    }
    // Modes that never reach beyond a line for these taps skip the blend.
    let blend = present[..period]
        .iter()
        .any(|taps| taps[1..=r].iter().any(|sides| sides != &[0xff, 0xff]));
    let pick = |lo: __m512d, hi: __m512d, ph: usize, m: usize, side: usize| {
        // SAFETY: the table row holds 8 i64.
        let idx = unsafe { _mm512_loadu_si512(index[ph][m][side].as_ptr().cast()) };
        let v = _mm512_permutex2var_pd(lo, idx, hi);
        if blend {
            _mm512_mask_blend_pd(present[ph][m][side], cval, v)
        } else {
            v
        }
    };
    // Vector `v` of the block (elements 8v .. 8v + 8).
    // SAFETY (callers): 8v + 8 <= total.
    let vector = |v: usize| unsafe { _mm512_loadu_pd(src.add(8 * v)) };
    // The window `8v - 4 .. 8v + 12` as two vectors, shifted out of
    // vectors v - 1, v and v + 1: one load per vector rather than two
    // unaligned ones, which would each straddle two cache lines.
    let window = |prev, cur, next| (straddle(prev, cur), straddle(cur, next));
    // The common small cases first, with their tables in registers.
    let mut v = first;
    if let Some(run) = interleaved_run_fn::<ANTI>(period, r) {
        let tables = Tables {
            index: &index,
            present: &present,
            blend,
        };
        // SAFETY: forwarded from the caller; `first` and `last` as below.
        v = unsafe { run(src, out, &tables, st.cval, st.k, first, last) };
    }
    // Four vectors at a time: four independent sums in flight.
    const U: usize = 4;
    let mut ph = v % period;
    let (mut prev, mut cur) = if v + U <= last {
        // v - 1 >= 0 and v < last.
        (vector(v - 1), vector(v))
    } else {
        (cval, cval)
    };
    while v + U <= last {
        let base = 8 * v;
        let phases: [usize; U] = std::array::from_fn(|u| (ph + u) % period);
        // Vectors v - 1 .. v + U + 1; v + U < last + 1, so 8(v + U) + 8 <= total.
        let next: [__m512d; U] = std::array::from_fn(|u| vector(v + u + 1));
        let around: [__m512d; U + 2] = std::array::from_fn(|j| match j {
            0 => prev,
            1 => cur,
            _ => next[j - 2],
        });
        let (lo, hi): ([__m512d; U], [__m512d; U]) = (
            std::array::from_fn(|u| window(around[u], around[u + 1], around[u + 2]).0),
            std::array::from_fn(|u| window(around[u], around[u + 1], around[u + 2]).1),
        );
        (prev, cur) = (next[U - 2], next[U - 1]);
        let mut acc: [__m512d; U] = std::array::from_fn(|u| _mm512_mul_pd(around[u + 1], k[0]));
        for m in (1..=r).rev() {
            for u in 0..U {
                let (a, b) = (
                    pick(lo[u], hi[u], phases[u], m, 0),
                    pick(lo[u], hi[u], phases[u], m, 1),
                );
                acc[u] = tap::<ANTI>(acc[u], a, b, k[m]);
            }
        }
        for (u, a) in acc.into_iter().enumerate() {
            // SAFETY: base + 8U <= total.
            unsafe { _mm512_storeu_pd(out.as_mut_ptr().add(base + 8 * u), a) };
        }
        ph = (ph + U) % period;
        v += U;
    }
    // The last vectors (fewer than U) and the elements whose window would
    // reach past the block, one by one.
    for (e, o) in out.iter_mut().enumerate().skip(8 * v) {
        *o = one(e);
    }
}

pub(super) fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod near_tests {
    use proptest::prelude::*;

    use super::*;
    use crate::filter::cast::{LI8, LI16, LI32, LU8, LU16, Store};

    /// [`Narrow`]'s round trips, scalar and in 8 lanes, equal the output
    /// types' own ([`Store::round_trip`]) on the values where casts differ:
    /// NaN, out of range, wrapping, truncation towards zero.
    #[test]
    fn narrow_round_trips_equal_the_types_own() {
        let values = [
            f64::NAN,
            1e30,
            -1e30,
            -1.0,
            -0.5,
            0.9,
            127.9,
            128.0,
            -129.0,
            255.9,
            256.0,
            32767.5,
            -32769.0,
            65535.9,
            65536.0,
            2147483647.9,
            2147483648.0,
            -2147483648.9,
            -2147483649.0,
            123456.7,
        ];
        let check = |narrow: Narrow, own: fn(f64) -> f64| {
            let want: Vec<u64> = values.iter().map(|&v| own(v).to_bits()).collect();
            let scalar: Vec<u64> = values
                .iter()
                .map(|&v| narrow.round_trip(v).to_bits())
                .collect();
            assert_eq!(scalar, want, "{narrow:?}");
            if simd() == Simd::Avx512 {
                for chunk in values.chunks_exact(8) {
                    use std::arch::x86_64::*;
                    let mut out = [0.0f64; 8];
                    // SAFETY: the CPU has AVX-512F; both arrays hold 8 f64.
                    unsafe {
                        let v = narrow.round_trip_vector(_mm512_loadu_pd(chunk.as_ptr()));
                        _mm512_storeu_pd(out.as_mut_ptr(), v);
                    }
                    let got: Vec<u64> = out.iter().map(|v| v.to_bits()).collect();
                    let want: Vec<u64> = chunk.iter().map(|&v| own(v).to_bits()).collect();
                    assert_eq!(got, want, "{narrow:?} in lanes");
                }
            }
        };
        check(Narrow::new(8, false), LU8::round_trip);
        check(Narrow::new(8, true), LI8::round_trip);
        check(Narrow::new(16, false), LU16::round_trip);
        check(Narrow::new(16, true), LI16::round_trip);
        check(Narrow::new(32, true), LI32::round_trip);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// [`near`] equals [`flat`] bit for bit, for every radius and stride
        /// it takes, on a buffer that holds exactly the elements the pass
        /// may read (its reads are checked against that range in debug
        /// builds).
        #[test]
        fn near_equals_flat(
            stride in 1usize..=NEAR_REACH,
            radius_pick in 0usize..NEAR_REACH,
            len in 0usize..90,
            anti in any::<bool>(),
            seed in any::<u64>(),
        ) {
            if simd() != Simd::Avx512 {
                eprintln!("near_equals_flat: no AVX-512 here, nothing to check");
                return Ok(());
            }
            let r = 1 + radius_pick % (NEAR_REACH / stride);
            let reach = r * stride;
            let data: Vec<f64> = crate::filter::test_util::xorshift(seed)
                .take(len + 2 * reach)
                .map(|x| (x % 2001) as f64 / 7.0 - 140.0)
                .collect();
            let k: Vec<f64> = (0..=r).map(|m| 1.0 / (1.5 + m as f64)).collect();
            let mut want = vec![0.0; len];
            let mut got = vec![0.0; len];
            let base = data.as_ptr().cast::<u8>();
            let near = if anti {
                near_fn::<LF64, true>(r, stride)
            } else {
                near_fn::<LF64, false>(r, stride)
            };
            let near = near.expect("near takes every radius and stride within its reach");
            // SAFETY: the CPU has AVX-512F (checked); elements
            // reach - reach .. reach + len + reach are the whole buffer.
            unsafe {
                if anti {
                    flat::<LF64, true>(base, reach, stride, &k, &mut want);
                } else {
                    flat::<LF64, false>(base, reach, stride, &k, &mut want);
                }
                near(data.as_ptr(), reach, stride, &k, None, &mut got);
            }
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&got), bits(&want));
        }
    }
}
