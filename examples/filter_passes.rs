//! Times the filter engine on the two workloads of issue #3 with all
//! passes, then with each axis's pass alone (the other sigmas 0), to see
//! which pass costs what. Medians of `RUNS` calls (default 25); `ONLY=k`
//! runs only the k-th variant (for `perf record`); `SIGMA=a,b,..` runs
//! only that sigma list.
//!
//! usage: cargo run --release --example filter_passes -- [image|float64|tall|shape]
//!
//! `tall` is the float64 workload's 128 MiB as 16384×1024; `shape` takes
//! the shape of a float64 array from `SHAPE=a,b,..`.

use std::time::Instant;

use bytes::Bytes;
use tensorwire::filter::{FilterLimits, GaussianParams, plan};
use tensorwire::tensor::{DType, Tensor, TensorLimits};

/// `len` float64 values in [0, 1) from a multiplicative hash of the index.
fn float_bytes(len: u64) -> Vec<u8> {
    (0..len)
        .flat_map(|i| {
            let v = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
            v.to_le_bytes()
        })
        .collect()
}

/// The comma-separated list in environment variable `name`, if set.
fn env_list<T: std::str::FromStr>(name: &str) -> Option<Vec<T>> {
    let list = std::env::var(name).ok()?;
    Some(
        list.split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}: a comma-separated list, got {s:?}"))
            })
            .collect(),
    )
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "float64".into());
    let limits = TensorLimits {
        max_rank: 8,
        max_bytes: u64::MAX,
    };
    let (shape, dtype, data, sigma): (Vec<u64>, DType, Vec<u8>, Vec<f64>) = match which.as_str() {
        "image" => {
            let data = (0..1024 * 768 * 3u32)
                .flat_map(|i| ((i.wrapping_mul(2_654_435_761) >> 24) as i32).to_le_bytes())
                .collect();
            (vec![1024, 768, 3], DType::Int32, data, vec![0.5; 3])
        }
        "tall" => (
            vec![16384, 1024],
            DType::Float64,
            float_bytes(4096 * 4096),
            vec![2.0; 2],
        ),
        "shape" => {
            // SHAPE=a,b,..: float64 of that shape, sigma 2 on every axis.
            let shape: Vec<u64> = env_list("SHAPE").expect("SHAPE=a,b,.. for `shape`");
            let len = shape.iter().product();
            let rank = shape.len();
            (shape, DType::Float64, float_bytes(len), vec![2.0; rank])
        }
        _ => (
            vec![4096, 4096],
            DType::Float64,
            float_bytes(4096 * 4096),
            vec![2.0; 2],
        ),
    };
    let tensor = Tensor::new(dtype, &shape, Bytes::from(data), &limits).expect("valid tensor");
    let mut variants = vec![sigma.clone()];
    for axis in 0..sigma.len() {
        let mut alone = vec![0.0; sigma.len()];
        alone[axis] = sigma[axis];
        variants.push(alone);
    }
    if let Some(custom) = env_list::<f64>("SIGMA") {
        assert_eq!(custom.len(), shape.len(), "SIGMA: one sigma per axis");
        variants = vec![custom];
    }
    let only: Option<usize> = std::env::var("ONLY").ok().and_then(|v| v.parse().ok());
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    for (index, sigma) in variants.into_iter().enumerate() {
        if only.is_some_and(|k| k != index) {
            continue;
        }
        let params = GaussianParams {
            sigma: sigma.clone(),
            ..GaussianParams::default()
        };
        let plan = plan(
            tensor.dtype(),
            tensor.shape(),
            &params,
            &FilterLimits::default(),
        )
        .expect("valid parameters");
        let mut times: Vec<f64> = (0..runs.max(1))
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(plan.run(&tensor));
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "{which} sigma {sigma:?}: median {:.2} ms, min {:.2} ms",
            times[times.len() / 2],
            times[0]
        );
    }
}
