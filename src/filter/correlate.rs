//! The 1-D correlation passes: scipy's `NI_Correlate1D` arithmetic,
//! organised for caches, SIMD and all cores.
//!
//! Every output is computed in `f64` in exactly scipy's order,
//! `acc = centre·k0; for m = r..1: acc += (left_m ± right_m)·k_m`, with no
//! FMA (Rust never contracts a multiply and an add on its own). What differs
//! from scipy is only *which outputs are computed together*:
//!
//! - An array is seen, for a pass along axis `a`, as `(outer, n, inner)`:
//!   `inner` is the product of the later axes, so one "row" (fixed outer and
//!   position `i` on the axis) is `inner` contiguous elements. Output rows
//!   far enough from the edges (`r <= i < n - r`) need no boundary handling:
//!   they run the flat stencil ([`flat`]), 32 independent outputs at a time
//!   in SIMD registers, neighbours `m·inner` elements away. The same loop
//!   serves the last axis (`inner = 1`) and the others; down wide rows it
//!   works in strips of columns sized so the source rows stay in L1.
//!   With AVX-512, a float64 pass whose farthest neighbour is at most 8
//!   elements away (the last axis up to radius 8, the pixels of a row of
//!   colour channels) runs [`near`] instead: one load per 8 outputs, each
//!   tap's sources shifted out of the neighbouring vectors by a permute.
//! - The few rows near the edges look their sources up once per row and
//!   tap (not per element) through the boundary map, then run the same
//!   arithmetic across the row, with `cval` as a constant operand
//!   ([`boundary_row`]). Lines shorter than [`SHORT_LINE`] along the last
//!   axis (colour channels) are instead transposed, [`LINES`] at a time, into
//!   a padded `[position][line]` scratch and filtered with SIMD lanes across
//!   lines ([`short_lines`]). Float64 lines of at most 5 (the tile of a
//!   fused pass over colour channels) skip the transposition with AVX-512:
//!   [`interleaved`] picks each output's sources out of the 16 elements
//!   around 8 outputs with permutes.
//! - Down wide rows, each strip of columns is first copied into a small
//!   contiguous band (converting the dtype on the way), so its source rows
//!   are reused from L1 rather than fetched again from L2 for every output
//!   row (rows a power of two of bytes apart all fall into the same L1 sets).
//!   With AVX-512 and a radius up to 8 the interior of such a pass skips
//!   the band: [`columns`] walks down 8 columns at a time holding the
//!   `2r + 1` source rows it needs in registers, so each source element is
//!   loaded once per sub-block, and sub-blocks are [`COLUMN_ROWS`] rows.
//! - The first pass reads the input in its own dtype (no converted copy)
//!   and writes `f64` rows into a small tile. When the following passes are
//!   all along later axes (the default order), they are applied to that
//!   tile while it is in cache, so the array is read once and written once
//!   ("fusion"). Each pass's result is rounded through the output dtype
//!   before the next, as scipy stores it. A float64 result is written by
//!   the last fused pass directly, with no tile copied into it. When a tile
//!   holds whole lines of the first axis (short lines), it holds many outer
//!   indices, so a task is never a few elements. Other passes run in place
//!   on the output, one block of columns at a time, as scipy does.
//! - Tiles are independent tasks for rayon's global pool.
//!
//! The hot loops are compiled three times, plain, AVX2 and AVX-512F, and
//! chosen at run time ([`simd`]); wider vectors leave results unchanged.

use rayon::prelude::*;

use super::boundary::source_index;
use super::cast::{
    LBF16, LC64Im, LC64Re, LC128Im, LC128Re, LF16, LF32, LF64, LI8, LI16, LI32, LI64, LU8, LU16,
    LU32, LU64, Lane, Store, c_i32, load_at, store_at,
};
use super::params::{BoundaryMode, PassPlan};
use crate::tensor::DType;

/// Elements of `f64` per tile: 256 KiB, a quarter of this machine's L2 and
/// comfortably inside any recent core's.
const TILE: usize = 1 << 15;

/// Elements of `f64` per sub-block of the first pass: 256 KiB, so a block
/// and its fused results (two such buffers) stay in a 1 MiB L2.
const SUB_TILE: usize = 1 << 15;

/// Elements per task of the first pass: 2 MiB of `f64`.
const TASK: usize = 1 << 18;

/// `f64` values that fill most of a 32 KiB L1 data cache: a pass down wide
/// rows works on strips of columns this small, copied into a contiguous
/// band, so the source rows of a strip are reused from L1 by every output
/// row that needs them.
const L1_F64: usize = 3 << 10;

/// Lines along the last axis shorter than this are filtered across lines
/// ([`short_lines`]) rather than along them.
const SHORT_LINE: usize = 64;

/// Outputs computed together in registers by the flat stencil.
const BLOCK: usize = 32;

/// One real component of an array seen as `(outer, n, inner)` for a pass.
#[derive(Clone, Copy)]
struct View {
    ptr: *const u8,
    outer: usize,
    n: usize,
    inner: usize,
}

/// A box of outputs: outer indices `o`, axis positions `i`, inner columns `c`.
/// Results are laid out densely as `[o - o0][i - i0][c - c0]`.
#[derive(Clone, Copy, Debug)]
struct Region {
    o: (usize, usize),
    i: (usize, usize),
    c: (usize, usize),
}

impl Region {
    fn len(&self) -> usize {
        (self.o.1 - self.o.0) * (self.i.1 - self.i.0) * (self.c.1 - self.c.0)
    }
}

