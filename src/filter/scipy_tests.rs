//! Our own ports of the scipy test-suite checks on `gaussian_filter`
//! (`test_gauss01`–`06`, `test_gaussian_truncate`, `test_gaussian_radius`,
//! `test_extend01`–`04`, `test_multiple_modes_sequentially`), written from
//! what each checks rather than copied.

use super::correlate::{Component, Shared, filter_component, reader, writer};
use super::kernel::Taps;
use super::params::PassPlan;
use super::test_util::*;
use super::*;

fn ramp_100x100_f32() -> Tensor {
    f32_tensor(&[100, 100], (0..10_000).map(|v| v as f32).collect())
}

fn sigma(values: &[f64]) -> GaussianParams {
    GaussianParams {
        sigma: values.to_vec(),
        ..GaussianParams::default()
    }
}

#[test]
fn gauss01_sigma_zero_returns_the_input() {
    let input = f32_tensor(&[2, 3], vec![1.0, 2.0, 3.0, 2.0, 4.0, 6.0]);
    let out = filter(&input, &sigma(&[0.0]));
    assert_eq!(out, input);
}

#[test]
fn gauss02_result_keeps_dtype_and_shape() {
    let input = f32_tensor(&[2, 3], vec![1.0, 2.0, 3.0, 2.0, 4.0, 6.0]);
    let out = filter(&input, &sigma(&[1.0]));
    assert_eq!(out.dtype(), DType::Float32);
    assert_eq!(out.shape(), input.shape());
}

#[test]
fn gauss03_smoothing_preserves_the_sum_but_changes_values() {
    let input = ramp_100x100_f32();
    let out = filter(&input, &sigma(&[1.0, 1.0]));
    assert_eq!(out.dtype(), DType::Float32);
    assert_eq!(out.shape(), input.shape());
    let (a, b) = (values(&input), values(&out));
    let (sa, sb): (f64, f64) = (a.iter().sum(), b.iter().sum());
    assert!((sa - sb).abs() / sa < 1e-6, "sum {sa} became {sb}");
    let moved: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum();
    assert!(moved > 1.0);
}

/// `input` filtered with `p` into float64, checked to keep its shape and
/// to change its values.
fn filter_into_f64(input: &Tensor, mut p: GaussianParams) -> Tensor {
    p.output_dtype = Some(DType::Float64);
    let out = filter(input, &p);
    assert_eq!(out.dtype(), DType::Float64);
    assert_eq!(out.shape(), input.shape());
    let moved: f64 = values(input)
        .iter()
        .zip(values(&out))
        .map(|(x, y)| (x - y).abs())
        .sum();
    assert!(moved > 1.0);
    out
}

#[test]
fn gauss04_output_dtype_float64_from_float32_input() {
    filter_into_f64(&ramp_100x100_f32(), sigma(&[1.0, 1.0]));
}

#[test]
fn gauss05_derivative_order_per_axis() {
    let input = ramp_100x100_f32();
    let mut p = sigma(&[1.0, 1.0]);
    p.order = vec![1, 0];
    let out = filter_into_f64(&input, p);
    // The ramp rises by 100 per row, so its smoothed derivative along axis
    // 0 is about +100 away from the edges (scipy's sign convention).
    let centre = values(&out)[50 * 100 + 50];
    assert!((centre - 100.0).abs() < 1.0, "{centre}");
}

#[test]
fn gauss06_one_sigma_equals_the_same_sigma_per_axis() {
    let input = ramp_100x100_f32();
    let mut a = sigma(&[1.0, 1.0]);
    a.output_dtype = Some(DType::Float64);
    let mut b = sigma(&[1.0]);
    b.output_dtype = Some(DType::Float64);
    assert_eq!(bits(&filter(&input, &a)), bits(&filter(&input, &b)));
}

fn impulse_100x100() -> Tensor {
    let mut v = vec![0.0; 10_000];
    v[50 * 100 + 50] = 1.0;
    f64_tensor(&[100, 100], v)
}

fn nonzero(t: &Tensor) -> usize {
    values(t).iter().filter(|&&v| v > 0.0).count()
}

#[test]
fn truncate_sets_the_support_of_an_impulse_response() {
    let input = impulse_100x100();
    for (truncate, radius) in [(2.0, 10usize), (3.5, 18)] {
        let mut p = sigma(&[5.0]);
        p.truncate = Some(truncate);
        assert_eq!(
            nonzero(&filter(&input, &p)),
            (2 * radius + 1).pow(2),
            "truncate {truncate}"
        );
    }
}

#[test]
fn radius_sets_the_support_and_equals_the_matching_truncate() {
    let input = impulse_100x100();
    let mut by_radius = sigma(&[2.0]);
    by_radius.radius = vec![3];
    let out = filter(&input, &by_radius);
    assert_eq!(nonzero(&out), 49);
    let mut by_truncate = sigma(&[2.0]);
    by_truncate.truncate = Some(1.5);
    assert_eq!(bits(&out), bits(&filter(&input, &by_truncate)));
    // Per-axis radii give a rectangle.
    by_radius.radius = vec![3, 5];
    assert_eq!(nonzero(&filter(&input, &by_radius)), 7 * 11);
}

#[test]
fn negative_radius_is_refused() {
    let mut p = sigma(&[2.0]);
    p.radius = vec![-1];
    assert!(gaussian_filter(&impulse_100x100(), &p, &FilterLimits::default()).is_err());
}

