//! Properties of the filter that hold for any input, checked with proptest:
//! constants are preserved by the modes that only repeat samples, sigma 0 is
//! the identity, per-axis parameter lists equal sequential single-axis
//! calls (the order of passes scipy uses), also on rows long enough for
//! the engine's row grouping, many lines filtered together (grouped
//! into tasks, SIMD across short lines) equal each line alone, and so do
//! many columns down wide rows (filtered 8 at a time with the source rows
//! in registers), and integer images filtered along all axes at once
//! equal one axis at a time.

use proptest::prelude::*;

use super::test_util::*;
use super::*;

fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..9, 1..4)
}

fn repeating_mode() -> impl Strategy<Value = BoundaryMode> {
    prop::sample::select(vec![
        BoundaryMode::Reflect,
        BoundaryMode::Nearest,
        BoundaryMode::Mirror,
        BoundaryMode::Wrap,
        BoundaryMode::GridMirror,
        BoundaryMode::GridWrap,
    ])
}

fn any_mode() -> impl Strategy<Value = BoundaryMode> {
    prop::sample::select(BoundaryMode::ALL.to_vec())
}

fn array() -> impl Strategy<Value = (Vec<usize>, Vec<f64>)> {
    shape().prop_flat_map(|s| {
        let len: usize = s.iter().product();
        (Just(s), prop::collection::vec(-1e3f64..1e3, len))
    })
}

