//! Filtering a tensor in slabs along axis 0 while its bytes arrive, with the
//! same result, bit for bit, as filtering it whole.
//!
//! Why it is exact, with the engine unchanged: every pass along an axis
//! other than 0 is row-local (output row `i` along axis 0 depends on input
//! row `i` only), and scipy's pass along axis 0 computes output row `i` from
//! the rows `i - r .. i + r` of its input (`r` its kernel radius), taken
//! from the boundary extension where they fall outside `0..n`, by the same
//! arithmetic at every position. So output rows `a..b` are the rows
//! `r .. r + (b - a)` of the whole-tensor filter of a *sub-tensor* holding
//! the input rows of the positions `a - r .. b + r`, where a position `p`
//! outside `0..n` holds the input row [`source_index`] maps it to (the row
//! the axis-0 pass would read there: earlier passes are row-local, so that
//! row passes through them to the very value scipy reads). Only the rows
//! within `r` of the sub-tensor's ends see its own (fake) boundary, and they
//! are cropped. The constant modes read `cval`, not a row: there the
//! sub-tensor is clipped to `0..n` instead, and its own boundary is the real
//! one (a constant extension does not depend on the axis's length).
//!
//! The slab path needs `n >= 2·r + 2`, so that every extension image is a
//! row near its own end (reflect, mirror, nearest) or among the first `r`
//! rows (wrap); below that, and for rank 0 or empty tensors, the tensor is
//! filtered whole, as one slab that waits for all of the input.
//!
//! The answer goes out in order, so a slab can only start once every row it
//! reads has arrived: with `wrap` or `grid-wrap` along axis 0, the first slab
//! reads the last rows, so nothing is computed before the input has ended
//! (all of it is held, then filtered slab by slab); every other mode streams.

use std::collections::VecDeque;
use std::ops::Range;

use bytes::Bytes;

use super::OpPlan;
use super::boundary::source_index;
use super::op_plan::Axis0;
use super::params::BoundaryMode;
use crate::tensor::{DType, Tensor, TensorLimits, validate_shape};

/// How a checked filter call is cut into slabs along axis 0.
#[derive(Clone, Debug)]
pub struct SlabPlan {
    plan: OpPlan,
    /// Rows along axis 0 (1 for rank 0).
    rows: usize,
    /// Input bytes per row.
    row_in: usize,
    /// Output bytes per row.
    row_out: usize,
    /// Kernel radius of the pass along axis 0 (0 without one).
    halo: usize,
    /// Boundary mode of the pass along axis 0.
    mode: BoundaryMode,
    /// Output rows per slab; `rows` when the tensor is filtered whole.
    height: usize,
    /// Filtered as one slab (no axis 0, empty, or too short for the halo).
    whole: bool,
}

/// Which input rows one slab reads, and which of the sub-tensor's output
/// rows it keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SlabRows {
    /// The input rows of the sub-tensor's positions, in order, as runs of
    /// consecutive rows (one long run and a few extension images).
    sources: Vec<Range<usize>>,
    /// The output rows kept, as positions in the sub-tensor.
    keep: Range<usize>,
}

impl SlabRows {
    /// Rows of the sub-tensor.
    fn len(&self) -> usize {
        self.sources.iter().map(ExactSizeIterator::len).sum()
    }
}

impl SlabPlan {
    /// Cuts `plan` into slabs of about `slab_bytes` of input each (halo
    /// included), never fewer than one output row and never fewer than
    /// `2·r` output rows per slab, so the halo recomputed on both sides of a
    /// slab costs at most as much as the slab itself.
    ///
    /// A tensor of at most `slab_bytes` is one slab: filtered whole.
    pub fn new(plan: impl Into<OpPlan>, slab_bytes: usize) -> SlabPlan {
        let plan = plan.into();
        let row_in = plan.shape().iter().skip(1).product::<usize>() * plan.dtype().itemsize();
        let rows = plan.shape().first().copied().unwrap_or(1);
        if rows.saturating_mul(row_in) <= slab_bytes {
            return SlabPlan::with_height(plan, rows);
        }
        let halo = axis0_radius(&plan);
        let fit = slab_bytes
            .checked_div(row_in)
            .unwrap_or(1)
            .saturating_sub(2 * halo);
        SlabPlan::with_height(plan, fit.max(2 * halo))
    }