/// scipy's extension of a line, built by literally running the copy loops
/// of its `NI_ExtendLine` (an independent check of `boundary::source_index`).
fn extend_like_scipy(line: &[f64], mode: BoundaryMode, cval: f64, size: usize) -> Vec<f64> {
    let n = line.len() as isize;
    let size = size as isize;
    let mut buf = vec![f64::NAN; (n + 2 * size) as usize];
    buf[size as usize..(size + n) as usize].copy_from_slice(line);
    let (first, last) = (size, size + n);
    let mode = if n == 1 && mode == BoundaryMode::Mirror {
        BoundaryMode::Nearest
    } else {
        mode
    };
    // (first source, first loop's direction, restart source, after-edge source, its direction, restart)
    let mut copy =
        |mut src: isize, src_step: isize, mut dst: isize, dst_step: isize, count: isize| {
            for _ in 0..count {
                buf[dst as usize] = buf[src as usize];
                src += src_step;
                dst += dst_step;
            }
        };
    match mode {
        BoundaryMode::Nearest => {
            copy(first, 0, first - 1, -1, size);
            copy(last - 1, 0, last, 1, size);
        }
        BoundaryMode::Constant | BoundaryMode::GridConstant => {
            for i in (0..first).chain(last..last + size) {
                buf[i as usize] = cval;
            }
        }
        BoundaryMode::Wrap | BoundaryMode::GridWrap => {
            let k = size.min(n);
            copy(last - 1, -1, first - 1, -1, k);
            copy(last - 1, -1, first - 1 - k, -1, size - k);
            copy(first, 1, last, 1, k);
            copy(first, 1, last + k, 1, size - k);
        }
        BoundaryMode::Reflect | BoundaryMode::GridMirror => {
            let k = size.min(n);
            copy(first, 1, first - 1, -1, k);
            copy(last - 1, -1, first - 1 - k, -1, size - k);
            copy(last - 1, -1, last, 1, k);
            copy(first, 1, last + k, 1, size - k);
        }
        BoundaryMode::Mirror => {
            let k = size.min(n - 1);
            copy(first + 1, 1, first - 1, -1, k);
            copy(last - 2, -1, first - 1 - k, -1, size - k);
            copy(last - 2, -1, last, 1, k);
            copy(first + 1, 1, last + k, 1, size - k);
        }
    }
    buf
}

/// Correlates `line` with `c[j]` at offsets `j - r` (an antisymmetric
/// kernel, so the engine's folded form applies) through the real pass code.
fn correlate(line: &[f64], c: &[f64], mode: BoundaryMode, cval: f64) -> Vec<f64> {
    let kernel: Vec<f64> = c.iter().rev().copied().collect();
    let pass = PassPlan {
        axis: 0,
        mode,
        taps: Taps::from_kernel(&kernel),
    };
    let input = f64_tensor(&[line.len()], line.to_vec());
    let mut out = vec![0u8; line.len() * 8];
    filter_component(
        &[line.len()],
        &[pass],
        Component {
            input: input.data(),
            read: reader(DType::Float64, 0),
            output: Shared(out.as_mut_ptr()),
            write: writer(DType::Float64, 0).expect("float64 writer"),
            cval,
        },
    );
    out.chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// For every mode, `x[i - m] - x[i + m]` through the engine equals the same
/// difference read off scipy's extended line.
fn check_extension(line: &[f64], m: usize) {
    let mut c = vec![0.0; 2 * m + 1];
    c[0] = 1.0;
    c[2 * m] = -1.0;
    for mode in BoundaryMode::ALL {
        let ext = extend_like_scipy(line, mode, 7.5, m);
        let want: Vec<f64> = (0..line.len()).map(|i| ext[i] - ext[i + 2 * m]).collect();
        assert_eq!(
            correlate(line, &c, mode, 7.5),
            want,
            "{mode} with reach {m} on {line:?}"
        );
    }
}

#[test]
fn extend01_one_sample_beyond_each_edge() {
    check_extension(&[1.0, 2.0, 3.0], 1);
}

#[test]
fn extend02_far_beyond_a_short_line() {
    check_extension(&[1.0, 2.0, 3.0], 8);
}

#[test]
fn extend03_rows_of_a_2d_array_extend_independently() {
    let data = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let input = f64_tensor(&[2, 3], data.clone());
    for mode in BoundaryMode::ALL {
        let mut p = sigma(&[1.0]);
        p.axes = vec![1];
        p.mode = vec![mode];
        p.cval = 7.5;
        let both = values(&filter(&input, &p));
        p.axes = vec![0];
        for row in 0..2 {
            let single = f64_tensor(&[3], data[row * 3..row * 3 + 3].to_vec());
            let alone = values(&filter(&single, &p));
            assert_eq!(&both[row * 3..row * 3 + 3], &alone[..], "{mode}");
        }
    }
}

#[test]
fn extend04_far_beyond_every_length_from_one() {
    for n in 1..6 {
        let line: Vec<f64> = (1..=n).map(|v| v as f64 * 1.5).collect();
        check_extension(&line, 9);
    }
}

#[test]
fn modes_per_axis_equal_sequential_single_axis_calls() {
    let input = f64_tensor(&[4, 4], (0..16).map(f64::from).collect());
    let mut both = sigma(&[1.0]);
    both.mode = vec![BoundaryMode::Reflect, BoundaryMode::Wrap];
    let mut first = sigma(&[1.0]);
    first.axes = vec![0];
    first.mode = vec![BoundaryMode::Reflect];
    let mut second = sigma(&[1.0]);
    second.axes = vec![1];
    second.mode = vec![BoundaryMode::Wrap];
    let sequential = filter(&filter(&input, &first), &second);
    assert_eq!(bits(&filter(&input, &both)), bits(&sequential));
}
