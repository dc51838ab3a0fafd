//! The portable kernels: the flat stencil, the boundary rows, and the
//! short lines filtered across lines. Plain Rust over raw pointers (the
//! sources are any dtype, read through [`Lane`]), written so the compiler
//! vectorises them for each instruction set of [`super::simd`].

use super::{BLOCK, Region, Stencil, View, sized};
use crate::filter::boundary::source_index;
use crate::filter::cast::{LF64, Lane, load_at};

/// Flat stencil: `out[q]` for `len` consecutive outputs whose centres are
/// elements `start + q`, neighbours `stride` elements apart.
///
/// # Safety
/// Elements `start - r·stride .. start + len + r·stride` must be readable at `base`.
#[inline(always)]
pub(super) unsafe fn flat<L: Lane, const ANTI: bool>(
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
pub(super) fn block<const B: usize>(
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
pub(super) fn sweep(
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
pub(super) unsafe fn boundary_row<L: Lane, const ANTI: bool>(
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
pub(super) const LINES: usize = 64;

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
pub(super) unsafe fn short_lines<L: Lane, const ANTI: bool>(
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
pub(super) unsafe fn gather<L: Lane, const N: usize>(
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
pub(super) unsafe fn gather_any<L: Lane>(
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
pub(super) fn scatter<const N: usize>(results: &[f64], nb: usize, dst: &mut [f64]) {
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
pub(super) fn scatter_any(results: &[f64], n: usize, nb: usize, dst: &mut [f64]) {
    for (l, line) in dst.chunks_exact_mut(n).enumerate() {
        for (i, v) in line.iter_mut().enumerate() {
            *v = results[i * nb + l];
        }
    }
}
