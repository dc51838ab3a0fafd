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
//!   they run the flat stencil ([`flat::flat`]), 32 independent outputs at a time
//!   in SIMD registers, neighbours `m·inner` elements away. The same loop
//!   serves the last axis (`inner = 1`) and the others; down wide rows it
//!   works in strips of columns sized so the source rows stay in L1.
//!   With AVX-512, a float64 pass whose farthest neighbour is at most 8
//!   elements away (the last axis up to radius 8, the pixels of a row of
//!   colour channels) runs [`avx512::near`] instead: one load per 8 outputs, each
//!   tap's sources shifted out of the neighbouring vectors by a permute.
//! - The few rows near the edges look their sources up once per row and
//!   tap (not per element) through the boundary map, then run the same
//!   arithmetic across the row, with `cval` as a constant operand
//!   ([`flat::boundary_row`]). Lines shorter than [`SHORT_LINE`] along the last
//!   axis (colour channels) are instead transposed, [`LINES`] at a time, into
//!   a padded `[position][line]` scratch and filtered with SIMD lanes across
//!   lines ([`flat::short_lines`]). Float64 lines of at most 5 (the tile of a
//!   fused pass over colour channels) skip the transposition with AVX-512:
//!   [`avx512::interleaved`] picks each output's sources out of the 16 elements
//!   around 8 outputs with permutes.
//! - Down wide rows, each strip of columns is first copied into a small
//!   contiguous band (converting the dtype on the way), so its source rows
//!   are reused from L1 rather than fetched again from L2 for every output
//!   row (rows a power of two of bytes apart all fall into the same L1 sets).
//!   With AVX-512 and a radius up to 8 the interior of such a pass skips
//!   the band: [`avx512::columns`] walks down 8 columns at a time holding the
//!   `2r + 1` source rows it needs in registers, so each source element is
//!   loaded once per sub-block, and sub-blocks are [`avx512::COLUMN_ROWS`] rows.
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
//! chosen at run time ([`level::simd`]); wider vectors leave results unchanged.
//!
//! The files, one concern each: this one tiles the array into tasks
//! ([`filter_component`]); `region` runs one pass over one region and picks
//! its kernel; `flat` holds the portable kernels, `avx512` the AVX-512F
//! ones (intrinsics), `narrow` the round trip through narrow integer
//! outputs; `level` detects the instruction set once at run time; `simd`
//! compiles the hot loops once per instruction set and chooses by that
//! level; `shared` is the one pointer type the tasks share across threads.
//! `unsafe` stays in the kernels (raw-pointer reads of any dtype,
//! intrinsics), in `shared`, and at the calls into them.

mod avx512;
mod flat;
mod level;
mod narrow;
mod region;
mod shared;
mod simd;

use rayon::prelude::*;

use super::cast::LF64;
use super::params::{BoundaryMode, PassPlan};
#[cfg(target_arch = "x86_64")]
use avx512::{COLUMN_MIN_WIDTH, COLUMN_ROWS, columns_apply};
use narrow::Narrow;
pub(crate) use shared::{Shared, SharedOut};
use simd::{RegionFn, RoundTripFn, StoreFn, lane_fns};
pub(crate) use simd::{reader, writer};

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

/// `outer, n, inner` of `shape` around `axis`.
fn split_shape(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
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
    let input = Shared(comp.input.as_ptr());
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
                let output = || unsafe { out.f64_slice((reg.o.0 * n + reg.i.0) * inner, len) };
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