    /// Cuts `plan` into slabs of `height` output rows (at least 1).
    pub fn with_height(plan: impl Into<OpPlan>, height: usize) -> SlabPlan {
        let plan = plan.into();
        let rows = plan.shape().first().copied().unwrap_or(1);
        let row_elems: usize = plan.shape().iter().skip(1).product();
        let row_in = row_elems * plan.dtype().itemsize();
        let row_out = row_elems * plan.output_dtype().itemsize();
        let axis0 = plan.axis0();
        let halo = axis0_radius(&plan);
        let mode = match axis0 {
            Axis0::Pass { mode, .. } => mode,
            Axis0::None | Axis0::Mixed => BoundaryMode::Reflect,
        };
        let whole = plan.shape().is_empty()
            || axis0 == Axis0::Mixed
            || row_in == 0
            || height >= rows
            || rows < 2usize.saturating_mul(halo).saturating_add(2);
        let height = if whole { rows } else { height.clamp(1, rows) };
        SlabPlan {
            plan,
            rows,
            row_in,
            row_out,
            halo,
            mode,
            height,
            whole,
        }
    }

    /// The whole call's plan.
    pub fn plan(&self) -> &OpPlan {
        &self.plan
    }

    /// Output rows per slab (the last one may be shorter).
    pub fn height(&self) -> usize {
        self.height
    }

    /// Number of slabs (at least 1).
    pub fn num_slabs(&self) -> usize {
        self.rows.div_ceil(self.height.max(1)).max(1)
    }

    /// Whether results can leave before the input has ended: false when the
    /// tensor is filtered whole, or when the first slab reads the last rows
    /// (wrap modes along axis 0).
    pub fn streams(&self) -> bool {
        !self.whole && !self.wraps()
    }

    fn wraps(&self) -> bool {
        self.halo > 0 && matches!(self.mode, BoundaryMode::Wrap | BoundaryMode::GridWrap)
    }

    /// Input bytes of the whole tensor.
    pub fn input_nbytes(&self) -> usize {
        self.rows * self.row_in
    }

    /// Input bytes of one slab's sub-tensor (its rows and their halo): the
    /// most a caller should [`SlabCutter::push`] at a time, so the input
    /// held stays within [`SlabPlan::working_set_bytes`].
    pub fn slab_input_bytes(&self) -> usize {
        if self.whole {
            return self.input_nbytes();
        }
        (self.height + 2 * self.halo) * self.row_in
    }

    /// Most bytes the slab path holds at once for this call when pieces of
    /// at most [`SlabPlan::slab_input_bytes`] are pushed and at most
    /// `queued` slabs wait between the stages (input gathered, computed, not
    /// yet sent): the input rows held (a slab's window and a piece, in a
    /// buffer allocated once; all of the input for a wrap), each slab's
    /// input, the engine's result of its sub-tensor (with the float32 work
    /// buffer of a 16-bit output), and a result being sent. A whole-tensor
    /// call holds its input and its result, as before.
    pub fn working_set_bytes(&self, queued: usize) -> u64 {
        let input = self.input_nbytes() as u64;
        let buffers = self.plan.result_buffers() as u64;
        let output = self.plan.output_nbytes() as u64 * buffers;
        if self.whole {
            return input.saturating_add(output);
        }
        let sub_rows = (self.height + 2 * self.halo) as u64;
        let sub_in = sub_rows * self.row_in as u64;
        let narrow = matches!(self.plan.output_dtype(), DType::Float16 | DType::BFloat16);
        let work = if narrow {
            sub_rows * self.row_out as u64 * 2
        } else {
            0
        };
        let sub_out = sub_rows * self.row_out as u64 * buffers;
        let held = if self.wraps() {
            input + self.halo as u64 * self.row_in as u64
        } else {
            2 * sub_in
        };
        let slabs = queued as u64 + 1;
        held + slabs * (sub_in + sub_out) + work + sub_out
    }

    /// Output rows of slab `k`.
    fn output_rows(&self, k: usize) -> Range<usize> {
        let a = k * self.height;
        a..(a + self.height).min(self.rows)
    }