/// How one pass correlates: folded weights, form, boundary, and whether
/// its results are to be rounded through a narrow output type.
#[derive(Clone, Copy)]
struct Stencil<'a> {
    k: &'a [f64],
    mode: BoundaryMode,
    cval: f64,
    /// When set, every result is written already taken through this
    /// type and back (the next fused pass reads what scipy stored).
    round: Option<Narrow>,
}

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
    const fn new(bits: u32, signed: bool) -> Self {
        assert!(bits == 8 || bits == 16 || bits == 32);
        Narrow { bits, signed }
    }

    /// `v` stored as this type and read back, as [`Store::round_trip`].
    #[inline(always)]
    fn round_trip(self, v: f64) -> f64 {
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
    fn round_trip_vector(self, v: std::arch::x86_64::__m512d) -> std::arch::x86_64::__m512d {
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
fn round_results(round: Option<Narrow>, results: &mut [f64]) {
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
fn rounded(round: Option<Narrow>, acc: std::arch::x86_64::__m512d) -> std::arch::x86_64::__m512d {
    match round {
        Some(narrow) => narrow.round_trip_vector(acc),
        None => acc,
    }
}

/// `outer, n, inner` of `shape` around `axis`.
fn split_shape(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

/// Flat stencil: `out[q]` for `len` consecutive outputs whose centres are
/// elements `start + q`, neighbours `stride` elements apart.
///
/// # Safety
/// Elements `start - r·stride .. start + len + r·stride` must be readable at `base`.
#[inline(always)]
unsafe fn flat<L: Lane, const ANTI: bool>(
    base: *const u8,
    start: usize,
    stride: usize,
    k: &[f64],
    out: &mut [f64],
) {
    let r = k.len() - 1;
    let len = out.len();
    // SAFETY (whole body): the caller guarantees every index below is readable.
    let at = |e: usize| unsafe { load_at::<L>(base, e) };
    let pair = |a: f64, b: f64| if ANTI { a - b } else { a + b };
    let k0 = k[0];
    let mut q = 0;
    while q + BLOCK <= len {
        let e = start + q;
        let acc = block::<BLOCK>(&at, pair, e, stride, k0, k);
        out[q..q + BLOCK].copy_from_slice(&acc);
        q += BLOCK;
    }
    // The rest in blocks of 8 (one AVX-512 register), then one by one.
    while q + 8 <= len {
        let e = start + q;
        let acc = block::<8>(&at, pair, e, stride, k0, k);
        out[q..q + 8].copy_from_slice(&acc);
        q += 8;
    }
    while q < len {
        let e = start + q;
        let mut acc = at(e) * k0;
        for m in (1..=r).rev() {
            acc += pair(at(e - m * stride), at(e + m * stride)) * k[m];
        }
        out[q] = acc;
        q += 1;
    }
}

/// `B` consecutive outputs of [`flat`] centred at `e ..`, in registers.
#[inline(always)]
fn block<const B: usize>(
    at: &impl Fn(usize) -> f64,
    pair: impl Fn(f64, f64) -> f64,
    e: usize,
    stride: usize,
    k0: f64,
    k: &[f64],
) -> [f64; B] {
    let mut acc = [0.0f64; B];
    for (j, a) in acc.iter_mut().enumerate() {
        *a = at(e + j) * k0;
    }
    for m in (1..k.len()).rev() {
        // SAFETY: m < k.len().
        let km = unsafe { *k.get_unchecked(m) };
        let (lo, hi) = (e - m * stride, e + m * stride);
        for (j, a) in acc.iter_mut().enumerate() {
            *a += pair(at(lo + j), at(hi + j)) * km;
        }
    }
    acc
}

/// Calls `f(src_offset, out_index)` for every `(o, c)` of a region row, with
/// the longer of the two loops innermost so short rows (the last axis,
/// `nc == 1`) still run long, branch-free loops.
#[inline(always)]
fn sweep(
    (no, nc): (usize, usize),
    (src_o, out_o): (usize, usize),
    mut f: impl FnMut(usize, usize),
) {
    if nc >= no {
        for ol in 0..no {
            for cl in 0..nc {
                f(ol * src_o + cl, ol * out_o + cl);
            }
        }
    } else {
        for cl in 0..nc {
            for ol in 0..no {
                f(ol * src_o + cl, ol * out_o + cl);
            }
        }
    }
}

/// One boundary row `i` for every `o` and `c` of `reg`, written into `out`
/// (the region's dense layout). Sources are looked up once per tap, and
/// `cval` enters as a constant operand, so the loops have no branches.
///
/// # Safety
/// `src` must describe readable memory and `reg` lie inside it.
#[inline(always)]
unsafe fn boundary_row<L: Lane, const ANTI: bool>(
    src: View,
    st: Stencil,
    reg: Region,
    i: usize,
    out: &mut [f64],
) {
    let (n, w) = (src.n, src.inner);
    let r = st.k.len() - 1;
    let (no, ni, nc) = (reg.o.1 - reg.o.0, reg.i.1 - reg.i.0, reg.c.1 - reg.c.0);
    let dims = (no, nc);
    // Strides between consecutive `o`: in the source and in `out`.
    let strides = (n * w, ni * nc);
    let first = reg.i.0;
    let out = &mut out[(i - first) * nc..];
    let pair = |a: f64, b: f64| if ANTI { a - b } else { a + b };
    let find = |d: i64| source_index(st.mode, i as i64 + d, n);
    // Element index of row s at (o0, c0); offsets from `sweep` are added.
    let row = |s: usize| (reg.o.0 * n + s) * w + reg.c.0;
    // SAFETY (whole body): rows come from `source_index`, so are < n, and
    // o, c lie inside the view; every element read exists.
    let at = |e: usize| unsafe { load_at::<L>(src.ptr, e) };
    let cval = st.cval;
    let k0 = st.k[0];
    match find(0) {
        Some(s) => sweep(dims, strides, |d, q| out[q] = at(row(s) + d) * k0),
        None => sweep(dims, strides, |_, q| out[q] = cval * k0),
    }
    for m in (1..=r).rev() {
        let km = st.k[m];
        let d = m as i64;
        match (find(-d), find(d)) {
            (Some(a), Some(b)) => {
                let (ra, rb) = (row(a), row(b));
                sweep(dims, strides, |e, q| {
                    out[q] += pair(at(ra + e), at(rb + e)) * km
                });
            }
            (Some(a), None) => {
                let ra = row(a);
                sweep(dims, strides, |e, q| out[q] += pair(at(ra + e), cval) * km);
            }
            (None, Some(b)) => {
                let rb = row(b);
                sweep(dims, strides, |e, q| out[q] += pair(cval, at(rb + e)) * km);
            }
            (None, None) => {
                let v = pair(cval, cval) * km;
                sweep(dims, strides, |_, q| out[q] += v);
            }
        }
    }
}

/// Lines filtered together by [`short_lines`], one SIMD lane per line.
const LINES: usize = 64;

/// Many short lines along the last axis (e.g. the 3 colour channels of an
/// image), filtered across lines: a block of [`LINES`] neighbouring lines is
/// transposed into a padded scratch `[position][line]` (boundary positions
/// copied from the line's own samples through a table made once per call,
/// or `cval`), so that position `p` of every line in the block is one
/// contiguous row. The flat stencil then runs down those rows with SIMD
/// lanes across lines: each output is still computed alone, in scipy's
/// order, so the result is the same as line by line. The results are
/// transposed back into `out`.
///
/// # Safety
/// As for [`region`]; `reg` covers whole lines of a last axis.
#[inline(always)]
unsafe fn short_lines<L: Lane, const ANTI: bool>(
    src: View,
    st: Stencil,
    reg: Region,
    out: &mut [f64],
    spare: &mut Vec<f64>,
) {
    let r = st.k.len() - 1;
    let n = src.n;
    let padded = n + 2 * r;
    let lines = reg.o.1 - reg.o.0;
    debug_assert_eq!(out.len(), lines * n);
    // Scratch: the padded block, then its results, both `[position][line]`.
    let buf = sized(spare, (padded + n) * LINES);
    let (ext, res) = buf.split_at_mut(padded * LINES);
    let mut l0 = 0;
    while l0 < lines {
        let nb = (lines - l0).min(LINES);
        let first = (reg.o.0 + l0) * n;
        // The line's own samples, at padded positions r .. r + n.
        let body = &mut ext[r * nb..(r + n) * nb];
        match n {
            // SAFETY (all arms): lines o0 + l0 .. + nb are inside the view.
            1 => unsafe { gather::<L, 1>(src.ptr, first, nb, body) },
            2 => unsafe { gather::<L, 2>(src.ptr, first, nb, body) },
            3 => unsafe { gather::<L, 3>(src.ptr, first, nb, body) },
            4 => unsafe { gather::<L, 4>(src.ptr, first, nb, body) },
            _ => unsafe { gather_any::<L>(src.ptr, first, n, nb, body) },
        }
        // Boundary positions: a copy of a sample row, or cval.
        for p in (0..r).chain(r + n..padded) {
            match source_index(st.mode, p as i64 - r as i64, n) {
                // Sample rows lie in r .. r + n, never at p itself.
                Some(s) => ext.copy_within((r + s) * nb..(r + s + 1) * nb, p * nb),
                None => ext[p * nb..(p + 1) * nb].fill(st.cval),
            }
        }
        let results = &mut res[..n * nb];
        // SAFETY: `ext` holds padded positions 0 .. n + 2r of nb lines, so
        // every centre r·nb .. (r+n)·nb has its r neighbours each side.
        unsafe { flat::<LF64, ANTI>(ext.as_ptr().cast(), r * nb, nb, st.k, results) };
        let dst = &mut out[l0 * n..(l0 + nb) * n];
        match n {
            1 => scatter::<1>(results, nb, dst),
            2 => scatter::<2>(results, nb, dst),
            3 => scatter::<3>(results, nb, dst),
            4 => scatter::<4>(results, nb, dst),
            _ => scatter_any(results, n, nb, dst),
        }
        l0 += nb;
    }
}

/// `body[i·nb + l] = element first + l·N + i`, for `N`-long lines.
///
/// # Safety
/// Elements `first .. first + nb·N` must be readable at `base`.
#[inline(always)]
unsafe fn gather<L: Lane, const N: usize>(
    base: *const u8,
    first: usize,
    nb: usize,
    body: &mut [f64],
) {
    assert_eq!(body.len(), N * nb);
    for l in 0..nb {
        for i in 0..N {
            // SAFETY: l < nb and i < N; the index is in bounds (assert above).
            unsafe {
                *body.get_unchecked_mut(i * nb + l) = load_at::<L>(base, first + l * N + i);
            }
        }
    }
}

/// [`gather`] for any line length.
///
/// # Safety
/// Elements `first .. first + nb·n` must be readable at `base`.
#[inline(always)]
unsafe fn gather_any<L: Lane>(
    base: *const u8,
    first: usize,
    n: usize,
    nb: usize,
    body: &mut [f64],
) {
    for (i, row) in body.chunks_exact_mut(nb).enumerate() {
        for (l, v) in row.iter_mut().enumerate() {
            // SAFETY: as the caller guarantees.
            *v = unsafe { load_at::<L>(base, first + l * n + i) };
        }
    }
}

/// `dst[l·N + i] = results[i·nb + l]`: the transposition back.
#[inline(always)]
fn scatter<const N: usize>(results: &[f64], nb: usize, dst: &mut [f64]) {
    assert!(results.len() == N * nb && dst.len() == N * nb);
    for l in 0..nb {
        for i in 0..N {
            // SAFETY: l < nb and i < N; both indices are in bounds (assert above).
            unsafe { *dst.get_unchecked_mut(l * N + i) = *results.get_unchecked(i * nb + l) };
        }
    }
}

/// [`scatter`] for any line length.
#[inline(always)]
fn scatter_any(results: &[f64], n: usize, nb: usize, dst: &mut [f64]) {
    for (l, line) in dst.chunks_exact_mut(n).enumerate() {
        for (i, v) in line.iter_mut().enumerate() {
            *v = results[i * nb + l];
        }
    }
}

/// Largest radius [`columns`] handles: its window of `2r + 1` source rows,
/// `r + 1` weights and the accumulator must fit in AVX-512's 32 registers.
const COLUMN_RADIUS: usize = 8;

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
unsafe fn columns<L: Lane, const ANTI: bool, const R: usize>(
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
const PREFETCH_BYTES: usize = 256;

/// `acc + (a ± b)·k`, one tap of scipy's order (minus when `ANTI`), in
/// 8 lanes.
#[inline]
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn tap<const ANTI: bool>(
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
fn straddle(
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
const COLUMN_ROWS: usize = 16;

/// Narrower rows keep the first pass's larger sub-blocks.
const COLUMN_MIN_WIDTH: usize = 128;

/// Whether [`columns`] runs the interior of wide passes of radius `r`.
fn columns_apply(r: usize) -> bool {
    (1..=COLUMN_RADIUS).contains(&r) && simd() == Simd::Avx512
}

/// A compiled [`columns`]: `(src, first, stride, groups, rows, weights,
/// round, dst, dst_stride)`.
#[cfg(target_arch = "x86_64")]
type ColumnsFn =
    unsafe fn(*const u8, usize, usize, usize, usize, &[f64], Option<Narrow>, *mut f64, usize);

/// [`columns`] compiled for radius `r`, if it has a version for it.
#[cfg(target_arch = "x86_64")]
fn columns_fn<L: Lane, const ANTI: bool>(r: usize) -> Option<ColumnsFn> {
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
const NEAR_REACH: usize = 8;

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
unsafe fn near<const ANTI: bool, const R: usize>(
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
type NearFn = unsafe fn(*const f64, usize, usize, &[f64], Option<Narrow>, &mut [f64]);

/// [`near`] for radius `r` and `stride`, when it applies: float64 lanes,
/// AVX-512, and a farthest neighbour at most [`NEAR_REACH`] away.
#[cfg(target_arch = "x86_64")]
fn near_fn<L: Lane, const ANTI: bool>(r: usize, stride: usize) -> Option<NearFn> {
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
const INTERLEAVED_LINE: usize = 5;

/// The permute tables of [`interleaved`]: for phase, tap and side, each
/// lane's element in the 16-element window and which lanes have one.
struct Tables<'a> {
    index: &'a [[[[i64; 8]; 2]; INTERLEAVED_RADIUS + 1]; INTERLEAVED_LINE],
    present: &'a [[[u8; 2]; INTERLEAVED_RADIUS + 1]; INTERLEAVED_LINE],
    blend: bool,
}

/// A compiled [`interleaved_run`].
#[cfg(target_arch = "x86_64")]
type InterleavedRunFn =
    unsafe fn(*const f64, &mut [f64], &Tables, f64, &[f64], usize, usize) -> usize;

/// [`interleaved_run`] for a period of `period` vectors and radius `r`,
/// for the cases whose tables fit in registers.
#[cfg(target_arch = "x86_64")]
fn interleaved_run_fn<const ANTI: bool>(period: usize, r: usize) -> Option<InterleavedRunFn> {
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
unsafe fn interleaved_run<const ANTI: bool, const P: usize, const R: usize, const V: usize>(
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
const INTERLEAVED_RADIUS: usize = 16;

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
unsafe fn interleaved<const ANTI: bool>(src: *const f64, n: usize, st: Stencil, out: &mut [f64]) {
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

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Computes one pass over `reg` of `src` into `out` (dense region layout).
///
/// # Safety
/// `src` must describe `outer·n·inner` readable elements of lane `L`, and
/// `reg` must lie inside it.
#[inline(always)]
unsafe fn region<L: Lane, const ANTI: bool>(
    src: View,
    st: Stencil,
    reg: Region,
    out: &mut [f64],
    spare: &mut Vec<f64>,
) {
    debug_assert!(reg.o.1 <= src.outer && reg.i.1 <= src.n && reg.c.1 <= src.inner);
    debug_assert_eq!(out.len(), reg.len());
    let r = st.k.len() - 1;
    let (n, w) = (src.n, src.inner);
    let (ni, nc) = (reg.i.1 - reg.i.0, reg.c.1 - reg.c.0);
    let no = reg.o.1 - reg.o.0;
    #[cfg(target_arch = "x86_64")]
    if w == 1
        && ni == n
        && n <= INTERLEAVED_LINE
        && r <= INTERLEAVED_RADIUS
        && std::any::TypeId::of::<L>() == std::any::TypeId::of::<LF64>()
        && simd() == Simd::Avx512
    {
        // SAFETY: the CPU has AVX-512F; float64 lanes are plain f64 (so the
        // view's elements are f64), and the region's whole lines are the
        // `out.len()` elements from line o0 on.
        unsafe { interleaved::<ANTI>(src.ptr.cast::<f64>().add(reg.o.0 * n), n, st, out) };
        round_results(st.round, out);
        return;
    }
    if w == 1 && n < SHORT_LINE && ni == n && no >= BLOCK {
        // SAFETY: forwarded from the caller.
        unsafe { short_lines::<L, ANTI>(src, st, reg, out, spare) };
        round_results(st.round, out);
        return;
    }
    // Rows whose whole neighbourhood lies inside the axis.
    let (lo, hi) = if n > 2 * r { (r, n - r) } else { (0, 0) };
    let (a, b) = (reg.i.0.max(lo), reg.i.1.min(hi));
    if a < b {
        for o in reg.o.0..reg.o.1 {
            let base = (o - reg.o.0) * ni * nc;
            // Columns per strip: the strip of every source row this
            // region reads (ni + 2r rows) fits in L1 with room to spare.
            let strip = (L1_F64 / (ni + 2 * r)).clamp(BLOCK, 32 * BLOCK) / BLOCK * BLOCK;
            if nc == w && (w <= strip || r == 0) {
                let dst = &mut out[base + (a - reg.i.0) * nc..base + (b - reg.i.0) * nc];
                let from = (o * n + a) * w;
                #[cfg(target_arch = "x86_64")]
                if let Some(near) = near_fn::<L, ANTI>(r, w) {
                    // SAFETY: the CPU has AVX-512F and the lanes are plain
                    // f64 (`near_fn`); rows a-r .. b+r are inside the axis.
                    unsafe { near(src.ptr.cast(), from, w, st.k, st.round, dst) };
                    continue;
                }
                // SAFETY: rows a-r .. b+r are inside the axis.
                unsafe { flat::<L, ANTI>(src.ptr, from, w, st.k, dst) };
                round_results(st.round, dst);
            } else {
                // Wide rows: one strip of columns at a time down the rows.
                // The strip's b - a + 2r source rows are first copied (as
                // f64) into a small contiguous band, which then stays in L1
                // while every output row reuses it: read straight from the
                // source, rows a power of two of bytes apart fall into the
                // same few L1 sets and are fetched from L2 again and again.
                let mut c = reg.c.0;
                #[cfg(target_arch = "x86_64")]
                if columns_apply(r)
                    && let Some(columns) = columns_fn::<L, ANTI>(r)
                {
                    let groups = nc / 8;
                    // SAFETY: the CPU has AVX-512F; rows a-r .. b+r and the
                    // region's columns are inside the view, and the region's
                    // rows a .. b of `out` hold nc columns each.
                    unsafe {
                        columns(
                            src.ptr,
                            (o * n + a - r) * w + c,
                            w,
                            groups,
                            b - a,
                            st.k,
                            st.round,
                            out.as_mut_ptr().add(base + (a - reg.i.0) * nc),
                            nc,
                        )
                    };
                    c += 8 * groups;
                }
                while c < reg.c.1 {
                    let end = (c + strip).min(reg.c.1);
                    let sw = end - c;
                    let band = sized(spare, (b - a + 2 * r) * sw);
                    for (j, row) in band.chunks_exact_mut(sw).enumerate() {
                        let from = (o * n + a - r + j) * w + c;
                        for (x, v) in row.iter_mut().enumerate() {
                            // SAFETY: rows a-r .. b+r and columns c .. end
                            // are inside the view.
                            *v = unsafe { load_at::<L>(src.ptr, from + x) };
                        }
                    }
                    for i in a..b {
                        let at = base + (i - reg.i.0) * nc + (c - reg.c.0);
                        let dst = &mut out[at..at + sw];
                        // SAFETY: band rows i-a .. i-a+2r exist (band has
                        // b-a+2r rows of sw columns).
                        unsafe {
                            flat::<LF64, ANTI>(
                                band.as_ptr().cast(),
                                (i - a + r) * sw,
                                sw,
                                st.k,
                                dst,
                            )
                        };
                        round_results(st.round, dst);
                    }
                    c = end;
                }
            }
        }
    }
    // The rows before and after the interior ones (all rows when there is none).
    let (before, after) = if a < b { (a, b) } else { (reg.i.1, reg.i.1) };
    for i in (reg.i.0..before).chain(after..reg.i.1) {
        // SAFETY: forwarded from the caller.
        unsafe { boundary_row::<L, ANTI>(src, st, reg, i, out) };
        for o in 0..no {
            let at = (o * ni + i - reg.i.0) * nc;
            round_results(st.round, &mut out[at..at + nc]);
        }
    }
}

/// A compiled [`region`] for one lane and form.
/// `spare` is scratch for the short-line path.
type RegionFn = unsafe fn(View, Stencil, Region, &mut [f64], &mut Vec<f64>);

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn region_avx2<L: Lane, const ANTI: bool>(
    src: View,
    st: Stencil,
    reg: Region,
    out: &mut [f64],
    spare: &mut Vec<f64>,
) {
    // SAFETY: forwarded from the caller.
    unsafe { region::<L, ANTI>(src, st, reg, out, spare) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn region_avx512<L: Lane, const ANTI: bool>(
    src: View,
    st: Stencil,
    reg: Region,
    out: &mut [f64],
    spare: &mut Vec<f64>,
) {
    // SAFETY: forwarded from the caller.
    unsafe { region::<L, ANTI>(src, st, reg, out, spare) }
}

unsafe fn region_plain<L: Lane, const ANTI: bool>(
    src: View,
    st: Stencil,
    reg: Region,
    out: &mut [f64],
    spare: &mut Vec<f64>,
) {
    // SAFETY: forwarded from the caller.
    unsafe { region::<L, ANTI>(src, st, reg, out, spare) }
}

/// Which compiled version of the hot loops runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Simd {
    Plain,
    Avx2,
    Avx512,
}

/// The best the CPU offers, or the one named by `TENSORWIRE_FILTER_SIMD`
/// (`plain`, `avx2`, `avx512`; never above what the CPU offers), so tests
/// can check every version against the golden cases. Chosen once.
fn simd() -> Simd {
    static LEVEL: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        let best = if std::arch::is_x86_feature_detected!("avx512f") {
            Simd::Avx512
        } else if std::arch::is_x86_feature_detected!("avx2") {
            Simd::Avx2
        } else {
            Simd::Plain
        };
        #[cfg(not(target_arch = "x86_64"))]
        let best = Simd::Plain;
        let asked = match std::env::var("TENSORWIRE_FILTER_SIMD").as_deref() {
            Ok("plain") => Simd::Plain,
            Ok("avx2") => Simd::Avx2,
            _ => Simd::Avx512,
        };
        best.min(asked)
    })
}

fn region_fn<L: Lane>(anti: bool) -> RegionFn {
    match (simd(), anti) {
        #[cfg(target_arch = "x86_64")]
        (Simd::Avx512, false) => region_avx512::<L, false>,
        #[cfg(target_arch = "x86_64")]
        (Simd::Avx512, true) => region_avx512::<L, true>,
        #[cfg(target_arch = "x86_64")]
        (Simd::Avx2, false) => region_avx2::<L, false>,
        #[cfg(target_arch = "x86_64")]
        (Simd::Avx2, true) => region_avx2::<L, true>,
        (_, false) => region_plain::<L, false>,
        (_, true) => region_plain::<L, true>,
    }
}

/// Copies a region of a buffer into a dense `f64` tile.
///
/// # Safety
/// As for [`region`].
unsafe fn load_region<L: Lane>(src: View, reg: Region, tile: &mut [f64]) {
    let mut t = 0;
    for o in reg.o.0..reg.o.1 {
        for i in reg.i.0..reg.i.1 {
            let row = (o * src.n + i) * src.inner;
            for c in reg.c.0..reg.c.1 {
                // SAFETY: inside the view.
                tile[t] = unsafe { load_at::<L>(src.ptr, row + c) };
                t += 1;
            }
        }
    }
}

/// Writes a dense region back with the output's C cast.
///
/// # Safety
/// `dst` must hold `outer·n·inner` elements, the region must be inside, and
/// no other thread may touch the region meanwhile.
#[inline(always)]
unsafe fn store_region<S: Store>(
    dst: *mut u8,
    shape: (usize, usize, usize),
    reg: Region,
    tile: &[f64],
) {
    let (_, n, w) = shape;
    let nc = reg.c.1 - reg.c.0;
    // Whole rows are one contiguous run per `o`: one long loop (short
    // per-row loops cost a call each when LLVM turns them into memcpy).
    let (runs_per_o, run) = if nc == w {
        (1, (reg.i.1 - reg.i.0) * w)
    } else {
        (reg.i.1 - reg.i.0, nc)
    };
    let mut t = 0;
    for o in reg.o.0..reg.o.1 {
        for k in 0..runs_per_o {
            let start = if nc == w {
                (o * n + reg.i.0) * w
            } else {
                (o * n + reg.i.0 + k) * w + reg.c.0
            };
            for (e, &v) in tile[t..t + run].iter().enumerate() {
                // SAFETY: inside the region, which this task owns.
                unsafe { store_at::<S>(dst, start + e, v) };
            }
            t += run;
        }
    }
}

#[inline(always)]
fn round_trip<S: Store>(tile: &mut [f64]) {
    for v in tile {
        *v = S::round_trip(*v);
    }
}

type StoreFn = unsafe fn(*mut u8, (usize, usize, usize), Region, &[f64]);
type RoundTripFn = unsafe fn(&mut [f64]);

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn store_region_avx2<S: Store>(
    dst: *mut u8,
    shape: (usize, usize, usize),
    reg: Region,
    tile: &[f64],
) {
    // SAFETY: forwarded from the caller.
    unsafe { store_region::<S>(dst, shape, reg, tile) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn store_region_avx512<S: Store>(
    dst: *mut u8,
    shape: (usize, usize, usize),
    reg: Region,
    tile: &[f64],
) {
    // SAFETY: forwarded from the caller.
    unsafe { store_region::<S>(dst, shape, reg, tile) }
}

unsafe fn store_region_plain<S: Store>(
    dst: *mut u8,
    shape: (usize, usize, usize),
    reg: Region,
    tile: &[f64],
) {
    // SAFETY: forwarded from the caller.
    unsafe { store_region::<S>(dst, shape, reg, tile) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn round_trip_avx2<S: Store>(tile: &mut [f64]) {
    round_trip::<S>(tile)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn round_trip_avx512<S: Store>(tile: &mut [f64]) {
    round_trip::<S>(tile)
}

unsafe fn round_trip_plain<S: Store>(tile: &mut [f64]) {
    round_trip::<S>(tile)
}

/// The compiled functions for one real component type.
#[derive(Clone, Copy)]
pub(crate) struct LaneFns {
    region: [RegionFn; 2],
    load: unsafe fn(View, Region, &mut [f64]),
}

/// The compiled functions to write one real component type.
#[derive(Clone, Copy)]
pub(crate) struct StoreFns {
    lane: LaneFns,
    store: StoreFn,
    round_trip: RoundTripFn,
    /// True when the round trip changes nothing (float64), so it is skipped.
    exact: bool,
    /// The round trip as a [`Narrow`] type, when it is one.
    narrow: Option<Narrow>,
    /// True when the output is plain `f64` elements (float64, not a part of
    /// complex128), so the last pass can write its results straight into
    /// the output instead of a tile that is then copied there.
    plain_f64: bool,
}

fn lane_fns<L: Lane>() -> LaneFns {
    LaneFns {
        region: [region_fn::<L>(false), region_fn::<L>(true)],
        load: load_region::<L>,
    }
}

fn store_fns<S: Store>(exact: bool, narrow: Option<Narrow>) -> StoreFns {
    let plain_f64 = std::any::TypeId::of::<S>() == std::any::TypeId::of::<LF64>();
    #[cfg(target_arch = "x86_64")]
    if simd() >= Simd::Avx512 {
        return StoreFns {
            lane: lane_fns::<S>(),
            store: store_region_avx512::<S>,
            round_trip: round_trip_avx512::<S>,
            exact,
            narrow,
            plain_f64,
        };
    }
    #[cfg(target_arch = "x86_64")]
    if simd() >= Simd::Avx2 {
        return StoreFns {
            lane: lane_fns::<S>(),
            store: store_region_avx2::<S>,
            round_trip: round_trip_avx2::<S>,
            exact,
            narrow,
            plain_f64,
        };
    }
    StoreFns {
        lane: lane_fns::<S>(),
        store: store_region_plain::<S>,
        round_trip: round_trip_plain::<S>,
        exact,
        narrow,
        plain_f64,
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

/// A pointer that tasks share to write disjoint regions of one buffer.
#[derive(Clone, Copy)]
pub(crate) struct SharedOut(pub(crate) *mut u8);
// SAFETY: every task writes (and, in place, reads) only the elements of its
// own region; regions of one pass never overlap, and passes are sequential.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    // A method, so closures capture the wrapper and not the bare pointer.
    fn ptr(self) -> *mut u8 {
        self.0
    }
}

/// A read pointer shared by tasks; the data is not written meanwhile.
#[derive(Clone, Copy)]
struct SharedIn(*const u8);
// SAFETY: read-only for the duration of the pass.
unsafe impl Send for SharedIn {}
unsafe impl Sync for SharedIn {}

impl SharedIn {
    fn ptr(self) -> *const u8 {
        self.0
    }
}

/// Everything one component (a real array, or one part of a complex one)
/// needs to be filtered.
pub(crate) struct Component<'a> {
    /// Input bytes (the whole tensor) and how to read this component.
    pub input: &'a [u8],
    /// Reader of the input component.
    pub read: LaneFns,
    /// Start of the output (the whole result, `outer·n·inner` elements of
    /// the writer's element size): valid for writes of all of it, possibly
    /// not yet initialised, and touched by no one else meanwhile. Every
    /// element's component is written by the first pass before any later
    /// pass reads it back.
    pub output: SharedOut,
    /// Writer of the output component.
    pub write: StoreFns,
    /// Value beyond the edges in the constant modes.
    pub cval: f64,
}

/// Scratch buffers one worker reuses across its tasks.
#[derive(Default)]
struct Scratch {
    a: Vec<f64>,
    b: Vec<f64>,
    spare: Vec<f64>,
}

/// `len` elements of `v`, grown if needed, starting on a 64-byte boundary:
/// the vectors the kernels load from a tile then never straddle two cache
/// lines (a 9 MiB image filtered 5–8 % faster than with glibc's 16-byte
/// aligned blocks).
fn sized(v: &mut Vec<f64>, len: usize) -> &mut [f64] {
    // A cache line of slack, so the slice can start on a 64-byte boundary.
    if v.len() < len + 8 {
        v.resize(len + 8, 0.0);
    }
    let skip = v.as_ptr().align_offset(64).min(8);
    &mut v[skip..skip + len]
}

/// Runs every pass over one component: the first pass (fused with the
/// following passes along later axes) from input to output, the rest in place.
pub(crate) fn filter_component(shape: &[usize], passes: &[PassPlan], comp: Component) {
    let Some(first) = passes.first() else { return };
    if shape.contains(&0) {
        return;
    }
    let mut comp = comp;
    // Writing results straight into the output needs f64 alignment (any
    // allocator gives it; a misaligned pointer falls back to the copy).
    if !(comp.output.0 as usize).is_multiple_of(std::mem::align_of::<f64>()) {
        comp.write.plain_f64 = false;
    }
    let (_, _, inner) = split_shape(shape, first.axis);
    let fused = if inner <= TILE {
        1 + passes[1..]
            .iter()
            .take_while(|p| p.axis > first.axis)
            .count()
    } else {
        1
    };
    let out = comp.output;
    first_group(shape, &passes[..fused], &comp, out);
    for pass in &passes[fused..] {
        in_place(shape, pass, &comp, out);
    }
}

/// The stencil of `pass`, and its form (1 antisymmetric); `round` as in
/// [`Stencil`].
fn stencil(pass: &PassPlan, cval: f64, round: Option<Narrow>) -> (Stencil<'_>, usize) {
    (
        Stencil {
            k: pass.taps.weights(),
            mode: pass.mode,
            cval,
            round,
        },
        usize::from(pass.taps.is_antisymmetric()),
    )
}

/// The first pass from the input, tile by tile, each tile then taken through
/// the fused passes and stored.
fn first_group(shape: &[usize], group: &[PassPlan], comp: &Component, out: SharedOut) {
    let pass = &group[0];
    let (outer, n, inner) = split_shape(shape, pass.axis);
    // Columns per block, rows per sub-block (kept in L1/L2 through all the
    // fused passes), rows per task (enough work to amortise scheduling;
    // consecutive sub-blocks of a task reuse the source rows they share
    // from cache).
    let nc = inner.min(TILE);
    let sub = if columns_apply(pass.taps.weights().len() - 1) && nc >= COLUMN_MIN_WIDTH {
        COLUMN_ROWS
    } else {
        (SUB_TILE / nc).max(1)
    }
    .min(n);
    // At least a few tasks per thread when the array allows, so that
    // threads finish together (a 9 MiB image made only 9 tasks for 2 threads).
    let few = n.div_ceil(4 * rayon::current_num_threads()).max(1);
    let rows = (TASK / nc).min(few).max(sub).min(n).next_multiple_of(sub);
    // When a sub-block holds whole short lines (a last axis of 3 colour
    // channels, say), it holds several outer indices too: one line per
    // task would make a task of a few elements (786 432 tasks for the
    // channels of a 1024×768 image, 15× slower than the whole image).
    let per_o = if nc == inner && sub == n {
        // Lines along the last axis long enough not to take the short-line
        // path: at most 8, since their boundary outputs are summed a tap at
        // a time across all lines, and more than 8 lines a power of two of
        // bytes apart thrash L1 (32 lines of 1024 float64 took twice as
        // long per element as 8 lines of 4096).
        let most = if inner == 1 && n >= SHORT_LINE {
            8
        } else {
            usize::MAX
        };
        (SUB_TILE / (n * nc))
            .min(most)
            .min(outer.div_ceil(4 * rayon::current_num_threads()))
            .max(1)
    } else {
        1
    };
    let col_blocks = inner.div_ceil(nc);
    let row_blocks = n.div_ceil(rows);
    let outer_blocks = outer.div_ceil(per_o);
    let tasks = outer_blocks * row_blocks * col_blocks;
    let input = SharedIn(comp.input.as_ptr());
    let f64_region = lane_fns::<LF64>().region;
    (0..tasks)
        .into_par_iter()
        .for_each_init(Scratch::default, |scratch, t| {
            let ob = t / (row_blocks * col_blocks);
            let o = (ob * per_o, ((ob + 1) * per_o).min(outer));
            let rb = t / col_blocks % row_blocks;
            let cb = t % col_blocks;
            let src = View {
                ptr: input.ptr(),
                outer,
                n,
                inner,
            };
            // Results that a fused pass reads next are rounded through a
            // narrow output type as they are written (other types: below).
            let narrow = comp.write.narrow;
            let (st, anti) = stencil(pass, comp.cval, narrow.filter(|_| group.len() > 1));
            let mut i0 = rb * rows;
            let task_end = ((rb + 1) * rows).min(n);
            while i0 < task_end {
                let reg = Region {
                    o,
                    i: (i0, (i0 + sub).min(task_end)),
                    c: (cb * nc, ((cb + 1) * nc).min(inner)),
                };
                i0 = reg.i.1;
                let len = reg.len();
                let Scratch { a, b, spare } = &mut *scratch;
                // A float64 output takes the last pass's results directly
                // (no tile to copy from): the region is one contiguous run
                // of whole rows when `nc == inner`.
                let direct = comp.write.plain_f64 && nc == inner;
                // SAFETY: the output holds outer·n·inner f64 (plain_f64), its
                // allocation is aligned for f64 (checked in `filter_component`),
                // and this task alone owns the region, which starts at
                // element (o0·n + i0)·inner and is `len` elements long
                // because it spans whole rows.
                let output = || unsafe {
                    let start = (reg.o.0 * n + reg.i.0) * inner;
                    std::slice::from_raw_parts_mut(out.ptr().cast::<f64>().add(start), len)
                };
                let mut cur = sized(a, len);
                let first_dst = if direct && group.len() == 1 {
                    output()
                } else {
                    &mut *cur
                };
                // SAFETY: the input holds outer·n·inner elements of its lane and
                // the region is inside it.
                unsafe { (comp.read.region[anti])(src, st, reg, first_dst, spare) };
                if direct && group.len() == 1 {
                    continue;
                }
                let mut other = sized(b, len);
                for (k, later) in group[1..].iter().enumerate() {
                    if !comp.write.exact && narrow.is_none() {
                        // SAFETY: plain arithmetic; unsafe only because it may be an
                        // AVX2/AVX-512 version, chosen only on CPUs that have it.
                        unsafe { (comp.write.round_trip)(cur) };
                    }
                    // The block holds whole rows (fusion needs nc == inner),
                    // and whole lines when it spans several outer indices:
                    // an array of shape (outers·rows, shape[axis+1..]) to
                    // filter along a later axis.
                    let (_, n2, w2) = split_shape(shape, later.axis);
                    let between: usize = shape[pass.axis + 1..later.axis].iter().product();
                    let outer2 = (reg.o.1 - reg.o.0) * (reg.i.1 - reg.i.0) * between;
                    let block = View {
                        ptr: cur.as_ptr().cast(),
                        outer: outer2,
                        n: n2,
                        inner: w2,
                    };
                    let (st2, anti2) =
                        stencil(later, comp.cval, narrow.filter(|_| k + 2 < group.len()));
                    let last_direct = direct && k + 2 == group.len();
                    let dst: &mut [f64] = if last_direct { output() } else { other };
                    // At most 8 long last-axis lines per call, as in `per_o`.
                    let lines = if w2 == 1 && n2 >= SHORT_LINE {
                        8
                    } else {
                        outer2
                    };
                    for (chunk, dst) in dst.chunks_mut(lines * n2 * w2).enumerate() {
                        let o0 = chunk * lines;
                        let part = Region {
                            o: (o0, (o0 + lines).min(outer2)),
                            i: (0, n2),
                            c: (0, w2),
                        };
                        // SAFETY: the block is `len` f64 laid out as (outer2,
                        // n2, w2), and `dst` is the part's dense results.
                        unsafe { f64_region[anti2](block, st2, part, dst, spare) };
                    }
                    if last_direct {
                        break;
                    }
                    std::mem::swap(&mut cur, &mut other);
                }
                if !direct {
                    // SAFETY: the output holds the whole array; this task owns `reg`.
                    unsafe { (comp.write.store)(out.ptr(), (outer, n, inner), reg, cur) };
                }
            }
        });
}

/// One pass in place on the output, a block of columns (or of whole lines)
/// at a time: the block is read into a tile before any of it is written.
fn in_place(shape: &[usize], pass: &PassPlan, comp: &Component, out: SharedOut) {
    let (outer, n, inner) = split_shape(shape, pass.axis);
    let nc = inner.min((TILE / n).max(1));
    let per = if nc == inner {
        (TILE / (n * inner)).max(1).min(outer)
    } else {
        1
    };
    let col_blocks = inner.div_ceil(nc);
    let outer_blocks = outer.div_ceil(per);
    let tasks = outer_blocks * col_blocks;
    let f64_region = lane_fns::<LF64>().region;
    (0..tasks)
        .into_par_iter()
        .for_each_init(Scratch::default, |scratch, t| {
            let ob = t / col_blocks;
            let cb = t % col_blocks;
            let reg = Region {
                o: (ob * per, ((ob + 1) * per).min(outer)),
                i: (0, n),
                c: (cb * nc, ((cb + 1) * nc).min(inner)),
            };
            let view = View {
                ptr: out.ptr().cast_const(),
                outer,
                n,
                inner,
            };
            let len = reg.len();
            let Scratch { a, b, spare } = scratch;
            let tile = sized(a, len);
            // SAFETY: this task alone touches `reg`; it reads it whole first.
            unsafe { (comp.write.lane.load)(view, reg, tile) };
            let tile_view = View {
                ptr: tile.as_ptr().cast(),
                outer: reg.o.1 - reg.o.0,
                n,
                inner: reg.c.1 - reg.c.0,
            };
            let full = Region {
                o: (0, tile_view.outer),
                i: (0, n),
                c: (0, tile_view.inner),
            };
            let (st, anti) = stencil(pass, comp.cval, None);
            let res = sized(b, len);
            // SAFETY: the tile is dense in the region's layout.
            unsafe { f64_region[anti](tile_view, st, full, res, spare) };
            // SAFETY: as above.
            unsafe { (comp.write.store)(out.ptr(), (outer, n, inner), reg, res) };
        });
}

#[cfg(all(test, target_arch = "x86_64"))]
mod near_tests {
    use proptest::prelude::*;

    use super::*;

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