/// The filter along every axis in one call, and one single-axis call per
/// axis in order (each storing its result in the dtype, as scipy does):
/// the bytes of both results.
fn all_at_once_and_one_axis_at_a_time(
    input: &Tensor,
    sigmas: &[f64],
    orders: &[i64],
    modes: &[BoundaryMode],
    cval: f64,
) -> (Vec<u8>, Vec<u8>) {
    let all = GaussianParams {
        sigma: sigmas.to_vec(),
        order: orders.to_vec(),
        mode: modes.to_vec(),
        cval,
        ..GaussianParams::default()
    };
    let mut sequential = input.clone();
    for axis in 0..sigmas.len() {
        let one = GaussianParams {
            sigma: vec![sigmas[axis]],
            order: vec![orders[axis]],
            mode: vec![modes[axis]],
            cval,
            axes: vec![axis as i64],
            ..GaussianParams::default()
        };
        sequential = filter(&sequential, &one);
    }
    (bits(&filter(input, &all)), bits(&sequential))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn constant_array_stays_constant_for_modes_that_repeat_samples(
        shape in shape(),
        value in -1e6f64..1e6,
        sigma in 0.1f64..6.0,
        mode in repeating_mode(),
    ) {
        let len: usize = shape.iter().product();
        let input = f64_tensor(&shape, vec![value; len]);
        let mut p = GaussianParams::with_sigma(sigma);
        p.mode = vec![mode];
        for v in values(&filter(&input, &p)) {
            // The normalised weights sum to 1 within rounding.
            prop_assert!((v - value).abs() <= 1e-12 * value.abs().max(1.0), "{v} vs {value}");
        }
    }

    #[test]
    fn sigma_zero_is_the_identity((shape, data) in array(), mode in any_mode(), order in 0i64..4) {
        let input = f64_tensor(&shape, data);
        let mut p = GaussianParams::with_sigma(0.0);
        p.mode = vec![mode];
        p.order = vec![order];
        prop_assert_eq!(bits(&filter(&input, &p)), bits(&input));
    }

    #[test]
    fn per_axis_lists_equal_sequential_single_axis_calls(
        (shape, data) in array(),
        sigmas in prop::collection::vec(0.0f64..3.0, 3),
        orders in prop::collection::vec(0i64..4, 3),
        modes in prop::collection::vec(any_mode(), 3),
        as_f32 in any::<bool>(),
    ) {
        let input = if as_f32 {
            f32_tensor(&shape, data.iter().map(|&v| v as f32).collect())
        } else {
            f64_tensor(&shape, data)
        };
        let rank = shape.len();
        let (together, one_at_a_time) = all_at_once_and_one_axis_at_a_time(
            &input,
            &sigmas[..rank],
            &orders[..rank],
            &modes[..rank],
            1.25,
        );
        prop_assert_eq!(together, one_at_a_time);
    }

    #[test]
    fn lines_filtered_together_equal_each_line_alone(
        (lines, n) in prop_oneof![(1usize..3000, 1usize..8), (1usize..40, 60usize..200)],
        sigma in 0.1f64..3.0,
        order in 0i64..4,
        mode in any_mode(),
        as_i32 in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let data: Vec<f64> = xorshift(seed)
            .take(lines * n)
            .map(|x| (x % 2001) as f64 - 1000.0)
            .collect();
        let tensor = |shape: &[usize], values: &[f64]| {
            if as_i32 {
                tensor_of(shape, values.iter().map(|&x| x as i32))
            } else {
                f64_tensor(shape, values.to_vec())
            }
        };
        let params = GaussianParams {
            sigma: vec![sigma],
            order: vec![order],
            mode: vec![mode],
            cval: 2.5,
            axes: vec![-1],
            ..GaussianParams::default()
        };
        let together = bits(&filter(&tensor(&[lines, n], &data), &params));
        let mut alone = Vec::with_capacity(together.len());
        for line in data.chunks_exact(n) {
            alone.extend(bits(&filter(&tensor(&[n], line), &params)));
        }
        prop_assert_eq!(together, alone);
    }

    #[test]
    fn two_axes_on_long_rows_equal_sequential_single_axis_calls(
        rows in 1usize..40,
        n in 60usize..300,
        sigmas in prop::collection::vec(0.3f64..3.0, 2),
        orders in prop::collection::vec(0i64..4, 2),
        modes in prop::collection::vec(any_mode(), 2),
        as_f32 in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let data: Vec<f64> = xorshift(seed)
            .take(rows * n)
            .map(|x| (x % 2001) as f64 / 7.0)
            .collect();
        let input = if as_f32 {
            f32_tensor(&[rows, n], data.iter().map(|&v| v as f32).collect())
        } else {
            f64_tensor(&[rows, n], data)
        };
        let (together, one_at_a_time) =
            all_at_once_and_one_axis_at_a_time(&input, &sigmas, &orders, &modes, -0.5);
        prop_assert_eq!(together, one_at_a_time);
    }

    /// Integer images filtered along every axis at once (the fused passes,
    /// which round each result through the dtype as they store it, down
    /// wide rows and along pixels) equal one single-axis call per axis,
    /// each of which stores its result in the dtype as scipy does.
    #[test]
    fn integer_images_filtered_at_once_equal_one_axis_at_a_time(
        rows in 1usize..24,
        width in 20usize..200,
        channels in prop_oneof![1usize..6, 6usize..13],
        sigmas in prop::collection::vec(prop_oneof![0.3f64..1.2, 1.2f64..2.1], 3),
        orders in prop::collection::vec(prop_oneof![3 => Just(0i64), 1 => 1i64..4], 3),
        modes in prop::collection::vec(any_mode(), 3),
        dtype in prop::sample::select(vec![
            DType::Int32, DType::Int16, DType::UInt16, DType::Int8, DType::UInt8,
        ]),
        seed in any::<u64>(),
    ) {
        let raw: Vec<i64> = xorshift(seed)
            .take(rows * width * channels)
            .map(|x| (x >> 8) as i64)
            .collect();
        let shape = [rows, width, channels];
        // Values over the whole range of the dtype (int32's a wide one).
        let input = match dtype {
            DType::Int32 => {
                tensor_of(&shape, raw.iter().map(|&x| (x % 2_000_001 - 1_000_000) as i32))
            }
            DType::Int16 => tensor_of(&shape, raw.iter().map(|&x| x as i16)),
            DType::UInt16 => tensor_of(&shape, raw.iter().map(|&x| x as u16)),
            DType::Int8 => tensor_of(&shape, raw.iter().map(|&x| x as i8)),
            _ => tensor_of(&shape, raw.iter().map(|&x| x as u8)),
        };
        let (together, one_at_a_time) =
            all_at_once_and_one_axis_at_a_time(&input, &sigmas, &orders, &modes, -3.0);
        prop_assert_eq!(together, one_at_a_time);
    }

    #[test]
    fn columns_filtered_together_equal_each_column_alone(
        outer in 1usize..3,
        rows in 1usize..70,
        width in 100usize..400,
        sigma in prop_oneof![0.1f64..2.1, 2.1f64..4.0],
        order in 0i64..4,
        mode in any_mode(),
        dtype in prop::sample::select(vec![DType::Float64, DType::Int32, DType::UInt8]),
        seed in any::<u64>(),
    ) {
        let data: Vec<f64> = xorshift(seed)
            .take(outer * rows * width)
            .map(|x| (x % 256) as f64)
            .collect();
        let tensor = |dims: &[usize], values: &[f64]| match dtype {
            DType::Int32 => tensor_of(dims, values.iter().map(|&x| x as i32 - 128)),
            DType::UInt8 => tensor_of(dims, values.iter().map(|&x| x as u8)),
            _ => f64_tensor(dims, values.iter().map(|&x| x / 7.0).collect()),
        };
        let params = |axis: i64| GaussianParams {
            sigma: vec![sigma],
            order: vec![order],
            mode: vec![mode],
            cval: 3.0,
            axes: vec![axis],
            ..GaussianParams::default()
        };
        let together = filter(&tensor(&[outer, rows, width], &data), &params(1));
        let size = together.dtype().itemsize();
        let together = bits(&together);
        for o in 0..outer {
            for c in 0..width {
                let column: Vec<f64> = (0..rows)
                    .map(|i| data[(o * rows + i) * width + c])
                    .collect();
                let alone = bits(&filter(&tensor(&[rows], &column), &params(0)));
                for (i, element) in alone.chunks_exact(size).enumerate() {
                    let at = ((o * rows + i) * width + c) * size;
                    prop_assert_eq!(
                        &together[at..at + size],
                        element,
                        "outer {} row {} column {}", o, i, c
                    );
                }
            }
        }
    }
}