    /// The input rows slab `k` reads and the rows of its result it keeps.
    fn slab_rows(&self, k: usize) -> SlabRows {
        let out = self.output_rows(k);
        if self.whole {
            // One run: every row (a variable, as a vector of one range
            // literal reads like a mistaken `(0..n).collect()`).
            let every_row = 0..self.rows;
            return SlabRows {
                sources: vec![every_row],
                keep: 0..self.rows,
            };
        }
        let r = self.halo as i64;
        let clip = matches!(
            self.mode,
            BoundaryMode::Constant | BoundaryMode::GridConstant
        );
        let mut sources: Vec<Range<usize>> = Vec::with_capacity(2 * self.halo + 1);
        let mut before = 0;
        for p in out.start as i64 - r..out.end as i64 + r {
            let source = if (0..self.rows as i64).contains(&p) {
                Some(p as usize)
            } else if clip {
                None
            } else {
                source_index(self.mode, p, self.rows)
            };
            if let Some(s) = source {
                if p < out.start as i64 {
                    before += 1;
                }
                match sources.last_mut() {
                    Some(run) if run.end == s => run.end += 1,
                    _ => sources.push(s..s + 1),
                }
            }
        }
        SlabRows {
            sources,
            keep: before..before + out.len(),
        }
    }

    /// The first input row any slab from `k` on reads, apart from the first
    /// `halo` rows a wrap keeps aside (see the module notes for why the
    /// extension images of every other mode lie at or after it).
    fn first_row_needed(&self, k: usize) -> usize {
        if self.whole {
            return 0;
        }
        self.output_rows(k).start.saturating_sub(self.halo)
    }

    /// Filters one slab's sub-tensor and keeps its output rows (a slice of
    /// the engine's result, no copy). Blocks while all cores work.
    pub fn run(&self, job: &SlabJob) -> Bytes {
        let result = self.plan.for_shape(job.input.shape()).run(&job.input);
        result
            .into_data()
            .slice(job.keep.start * self.row_out..job.keep.end * self.row_out)
    }
}

/// Kernel radius of the passes along axis 0, 0 without one.
fn axis0_radius(plan: &OpPlan) -> usize {
    match plan.axis0() {
        Axis0::Pass { radius, .. } => radius,
        Axis0::None | Axis0::Mixed => 0,
    }
}

/// One slab ready to filter: its sub-tensor and the rows of the result to keep.
#[derive(Debug)]
pub struct SlabJob {
    /// Index of the slab (its results go out in this order).
    pub index: usize,
    input: Tensor,
    keep: Range<usize>,
}

impl SlabJob {
    /// Bytes of the sub-tensor (input rows and halo).
    pub fn input_nbytes(&self) -> usize {
        self.input.nbytes()
    }
}

/// Gathers a stream's data pieces (any sizes) into slab jobs, in order,
/// holding only the input rows later slabs still read.
#[derive(Debug)]
pub struct SlabCutter {
    slabs: std::sync::Arc<SlabPlan>,
    /// Input bytes from row `first` on (the last row possibly partial).
    held: VecDeque<u8>,
    /// The input row `held` starts at.
    first: usize,
    /// Bytes received so far.
    received: usize,
    /// The first `halo` rows, kept aside for the last slabs of a wrap.
    head: Vec<u8>,
    /// The next slab to hand out.
    next: usize,
    /// The rows of slab `next` and the number of rows it waits for.
    pending: Option<(SlabRows, usize)>,
}

impl SlabCutter {
    /// A cutter for the slabs of `slabs`, before any data has arrived.
    ///
    /// When the whole input will be held (filtered whole, or a wrap), its
    /// buffer is allocated at its final size at once: the caller reserved
    /// [`SlabPlan::working_set_bytes`] in its budget first.
    pub fn new(slabs: std::sync::Arc<SlabPlan>) -> SlabCutter {
        // Never grows: before a push, the rows held are fewer than the next
        // slab's (it is cut as soon as they are in), and a push adds at most
        // a slab's worth.
        let held = if slabs.whole || slabs.wraps() {
            VecDeque::with_capacity(slabs.input_nbytes())
        } else {
            VecDeque::with_capacity(2 * slabs.slab_input_bytes())
        };
        SlabCutter {
            slabs,
            held,
            first: 0,
            received: 0,
            head: Vec::new(),
            next: 0,
            pending: None,
        }
    }

