//! One pass over one region of an array: [`region`] picks the kernel
//! (AVX-512 where it applies, the portable ones otherwise) for the
//! interior rows, the boundary rows and short lines; [`load_region`] and
//! [`store_region`] move regions between the array and dense tiles.

#[cfg(target_arch = "x86_64")]
use super::avx512::{
    INTERLEAVED_LINE, INTERLEAVED_RADIUS, columns_apply, columns_fn, interleaved, near_fn,
};
use super::flat::{boundary_row, flat, short_lines};
use super::level::{Simd, simd};
use super::narrow::round_results;
use super::{BLOCK, L1_F64, Region, SHORT_LINE, Stencil, View, sized};
use crate::filter::cast::{LF64, Lane, Store, load_at, store_at};

/// Computes one pass over `reg` of `src` into `out` (dense region layout).
///
/// # Safety
/// `src` must describe `outer·n·inner` readable elements of lane `L`, and
/// `reg` must lie inside it.
#[inline(always)]
pub(super) unsafe fn region<L: Lane, const ANTI: bool>(
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
        && simd() == Simd::Avx512
    {
        let first = reg.o.0 * n;
        if std::any::TypeId::of::<L>() == std::any::TypeId::of::<LF64>() {
            // SAFETY: the CPU has AVX-512F; float64 lanes are plain f64 (so
            // the view's elements are f64), and the region's whole lines
            // are the `out.len()` elements from line o0 on.
            unsafe { interleaved::<ANTI>(src.ptr.cast::<f64>().add(first), n, st, out) };
        } else {
            // Other dtypes (a single pass along colour channels) are
            // widened to f64 first, exactly as every kernel loads them, so
            // the same kernel runs instead of the transposition of short
            // lines.
            let wide = sized(spare, out.len());
            for (i, v) in wide.iter_mut().enumerate() {
                // SAFETY: the region's whole lines are inside the view.
                *v = unsafe { load_at::<L>(src.ptr, first + i) };
            }
            // SAFETY: the CPU has AVX-512F, and `wide` holds the region's
            // `out.len()` elements as f64.
            unsafe { interleaved::<ANTI>(wide.as_ptr(), n, st, out) };
        }
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

/// Copies a region of a buffer into a dense `f64` tile.
///
/// # Safety
/// As for [`region`].
pub(super) unsafe fn load_region<L: Lane>(src: View, reg: Region, tile: &mut [f64]) {
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
pub(super) unsafe fn store_region<S: Store>(
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
pub(super) fn round_trip<S: Store>(tile: &mut [f64]) {
    for v in tile {
        *v = S::round_trip(*v);
    }
}