    /// Takes the next piece of data. The caller checks that the pieces add
    /// up to the input's size (the stream reader does).
    pub fn push(&mut self, piece: &[u8]) {
        let s = &*self.slabs;
        if s.wraps() && !s.whole {
            let head_bytes = s.halo * s.row_in;
            if self.received < head_bytes {
                let take = (head_bytes - self.received).min(piece.len());
                self.head.extend_from_slice(&piece[..take]);
            }
        }
        self.held.extend(piece);
        self.received += piece.len();
    }

    /// The next slab whose rows have all arrived, if any.
    pub fn next_job(&mut self) -> Option<SlabJob> {
        let s = std::sync::Arc::clone(&self.slabs);
        if self.next >= s.num_slabs() {
            return None;
        }
        let rows_in = self.received.checked_div(s.row_in).unwrap_or(0);
        let all_in = self.received == s.input_nbytes();
        let (_, waits_for) = self.pending.get_or_insert_with(|| {
            let slab = s.slab_rows(self.next);
            let waits_for = slab.sources.iter().map(|run| run.end).max().unwrap_or(0);
            (slab, waits_for)
        });
        if !all_in && rows_in < *waits_for {
            return None;
        }
        let (slab, _) = self.pending.take().expect("set above");
        let data = if s.whole {
            // In place: a deque's buffer becomes a vector without a copy
            // when its contents do not wrap around (they never do here).
            Vec::from(std::mem::take(&mut self.held))
        } else {
            // Recycled like the engine's results: no fresh page faults for
            // each slab.
            let mut data =
                super::pool::take_from(slab.len() * s.row_in, super::pool::SLAB_POOL_MIN_BYTES);
            for run in &slab.sources {
                // Rows before `first` are a wrap's first rows, kept aside.
                let split = run.end.min(self.first).max(run.start);
                if split > run.start {
                    data.extend_from_slice(&self.head[run.start * s.row_in..split * s.row_in]);
                }
                if run.end > split {
                    let from = split - self.first;
                    copy_from_ring(
                        &self.held,
                        from * s.row_in..(run.end - self.first) * s.row_in,
                        &mut data,
                    );
                }
            }
            data
        };
        let index = self.next;
        self.next += 1;
        if self.next < s.num_slabs() {
            let keep_from = s.first_row_needed(self.next);
            let done = (keep_from - self.first) * s.row_in;
            self.held.drain(..done);
            self.first = keep_from;
        } else {
            self.held = VecDeque::new();
            self.head = Vec::new();
        }
        let mut shape: Vec<u64> = s.plan.shape().iter().map(|&d| d as u64).collect();
        if let Some(first) = shape.first_mut() {
            *first = slab.len() as u64;
        }
        let unlimited = TensorLimits {
            max_rank: usize::MAX,
            max_bytes: u64::MAX,
        };
        let valid = validate_shape(s.plan.dtype(), &shape, &unlimited)
            .expect("a slab is smaller than the checked tensor, or a bounded copy of its rows");
        let input = Tensor::from_valid(
            s.plan.dtype(),
            valid,
            super::pool::into_bytes_from(data, super::pool::SLAB_POOL_MIN_BYTES),
        )
        .expect("a slab holds exactly its rows");
        Some(SlabJob {
            index,
            input,
            keep: slab.keep,
        })
    }

    /// The slabs this cutter cuts.
    pub fn plan(&self) -> &SlabPlan {
        &self.slabs
    }

    /// Whether every slab has been handed out.
    pub fn is_done(&self) -> bool {
        self.next >= self.slabs.num_slabs()
    }

    /// Bytes of input held right now (for tests of the bound).
    pub fn held_bytes(&self) -> usize {
        self.held.len() + self.head.len()
    }
}

/// Appends the bytes `range` of `ring` to `out`, from the ring's two halves
/// as they lie: making the ring contiguous first would move up to half of
/// it again whenever its contents wrap around the end of its buffer. (std's
/// `vec_deque::Iter::as_slices` would give these two slices, but it is not
/// stable in Rust 1.95.)
fn copy_from_ring(ring: &VecDeque<u8>, range: Range<usize>, out: &mut Vec<u8>) {
    let (front, back) = ring.as_slices();
    let split = front.len();
    if range.start < split {
        out.extend_from_slice(&front[range.start..range.end.min(split)]);
    }
    if range.end > split {
        out.extend_from_slice(&back[range.start.max(split) - split..range.end - split]);
    }
}

/// Filters `input` through the slab path, fed in pieces of `piece` bytes,
/// with slabs of `height` rows: the concatenated results, which must be the
/// bytes of [`OpPlan::run`] (the property tests and the golden walks).
#[cfg(test)]
pub(crate) fn run_in_slabs(plan: &OpPlan, input: &Tensor, height: usize, piece: usize) -> Bytes {
    let slabs = std::sync::Arc::new(SlabPlan::with_height(plan.clone(), height));
    let mut cutter = SlabCutter::new(std::sync::Arc::clone(&slabs));
    let mut out = Vec::with_capacity(plan.output_nbytes());
    let feed = |cutter: &mut SlabCutter, out: &mut Vec<u8>| {
        while let Some(job) = cutter.next_job() {
            out.extend_from_slice(&slabs.run(&job));
        }
    };
    feed(&mut cutter, &mut out);
    for chunk in input.data().chunks(piece.max(1)) {
        cutter.push(chunk);
        feed(&mut cutter, &mut out);
    }
    assert!(cutter.is_done(), "every slab runs once the input is in");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::test_util::*;
    use super::super::{FilterLimits, GaussianParams, plan};
    use super::*;

    fn plan_for(shape: &[usize], mode: BoundaryMode, sigma: f64) -> super::super::FilterPlan {
        let params = GaussianParams {
            sigma: vec![sigma],
            mode: vec![mode],
            ..GaussianParams::default()
        };
        plan(DType::Float64, shape, &params, &FilterLimits::default()).unwrap()
    }

    #[test]
    fn slabs_keep_their_rows_and_read_the_extension_images() {
        // sigma 1 → radius 4; 20 rows of 1 element, 8 bytes each.
        let s = SlabPlan::new(plan_for(&[20], BoundaryMode::Reflect, 1.0), 16 * 8);
        assert_eq!((s.halo, s.height, s.num_slabs()), (4, 8, 3));
        let first = s.slab_rows(0);
        assert_eq!(first.sources, [3..4, 2..3, 1..2, 0..1, 0..12]);
        assert_eq!(first.keep, 4..12);
        let last = s.slab_rows(2);
        assert_eq!(last.sources.last(), Some(&(16..17)));
        assert_eq!(last.keep, 4..8);
        let c = SlabPlan::new(plan_for(&[20], BoundaryMode::Constant, 1.0), 16 * 8);
        let clipped = 0..12;
        assert_eq!(c.slab_rows(0).sources, [clipped]);
        assert_eq!(c.slab_rows(0).keep, 0..8);
    }

    #[test]
    fn short_axes_and_wrap_wait_for_the_whole_input() {
        let short = SlabPlan::new(plan_for(&[9], BoundaryMode::Reflect, 1.0), 8);
        assert!(!short.streams());
        assert_eq!(short.num_slabs(), 1);
        let wrap = SlabPlan::new(plan_for(&[40], BoundaryMode::Wrap, 1.0), 8);
        assert!(!wrap.streams());
        assert!(wrap.num_slabs() > 1);
        let reflect = SlabPlan::new(plan_for(&[40], BoundaryMode::Reflect, 1.0), 8);
        assert!(reflect.streams());
    }

    #[test]
    fn the_first_slab_leaves_before_the_last_row_arrives_and_input_is_dropped() {
        let shape = [400, 3];
        let plan = plan_for(&shape, BoundaryMode::Mirror, 1.0);
        let input = f64_tensor(&shape, (0..1200).map(f64::from).collect());
        let slabs = std::sync::Arc::new(SlabPlan::new(plan.clone(), 32 * 24));
        let mut cutter = SlabCutter::new(std::sync::Arc::clone(&slabs));
        let mut out = Vec::new();
        let mut most_held = 0;
        let mut first_at = None;
        for (i, row) in input.data().chunks(24).enumerate() {
            cutter.push(row);
            while let Some(job) = cutter.next_job() {
                first_at.get_or_insert(i);
                out.extend_from_slice(&slabs.run(&job));
            }
            most_held = most_held.max(cutter.held_bytes());
        }
        assert_eq!(out, plan.run(&input).data().to_vec());
        assert!(first_at.unwrap() < 40, "first slab after row {first_at:?}");
        assert!(most_held <= 40 * 24, "held {most_held} bytes");
    }

    #[test]
    fn rows_are_copied_from_a_ring_that_wraps_around() {
        let mut ring: VecDeque<u8> = VecDeque::with_capacity(16);
        ring.extend(0..12u8);
        ring.drain(..8);
        ring.extend(12..22u8);
        let (front, back) = ring.as_slices();
        assert!(!front.is_empty() && !back.is_empty(), "the ring wraps");
        let whole: Vec<u8> = ring.iter().copied().collect();
        for start in 0..=whole.len() {
            for end in start..=whole.len() {
                let mut out = vec![99];
                copy_from_ring(&ring, start..end, &mut out);
                assert_eq!(out[1..], whole[start..end], "range {start}..{end}");
            }
        }
    }

    /// A tensor of `dtype` and `shape` with xorshift bytes (bool bytes 0
    /// or 1; NaNs and infinities included, compared by their bits, any NaN
    /// equal to any NaN: see `first_mismatch`).
    fn random_tensor(dtype: DType, shape: &[usize], seed: u64) -> Tensor {
        let len: usize = shape.iter().product::<usize>() * dtype.itemsize();
        let mut bytes: Vec<u8> = xorshift(seed)
            .flat_map(u64::to_le_bytes)
            .take(len)
            .collect();
        if dtype == DType::Bool {
            bytes.iter_mut().for_each(|b| *b &= 1);
        }
        let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        Tensor::new(dtype, &shape, Bytes::from(bytes), &TensorLimits::default()).unwrap()
    }

    fn dtype() -> impl Strategy<Value = DType> {
        proptest::sample::select(DType::ALL.to_vec())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Slab by slab, fed in pieces of any size down to one byte, with
        /// slabs down to one row, equals the whole-tensor filter bit for
        /// bit, for every dtype, mode (per axis), order, axes order and
        /// radius, on axes as short as one row.
        #[test]
        fn slab_wise_equals_whole_tensor(
            rows in 1usize..40,
            rest in proptest::collection::vec(1usize..5, 0..3),
            dtype in dtype(),
            output in proptest::option::of(dtype()),
            passes in proptest::collection::vec(
                (proptest::sample::select(BoundaryMode::ALL.to_vec()), 0i64..4, 0.0f64..2.5),
                3,
            ),
            radius in proptest::option::of(0i64..6),
            order_of_axes in proptest::sample::subsequence(vec![0usize, 1, 2], 1..=3)
                .prop_shuffle(),
            slab_rows in 1usize..12,
            piece in 1usize..64,
            seed in any::<u64>(),
        ) {
            let mut shape = vec![rows];
            shape.extend(rest);
            let axes: Vec<i64> = order_of_axes
                .into_iter()
                .filter(|&a| a < shape.len())
                .map(|a| a as i64)
                .collect();
            prop_assume!(!axes.is_empty());
            let n = axes.len();
            let params = GaussianParams {
                sigma: passes[..n].iter().map(|p| p.2).collect(),
                order: passes[..n].iter().map(|p| p.1).collect(),
                mode: passes[..n].iter().map(|p| p.0).collect(),
                cval: 1.5,
                cval_imag: -0.5,
                radius: radius.map_or(vec![], |r| vec![r; n]),
                axes,
                output_dtype: output,
                ..GaussianParams::default()
            };
            let Ok(plan) = plan(dtype, &shape, &params, &FilterLimits::default()) else {
                return Ok(());
            };
            let input = random_tensor(dtype, &shape, seed);
            let whole = plan.run(&input);
            let slabbed = run_in_slabs(&OpPlan::from(plan.clone()), &input, slab_rows, piece);
            prop_assert_eq!(slabbed.len(), whole.nbytes());
            let mismatch = first_mismatch(plan.output_dtype(), &slabbed, whole.data());
            prop_assert!(mismatch.is_none(), "element, slab bits, whole bits: {:?}", mismatch);
        }
    }
}
